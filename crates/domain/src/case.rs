//! The case: one threat, its reports and everything decided and done about
//! it, as an explicit state machine.
//!
//! * [`Case::open`] starts a case from its first report.
//! * [`Case::handle`] checks a [`Command`] against the current state and the
//!   policy and returns the events it produces (or a [`CaseError`] that says
//!   what is allowed next). It never mutates.
//! * [`Case::apply`] folds one event into the state. A case is the fold of
//!   its events; nothing else is stored as truth.
//! * [`Case::sweep`] is what the clock produces: escalations of overdue
//!   steps and re-assessment flags when a window lapses.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::access::Permission;
use crate::actor::{Actor, Role};
use crate::delivery::{
    AdvisoryDecision, Delivery, DeliveryStatus, LanguageTag, OutcomeRecord, Response, Route,
    RouteAlternative, WarningText, WithheldCategory,
};
use crate::event::{
    Assessment, ClosureGrounds, Event, Independence, ReassessmentReason, RecordedEvent,
};
use crate::grading::Specificity;
use crate::ids::{CaseId, CaseNumber, ReportId, WaiverId};
use crate::policy::{
    CaseFacts, Deadlines, Determination, LoadedPolicy, RuleId, RuleOutcome, Verdict,
};
use crate::report::{HarmTypes, ThreatReport};
use crate::sanitise::{Finding, FindingCategory, ProtectedTerm};
use crate::text::{ActorName, ElementName, Note, Reason, Title};
use crate::time::{ThreatWindow, Timestamp, add};

pub use crate::access::Marking;
pub use crate::event::{Action, Step};
pub use crate::warning::{
    DeliveryEntry, ResponseEntry, RouteEntry, Warning, WarningNumber, WarningStatus, WarningVersion,
};

/// Where a case stands.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum CaseState {
    /// Reports are in; no determination yet (or re-assessment started).
    AwaitingDetermination,
    /// Determined: no test failed but some cannot be judged yet.
    NeedsMoreInformation,
    /// Determined: threshold not met.
    NoDuty,
    /// Determined: duty to warn. With several warnings, the states from
    /// here to `Delivered` are those of the least advanced required warning
    /// not yet delivered (each warning has its own [`WarningStatus`]).
    DutyToWarn,
    /// A waiver was requested and awaits a second person.
    WaiverPending,
    /// A waiver was approved: no warning (until review).
    Waived,
    /// A warning text is drafted and awaits approval.
    WarningDrafted,
    /// The warning text is approved and may be delivered.
    WarningApproved,
    /// Some hops are recorded; the recipient has not received it yet.
    Delivering,
    /// Warned: every required warning was received by its recipient.
    Delivered,
    /// Closed (`case_closed`, or an outcome recorded before closure had
    /// grounds).
    Closed,
}

impl CaseState {
    pub const ALL: [CaseState; 11] = [
        Self::AwaitingDetermination,
        Self::NeedsMoreInformation,
        Self::NoDuty,
        Self::DutyToWarn,
        Self::WaiverPending,
        Self::Waived,
        Self::WarningDrafted,
        Self::WarningApproved,
        Self::Delivering,
        Self::Delivered,
        Self::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::AwaitingDetermination => "awaiting_determination",
            Self::NeedsMoreInformation => "needs_more_information",
            Self::NoDuty => "no_duty",
            Self::DutyToWarn => "duty_to_warn",
            Self::WaiverPending => "waiver_pending",
            Self::Waived => "waived",
            Self::WarningDrafted => "warning_drafted",
            Self::WarningApproved => "warning_approved",
            Self::Delivering => "delivering",
            Self::Delivered => "delivered",
            Self::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// What may be done in this state.
    pub fn allowed(self) -> &'static [Action] {
        use Action::*;
        match self {
            Self::AwaitingDetermination | Self::NeedsMoreInformation => {
                &[AttachReport, Assess, Determine, HandOff, RecordOutcome]
            }
            Self::NoDuty => &[
                AttachReport,
                Assess,
                Reassess,
                HandOff,
                RecordOutcome,
                ConfirmDetermination,
            ],
            Self::DutyToWarn => &[
                DraftWarning,
                ChooseRoute,
                RequestWaiver,
                DecidePublicAdvisory,
                AttachReport,
                Assess,
                Reassess,
                HandOff,
                RecordOutcome,
                AddWarning,
            ],
            Self::WaiverPending => &[
                ApproveWaiver,
                RejectWaiver,
                DecidePublicAdvisory,
                AttachReport,
                Assess,
                Reassess,
                HandOff,
                RecordOutcome,
            ],
            Self::Waived => &[
                DecidePublicAdvisory,
                AttachReport,
                Assess,
                Reassess,
                HandOff,
                RecordOutcome,
            ],
            Self::WarningDrafted => &[
                ApproveWarning,
                DraftWarning,
                ChooseRoute,
                RequestWaiver,
                DecidePublicAdvisory,
                AttachReport,
                Assess,
                Reassess,
                HandOff,
                RecordOutcome,
                AddWarning,
            ],
            Self::WarningApproved => &[
                RecordDelivery,
                ChooseRoute,
                DraftWarning,
                RequestWaiver,
                DecidePublicAdvisory,
                AttachReport,
                Assess,
                Reassess,
                HandOff,
                RecordOutcome,
                AddWarning,
            ],
            Self::Delivering | Self::Delivered => &[
                RecordDelivery,
                RecordResponse,
                DecidePublicAdvisory,
                AttachReport,
                Assess,
                Reassess,
                HandOff,
                RecordOutcome,
                AddWarning,
            ],
            Self::Closed => &[Reassess],
        }
    }

    /// The states of the warning work (a duty, no waiver in the way): the
    /// case's state is then the least advanced of its required warnings.
    pub fn is_warning_work(self) -> bool {
        matches!(
            self,
            Self::DutyToWarn
                | Self::WarningDrafted
                | Self::WarningApproved
                | Self::Delivering
                | Self::Delivered
        )
    }

    /// Still needs someone to act (not closed).
    pub fn is_open(self) -> bool {
        self != Self::Closed
    }
}

impl fmt::Display for CaseState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Commands on an existing case.
#[derive(Clone, Debug)]
pub enum Command {
    AttachReport {
        report_id: ReportId,
        report: Box<ThreatReport>,
    },
    Assess {
        assessment: Assessment,
    },
    Determine {
        note: Option<Note>,
    },
    RequestWaiver {
        waiver_id: WaiverId,
        ground: String,
        reason: Reason,
        legal_review: Option<Note>,
    },
    ApproveWaiver {
        waiver_id: WaiverId,
        reason: Reason,
    },
    RejectWaiver {
        waiver_id: WaiverId,
        reason: Reason,
    },
    /// Chooses the route of a warning (the only one when `warning` is
    /// `None`; warning 1 on a case with none yet). Refused once the
    /// warning has a delivery.
    ChooseRoute {
        warning: Option<WarningNumber>,
        route: Route,
        rationale: Reason,
        alternatives: Vec<RouteAlternative>,
    },
    /// Adds a warning to another recipient, with its route.
    AddWarning {
        route: Route,
        rationale: Reason,
        alternatives: Vec<RouteAlternative>,
    },
    DraftWarning {
        warning: Option<WarningNumber>,
        text: WarningText,
        withheld: BTreeSet<WithheldCategory>,
        language: LanguageTag,
    },
    /// `sha256`: the hash of the text the approver read; refused if the draft differs.
    ApproveWarning {
        warning: Option<WarningNumber>,
        version: u32,
        sha256: Option<String>,
    },
    RecordDelivery {
        warning: Option<WarningNumber>,
        delivery: Delivery,
    },
    RecordResponse {
        warning: Option<WarningNumber>,
        response: Response,
    },
    DecidePublicAdvisory {
        advisory: AdvisoryDecision,
    },
    RecordOutcome {
        outcome: OutcomeRecord,
    },
    Reassess {
        reason: Reason,
    },
    /// A second person confirms a determination of no duty that replaced
    /// one of a duty: the case may then close.
    ConfirmDetermination {
        reason: Reason,
    },
    HandOff {
        owner: ActorName,
        lead_element: ElementName,
        reason: Reason,
    },
    /// Confirm, reject or set whether a report is an independent source,
    /// at any time after intake: `derived_of` another report of the case,
    /// or (`None`) independent.
    MarkIndependence {
        report_id: ReportId,
        derived_of: Option<ReportId>,
        reason: Reason,
    },
}

impl Command {
    pub fn action(&self) -> Action {
        match self {
            Command::AttachReport { .. } => Action::AttachReport,
            Command::Assess { .. } => Action::Assess,
            Command::Determine { .. } => Action::Determine,
            Command::RequestWaiver { .. } => Action::RequestWaiver,
            Command::ApproveWaiver { .. } => Action::ApproveWaiver,
            Command::RejectWaiver { .. } => Action::RejectWaiver,
            Command::ChooseRoute { .. } => Action::ChooseRoute,
            Command::AddWarning { .. } => Action::AddWarning,
            Command::ConfirmDetermination { .. } => Action::ConfirmDetermination,
            Command::DraftWarning { .. } => Action::DraftWarning,
            Command::ApproveWarning { .. } => Action::ApproveWarning,
            Command::RecordDelivery { .. } => Action::RecordDelivery,
            Command::RecordResponse { .. } => Action::RecordResponse,
            Command::DecidePublicAdvisory { .. } => Action::DecidePublicAdvisory,
            Command::RecordOutcome { .. } => Action::RecordOutcome,
            Command::Reassess { .. } => Action::Reassess,
            Command::HandOff { .. } => Action::HandOff,
            Command::MarkIndependence { .. } => Action::MarkIndependence,
        }
    }

    /// The permission a command needs (the one table of which role grants
    /// it is [`Permission::roles`]). The policy may ask for a particular
    /// role on top (the waiver approver, the warning approver).
    pub fn permission(&self) -> Permission {
        self.action().permission()
    }
}

/// The second step of a two-person rule, as [`Case::first_person`] takes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecondStep {
    /// Deciding (approving or rejecting) this waiver.
    Waiver(WaiverId),
    /// Approving this version of this warning.
    Warning(WarningNumber, u32),
    /// Confirming the latest determination.
    Confirmation,
}

/// What a command needs besides the case: who, when, under which policy.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    pub actor: &'a Actor,
    pub now: Timestamp,
    pub policy: &'a LoadedPolicy,
    /// The formats of the report numbers the deployment's cases hold
    /// ([`crate::sanitise::report_number_format`]): a warning text may
    /// carry no other case's report number either.
    pub report_formats: &'a [String],
}

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CaseError {
    #[error("cannot {} while the case is {state}; allowed next: {}", action.as_str(), list_actions(allowed))]
    NotAllowed {
        action: Action,
        state: CaseState,
        allowed: Vec<Action>,
    },
    #[error("two-person rule: {who} {role} and cannot also {}; another {} must do it", action.as_str(), approver.as_str())]
    TwoPersonRule {
        action: Action,
        who: ActorName,
        role: &'static str,
        approver: Role,
    },
    #[error(
        "the case has {count} disposed record(s) and takes no more commands: its fold can no longer be decided on"
    )]
    RecordsDisposed { count: usize },
    #[error("{who} lacks the {role} role needed to {}", action.as_str())]
    MissingRole {
        action: Action,
        who: ActorName,
        role: Role,
    },
    #[error("'{ground}' is not a waiver ground in policy {policy}; the grounds are: {}", allowed.join(", "))]
    UnknownWaiverGround {
        ground: String,
        policy: String,
        allowed: Vec<String>,
    },
    #[error("a waiver on ground {ground} needs a recorded legal review")]
    LegalReviewRequired { ground: String },
    #[error("there is no waiver {0} on this case")]
    UnknownWaiver(WaiverId),
    #[error("waiver {0} is not awaiting a decision")]
    WaiverNotPending(WaiverId),
    #[error("waiver id {0} is already used on this case")]
    DuplicateWaiver(WaiverId),
    #[error("report id {0} is already on this case")]
    DuplicateReport(ReportId),
    #[error("derived_from names report {0}, which is not on this case")]
    UnknownDerivedFrom(ReportId),
    #[error("there is no report {0} on this case")]
    UnknownReport(ReportId),
    #[error("report {0} cannot be derived from itself")]
    DerivedFromItself(ReportId),
    #[error("the warning text has {} finding(s) that would reveal protected information: {}", findings.len(), findings.iter().map(|f| f.to_string()).collect::<Vec<_>>().join("; "))]
    SanitisationFindings { findings: Vec<Finding> },
    #[error("warning version {asked} cannot be approved: the latest draft is version {latest}")]
    NotLatestDraft { asked: u32, latest: u32 },
    #[error(
        "warning version {version} has sha256 {actual}, not {expected}: the text changed since it was read"
    )]
    TextChanged {
        version: u32,
        expected: String,
        actual: String,
    },
    #[error("no route is chosen yet: choose a route before recording delivery")]
    NoRoute,
    #[error("the case has {count} warnings ({}): name the one you mean (--warning N)", list_warnings(*count))]
    AmbiguousWarning { count: u32 },
    #[error("the case has no warning {warning} ({})", if *count == 0 { "no warning yet".to_owned() } else { list_warnings(*count) })]
    UnknownWarning { warning: WarningNumber, count: u32 },
    #[error(
        "{warning} already has a delivery recorded on its route: its route cannot change (add a warning to another recipient instead)"
    )]
    RouteAfterDelivery { warning: WarningNumber },
    #[error("cannot {} {warning} while it is {status}; allowed next for {warning}: {}", action.as_str(), list_actions(allowed))]
    WarningNotAllowed {
        action: Action,
        warning: WarningNumber,
        status: WarningStatus,
        allowed: Vec<Action>,
    },
    #[error(
        "there is nothing to confirm: only a determination of no duty that replaced one of a duty, not yet confirmed, needs a second person"
    )]
    NothingToConfirm,
    #[error("warning version {0} is not the approved version to deliver")]
    NotApprovedVersion(u32),
    #[error("hop {hop} does not exist: the route has {hops} hop(s)")]
    NoSuchHop { hop: u32, hops: usize },
    #[error("delivery on hop {hop} uses channel {actual}, but the route says {expected}")]
    WrongChannel {
        hop: u32,
        expected: &'static str,
        actual: &'static str,
    },
    #[error(
        "the threat actor {actor} ({country}) cannot be the recipient or a relay of the warning: '{party}' is an organ of that state"
    )]
    ThreatActorAsProtector {
        actor: String,
        country: String,
        party: String,
    },
    #[error("an assessment must change at least one of grading, specificity, harm_types or window")]
    EmptyAssessment,
    #[error("the case is already owned by {0} in that element")]
    SameOwner(ActorName),
    #[error("the {what} time {at} is in the future (it is now {now})")]
    InTheFuture {
        what: &'static str,
        at: Timestamp,
        now: Timestamp,
    },
    #[error(
        "the {what} time {at} is before warning version {version} was approved ({approved_at})"
    )]
    BeforeApproval {
        what: &'static str,
        at: Timestamp,
        version: u32,
        approved_at: Timestamp,
    },
}

/// How far ahead of the server's clock a reported time may be (a client's
/// clock runs a little fast).
const CLOCK_SKEW: jiff::SignedDuration = jiff::SignedDuration::from_secs(120);

fn list_warnings(count: u32) -> String {
    (1..=count)
        .map(|n| format!("W{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn list_actions(a: &[Action]) -> String {
    a.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(", ")
}

impl CaseError {
    /// Refusals that oversight needs to see are recorded in the case's
    /// stream as [`Event::AttemptRefused`].
    pub fn is_recordable(&self) -> bool {
        matches!(
            self,
            CaseError::TwoPersonRule { .. }
                | CaseError::MissingRole { .. }
                | CaseError::UnknownWaiverGround { .. }
        )
    }
}

/// An event sequence that does not make sense (a corrupt or foreign log).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event {seq} ({kind}): {message}")]
pub struct FoldError {
    pub seq: u64,
    pub kind: &'static str,
    pub message: String,
}

/// A report on the case.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ReportEntry {
    pub id: ReportId,
    pub report: ThreatReport,
    pub independence: Independence,
    pub recorded_at: Timestamp,
    pub recorded_by: ActorName,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WaiverStatus {
    Pending,
    Approved,
    Rejected,
    /// Left undecided when a re-assessment started.
    Superseded,
}

#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct WaiverEntry {
    pub id: WaiverId,
    pub ground: String,
    pub reason: Reason,
    pub legal_review: Option<Note>,
    pub requested_by: ActorName,
    pub requested_at: Timestamp,
    pub status: WaiverStatus,
    pub decided_by: Option<ActorName>,
    pub decided_at: Option<Timestamp>,
    pub decision_reason: Option<Reason>,
    pub review_by: Option<Timestamp>,
    /// The state to return to if rejected.
    #[serde(skip)]
    return_to: CaseState,
}

#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct DeterminationEntry {
    pub determination: Determination,
    pub note: Option<Note>,
    pub by: ActorName,
    pub at: Timestamp,
    /// The second person who confirmed it (a no-duty determination that
    /// replaced a duty).
    pub confirmed_by: Option<ActorName>,
}

#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Recorded<T> {
    pub value: T,
    pub by: ActorName,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Flag {
    pub reason: ReassessmentReason,
    pub detail: String,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Escalation {
    pub step: Step,
    pub due: Timestamp,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Refusal {
    pub action: Action,
    pub reason: String,
    pub by: ActorName,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct TimelineEntry {
    pub seq: u64,
    pub at: Timestamp,
    pub actor: ActorName,
    pub kind: &'static str,
    pub summary: String,
}

/// A case: the fold of its events.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Case {
    pub id: CaseId,
    /// Its short reference number. Not folded from the events (the store
    /// derives it from the ledger's order): set by whoever read the case
    /// with its summary, absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<CaseNumber>,
    pub title: Title,
    pub owner: ActorName,
    pub lead_element: ElementName,
    pub opened_at: Timestamp,
    pub state: CaseState,
    /// The last sequence number folded in (the stream version).
    pub version: u64,
    pub reports: Vec<ReportEntry>,
    pub assessments: Vec<Recorded<Assessment>>,
    pub deadlines: Option<Deadlines>,
    pub determinations: Vec<DeterminationEntry>,
    pub waivers: Vec<WaiverEntry>,
    /// The warnings, W1 first: one per recipient, each with its route,
    /// text versions, deliveries and responses.
    pub warnings: Vec<Warning>,
    pub advisories: Vec<Recorded<AdvisoryDecision>>,
    pub outcome: Option<Recorded<OutcomeRecord>>,
    /// Set when the case must be looked at again; cleared by a re-assessment.
    pub reassessment_due: Option<Flag>,
    pub flags: Vec<Flag>,
    pub escalations: Vec<Escalation>,
    pub refusals: Vec<Refusal>,
    /// Screenings of the reports' names against directories and watch lists.
    pub screenings: Vec<Recorded<crate::screening::Screening>>,
    /// Victims matching a watch list: evidence for the W3 assessment (never
    /// a waiver, never a change of the determination).
    pub watch_list_flags: Vec<Recorded<crate::screening::WatchListFlag>>,
    pub timeline: Vec<TimelineEntry>,
    /// The elements the case is shared with: every element that led it or
    /// contributed a report. Members of these elements may read it (given
    /// the clearance and compartments of its [`Marking`]).
    pub shared_with: BTreeSet<ElementName>,
    /// What became of the escalation notices sent to notification targets.
    #[serde(rename = "notifications")]
    pub notices: Vec<NoticeRecord>,
    /// Contributions, merges and links, disputes (`crate::elements`).
    pub across: crate::elements::AcrossElements,
    /// Time-to-decide, time-to-warn and what lateness needs, kept up to
    /// date by the fold.
    pub measures: Measures,
    /// The records of the case that were disposed of (their placeholders,
    /// [`Event::DisposedRecord`]): what they were and under which
    /// schedule, never their content. A case with any takes no more
    /// commands.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disposed: Vec<DisposedEntry>,
}

/// A disposed record of a case, as its placeholder says.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct DisposedEntry {
    /// Its place in the case's stream.
    pub seq: u64,
    /// Its ledger position.
    pub position: u64,
    /// The disposed event's kind (`report_attached`...).
    pub kind: String,
    pub class: crate::records::RecordClass,
    pub schedule: crate::records::RetentionSchedule,
    /// When it was disposed of, and who approved.
    pub disposed_at: Timestamp,
    pub approved_by: ActorName,
    /// The ledger position of its tombstone.
    pub tombstone: u64,
}

fn lapse_detail(w: &ThreatWindow) -> String {
    format!(
        "the window ended at {} with no outcome recorded",
        w.not_after()
    )
}

fn approach_detail(w: &ThreatWindow, policy: &LoadedPolicy) -> String {
    format!(
        "the window opening {} is now within {}",
        w.not_before(),
        policy.impending.max_lead
    )
}

fn review_detail(w: &WaiverEntry, review_by: Timestamp) -> String {
    format!(
        "waiver {} on {} was due for review at {review_by}",
        w.id, w.ground
    )
}

/// The case state a warning's state stands for.
fn state_of(s: WarningStatus) -> CaseState {
    match s {
        WarningStatus::Planned => CaseState::DutyToWarn,
        WarningStatus::Drafted => CaseState::WarningDrafted,
        WarningStatus::Approved => CaseState::WarningApproved,
        WarningStatus::Delivering => CaseState::Delivering,
        WarningStatus::Delivered => CaseState::Delivered,
    }
}

/// Whether an action works on one warning.
fn is_warning_action(a: Action) -> bool {
    matches!(
        a,
        Action::ChooseRoute
            | Action::DraftWarning
            | Action::ApproveWarning
            | Action::RecordDelivery
            | Action::RecordResponse
    )
}

/// How long a case's duty took, and whether its warning came in time.
/// Folded from the events (kept in [`Case::measures`] and in the query
/// tables), so every figure survives a restart and can be recomputed from
/// the ledger. Whether an unwarned case is late depends on the time of
/// asking: [`Measures::lateness`].
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct Measures {
    /// When the information was first received (the earliest report).
    pub received_at: Option<Timestamp>,
    /// The first determination.
    pub decided_at: Option<Timestamp>,
    /// When the case was warned: every required warning received at the
    /// end of its route (with no required warning, the first one received).
    pub warned_at: Option<Timestamp>,
    /// When the threat's window opens (the assessment's window, else the
    /// reports').
    pub window_opens: Option<Timestamp>,
    /// Whether a duty to warn stands: the latest determination found one
    /// and no approved (undisputed) waiver covers it.
    pub duty: bool,
    /// From the first report's receipt to the first determination (an
    /// ISO 8601 duration in hours, minutes and seconds: `PT5H30M`).
    #[schemars(with = "Option<String>")]
    pub time_to_decide: Option<jiff::SignedDuration>,
    /// From the first report's receipt to the moment the case was warned.
    #[schemars(with = "Option<String>")]
    pub time_to_warn: Option<jiff::SignedDuration>,
}

/// Whether a standing duty was met before the threat's window opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Lateness {
    /// Warned before the window opened, with this much to spare (ISO 8601).
    InTime {
        #[schemars(with = "String")]
        margin: jiff::SignedDuration,
    },
    /// Warned after the window had opened, by this much.
    Late {
        #[schemars(with = "String")]
        by: jiff::SignedDuration,
    },
    /// The window opened this long ago and the case is not warned.
    Unwarned {
        #[schemars(with = "String")]
        by: jiff::SignedDuration,
    },
}

impl Lateness {
    pub fn is_late(&self) -> bool {
        !matches!(self, Lateness::InTime { .. })
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Lateness::InTime { .. } => "in_time",
            Lateness::Late { .. } => "late",
            Lateness::Unwarned { .. } => "unwarned",
        }
    }
}

impl Measures {
    /// How the warning stands against the window at `now`; `None` when no
    /// duty stands, the window is unknown, or it has not opened yet and
    /// the case is still to be warned.
    pub fn lateness(&self, now: Timestamp) -> Option<Lateness> {
        if !self.duty {
            return None;
        }
        let opens = self.window_opens?;
        match self.warned_at {
            Some(w) if w <= opens => Some(Lateness::InTime {
                margin: opens.duration_since(w),
            }),
            Some(w) => Some(Lateness::Late {
                by: w.duration_since(opens),
            }),
            None if now > opens => Some(Lateness::Unwarned {
                by: now.duration_since(opens),
            }),
            None => None,
        }
    }

    /// [`Self::lateness`] of a warned case, which no longer depends on the
    /// time of asking; `None` for a case not (yet) warned.
    pub fn warned_lateness(&self) -> Option<Lateness> {
        self.warned_at.and(self.lateness(self.warned_at?))
    }
}

/// The fate of one escalation notice to one target.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
#[schemars(rename = "NotificationRecord")]
pub struct NoticeRecord {
    pub step: Step,
    pub due: Timestamp,
    pub target: String,
    pub attempts: u32,
    pub delivered: bool,
    pub error: Option<String>,
    pub at: Timestamp,
}

/// Everything needed to open a case with its first report.
#[derive(Clone, Debug)]
pub struct OpenCase {
    pub case_id: CaseId,
    pub report_id: ReportId,
    pub report: ThreatReport,
    /// The accountable owner; defaults to the submitting actor.
    pub owner: Option<ActorName>,
}

impl Case {
    /// The events that open a case.
    pub fn open(cmd: OpenCase, ctx: Ctx<'_>) -> Result<Vec<Event>, CaseError> {
        if let Some(d) = cmd.report.derived_from {
            return Err(CaseError::UnknownDerivedFrom(d));
        }
        let deadlines = ctx
            .policy
            .deadlines(cmd.report.received_at, cmd.report.window.as_ref());
        Ok(vec![
            Event::CaseOpened {
                case_id: cmd.case_id,
                title: cmd.report.title.clone(),
                owner: cmd.owner.unwrap_or_else(|| ctx.actor.name.clone()),
                lead_element: cmd.report.originating_element.clone(),
            },
            Event::ReportAttached {
                report_id: cmd.report_id,
                report: Box::new(cmd.report),
                independence: Independence::Independent,
            },
            Event::DeadlinesSet {
                deadlines,
                follow_up_by: None,
                warning: WarningNumber::FIRST,
            },
        ])
    }

    /// Folds a whole stream.
    pub fn from_events<'a>(
        events: impl IntoIterator<Item = &'a RecordedEvent>,
    ) -> Result<Case, FoldError> {
        let mut it = events.into_iter();
        let first = it.next().ok_or(FoldError {
            seq: 1,
            kind: "none",
            message: "a case stream is empty".into(),
        })?;
        let mut case = Case::start(first)?;
        for e in it {
            case.apply(e)?;
        }
        Ok(case)
    }

    fn start(e: &RecordedEvent) -> Result<Case, FoldError> {
        let Event::CaseOpened {
            case_id,
            title,
            owner,
            lead_element,
        } = &e.event
        else {
            return Err(FoldError {
                seq: e.seq,
                kind: e.event.kind(),
                message: "a case stream must start with case_opened".into(),
            });
        };
        if e.seq != 1 {
            return Err(FoldError {
                seq: e.seq,
                kind: e.event.kind(),
                message: "case_opened must be event 1".into(),
            });
        }
        Ok(Case {
            id: *case_id,
            number: None,
            title: title.clone(),
            owner: owner.clone(),
            lead_element: lead_element.clone(),
            opened_at: e.recorded_at,
            state: CaseState::AwaitingDetermination,
            version: 1,
            reports: vec![],
            assessments: vec![],
            deadlines: None,
            determinations: vec![],
            waivers: vec![],
            warnings: vec![],
            advisories: vec![],
            outcome: None,
            reassessment_due: None,
            flags: vec![],
            escalations: vec![],
            refusals: vec![],
            screenings: vec![],
            watch_list_flags: vec![],
            timeline: vec![TimelineEntry {
                seq: 1,
                at: e.recorded_at,
                actor: e.actor.clone(),
                kind: e.event.kind(),
                summary: e.event.summary(),
            }],
            shared_with: BTreeSet::from([lead_element.clone()]),
            notices: vec![],
            across: Default::default(),
            measures: Measures::default(),
            disposed: vec![],
        })
    }

    /// The case's access marking, from its reports and elements.
    pub fn marking(&self) -> Marking {
        let mut m = Marking {
            elements: self.shared_with.clone(),
            ..Marking::default()
        };
        for r in &self.reports {
            let h = &r.report.handling;
            if let Some(l) = &h.classification {
                m.levels.insert(l.clone());
            }
            m.compartments.extend(h.compartments.iter().cloned());
            m.existence_restricted |= h.existence_restricted;
        }
        m
    }

    /// Folds one event. The sequence must follow on.
    pub fn apply(&mut self, e: &RecordedEvent) -> Result<(), FoldError> {
        self.fold(e)?;
        self.measures = self.compute_measures();
        Ok(())
    }

    fn fold(&mut self, e: &RecordedEvent) -> Result<(), FoldError> {
        let bad = |m: String| FoldError {
            seq: e.seq,
            kind: e.event.kind(),
            message: m,
        };
        if e.seq != self.version + 1 {
            return Err(bad(format!("expected event {} next", self.version + 1)));
        }
        let (at, by) = (e.recorded_at, e.actor.clone());
        match &e.event {
            Event::CaseOpened { .. } => return Err(bad("a case is opened only once".into())),
            other @ (Event::PolicyAdopted { .. }
            | Event::RelationsReplaced { .. }
            | Event::DirectoryReplaced { .. }
            | Event::NoticeTargetSet { .. }
            | Event::NoticeTargetRemoved { .. }
            | Event::ElementRegistered { .. }
            | Event::AccountCreated { .. }
            | Event::AccountChanged { .. }
            | Event::AccountDisabled { .. }
            | Event::AccountEnabled { .. }
            | Event::PasswordChanged { .. }
            | Event::TokenIssued { .. }
            | Event::TokenRevoked { .. }
            | Event::ClearanceLevelsSet { .. }
            | Event::ContentRead { .. }
            | Event::AccessRefused { .. }
            | Event::LoginFailed { .. }
            | Event::RegistryImported { .. }
            | Event::TaxiiCollectionSet { .. }
            | Event::TaxiiObjectsAdded { .. }
            | Event::TaxiiPullCursorSet { .. }
            | Event::PartnerMapped { .. }
            | Event::StixReportReceived { .. }
            | Event::StixReportAssessed { .. }
            | Event::RetentionSchedulesAdopted { .. }
            | Event::ExemptionsAdopted { .. }
            | Event::HoldRequested { .. }
            | Event::HoldPlaced { .. }
            | Event::HoldDeclined { .. }
            | Event::HoldReleaseRequested { .. }
            | Event::HoldReleased { .. }
            | Event::RecordDisposed { .. }
            | Event::RecordsExported { .. }
            | Event::RedactionRequested { .. }
            | Event::RedactionApproved { .. }) => {
                return Err(bad(format!(
                    "{} belongs to a deployment stream, not to a case",
                    other.kind()
                )));
            }
            Event::ReportAttached {
                report_id,
                report,
                independence,
            } => {
                if !self.across.keeps_unshared(*report_id) {
                    self.shared_with.insert(report.originating_element.clone());
                }
                self.reports.push(ReportEntry {
                    id: *report_id,
                    report: (**report).clone(),
                    independence: independence.clone(),
                    recorded_at: at,
                    recorded_by: by,
                });
            }
            across @ (Event::ContributionSubmitted { .. }
            | Event::ContributionAccepted { .. }
            | Event::ContributionDeclined { .. }
            | Event::RelationProposed { .. }
            | Event::CasesMerged { .. }
            | Event::CasesLinked { .. }
            | Event::DisputeRaised { .. }
            | Event::DisputeResolved { .. }) => {
                crate::elements::apply(self, across, at, by).map_err(bad)?
            }
            Event::CaseReopened { .. } => {
                self.state = CaseState::AwaitingDetermination;
                self.reassessment_due = None;
            }
            Event::AssessmentRecorded { assessment } => self.assessments.push(Recorded {
                value: assessment.clone(),
                by,
                at,
            }),
            Event::DeadlinesSet {
                deadlines,
                follow_up_by,
                warning,
            } => {
                self.deadlines = Some(deadlines.clone());
                if let Some(w) = self.warning_mut(*warning) {
                    w.follow_up_by = *follow_up_by;
                }
            }
            Event::DeterminationMade {
                determination,
                note,
            } => {
                self.state = match determination.verdict {
                    Verdict::DutyToWarn => CaseState::DutyToWarn,
                    Verdict::ThresholdNotMet { .. } => CaseState::NoDuty,
                    Verdict::NeedsMoreInformation { .. } => CaseState::NeedsMoreInformation,
                };
                self.determinations.push(DeterminationEntry {
                    determination: (**determination).clone(),
                    note: note.clone(),
                    by,
                    at,
                    confirmed_by: None,
                });
            }
            Event::WaiverRequested {
                waiver_id,
                ground,
                reason,
                legal_review,
            } => {
                self.waivers.push(WaiverEntry {
                    id: *waiver_id,
                    ground: ground.clone(),
                    reason: reason.clone(),
                    legal_review: legal_review.clone(),
                    requested_by: by,
                    requested_at: at,
                    status: WaiverStatus::Pending,
                    decided_by: None,
                    decided_at: None,
                    decision_reason: None,
                    review_by: None,
                    return_to: self.state,
                });
                self.state = CaseState::WaiverPending;
            }
            Event::WaiverApproved {
                waiver_id,
                reason,
                review_by,
            } => {
                let w = self
                    .waiver_mut(*waiver_id)
                    .ok_or_else(|| bad("unknown waiver".into()))?;
                w.status = WaiverStatus::Approved;
                w.decided_by = Some(by);
                w.decided_at = Some(at);
                w.decision_reason = Some(reason.clone());
                w.review_by = Some(*review_by);
                self.state = CaseState::Waived;
            }
            Event::WaiverRejected { waiver_id, reason } => {
                let w = self
                    .waiver_mut(*waiver_id)
                    .ok_or_else(|| bad("unknown waiver".into()))?;
                w.status = WaiverStatus::Rejected;
                w.decided_by = Some(by);
                w.decided_at = Some(at);
                w.decision_reason = Some(reason.clone());
                self.state = w.return_to;
            }
            Event::RouteChosen {
                route,
                rationale,
                alternatives,
                warning,
                optional,
            } => {
                let new = self.warning_mut(*warning).is_none();
                let w = self
                    .warning_or_new(*warning)
                    .ok_or_else(|| bad(format!("warning {warning} out of order")))?;
                let required_changed = w.required == *optional;
                w.required = !optional;
                w.route = Some(RouteEntry {
                    route: route.clone(),
                    rationale: rationale.clone(),
                    alternatives: alternatives.clone(),
                    by,
                    at,
                });
                // A route chosen for an existing warning changes no state
                // (as before there were several warnings), unless it changes
                // whether the case needs it.
                if new || required_changed {
                    self.update_warning_state();
                }
            }
            Event::WarningDrafted {
                version,
                text,
                sha256,
                withheld,
                language,
                warning,
            } => {
                let w = self
                    .warning_or_new(*warning)
                    .ok_or_else(|| bad(format!("warning {warning} out of order")))?;
                if *version as usize != w.versions.len() + 1 {
                    return Err(bad(format!(
                        "warning {warning} version {version} out of order"
                    )));
                }
                w.versions.push(WarningVersion {
                    version: *version,
                    text: text.clone(),
                    sha256: sha256.clone(),
                    withheld: withheld.clone(),
                    language: language.clone(),
                    drafted_by: by,
                    drafted_at: at,
                    approved_by: None,
                    approved_at: None,
                });
                w.status = w.compute_status();
                self.update_warning_state();
            }
            Event::WarningApproved {
                version, warning, ..
            } => {
                let w = self
                    .warning_mut(*warning)
                    .ok_or_else(|| bad(format!("no warning {warning}")))?;
                let v = w
                    .versions
                    .iter_mut()
                    .find(|v| v.version == *version)
                    .ok_or_else(|| bad(format!("no warning {warning} version {version}")))?;
                v.approved_by = Some(by);
                v.approved_at = Some(at);
                w.status = w.compute_status();
                self.update_warning_state();
            }
            Event::DeliveryRecorded { delivery, warning } => {
                let w = self
                    .warning_mut(*warning)
                    .ok_or_else(|| bad(format!("no warning {warning}")))?;
                w.deliveries.push(DeliveryEntry {
                    delivery: delivery.clone(),
                    recorded_by: by,
                    recorded_at: at,
                });
                w.status = w.compute_status();
                self.update_warning_state();
            }
            Event::ResponseRecorded { response, warning } => {
                let w = self
                    .warning_mut(*warning)
                    .ok_or_else(|| bad(format!("no warning {warning}")))?;
                w.responses.push(ResponseEntry {
                    response: response.clone(),
                    recorded_by: by,
                    recorded_at: at,
                });
            }
            Event::PublicAdvisoryDecided { advisory } => self.advisories.push(Recorded {
                value: advisory.clone(),
                by,
                at,
            }),
            Event::OutcomeRecorded {
                outcome,
                keeps_open,
            } => {
                self.outcome = Some(Recorded {
                    value: outcome.clone(),
                    by,
                    at,
                });
                if !keeps_open {
                    self.state = CaseState::Closed;
                }
            }
            Event::CaseClosed { .. } => self.state = CaseState::Closed,
            Event::DeterminationConfirmed { .. } => {
                let d = self
                    .determinations
                    .last_mut()
                    .ok_or_else(|| bad("no determination to confirm".into()))?;
                d.confirmed_by = Some(by);
            }
            Event::ReassessmentFlagged { reason, detail } => {
                let f = Flag {
                    reason: *reason,
                    detail: detail.clone(),
                    at,
                };
                self.flags.push(f.clone());
                if self.reassessment_due.is_none() {
                    self.reassessment_due = Some(f);
                }
            }
            Event::IndependenceMarked {
                report_id,
                independence,
                ..
            } => {
                let r = self
                    .reports
                    .iter_mut()
                    .find(|r| r.id == *report_id)
                    .ok_or_else(|| bad(format!("report {report_id} is not on this case")))?;
                r.independence = independence.clone();
            }
            Event::ReassessmentStarted { .. } => {
                for w in &mut self.waivers {
                    if w.status == WaiverStatus::Pending {
                        w.status = WaiverStatus::Superseded;
                    }
                }
                self.reassessment_due = None;
                self.outcome = None;
                self.state = CaseState::AwaitingDetermination;
            }
            Event::EscalationRaised { step, due } => self.escalations.push(Escalation {
                step: *step,
                due: *due,
                at,
            }),
            Event::NoticeDelivered {
                step,
                due,
                target,
                attempts,
            } => self.notices.push(NoticeRecord {
                step: *step,
                due: *due,
                target: target.to_string(),
                attempts: *attempts,
                delivered: true,
                error: None,
                at,
            }),
            Event::NoticeFailed {
                step,
                due,
                target,
                attempts,
                error,
            } => self.notices.push(NoticeRecord {
                step: *step,
                due: *due,
                target: target.to_string(),
                attempts: *attempts,
                delivered: false,
                error: Some(error.clone()),
                at,
            }),
            Event::CaseHandedOff {
                owner,
                lead_element,
                ..
            } => {
                self.owner = owner.clone();
                self.lead_element = lead_element.clone();
                self.shared_with.insert(lead_element.clone());
            }
            Event::AttemptRefused { action, reason } => self.refusals.push(Refusal {
                action: *action,
                reason: reason.clone(),
                by,
                at,
            }),
            // Recorded facts only: no state, determination or waiver changes.
            Event::ScreeningRecorded { screening } => self.screenings.push(Recorded {
                value: (**screening).clone(),
                by,
                at,
            }),
            Event::WatchListFlagRaised { flag } => self.watch_list_flags.push(Recorded {
                value: (**flag).clone(),
                by,
                at,
            }),
            Event::DisposedRecord {
                position,
                kind,
                class,
                schedule,
                tombstone,
            } => self.disposed.push(DisposedEntry {
                seq: e.seq,
                position: *position,
                kind: kind.clone(),
                class: *class,
                schedule: schedule.clone(),
                disposed_at: at,
                approved_by: by,
                tombstone: *tombstone,
            }),
        }
        self.version = e.seq;
        self.timeline.push(TimelineEntry {
            seq: e.seq,
            at,
            actor: e.actor.clone(),
            kind: e.event.kind(),
            summary: e.event.summary(),
        });
        Ok(())
    }

    fn waiver_mut(&mut self, id: WaiverId) -> Option<&mut WaiverEntry> {
        self.waivers.iter_mut().find(|w| w.id == id)
    }

    fn warning_mut(&mut self, n: WarningNumber) -> Option<&mut Warning> {
        self.warnings.iter_mut().find(|w| w.number == n)
    }

    /// Warning `n`, added when it is the next number (a route or a draft
    /// for a warning not seen before); `None` when it skips a number.
    fn warning_or_new(&mut self, n: WarningNumber) -> Option<&mut Warning> {
        if self.warning_mut(n).is_none() {
            if n.get() as usize != self.warnings.len() + 1 {
                return None;
            }
            self.warnings.push(Warning::new(n));
        }
        self.warning_mut(n)
    }

    /// After a warning changed: the case's state is the least advanced of
    /// its required warnings still to be delivered ("delivered" when the
    /// case is warned). With one warning, that warning's state, as it
    /// always was.
    fn update_warning_state(&mut self) {
        if crate::warning::warned(&self.warnings) {
            self.state = CaseState::Delivered;
            return;
        }
        let pending = |w: &&&Warning| w.status != WarningStatus::Delivered;
        let required: Vec<&Warning> = self.warnings.iter().filter(|w| w.required).collect();
        let pool: Vec<&Warning> = if required.is_empty() {
            self.warnings.iter().collect()
        } else {
            required
        };
        let least = pool
            .iter()
            .filter(pending)
            .map(|w| w.status)
            .min()
            .unwrap_or(WarningStatus::Planned);
        self.state = state_of(least);
    }

    /// A warning by number.
    pub fn warning(&self, n: WarningNumber) -> Option<&Warning> {
        self.warnings.iter().find(|w| w.number == n)
    }

    /// The warning a command is about: the one named, or the only one (warning 1
    /// on a case with none yet); refused when several could be meant.
    pub fn resolve_warning(&self, n: Option<WarningNumber>) -> Result<WarningNumber, CaseError> {
        let count = self.warnings.len() as u32;
        match n {
            None if count <= 1 => Ok(WarningNumber::FIRST),
            None => Err(CaseError::AmbiguousWarning { count }),
            Some(n) if n.get() <= count || (n.is_first() && count == 0) => Ok(n),
            Some(warning) => Err(CaseError::UnknownWarning { warning, count }),
        }
    }

    /// Whether every required warning is delivered (and at least one is).
    pub fn is_warned(&self) -> bool {
        crate::warning::warned(&self.warnings)
    }

    /// The most recent determination.
    /// Who took the first step of a two-person rule whose second step is
    /// `second`: the waiver's requester, the drafter of the warning
    /// version (when the policy makes warnings two-person), or whoever
    /// made the determination being confirmed.
    pub fn first_person(&self, second: SecondStep, policy: &LoadedPolicy) -> Option<ActorName> {
        match second {
            SecondStep::Waiver(id) => self
                .waivers
                .iter()
                .find(|w| w.id == id)
                .map(|w| w.requested_by.clone()),
            SecondStep::Warning(n, version) if policy.approvals.warning.two_person => self
                .warning(n)
                .and_then(|w| w.version(version))
                .map(|w| w.drafted_by.clone()),
            SecondStep::Warning(..) => None,
            SecondStep::Confirmation => self.determination().map(|d| d.by.clone()),
        }
    }

    pub fn determination(&self) -> Option<&DeterminationEntry> {
        self.determinations.last()
    }

    /// Terms no warning on this case may contain.
    pub fn protected_terms(&self) -> Vec<ProtectedTerm> {
        let mut out = Vec::new();
        for r in &self.reports {
            if let Some(s) = &r.report.source {
                out.push(ProtectedTerm {
                    term: s.id.to_string(),
                    category: FindingCategory::SourceIdentifier,
                });
            }
            if let Some(x) = &r.report.external_reference {
                out.push(ProtectedTerm {
                    term: x.to_string(),
                    category: FindingCategory::ReportNumber,
                });
            }
            for t in &r.report.secret_terms {
                out.push(ProtectedTerm {
                    term: t.to_string(),
                    category: FindingCategory::SecretTerm,
                });
            }
        }
        out
    }

    /// What the sanitisation check finds in `text` for this case, given
    /// the formats of the deployment's report numbers.
    pub fn check_warning_text(
        &self,
        text: &str,
        policy: &LoadedPolicy,
        report_formats: &[String],
    ) -> Vec<Finding> {
        policy
            .sanitiser()
            .check_in(text, &self.protected_terms(), report_formats)
    }

    /// The number of independent sources among the reports.
    pub fn independent_sources(&self) -> u32 {
        u32::try_from(self.sources().len()).unwrap_or(u32::MAX)
    }

    /// The independent sources: which reports count as one, and why
    /// (`corroboration::sources`).
    pub fn sources(&self) -> Vec<crate::policy::Source> {
        let recorded: Vec<_> = self
            .reports
            .iter()
            .map(|r| crate::corroboration::Recorded {
                id: r.id,
                origin: r.report.origin.as_ref(),
                independence: &r.independence,
            })
            .collect();
        crate::corroboration::sources(&recorded)
    }

    /// The facts the policy decides on: the analyst's latest assessment of
    /// each fact where there is one, otherwise consolidated from the reports
    /// (union of harms, best grade that the policy rates, best detail on each
    /// axis of specificity, the union of the windows).
    pub fn facts(&self, policy: &LoadedPolicy) -> CaseFacts {
        let latest =
            |f: &dyn Fn(&Assessment) -> bool| self.assessments.iter().rev().find(|a| f(&a.value));
        let first = &self.reports[0].report;
        let harm_types = latest(&|a| a.harm_types.is_some())
            .and_then(|a| a.value.harm_types.clone())
            .unwrap_or_else(|| {
                self.reports
                    .iter()
                    .skip(1)
                    .fold(first.harm_types.clone(), |acc: HarmTypes, r| {
                        acc.union(&r.report.harm_types)
                    })
            });
        let sources = self.sources();
        let independent_sources = u32::try_from(sources.len()).unwrap_or(u32::MAX);
        let grade = latest(&|a| a.grading.is_some())
            .and_then(|a| a.value.grading.as_ref().map(|g| g.grade))
            .unwrap_or_else(|| {
                // The grade the policy rates best: pass before open before fail; earliest first.
                let rank = |g| {
                    let probe = CaseFacts {
                        harm_types: harm_types.clone(),
                        grade: g,
                        independent_sources,
                        specificity: first.specificity,
                        window: None,
                        sources: Vec::new(),
                    };
                    let (_, trace) = policy.evaluate(&probe, Timestamp::UNIX_EPOCH);
                    match trace
                        .iter()
                        .find(|r| r.rule == RuleId::Credible)
                        .map(|r| r.outcome)
                    {
                        Some(RuleOutcome::Pass) => 0,
                        Some(RuleOutcome::Open) => 1,
                        _ => 2,
                    }
                };
                self.reports
                    .iter()
                    .filter(|r| r.independence == Independence::Independent)
                    .map(|r| r.report.grading.grade)
                    .min_by_key(|g| rank(*g))
                    .unwrap_or(first.grading.grade)
            });
        let specificity = latest(&|a| a.specificity.is_some())
            .and_then(|a| a.value.specificity)
            .unwrap_or_else(|| {
                self.reports
                    .iter()
                    .skip(1)
                    .fold(first.specificity, |acc: Specificity, r| {
                        acc.max(&r.report.specificity)
                    })
            });
        let window = latest(&|a| a.window.is_some())
            .and_then(|a| a.value.window.clone())
            .or_else(|| self.report_window());
        CaseFacts {
            harm_types,
            grade,
            independent_sources,
            specificity,
            window,
            sources,
        }
    }

    fn report_window(&self) -> Option<ThreatWindow> {
        self.reports
            .iter()
            .filter_map(|r| r.report.window.clone())
            .reduce(|a, b| a.union(&b))
    }

    /// The window in force (assessment first, then reports).
    pub fn window(&self) -> Option<ThreatWindow> {
        self.assessments
            .iter()
            .rev()
            .find_map(|a| a.value.window.clone())
            .or_else(|| self.report_window())
    }

    /// Checks a command and returns the events it produces. When they
    /// leave the case with an outcome and a duty discharged (or none), the
    /// last of them is [`Event::CaseClosed`] with its grounds: nothing else
    /// closes a case.
    pub fn handle(&self, cmd: Command, ctx: Ctx<'_>) -> Result<Vec<Event>, CaseError> {
        if !self.disposed.is_empty() {
            return Err(CaseError::RecordsDisposed {
                count: self.disposed.len(),
            });
        }
        let mut events = self.decide(cmd, ctx)?;
        if self.state != CaseState::Closed
            && !events.is_empty()
            && let Some(grounds) = self.closes_after(&events, ctx)
        {
            events.push(Event::CaseClosed { grounds });
        }
        Ok(events)
    }

    /// The grounds on which the case closes once `events` are recorded:
    /// some when it then has an outcome and [`Case::closure_grounds`].
    fn closes_after(&self, events: &[Event], ctx: Ctx<'_>) -> Option<ClosureGrounds> {
        let mut next = self.clone();
        for (i, event) in events.iter().enumerate() {
            let recorded = RecordedEvent {
                seq: self.version + 1 + i as u64,
                recorded_at: ctx.now,
                actor: ctx.actor.name.clone(),
                event: event.clone(),
            };
            // Events this case just decided fold; if one did not, the
            // case stays open (the append fails on it anyway).
            next.apply(&recorded).ok()?;
        }
        if next.state == CaseState::Closed {
            return None;
        }
        next.outcome.as_ref()?;
        next.closure_grounds(ctx.policy)
    }

    /// Whether the case may close now, and on which grounds. A duty to
    /// warn is discharged only when every required warning is delivered
    /// (or failed after the policy's attempts), by an approved waiver, or
    /// by a re-assessment that found no duty and that a second person
    /// confirmed; "no duty" otherwise counts only if no determination ever
    /// found a duty.
    pub fn closure_grounds(&self, policy: &LoadedPolicy) -> Option<ClosureGrounds> {
        use CaseState::*;
        match self.state {
            Delivered => Some(ClosureGrounds::Warned),
            Waived => self
                .waivers
                .iter()
                .rev()
                .find(|w| w.status == WaiverStatus::Approved)
                .filter(|w| !crate::elements::waiver_disputed(self, w.id))
                .map(|w| ClosureGrounds::Waived { waiver_id: w.id }),
            NoDuty if !self.ever_found_a_duty() => Some(ClosureGrounds::NoDuty),
            NoDuty => self
                .determination()
                .and_then(|d| d.confirmed_by.clone())
                .map(|confirmed_by| ClosureGrounds::Redetermined { confirmed_by }),
            AwaitingDetermination | NeedsMoreInformation if !self.ever_found_a_duty() => {
                Some(ClosureGrounds::Undetermined)
            }
            AwaitingDetermination | NeedsMoreInformation => None,
            DutyToWarn | WarningDrafted | WarningApproved | Delivering => {
                self.failed_grounds(policy)
            }
            WaiverPending | Closed => None,
        }
    }

    /// Every required warning delivered or failed after the policy's
    /// attempts, at least one failed (and at least one warning at all).
    fn failed_grounds(&self, policy: &LoadedPolicy) -> Option<ClosureGrounds> {
        let attempts = policy.warnings.attempts;
        let required: Vec<&Warning> = self.warnings.iter().filter(|w| w.required).collect();
        let pool: Vec<&Warning> = if required.is_empty() {
            self.warnings.iter().collect()
        } else {
            required
        };
        if pool.is_empty() {
            return None;
        }
        let mut failed = Vec::new();
        for w in &pool {
            if w.status == WarningStatus::Delivered {
                continue;
            }
            if !w.failed_after(attempts) {
                return None;
            }
            failed.push(w.number);
        }
        (!failed.is_empty()).then_some(ClosureGrounds::WarningFailed { failed })
    }

    /// The follow-up deadline of warning 1 (what a `deadlines_set` without
    /// a warning number carries).
    fn first_follow_up_by(&self) -> Option<Timestamp> {
        self.warning(WarningNumber::FIRST)
            .and_then(|w| w.follow_up_by)
    }

    /// A time a person reports (a delivery, a response) lies neither in the
    /// future nor before the approval of the warning it depends on (to the
    /// second: people give times in whole seconds).
    fn check_reported_time(
        &self,
        warning: Option<&Warning>,
        what: &'static str,
        at: Timestamp,
        now: Timestamp,
    ) -> Result<(), CaseError> {
        if at > add(now, CLOCK_SKEW) {
            return Err(CaseError::InTheFuture { what, at, now });
        }
        if let Some(w) = warning.and_then(|w| w.approved())
            && let Some(approved_at) = w.approved_at
            && at.as_second() < approved_at.as_second()
        {
            return Err(CaseError::BeforeApproval {
                what,
                at,
                version: w.version,
                approved_at,
            });
        }
        Ok(())
    }

    /// Whether any determination on this case found a duty to warn.
    pub fn ever_found_a_duty(&self) -> bool {
        self.determinations
            .iter()
            .any(|d| d.determination.verdict == Verdict::DutyToWarn)
    }

    /// The warning a command is about, resolved, and whether the action is
    /// allowed: by the case's state, and once the case has several
    /// warnings, during the warning work, by that warning's own state (one
    /// may be delivered while another is drafted).
    fn check_allowed(&self, cmd: &Command) -> Result<Option<WarningNumber>, CaseError> {
        let action = cmd.action();
        let named = match cmd {
            Command::ChooseRoute { warning, .. }
            | Command::DraftWarning { warning, .. }
            | Command::ApproveWarning { warning, .. }
            | Command::RecordDelivery { warning, .. }
            | Command::RecordResponse { warning, .. } => Some(*warning),
            _ => None,
        };
        let target = named.map(|n| self.resolve_warning(n)).transpose()?;
        // A route is never replaced once its warning is on its way.
        if let (Command::ChooseRoute { .. }, Some(n)) = (cmd, target)
            && self.warning(n).is_some_and(|w| !w.deliveries.is_empty())
        {
            return Err(CaseError::RouteAfterDelivery { warning: n });
        }
        let per_warning =
            self.warnings.len() > 1 && self.state.is_warning_work() && is_warning_action(action);
        if let (true, Some(n)) = (per_warning, target) {
            let status = self
                .warning(n)
                .map(|w| w.status)
                .unwrap_or(WarningStatus::Planned);
            let allowed = state_of(status).allowed();
            if !allowed.contains(&action) {
                return Err(CaseError::WarningNotAllowed {
                    action,
                    warning: n,
                    status,
                    allowed: allowed
                        .iter()
                        .copied()
                        .filter(|a| is_warning_action(*a))
                        .collect(),
                });
            }
        } else if !self.state.allowed().contains(&action) {
            return Err(CaseError::NotAllowed {
                action,
                state: self.state,
                allowed: self.state.allowed().to_vec(),
            });
        }
        Ok(target)
    }

    fn decide(&self, cmd: Command, ctx: Ctx<'_>) -> Result<Vec<Event>, CaseError> {
        // In every state but closed, whatever else the state allows.
        let target = if cmd.action() == Action::MarkIndependence {
            None
        } else {
            self.check_allowed(&cmd)?
        };
        let warning = target.unwrap_or_default();
        let current = self.warning(warning);
        let policy = ctx.policy;
        match cmd {
            Command::AttachReport { report_id, report } => {
                self.attach_report(report_id, *report, ctx)
            }
            Command::Assess { assessment } => {
                if assessment.grading.is_none()
                    && assessment.specificity.is_none()
                    && assessment.harm_types.is_none()
                    && assessment.window.is_none()
                {
                    return Err(CaseError::EmptyAssessment);
                }
                let old_window = self.window();
                let new_window = assessment.window.clone();
                let mut events = vec![Event::AssessmentRecorded { assessment }];
                if let Some(w) = new_window.filter(|w| Some(w) != old_window.as_ref()) {
                    events.push(Event::DeadlinesSet {
                        deadlines: policy.deadlines(self.received_at(), Some(&w)),
                        follow_up_by: self.first_follow_up_by(),
                        warning: WarningNumber::FIRST,
                    });
                    if self.is_determined() {
                        events.push(Event::ReassessmentFlagged {
                            reason: ReassessmentReason::WindowMoved,
                            detail: format!("window is now {}", w.describe()),
                        });
                    }
                } else if self.is_determined() {
                    events.push(Event::ReassessmentFlagged {
                        reason: ReassessmentReason::NewInformation,
                        detail: "the assessment changed after the determination".into(),
                    });
                }
                Ok(events)
            }
            Command::Determine { note } => {
                let facts = self.facts(policy);
                let (verdict, trace) = policy.evaluate(&facts, ctx.now);
                Ok(vec![Event::DeterminationMade {
                    determination: Box::new(Determination {
                        verdict,
                        trace,
                        facts,
                        policy: policy.reference(),
                        as_of: ctx.now,
                    }),
                    note,
                }])
            }
            Command::RequestWaiver {
                waiver_id,
                ground,
                reason,
                legal_review,
            } => {
                let Some(g) = policy.ground(&ground) else {
                    return Err(CaseError::UnknownWaiverGround {
                        ground,
                        policy: policy.reference().to_string(),
                        allowed: policy
                            .waiver
                            .grounds
                            .iter()
                            .map(|g| g.code.clone())
                            .collect(),
                    });
                };
                if g.requires_legal_review && legal_review.is_none() {
                    return Err(CaseError::LegalReviewRequired { ground });
                }
                if self.waivers.iter().any(|w| w.id == waiver_id) {
                    return Err(CaseError::DuplicateWaiver(waiver_id));
                }
                Ok(vec![Event::WaiverRequested {
                    waiver_id,
                    ground,
                    reason,
                    legal_review,
                }])
            }
            Command::ApproveWaiver { waiver_id, reason } => {
                let w = self.pending_waiver(waiver_id)?;
                let role = policy.waiver.approver_role;
                // The requester of a waiver can never approve it, whatever the policy says.
                if w.requested_by == ctx.actor.name {
                    return Err(CaseError::TwoPersonRule {
                        action: Action::ApproveWaiver,
                        who: ctx.actor.name.clone(),
                        role: "requested this waiver",
                        approver: role,
                    });
                }
                if !ctx.actor.has(role) {
                    return Err(CaseError::MissingRole {
                        action: Action::ApproveWaiver,
                        who: ctx.actor.name.clone(),
                        role,
                    });
                }
                let review_after = policy
                    .ground(&w.ground)
                    .and_then(|g| g.review_after)
                    .unwrap_or(policy.waiver.review_after);
                Ok(vec![Event::WaiverApproved {
                    waiver_id,
                    reason,
                    review_by: add(ctx.now, review_after.signed()),
                }])
            }
            Command::RejectWaiver { waiver_id, reason } => {
                let w = self.pending_waiver(waiver_id)?;
                let role = policy.waiver.approver_role;
                if w.requested_by == ctx.actor.name {
                    return Err(CaseError::TwoPersonRule {
                        action: Action::RejectWaiver,
                        who: ctx.actor.name.clone(),
                        role: "requested this waiver",
                        approver: role,
                    });
                }
                if !ctx.actor.has(role) {
                    return Err(CaseError::MissingRole {
                        action: Action::RejectWaiver,
                        who: ctx.actor.name.clone(),
                        role,
                    });
                }
                Ok(vec![Event::WaiverRejected { waiver_id, reason }])
            }
            Command::ChooseRoute {
                route,
                rationale,
                alternatives,
                ..
            } => {
                self.check_not_threat_actor(&route)?;
                Ok(vec![Event::RouteChosen {
                    optional: !policy.warnings.requires(route.recipient().kind),
                    route,
                    rationale,
                    alternatives,
                    warning,
                }])
            }
            Command::AddWarning {
                route,
                rationale,
                alternatives,
            } => {
                self.check_not_threat_actor(&route)?;
                let warning = WarningNumber::new(self.warnings.len() as u32 + 1)
                    .unwrap_or(WarningNumber::FIRST);
                Ok(vec![Event::RouteChosen {
                    optional: !policy.warnings.requires(route.recipient().kind),
                    route,
                    rationale,
                    alternatives,
                    warning,
                }])
            }
            Command::DraftWarning {
                text,
                withheld,
                language,
                ..
            } => {
                let findings = self.check_warning_text(text.as_str(), policy, ctx.report_formats);
                if !findings.is_empty() {
                    return Err(CaseError::SanitisationFindings { findings });
                }
                Ok(vec![Event::WarningDrafted {
                    version: current.map(|w| w.versions.len() as u32).unwrap_or(0) + 1,
                    sha256: text.sha256(),
                    text,
                    withheld,
                    language,
                    warning,
                }])
            }
            Command::ApproveWarning {
                version, sha256, ..
            } => {
                let last = current.and_then(|w| w.versions.last());
                let latest = last.map(|w| w.version).unwrap_or(0);
                let Some(w) = last.filter(|w| w.version == version) else {
                    return Err(CaseError::NotLatestDraft {
                        asked: version,
                        latest,
                    });
                };
                if let Some(expected) = sha256
                    && expected != w.sha256
                {
                    return Err(CaseError::TextChanged {
                        version,
                        expected,
                        actual: w.sha256.clone(),
                    });
                }
                let rule = &policy.approvals.warning;
                if rule.two_person && w.drafted_by == ctx.actor.name {
                    return Err(CaseError::TwoPersonRule {
                        action: Action::ApproveWarning,
                        who: ctx.actor.name.clone(),
                        role: "drafted this warning",
                        approver: rule.approver_role,
                    });
                }
                if !ctx.actor.has(rule.approver_role) {
                    return Err(CaseError::MissingRole {
                        action: Action::ApproveWarning,
                        who: ctx.actor.name.clone(),
                        role: rule.approver_role,
                    });
                }
                // The policy or the case's secret terms may have changed since drafting.
                let findings = self.check_warning_text(w.text.as_str(), policy, ctx.report_formats);
                if !findings.is_empty() {
                    return Err(CaseError::SanitisationFindings { findings });
                }
                Ok(vec![Event::WarningApproved {
                    version,
                    sha256: w.sha256.clone(),
                    warning,
                }])
            }
            Command::RecordDelivery { delivery, .. } => {
                let Some(w) = current else {
                    return Err(CaseError::NoRoute);
                };
                let Some(route) = &w.route else {
                    return Err(CaseError::NoRoute);
                };
                let approved = w.approved().map(|w| w.version);
                if approved != Some(delivery.warning_version) {
                    return Err(CaseError::NotApprovedVersion(delivery.warning_version));
                }
                self.check_reported_time(current, "delivery", delivery.at, ctx.now)?;
                let hops = route.route.hops();
                let Some(hop) = hops.get(delivery.hop as usize - 1) else {
                    return Err(CaseError::NoSuchHop {
                        hop: delivery.hop,
                        hops: hops.len(),
                    });
                };
                if hop.channel != delivery.channel {
                    return Err(CaseError::WrongChannel {
                        hop: delivery.hop,
                        expected: hop.channel.as_str(),
                        actual: delivery.channel.as_str(),
                    });
                }
                let final_receipt = delivery.hop as usize == hops.len()
                    && delivery.status == DeliveryStatus::Received;
                let at = delivery.at;
                let mut events = vec![Event::DeliveryRecorded { delivery, warning }];
                if final_receipt
                    && w.status != WarningStatus::Delivered
                    && let Some(d) = &self.deadlines
                {
                    events.push(Event::DeadlinesSet {
                        deadlines: d.clone(),
                        follow_up_by: Some(add(
                            at,
                            policy.deadlines.follow_up_after_delivery.signed(),
                        )),
                        warning,
                    });
                }
                Ok(events)
            }
            Command::RecordResponse { response, .. } => {
                self.check_reported_time(current, "response", response.at, ctx.now)?;
                Ok(vec![Event::ResponseRecorded { response, warning }])
            }
            Command::ConfirmDetermination { reason } => {
                let Some(d) = self
                    .determination()
                    .filter(|d| d.confirmed_by.is_none() && self.ever_found_a_duty())
                else {
                    return Err(CaseError::NothingToConfirm);
                };
                let role = policy.waiver.approver_role;
                if d.by == ctx.actor.name {
                    return Err(CaseError::TwoPersonRule {
                        action: Action::ConfirmDetermination,
                        who: ctx.actor.name.clone(),
                        role: "made this determination",
                        approver: role,
                    });
                }
                if !ctx.actor.has(role) {
                    return Err(CaseError::MissingRole {
                        action: Action::ConfirmDetermination,
                        who: ctx.actor.name.clone(),
                        role,
                    });
                }
                Ok(vec![Event::DeterminationConfirmed { reason }])
            }
            Command::DecidePublicAdvisory { advisory } => {
                Ok(vec![Event::PublicAdvisoryDecided { advisory }])
            }
            // An outcome closes nothing by itself: `handle` closes the case
            // when the duty is discharged.
            Command::RecordOutcome { outcome } => Ok(vec![Event::OutcomeRecorded {
                outcome,
                keeps_open: true,
            }]),
            Command::Reassess { reason } => Ok(vec![Event::ReassessmentStarted { reason }]),
            Command::HandOff {
                owner,
                lead_element,
                reason,
            } => {
                if owner == self.owner && lead_element == self.lead_element {
                    return Err(CaseError::SameOwner(owner));
                }
                Ok(vec![Event::CaseHandedOff {
                    owner,
                    lead_element,
                    reason,
                }])
            }
            Command::MarkIndependence {
                report_id,
                derived_of,
                reason,
            } => self.mark_independence(report_id, derived_of, reason),
        }
    }

    fn attach_report(
        &self,
        report_id: ReportId,
        report: ThreatReport,
        ctx: Ctx<'_>,
    ) -> Result<Vec<Event>, CaseError> {
        if self.reports.iter().any(|r| r.id == report_id) {
            return Err(CaseError::DuplicateReport(report_id));
        }
        if let Some(of) = report.derived_from
            && !self.reports.iter().any(|r| r.id == of)
        {
            return Err(CaseError::UnknownDerivedFrom(of));
        }
        let independence = crate::corroboration::assess(
            &report,
            self.reports.iter().map(|r| (r.id, &r.report)),
            ctx.policy.credibility.containment_threshold(),
        );
        let independent = independence == Independence::Independent;
        let old_window = self.window();
        let new_report_window = report.window.clone();
        let mut events = vec![Event::ReportAttached {
            report_id,
            report: Box::new(report),
            independence,
        }];
        // The window may have widened.
        let assessed_window = self.assessments.iter().any(|a| a.value.window.is_some());
        let new_window = match (&old_window, &new_report_window) {
            (_, None) => None,
            (None, Some(w)) => Some(w.clone()),
            (Some(o), Some(w)) => Some(o.union(w)).filter(|u| u != o),
        };
        if let Some(w) = new_window.filter(|_| !assessed_window) {
            events.push(Event::DeadlinesSet {
                deadlines: ctx.policy.deadlines(self.received_at(), Some(&w)),
                follow_up_by: self.first_follow_up_by(),
                warning: WarningNumber::FIRST,
            });
        }
        match self.state {
            CaseState::NoDuty if independent => events.push(Event::CaseReopened {
                reason: "a new independent report arrived after a determination of no duty".into(),
            }),
            CaseState::NoDuty => {}
            CaseState::AwaitingDetermination | CaseState::NeedsMoreInformation => {}
            _ if self.reassessment_due.is_none() => events.push(Event::ReassessmentFlagged {
                reason: ReassessmentReason::NewInformation,
                detail: "a report arrived after the determination".into(),
            }),
            _ => {}
        }
        Ok(events)
    }

    fn pending_waiver(&self, id: WaiverId) -> Result<&WaiverEntry, CaseError> {
        let w = self
            .waivers
            .iter()
            .find(|w| w.id == id)
            .ok_or(CaseError::UnknownWaiver(id))?;
        if w.status != WaiverStatus::Pending {
            return Err(CaseError::WaiverNotPending(id));
        }
        Ok(w)
    }

    fn check_not_threat_actor(&self, route: &Route) -> Result<(), CaseError> {
        for r in &self.reports {
            let Some(actor) = &r.report.threat_actor else {
                continue;
            };
            if actor.kind != crate::report::ActorKind::State {
                continue;
            }
            let Some(country) = actor.country else {
                continue;
            };
            for hop in route.hops() {
                let p = &hop.to;
                if p.kind.is_state_organ() && p.country == Some(country) {
                    return Err(CaseError::ThreatActorAsProtector {
                        actor: actor.name.to_string(),
                        country: country.to_string(),
                        party: p.name.to_string(),
                    });
                }
            }
        }
        Ok(())
    }

    /// When the information was first received (the earliest report).
    /// How long the duty took: from the first report's receipt to the first
    /// determination, and to the moment the case was warned (every
    /// required warning received at the end of its route; with no required
    /// warning, the first one received).
    pub fn measures(&self) -> Measures {
        self.measures
    }

    fn compute_measures(&self) -> Measures {
        let start = self.received_at();
        let decided = self.determinations.first().map(|d| d.at);
        // When each warning was first received at the end of its route.
        let received = |w: &crate::warning::Warning| {
            let hops = w.route.as_ref().map(|r| r.route.hops().len() as u32);
            w.deliveries
                .iter()
                .filter(|d| {
                    d.delivery.status == DeliveryStatus::Received && Some(d.delivery.hop) == hops
                })
                .map(|d| d.delivery.at)
                .min()
        };
        let warned = if !crate::warning::warned(&self.warnings) {
            None
        } else if self.warnings.iter().any(|w| w.required) {
            self.warnings
                .iter()
                .filter(|w| w.required)
                .map(received)
                .collect::<Option<Vec<_>>>()
                .and_then(|t| t.into_iter().max())
        } else {
            self.warnings.iter().filter_map(received).min()
        };
        let waived = self.waivers.iter().any(|w| {
            w.status == WaiverStatus::Approved && !crate::elements::waiver_disputed(self, w.id)
        });
        Measures {
            received_at: self.reports.iter().map(|r| r.report.received_at).min(),
            decided_at: decided,
            warned_at: warned,
            window_opens: self.window().map(|w| w.not_before()),
            duty: !waived
                && self
                    .determination()
                    .is_some_and(|d| d.determination.verdict == Verdict::DutyToWarn),
            time_to_decide: decided.map(|t| t.duration_since(start)),
            time_to_warn: warned.map(|t| t.duration_since(start)),
        }
    }

    pub fn received_at(&self) -> Timestamp {
        self.reports
            .iter()
            .map(|r| r.report.received_at)
            .min()
            .unwrap_or(self.opened_at)
    }

    pub(crate) fn is_determined(&self) -> bool {
        !matches!(
            self.state,
            CaseState::AwaitingDetermination | CaseState::NeedsMoreInformation
        )
    }

    /// Steps that are overdue at `now`, with their due time.
    pub fn overdue(&self, now: Timestamp) -> Vec<(Step, Timestamp)> {
        use CaseState::*;
        let mut out = crate::elements::overdue(self, now);
        let Some(d) = &self.deadlines else { return out };
        let s = self.state;
        if matches!(s, AwaitingDetermination | NeedsMoreInformation) && now > d.decide_by {
            out.push((Step::Decide, d.decide_by));
        }
        if matches!(s, DutyToWarn | WarningDrafted | WaiverPending) && now > d.approve_by {
            out.push((Step::Approve, d.approve_by));
        }
        if matches!(
            s,
            DutyToWarn | WarningDrafted | WarningApproved | Delivering | WaiverPending
        ) && now > d.deliver_by
        {
            out.push((Step::Deliver, d.deliver_by));
        }
        for f in self.follow_ups() {
            if now > f {
                out.push((Step::FollowUp, f));
            }
        }
        out
    }

    /// The follow-up deadlines still running: of each delivered warning
    /// whose recipient has not answered, while the warning work goes on
    /// (with one warning: once the case is delivered, as it always was).
    fn follow_ups(&self) -> Vec<Timestamp> {
        let running = if self.warnings.len() > 1 {
            self.state.is_warning_work()
        } else {
            self.state == CaseState::Delivered
        };
        if !running {
            return vec![];
        }
        self.warnings
            .iter()
            .filter(|w| w.status == WarningStatus::Delivered && !w.responded())
            .filter_map(|w| w.follow_up_by)
            .collect()
    }

    /// The next deadline still ahead or overdue for the current state.
    pub fn next_deadline(&self) -> Option<(Step, Timestamp)> {
        use CaseState::*;
        let d = self.deadlines.as_ref()?;
        match self.state {
            AwaitingDetermination | NeedsMoreInformation => Some((Step::Decide, d.decide_by)),
            DutyToWarn | WarningDrafted | WaiverPending => Some((Step::Approve, d.approve_by)),
            WarningApproved | Delivering => Some((Step::Deliver, d.deliver_by)),
            Delivered => self
                .warnings
                .iter()
                .filter_map(|w| w.follow_up_by)
                .min()
                .map(|f| (Step::FollowUp, f)),
            _ => None,
        }
    }

    /// The earliest time at which the clock can produce something for this
    /// case: [`Case::sweep`] returns nothing before it, and nothing at all
    /// when it is `None`. The store keeps it, so a sweep visits only the
    /// cases whose time has come rather than every open case.
    pub fn next_sweep_at(&self, policy: &LoadedPolicy) -> Option<Timestamp> {
        use CaseState::*;
        if self.state == Closed {
            return None;
        }
        let mut times = Vec::new();
        if let Some(d) = &self.deadlines {
            let s = self.state;
            let mut steps = Vec::new();
            if matches!(s, AwaitingDetermination | NeedsMoreInformation) {
                steps.push((Step::Decide, d.decide_by));
            }
            if matches!(s, DutyToWarn | WarningDrafted | WaiverPending) {
                steps.push((Step::Approve, d.approve_by));
            }
            if matches!(
                s,
                DutyToWarn | WarningDrafted | WarningApproved | Delivering | WaiverPending
            ) {
                steps.push((Step::Deliver, d.deliver_by));
            }
            for f in self.follow_ups() {
                steps.push((Step::FollowUp, f));
            }
            for (step, due) in steps {
                if !self
                    .escalations
                    .iter()
                    .any(|e| e.step == step && e.due == due)
                {
                    times.push(due);
                }
            }
        }
        let flagged = |reason: ReassessmentReason, detail: &str| {
            self.flags
                .iter()
                .any(|f| f.reason == reason && f.detail == detail)
        };
        if self.reassessment_due.is_none() {
            if let Some(w) = self.window() {
                if self.state != NoDuty {
                    if !flagged(ReassessmentReason::WindowLapsed, &lapse_detail(&w)) {
                        times.push(w.not_after());
                    }
                } else if self.only_too_far()
                    && !flagged(
                        ReassessmentReason::WindowApproaching,
                        &approach_detail(&w, policy),
                    )
                {
                    times.push(add(w.not_before(), -policy.impending.max_lead.signed()));
                }
            }
            if self.state == Waived
                && let Some(w) = self
                    .waivers
                    .iter()
                    .rev()
                    .find(|w| w.status == WaiverStatus::Approved)
                && let Some(review_by) = w.review_by
                && !flagged(
                    ReassessmentReason::WaiverReviewDue,
                    &review_detail(w, review_by),
                )
            {
                times.push(review_by);
            }
        }
        times.extend(crate::elements::sweep_times(self));
        times.into_iter().min()
    }

    /// The determination failed only because the threat is too far off.
    fn only_too_far(&self) -> bool {
        self.determination().is_some_and(|d| {
            d.determination.verdict
                == (Verdict::ThresholdNotMet {
                    failed: vec![RuleId::Impending],
                })
        })
    }

    /// What the clock produces at `now`: escalations for overdue steps (once
    /// per step and due time) and re-assessment flags.
    pub fn sweep(&self, now: Timestamp, policy: &LoadedPolicy) -> Vec<Event> {
        let mut events = Vec::new();
        if self.state == CaseState::Closed {
            return events;
        }
        for (step, due) in self.overdue(now) {
            if !self
                .escalations
                .iter()
                .any(|e| e.step == step && e.due == due)
            {
                events.push(Event::EscalationRaised { step, due });
            }
        }
        let flagged = |reason: ReassessmentReason, detail: &str| {
            self.flags
                .iter()
                .any(|f| f.reason == reason && f.detail == detail)
        };
        if self.reassessment_due.is_none() {
            if let Some(w) = self.window() {
                let detail = lapse_detail(&w);
                if w.has_lapsed(now)
                    && self.state != CaseState::NoDuty
                    && !flagged(ReassessmentReason::WindowLapsed, &detail)
                {
                    events.push(Event::ReassessmentFlagged {
                        reason: ReassessmentReason::WindowLapsed,
                        detail,
                    });
                } else if self.state == CaseState::NoDuty && !w.has_lapsed(now) {
                    // A threat judged too far off comes within the horizon.
                    let only_too_far = self.only_too_far();
                    let horizon_at = add(w.not_before(), -policy.impending.max_lead.signed());
                    let detail = approach_detail(&w, policy);
                    if only_too_far
                        && now >= horizon_at
                        && !flagged(ReassessmentReason::WindowApproaching, &detail)
                    {
                        events.push(Event::ReassessmentFlagged {
                            reason: ReassessmentReason::WindowApproaching,
                            detail,
                        });
                    }
                }
            }
            if self.state == CaseState::Waived
                && let Some(w) = self
                    .waivers
                    .iter()
                    .rev()
                    .find(|w| w.status == WaiverStatus::Approved)
                && let Some(review_by) = w.review_by
            {
                let detail = review_detail(w, review_by);
                if now > review_by && !flagged(ReassessmentReason::WaiverReviewDue, &detail) {
                    events.push(Event::ReassessmentFlagged {
                        reason: ReassessmentReason::WaiverReviewDue,
                        detail,
                    });
                }
            }
        }
        events
    }
}
