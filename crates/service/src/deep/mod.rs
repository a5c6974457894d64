//! `tocsin audit verify --deep`: what the ledger alone proves about the
//! record, beyond its integrity (which [`tocsin_store::verify`] checks).
//!
//! The accounts stream and every case are folded from the ledger, and:
//!
//! 1. every case action was taken by an account that existed, was enabled,
//!    held a role granting the action's permission, and could see the case
//!    (clearance, compartments, element) *at that ledger position*; a
//!    report was marked within its submitter's clearance and compartments;
//! 2. no two-person rule was satisfied by one person: the second step is by
//!    another account, and neither account's password descends from a
//!    one-time secret the other set;
//! 3. every query-table row and every derived document equals the fold;
//! 4. the records stream keeps its own rules ([`records`]): each hold's
//!    and each disposal's two people are two, every disposed leaf is named
//!    by exactly one tombstone, no record was disposed of while a hold
//!    covered it or before the schedule in force made it eligible, and
//!    every oversight export names every case its query covered.
//!
//! The first discrepancy is named, with its ledger position when it has
//! one. An edit made directly in the database (roles in an account
//! document, a case's marking columns, a token document) or an event
//! appended by someone who bypassed the service is found here even when
//! the hashes and checkpoints were recomputed with the key.

use std::collections::HashMap;

use tocsin_domain::access::{Account, ClearanceLevels, Permission, Visibility, visibility};
use tocsin_domain::case::{Action, Case, SecondStep};
use tocsin_domain::event::Event;
use tocsin_domain::{ActorName, LoadedPolicy};
use tocsin_store::{CaseSummary, Doc, DocKind, StoredEvent, StreamId};

mod records;

use crate::projection::{account_doc, account_doc_key};
use crate::rebuild::{Docs, Numbering};
use crate::{Service, ServiceError};

/// What a deep verification went through.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeepReport {
    pub cases: u64,
    /// Case events whose authorization was checked.
    pub actions: u64,
    pub events: u64,
    /// Derived documents compared.
    pub docs: u64,
}

/// The first thing the ledger does not bear out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Discrepancy {
    /// The ledger position of the event at fault, when there is one.
    pub position: Option<u64>,
    pub problem: String,
}

impl std::fmt::Display for Discrepancy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.position {
            Some(p) => write!(f, "position {p}: {}", self.problem),
            None => f.write_str(&self.problem),
        }
    }
}

/// The accounts as the ledger says they were, position by position.
#[derive(Default)]
struct History {
    accounts: HashMap<ActorName, Vec<(u64, Account)>>,
    /// Who set each account's password, or the one-time secret it
    /// descends from, when another account did.
    set_by: HashMap<ActorName, Vec<(u64, Option<ActorName>)>>,
    levels: Vec<(u64, ClearanceLevels)>,
}

/// The value in force just before `pos`: the last one recorded earlier.
fn at<T>(timeline: &[(u64, T)], pos: u64) -> Option<&T> {
    let i = timeline.partition_point(|(p, _)| *p < pos);
    i.checked_sub(1).map(|i| &timeline[i].1)
}

impl History {
    fn of(stream: &[StoredEvent]) -> Result<History, ServiceError> {
        let mut h = History::default();
        let mut docs: HashMap<(DocKind, String), Doc> = HashMap::new();
        for e in stream {
            let event = &e.envelope.event;
            match event {
                Event::ClearanceLevelsSet { levels } => h.levels.push((e.position, levels.clone())),
                Event::PasswordChanged { name, .. } => {
                    let by = &e.envelope.actor;
                    let set_by = if by == name {
                        at(h.set_by.get(name).map_or(&[][..], |v| v), e.position)
                            .cloned()
                            .flatten()
                    } else if *by == ActorName::system() {
                        None
                    } else {
                        Some(by.clone())
                    };
                    h.set_by
                        .entry(name.clone())
                        .or_default()
                        .push((e.position, set_by));
                }
                _ => {}
            }
            let Some(target) = account_doc_key(event) else {
                continue;
            };
            if let Some((kind, key, body)) =
                account_doc(event, e.envelope.recorded_at, docs.get(&target))?
            {
                let version = docs.get(&target).map_or(1, |d| d.version + 1);
                let doc = Doc {
                    kind,
                    key,
                    version,
                    body,
                };
                if kind == DocKind::Account {
                    let a: Account = doc.parse()?;
                    h.accounts
                        .entry(a.name.clone())
                        .or_default()
                        .push((e.position, a));
                }
                docs.insert(target, doc);
            }
        }
        Ok(h)
    }

    fn account(&self, name: &ActorName, pos: u64) -> Option<&Account> {
        at(self.accounts.get(name)?, pos)
    }

    fn set_by(&self, name: &ActorName, pos: u64) -> Option<&ActorName> {
        at(self.set_by.get(name)?, pos)?.as_ref()
    }

    /// Whether `a` and `b` may be one person at `pos`: one account, or one
    /// holding a password descending from a one-time secret the other set.
    fn one_person(&self, a: &ActorName, b: &ActorName, pos: u64) -> bool {
        a == b || self.set_by(a, pos) == Some(b) || self.set_by(b, pos) == Some(a)
    }

    fn levels(&self, pos: u64) -> ClearanceLevels {
        at(&self.levels, pos).cloned().unwrap_or_default()
    }
}

/// What taking the step a case event records needs.
struct Need {
    /// In words, for a refusal ("approve warning").
    what: &'static str,
    permission: Permission,
    /// Whether the account must see the case (a contribution is sent to a
    /// case its sender may not see).
    sees: bool,
}

/// What the step a case event records needs, when a person takes it
/// (follow-ons such as deadlines and closure, refusals, screenings and
/// what tocsin's own sweep records need nothing of their own).
fn need_of(event: &Event) -> Option<Need> {
    let across = |what, permission, sees| {
        Some(Need {
            what,
            permission,
            sees,
        })
    };
    match event {
        Event::ContributionSubmitted { .. } => {
            return across("contribute", Permission::SubmitReport, false);
        }
        Event::ContributionAccepted { .. } | Event::ContributionDeclined { .. } => {
            return across("decide a contribution", Permission::Analyse, true);
        }
        Event::RelationProposed { .. } => {
            return across("propose a merge or link", Permission::Analyse, true);
        }
        // Recorded on both cases by whoever made it (the second lead
        // analyst to ask), who need see only their own: each case's own
        // proposal was checked above.
        Event::CasesMerged { .. } | Event::CasesLinked { .. } => {
            return across("merge or link cases", Permission::Analyse, false);
        }
        Event::DisputeRaised { .. } => {
            return across("raise a dispute", Permission::ReadCase, true);
        }
        Event::DisputeResolved { .. } => {
            return across("resolve a dispute", Permission::Arbitrate, true);
        }
        _ => {}
    }
    let action = action_of(event)?;
    Some(Need {
        what: action.as_str(),
        permission: action.permission(),
        sees: true,
    })
}

/// The action a case event records, when a person takes it.
fn action_of(event: &Event) -> Option<Action> {
    Some(match event {
        Event::ReportAttached { .. } => Action::AttachReport,
        Event::AssessmentRecorded { .. } => Action::Assess,
        Event::DeterminationMade { .. } => Action::Determine,
        Event::WaiverRequested { .. } => Action::RequestWaiver,
        Event::WaiverApproved { .. } => Action::ApproveWaiver,
        Event::WaiverRejected { .. } => Action::RejectWaiver,
        Event::RouteChosen { .. } => Action::ChooseRoute,
        Event::WarningDrafted { .. } => Action::DraftWarning,
        Event::WarningApproved { .. } => Action::ApproveWarning,
        Event::DeliveryRecorded { .. } => Action::RecordDelivery,
        Event::ResponseRecorded { .. } => Action::RecordResponse,
        Event::PublicAdvisoryDecided { .. } => Action::DecidePublicAdvisory,
        Event::OutcomeRecorded { .. } => Action::RecordOutcome,
        Event::ReassessmentStarted { .. } => Action::Reassess,
        Event::CaseHandedOff { .. } => Action::HandOff,
        Event::IndependenceMarked { .. } => Action::MarkIndependence,
        Event::DeterminationConfirmed { .. } => Action::ConfirmDetermination,
        _ => return None,
    })
}

/// Who took the first step of the two-person rule `event` is the second
/// step of, on `case` as it was before it.
fn first_person(case: &Case, event: &Event, policy: &LoadedPolicy) -> Option<ActorName> {
    let second = match event {
        Event::WaiverApproved { waiver_id, .. } | Event::WaiverRejected { waiver_id, .. } => {
            SecondStep::Waiver(*waiver_id)
        }
        Event::WarningApproved {
            warning, version, ..
        } => SecondStep::Warning(*warning, *version),
        Event::DeterminationConfirmed { .. } => SecondStep::Confirmation,
        _ => return None,
    };
    case.first_person(second, policy)
}

/// Whether the ledger bears out the case event `e`, taken on `case` as it
/// was before it.
fn check_event(
    h: &History,
    case: Option<&Case>,
    e: &StoredEvent,
    policy: &LoadedPolicy,
) -> Result<(), Discrepancy> {
    let event = &e.envelope.event;
    let Some(need) = need_of(event) else {
        return Ok(());
    };
    let pos = e.position;
    let who = &e.envelope.actor;
    let fail = |problem: String| {
        Err(Discrepancy {
            position: Some(pos),
            problem: format!("{} by {who}: {problem}", event.kind()),
        })
    };
    if *who == ActorName::system() {
        return fail(format!(
            "recorded by tocsin itself, but only a person may {}",
            need.what
        ));
    }
    let Some(account) = h.account(who, pos) else {
        return fail("no such account at that point of the ledger".into());
    };
    if account.disabled {
        return fail("the account was disabled at that point of the ledger".into());
    }
    let permission = need.permission;
    let roles = &account.spec.roles;
    if !permission.granted_by(roles) {
        return fail(format!(
            "the account held no role granting {permission} then (its roles: {})",
            roles
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let levels = h.levels(pos);
    if let Event::ReportAttached { report, .. } = event {
        let m = &report.handling;
        let spec = &account.spec;
        if let Some(l) = &m.classification
            && !levels.at_or_below(&spec.clearance).contains(l)
        {
            return fail(format!(
                "the report is marked {l}, above the submitter's clearance then ({})",
                spec.clearance
            ));
        }
        if let Some(c) = m.compartments.difference(&spec.compartments).next() {
            return fail(format!(
                "the report carries compartment {c}, which the submitter did not hold then"
            ));
        }
        return Ok(());
    }
    let Some(case) = case else {
        return fail("recorded before the case was opened".into());
    };
    if need.sees && visibility(account, roles, &levels, &case.marking()) != Visibility::Visible {
        return fail(
            "the account could not see the case then (clearance, compartments or element)".into(),
        );
    }
    if let Some(first) = first_person(case, event, policy) {
        if first == *who {
            return fail(format!(
                "{who} also took the first step: one person satisfied a two-person rule"
            ));
        }
        if h.set_by(who, pos) == Some(&first) || h.set_by(&first, pos) == Some(who) {
            return fail(format!(
                "one of {first} and {who} held a password descending from a one-time secret the other set: they may be one person"
            ));
        }
    }
    Ok(())
}

/// The first field where two JSON values differ, by its path, with both
/// values.
fn first_difference(got: &serde_json::Value, want: &serde_json::Value) -> String {
    fn walk(path: &str, got: &serde_json::Value, want: &serde_json::Value) -> Option<String> {
        if got == want {
            return None;
        }
        let null = serde_json::Value::Null;
        if let (Some(g), Some(w)) = (got.as_object(), want.as_object()) {
            let at = |k: &str| {
                if path.is_empty() {
                    k.to_owned()
                } else {
                    format!("{path}.{k}")
                }
            };
            for (k, wv) in w {
                if let Some(d) = walk(&at(k), g.get(k).unwrap_or(&null), wv) {
                    return Some(d);
                }
            }
            for (k, gv) in g {
                if !w.contains_key(k) {
                    return Some(format!("{} is {gv} where the ledger gives nothing", at(k)));
                }
            }
            return None;
        }
        let path = if path.is_empty() { "it" } else { path };
        Some(format!("{path} is {got} where the ledger gives {want}"))
    }
    walk("", got, want).unwrap_or_else(|| "they differ".into())
}

fn json<T: serde::Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or_default()
}

impl Service {
    /// Folds the accounts stream and every case from the ledger alone and
    /// checks what [the module](self) says. `Ok(Err(_))` names the first
    /// discrepancy; `Err` is a failure to read.
    pub async fn verify_deep(&self) -> Result<Result<DeepReport, Discrepancy>, ServiceError> {
        let accounts = self.store.read_stream(&StreamId::Accounts).await?;
        let history = History::of(&accounts)?;
        let ids = self.store.case_ids().await?;
        let mut report = DeepReport {
            cases: ids.len() as u64,
            actions: 0,
            events: accounts.len() as u64,
            docs: 0,
        };
        let mut numbering = Numbering::default();
        let mut counters: std::collections::BTreeMap<String, i64> = Default::default();
        let mut formats: std::collections::BTreeSet<String> = Default::default();
        for id in ids {
            let stream = self.store.read_stream(&StreamId::Case(id)).await?;
            report.events += stream.len() as u64;
            let mut case: Option<Case> = None;
            for e in &stream {
                if let Err(d) = check_event(&history, case.as_ref(), e, &self.policy) {
                    return Ok(Err(d));
                }
                report.actions += u64::from(need_of(&e.envelope.event).is_some());
                let r = e.to_recorded();
                let corrupt = |source| ServiceError::Corrupt { case: id, source };
                match &mut case {
                    Some(c) => c.apply(&r).map_err(corrupt)?,
                    None => case = Some(Case::from_events(&[r]).map_err(corrupt)?),
                }
            }
            let Some(case) = case else { continue };
            let mut want = CaseSummary::of(&case, &self.policy);
            want.number = Some(numbering.next(&case)?);
            for (k, v) in tocsin_store::counts::contributions_of(&want) {
                *counters.entry(k).or_default() += v;
            }
            // A report row belongs to the case that listed it last (a
            // merged report is listed by both cases): the rows are not
            // compared per case, but the formats of their report numbers
            // (what the sanitiser reads) are, as a set, below.
            formats.extend(want.reports.iter().filter_map(|r| r.number_format.clone()));
            want.reports.clear();
            let shown = want.number.map(|n| n.to_string()).unwrap_or_default();
            match self.store.case_summary(id).await? {
                None => {
                    return Ok(Err(Discrepancy {
                        position: None,
                        problem: format!(
                            "case {shown} ({id}) is in the ledger but not in the query tables"
                        ),
                    }));
                }
                Some(mut got) => {
                    got.reports.clear();
                    if got != want {
                        return Ok(Err(Discrepancy {
                            position: None,
                            problem: format!(
                                "the query-table row of case {shown} ({id}) differs from the ledger: {}",
                                first_difference(&json(&got), &json(&want))
                            ),
                        }));
                    }
                }
            }
        }
        counters.retain(|_, v| *v != 0);
        let stored = self.store.case_counters().await?;
        if stored != counters {
            let name = counters
                .keys()
                .chain(stored.keys())
                .find(|k| counters.get(*k) != stored.get(*k))
                .cloned()
                .unwrap_or_default();
            return Ok(Err(Discrepancy {
                position: None,
                problem: format!(
                    "the case counter {name} is {} in the query tables and {} in the ledger",
                    stored.get(&name).copied().unwrap_or(0),
                    counters.get(&name).copied().unwrap_or(0)
                ),
            }));
        }
        let stored: std::collections::BTreeSet<String> = self
            .store
            .report_number_formats()
            .await?
            .into_iter()
            .collect();
        if let Some(f) = formats.symmetric_difference(&stored).next() {
            let (is, want) = (stored.contains(f), formats.contains(f));
            return Ok(Err(Discrepancy {
                position: None,
                problem: format!(
                    "the report-number format {f} is {} the query tables and {} the ledger",
                    if is { "in" } else { "not in" },
                    if want { "in" } else { "not in" },
                ),
            }));
        }
        let (want, _) = self.folded_docs().await?;
        match self.compare_docs(&want).await? {
            Ok(n) => report.docs = n,
            Err(d) => return Ok(Err(d)),
        }
        if let Err(d) = self.check_records(&history).await? {
            return Ok(Err(d));
        }
        Ok(Ok(report))
    }

    /// Every stored document of a derived kind equals the fold, and every
    /// folded one is stored.
    async fn compare_docs(&self, want: &Docs) -> Result<Result<u64, Discrepancy>, ServiceError> {
        let mut seen = 0u64;
        let differ = |problem: String| {
            Ok(Err(Discrepancy {
                position: None,
                problem,
            }))
        };
        for kind in DocKind::ALL.into_iter().filter(|k| k.derived()) {
            let mut after = None;
            loop {
                let page = self.store.list_docs(kind, after.clone(), 1000).await?;
                for d in &page {
                    seen += 1;
                    let body = |b: &[u8]| serde_json::from_slice::<serde_json::Value>(b).ok();
                    match want.get(&(kind, d.key.clone())) {
                        None => {
                            return differ(format!(
                                "the {kind} document {} is not in the ledger",
                                d.key
                            ));
                        }
                        Some(w) if body(&w.body) != body(&d.body) => {
                            let (g, w) = (body(&d.body), body(&w.body));
                            return differ(format!(
                                "the {kind} document {} differs from the ledger: {}",
                                d.key,
                                first_difference(&g.unwrap_or_default(), &w.unwrap_or_default())
                            ));
                        }
                        Some(_) => {}
                    }
                }
                match page.last() {
                    Some(d) if page.len() == 1000 => after = Some(d.key.clone()),
                    _ => break,
                }
            }
        }
        let stored = seen;
        if (want.len() as u64) != stored {
            for (kind, key) in want.keys() {
                if self.store.get_doc(*kind, key).await?.is_none() {
                    return differ(format!(
                        "the {kind} document {key} is in the ledger but not in the store"
                    ));
                }
            }
        }
        Ok(Ok(stored))
    }
}
