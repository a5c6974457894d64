//! STIX 2.1, the threat-intelligence community's exchange format.
//!
//! * [`tlp`]: the TLP 2.0 marking definitions with their published ids,
//!   the TLP 1.0 ids accepted on input, and a check of a bundle's markings
//!   against that table;
//! * [`import`]: a bundle read into threat reports (or refused with the
//!   object, the path and the reason);
//! * [`case_bundle`]: a case as a bundle, with the duty-to-warn record in
//!   tocsin's own property extension ([`EXTENSION_ID`], whose JSON Schema
//!   is `docs/stix/duty-to-warn.schema.json`).
//!
//! Pure: no IO, no clock. The bundle references the TLP 2.0 marking
//! definitions by their published ids and does not embed them: the OASIS
//! validator's `--interop` mode requires `created_by_ref` and `modified` on
//! every object, while a marking definition may carry neither, so no
//! bundle that embeds one passes `--strict --interop`. Every consumer that
//! knows TLP 2.0 knows these ids.

mod export;
pub mod import;
mod region;
#[doc(hidden)]
pub mod testing;
pub mod tlp;

pub use export::{StixExport, WITHHELD, case_bundle, derived_id, stix_time};
pub use region::region_of;

use serde_json::{Value, json};

/// tocsin's duty-to-warn property extension (one id, for every deployment).
pub const EXTENSION_ID: &str = "extension-definition--f65ac2e9-e2ea-4c15-bf20-85c2cff42a0a";

/// The tocsin project, creator of the extension definition.
pub const PROJECT_IDENTITY_ID: &str = "identity--12d9d2a0-159b-4114-9868-a9c43daa02b0";

/// Where the extension's JSON Schema is published.
pub const EXTENSION_SCHEMA_URL: &str =
    "https://github.com/tocsin-project/tocsin/blob/main/docs/stix/duty-to-warn.schema.json";

/// The extension's version (its schema's).
pub const EXTENSION_VERSION: &str = "1.0.0";

/// When the extension definition and the project identity were made.
const DEFINED: &str = "2026-12-04T00:00:00.000Z";

/// Why a bundle could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StixError {
    #[error(
        "the approved text of warning {warning} version {version} now contains terms the sanitiser withholds; it cannot be exported without changing its hash: draft and approve a new version"
    )]
    ApprovedTextLeaks { warning: u32, version: u32 },
    #[error("cannot build the STIX bundle: {0}")]
    Internal(String),
}

/// The tocsin project's identity (the creator of the extension definition).
pub fn project_identity() -> Value {
    json!({
        "type": "identity",
        "spec_version": "2.1",
        "id": PROJECT_IDENTITY_ID,
        "created_by_ref": PROJECT_IDENTITY_ID,
        "created": DEFINED,
        "modified": DEFINED,
        "name": "tocsin project",
        "description": "The open-source project that defines the tocsin duty-to-warn STIX extension.",
        "identity_class": "organization",
        "object_marking_refs": [tlp::marking_id(tocsin_domain::report::Tlp::Clear)],
    })
}

/// tocsin's extension definition: the duty-to-warn record of a case as a
/// property extension of its `report`.
pub fn extension_definition() -> Value {
    json!({
        "type": "extension-definition",
        "spec_version": "2.1",
        "id": EXTENSION_ID,
        "created_by_ref": PROJECT_IDENTITY_ID,
        "created": DEFINED,
        "modified": DEFINED,
        "name": "tocsin duty-to-warn record",
        "description": "The duty-to-warn record of a case: its threat reports as shared, determinations with their rule trace, waivers, warnings with the approved text and its SHA-256, deliveries, responses and outcome.",
        "schema": EXTENSION_SCHEMA_URL,
        "version": EXTENSION_VERSION,
        "extension_types": ["property-extension"],
        "object_marking_refs": [tlp::marking_id(tocsin_domain::report::Tlp::Clear)],
    })
}
