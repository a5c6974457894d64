//! Cases across elements (DOMAIN.md §8): what another element contributes
//! to a case it may not see, two cases merged or linked by the lead
//! elements of both, and disputes between elements escalated to an
//! arbiter. The decisions ([`submit`], [`accept`], [`merge`],
//! [`raise_dispute`]...) and the fold ([`apply`]) of their events; the
//! service decides who may ask for them.
//!
//! What must stay true:
//! * a contribution never shares the case with the contributor's element:
//!   an accepted one attaches its report (independence checked as any
//!   report's) without adding the element to `shared_with`;
//! * a merge never dodges a duty: a case that ever found a duty to warn is
//!   absorbed only into one that did too, and one with open disputes or
//!   pending contributions is not absorbed at all;
//! * an open dispute about a waiver keeps the case from closing on that
//!   waiver ([`waiver_disputed`], read by `Case::closure_grounds`).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::case::{Case, CaseError, Command, Ctx, Recorded};
use crate::event::{ClosureGrounds, Event, Step};
use crate::ids::{CaseId, CaseRef, ContributionId, DisputeId, ReportId, WaiverId};
use crate::report::ThreatReport;
use crate::text::{ActorName, ElementName, Reason};
use crate::time::Timestamp;

/// Where a contribution stands. The contributor learns this and nothing
/// else about the case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContributionStatus {
    Pending,
    Accepted,
    Declined,
}

impl ContributionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Accepted => "accepted",
            Self::Declined => "declined",
        }
    }
}

/// A report another element submitted to this case.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Contribution {
    pub id: ContributionId,
    pub report: ThreatReport,
    pub submitted_by: ActorName,
    pub submitted_at: Timestamp,
    pub status: ContributionStatus,
    /// The report it became, once accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_id: Option<ReportId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<ActorName>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<Timestamp>,
    /// Why it was declined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
}

/// A relation between two cases one lead element proposes and the other
/// confirms. The other case is named as the proposer named it (they may
/// not see it, so it is recorded as typed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Relation {
    /// `absorbed` is merged into `into`: its reports move to `into`, and it
    /// closes.
    Merge { absorbed: CaseRef, into: CaseRef },
    /// The two cases are about one threat and stay apart.
    Link { with: CaseRef },
}

impl Relation {
    pub fn describe(&self) -> String {
        match self {
            Self::Merge { absorbed, into } => format!("merge {absorbed} into {into}"),
            Self::Link { with } => format!("link with {with}"),
        }
    }
}

/// How this case is related to another.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RelatedAs {
    /// The other case was merged into this one.
    MergedFrom,
    /// This case was merged into the other.
    MergedInto,
    /// Linked: the same threat, kept apart.
    LinkedWith,
}

/// A case this one is related to.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Related {
    pub case_id: CaseId,
    #[serde(rename = "as")]
    pub related_as: RelatedAs,
    pub by: ActorName,
    pub at: Timestamp,
}

/// What elements disagree about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DisputeSubject {
    /// Whether to warn.
    Warn,
    /// Whom to warn (the recipient, the route).
    Recipient,
    /// A waiver of the duty.
    Waiver { waiver_id: WaiverId },
}

impl DisputeSubject {
    pub fn describe(&self) -> String {
        match self {
            Self::Warn => "whether to warn".into(),
            Self::Recipient => "whom to warn".into(),
            Self::Waiver { waiver_id } => format!("waiver {waiver_id}"),
        }
    }
}

/// A disagreement between elements about a case, for an arbiter.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Dispute {
    pub id: DisputeId,
    pub subject: DisputeSubject,
    pub statement: Reason,
    pub raised_by: ActorName,
    pub raised_at: Timestamp,
    /// When an arbiter should have resolved it (the policy's
    /// `arbitrate_within` after it was raised); overdue, it is escalated.
    pub due: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<Recorded<Reason>>,
}

impl Dispute {
    pub fn is_open(&self) -> bool {
        self.resolution.is_none()
    }
}

/// A proposal of a relation, waiting for the other lead element.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Proposal {
    pub relation: Relation,
    pub by: ActorName,
    pub at: Timestamp,
}

/// Everything about a case that involves other elements.
#[derive(Clone, Debug, PartialEq, Default, Serialize, schemars::JsonSchema)]
pub struct AcrossElements {
    pub contributions: Vec<Contribution>,
    pub proposals: Vec<Proposal>,
    pub related: Vec<Related>,
    pub disputes: Vec<Dispute>,
    /// Reports attached from accepted contributions: they do not share the
    /// case with the element that sent them.
    #[serde(skip)]
    unshared: BTreeSet<ReportId>,
}

impl AcrossElements {
    /// Whether attaching report `id` leaves the case's elements as they are
    /// (a contribution's report).
    pub fn keeps_unshared(&self, id: ReportId) -> bool {
        self.unshared.contains(&id)
    }

    pub fn contribution(&self, id: ContributionId) -> Option<&Contribution> {
        self.contributions.iter().find(|c| c.id == id)
    }

    pub fn pending(&self) -> impl Iterator<Item = &Contribution> {
        self.contributions
            .iter()
            .filter(|c| c.status == ContributionStatus::Pending)
    }

    pub fn open_disputes(&self) -> impl Iterator<Item = &Dispute> {
        self.disputes.iter().filter(|d| d.is_open())
    }

    /// The case this one was merged into, if it was.
    pub fn merged_into(&self) -> Option<CaseId> {
        self.related
            .iter()
            .find(|r| r.related_as == RelatedAs::MergedInto)
            .map(|r| r.case_id)
    }
}

/// A request about another element's work that the case's state refuses.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ElementsError {
    #[error("there is no contribution {0} on this case")]
    UnknownContribution(ContributionId),
    #[error("contribution {0} is already {1}")]
    AlreadyDecided(ContributionId, &'static str),
    #[error("contribution id {0} is already used on this case")]
    DuplicateContribution(ContributionId),
    #[error("the case is closed")]
    Closed,
    #[error("a case cannot be merged or linked with itself")]
    SameCase,
    #[error(
        "report {0} is not yet in the surviving case (a report arrived during the merge): run the merge again"
    )]
    NotMoved(ReportId),
    #[error(
        "case {absorbed} found a duty to warn and case {into} never did: merge the other way, so the surviving case holds the duty"
    )]
    DutyNotCarried { absorbed: CaseId, into: CaseId },
    #[error(
        "case {0} has open disputes or pending contributions: resolve or decide them before it is absorbed"
    )]
    Unsettled(CaseId),
    #[error("there is no dispute {0} on this case")]
    UnknownDispute(DisputeId),
    #[error("dispute {0} is already resolved")]
    AlreadyResolved(DisputeId),
    #[error("there is no waiver {0} on this case to dispute")]
    UnknownWaiver(WaiverId),
    #[error("the events do not fold: {0}")]
    DoesNotFold(String),
    #[error(transparent)]
    Case(#[from] CaseError),
}

/// Folds an event of this module into `case`.
pub(crate) fn apply(
    case: &mut Case,
    event: &Event,
    at: Timestamp,
    by: ActorName,
) -> Result<(), String> {
    let across = &mut case.across;
    match event {
        Event::ContributionSubmitted {
            contribution_id,
            report,
        } => {
            if across.contribution(*contribution_id).is_some() {
                return Err(format!("contribution {contribution_id} is already here"));
            }
            across.contributions.push(Contribution {
                id: *contribution_id,
                report: (**report).clone(),
                submitted_by: by,
                submitted_at: at,
                status: ContributionStatus::Pending,
                report_id: None,
                decided_by: None,
                decided_at: None,
                reason: None,
            });
        }
        Event::ContributionAccepted {
            contribution_id,
            report_id,
        } => {
            let c = pending_mut(across, *contribution_id)?;
            c.status = ContributionStatus::Accepted;
            c.report_id = Some(*report_id);
            c.decided_by = Some(by);
            c.decided_at = Some(at);
            across.unshared.insert(*report_id);
        }
        Event::ContributionDeclined {
            contribution_id,
            reason,
        } => {
            let c = pending_mut(across, *contribution_id)?;
            c.status = ContributionStatus::Declined;
            c.reason = Some(reason.clone());
            c.decided_by = Some(by);
            c.decided_at = Some(at);
        }
        Event::RelationProposed { relation } => across.proposals.push(Proposal {
            relation: relation.clone(),
            by,
            at,
        }),
        Event::CasesMerged {
            absorbed,
            into,
            shared_with,
            unshared,
        } => {
            let (other, related_as) = if case.id == *into {
                case.shared_with.extend(shared_with.iter().cloned());
                case.across.unshared.extend(unshared.iter().copied());
                (*absorbed, RelatedAs::MergedFrom)
            } else if case.id == *absorbed {
                (*into, RelatedAs::MergedInto)
            } else {
                return Err("a merge of two other cases".into());
            };
            case.across.related.push(Related {
                case_id: other,
                related_as,
                by,
                at,
            });
        }
        Event::CasesLinked { with } => across.related.push(Related {
            case_id: *with,
            related_as: RelatedAs::LinkedWith,
            by,
            at,
        }),
        Event::DisputeRaised {
            dispute_id,
            subject,
            statement,
            due,
        } => across.disputes.push(Dispute {
            id: *dispute_id,
            subject: subject.clone(),
            statement: statement.clone(),
            raised_by: by,
            raised_at: at,
            due: *due,
            resolution: None,
        }),
        Event::DisputeResolved {
            dispute_id,
            resolution,
        } => {
            let d = across
                .disputes
                .iter_mut()
                .find(|d| d.id == *dispute_id && d.is_open())
                .ok_or_else(|| format!("no open dispute {dispute_id}"))?;
            d.resolution = Some(Recorded {
                value: resolution.clone(),
                by,
                at,
            });
        }
        other => return Err(format!("{} is not an event across elements", other.kind())),
    }
    Ok(())
}

fn pending_mut(
    across: &mut AcrossElements,
    id: ContributionId,
) -> Result<&mut Contribution, String> {
    across
        .contributions
        .iter_mut()
        .find(|c| c.id == id && c.status == ContributionStatus::Pending)
        .ok_or_else(|| format!("no pending contribution {id}"))
}

/// A report another element sends to this case. Taken in whatever the
/// case's state (even closed): the contributor must not learn it.
pub fn submit(
    case: &Case,
    contribution_id: ContributionId,
    report: ThreatReport,
) -> Result<Vec<Event>, ElementsError> {
    if case.across.contribution(contribution_id).is_some() {
        return Err(ElementsError::DuplicateContribution(contribution_id));
    }
    Ok(vec![Event::ContributionSubmitted {
        contribution_id,
        report: Box::new(report),
    }])
}

fn pending(case: &Case, id: ContributionId) -> Result<&Contribution, ElementsError> {
    let c = case
        .across
        .contribution(id)
        .ok_or(ElementsError::UnknownContribution(id))?;
    if c.status != ContributionStatus::Pending {
        return Err(ElementsError::AlreadyDecided(id, c.status.as_str()));
    }
    Ok(c)
}

/// Accepts a pending contribution: its report is attached as any report is
/// (independence, window, re-assessment), after the acceptance, so the
/// fold knows not to share the case with the contributor's element.
pub fn accept(
    case: &Case,
    contribution_id: ContributionId,
    report_id: ReportId,
    ctx: Ctx<'_>,
) -> Result<Vec<Event>, ElementsError> {
    let c = pending(case, contribution_id)?;
    let attached = case.handle(
        Command::AttachReport {
            report_id,
            report: Box::new(c.report.clone()),
        },
        ctx,
    )?;
    let mut events = vec![Event::ContributionAccepted {
        contribution_id,
        report_id,
    }];
    events.extend(attached);
    Ok(events)
}

/// Declines a pending contribution, with the reason (for the case's
/// readers and the ledger; the contributor sees only "declined").
pub fn decline(
    case: &Case,
    contribution_id: ContributionId,
    reason: Reason,
) -> Result<Vec<Event>, ElementsError> {
    pending(case, contribution_id)?;
    Ok(vec![Event::ContributionDeclined {
        contribution_id,
        reason,
    }])
}

/// One lead element's half of a merge or a link, recorded on its own case.
pub fn propose(case: &Case, relation: Relation) -> Result<Vec<Event>, ElementsError> {
    if !case.state.is_open() {
        return Err(ElementsError::Closed);
    }
    Ok(vec![Event::RelationProposed { relation }])
}

/// What keeps `absorbed` from being merged into `into` (either way of
/// calling it: nothing here changes once the merge has begun).
fn check_merge(into: &Case, absorbed: &Case) -> Result<(), ElementsError> {
    if into.id == absorbed.id {
        return Err(ElementsError::SameCase);
    }
    if !absorbed.state.is_open() {
        return Err(ElementsError::Closed);
    }
    if absorbed.ever_found_a_duty() && !into.ever_found_a_duty() {
        return Err(ElementsError::DutyNotCarried {
            absorbed: absorbed.id,
            into: into.id,
        });
    }
    if absorbed.across.open_disputes().next().is_some()
        || absorbed.across.pending().next().is_some()
    {
        return Err(ElementsError::Unsettled(absorbed.id));
    }
    Ok(())
}

fn merged_event(into: &Case, absorbed: &Case) -> Event {
    Event::CasesMerged {
        absorbed: absorbed.id,
        into: into.id,
        shared_with: absorbed.shared_with.clone(),
        unshared: absorbed
            .reports
            .iter()
            .map(|r| r.id)
            .filter(|id| absorbed.across.keeps_unshared(*id))
            .collect(),
    }
}

/// The surviving case's half of a merge of `absorbed` into `into`: the
/// merge, then each report of `absorbed` it lacks, attached as any report
/// is (independence checked against all before it). The service appends
/// this half first, so an interrupted merge leaves the reports in both
/// cases, never a case closed with its reports nowhere; run again, it
/// attaches only what is missing.
pub fn merge_into(into: &Case, absorbed: &Case, ctx: Ctx<'_>) -> Result<Vec<Event>, ElementsError> {
    check_merge(into, absorbed)?;
    if !into.state.is_open() {
        return Err(ElementsError::Closed);
    }
    let mut next = into.clone();
    let mut events = Vec::new();
    let begun = into
        .across
        .related
        .iter()
        .any(|r| r.case_id == absorbed.id && r.related_as == RelatedAs::MergedFrom);
    if !begun {
        let merged = merged_event(into, absorbed);
        fold_into(&mut next, std::slice::from_ref(&merged), ctx)?;
        events.push(merged);
    }
    for r in &absorbed.reports {
        if next.reports.iter().any(|e| e.id == r.id) {
            continue;
        }
        let attached = next.handle(
            Command::AttachReport {
                report_id: r.id,
                report: Box::new(r.report.clone()),
            },
            ctx,
        )?;
        fold_into(&mut next, &attached, ctx)?;
        events.extend(attached);
    }
    Ok(events)
}

/// The absorbed case's half, once `into` holds every one of its reports:
/// the merge, and the closure on the grounds that it was merged. The
/// surviving case holds the duty, if there was one ([`check_merge`]).
pub fn close_absorbed(absorbed: &Case, into: &Case) -> Result<Vec<Event>, ElementsError> {
    check_merge(into, absorbed)?;
    if let Some(r) = absorbed
        .reports
        .iter()
        .find(|r| !into.reports.iter().any(|e| e.id == r.id))
    {
        return Err(ElementsError::NotMoved(r.id));
    }
    Ok(vec![
        merged_event(into, absorbed),
        Event::CaseClosed {
            grounds: ClosureGrounds::Merged { into: into.id },
        },
    ])
}

fn fold_into(case: &mut Case, events: &[Event], ctx: Ctx<'_>) -> Result<(), ElementsError> {
    for e in events {
        let recorded = crate::event::RecordedEvent {
            seq: case.version + 1,
            recorded_at: ctx.now,
            actor: ctx.actor.name.clone(),
            event: e.clone(),
        };
        case.apply(&recorded)
            .map_err(|f| ElementsError::DoesNotFold(f.to_string()))?;
    }
    Ok(())
}

/// One side of a link of `case` with `with` (nothing when it is linked
/// already).
pub fn link(case: &Case, with: CaseId) -> Result<Vec<Event>, ElementsError> {
    if case.id == with {
        return Err(ElementsError::SameCase);
    }
    if case
        .across
        .related
        .iter()
        .any(|r| r.case_id == with && r.related_as == RelatedAs::LinkedWith)
    {
        return Ok(Vec::new());
    }
    Ok(vec![Event::CasesLinked { with }])
}

/// A dispute raised on a case, due for an arbiter at `due`.
pub fn raise_dispute(
    case: &Case,
    dispute_id: DisputeId,
    subject: DisputeSubject,
    statement: Reason,
    due: Timestamp,
) -> Result<Vec<Event>, ElementsError> {
    if !case.state.is_open() {
        return Err(ElementsError::Closed);
    }
    if let DisputeSubject::Waiver { waiver_id } = &subject
        && !case.waivers.iter().any(|w| w.id == *waiver_id)
    {
        return Err(ElementsError::UnknownWaiver(*waiver_id));
    }
    Ok(vec![Event::DisputeRaised {
        dispute_id,
        subject,
        statement,
        due,
    }])
}

/// An arbiter's resolution of an open dispute. A case whose outcome is
/// recorded and which waited only on this dispute closes with it.
pub fn resolve_dispute(
    case: &Case,
    dispute_id: DisputeId,
    resolution: Reason,
    ctx: Ctx<'_>,
) -> Result<Vec<Event>, ElementsError> {
    let d = case
        .across
        .disputes
        .iter()
        .find(|d| d.id == dispute_id)
        .ok_or(ElementsError::UnknownDispute(dispute_id))?;
    if !d.is_open() {
        return Err(ElementsError::AlreadyResolved(dispute_id));
    }
    let mut events = vec![Event::DisputeResolved {
        dispute_id,
        resolution,
    }];
    if case.state.is_open() {
        let mut next = case.clone();
        fold_into(&mut next, &events, ctx)?;
        if next.outcome.is_some()
            && let Some(grounds) = next.closure_grounds(ctx.policy)
        {
            events.push(Event::CaseClosed { grounds });
        }
    }
    Ok(events)
}

/// Whether an open dispute is about waiver `id` (the case does not close
/// on it meanwhile).
pub fn waiver_disputed(case: &Case, id: WaiverId) -> bool {
    case.across
        .open_disputes()
        .any(|d| d.subject == DisputeSubject::Waiver { waiver_id: id })
}

/// The open disputes past their due time, as overdue steps.
pub(crate) fn overdue(case: &Case, now: Timestamp) -> Vec<(Step, Timestamp)> {
    let mut out: Vec<(Step, Timestamp)> = case
        .across
        .open_disputes()
        .filter(|d| now > d.due)
        .map(|d| (Step::Arbitrate, d.due))
        .collect();
    out.dedup();
    out
}

/// When the clock must look at the open disputes not yet escalated.
pub(crate) fn sweep_times(case: &Case) -> impl Iterator<Item = Timestamp> + '_ {
    case.across
        .open_disputes()
        .filter(|d| {
            !case
                .escalations
                .iter()
                .any(|e| e.step == Step::Arbitrate && e.due == d.due)
        })
        .map(|d| d.due)
}

/// One line for a timeline.
pub(crate) fn summary(event: &Event) -> String {
    match event {
        Event::ContributionSubmitted {
            contribution_id,
            report,
        } => format!(
            "contribution {contribution_id} from {} pending",
            report.originating_element
        ),
        Event::ContributionAccepted {
            contribution_id,
            report_id,
        } => format!("contribution {contribution_id} accepted as report {report_id}"),
        Event::ContributionDeclined {
            contribution_id,
            reason,
        } => format!("contribution {contribution_id} declined: {reason}"),
        Event::RelationProposed { relation } => format!("proposed: {}", relation.describe()),
        Event::CasesMerged { absorbed, into, .. } => {
            format!("case {absorbed} merged into case {into}")
        }
        Event::CasesLinked { with } => format!("linked with case {with}"),
        Event::DisputeRaised {
            subject,
            statement,
            due,
            ..
        } => format!(
            "dispute about {} raised (arbiter due {due}): {statement}",
            subject.describe()
        ),
        Event::DisputeResolved {
            dispute_id,
            resolution,
        } => format!("dispute {dispute_id} resolved: {resolution}"),
        other => other.kind().to_owned(),
    }
}

/// The elements whose members may raise a dispute on the case: those it
/// is shared with.
pub fn may_dispute(case: &Case, elements: &BTreeSet<ElementName>) -> bool {
    case.shared_with.iter().any(|e| elements.contains(e))
}
