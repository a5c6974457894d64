//! The outbox of escalation notices.
//!
//! A notice is a document written in the same transaction as the
//! `escalation_raised` event it announces, one per target, so a notice can
//! never be lost nor sent for an escalation that was not recorded. Senders
//! claim a notice with compare-and-set and a lease (several server
//! processes share the work; a sender that dies releases it when its lease
//! runs out), so delivery is at least once; receivers deduplicate on the
//! notice id. The outcome (`notification_delivered` / `notification_failed`
//! in the ledger) goes on the case with the notice's removal. Retries run
//! on the wall clock, deadlines on the service clock.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tocsin_domain::access::Permission;
use tocsin_domain::case::Step;
use tocsin_domain::event::Event;
use tocsin_domain::notice::NoticeTarget;
use tocsin_domain::text::Label;
use tocsin_domain::{ActorName, CaseId, Timestamp};
use tocsin_store::{Doc, DocExpect, DocKind, DocWrite, StoreError};

use crate::access::Principal;
use crate::command::Decision;
use crate::{Service, ServiceError};

/// Retries and leases run on the wall clock: they are about the machines,
/// not the case, and must move even when the service's clock is fixed
/// (exercises, replays, tests).
fn wall_now() -> Timestamp {
    Timestamp::now()
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

impl NoticeStatus {
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Sending, Self::Failed]
            .into_iter()
            .find(|k| k.as_str() == s)
    }

    /// Its name on the wire.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sending => "sending",
            Self::Failed => "failed",
        }
    }
}

/// An escalation notice to one target (kept as a document of kind notice).
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
    /// Notices for the escalations among `events` (appended to `case` at
    /// sequence numbers after `version`), one per target.
    pub(crate) fn notices_for(
        &self,
        targets: &[NoticeTarget],
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
                    DocKind::Notice,
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
            let page = self.store.list_docs(DocKind::Notice, after, 500).await?;
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

    /// Notices not yet delivered (pending, being sent, or failed), for an
    /// operator; `status` keeps only those in that state.
    pub async fn list_notices(
        &self,
        p: &Principal,
        status: Option<NoticeStatus>,
    ) -> Result<Vec<Notice>, ServiceError> {
        self.authorize(p, Permission::Operate, "list_notices")
            .await?;
        Ok(self
            .notices()
            .await?
            .into_iter()
            .map(|(_, n)| n)
            .filter(|n| status.as_ref().is_none_or(|s| n.status == *s))
            .collect())
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
            .store
            .write_docs(vec![DocWrite::put(
                DocKind::Notice,
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
        n.attempts += 1;
        let key = n.id.clone();
        let event = match &result {
            Ok(()) => Some(Event::NoticeDelivered {
                step: n.step,
                due: n.due,
                target: n.target.clone(),
                attempts: n.attempts,
            }),
            Err(e) if n.attempts >= retry.max_attempts => Some(Event::NoticeFailed {
                step: n.step,
                due: n.due,
                target: n.target.clone(),
                attempts: n.attempts,
                error: e.chars().take(500).collect(),
            }),
            Err(_) => None,
        };
        let doc = match &result {
            Ok(()) => DocWrite::delete(DocKind::Notice, key, DocExpect::Version(version)),
            Err(e) => {
                n.last_error = Some(e.chars().take(500).collect());
                n.lease_until = None;
                if event.is_some() {
                    n.status = NoticeStatus::Failed;
                } else {
                    n.status = NoticeStatus::Pending;
                    n.next_attempt_at = wall_now() + retry.wait_after(n.attempts);
                }
                DocWrite::put(DocKind::Notice, key, DocExpect::Version(version), &n)
            }
        };
        let Some(event) = event else {
            match self.store.write_docs(vec![doc]).await {
                Ok(_) | Err(StoreError::DocConflict { .. }) => return Ok(()),
                Err(e) => return Err(e.into()),
            }
        };
        // The outcome goes on the case, with the notice, in one transaction.
        let r = self
            .on_case(n.case_id, &ActorName::system(), |_, _| {
                Ok(Decision::Append {
                    events: vec![event.clone()],
                    docs: vec![doc.clone()],
                })
            })
            .await;
        match r {
            Ok(_) => Ok(()),
            // Another sender finished it (its lease ran out meanwhile).
            Err(ServiceError::Store(StoreError::DocConflict { .. })) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
