//! # tocsin-domain
//!
//! The pure core of tocsin: what a threat report, a case, a determination, a
//! waiver, a warning and a delivery *are*, the policy engine that decides
//! whether the duty to warn applies, and the case state machine.
//!
//! No IO, no clock, no randomness, no async: every function here is a
//! function of its arguments. The service layer supplies the time, the
//! identifiers and the actor; the store persists the events this crate
//! produces.
//!
//! Values are parsed, not validated: every newtype's constructor (and its
//! serde `Deserialize`, which goes through the constructor) rejects bad
//! input, so a `ThreatWindow` always ends after it starts, a `CountryCode`
//! is always in ISO 3166-1 and a `Reason` is never blank.

pub mod access;
pub mod actor;
pub mod case;
pub mod corroboration;
pub mod delivery;
pub mod disposal;
pub mod elements;
pub mod event;
pub mod exchange;
#[cfg(test)]
mod fixtures;
pub mod geo;
pub mod grading;
pub mod holds;
pub mod ids;
pub mod notice;
pub mod policy;
pub mod records;
pub mod redaction;
pub mod reference;
pub mod report;
pub mod routing;
pub mod sanitise;
pub mod screening;
pub mod taxii;
pub mod template;
pub mod text;
pub mod time;
pub mod warning;
pub mod warning_set;

#[cfg(test)]
mod case_tests;
#[cfg(test)]
mod corroboration_tests;
#[cfg(test)]
mod elements_tests;
#[cfg(test)]
mod holds_tests;
#[cfg(test)]
mod records_tests;

pub use actor::{Actor, Role};
pub use case::{Action, Case, CaseError, CaseState, Command, Ctx, FoldError, OpenCase, Step};
pub use event::{Event, RecordedEvent};
pub use ids::{
    CaseId, CaseNumber, CaseRef, ContributionId, DisputeId, ExportId, ReceiptId, ReportId, TokenId,
    WaiverId,
};
pub use policy::{LoadedPolicy, Policy, PolicyError, PolicyRef, Verdict};
pub use report::{IntakeError, ThreatReport, parse_report};
pub use text::{ActorName, TextError};
pub use time::Timestamp;

/// The JSON Schema of the intake format (a [`ThreatReport`]).
pub fn intake_schema() -> serde_json::Value {
    let mut schema = schemars::schema_for!(ThreatReport);
    schema.insert(
        "$id".into(),
        serde_json::Value::String("https://tocsin.dev/schema/threat-report.json".into()),
    );
    schema.insert(
        "title".into(),
        serde_json::Value::String("tocsin threat report (intake format)".into()),
    );
    schema.to_value()
}
