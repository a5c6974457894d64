//! Events: the facts tocsin records. Every command produces events; the
//! state of a case is the fold of its events ([`crate::case::Case::apply`]).
//! Events are append-only and are the leaves of the ledger, so their wire
//! form is part of the log format: add variants and optional fields, never
//! change the meaning of an existing one.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::access::{AccountSpec, ClearanceLevels, Permission, TokenInfo};
use crate::delivery::{
    AdvisoryDecision, Delivery, LanguageTag, OutcomeRecord, Response, Route, RouteAlternative,
    WarningText, WithheldCategory,
};
use crate::exchange::{Partner, ReceivedReport};
use crate::grading::{Grading, Specificity};
use crate::ids::{
    CaseId, ContributionId, DisposalBatchId, DisputeId, ExportId, HoldId, ReceiptId, RedactionId,
    ReportId, TokenId, WaiverId,
};
use crate::notice::NoticeTarget;
use crate::policy::{Deadlines, Determination, PolicyRef};
use crate::records::{RecordClass, RecordQuery, RetentionSchedule};
use crate::reference::{Directory, Relations};
use crate::report::{HarmTypes, ThreatReport};
use crate::screening::{RegistryRef, Screening, WatchListFlag};
use crate::text::{ActorName, ElementName, Label, Note, Origin, Reason, Title};

use crate::time::{ThreatWindow, Timestamp};
use crate::warning::WarningNumber;

/// The kinds of command, for state checks and error messages.
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
pub enum Action {
    AttachReport,
    Assess,
    Determine,
    RequestWaiver,
    ApproveWaiver,
    RejectWaiver,
    ChooseRoute,
    DraftWarning,
    ApproveWarning,
    RecordDelivery,
    RecordResponse,
    DecidePublicAdvisory,
    RecordOutcome,
    Reassess,
    HandOff,
    AddWarning,
    ConfirmDetermination,
    /// Confirm, reject or set whether a report is an independent source.
    MarkIndependence,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::AttachReport => "attach report",
            Action::Assess => "assess",
            Action::Determine => "determine",
            Action::RequestWaiver => "request waiver",
            Action::ApproveWaiver => "approve waiver",
            Action::RejectWaiver => "reject waiver",
            Action::ChooseRoute => "choose route",
            Action::DraftWarning => "draft warning",
            Action::ApproveWarning => "approve warning",
            Action::RecordDelivery => "record delivery",
            Action::RecordResponse => "record response",
            Action::DecidePublicAdvisory => "decide public advisory",
            Action::RecordOutcome => "record outcome",
            Action::Reassess => "re-assess",
            Action::HandOff => "hand off",
            Action::AddWarning => "add warning",
            Action::ConfirmDetermination => "confirm determination",
            Action::MarkIndependence => "mark independence",
        }
    }

    /// The permission an action needs.
    pub fn permission(self) -> Permission {
        match self {
            Action::AttachReport => Permission::SubmitReport,
            Action::Assess
            | Action::Determine
            | Action::RequestWaiver
            | Action::ChooseRoute
            | Action::AddWarning
            | Action::DraftWarning
            | Action::Reassess
            | Action::MarkIndependence
            | Action::HandOff => Permission::Analyse,
            Action::ApproveWaiver
            | Action::RejectWaiver
            | Action::ApproveWarning
            | Action::ConfirmDetermination
            | Action::DecidePublicAdvisory => Permission::Approve,
            Action::RecordDelivery | Action::RecordResponse | Action::RecordOutcome => {
                Permission::Deliver
            }
        }
    }
}

/// A step with a deadline.
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
pub enum Step {
    Decide,
    Approve,
    Deliver,
    FollowUp,
    /// An arbiter resolves a dispute between elements.
    Arbitrate,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Decide => "decide",
            Step::Approve => "approve",
            Step::Deliver => "deliver",
            Step::FollowUp => "follow up",
            Step::Arbitrate => "arbitrate",
        }
    }
}

/// Whether a report counts as an independent source.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Independence {
    Independent,
    /// Re-states another report (circular reporting): counts once.
    Derived {
        of: ReportId,
        basis: DerivationBasis,
        /// Other earlier reports this one also re-states (all of them are one
        /// source with it). Absent in events recorded before it existed.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        also: Vec<DerivedLink>,
    },
}

/// One more report a derived report re-states, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DerivedLink {
    pub of: ReportId,
    pub basis: DerivationBasis,
}

/// Why a case could close. A case with a duty to warn closes only when
/// the duty is discharged: every required warning delivered (or failed
/// after the policy's attempts), an approved waiver, or a re-assessment
/// that found no duty confirmed by a second person.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ClosureGrounds {
    /// Every required warning was delivered.
    Warned,
    /// An approved waiver covers the duty.
    Waived { waiver_id: WaiverId },
    /// The determination is "no duty", and no earlier determination found
    /// a duty.
    NoDuty,
    /// No determination was made (for example, the event came first).
    Undetermined,
    /// Every required warning was delivered or failed after the policy's
    /// attempts; these failed.
    WarningFailed { failed: Vec<WarningNumber> },
    /// A re-assessment changed the determination from a duty to no duty,
    /// and a second person confirmed it.
    Redetermined { confirmed_by: ActorName },
    /// Merged into another case, which carries its reports and its duty
    /// (see `crate::elements::merge`).
    Merged { into: CaseId },
}

impl fmt::Display for ClosureGrounds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Warned => f.write_str("the warning was delivered"),
            Self::Waived { waiver_id } => write!(f, "waiver {waiver_id} covers the duty"),
            Self::NoDuty => f.write_str("no duty to warn was determined"),
            Self::Undetermined => f.write_str("closed before a determination"),
            Self::WarningFailed { failed } => write!(
                f,
                "every required warning was delivered or failed after the policy's attempts ({} failed)",
                failed
                    .iter()
                    .map(|n| n.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Self::Redetermined { confirmed_by } => write!(
                f,
                "a re-assessment found no duty, confirmed by {confirmed_by}"
            ),
            Self::Merged { into } => write!(f, "merged into case {into}"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DerivationBasis {
    /// The report says so (`derived_from`).
    Declared,
    /// Its narrative overlaps the other's this much (percent, word-trigram
    /// Jaccard). Recorded by the detector used before `shared_text`.
    SimilarText { similarity_percent: u8 },
    /// Its narrative and the other's share word pairs (after headers and
    /// boilerplate are stripped): `this_in_other_percent` of this report's
    /// pairs are in the other, `other_in_this_percent` of the other's are in
    /// this one; `shared_pairs` is how many.
    SharedText {
        this_in_other_percent: u8,
        other_in_this_percent: u8,
        shared_pairs: u32,
    },
    /// Both reports name the same origin (compared by [`Origin::key`]).
    SameOrigin { origin: Origin },
    /// An analyst marked it so after intake (an
    /// [`Event::IndependenceMarked`]), for this reason.
    Marked { reason: Reason },
}

impl DerivationBasis {
    /// Why, in words, for a rule trace or a timeline.
    pub fn describe(&self) -> String {
        match self {
            Self::Declared => "declared by the report (derived_from)".to_owned(),
            Self::SimilarText { similarity_percent } => {
                format!("{similarity_percent}% same text (word trigrams)")
            }
            Self::SharedText {
                this_in_other_percent,
                other_in_this_percent,
                shared_pairs,
            } => format!(
                "shared text: {this_in_other_percent}% of its word pairs are in the other, {other_in_this_percent}% of the other's in it ({shared_pairs} pairs)"
            ),
            Self::SameOrigin { origin } => format!("same origin \"{origin}\""),
            Self::Marked { reason } => format!("an analyst marked it so: {reason}"),
        }
    }
}

/// An analyst's consolidated view of the case, overriding what the reports say.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Assessment {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grading: Option<Grading>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub specificity: Option<Specificity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub harm_types: Option<HarmTypes>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<ThreatWindow>,
    pub reason: Reason,
}

/// Why a case must be looked at again.
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
pub enum ReassessmentReason {
    /// The threat window ended with no outcome recorded.
    WindowLapsed,
    /// The window changed after the determination.
    WindowMoved,
    /// A report or assessment arrived after the determination.
    NewInformation,
    /// An approved waiver reached its review date.
    WaiverReviewDue,
    /// A threat judged too far off is now within the impending horizon.
    WindowApproaching,
}

impl ReassessmentReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::WindowLapsed => "window lapsed",
            Self::WindowMoved => "window moved",
            Self::NewInformation => "new information",
            Self::WaiverReviewDue => "waiver review due",
            Self::WindowApproaching => "window approaching",
        }
    }
}

/// Everything tocsin records. `type` on the wire.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Event {
    // ---- case stream ----
    CaseOpened {
        case_id: CaseId,
        title: Title,
        owner: ActorName,
        lead_element: ElementName,
    },
    ReportAttached {
        report_id: ReportId,
        report: Box<ThreatReport>,
        independence: Independence,
    },
    CaseReopened {
        reason: String,
    },
    AssessmentRecorded {
        assessment: Assessment,
    },
    DeadlinesSet {
        deadlines: Deadlines,
        /// The follow-up deadline of `warning`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        follow_up_by: Option<Timestamp>,
        /// The warning it is about; absent: warning 1.
        #[serde(default, skip_serializing_if = "WarningNumber::is_first")]
        warning: WarningNumber,
    },
    DeterminationMade {
        determination: Box<Determination>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<Note>,
    },
    WaiverRequested {
        waiver_id: WaiverId,
        ground: String,
        reason: Reason,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        legal_review: Option<Note>,
    },
    WaiverApproved {
        waiver_id: WaiverId,
        reason: Reason,
        review_by: Timestamp,
    },
    WaiverRejected {
        waiver_id: WaiverId,
        reason: Reason,
    },
    /// The route of a warning, chosen; a warning number not seen before
    /// adds a warning (a recipient) to the case.
    RouteChosen {
        route: Route,
        rationale: Reason,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        alternatives: Vec<RouteAlternative>,
        /// The warning it is about; absent: warning 1.
        #[serde(default, skip_serializing_if = "WarningNumber::is_first")]
        warning: WarningNumber,
        /// The policy does not require this recipient: the case can be
        /// warned without it. Absent: required.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        optional: bool,
    },
    WarningDrafted {
        version: u32,
        text: WarningText,
        sha256: String,
        withheld: BTreeSet<WithheldCategory>,
        language: LanguageTag,
        /// The warning it is about; absent: warning 1.
        #[serde(default, skip_serializing_if = "WarningNumber::is_first")]
        warning: WarningNumber,
    },
    WarningApproved {
        version: u32,
        sha256: String,
        /// The warning it is about; absent: warning 1.
        #[serde(default, skip_serializing_if = "WarningNumber::is_first")]
        warning: WarningNumber,
    },
    DeliveryRecorded {
        delivery: Delivery,
        /// The warning it is about; absent: warning 1.
        #[serde(default, skip_serializing_if = "WarningNumber::is_first")]
        warning: WarningNumber,
    },
    ResponseRecorded {
        response: Response,
        /// The warning it is about; absent: warning 1.
        #[serde(default, skip_serializing_if = "WarningNumber::is_first")]
        warning: WarningNumber,
    },
    PublicAdvisoryDecided {
        advisory: AdvisoryDecision,
    },
    OutcomeRecorded {
        outcome: OutcomeRecord,
        /// Whether the case stayed open. Outcomes recorded before closure
        /// had grounds (no field: false) closed the case themselves; since
        /// then an outcome closes nothing by itself (true), and
        /// [`Event::CaseClosed`] says on which grounds a case closed.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        keeps_open: bool,
    },
    /// The case closed: an outcome is recorded and the duty, if there was
    /// one, is discharged on these grounds.
    CaseClosed {
        grounds: ClosureGrounds,
    },
    /// A second person confirmed the latest determination, which found no
    /// duty after an earlier one found a duty (two-person rule).
    DeterminationConfirmed {
        reason: Reason,
    },
    ReassessmentFlagged {
        reason: ReassessmentReason,
        detail: String,
    },
    ReassessmentStarted {
        reason: Reason,
    },
    /// An analyst confirmed, rejected or set whether a report is an
    /// independent source, after intake: it replaces what the detector (or
    /// an earlier mark) recorded for it.
    IndependenceMarked {
        report_id: ReportId,
        independence: Independence,
        reason: Reason,
    },
    EscalationRaised {
        step: Step,
        due: Timestamp,
    },
    CaseHandedOff {
        owner: ActorName,
        lead_element: ElementName,
        reason: Reason,
    },
    /// A refused attempt worth keeping (a two-person violation, a waiver on
    /// a ground the policy does not list, a missing role).
    AttemptRefused {
        action: Action,
        reason: String,
    },
    /// The names of a report (victims, threat actor) were screened against
    /// the directories and watch lists.
    ScreeningRecorded {
        screening: Box<Screening>,
    },
    /// A victim matches a watch list: evidence for the W3 assessment, never
    /// a waiver and never a change of the determination.
    WatchListFlagRaised {
        flag: Box<WatchListFlag>,
    },
    // ---- case stream: across elements (`crate::elements`) ----
    /// A report another element sent to this case (it may not see the
    /// case): pending until the lead element accepts or declines it.
    ContributionSubmitted {
        contribution_id: ContributionId,
        report: Box<ThreatReport>,
    },
    /// The lead element accepted a contribution; the `report_attached` of
    /// its report follows in the same append.
    ContributionAccepted {
        contribution_id: ContributionId,
        report_id: ReportId,
    },
    ContributionDeclined {
        contribution_id: ContributionId,
        reason: Reason,
    },
    /// One lead element's half of a merge or a link.
    RelationProposed {
        relation: crate::elements::Relation,
    },
    /// Recorded on both cases: `absorbed` was merged into `into`.
    CasesMerged {
        absorbed: CaseId,
        into: CaseId,
        /// The absorbed case's elements, which now share the survivor.
        shared_with: BTreeSet<ElementName>,
        /// Reports of accepted contributions, which share nothing.
        #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
        unshared: BTreeSet<ReportId>,
    },
    /// Recorded on both cases.
    CasesLinked {
        with: CaseId,
    },
    DisputeRaised {
        dispute_id: DisputeId,
        subject: crate::elements::DisputeSubject,
        statement: Reason,
        due: Timestamp,
    },
    /// An arbiter's resolution.
    DisputeResolved {
        dispute_id: DisputeId,
        resolution: Reason,
    },
    // ---- system stream ----
    /// The exact text of a policy, recorded the first time a determination is
    /// made under it, so the ledger alone explains every determination.
    PolicyAdopted {
        policy: PolicyRef,
        origin: String,
        source: String,
    },
    /// An escalation notice reached a notification target.
    #[serde(rename = "notification_delivered")]
    NoticeDelivered {
        step: Step,
        due: Timestamp,
        target: Label,
        attempts: u32,
    },
    /// An escalation notice could not be delivered after every retry.
    #[serde(rename = "notification_failed")]
    NoticeFailed {
        step: Step,
        due: Timestamp,
        target: Label,
        attempts: u32,
        error: String,
    },
    // ---- reference stream ----
    /// The relations between our state and the others, replaced whole.
    RelationsReplaced {
        relations: Relations,
    },
    /// The recipients directory, replaced whole.
    DirectoryReplaced {
        directory: Directory,
    },
    /// A notification target for escalations, added or changed.
    #[serde(rename = "notification_target_set")]
    NoticeTargetSet {
        target: NoticeTarget,
    },
    #[serde(rename = "notification_target_removed")]
    NoticeTargetRemoved {
        name: Label,
    },
    // ---- accounts stream ----
    ElementRegistered {
        element: ElementName,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<Note>,
    },
    AccountCreated {
        name: ActorName,
        spec: AccountSpec,
    },
    /// The account's roles, clearance, compartments or elements changed.
    AccountChanged {
        name: ActorName,
        spec: AccountSpec,
    },
    /// Takes effect at once: every session and token of the account stops working.
    AccountDisabled {
        name: ActorName,
        reason: Reason,
    },
    AccountEnabled {
        name: ActorName,
    },
    /// The password was set or changed (the hash is never in the ledger);
    /// every earlier session of the account is revoked.
    PasswordChanged {
        name: ActorName,
        /// Set when another account (an admin) set it: a one-time
        /// enrolment secret, good until then and only to set the person's
        /// own password.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        one_time_until: Option<Timestamp>,
    },
    TokenIssued {
        token: TokenInfo,
    },
    TokenRevoked {
        token_id: TokenId,
        account: ActorName,
    },
    ClearanceLevelsSet {
        levels: ClearanceLevels,
    },
    // ---- access stream ----
    /// Someone read restricted content of a case (report text, waiver
    /// reasons, the basis of a warning).
    ContentRead {
        case_id: CaseId,
        parts: Vec<String>,
    },
    /// A request refused for want of a permission or of access to a case.
    AccessRefused {
        action: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        target: Option<String>,
        reason: String,
    },
    /// A failed login (the name as typed, and where it came from).
    LoginFailed {
        account: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        address: Option<String>,
    },
    // ---- registry stream ----
    /// A registry (watch list or directory) was imported; its entries are
    /// in the store under its name, replaced atomically with this event.
    RegistryImported {
        registry: RegistryRef,
        entries: u64,
        names: u64,
        /// The file names it was read from.
        sources: Vec<String>,
    },
    // ---- exchange stream ----
    /// A STIX producer's reports are filed under an element of ours (set
    /// or changed).
    PartnerMapped {
        partner: Partner,
    },
    /// A partner's STIX report that lacks what intake needs, kept for an
    /// analyst (the envelope's actor imported it, at its time).
    StixReportReceived {
        receipt_id: ReceiptId,
        report: Box<ReceivedReport>,
    },
    /// A receipt assessed: its report is in this case.
    StixReportAssessed {
        receipt_id: ReceiptId,
        case_id: CaseId,
        report_id: ReportId,
    },
    /// A TAXII collection was configured (created or changed).
    TaxiiCollectionSet {
        collection: crate::taxii::TaxiiCollection,
    },
    /// Objects were added to a TAXII collection (a `POST objects`, or a
    /// case published to it), with the marking they are served under.
    TaxiiObjectsAdded {
        addition: Box<crate::taxii::TaxiiAddition>,
    },
    /// A pull from a partner's TAXII collection got this far.
    TaxiiPullCursorSet {
        cursor: crate::taxii::PullCursor,
    },
    // ---- records stream ----
    // Records management: retention, legal holds, disposal. A hold
    // follows request → second person's approval (`crate::holds`); it
    // covers records from its request until its release is approved, so
    // a hold protects before anyone has approved it.
    /// The exact text of the retention schedules put in force (as
    /// `policy_adopted` records a policy), so every disposal is explained
    /// by the ledger alone.
    RetentionSchedulesAdopted {
        sha256: String,
        origin: String,
        source: String,
    },
    /// The exact text of the exemption codes a redaction may cite, put
    /// in force in place of the built-in FOIA ones (an organisation's own
    /// list, as data).
    ExemptionsAdopted {
        sha256: String,
        origin: String,
        source: String,
    },
    /// A records officer asked for a legal hold over the records `scope`
    /// matches. It covers them at once.
    HoldRequested {
        hold_id: HoldId,
        scope: RecordQuery,
        reason: Reason,
    },
    /// A second person approved the hold's request.
    HoldPlaced {
        hold_id: HoldId,
    },
    /// A second person declined what is pending on the hold: a request
    /// declined ends the hold; a release declined leaves it in force.
    HoldDeclined {
        hold_id: HoldId,
        reason: Reason,
    },
    /// A records officer asked for the hold to be released. It still
    /// covers its records.
    HoldReleaseRequested {
        hold_id: HoldId,
        reason: Reason,
    },
    /// A second person approved the release: the hold no longer covers
    /// anything.
    HoldReleased {
        hold_id: HoldId,
    },
    /// The tombstone of a disposed record: its content and salt are gone,
    /// its leaf (a commitment to them) stays. What, under which schedule,
    /// who asked and who approved; when is the event's own time. It names
    /// no content.
    RecordDisposed {
        /// The ledger position of the disposed leaf.
        position: u64,
        /// Its event kind (`report_attached`...).
        kind: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        case_id: Option<CaseId>,
        class: RecordClass,
        /// The schedule as it stood, and the SHA-256 of the schedules file.
        schedule: RetentionSchedule,
        schedules_sha256: String,
        /// When the record became eligible.
        eligible_at: Timestamp,
        batch_id: DisposalBatchId,
        requested_by: ActorName,
        approved_by: ActorName,
    },
    /// An oversight export's scope, recorded before its bag is written so
    /// that it cannot be changed afterwards: the query, the cases it
    /// resolved to (their streams are the scope), and whether it is a
    /// release copy. The bag's `scope.json` must say the same.
    RecordsExported {
        export_id: ExportId,
        query: RecordQuery,
        cases: Vec<CaseId>,
        release: bool,
    },
    /// A records officer asks that a field of the record at `position`
    /// be redacted in release copies, under an exemption code
    /// (`crate::redaction`). The original stays in the ledger.
    RedactionRequested {
        redaction_id: RedactionId,
        position: u64,
        /// An RFC 6901 JSON pointer into the event envelope.
        field: String,
        /// Runs of the field's text to redact (by place, never by the
        /// words); none: the whole field.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        spans: Vec<crate::redaction::TextSpan>,
        exemption: String,
        reason: Reason,
    },
    /// A second records officer approved the redaction.
    RedactionApproved {
        redaction_id: RedactionId,
    },
    /// What a reader gets in place of a disposed event: never recorded
    /// (the store refuses to append it), only read. The store builds it
    /// from the `record_disposed` tombstone that names the position; its
    /// envelope's time and actor are the tombstone's (when the content
    /// was disposed of, and who approved). It holds no content.
    DisposedRecord {
        /// The ledger position of the disposed leaf.
        position: u64,
        /// The disposed event's kind (`report_attached`...).
        kind: String,
        class: RecordClass,
        /// The schedule it was disposed of under.
        schedule: RetentionSchedule,
        /// The position of the tombstone.
        tombstone: u64,
    },
}

impl Event {
    /// The wire name of the variant (`case_opened`...).
    pub fn kind(&self) -> &'static str {
        match self {
            Event::CaseOpened { .. } => "case_opened",
            Event::ReportAttached { .. } => "report_attached",
            Event::CaseReopened { .. } => "case_reopened",
            Event::AssessmentRecorded { .. } => "assessment_recorded",
            Event::DeadlinesSet { .. } => "deadlines_set",
            Event::DeterminationMade { .. } => "determination_made",
            Event::WaiverRequested { .. } => "waiver_requested",
            Event::WaiverApproved { .. } => "waiver_approved",
            Event::WaiverRejected { .. } => "waiver_rejected",
            Event::RouteChosen { .. } => "route_chosen",
            Event::WarningDrafted { .. } => "warning_drafted",
            Event::WarningApproved { .. } => "warning_approved",
            Event::DeliveryRecorded { .. } => "delivery_recorded",
            Event::ResponseRecorded { .. } => "response_recorded",
            Event::PublicAdvisoryDecided { .. } => "public_advisory_decided",
            Event::OutcomeRecorded { .. } => "outcome_recorded",
            Event::CaseClosed { .. } => "case_closed",
            Event::DeterminationConfirmed { .. } => "determination_confirmed",
            Event::ReassessmentFlagged { .. } => "reassessment_flagged",
            Event::ReassessmentStarted { .. } => "reassessment_started",
            Event::IndependenceMarked { .. } => "independence_marked",
            Event::EscalationRaised { .. } => "escalation_raised",
            Event::CaseHandedOff { .. } => "case_handed_off",
            Event::AttemptRefused { .. } => "attempt_refused",
            Event::ScreeningRecorded { .. } => "screening_recorded",
            Event::WatchListFlagRaised { .. } => "watch_list_flag_raised",
            Event::ContributionSubmitted { .. } => "contribution_submitted",
            Event::ContributionAccepted { .. } => "contribution_accepted",
            Event::ContributionDeclined { .. } => "contribution_declined",
            Event::RelationProposed { .. } => "relation_proposed",
            Event::CasesMerged { .. } => "cases_merged",
            Event::CasesLinked { .. } => "cases_linked",
            Event::DisputeRaised { .. } => "dispute_raised",
            Event::DisputeResolved { .. } => "dispute_resolved",
            Event::PolicyAdopted { .. } => "policy_adopted",
            Event::NoticeDelivered { .. } => "notification_delivered",
            Event::NoticeFailed { .. } => "notification_failed",
            Event::RelationsReplaced { .. } => "relations_replaced",
            Event::DirectoryReplaced { .. } => "directory_replaced",
            Event::NoticeTargetSet { .. } => "notification_target_set",
            Event::NoticeTargetRemoved { .. } => "notification_target_removed",
            Event::ElementRegistered { .. } => "element_registered",
            Event::AccountCreated { .. } => "account_created",
            Event::AccountChanged { .. } => "account_changed",
            Event::AccountDisabled { .. } => "account_disabled",
            Event::AccountEnabled { .. } => "account_enabled",
            Event::PasswordChanged { .. } => "password_changed",
            Event::TokenIssued { .. } => "token_issued",
            Event::TokenRevoked { .. } => "token_revoked",
            Event::ClearanceLevelsSet { .. } => "clearance_levels_set",
            Event::ContentRead { .. } => "content_read",
            Event::AccessRefused { .. } => "access_refused",
            Event::LoginFailed { .. } => "login_failed",
            Event::RegistryImported { .. } => "registry_imported",
            Event::PartnerMapped { .. } => "partner_mapped",
            Event::StixReportReceived { .. } => "stix_report_received",
            Event::StixReportAssessed { .. } => "stix_report_assessed",
            Event::TaxiiCollectionSet { .. } => "taxii_collection_set",
            Event::TaxiiObjectsAdded { .. } => "taxii_objects_added",
            Event::TaxiiPullCursorSet { .. } => "taxii_pull_cursor_set",
            Event::RetentionSchedulesAdopted { .. } => "retention_schedules_adopted",
            Event::ExemptionsAdopted { .. } => "exemptions_adopted",
            Event::HoldRequested { .. } => "hold_requested",
            Event::HoldPlaced { .. } => "hold_placed",
            Event::HoldDeclined { .. } => "hold_declined",
            Event::HoldReleaseRequested { .. } => "hold_release_requested",
            Event::HoldReleased { .. } => "hold_released",
            Event::RecordDisposed { .. } => "record_disposed",
            Event::RecordsExported { .. } => "records_exported",
            Event::RedactionRequested { .. } => "redaction_requested",
            Event::RedactionApproved { .. } => "redaction_approved",
            Event::DisposedRecord { .. } => "disposed_record",
        }
    }

    /// Whether the event belongs in a case stream (the rest belong to the
    /// deployment's streams).
    pub fn is_case_event(&self) -> bool {
        !matches!(
            self,
            Event::PolicyAdopted { .. }
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
                | Event::PartnerMapped { .. }
                | Event::StixReportReceived { .. }
                | Event::StixReportAssessed { .. }
                | Event::TaxiiCollectionSet { .. }
                | Event::TaxiiObjectsAdded { .. }
                | Event::TaxiiPullCursorSet { .. }
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
                | Event::RedactionApproved { .. }
        )
    }

    /// The record class of the event, or `None` for an event that is never a
    /// record a schedule governs (it is kept as long as the ledger). The
    /// match is exhaustive on purpose: a new event must be given a class,
    /// or none, here.
    pub fn record_class(&self) -> Option<RecordClass> {
        use RecordClass as C;
        match self {
            Event::ReportAttached { .. }
            | Event::ContributionSubmitted { .. }
            | Event::ScreeningRecorded { .. }
            | Event::WatchListFlagRaised { .. }
            | Event::StixReportReceived { .. }
            | Event::StixReportAssessed { .. } => Some(C::Report),
            Event::AssessmentRecorded { .. }
            | Event::DeterminationMade { .. }
            | Event::DeterminationConfirmed { .. }
            | Event::IndependenceMarked { .. } => Some(C::Determination),
            Event::WaiverRequested { .. }
            | Event::WaiverApproved { .. }
            | Event::WaiverRejected { .. } => Some(C::Waiver),
            Event::RouteChosen { .. }
            | Event::WarningDrafted { .. }
            | Event::WarningApproved { .. } => Some(C::Warning),
            Event::DeliveryRecorded { .. }
            | Event::ResponseRecorded { .. }
            | Event::OutcomeRecorded { .. }
            | Event::PublicAdvisoryDecided { .. } => Some(C::DeliveryEvidence),
            Event::ContentRead { .. } | Event::AccessRefused { .. } | Event::LoginFailed { .. } => {
                Some(C::AccessLog)
            }
            Event::CaseOpened { .. }
            | Event::CaseReopened { .. }
            | Event::DeadlinesSet { .. }
            | Event::CaseClosed { .. }
            | Event::ReassessmentFlagged { .. }
            | Event::ReassessmentStarted { .. }
            | Event::EscalationRaised { .. }
            | Event::CaseHandedOff { .. }
            | Event::AttemptRefused { .. }
            | Event::ContributionAccepted { .. }
            | Event::ContributionDeclined { .. }
            | Event::RelationProposed { .. }
            | Event::CasesMerged { .. }
            | Event::CasesLinked { .. }
            | Event::DisputeRaised { .. }
            | Event::DisputeResolved { .. }
            | Event::PolicyAdopted { .. }
            | Event::NoticeDelivered { .. }
            | Event::NoticeFailed { .. }
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
            | Event::RegistryImported { .. }
            | Event::PartnerMapped { .. }
            // TAXII: a collection's configuration, a pull's cursor, and the
            // objects added to a collection (what was served is kept as
            // long as the ledger: the TAXII documents are folded from
            // these events and know no tombstone).
            | Event::TaxiiCollectionSet { .. }
            | Event::TaxiiObjectsAdded { .. }
            | Event::TaxiiPullCursorSet { .. }
            // Records management itself: the schedules, the holds and the
            // tombstones are the evidence of what was done to the records,
            // kept as long as the ledger.
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
            | Event::RedactionApproved { .. } => None,
            // A placeholder: what it stands for was disposed of already.
            Event::DisposedRecord { .. } => None,
        }
    }

    /// One line for a timeline.
    pub fn summary(&self) -> String {
        match self {
            Event::CaseOpened {
                title,
                owner,
                lead_element,
                ..
            } => {
                format!("case opened: \"{title}\"; owner {owner}, lead element {lead_element}")
            }
            Event::ReportAttached {
                report,
                independence,
                ..
            } => {
                let ind = match independence {
                    Independence::Independent => "independent source".to_owned(),
                    Independence::Derived {
                        basis: DerivationBasis::Declared,
                        ..
                    } => "derived report (declared), counts once".to_owned(),
                    Independence::Derived {
                        basis: DerivationBasis::SimilarText { similarity_percent },
                        ..
                    } => {
                        format!("derived report ({similarity_percent}% same text), counts once")
                    }
                    Independence::Derived { basis, .. } => {
                        format!("derived report ({}), counts once", basis.describe())
                    }
                };
                format!(
                    "report from {} received {} graded {}: {}",
                    report.originating_element, report.received_at, report.grading.grade, ind
                )
            }
            Event::CaseReopened { reason } => format!("case reopened: {reason}"),
            Event::AssessmentRecorded { assessment } => {
                format!("assessment recorded: {}", assessment.reason)
            }
            Event::DeadlinesSet {
                deadlines,
                follow_up_by,
                warning,
            } => {
                let mut s = format!(
                    "deadlines: decide by {}, approve by {}, deliver by {}",
                    deadlines.decide_by, deadlines.approve_by, deadlines.deliver_by
                );
                if let Some(f) = follow_up_by {
                    s.push_str(&format!(", follow up {}by {f}", w_of(warning)));
                }
                s
            }
            Event::DeterminationMade { determination, .. } => {
                format!(
                    "determination: {} under {}",
                    determination.verdict, determination.policy
                )
            }
            Event::WaiverRequested { ground, reason, .. } => {
                format!("waiver requested on {ground}: {reason}")
            }
            Event::WaiverApproved {
                reason, review_by, ..
            } => {
                format!("waiver approved (review by {review_by}): {reason}")
            }
            Event::WaiverRejected { reason, .. } => format!("waiver rejected: {reason}"),
            Event::RouteChosen {
                route,
                alternatives,
                warning,
                optional,
                ..
            } => format!(
                "{}route chosen: {} ({} alternative(s) recorded){}",
                w_prefix(warning),
                route.describe(),
                alternatives.len(),
                if *optional {
                    "; not required by the policy"
                } else {
                    ""
                }
            ),
            Event::WarningDrafted {
                version,
                sha256,
                withheld,
                warning,
                ..
            } => format!(
                "{}warning v{version} drafted (sha256 {}…), withheld: {}",
                w_prefix(warning),
                &sha256[..12.min(sha256.len())],
                withheld
                    .iter()
                    .map(|w| w.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Event::WarningApproved {
                version,
                sha256,
                warning,
            } => {
                format!(
                    "{}warning v{version} approved (sha256 {}…)",
                    w_prefix(warning),
                    &sha256[..12.min(sha256.len())]
                )
            }
            Event::DeliveryRecorded {
                delivery: d,
                warning,
            } => format!(
                "{}hop {} {}: {} → {} ({}, {}) at {}",
                w_prefix(warning),
                d.hop,
                d.status.as_str(),
                d.sender,
                d.receiver,
                d.channel.as_str(),
                d.medium.as_str(),
                d.time_zone.local(d.at)
            ),
            Event::ResponseRecorded { response, warning } => format!(
                "{}response: {} at {}",
                w_prefix(warning),
                response.kind.as_str(),
                response.at
            ),
            Event::PublicAdvisoryDecided { advisory } => match advisory.issued_at {
                Some(at) => format!("public advisory issued at {at}: {}", advisory.reason),
                None => format!("public advisory not issued: {}", advisory.reason),
            },
            Event::OutcomeRecorded { outcome, .. } => {
                format!("outcome: {}", outcome.outcome.as_str())
            }
            Event::CaseClosed { grounds } => format!("case closed: {grounds}"),
            Event::DeterminationConfirmed { reason } => {
                format!("determination confirmed by a second person: {reason}")
            }
            Event::ReassessmentFlagged { reason, detail } => {
                format!("flagged for re-assessment ({}): {detail}", reason.as_str())
            }
            Event::ReassessmentStarted { reason } => format!("re-assessment started: {reason}"),
            Event::IndependenceMarked {
                report_id,
                independence: Independence::Independent,
                reason,
            } => format!("report {report_id} marked an independent source: {reason}"),
            Event::IndependenceMarked {
                report_id,
                independence: Independence::Derived { of, .. },
                reason,
            } => format!("report {report_id} marked derived from report {of}: {reason}"),
            Event::EscalationRaised { step, due } => {
                format!("escalation: {} was due {due}", step.as_str())
            }
            Event::CaseHandedOff {
                owner,
                lead_element,
                reason,
            } => {
                format!("handed off to {owner} ({lead_element}): {reason}")
            }
            Event::AttemptRefused { action, reason } => {
                format!("refused {}: {reason}", action.as_str())
            }
            Event::ScreeningRecorded { screening } => crate::screening::summary(screening),
            Event::WatchListFlagRaised { flag } => crate::screening::flag_summary(flag),
            Event::ContributionSubmitted { .. }
            | Event::ContributionAccepted { .. }
            | Event::ContributionDeclined { .. }
            | Event::RelationProposed { .. }
            | Event::CasesMerged { .. }
            | Event::CasesLinked { .. }
            | Event::DisputeRaised { .. }
            | Event::DisputeResolved { .. } => crate::elements::summary(self),
            Event::PolicyAdopted { policy, .. } => format!("policy adopted: {policy}"),
            Event::NoticeDelivered {
                step,
                target,
                attempts,
                ..
            } => format!(
                "escalation notice ({}) delivered to {target} after {attempts} attempt(s)",
                step.as_str()
            ),
            Event::NoticeFailed {
                step,
                target,
                attempts,
                error,
                ..
            } => format!(
                "escalation notice ({}) to {target} FAILED after {attempts} attempt(s): {error}",
                step.as_str()
            ),
            Event::RelationsReplaced { relations } => format!(
                "relations of {} replaced ({} states listed)",
                relations.our_state(),
                relations.listed().count()
            ),
            Event::DirectoryReplaced { directory } => format!(
                "recipients directory replaced ({} entries)",
                directory.entries().len()
            ),
            Event::NoticeTargetSet { target } => {
                format!("notice target {} set", target.name)
            }
            Event::NoticeTargetRemoved { name } => {
                format!("notice target {name} removed")
            }
            Event::ElementRegistered { element, .. } => format!("element registered: {element}"),
            Event::AccountCreated { name, spec } => format!(
                "account {name} created: roles {}, clearance {}",
                roles_list(&spec.roles),
                spec.clearance
            ),
            Event::AccountChanged { name, spec } => format!(
                "account {name} changed: roles {}, clearance {}",
                roles_list(&spec.roles),
                spec.clearance
            ),
            Event::AccountDisabled { name, reason } => {
                format!("account {name} disabled: {reason}")
            }
            Event::AccountEnabled { name } => format!("account {name} enabled"),
            Event::PasswordChanged {
                name,
                one_time_until: None,
            } => format!("password of {name} changed"),
            Event::PasswordChanged {
                name,
                one_time_until: Some(until),
            } => format!("one-time enrolment secret of {name} set, good until {until}"),
            Event::TokenIssued { token } => format!(
                "token {} issued to {} ({}), expires {}",
                token.token_id, token.account, token.label, token.expires_at
            ),
            Event::TokenRevoked { token_id, account } => {
                format!("token {token_id} of {account} revoked")
            }
            Event::ClearanceLevelsSet { levels } => format!(
                "clearance levels set: {}",
                levels
                    .levels()
                    .iter()
                    .map(|l| l.as_str())
                    .collect::<Vec<_>>()
                    .join(" < ")
            ),
            Event::ContentRead { case_id, parts } => {
                format!("read {} of case {case_id}", parts.join(", "))
            }
            Event::AccessRefused {
                action,
                target,
                reason,
            } => match target {
                Some(t) => format!("refused {action} on {t}: {reason}"),
                None => format!("refused {action}: {reason}"),
            },
            Event::LoginFailed { account, address } => match address {
                Some(a) => format!("failed login as '{account}' from {a}"),
                None => format!("failed login as '{account}'"),
            },
            Event::RegistryImported {
                registry,
                entries,
                names,
                ..
            } => format!("registry {registry} imported: {entries} entries, {names} names"),
            Event::PartnerMapped { partner } => format!(
                "partner {} mapped to element {}{}",
                partner.identity,
                partner.element,
                partner
                    .classification
                    .as_ref()
                    .map(|l| format!(" at {l}"))
                    .unwrap_or_default()
            ),
            Event::StixReportReceived { receipt_id, report } => format!(
                "STIX report {} received as receipt {receipt_id}: needs {}",
                report.stix_id,
                report.missing.join(", ")
            ),
            Event::StixReportAssessed {
                receipt_id,
                case_id,
                ..
            } => format!("receipt {receipt_id} assessed into case {case_id}"),
            Event::TaxiiCollectionSet { collection } => format!(
                "TAXII collection {} set: \"{}\"",
                collection.id, collection.title
            ),
            Event::TaxiiObjectsAdded { addition } => format!(
                "{} objects added to TAXII collection {}",
                addition.objects.len(),
                addition.collection
            ),
            Event::TaxiiPullCursorSet { cursor } => format!(
                "pull of TAXII collection {} from {} got this far",
                cursor.collection, cursor.server
            ),
            Event::RetentionSchedulesAdopted { sha256, origin, .. } => format!(
                "retention schedules adopted from {origin} (sha256 {}…)",
                &sha256[..12.min(sha256.len())]
            ),
            Event::ExemptionsAdopted { sha256, origin, .. } => format!(
                "exemption codes adopted from {origin} (sha256 {}…)",
                &sha256[..12.min(sha256.len())]
            ),
            Event::HoldRequested {
                hold_id, reason, ..
            } => format!("legal hold {hold_id} requested: {reason}"),
            Event::HoldPlaced { hold_id } => format!("legal hold {hold_id} placed"),
            Event::HoldDeclined { hold_id, reason } => {
                format!("legal hold {hold_id}: request declined: {reason}")
            }
            Event::HoldReleaseRequested { hold_id, reason } => {
                format!("legal hold {hold_id}: release requested: {reason}")
            }
            Event::HoldReleased { hold_id } => format!("legal hold {hold_id} released"),
            Event::RecordDisposed {
                position,
                kind,
                class,
                schedule,
                approved_by,
                ..
            } => format!(
                "record at position {position} ({kind}, {class}) disposed of under the {} schedule ({}), approved by {approved_by}",
                schedule.class, schedule.authority
            ),
            Event::RecordsExported {
                export_id,
                cases,
                release,
                ..
            } => format!(
                "{} {export_id} of the records of {} case(s) recorded",
                if *release {
                    "release copy"
                } else {
                    "oversight export"
                },
                cases.len()
            ),
            Event::RedactionRequested {
                redaction_id,
                position,
                field,
                exemption,
                ..
            } => format!(
                "redaction {redaction_id} of {field} at position {position} requested under {exemption}"
            ),
            Event::RedactionApproved { redaction_id } => {
                format!("redaction {redaction_id} approved")
            }
            Event::DisposedRecord {
                kind,
                schedule,
                tombstone,
                ..
            } => format!(
                "{kind}: disposed of under the {} retention schedule ({}); see the tombstone at position {tombstone}",
                schedule.class, schedule.authority
            ),
        }
    }
}

/// "W2: " before what an event says about warning 2; nothing for warning 1
/// (so a case with one warning reads as it always did).
fn w_prefix(n: &WarningNumber) -> String {
    if n.is_first() {
        String::new()
    } else {
        format!("{n}: ")
    }
}

/// "of W2 " in the follow-up of warning 2; nothing for warning 1.
fn w_of(n: &WarningNumber) -> String {
    if n.is_first() {
        String::new()
    } else {
        format!("of {n} ")
    }
}

fn roles_list(roles: &BTreeSet<crate::actor::Role>) -> String {
    roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// An event as stored: its place in its stream, when and by whom.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecordedEvent {
    /// 1-based position within the stream (the case).
    pub seq: u64,
    pub recorded_at: Timestamp,
    pub actor: ActorName,
    pub event: Event,
}
