//! Legal holds through the service: a records officer requests a hold (it
//! covers its records at once), a second records officer approves or
//! declines it; releasing is the same pair of steps. The domain
//! (`tocsin_domain::holds`) refuses the same account twice; the service
//! also refuses a second person whose credential lineage ties them to the
//! first ([`Service::check_second_person`], shared with the cases'
//! two-person rules). Every refusal is recorded on the access stream.

use serde::{Deserialize, Serialize};
use tocsin_domain::access::Permission;
use tocsin_domain::holds::{Hold, HoldCommand, HoldError, HoldStage};
use tocsin_domain::ids::HoldId;
use tocsin_domain::records::RecordQuery;
use tocsin_domain::text::Reason;
use tocsin_domain::{ActorName, Timestamp};

use super::{HoldStep, RecordsState};
use crate::access::Principal;
use crate::{Service, ServiceError, new_uuid};

/// Where a hold is. Every stage covers its records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HoldStageName {
    /// Requested, awaiting a second person.
    Requested,
    /// Approved by a second person.
    Placed,
    /// Its release was requested, awaiting a second person.
    ReleaseRequested,
}

/// A legal hold in force.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HoldView {
    pub hold_id: HoldId,
    /// The records it covers.
    pub scope: RecordQuery,
    pub reason: Reason,
    pub requested_by: ActorName,
    pub requested_at: Timestamp,
    pub stage: HoldStageName,
    /// Who asked for its release (stage `release_requested`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_requested_by: Option<ActorName>,
    /// What happened to it, oldest first.
    pub steps: Vec<HoldStepView>,
}

/// One step of a hold.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HoldStepView {
    /// The event recorded (`hold_requested`, `hold_placed`...).
    pub kind: String,
    pub at: Timestamp,
    pub by: ActorName,
    /// Its ledger position.
    pub position: u64,
}

/// What a hold command recorded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HoldAnswer {
    pub hold_id: HoldId,
    /// The event recorded (`hold_placed`, `hold_released`...).
    pub recorded: String,
    /// The hold now (absent: released, or its request declined).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<HoldView>,
}

impl HoldView {
    fn of(h: &Hold, state: &RecordsState) -> Self {
        let steps: &[HoldStep] = state.hold_steps.get(&h.id).map_or(&[], |s| s.as_slice());
        let (stage, release_requested_by) = match &h.stage {
            HoldStage::Requested => (HoldStageName::Requested, None),
            HoldStage::Placed => (HoldStageName::Placed, None),
            HoldStage::ReleaseRequested { by } => {
                (HoldStageName::ReleaseRequested, Some(by.clone()))
            }
        };
        Self {
            hold_id: h.id,
            scope: h.scope.clone(),
            reason: h.reason.clone(),
            requested_by: h.requested_by.clone(),
            requested_at: steps.first().map_or(Timestamp::UNIX_EPOCH, |s| s.at),
            stage,
            release_requested_by,
            steps: steps
                .iter()
                .map(|s| HoldStepView {
                    kind: s.kind.to_owned(),
                    at: s.at,
                    by: s.by.clone(),
                    position: s.position,
                })
                .collect(),
        }
    }
}

impl Service {
    /// Every legal hold in force, oldest request first.
    pub async fn legal_holds(&self, p: &Principal) -> Result<Vec<HoldView>, ServiceError> {
        self.authorize(p, Permission::ManageRecords, "list_holds")
            .await?;
        let state = self.records_state().await?;
        let mut out: Vec<_> = state
            .holds
            .iter()
            .map(|h| HoldView::of(h, &state))
            .collect();
        out.sort_by_key(|h| (h.requested_at, h.hold_id));
        Ok(out)
    }

    /// Requests a legal hold over the records `scope` matches. It covers
    /// them from now on; a second records officer approves or declines it.
    pub async fn request_hold(
        &self,
        p: &Principal,
        scope: RecordQuery,
        reason: Reason,
    ) -> Result<HoldAnswer, ServiceError> {
        self.authorize(p, Permission::ManageRecords, "request_hold")
            .await?;
        // A case named by id is one the requester may see (a mistyped id
        // would hold nothing); a hidden one answers as a missing one.
        for id in scope.case_ids() {
            self.case(p, *id, "request_hold").await?;
        }
        let hold_id = HoldId::from_uuid(new_uuid());
        self.hold_command(
            p,
            "request_hold",
            HoldCommand::Request {
                hold_id,
                scope,
                reason,
            },
        )
        .await
    }

    /// Approves what is pending on a hold: its request (the hold is then
    /// placed) or its release (it then covers nothing). By a second
    /// person.
    pub async fn approve_hold(
        &self,
        p: &Principal,
        hold_id: HoldId,
    ) -> Result<HoldAnswer, ServiceError> {
        self.authorize(p, Permission::ManageRecords, "approve_hold")
            .await?;
        self.check_second_on_hold(p, hold_id, "approve_hold")
            .await?;
        self.hold_command(p, "approve_hold", HoldCommand::Approve { hold_id })
            .await
    }

    /// Declines what is pending on a hold: a declined request ends it, a
    /// declined release leaves it placed. By a second person.
    pub async fn decline_hold(
        &self,
        p: &Principal,
        hold_id: HoldId,
        reason: Reason,
    ) -> Result<HoldAnswer, ServiceError> {
        self.authorize(p, Permission::ManageRecords, "decline_hold")
            .await?;
        self.check_second_on_hold(p, hold_id, "decline_hold")
            .await?;
        self.hold_command(p, "decline_hold", HoldCommand::Decline { hold_id, reason })
            .await
    }

    /// Asks for a placed hold to be released. It covers its records until
    /// a second person approves the release.
    pub async fn request_hold_release(
        &self,
        p: &Principal,
        hold_id: HoldId,
        reason: Reason,
    ) -> Result<HoldAnswer, ServiceError> {
        self.authorize(p, Permission::ManageRecords, "request_hold_release")
            .await?;
        self.hold_command(
            p,
            "request_hold_release",
            HoldCommand::RequestRelease { hold_id, reason },
        )
        .await
    }

    /// The credential-lineage check of a second step on a hold: against
    /// whoever asked for what is pending. (Nothing pending, or the same
    /// account: the domain answers.)
    async fn check_second_on_hold(
        &self,
        p: &Principal,
        hold_id: HoldId,
        action: &str,
    ) -> Result<(), ServiceError> {
        let state = self.records_state().await?;
        let first = match state.holds.get(hold_id).map(|h| &h.stage) {
            Some(HoldStage::Requested) => state.holds.get(hold_id).map(|h| h.requested_by.clone()),
            Some(HoldStage::ReleaseRequested { by }) => Some(by.clone()),
            _ => None,
        };
        match first {
            Some(first) if &first != p.name() => self.check_second_person(p, &first, action).await,
            _ => Ok(()),
        }
    }

    /// Decides `cmd` on the holds folded now and appends its event; a
    /// refusal by the rules is recorded and answered.
    async fn hold_command(
        &self,
        p: &Principal,
        action: &str,
        cmd: HoldCommand,
    ) -> Result<HoldAnswer, ServiceError> {
        let hold_id = match &cmd {
            HoldCommand::Request { hold_id, .. }
            | HoldCommand::Approve { hold_id }
            | HoldCommand::Decline { hold_id, .. }
            | HoldCommand::RequestRelease { hold_id, .. } => *hold_id,
        };
        let decided = self
            .on_records(p.name(), |state| {
                let event = state.holds.handle(cmd.clone(), p.name())?;
                let kind = event.kind();
                Ok((vec![event], kind))
            })
            .await;
        let recorded = match decided {
            Ok(kind) => kind,
            Err(ServiceError::Hold(e)) => {
                if !matches!(e, HoldError::Unknown(_)) {
                    self.refuse(p, action, Some(format!("hold/{hold_id}")), &e.to_string())
                        .await;
                }
                return Err(ServiceError::Hold(e));
            }
            Err(e) => return Err(e),
        };
        let state = self.records_state().await?;
        Ok(HoldAnswer {
            hold_id,
            recorded: recorded.to_owned(),
            hold: state.holds.get(hold_id).map(|h| HoldView::of(h, &state)),
        })
    }
}
