//! Reference data (the relations between states, the recipients directory),
//! route planning over it, notification targets, and the outbox of
//! escalation notices.
//!
//! Changes to reference data are events on the reference stream with the
//! derived documents in the same transaction (rebuilt from the ledger).
//! Until an organisation sets its own, the shipped defaults apply (a US
//! deployment: Iran through Switzerland, North Korea through Sweden).
//!
//! An escalation notice is a document written in the same transaction as
//! the `escalation_raised` event it announces, one per target, so a notice
//! can never be lost nor sent for an escalation that was not recorded.
//! Senders claim a notice with compare-and-set and a lease (several server
//! processes share the work; a sender that dies releases it when its lease
//! runs out), so delivery is at least once; receivers deduplicate on the
//! notice id.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tocsin_domain::case::{Case, Step};
use tocsin_domain::delivery::{Party, PartyKind};
use tocsin_domain::event::Event;
use tocsin_domain::notify::NotificationTarget;
use tocsin_domain::reference::{Directory, Relations};
use tocsin_domain::routing::{RoutePlan, RoutingFacts, plan};
use tocsin_domain::text::{Label, Name};
use tocsin_domain::{ActorName, CaseId, Timestamp};
use tocsin_store::{
    Doc, DocExpect, DocKind, DocWrite, EventEnvelope, NewEvents, StoreError, StreamId,
};

use crate::{AccountError, Service, ServiceError};

/// Retries and leases run on the wall clock: they are about the machines,
/// not the case, and must move even when the service's clock is fixed
/// (exercises, replays, tests).
fn wall_now() -> Timestamp {
    Timestamp::now()
}

const RELATIONS: &str = "relations";
const DIRECTORY: &str = "directory";
const TARGET_PREFIX: &str = "target/";

fn target_key(name: &str) -> String {
    format!("{TARGET_PREFIX}{name}")
}

fn secret_key(name: &str) -> String {
    format!("webhook-secret/{name}")
}

/// The document a reference-stream event changes and its new content.
pub(crate) fn project(event: &Event) -> Option<(DocKind, String, Option<Vec<u8>>)> {
    let json = |v: &dyn crate::erased::Json| Some(v.to_vec());
    match event {
        Event::RelationsReplaced { relations } => {
            Some((DocKind::Reference, RELATIONS.into(), json(relations)))
        }
        Event::DirectoryReplaced { directory } => {
            Some((DocKind::Reference, DIRECTORY.into(), json(directory)))
        }
        Event::NotificationTargetSet { target } => Some((
            DocKind::Reference,
            target_key(target.name.as_str()),
            json(target),
        )),
        Event::NotificationTargetRemoved { name } => {
            Some((DocKind::Reference, target_key(name.as_str()), None))
        }
        _ => None,
    }
}

/// Where an escalation notice stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NoticeStatus {
    /// Waiting for its next attempt.
    Pending,
    /// Claimed by a sender until `lease_until`.
    Sending,
    /// Every attempt failed; kept so the failure stays visible.
    Failed,
}

/// An escalation notice to one target (a document of kind notification).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Notice {
    /// Stable id: receivers deduplicate on it.
    pub id: String,
    pub case_id: CaseId,
    pub step: Step,
    pub due: Timestamp,
    pub raised_at: Timestamp,
    pub target: Label,
    pub status: NoticeStatus,
    pub attempts: u32,
    pub next_attempt_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_until: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// How notices are retried.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Wait after the first failure; doubled after each further one.
    pub base: Duration,
    pub max_wait: Duration,
    /// After this many attempts the notice is given up and recorded as failed.
    pub max_attempts: u32,
    /// How long a sender holds a claimed notice.
    pub lease: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(10),
            max_wait: Duration::from_secs(3600),
            max_attempts: 8,
            lease: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    pub fn wait_after(&self, attempts: u32) -> Duration {
        let factor = 1u32 << attempts.saturating_sub(1).min(20);
        (self.base * factor).min(self.max_wait)
    }
}

impl Service {
    async fn reference_event(
        &self,
        by: &ActorName,
        event: Event,
        extra: Vec<DocWrite>,
    ) -> Result<(), ServiceError> {
        let mut docs = extra;
        if let Some((kind, key, body)) = project(&event) {
            docs.push(DocWrite {
                kind,
                key,
                expect: DocExpect::Any,
                body,
            });
        }
        self.store()
            .append(NewEvents {
                stream: StreamId::Reference,
                expected_version: None,
                events: vec![EventEnvelope {
                    recorded_at: self.now(),
                    actor: by.clone(),
                    event,
                }],
                summary: None,
                docs,
            })
            .await?;
        Ok(())
    }

    /// The relations between our state and the others.
    pub async fn relations(&self) -> Result<Relations, ServiceError> {
        match self.store().get_doc(DocKind::Reference, RELATIONS).await? {
            Some(d) => Ok(d.parse()?),
            None => Ok(Relations::us_default()),
        }
    }

    pub async fn set_relations(
        &self,
        by: &ActorName,
        relations: Relations,
    ) -> Result<(), ServiceError> {
        self.reference_event(by, Event::RelationsReplaced { relations }, vec![])
            .await
    }

    /// The recipients directory.
    pub async fn directory(&self) -> Result<Directory, ServiceError> {
        match self.store().get_doc(DocKind::Reference, DIRECTORY).await? {
            Some(d) => Ok(d.parse()?),
            None => Ok(Directory::builtin()),
        }
    }

    pub async fn set_directory(
        &self,
        by: &ActorName,
        directory: Directory,
    ) -> Result<(), ServiceError> {
        self.reference_event(by, Event::DirectoryReplaced { directory }, vec![])
            .await
    }

    /// Ranked route candidates for a case, with why, and what was excluded.
    pub async fn route_plan(&self, case: &Case) -> Result<RoutePlan, ServiceError> {
        let relations = self.relations().await?;
        let directory = self.directory().await?;
        let us = Party {
            name: Name::new(case.lead_element.as_str())
                .map_err(|e| ServiceError::Account(AccountError::Invalid(e.to_string())))?,
            kind: PartyKind::OwnElement,
            country: Some(relations.our_state()),
        };
        plan(&RoutingFacts::from_case(case), &us, &relations, &directory).map_err(|e| {
            ServiceError::Account(AccountError::Invalid(format!("route planning: {e}")))
        })
    }

    pub async fn notification_targets(&self) -> Result<Vec<NotificationTarget>, ServiceError> {
        let mut out = Vec::new();
        let mut after = Some(TARGET_PREFIX.to_owned());
        loop {
            let page = self
                .store()
                .list_docs(DocKind::Reference, after, 200)
                .await?;
            let n = page.len();
            for d in &page {
                if !d.key.starts_with(TARGET_PREFIX) {
                    return Ok(out);
                }
                out.push(d.parse()?);
            }
            if n < 200 {
                return Ok(out);
            }
            after = page.last().map(|d| d.key.clone());
        }
    }

    /// Adds or changes a target; a webhook's secret (for the HMAC-SHA256
    /// signature) is kept beside the ledger, never in it.
    pub async fn set_notification_target(
        &self,
        by: &ActorName,
        mut target: NotificationTarget,
        secret: Option<String>,
    ) -> Result<NotificationTarget, ServiceError> {
        let key = secret_key(target.name.as_str());
        let extra = match &secret {
            Some(s) => {
                if s.len() < 16 {
                    return Err(ServiceError::Account(AccountError::Invalid(
                        "a webhook secret needs at least 16 characters".into(),
                    )));
                }
                vec![DocWrite::put(DocKind::Credential, key, DocExpect::Any, &s)]
            }
            None => vec![DocWrite::delete(DocKind::Credential, key, DocExpect::Any)],
        };
        target.signed = secret.is_some();
        self.reference_event(
            by,
            Event::NotificationTargetSet {
                target: target.clone(),
            },
            extra,
        )
        .await?;
        Ok(target)
    }

    pub async fn remove_notification_target(
        &self,
        by: &ActorName,
        name: Label,
    ) -> Result<(), ServiceError> {
        let key = secret_key(name.as_str());
        self.reference_event(
            by,
            Event::NotificationTargetRemoved { name },
            vec![DocWrite::delete(DocKind::Credential, key, DocExpect::Any)],
        )
        .await
    }

    pub async fn webhook_secret(&self, name: &str) -> Result<Option<String>, ServiceError> {
        match self
            .store()
            .get_doc(DocKind::Credential, &secret_key(name))
            .await?
        {
            Some(d) => Ok(Some(d.parse()?)),
            None => Ok(None),
        }
    }

    /// Notices for the escalations among `events` (appended to `case` at
    /// sequence numbers after `version`), one per target.
    pub(crate) fn notices_for(
        &self,
        targets: &[NotificationTarget],
        case_id: CaseId,
        version: u64,
        events: &[Event],
        now: Timestamp,
    ) -> Vec<DocWrite> {
        let mut out = Vec::new();
        for (i, e) in events.iter().enumerate() {
            let Event::EscalationRaised { step, due } = e else {
                continue;
            };
            let seq = version + i as u64 + 1;
            for t in targets {
                let id = format!("{case_id}/{seq}/{}", t.name);
                out.push(DocWrite::put(
                    DocKind::Notification,
                    id.clone(),
                    DocExpect::Absent,
                    &Notice {
                        id,
                        case_id,
                        step: *step,
                        due: *due,
                        raised_at: now,
                        target: t.name.clone(),
                        status: NoticeStatus::Pending,
                        attempts: 0,
                        next_attempt_at: wall_now(),
                        lease_until: None,
                        last_error: None,
                    },
                ));
            }
        }
        out
    }

    /// Every notice, in key order (pending, being sent, or failed).
    pub async fn notices(&self) -> Result<Vec<(Doc, Notice)>, ServiceError> {
        let mut out = Vec::new();
        let mut after = None;
        loop {
            let page = self
                .store()
                .list_docs(DocKind::Notification, after, 500)
                .await?;
            for d in &page {
                let n: Notice = d.parse()?;
                out.push((d.clone(), n));
            }
            if page.len() < 500 {
                return Ok(out);
            }
            after = page.last().map(|d| d.key.clone());
        }
    }

    /// Claims a notice that is due at `now`, for `lease`; `None` if another
    /// sender has it or it is not due.
    pub async fn claim_notice(
        &self,
        doc: &Doc,
        lease: Duration,
    ) -> Result<Option<(u64, Notice)>, ServiceError> {
        let now = wall_now();
        let mut n: Notice = doc.parse()?;
        let due = match n.status {
            NoticeStatus::Pending => n.next_attempt_at <= now,
            NoticeStatus::Sending => n.lease_until.is_none_or(|l| l <= now),
            NoticeStatus::Failed => false,
        };
        if !due {
            return Ok(None);
        }
        n.status = NoticeStatus::Sending;
        n.lease_until = Some(now + lease);
        match self
            .store()
            .write_docs(vec![DocWrite::put(
                DocKind::Notification,
                doc.key.clone(),
                DocExpect::Version(doc.version),
                &n,
            )])
            .await
        {
            Ok(v) => Ok(Some((v.first().copied().unwrap_or(0), n))),
            Err(StoreError::DocConflict { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Records the result of one attempt on a claimed notice: delivered
    /// (an event on the case, the notice removed, together), or failed
    /// (retried later, or given up and recorded on the case).
    pub async fn finish_notice(
        &self,
        mut n: Notice,
        version: u64,
        result: Result<(), String>,
        retry: &RetryPolicy,
    ) -> Result<(), ServiceError> {
        let now = self.now();
        n.attempts += 1;
        let key = n.id.clone();
        let event = match &result {
            Ok(()) => Some(Event::NotificationDelivered {
                step: n.step,
                due: n.due,
                target: n.target.clone(),
                attempts: n.attempts,
            }),
            Err(e) if n.attempts >= retry.max_attempts => Some(Event::NotificationFailed {
                step: n.step,
                due: n.due,
                target: n.target.clone(),
                attempts: n.attempts,
                error: e.chars().take(500).collect(),
            }),
            Err(_) => None,
        };
        let doc = match &result {
            Ok(()) => DocWrite::delete(DocKind::Notification, key, DocExpect::Version(version)),
            Err(e) => {
                n.last_error = Some(e.chars().take(500).collect());
                n.lease_until = None;
                if event.is_some() {
                    n.status = NoticeStatus::Failed;
                } else {
                    n.status = NoticeStatus::Pending;
                    n.next_attempt_at = wall_now() + retry.wait_after(n.attempts);
                }
                DocWrite::put(DocKind::Notification, key, DocExpect::Version(version), &n)
            }
        };
        let Some(event) = event else {
            match self.store().write_docs(vec![doc]).await {
                Ok(_) | Err(StoreError::DocConflict { .. }) => return Ok(()),
                Err(e) => return Err(e.into()),
            }
        };
        // The outcome goes on the case, with the notice, in one transaction.
        for _ in 0..crate::MAX_ATTEMPTS {
            let case = self.load(n.case_id).await?;
            match self
                .append_to(
                    &case,
                    &tocsin_domain::Actor::system(),
                    now,
                    vec![event.clone()],
                    vec![doc.clone()],
                )
                .await
            {
                Ok(_) => return Ok(()),
                Err(ServiceError::Store(StoreError::Conflict { .. })) => continue,
                // Another sender finished it (its lease ran out meanwhile).
                Err(ServiceError::Store(StoreError::DocConflict { .. })) => return Ok(()),
                Err(e) => return Err(e),
            }
        }
        Err(ServiceError::Contention(n.case_id, crate::MAX_ATTEMPTS))
    }
}
