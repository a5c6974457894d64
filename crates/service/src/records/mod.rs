//! Records management through the service: the records stream folded
//! ([`RecordsState`]), and the records of the ledger gathered with the
//! facts retention and holds decide on ([`gather`]).
//!
//! API for the other records modules (kept small and stable):
//! * [`Service::records_state`] folds `StreamId::Records`: the retention
//!   schedules in force (the latest `retention_schedules_adopted`, else
//!   the built-in ones), the legal holds in force (`Holds`, with each
//!   hold's steps in [`RecordsState::hold_steps`]), the tombstones by the
//!   position they dispose of ([`RecordsState::disposed`]) and the
//!   stream's version (for an append that expects it).
//! * [`fold`] is the same fold over events already read (pure).
//! * [`Service::records`]`(state, scope)` gathers every record of
//!   [`RecordScope`] (one case, or the whole ledger) as
//!   `tocsin_domain::records::Record`s, leaving out the positions
//!   `state.disposed` names; [`Service::visible_records`] the same,
//!   narrowed to what a principal may see.
//! * [`Service::on_records`] decides on the state folded now and appends
//!   what it decides to the records stream, expecting the version it
//!   folded; another writer first, it decides again.
//!
//! The faces' calls: [`schedules`] (show and set the retention
//! schedules), [`exemptions`] (show and set the exemption codes a
//! redaction may cite), [`holds`] (legal holds: request, approve,
//! decline, release, list), [`report`] (the records officer's report).

mod disposal;
pub mod exemptions;
mod export;
pub(crate) mod gather;
pub mod holds;
pub mod redact;
pub mod report;
pub mod schedules;

use std::collections::BTreeMap;

use tocsin_domain::event::Event;
use tocsin_domain::holds::{HoldError, Holds};
use tocsin_domain::ids::{DisposalBatchId, HoldId};
use tocsin_domain::records::{RecordClass, RetentionSchedule, RetentionSchedules, ScheduleError};
use tocsin_domain::redaction::{Exemptions, RedactionError};
use tocsin_domain::{ActorName, CaseId, Timestamp};
use tocsin_store::{NewEvents, StoreError, StoredEvent, StreamId};

use crate::access::Principal;
use crate::command::envelopes;
use crate::{MAX_ATTEMPTS, Service, ServiceError};

pub use disposal::{DisposalApproval, DisposalProposal, SkippedRecord};
pub use export::OversightExport;
pub use gather::RecordScope;

/// The records stream folded: what records management decides on.
#[derive(Clone, Debug)]
pub struct RecordsState {
    /// The schedules in force.
    pub schedules: RetentionSchedules,
    /// When the schedules in force were adopted, and by whom (`None`:
    /// the built-in ones, never adopted).
    pub schedules_adopted: Option<(Timestamp, ActorName)>,
    /// Every legal hold in force.
    pub holds: Holds,
    /// What happened to each hold in force, oldest first.
    pub hold_steps: BTreeMap<HoldId, Vec<HoldStep>>,
    /// The tombstones, by the ledger position of the record disposed of.
    pub disposed: BTreeMap<u64, Tombstone>,
    /// The redactions for release, requested and approved (rexport).
    pub redactions: tocsin_domain::redaction::Redactions,
    /// The exemption codes a redaction may cite (the latest
    /// `exemptions_adopted`, else the built-in FOIA ones).
    pub exemptions: Exemptions,
    /// Where the codes in force came from and when they were adopted
    /// (`None`: the built-in ones, never adopted).
    pub exemptions_adopted: Option<ExemptionsAdoption>,
    /// The records stream's version (its last sequence number; 0 when
    /// empty).
    pub version: u64,
}

/// An `exemptions_adopted` event: the list's origin and SHA-256, when and
/// by whom.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExemptionsAdoption {
    pub origin: String,
    pub sha256: String,
    pub source: String,
    pub at: Timestamp,
    pub by: ActorName,
}

/// One step of a hold: its request, placing, a decline, a release asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HoldStep {
    /// The event kind (`hold_requested`...).
    pub kind: &'static str,
    pub at: Timestamp,
    pub by: ActorName,
    /// The ledger position of the event.
    pub position: u64,
}

/// A `record_disposed` event, as the records report and the disposal job
/// need it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tombstone {
    /// The tombstone's own ledger position.
    pub tombstone_position: u64,
    /// When the record was disposed of (the tombstone's time).
    pub at: Timestamp,
    /// The record disposed of: its position, kind, case and class.
    pub position: u64,
    pub kind: String,
    pub case_id: Option<CaseId>,
    pub class: RecordClass,
    pub schedule: RetentionSchedule,
    pub schedules_sha256: String,
    pub eligible_at: Timestamp,
    pub batch_id: DisposalBatchId,
    pub requested_by: ActorName,
    pub approved_by: ActorName,
}

/// The records stream holds something its own rules refuse.
#[derive(Debug, thiserror::Error)]
pub enum RecordsFoldError {
    #[error("records stream, position {position}: {source}")]
    Schedules {
        position: u64,
        source: ScheduleError,
    },
    #[error("records stream, position {position}: {source}")]
    Hold { position: u64, source: HoldError },
    #[error("records stream, position {position}: {source}")]
    Exemptions {
        position: u64,
        source: RedactionError,
    },
}

impl Default for RecordsState {
    fn default() -> Self {
        Self {
            schedules: RetentionSchedules::builtin(),
            schedules_adopted: None,
            holds: Holds::new(),
            hold_steps: BTreeMap::new(),
            disposed: BTreeMap::new(),
            redactions: Default::default(),
            exemptions: Exemptions::builtin(),
            exemptions_adopted: None,
            version: 0,
        }
    }
}

/// Folds the events of the records stream, in order.
pub fn fold(events: &[StoredEvent]) -> Result<RecordsState, RecordsFoldError> {
    let mut state = RecordsState::default();
    for e in events {
        state.apply(e)?;
    }
    Ok(state)
}

impl RecordsState {
    /// Folds one event of the records stream (others change nothing but
    /// the version).
    pub fn apply(&mut self, e: &StoredEvent) -> Result<(), RecordsFoldError> {
        let env = &e.envelope;
        self.version = e.seq;
        match &env.event {
            Event::RetentionSchedulesAdopted { origin, source, .. } => {
                self.schedules = RetentionSchedules::parse(source, origin).map_err(|source| {
                    RecordsFoldError::Schedules {
                        position: e.position,
                        source,
                    }
                })?;
                self.schedules_adopted = Some((env.recorded_at, env.actor.clone()));
            }
            Event::HoldRequested { hold_id, .. }
            | Event::HoldPlaced { hold_id }
            | Event::HoldDeclined { hold_id, .. }
            | Event::HoldReleaseRequested { hold_id, .. }
            | Event::HoldReleased { hold_id } => {
                self.holds.apply(&env.event, &env.actor).map_err(|source| {
                    RecordsFoldError::Hold {
                        position: e.position,
                        source,
                    }
                })?;
                if self.holds.get(*hold_id).is_some() {
                    self.hold_steps.entry(*hold_id).or_default().push(HoldStep {
                        kind: env.event.kind(),
                        at: env.recorded_at,
                        by: env.actor.clone(),
                        position: e.position,
                    });
                } else {
                    // Released, or its request declined: no longer in force.
                    self.hold_steps.remove(hold_id);
                }
            }
            Event::RecordDisposed {
                position,
                kind,
                case_id,
                class,
                schedule,
                schedules_sha256,
                eligible_at,
                batch_id,
                requested_by,
                approved_by,
            } => {
                self.disposed.insert(
                    *position,
                    Tombstone {
                        tombstone_position: e.position,
                        at: env.recorded_at,
                        position: *position,
                        kind: kind.clone(),
                        case_id: *case_id,
                        class: *class,
                        schedule: schedule.clone(),
                        schedules_sha256: schedules_sha256.clone(),
                        eligible_at: *eligible_at,
                        batch_id: *batch_id,
                        requested_by: requested_by.clone(),
                        approved_by: approved_by.clone(),
                    },
                );
            }
            Event::RedactionRequested { .. } | Event::RedactionApproved { .. } => {
                self.redactions.apply(&env.actor, &env.event);
            }
            Event::ExemptionsAdopted {
                sha256,
                origin,
                source,
            } => {
                self.exemptions =
                    Exemptions::parse(source).map_err(|source| RecordsFoldError::Exemptions {
                        position: e.position,
                        source,
                    })?;
                self.exemptions_adopted = Some(ExemptionsAdoption {
                    origin: origin.clone(),
                    sha256: sha256.clone(),
                    source: source.clone(),
                    at: env.recorded_at,
                    by: env.actor.clone(),
                });
            }
            _ => {}
        }
        Ok(())
    }
}

impl Service {
    /// The records stream folded now.
    pub(crate) async fn records_state(&self) -> Result<RecordsState, ServiceError> {
        let events = self.store.read_stream(&StreamId::Records).await?;
        fold(&events).map_err(|e| ServiceError::internal("the records stream does not fold", e))
    }

    /// Appends `event` (a text put in force) as `p`, unless `in_force`
    /// says the state folded at the append has it already: adopting the
    /// same text from the same origin again records nothing.
    pub(crate) async fn adopt(
        &self,
        p: &Principal,
        event: Event,
        in_force: impl Fn(&RecordsState) -> bool,
    ) -> Result<(), ServiceError> {
        self.on_records(p.name(), |state| {
            let events = if in_force(state) {
                Vec::new()
            } else {
                vec![event.clone()]
            };
            Ok((events, ()))
        })
        .await
    }

    /// Load → decide → append on the records stream: `decide` sees the
    /// state folded now and answers the events to append (none: nothing
    /// to write) and what to return; they are appended as `by` if nobody
    /// appended to the stream in between, else decided again.
    pub(crate) async fn on_records<T>(
        &self,
        by: &ActorName,
        mut decide: impl FnMut(&RecordsState) -> Result<(Vec<Event>, T), ServiceError>,
    ) -> Result<T, ServiceError> {
        for _ in 0..MAX_ATTEMPTS {
            let state = self.records_state().await?;
            let (events, out) = decide(&state)?;
            if events.is_empty() {
                return Ok(out);
            }
            let appended = self
                .store
                .append(NewEvents {
                    stream: StreamId::Records,
                    expected_version: Some(state.version),
                    events: envelopes(by, self.now(), events),
                    summary: None,
                    docs: Vec::new(),
                    // Nothing on the records stream is a record: no salts.
                    salts: Vec::new(),
                })
                .await;
            match appended {
                Ok(_) => return Ok(out),
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::Contention("the records stream".into()))
    }
}

#[cfg(test)]
mod tests;
