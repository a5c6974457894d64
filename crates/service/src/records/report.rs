//! The records officer's report: the records eligible for disposal now
//! (and under which schedule), the records under legal hold (and which
//! holds), and the records disposed of in a period (from the tombstones).
//! Narrowed to what the officer may see: records of cases within their
//! clearance and compartments, and records of no case.

use serde::{Deserialize, Serialize};
use tocsin_domain::access::Permission;
use tocsin_domain::holds::may_dispose;
use tocsin_domain::ids::{DisposalBatchId, HoldId};
use tocsin_domain::records::{RecordClass, RetentionSchedule};
use tocsin_domain::{ActorName, CaseId, Timestamp};

use super::RecordScope;
use crate::access::Principal;
use crate::{Service, ServiceError};

/// The records officer's report at one instant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RecordsReport {
    /// When it was made: eligibility is at this instant.
    pub at: Timestamp,
    /// The schedules in force (origin and SHA-256).
    pub schedules_origin: String,
    pub schedules_sha256: String,
    /// Records that may be disposed of now: their schedule fell due and
    /// no hold covers them.
    pub eligible: Vec<EligibleRecord>,
    /// Records some legal hold covers.
    pub held: Vec<HeldRecord>,
    /// The period of `disposed` (absent `from`: since the beginning).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Timestamp>,
    pub until: Timestamp,
    /// Records disposed of in the period.
    pub disposed: Vec<DisposedRecord>,
}

/// A record eligible for disposal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EligibleRecord {
    pub position: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_id: Option<CaseId>,
    pub class: RecordClass,
    /// Its event kind.
    pub kind: String,
    pub eligible_since: Timestamp,
    /// The schedule it falls due under.
    pub schedule: RetentionSchedule,
}

/// A record under legal hold.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HeldRecord {
    pub position: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_id: Option<CaseId>,
    pub class: RecordClass,
    pub kind: String,
    /// The holds covering it.
    pub holds: Vec<HoldId>,
    /// When its schedule would let it be disposed of, holds aside.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eligible_since: Option<Timestamp>,
}

/// A record disposed of: what its tombstone says.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DisposedRecord {
    pub position: u64,
    /// The `record_disposed` event's position.
    pub tombstone_position: u64,
    pub disposed_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_id: Option<CaseId>,
    pub class: RecordClass,
    pub kind: String,
    pub schedule: RetentionSchedule,
    pub schedules_sha256: String,
    pub eligible_at: Timestamp,
    pub batch_id: DisposalBatchId,
    pub requested_by: ActorName,
    pub approved_by: ActorName,
}

impl Service {
    /// The records officer's report now, with the records disposed of
    /// between `from` and `until` (inclusive; `until` defaults to now).
    pub async fn records_report(
        &self,
        p: &Principal,
        from: Option<Timestamp>,
        until: Option<Timestamp>,
    ) -> Result<RecordsReport, ServiceError> {
        self.authorize(p, Permission::ManageRecords, "records_report")
            .await?;
        // A period given reversed is refused; a `from` after now with no
        // `until` is a period with nothing in it yet, not an error.
        if let (Some(f), Some(u)) = (from, until)
            && f > u
        {
            return Err(ServiceError::BadQuery {
                parameter: "from".into(),
                message: format!("{f} is after until ({u})"),
            });
        }
        let now = self.now();
        let until = until.unwrap_or(now);
        let state = self.records_state().await?;
        let records = self.visible_records(p, &state, RecordScope::All).await?;
        let (schedules, holds) = (&state.schedules, &state.holds);
        let mut eligible = Vec::new();
        let mut held = Vec::new();
        for r in &records {
            let covering = holds.covering(r);
            if !covering.is_empty() {
                held.push(HeldRecord {
                    position: r.position,
                    case_id: r.case.as_ref().map(|c| c.id),
                    class: r.class,
                    kind: r.kind.to_owned(),
                    holds: covering,
                    eligible_since: schedules.eligible_at(r),
                });
                continue;
            }
            if may_dispose(r, schedules, holds, now).is_ok()
                && let (Some(schedule), Some(since)) =
                    (schedules.get(r.class), schedules.eligible_at(r))
            {
                eligible.push(EligibleRecord {
                    position: r.position,
                    case_id: r.case.as_ref().map(|c| c.id),
                    class: r.class,
                    kind: r.kind.to_owned(),
                    eligible_since: since,
                    schedule: schedule.clone(),
                });
            }
        }
        let filter = self.case_filter(p).await?;
        let mut disposed = Vec::new();
        for t in state.disposed.values() {
            if from.is_some_and(|f| t.at < f) || t.at > until {
                continue;
            }
            if let Some(id) = t.case_id {
                let visible = self
                    .store
                    .case_summary(id)
                    .await?
                    .is_some_and(|s| filter.admits(&s));
                if !visible {
                    continue;
                }
            }
            disposed.push(DisposedRecord {
                position: t.position,
                tombstone_position: t.tombstone_position,
                disposed_at: t.at,
                case_id: t.case_id,
                class: t.class,
                kind: t.kind.clone(),
                schedule: t.schedule.clone(),
                schedules_sha256: t.schedules_sha256.clone(),
                eligible_at: t.eligible_at,
                batch_id: t.batch_id,
                requested_by: t.requested_by.clone(),
                approved_by: t.approved_by.clone(),
            });
        }
        Ok(RecordsReport {
            at: now,
            schedules_origin: schedules.origin.clone(),
            schedules_sha256: schedules.sha256.clone(),
            eligible,
            held,
            from,
            until,
            disposed,
        })
    }
}
