//! Load → decide → append, with one retry loop.
//!
//! [`Service::on_case`] is the only place that writes to a case stream: it
//! folds the case from its events, asks a decision of the current state,
//! appends what the decision wants with the version it read, and on a
//! conflict (someone appended first) goes round again with the new state.
//! Commands ([`Service::execute`]), the clock's sweep and the outcomes of
//! escalation notices all go through it.

use tocsin_domain::access::ClearanceLevels;
use tocsin_domain::case::{Action, Case, CaseError, Command, Ctx, SecondStep};
use tocsin_domain::event::Event;
use tocsin_domain::{Actor, ActorName, CaseId, LoadedPolicy, RecordedEvent, Timestamp};
use tocsin_store::{
    Appended, CaseSummary, DocWrite, EventEnvelope, NewEvents, StoreError, StreamId,
};

use crate::access::{Principal, Visible};
use crate::{MAX_ATTEMPTS, Service, ServiceError};

/// A command that went through.
#[derive(Debug, Clone)]
pub struct Executed {
    /// The case after the command.
    pub case: Case,
    /// The events recorded.
    pub events: Vec<Event>,
    pub appended: Appended,
}

/// What a decision on a case's current state wants written.
pub(crate) enum Decision {
    /// Append these events, and these documents in the same transaction.
    Append {
        events: Vec<Event>,
        docs: Vec<DocWrite>,
    },
    /// Record the refusal of `action` on the case, then fail with it.
    Refuse { action: Action, error: CaseError },
    /// Nothing to write.
    Nothing,
}

impl Service {
    /// Loads a case, folded from its events. Inside the service only: a
    /// face gets a case through [`Service::case`].
    pub(crate) async fn load(&self, id: CaseId) -> Result<Case, ServiceError> {
        let events = self.store.read_stream(&StreamId::Case(id)).await?;
        if events.is_empty() {
            return Err(ServiceError::CaseNotFound(id.to_string()));
        }
        let recorded: Vec<_> = events.iter().map(|e| e.to_recorded()).collect();
        Case::from_events(&recorded).map_err(|source| ServiceError::Corrupt { case: id, source })
    }

    /// The two people of a two-person rule are two people. The second step
    /// (deciding a waiver, approving a warning) is refused when the
    /// caller's credential descends from a secret the first person set, or
    /// the first person's from one the caller set: an admin who set
    /// someone's one-time enrolment secret could hold their credential.
    /// (The domain already refuses the same account twice.) Checked only on
    /// a case the caller may see; the refusal is recorded.
    async fn check_two_people(
        &self,
        p: &Principal,
        case_id: CaseId,
        cmd: &Command,
        levels: &ClearanceLevels,
    ) -> Result<(), ServiceError> {
        if !matches!(
            cmd,
            Command::ApproveWaiver { .. }
                | Command::RejectWaiver { .. }
                | Command::ApproveWarning { .. }
                | Command::ConfirmDetermination { .. }
        ) {
            return Ok(());
        }
        let Ok(case) = self.load(case_id).await else {
            return Ok(());
        };
        if !Service::sees(p, &case, levels) {
            return Ok(());
        }
        let Some(first) = first_person(&case, cmd, &self.policy) else {
            return Ok(());
        };
        self.check_second_person(p, &first, action_name(cmd.action()))
            .await
    }

    /// The credential-lineage half of every two-person rule (cases, legal
    /// holds, disposal batches): `p`, deciding `action` on what `first`
    /// asked for, is refused when `p`'s credential descends from a
    /// one-time secret `first` set, or `first`'s from one `p` set. The
    /// refusal is recorded. (Refusing the same account is the domain's.)
    pub(crate) async fn check_second_person(
        &self,
        p: &Principal,
        first: &ActorName,
        action: &str,
    ) -> Result<(), ServiceError> {
        let me = p.name();
        let reason = if p.credential_minted_by() == Some(first) {
            format!("{me}'s credential descends from a one-time secret {first} set")
        } else if self.password_set_by(first).await?.as_ref() == Some(me) {
            format!("{first}'s credential descends from a one-time secret {me} set")
        } else {
            return Ok(());
        };
        let reason = format!(
            "{me} cannot {} what {first} asked for: {reason}, so they may be one person; a second person must",
            action.replace('_', " ")
        );
        self.refuse(p, action, None, &reason).await;
        Err(ServiceError::Forbidden(reason))
    }

    /// What a command names must be real, and an approval must name the
    /// text approved: a hand-off goes to an enabled account and a
    /// registered element; a warning is approved only with the SHA-256 of
    /// the text the approver read.
    async fn check_arguments(&self, cmd: &Command) -> Result<(), ServiceError> {
        match cmd {
            Command::ApproveWarning { sha256: None, .. } => Err(ServiceError::invalid(
                "sha256",
                "give the SHA-256 of the text you read: an approval names the exact text approved",
            )),
            Command::HandOff {
                owner,
                lead_element,
                ..
            } => {
                match self.account(owner.as_str()).await? {
                    Some(a) if !a.disabled => {}
                    Some(_) => {
                        return Err(ServiceError::invalid(
                            "owner",
                            format_args!("the account '{owner}' is disabled"),
                        ));
                    }
                    None => {
                        return Err(ServiceError::invalid(
                            "owner",
                            format_args!("there is no account '{owner}'"),
                        ));
                    }
                }
                if self.element(lead_element.as_str()).await?.is_none() {
                    return Err(ServiceError::invalid(
                        "lead_element",
                        format_args!("there is no element '{lead_element}'"),
                    ));
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Runs a command on a case the caller may see, as the caller. The
    /// command is re-run on the new state if another got there first, and
    /// the caller's access is checked again against that state.
    pub async fn execute(
        &self,
        p: &Principal,
        case: &Visible<Case>,
        cmd: Command,
    ) -> Result<Executed, ServiceError> {
        self.command(p, case.id, cmd, Vec::new(), Vec::new()).await
    }

    /// [`Service::execute`] with documents written in the same transaction
    /// and `extra` events (recorded facts, such as a screening) appended
    /// after the command's own when it succeeds.
    pub(crate) async fn command(
        &self,
        p: &Principal,
        case_id: CaseId,
        cmd: Command,
        extra: Vec<Event>,
        docs: Vec<DocWrite>,
    ) -> Result<Executed, ServiceError> {
        let action = cmd.action();
        self.authorize(p, cmd.permission(), action_name(action))
            .await?;
        self.check_arguments(&cmd).await?;
        let levels: ClearanceLevels = self.clearance_levels().await?;
        self.check_two_people(p, case_id, &cmd, &levels).await?;
        let report_formats = match &cmd {
            Command::DraftWarning { .. } | Command::ApproveWarning { .. } => {
                self.report_formats().await?
            }
            _ => Vec::new(),
        };
        let actor = p.actor();
        let mut unseen: Option<Case> = None;
        let done = self
            .on_case(case_id, &actor.name, |case, now| {
                if !Service::sees(p, case, &levels) {
                    unseen = Some(case.clone());
                    return Ok(Decision::Nothing);
                }
                // The service checks the two-person rule itself before the
                // domain does, so neither alone is a single point of failure.
                let decided = two_person_guard(case, &cmd, &actor, &self.policy).and_then(|()| {
                    case.handle(
                        cmd.clone(),
                        Ctx {
                            actor: &actor,
                            now,
                            policy: &self.policy,
                            report_formats: &report_formats,
                        },
                    )
                });
                Ok(match decided {
                    Ok(mut events) => {
                        events.extend(extra.iter().cloned());
                        Decision::Append {
                            events,
                            docs: docs.clone(),
                        }
                    }
                    Err(error) if error.is_recordable() => Decision::Refuse { action, error },
                    Err(e) => return Err(ServiceError::Refused(e)),
                })
            })
            .await?;
        if let Some(case) = unseen {
            self.check_visible(p, &case, &levels, action_name(action))
                .await?;
        }
        done.ok_or_else(|| ServiceError::Contention(format!("case {case_id}")))
    }

    /// The one load → decide → append loop of a case stream. `decide` sees
    /// the folded case and the time; what it wants is appended by `by`
    /// with the version read. On a conflict the loop reloads and decides
    /// again. `Ok(None)` when the decision was to write nothing.
    pub(crate) async fn on_case(
        &self,
        id: CaseId,
        by: &ActorName,
        mut decide: impl FnMut(&Case, Timestamp) -> Result<Decision, ServiceError>,
    ) -> Result<Option<Executed>, ServiceError> {
        for _ in 0..MAX_ATTEMPTS {
            let case = self.load(id).await?;
            let now = self.clock.now();
            let (events, docs, refusal) = match decide(&case, now)? {
                Decision::Nothing => return Ok(None),
                Decision::Append { events, docs } => (events, docs, None),
                Decision::Refuse { action, error } => (
                    vec![Event::AttemptRefused {
                        action,
                        reason: error.to_string(),
                    }],
                    Vec::new(),
                    Some(error),
                ),
            };
            if events
                .iter()
                .any(|e| matches!(e, Event::DeterminationMade { .. }))
            {
                self.ensure_policy_adopted().await?;
            }
            match self.append_to(&case, by, now, events.clone(), docs).await {
                Ok((case, appended)) => {
                    return match refusal {
                        Some(e) => Err(ServiceError::Refused(e)),
                        None => Ok(Some(Executed {
                            case,
                            events,
                            appended,
                        })),
                    };
                }
                Err(e) if e.is_conflict() => continue,
                Err(e) => return Err(e),
            }
        }
        Err(ServiceError::Contention(format!("case {id}")))
    }

    /// Appends `events` to `case` at the version it was folded at, with the
    /// case's new summary for the query tables.
    pub(crate) async fn append_to(
        &self,
        case: &Case,
        by: &ActorName,
        now: Timestamp,
        events: Vec<Event>,
        docs: Vec<DocWrite>,
    ) -> Result<(Case, Appended), ServiceError> {
        let envelopes = envelopes(by, now, events);
        let after = fold_new(case.id, Some(case), &envelopes)?;
        let appended = self
            .store
            .append(NewEvents {
                stream: StreamId::Case(case.id),
                expected_version: Some(case.version),
                salts: crate::salts(&envelopes)?,
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
                let adopted = Event::PolicyAdopted {
                    policy: self.policy.reference(),
                    origin: self.policy.origin.clone(),
                    source: self.policy.source.clone(),
                };
                let r = self
                    .store
                    .append(NewEvents::new(
                        StreamId::System,
                        events.len() as u64,
                        envelopes(&ActorName::system(), self.clock.now(), vec![adopted]),
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
        Err(ServiceError::Contention("the system stream".into()))
    }
}

/// The name a refused command is recorded under (the permission check's
/// `action`).
fn action_name(a: Action) -> &'static str {
    a.as_str()
}

pub(crate) fn envelopes(by: &ActorName, now: Timestamp, events: Vec<Event>) -> Vec<EventEnvelope> {
    events
        .into_iter()
        .map(|event| EventEnvelope {
            recorded_at: now,
            actor: by.clone(),
            event,
        })
        .collect()
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
        Command::ApproveWarning {
            warning, version, ..
        } => {
            if policy.policy.approvals.warning.two_person
                && let Ok(n) = case.resolve_warning(*warning)
                && let Some(w) = case.warning(n).and_then(|w| w.version(*version))
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
        Command::ConfirmDetermination { .. } => {
            if let Some(d) = case.determination()
                && d.by == actor.name
            {
                return Err(CaseError::TwoPersonRule {
                    action: Action::ConfirmDetermination,
                    who: actor.name.clone(),
                    role: "made this determination",
                    approver: policy.policy.waiver.approver_role,
                });
            }
        }
        _ => {}
    }
    Ok(())
}

/// Who took the first step of the two-person rule `cmd` is the second
/// step of: the waiver's requester, or the drafter of the warning version
/// (when the policy makes warnings two-person).
fn first_person(case: &Case, cmd: &Command, policy: &LoadedPolicy) -> Option<ActorName> {
    let second = match cmd {
        Command::ApproveWaiver { waiver_id, .. } | Command::RejectWaiver { waiver_id, .. } => {
            SecondStep::Waiver(*waiver_id)
        }
        Command::ApproveWarning {
            warning, version, ..
        } => SecondStep::Warning(case.resolve_warning(*warning).ok()?, *version),
        Command::ConfirmDetermination { .. } => SecondStep::Confirmation,
        _ => return None,
    };
    case.first_person(second, policy)
}

/// Folds `new` onto `case` (or opens a case from `new`).
pub(crate) fn fold_new(
    id: CaseId,
    case: Option<&Case>,
    new: &[EventEnvelope],
) -> Result<Case, ServiceError> {
    let start = case.map(|c| c.version).unwrap_or(0);
    let recorded: Vec<RecordedEvent> = new
        .iter()
        .enumerate()
        .map(|(i, e)| RecordedEvent {
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
