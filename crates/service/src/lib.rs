//! # tocsin-service
//!
//! The application layer between the edges (CLI, HTTP) and the core. It
//! supplies what the pure domain does not have: the time, fresh ids, the
//! current state of a case (folded from the store), and it writes what the
//! domain decides.
//!
//! Every command runs as *load → decide → append*: the case is folded from
//! its events, [`Case::handle`] checks the command and returns events, and
//! the store appends them only if nobody else appended to the case in the
//! meantime (optimistic concurrency on the stream version). On a conflict
//! the command is re-run against the new state, so two approvers racing can
//! never both succeed: the second sees the waiver already decided.
//!
//! Refusals that oversight must see (a two-person violation, a waiver on an
//! unlisted ground, a missing role) are appended to the case as
//! `attempt_refused` before the error is returned.

pub mod accounts;

mod erased {
    /// Object-safe JSON encoding of our own (always serialisable) types.
    pub trait Json {
        fn to_vec(&self) -> Vec<u8>;
    }
    impl<T: serde::Serialize> Json for T {
        fn to_vec(&self) -> Vec<u8> {
            serde_json::to_vec(self).unwrap_or_default()
        }
    }
}
pub mod reference;
pub mod screening;

use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock};

pub use accounts::{AccountError, AuthConfig, AuthError, NewSession, NewToken, Principal, Via};
pub use reference::{Notice, NoticeStatus, RetryPolicy};

use tocsin_domain::case::{Case, CaseError, Command, Ctx, FoldError, OpenCase};
use tocsin_domain::event::Event;
use tocsin_domain::{Actor, ActorName, CaseId, LoadedPolicy, ReportId, ThreatReport, Timestamp};
use tocsin_store::{
    Appended, CaseQuery, CaseSummary, DocWrite, EventEnvelope, NewEvents, Page, ProjectionDigest,
    Store, StoreError, StreamId,
};

/// Where "now" comes from.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// The system clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that only moves when told: for tests, the demo and replays.
pub struct ManualClock(Mutex<Timestamp>);

impl ManualClock {
    pub fn new(t: Timestamp) -> Self {
        Self(Mutex::new(t))
    }
    pub fn set(&self, t: Timestamp) {
        if let Ok(mut g) = self.0.lock() {
            *g = t;
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        self.0
            .lock()
            .map(|g| *g)
            .unwrap_or_else(|e| *e.into_inner())
    }
}

/// Why a service call failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("there is no case {0}")]
    CaseNotFound(String),
    #[error("'{prefix}' matches {count} cases; give more of the id")]
    AmbiguousCase { prefix: String, count: usize },
    #[error(transparent)]
    Refused(#[from] CaseError),
    #[error("case {0} kept changing while this command ran ({1} attempts); try again")]
    Contention(CaseId, u32),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("case {case}: the recorded events do not fold: {source}")]
    Corrupt { case: CaseId, source: FoldError },
    #[error(transparent)]
    Account(#[from] AccountError),
    #[error(transparent)]
    Auth(#[from] AuthError),
}

/// A report that went in.
#[derive(Debug, Clone)]
pub struct Submitted {
    pub case_id: CaseId,
    pub report_id: ReportId,
    /// The report opened a new case (rather than joining one).
    pub new_case: bool,
    pub appended: Appended,
    pub case: Case,
}

/// A command that went through.
#[derive(Debug, Clone)]
pub struct Executed {
    pub case: Case,
    pub events: Vec<Event>,
    pub appended: Appended,
}

/// What a sweep did.
#[derive(Debug, Clone, Default)]
pub struct SweepReport {
    pub cases_checked: u64,
    pub events: Vec<(CaseId, Event)>,
}

/// What a rebuild of the query tables found.
#[derive(Debug, Clone)]
pub struct RebuildReport {
    pub cases: u64,
    pub events: u64,
    pub before: ProjectionDigest,
    pub after: ProjectionDigest,
}

impl RebuildReport {
    pub fn identical(&self) -> bool {
        self.before == self.after
    }
}

pub(crate) const MAX_ATTEMPTS: u32 = 16;

/// The application service.
pub struct Service {
    store: Arc<dyn Store>,
    policy: Arc<LoadedPolicy>,
    clock: Arc<dyn Clock>,
    adopted: Mutex<HashSet<String>>,
    auth: AuthConfig,
    /// Password hashes computed at once (each takes tens of ms of a core).
    hashing: tokio::sync::Semaphore,
    throttle: accounts::Throttle,
    dummy: OnceLock<String>,
    /// Screening indexes per loaded registry version.
    indexes: screening::Indexes,
}

fn new_uuid() -> uuid::Uuid {
    uuid::Uuid::now_v7()
}

impl Service {
    pub fn new(store: Arc<dyn Store>, policy: Arc<LoadedPolicy>, clock: Arc<dyn Clock>) -> Self {
        Self::with_auth(store, policy, clock, AuthConfig::default())
    }

    pub fn with_auth(
        store: Arc<dyn Store>,
        policy: Arc<LoadedPolicy>,
        clock: Arc<dyn Clock>,
        auth: AuthConfig,
    ) -> Self {
        Self {
            store,
            policy,
            clock,
            adopted: Mutex::new(HashSet::new()),
            auth,
            hashing: tokio::sync::Semaphore::new(2),
            throttle: accounts::Throttle::default(),
            dummy: OnceLock::new(),
            indexes: screening::Indexes::default(),
        }
    }

    pub fn auth_config(&self) -> &AuthConfig {
        &self.auth
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn policy(&self) -> &LoadedPolicy {
        &self.policy
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    fn envelope(&self, actor: &ActorName, now: Timestamp, event: Event) -> EventEnvelope {
        EventEnvelope {
            recorded_at: now,
            actor: actor.clone(),
            event,
        }
    }

    /// Submits a report: it opens a new case, or joins `case` when given.
    pub async fn submit_report(
        &self,
        actor: &Actor,
        report: ThreatReport,
        case: Option<CaseId>,
        owner: Option<ActorName>,
    ) -> Result<Submitted, ServiceError> {
        self.submit_report_with(actor, report, case, owner, |_, _, _| Vec::new())
            .await
    }

    /// [`Service::submit_report`], writing `docs(case, report, new_case)`
    /// in the same transaction (an idempotency record, say).
    pub async fn submit_report_with(
        &self,
        actor: &Actor,
        report: ThreatReport,
        case: Option<CaseId>,
        owner: Option<ActorName>,
        docs: impl Fn(CaseId, ReportId, bool) -> Vec<DocWrite>,
    ) -> Result<Submitted, ServiceError> {
        let report_id = ReportId::from_uuid(new_uuid());
        // Victims and threat actor against the registries, in the same append.
        let screening = self.screening_events(report_id, &report).await;
        if let Some(case_id) = case {
            let ex = self
                .execute_full(
                    actor,
                    case_id,
                    Command::AttachReport {
                        report_id,
                        report: Box::new(report),
                    },
                    docs(case_id, report_id, false),
                    screening,
                )
                .await?;
            return Ok(Submitted {
                case_id,
                report_id,
                new_case: false,
                appended: ex.appended,
                case: ex.case,
            });
        }
        let case_id = CaseId::from_uuid(new_uuid());
        let now = self.clock.now();
        let mut events = Case::open(
            OpenCase {
                case_id,
                report_id,
                report,
                owner,
            },
            Ctx {
                actor,
                now,
                policy: &self.policy,
            },
        )?;
        events.extend(screening);
        let envelopes: Vec<EventEnvelope> = events
            .iter()
            .cloned()
            .map(|e| self.envelope(&actor.name, now, e))
            .collect();
        let case = fold_new(case_id, None, &envelopes)?;
        let appended = self
            .store
            .append(NewEvents {
                stream: StreamId::Case(case_id),
                expected_version: Some(0),
                events: envelopes,
                summary: Some(CaseSummary::of(&case, &self.policy)),
                docs: docs(case_id, report_id, true),
            })
            .await?;
        Ok(Submitted {
            case_id,
            report_id,
            new_case: true,
            appended,
            case,
        })
    }

    /// Loads a case (folded from its events) and its stream events.
    pub async fn load(&self, id: CaseId) -> Result<Case, ServiceError> {
        let events = self.store.read_stream(&StreamId::Case(id)).await?;
        if events.is_empty() {
            return Err(ServiceError::CaseNotFound(id.to_string()));
        }
        let recorded: Vec<_> = events.iter().map(|e| e.to_recorded()).collect();
        Case::from_events(&recorded).map_err(|source| ServiceError::Corrupt { case: id, source })
    }

    /// Finds a case by its id or a unique prefix of at least 4 characters.
    pub async fn resolve(&self, id_or_prefix: &str) -> Result<CaseId, ServiceError> {
        let s = id_or_prefix.trim();
        if let Ok(id) = s.parse::<CaseId>() {
            return Ok(id);
        }
        if s.len() < 4 || !s.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            return Err(ServiceError::CaseNotFound(s.to_owned()));
        }
        let found = self
            .store
            .case_ids_with_prefix(&s.to_ascii_lowercase(), 2)
            .await?;
        match found.as_slice() {
            [one] => Ok(*one),
            [] => Err(ServiceError::CaseNotFound(s.to_owned())),
            _ => Err(ServiceError::AmbiguousCase {
                prefix: s.to_owned(),
                count: found.len(),
            }),
        }
    }

    /// Runs a command on a case, re-running it on the new state if another
    /// command got there first.
    pub async fn execute(
        &self,
        actor: &Actor,
        case_id: CaseId,
        cmd: Command,
    ) -> Result<Executed, ServiceError> {
        self.execute_with(actor, case_id, cmd, Vec::new()).await
    }

    /// [`Service::execute`], writing `docs` in the same transaction as the events.
    pub async fn execute_with(
        &self,
        actor: &Actor,
        case_id: CaseId,
        cmd: Command,
        docs: Vec<DocWrite>,
    ) -> Result<Executed, ServiceError> {
        self.execute_full(actor, case_id, cmd, docs, Vec::new())
            .await
    }

    /// [`Service::execute_with`], appending `extra` events (recorded facts
    /// such as a screening) after the command's own when it succeeds.
    async fn execute_full(
        &self,
        actor: &Actor,
        case_id: CaseId,
        cmd: Command,
        docs: Vec<DocWrite>,
        extra: Vec<Event>,
    ) -> Result<Executed, ServiceError> {
        for _ in 0..MAX_ATTEMPTS {
            let events = self.store.read_stream(&StreamId::Case(case_id)).await?;
            if events.is_empty() {
                return Err(ServiceError::CaseNotFound(case_id.to_string()));
            }
            let recorded: Vec<_> = events.iter().map(|e| e.to_recorded()).collect();
            let case = Case::from_events(&recorded).map_err(|source| ServiceError::Corrupt {
                case: case_id,
                source,
            })?;
            let now = self.clock.now();
            let ctx = Ctx {
                actor,
                now,
                policy: &self.policy,
            };
            // The service checks the two-person rule itself before the
            // domain does, so neither alone is a single point of failure.
            let decided = match two_person_guard(&case, &cmd, actor, &self.policy) {
                Err(e) => Err(e),
                Ok(()) => case.handle(cmd.clone(), ctx),
            };
            let new_events = match decided {
                Ok(mut ev) => {
                    ev.extend(extra.iter().cloned());
                    ev
                }
                Err(e) if e.is_recordable() => {
                    let refusal = Event::AttemptRefused {
                        action: cmd.action(),
                        reason: e.to_string(),
                    };
                    match self
                        .append_to(&case, actor, now, vec![refusal], Vec::new())
                        .await
                    {
                        Ok(_) => return Err(ServiceError::Refused(e)),
                        Err(ServiceError::Store(StoreError::Conflict { .. })) => continue,
                        Err(other) => return Err(other),
                    }
                }
                Err(e) => return Err(ServiceError::Refused(e)),
            };
            if new_events
                .iter()
                .any(|e| matches!(e, Event::DeterminationMade { .. }))
            {
                self.ensure_policy_adopted().await?;
            }
            match self
                .append_to(&case, actor, now, new_events.clone(), docs.clone())
                .await
            {
                Ok((case, appended)) => {
                    return Ok(Executed {
                        case,
                        events: new_events,
                        appended,
                    });
                }
                Err(ServiceError::Store(StoreError::Conflict { .. })) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(ServiceError::Contention(case_id, MAX_ATTEMPTS))
    }

    async fn append_to(
        &self,
        case: &Case,
        actor: &Actor,
        now: Timestamp,
        events: Vec<Event>,
        docs: Vec<DocWrite>,
    ) -> Result<(Case, Appended), ServiceError> {
        let envelopes: Vec<EventEnvelope> = events
            .into_iter()
            .map(|e| self.envelope(&actor.name, now, e))
            .collect();
        let after = fold_new(case.id, Some(case), &envelopes)?;
        let appended = self
            .store
            .append(NewEvents {
                stream: StreamId::Case(case.id),
                expected_version: Some(case.version),
                events: envelopes,
                summary: Some(CaseSummary::of(&after, &self.policy)),
                docs,
            })
            .await?;
        Ok((after, appended))
    }

    /// Makes sure the text of the active policy is in the ledger.
    pub async fn ensure_policy_adopted(&self) -> Result<(), ServiceError> {
        let sha = self.policy.sha256.clone();
        if self
            .adopted
            .lock()
            .map(|s| s.contains(&sha))
            .unwrap_or(false)
        {
            return Ok(());
        }
        for _ in 0..MAX_ATTEMPTS {
            let events = self.store.read_stream(&StreamId::System).await?;
            let present = events.iter().any(|e| {
                matches!(&e.envelope.event, Event::PolicyAdopted { policy, .. } if policy.sha256 == sha)
            });
            if !present {
                let r = self
                    .store
                    .append(NewEvents::new(
                        StreamId::System,
                        events.len() as u64,
                        vec![self.envelope(
                            &ActorName::system(),
                            self.clock.now(),
                            Event::PolicyAdopted {
                                policy: self.policy.reference(),
                                origin: self.policy.origin.clone(),
                                source: self.policy.source.clone(),
                            },
                        )],
                    ))
                    .await;
                match r {
                    Ok(_) => {}
                    Err(StoreError::Conflict { .. }) => continue,
                    Err(e) => return Err(e.into()),
                }
            }
            if let Ok(mut s) = self.adopted.lock() {
                s.insert(sha);
            }
            return Ok(());
        }
        Err(ServiceError::Store(StoreError::Backend(
            "the system stream kept changing".into(),
        )))
    }

    /// A page of cases from the query tables.
    pub async fn list(&self, q: &CaseQuery) -> Result<Page<CaseSummary>, ServiceError> {
        Ok(self.store.list_cases(q).await?)
    }

    /// Applies the clock to every open case: escalations of overdue steps and
    /// re-assessment flags. Each event is recorded once.
    pub async fn sweep(&self) -> Result<SweepReport, ServiceError> {
        let mut report = SweepReport::default();
        // Only the cases whose time has come (the query tables keep when
        // each next needs the clock), not every open case.
        let mut q = CaseQuery {
            open_only: true,
            sweep_due_at: Some(self.clock.now()),
            limit: 500,
            ..Default::default()
        };
        let system = Actor::system();
        let targets = self.notification_targets().await?;
        loop {
            let page = self.store.list_cases(&q).await?;
            for s in &page.items {
                report.cases_checked += 1;
                for _ in 0..MAX_ATTEMPTS {
                    let events = self.store.read_stream(&StreamId::Case(s.id)).await?;
                    let recorded: Vec<_> = events.iter().map(|e| e.to_recorded()).collect();
                    let case = Case::from_events(&recorded)
                        .map_err(|source| ServiceError::Corrupt { case: s.id, source })?;
                    let now = self.clock.now();
                    let due = case.sweep(now, &self.policy);
                    if due.is_empty() {
                        break;
                    }
                    let notices = self.notices_for(&targets, case.id, case.version, &due, now);
                    match self
                        .append_to(&case, &system, now, due.clone(), notices)
                        .await
                    {
                        Ok(_) => {
                            report.events.extend(due.into_iter().map(|e| (s.id, e)));
                            break;
                        }
                        Err(ServiceError::Store(StoreError::Conflict { .. })) => continue,
                        Err(e) => return Err(e),
                    }
                }
            }
            match page.next {
                Some(c) => q.after = Some(c),
                None => break,
            }
        }
        Ok(report)
    }

    /// Rebuilds the query tables from the ledger and says whether they came
    /// out identical to what was there.
    pub async fn rebuild(&self) -> Result<RebuildReport, ServiceError> {
        let before = self.store.projection_digest().await?;
        let ids = self.store.case_ids().await?;
        let mut summaries = Vec::with_capacity(ids.len());
        let mut events = 0u64;
        for id in &ids {
            let stream = self.store.read_stream(&StreamId::Case(*id)).await?;
            events += stream.len() as u64;
            let recorded: Vec<_> = stream.iter().map(|e| e.to_recorded()).collect();
            let case = Case::from_events(&recorded)
                .map_err(|source| ServiceError::Corrupt { case: *id, source })?;
            summaries.push(CaseSummary::of(&case, &self.policy));
        }
        let mut docs: std::collections::BTreeMap<
            (tocsin_store::DocKind, String),
            tocsin_store::Doc,
        > = std::collections::BTreeMap::new();
        let accounts = self.store.read_stream(&StreamId::Accounts).await?;
        events += accounts.len() as u64;
        for e in &accounts {
            let Some(target) = accounts::target(&e.envelope.event) else {
                continue;
            };
            let current = docs.get(&target);
            if let Some((kind, key, body)) =
                accounts::project(&e.envelope.event, e.envelope.recorded_at, current)?
            {
                let version = current.map(|d| d.version + 1).unwrap_or(1);
                docs.insert(
                    (kind, key.clone()),
                    tocsin_store::Doc {
                        kind,
                        key,
                        version,
                        body,
                    },
                );
            }
        }
        let reference = self.store.read_stream(&StreamId::Reference).await?;
        events += reference.len() as u64;
        for e in &reference {
            if let Some((kind, key, body)) = reference::project(&e.envelope.event) {
                match body {
                    Some(body) => {
                        let version = docs
                            .get(&(kind, key.clone()))
                            .map(|d| d.version + 1)
                            .unwrap_or(1);
                        docs.insert(
                            (kind, key.clone()),
                            tocsin_store::Doc {
                                kind,
                                key,
                                version,
                                body,
                            },
                        );
                    }
                    None => {
                        docs.remove(&(kind, key));
                    }
                }
            }
        }
        self.store
            .replace_projections(summaries, docs.into_values().collect())
            .await?;
        let after = self.store.projection_digest().await?;
        Ok(RebuildReport {
            cases: ids.len() as u64,
            events,
            before,
            after,
        })
    }
}

/// The two-person rule, checked by the service independently of the
/// domain: the requester of a waiver never decides it; the drafter of a
/// warning never approves it when the policy makes that two-person.
fn two_person_guard(
    case: &Case,
    cmd: &Command,
    actor: &Actor,
    policy: &LoadedPolicy,
) -> Result<(), CaseError> {
    use tocsin_domain::case::Action;
    match cmd {
        Command::ApproveWaiver { waiver_id, .. } | Command::RejectWaiver { waiver_id, .. } => {
            if let Some(w) = case.waivers.iter().find(|w| w.id == *waiver_id)
                && w.requested_by == actor.name
            {
                return Err(CaseError::TwoPersonRule {
                    action: cmd.action(),
                    who: actor.name.clone(),
                    role: "requested this waiver",
                    approver: policy.policy.waiver.approver_role,
                });
            }
        }
        Command::ApproveWarning { version, .. } => {
            if policy.policy.approvals.warning.two_person
                && let Some(w) = case.warnings.iter().find(|w| w.version == *version)
                && w.drafted_by == actor.name
            {
                return Err(CaseError::TwoPersonRule {
                    action: Action::ApproveWarning,
                    who: actor.name.clone(),
                    role: "drafted this warning",
                    approver: policy.policy.approvals.warning.approver_role,
                });
            }
        }
        _ => {}
    }
    Ok(())
}

/// Folds `new` onto `case` (or opens a case from `new`).
fn fold_new(id: CaseId, case: Option<&Case>, new: &[EventEnvelope]) -> Result<Case, ServiceError> {
    let start = case.map(|c| c.version).unwrap_or(0);
    let recorded: Vec<tocsin_domain::RecordedEvent> = new
        .iter()
        .enumerate()
        .map(|(i, e)| tocsin_domain::RecordedEvent {
            seq: start + i as u64 + 1,
            recorded_at: e.recorded_at,
            actor: e.actor.clone(),
            event: e.event.clone(),
        })
        .collect();
    let corrupt = |source| ServiceError::Corrupt { case: id, source };
    match case {
        None => Case::from_events(&recorded).map_err(corrupt),
        Some(c) => {
            let mut c = c.clone();
            for e in &recorded {
                c.apply(e).map_err(corrupt)?;
            }
            Ok(c)
        }
    }
}
