//! Disputes between elements about a case (whether to warn, whom, a
//! waiver): raised by a member of an element the case is shared with, due
//! for an arbiter within the policy's `arbitrate_within`, resolved by an
//! arbiter (the `arbiter` role, which no other role implies) with a
//! reason. Overdue, a dispute is escalated by the sweep as the `arbitrate`
//! step, with the notices every escalation gets. While a dispute about a
//! waiver is open, the case does not close on that waiver.

use serde::{Deserialize, Serialize};
use tocsin_domain::access::Permission;
use tocsin_domain::case::Case;
use tocsin_domain::elements::{self, Dispute, DisputeSubject};
use tocsin_domain::text::Reason;
use tocsin_domain::time::add;
use tocsin_domain::{CaseId, CaseNumber, DisputeId};

use crate::access::{Principal, Visible};
use crate::command::Executed;
use crate::{Service, ServiceError, new_uuid};

/// An open dispute and its case, for an arbiter's list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OpenDispute {
    pub case_id: CaseId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<CaseNumber>,
    pub dispute_id: DisputeId,
    pub subject: DisputeSubject,
    pub statement: Reason,
    pub raised_by: tocsin_domain::ActorName,
    pub raised_at: tocsin_domain::Timestamp,
    pub due: tocsin_domain::Timestamp,
}

impl OpenDispute {
    fn of(case: &Case, number: Option<CaseNumber>, d: &Dispute) -> Self {
        Self {
            case_id: case.id,
            number,
            dispute_id: d.id,
            subject: d.subject.clone(),
            statement: d.statement.clone(),
            raised_by: d.raised_by.clone(),
            raised_at: d.raised_at,
            due: d.due,
        }
    }
}

impl Service {
    /// Raises a dispute on a case the caller sees, as a member of one of
    /// the elements it is shared with.
    pub async fn raise_dispute(
        &self,
        p: &Principal,
        case: &Visible<Case>,
        subject: DisputeSubject,
        statement: Reason,
    ) -> Result<(Executed, DisputeId), ServiceError> {
        const ACTION: &str = "raise_dispute";
        if !elements::may_dispute(case, &p.account().spec.elements) {
            let reason = format!("{} belongs to no element the case is shared with", p.name());
            self.refuse(p, ACTION, Some(format!("case/{}", case.id)), &reason)
                .await;
            return Err(ServiceError::Forbidden(reason));
        }
        let dispute_id = DisputeId::from_uuid(new_uuid());
        let within = self.policy.deadlines.arbitrate_within.signed();
        let done = self
            .on_visible_case(p, case, ACTION, |c, ctx| {
                elements::raise_dispute(
                    c,
                    dispute_id,
                    subject.clone(),
                    statement.clone(),
                    add(ctx.now, within),
                )
            })
            .await?;
        Ok((done, dispute_id))
    }

    /// An arbiter resolves an open dispute, with the reason. A party to
    /// it (the account that raised it) does not.
    pub async fn resolve_dispute(
        &self,
        p: &Principal,
        case: &Visible<Case>,
        dispute_id: DisputeId,
        resolution: Reason,
    ) -> Result<Executed, ServiceError> {
        const ACTION: &str = "resolve_dispute";
        self.authorize(p, Permission::Arbitrate, ACTION).await?;
        if let Some(d) = case.across.disputes.iter().find(|d| d.id == dispute_id)
            && &d.raised_by == p.name()
        {
            let reason = format!(
                "{} raised dispute {dispute_id} and cannot also resolve it",
                p.name()
            );
            self.refuse(p, ACTION, Some(format!("case/{}", case.id)), &reason)
                .await;
            return Err(ServiceError::Forbidden(reason));
        }
        self.on_visible_case(p, case, ACTION, |c, ctx| {
            elements::resolve_dispute(c, dispute_id, resolution.clone(), ctx)
        })
        .await
    }

    /// The open disputes of every case the arbiter may see, oldest due
    /// first. (It folds every case: fine for the case counts of one
    /// deployment; a query table would serve more.)
    pub async fn open_disputes(&self, p: &Principal) -> Result<Vec<OpenDispute>, ServiceError> {
        self.authorize(p, Permission::Arbitrate, "list_disputes")
            .await?;
        let levels = self.clearance_levels().await?;
        let mut out = Vec::new();
        for id in self.store.case_ids().await? {
            let case = self.load(id).await?;
            if case.across.open_disputes().next().is_none() || !Service::sees(p, &case, &levels) {
                continue;
            }
            let number = self.store.case_summary(id).await?.and_then(|s| s.number);
            out.extend(
                case.across
                    .open_disputes()
                    .map(|d| OpenDispute::of(&case, number, d)),
            );
        }
        out.sort_by_key(|d| d.due);
        Ok(out)
    }
}
