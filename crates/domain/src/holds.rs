//! Legal holds, and the one decision whether a record may be disposed of.
//!
//! A hold covers the records its [`RecordQuery`] matches (cases by id, a
//! victim's name, a date range). Holds stack: a record is held while any
//! hold covers it, and releasing one of two holds still leaves it held.
//!
//! Placing and releasing are two-person steps, each a pair of events
//! ([`Event`]): a records officer requests, a second person
//! approves or declines. The asymmetry is on purpose: a hold covers its
//! records from the moment it is *requested* (until a decline ends the
//! request), and keeps covering them until its release is *approved*, so
//! no single person can expose a record to disposal. [`Holds::handle`]
//! decides a command into its event and [`Holds::apply`] folds an event;
//! both check the same rules ([`Holds::check`]).
//!
//! [`may_dispose`] is the decision the disposal job asks for each record:
//! not under any hold, and eligible under its class's schedule at `now`.
//! No IO, no clock: the time is an argument.

use std::collections::BTreeMap;
use std::fmt;

use crate::event::Event;
use crate::ids::HoldId;
use crate::records::{
    Record, RecordClass, RecordQuery, RetentionAction, RetentionSchedules, Standing, Trigger,
};
use crate::text::{ActorName, Reason};
use crate::time::Timestamp;

/// Where a hold is in its life. Every stage covers its records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HoldStage {
    /// Requested; a second person has not yet approved it.
    Requested,
    /// Approved by a second person.
    Placed,
    /// Its release was requested by this person; not yet approved.
    ReleaseRequested { by: ActorName },
}

/// A hold in force (requested, placed, or with its release pending).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hold {
    pub id: HoldId,
    pub scope: RecordQuery,
    pub reason: Reason,
    pub requested_by: ActorName,
    pub stage: HoldStage,
}

impl Hold {
    /// Who asked for what is pending (the request, or the release), if a
    /// second person's decision is awaited.
    fn pending_by(&self) -> Option<&ActorName> {
        match &self.stage {
            HoldStage::Requested => Some(&self.requested_by),
            HoldStage::ReleaseRequested { by } => Some(by),
            HoldStage::Placed => None,
        }
    }
}

/// What a records officer or an approver asks of the holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HoldCommand {
    Request {
        hold_id: HoldId,
        scope: RecordQuery,
        reason: Reason,
    },
    /// Approve what is pending: the request, or the release.
    Approve {
        hold_id: HoldId,
    },
    /// Decline what is pending: a declined request ends the hold, a
    /// declined release leaves it placed.
    Decline {
        hold_id: HoldId,
        reason: Reason,
    },
    RequestRelease {
        hold_id: HoldId,
        reason: Reason,
    },
}

/// A hold command (or event) that the rules refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HoldError {
    #[error("hold {0} exists already")]
    Exists(HoldId),
    #[error("there is no hold {0} in force")]
    Unknown(HoldId),
    #[error("hold {0} awaits no decision")]
    NothingPending(HoldId),
    #[error(
        "hold {hold_id} awaits a second person's decision on what {by} asked; {by} cannot decide it"
    )]
    SamePerson { hold_id: HoldId, by: ActorName },
    #[error("hold {0} is not placed: only a placed hold can be asked to be released")]
    NotPlaced(HoldId),
    #[error("{0} is not an event about holds")]
    NotAHoldEvent(&'static str),
}

/// Every hold in force, by id: the fold of the hold events.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Holds {
    holds: BTreeMap<HoldId, Hold>,
}

impl Holds {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every hold in force.
    pub fn iter(&self) -> impl Iterator<Item = &Hold> {
        self.holds.values()
    }

    pub fn get(&self, id: HoldId) -> Option<&Hold> {
        self.holds.get(&id)
    }

    /// The holds covering `record`, in id order.
    pub fn covering(&self, record: &Record) -> Vec<HoldId> {
        self.holds
            .values()
            .filter(|h| h.scope.matches(record))
            .map(|h| h.id)
            .collect()
    }

    /// Decides a command by `actor` into the event to append.
    pub fn handle(&self, cmd: HoldCommand, actor: &ActorName) -> Result<Event, HoldError> {
        let event = match cmd {
            HoldCommand::Request {
                hold_id,
                scope,
                reason,
            } => Event::HoldRequested {
                hold_id,
                scope,
                reason,
            },
            HoldCommand::Approve { hold_id } => match self.holds.get(&hold_id).map(|h| &h.stage) {
                Some(HoldStage::ReleaseRequested { .. }) => Event::HoldReleased { hold_id },
                _ => Event::HoldPlaced { hold_id },
            },
            HoldCommand::Decline { hold_id, reason } => Event::HoldDeclined { hold_id, reason },
            HoldCommand::RequestRelease { hold_id, reason } => {
                Event::HoldReleaseRequested { hold_id, reason }
            }
        };
        self.check(&event, actor)?;
        Ok(event)
    }

    /// Whether `actor` may record `event` on these holds: the one place
    /// the rules are written, for commands and for the fold alike.
    pub fn check(&self, event: &Event, actor: &ActorName) -> Result<(), HoldError> {
        let in_force = |id: &HoldId| self.holds.get(id).ok_or(HoldError::Unknown(*id));
        let second_person = |h: &Hold| match h.pending_by() {
            None => Err(HoldError::NothingPending(h.id)),
            Some(by) if by == actor => Err(HoldError::SamePerson {
                hold_id: h.id,
                by: by.clone(),
            }),
            Some(_) => Ok(()),
        };
        match event {
            Event::HoldRequested { hold_id, .. } => match self.holds.get(hold_id) {
                Some(_) => Err(HoldError::Exists(*hold_id)),
                None => Ok(()),
            },
            Event::HoldPlaced { hold_id } => {
                let h = in_force(hold_id)?;
                match h.stage {
                    HoldStage::Requested => second_person(h),
                    _ => Err(HoldError::NothingPending(*hold_id)),
                }
            }
            Event::HoldReleased { hold_id } => {
                let h = in_force(hold_id)?;
                match h.stage {
                    HoldStage::ReleaseRequested { .. } => second_person(h),
                    _ => Err(HoldError::NothingPending(*hold_id)),
                }
            }
            Event::HoldDeclined { hold_id, .. } => second_person(in_force(hold_id)?),
            Event::HoldReleaseRequested { hold_id, .. } => match in_force(hold_id)?.stage {
                HoldStage::Placed => Ok(()),
                _ => Err(HoldError::NotPlaced(*hold_id)),
            },
            _ => Err(HoldError::NotAHoldEvent(event.kind())),
        }
    }

    /// Folds one event recorded by `actor`. An event the rules refuse is
    /// refused here too (a ledger holding one is named by `--deep`); the
    /// events that are not about holds change nothing.
    pub fn apply(&mut self, event: &Event, actor: &ActorName) -> Result<(), HoldError> {
        if !matches!(
            event,
            Event::HoldRequested { .. }
                | Event::HoldPlaced { .. }
                | Event::HoldDeclined { .. }
                | Event::HoldReleaseRequested { .. }
                | Event::HoldReleased { .. }
        ) {
            return Ok(());
        }
        self.check(event, actor)?;
        match event {
            Event::HoldRequested {
                hold_id,
                scope,
                reason,
            } => {
                self.holds.insert(
                    *hold_id,
                    Hold {
                        id: *hold_id,
                        scope: scope.clone(),
                        reason: reason.clone(),
                        requested_by: actor.clone(),
                        stage: HoldStage::Requested,
                    },
                );
            }
            Event::HoldPlaced { hold_id } => self.set_stage(*hold_id, HoldStage::Placed),
            Event::HoldDeclined { hold_id, .. } => {
                if self.holds.get(hold_id).map(|h| &h.stage) == Some(&HoldStage::Requested) {
                    self.holds.remove(hold_id);
                } else {
                    self.set_stage(*hold_id, HoldStage::Placed);
                }
            }
            Event::HoldReleaseRequested { hold_id, .. } => {
                self.set_stage(*hold_id, HoldStage::ReleaseRequested { by: actor.clone() })
            }
            Event::HoldReleased { hold_id } => {
                self.holds.remove(hold_id);
            }
            _ => {}
        }
        Ok(())
    }

    fn set_stage(&mut self, id: HoldId, stage: HoldStage) {
        if let Some(h) = self.holds.get_mut(&id) {
            h.stage = stage;
        }
    }
}

/// Why a record may not be disposed of now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the record is under legal hold ({})", list(holds))]
    Held { holds: Vec<HoldId> },
    #[error("the class {0} has no retention schedule: it is never disposed of")]
    Unscheduled(RecordClass),
    #[error("the class {0} is kept permanently")]
    Permanent(RecordClass),
    #[error("the schedule of the class {0} asks for review, not disposal")]
    ReviewOnly(RecordClass),
    #[error("the schedule of the class {class} starts at {}, which has not happened", trigger.as_str())]
    Waiting {
        class: RecordClass,
        trigger: Trigger,
    },
    #[error("the record is eligible from {eligible_at}, not before")]
    NotYet { eligible_at: Timestamp },
}

fn list(ids: &[HoldId]) -> String {
    ids.iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether `record` may be disposed of at `now`: no hold covers it, and
/// its class's schedule says dispose and has fallen due.
pub fn may_dispose(
    record: &Record,
    schedules: &RetentionSchedules,
    holds: &Holds,
    now: Timestamp,
) -> Result<(), Refusal> {
    let held = holds.covering(record);
    if !held.is_empty() {
        return Err(Refusal::Held { holds: held });
    }
    match schedules.standing(record) {
        Standing::Unscheduled => Err(Refusal::Unscheduled(record.class)),
        Standing::Permanent(_) => Err(Refusal::Permanent(record.class)),
        Standing::Waiting(s) => Err(Refusal::Waiting {
            class: record.class,
            trigger: s.trigger,
        }),
        Standing::Due(s, _) if s.action == RetentionAction::Review => {
            Err(Refusal::ReviewOnly(record.class))
        }
        Standing::Due(_, at) if now < at => Err(Refusal::NotYet { eligible_at: at }),
        Standing::Due(..) => Ok(()),
    }
}

impl fmt::Display for HoldStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Requested => f.write_str("requested"),
            Self::Placed => f.write_str("placed"),
            Self::ReleaseRequested { by } => write!(f, "release requested by {by}"),
        }
    }
}
