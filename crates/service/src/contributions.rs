//! Contributions: a collector of another element submits a report to a
//! case it may not see (it knows the case's number from outside tocsin);
//! the case's lead element accepts it (the report is attached, its
//! independence checked as any report's) or declines it, with a reason.
//!
//! What the contributor learns is the status, and nothing else: a
//! contribution to a case that does not exist, to one whose existence is
//! restricted, to one it may not read or to one it may read are all
//! answered `pending` with a new contribution id. One to a case that does
//! not exist is recorded as a refusal on the access stream (the report is
//! kept nowhere) and stays `pending` for ever; asking for the status of a
//! contribution the case does not hold (or that another account sent)
//! answers `pending` too, so the status never tells a missing case from a
//! hidden one. An accepted contribution does not share the case with the
//! contributor's element.
//!
//! The lead element's readers see pending contributions on the case; one
//! marked beyond what a reader is cleared for is left out of the case and
//! its list for that reader, and its events are refused to them (the
//! `contribution_submitted` event carries the report).

use serde::{Deserialize, Serialize};
use tocsin_domain::access::{ClearanceLevels, Permission};
use tocsin_domain::case::{Case, Ctx};
use tocsin_domain::elements::{self, Contribution, ContributionStatus, ElementsError};
use tocsin_domain::event::Event;
use tocsin_domain::report::Handling;
use tocsin_domain::text::Reason;
use tocsin_domain::{CaseRef, ContributionId, ReportId, ThreatReport, Timestamp};

use crate::access::{Principal, Visible};
use crate::command::{Decision, Executed};
use crate::intake::marked;
use crate::{Service, ServiceError, new_uuid};

/// What the contributor is told: the contribution's id and where it
/// stands. Nothing about the case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ContributionReceipt {
    pub contribution_id: ContributionId,
    pub status: ContributionStatus,
}

/// A domain refusal as the service answers it.
pub(crate) fn refused(e: ElementsError) -> ServiceError {
    match e {
        ElementsError::Case(c) => ServiceError::Refused(c),
        ElementsError::UnknownContribution(_) | ElementsError::UnknownDispute(_) => {
            ServiceError::NotFound(e.to_string())
        }
        other => ServiceError::WrongState(other.to_string()),
    }
}

/// Whether `p`'s clearance and compartments admit a report marked `h`
/// (elements are the case's business, not the report's).
pub(crate) fn cleared_for(p: &Principal, levels: &ClearanceLevels, h: &Handling) -> bool {
    let spec = &p.account().spec;
    h.classification
        .as_ref()
        .is_none_or(|l| levels.at_or_below(&spec.clearance).contains(l))
        && h.compartments.is_subset(&spec.compartments)
}

impl Service {
    /// Submits `report` to the case `reference` names, which the caller
    /// need not see. Always answers `pending` (see the module's docs).
    pub async fn submit_contribution(
        &self,
        p: &Principal,
        reference: CaseRef,
        report: ThreatReport,
    ) -> Result<ContributionReceipt, ServiceError> {
        const ACTION: &str = "submit_contribution";
        self.authorize(p, Permission::SubmitReport, ACTION).await?;
        if !p
            .account()
            .spec
            .elements
            .contains(&report.originating_element)
        {
            return Err(ServiceError::invalid(
                "originating_element",
                format_args!(
                    "{} does not belong to {}",
                    p.name(),
                    report.originating_element
                ),
            ));
        }
        let levels = self.clearance_levels().await?;
        self.check_marking(p, &levels, &report.handling)?;
        let contribution_id = ContributionId::from_uuid(new_uuid());
        let receipt = ContributionReceipt {
            contribution_id,
            status: ContributionStatus::Pending,
        };
        let id = match reference {
            CaseRef::Id(id) => Some(id),
            CaseRef::Number(n) => self.store.case_by_number(n).await?,
        };
        let recorded = match id {
            Some(id) => match self
                .on_case(id, p.name(), |case, _| {
                    let events =
                        elements::submit(case, contribution_id, report.clone()).map_err(refused)?;
                    Ok(Decision::Append {
                        events,
                        docs: Vec::new(),
                    })
                })
                .await
            {
                Ok(_) => true,
                Err(ServiceError::CaseNotFound(_)) => false,
                Err(e) => return Err(e),
            },
            None => false,
        };
        if !recorded {
            self.refuse(
                p,
                ACTION,
                Some(format!("case/{reference}")),
                &format!("no such case (contribution {contribution_id} answered pending)"),
            )
            .await;
        }
        Ok(receipt)
    }

    /// Where the caller's contribution stands: `pending` for anything the
    /// case does not hold from the caller (see the module's docs).
    pub async fn contribution_status(
        &self,
        p: &Principal,
        reference: CaseRef,
        contribution_id: ContributionId,
    ) -> Result<ContributionReceipt, ServiceError> {
        self.authorize(p, Permission::SubmitReport, "contribution_status")
            .await?;
        let id = match reference {
            CaseRef::Id(id) => Some(id),
            CaseRef::Number(n) => self.store.case_by_number(n).await?,
        };
        let case = match id {
            Some(id) => match self.load(id).await {
                Ok(c) => Some(c),
                Err(ServiceError::CaseNotFound(_)) => None,
                Err(e) => return Err(e),
            },
            None => None,
        };
        let status = case
            .as_ref()
            .and_then(|c| c.across.contribution(contribution_id))
            .filter(|c| &c.submitted_by == p.name())
            .map(|c| c.status)
            .unwrap_or(ContributionStatus::Pending);
        Ok(ContributionReceipt {
            contribution_id,
            status,
        })
    }

    /// The contributions of a case its reader is cleared for (the read is
    /// recorded).
    pub async fn contributions(
        &self,
        p: &Principal,
        case: &Visible<Case>,
    ) -> Result<Vec<Contribution>, ServiceError> {
        let levels = self.clearance_levels().await?;
        self.record_read(p, case.id, vec!["contributions".into()])
            .await?;
        Ok(case
            .across
            .contributions
            .iter()
            .filter(|c| cleared_for(p, &levels, &c.report.handling))
            .cloned()
            .collect())
    }

    /// Whether `p` is cleared for every contribution of `case` (else the
    /// case's events, which carry them, are refused).
    pub(crate) async fn check_contributions_readable(
        &self,
        p: &Principal,
        case: &Case,
        action: &str,
    ) -> Result<(), ServiceError> {
        let levels = self.clearance_levels().await?;
        if case
            .across
            .contributions
            .iter()
            .all(|c| cleared_for(p, &levels, &c.report.handling))
        {
            return Ok(());
        }
        let reason = "the case holds a contribution marked beyond your clearance or compartments: read the case itself (GET /api/v1/cases/{case_id}), not its events";
        self.refuse(p, action, Some(format!("case/{}", case.id)), reason)
            .await;
        Err(ServiceError::Forbidden(reason.into()))
    }

    /// The caller must be of the case's lead element (the refusal is
    /// recorded).
    pub(crate) async fn check_lead(
        &self,
        p: &Principal,
        case: &Case,
        action: &str,
    ) -> Result<(), ServiceError> {
        if p.account().spec.elements.contains(&case.lead_element) {
            return Ok(());
        }
        let reason = format!(
            "{} is not of the case's lead element {}",
            p.name(),
            case.lead_element
        );
        self.refuse(p, action, Some(format!("case/{}", case.id)), &reason)
            .await;
        Err(ServiceError::Forbidden(reason))
    }

    /// Accepts a pending contribution: its report is attached to the case.
    /// By an analyst of the lead element, cleared for the report; the
    /// report may not hide the case from its owner.
    pub async fn accept_contribution(
        &self,
        p: &Principal,
        case: &Visible<Case>,
        contribution_id: ContributionId,
    ) -> Result<Executed, ServiceError> {
        const ACTION: &str = "accept_contribution";
        self.authorize(p, Permission::Analyse, ACTION).await?;
        self.check_lead(p, case, ACTION).await?;
        let c = case
            .across
            .contribution(contribution_id)
            .ok_or_else(|| refused(ElementsError::UnknownContribution(contribution_id)))?;
        let levels = self.clearance_levels().await?;
        if !cleared_for(p, &levels, &c.report.handling) {
            return Err(ServiceError::Forbidden(format!(
                "{} is not cleared for contribution {contribution_id}'s marking",
                p.name()
            )));
        }
        let before = case.marking();
        let after = marked(before.clone(), &c.report.handling);
        self.keeps_owner(&levels, &case.owner, Some(&before), &after)
            .await?;
        let report_id = ReportId::from_uuid(new_uuid());
        let screening = self.screening_events(report_id, &c.report).await?;
        self.on_visible_case(p, case, ACTION, |case, ctx| {
            let mut events = elements::accept(case, contribution_id, report_id, ctx)?;
            events.extend(screening.iter().cloned());
            Ok(events)
        })
        .await
    }

    /// Declines a pending contribution, with the reason.
    pub async fn decline_contribution(
        &self,
        p: &Principal,
        case: &Visible<Case>,
        contribution_id: ContributionId,
        reason: Reason,
    ) -> Result<Executed, ServiceError> {
        const ACTION: &str = "decline_contribution";
        self.authorize(p, Permission::Analyse, ACTION).await?;
        self.check_lead(p, case, ACTION).await?;
        self.on_visible_case(p, case, ACTION, |case, _| {
            elements::decline(case, contribution_id, reason.clone())
        })
        .await
    }

    /// Load → decide → append on a case the caller was found to see, as
    /// the caller; the caller's access is checked again on the state read.
    pub(crate) async fn on_visible_case(
        &self,
        p: &Principal,
        case: &Visible<Case>,
        action: &str,
        decide: impl Fn(&Case, Ctx<'_>) -> Result<Vec<Event>, ElementsError>,
    ) -> Result<Executed, ServiceError> {
        let levels = self.clearance_levels().await?;
        let actor = p.actor();
        let mut unseen: Option<Case> = None;
        let done = self
            .on_case(case.id, p.name(), |c, now: Timestamp| {
                if !Service::sees(p, c, &levels) {
                    unseen = Some(c.clone());
                    return Ok(Decision::Nothing);
                }
                let ctx = Ctx {
                    actor: &actor,
                    now,
                    policy: &self.policy,
                    report_formats: &[],
                };
                Ok(Decision::Append {
                    events: decide(c, ctx).map_err(refused)?,
                    docs: Vec::new(),
                })
            })
            .await?;
        if let Some(c) = unseen {
            self.check_visible(p, &c, &levels, action).await?;
        }
        done.ok_or_else(|| ServiceError::Contention(format!("case {}", case.id)))
    }
}
