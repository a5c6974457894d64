//! The retention schedules: shown, and adopted from a file's text by a
//! records officer (`retention_schedules_adopted` on the records stream,
//! with the text and its SHA-256, as a policy is recorded).

use serde::{Deserialize, Serialize};
use tocsin_domain::access::Permission;
use tocsin_domain::event::Event;
use tocsin_domain::records::{RecordClass, RetentionSchedule, RetentionSchedules};
use tocsin_domain::{ActorName, Timestamp};

use super::RecordsState;
use crate::access::Principal;
use crate::{Service, ServiceError};

/// The retention schedules in force.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SchedulesInForce {
    /// Where the text came from (a file name, or "built-in").
    pub origin: String,
    /// The SHA-256 of the text (a disposal names it).
    pub sha256: String,
    /// When and by whom they were adopted (absent: the built-in ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adopted_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adopted_by: Option<ActorName>,
    /// One schedule per class that has one: its trigger, period, action
    /// and authority.
    pub schedules: Vec<RetentionSchedule>,
    /// The classes without a schedule: never disposed of.
    pub unscheduled: Vec<RecordClass>,
    /// The exact text.
    pub source: String,
}

impl SchedulesInForce {
    fn of(state: &RecordsState) -> Self {
        let s: &RetentionSchedules = &state.schedules;
        Self {
            origin: s.origin.clone(),
            sha256: s.sha256.clone(),
            adopted_at: state.schedules_adopted.as_ref().map(|(at, _)| *at),
            adopted_by: state.schedules_adopted.as_ref().map(|(_, by)| by.clone()),
            schedules: s.iter().cloned().collect(),
            unscheduled: RecordClass::ALL
                .into_iter()
                .filter(|c| s.get(*c).is_none())
                .collect(),
            source: s.source.clone(),
        }
    }
}

impl Service {
    /// The retention schedules in force.
    pub async fn retention_schedules(
        &self,
        p: &Principal,
    ) -> Result<SchedulesInForce, ServiceError> {
        self.authorize(p, Permission::ManageRecords, "show_retention_schedules")
            .await?;
        Ok(SchedulesInForce::of(&self.records_state().await?))
    }

    /// Adopts the schedules of `source` (a TOML file's text, from
    /// `origin`): checked whole, refused with the line and field at
    /// fault. The same text from the same origin as the schedules in
    /// force records nothing.
    pub async fn set_retention_schedules(
        &self,
        p: &Principal,
        source: &str,
        origin: &str,
    ) -> Result<SchedulesInForce, ServiceError> {
        self.authorize(p, Permission::ManageRecords, "set_retention_schedules")
            .await?;
        let parsed =
            RetentionSchedules::parse(source, origin).map_err(|e| ServiceError::Invalid {
                field: Some("source".into()),
                message: e.to_string(),
            })?;
        let event = Event::RetentionSchedulesAdopted {
            sha256: parsed.sha256.clone(),
            origin: parsed.origin.clone(),
            source: parsed.source.clone(),
        };
        self.adopt(p, event, |state| {
            state.schedules_adopted.is_some()
                && state.schedules.sha256 == parsed.sha256
                && state.schedules.origin == parsed.origin
        })
        .await?;
        Ok(SchedulesInForce::of(&self.records_state().await?))
    }
}
