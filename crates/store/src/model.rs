//! Values that cross the [`crate::Store`] trait.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tocsin_domain::case::{Case, CaseState};
use tocsin_domain::event::{Event, Independence};
use tocsin_domain::{ActorName, CaseId, ReportId, Timestamp};
use tocsin_ledger::Hash;

/// A stream of events: one per case, plus a few deployment-wide streams.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StreamId {
    Case(CaseId),
    /// Deployment-wide events (policy adoption).
    System,
    /// Elements, accounts, roles, tokens: every change an admin makes.
    Accounts,
    /// Reads of restricted content and refused attempts outside a case.
    Access,
    /// Reference data: states and their relations, the recipients directory.
    Reference,
    /// Registry (watch list, directory) imports.
    Registry,
    /// Exchange with partners: STIX bundles received, TAXII collections
    /// and the objects added to them.
    Exchange,
    /// Records management: the retention schedules adopted, legal holds,
    /// and the tombstones of disposed records.
    Records,
}

impl StreamId {
    /// The streams that are not cases.
    pub const DEPLOYMENT: [StreamId; 7] = [
        StreamId::System,
        StreamId::Accounts,
        StreamId::Access,
        StreamId::Reference,
        StreamId::Registry,
        StreamId::Exchange,
        StreamId::Records,
    ];

    /// The case this stream belongs to, if it is a case stream.
    pub fn case(&self) -> Option<CaseId> {
        match self {
            StreamId::Case(id) => Some(*id),
            _ => None,
        }
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamId::Case(id) => write!(f, "case/{id}"),
            StreamId::System => f.write_str("system"),
            StreamId::Accounts => f.write_str("accounts"),
            StreamId::Access => f.write_str("access"),
            StreamId::Reference => f.write_str("reference"),
            StreamId::Registry => f.write_str("registry"),
            StreamId::Exchange => f.write_str("exchange"),
            StreamId::Records => f.write_str("records"),
        }
    }
}

impl FromStr for StreamId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "system" => return Ok(StreamId::System),
            "accounts" => return Ok(StreamId::Accounts),
            "access" => return Ok(StreamId::Access),
            "reference" => return Ok(StreamId::Reference),
            "registry" => return Ok(StreamId::Registry),
            "exchange" => return Ok(StreamId::Exchange),
            "records" => return Ok(StreamId::Records),
            _ => {}
        }
        let id = s
            .strip_prefix("case/")
            .ok_or_else(|| format!("unknown stream '{s}'"))?;
        id.parse().map(StreamId::Case).map_err(|e| e.to_string())
    }
}

/// What is recorded for one event besides its place: when, by whom, what.
/// This is the JSON body of a ledger leaf.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventEnvelope {
    pub recorded_at: Timestamp,
    pub actor: ActorName,
    pub event: Event,
}

/// An event read back from the store.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredEvent {
    /// Position in the ledger (0-based leaf index).
    pub position: u64,
    pub stream: StreamId,
    /// 1-based sequence within the stream.
    pub seq: u64,
    pub envelope: EventEnvelope,
}

impl StoredEvent {
    pub fn to_recorded(&self) -> tocsin_domain::RecordedEvent {
        tocsin_domain::RecordedEvent {
            seq: self.seq,
            recorded_at: self.envelope.recorded_at,
            actor: self.envelope.actor.clone(),
            event: self.envelope.event.clone(),
        }
    }
}

/// Events to append to one stream.
#[derive(Clone, Debug)]
pub struct NewEvents {
    pub stream: StreamId,
    /// The stream's current version (0 for a new stream). `None` appends at
    /// the end whatever the version: for streams that only record (access)
    /// and whose events no decision depends on.
    pub expected_version: Option<u64>,
    pub events: Vec<EventEnvelope>,
    /// The query-table row for the case after these events (case streams only).
    pub summary: Option<CaseSummary>,
    /// Documents written in the same transaction (derived records such as an
    /// account after an `account_created` event, an idempotency record, a queued
    /// notice). A failed expectation fails the whole append.
    pub docs: Vec<DocWrite>,
    /// One random salt per event, in order, drawn by the caller (the
    /// service, from the operating system's generator): an event of a
    /// record class on a case or the access stream is appended as a
    /// version-2 leaf committing to its salt and body
    /// ([`crate::leaf::encode_v2`]). Empty: every event as version 1.
    /// Never part of the event's JSON.
    pub salts: Vec<crate::leaf::Salt>,
}

impl NewEvents {
    /// The year (UTC) of the case this batch opens, if it opens one: the
    /// first events of a case stream, with the case's summary. The store
    /// numbers the case in that year ([`tocsin_domain::CaseNumber`]).
    pub fn opens_case_in(&self) -> Option<u16> {
        match (&self.stream, self.expected_version, &self.summary) {
            (StreamId::Case(_), Some(0), Some(s)) => {
                Some(tocsin_domain::CaseNumber::year_of(s.opened_at))
            }
            _ => None,
        }
    }

    /// Events for `stream` at `version`, nothing else.
    pub fn new(stream: StreamId, expected_version: u64, events: Vec<EventEnvelope>) -> Self {
        Self {
            stream,
            expected_version: Some(expected_version),
            events,
            summary: None,
            docs: Vec::new(),
            salts: Vec::new(),
        }
    }

    /// The same batch with `salts` (one per event).
    pub fn salted(mut self, salts: Vec<crate::leaf::Salt>) -> Self {
        self.salts = salts;
        self
    }
}

/// The kinds of documents a store keeps beside the ledger: keyed records
/// with a version, for what the query tables do not cover. *Derived* kinds
/// are folded from ledger events and rebuilt by `admin rebuild`; the others
/// hold what must not or need not be in the ledger (secrets, sessions,
/// delivery queues, imported registries).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DocKind {
    /// An element (organisation). Derived from the accounts stream.
    Element,
    /// An account. Derived from the accounts stream.
    Account,
    /// An API token's metadata, keyed by the hash of its secret. Derived.
    Token,
    /// A password hash. Never in the ledger.
    Credential,
    /// A login session, keyed by the hash of its secret.
    Session,
    /// The first result of an idempotent request, keyed by account and key.
    Idempotency,
    /// Reference data (state relations, recipients). Derived from the reference stream.
    Reference,
    /// An escalation notice to one target, with its delivery attempts.
    Notice,
    /// An imported registry (watch list or directory) with its entries.
    Registry,
    /// Deployment settings changed at run time (clearance levels). Derived.
    Setting,
    /// What a readiness probe writes, to prove the store can write.
    Probe,
    /// A partner (a STIX producer mapped to an element), keyed by its STIX
    /// identity id. Derived from the exchange stream.
    Partner,
    /// A partner's report that needs assessment (`receipt/ID`), and the
    /// STIX report version it was read from (`stix/ID@MODIFIED`). Derived
    /// from the exchange stream.
    Receipt,
    /// TAXII: collections, the objects added to them (keyed in TAXII
    /// order), `POST objects` statuses and pull cursors. Derived from the
    /// exchange stream.
    Taxii,
    /// A disposal batch a records officer proposed, awaiting a second
    /// person, and what its approval did. Not in the ledger until
    /// approved (its tombstones are).
    Disposal,
}

impl DocKind {
    pub const ALL: [DocKind; 15] = [
        DocKind::Element,
        DocKind::Account,
        DocKind::Token,
        DocKind::Credential,
        DocKind::Session,
        DocKind::Idempotency,
        DocKind::Reference,
        DocKind::Notice,
        DocKind::Registry,
        DocKind::Setting,
        DocKind::Probe,
        DocKind::Partner,
        DocKind::Receipt,
        DocKind::Taxii,
        DocKind::Disposal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DocKind::Element => "element",
            DocKind::Account => "account",
            DocKind::Token => "token",
            DocKind::Credential => "credential",
            DocKind::Session => "session",
            DocKind::Idempotency => "idempotency",
            DocKind::Reference => "reference",
            DocKind::Notice => "notice",
            DocKind::Registry => "registry",
            DocKind::Setting => "setting",
            DocKind::Probe => "probe",
            DocKind::Partner => "partner",
            DocKind::Receipt => "receipt",
            DocKind::Taxii => "taxii",
            DocKind::Disposal => "disposal",
        }
    }

    /// The kind stored under `s`. `user`, the name accounts were stored
    /// under before the schema migrations that renamed them (SQLite 4,
    /// PostgreSQL 3), still parses as [`DocKind::Account`]. Nothing in tocsin
    /// reads a kind's name from outside a migrated database today (copies
    /// carry `DocKind`s, not names), so this only keeps an old name from
    /// being mistaken for an unknown kind.
    pub fn parse(s: &str) -> Option<DocKind> {
        match s {
            "user" => Some(DocKind::Account),
            _ => DocKind::ALL.into_iter().find(|k| k.as_str() == s),
        }
    }

    /// Folded from ledger events, so `admin rebuild` recomputes it.
    pub fn derived(self) -> bool {
        matches!(
            self,
            DocKind::Element
                | DocKind::Account
                | DocKind::Token
                | DocKind::Reference
                | DocKind::Setting
                | DocKind::Partner
                | DocKind::Receipt
                | DocKind::Taxii
        )
    }
}

impl fmt::Display for DocKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Doc {
    pub kind: DocKind,
    pub key: String,
    /// 1 after the first write, +1 at every write.
    pub version: u64,
    pub body: Vec<u8>,
}

impl Doc {
    /// The body as JSON of type `T`.
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, crate::StoreError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            crate::StoreError::Corrupt(format!("document {}/{}: {e}", self.kind, self.key))
        })
    }
}

/// What a document write expects to find.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DocExpect {
    /// Whatever is there.
    Any,
    /// Nothing: the write creates the document.
    Absent,
    /// The document at exactly this version (compare and set).
    Version(u64),
}

impl DocExpect {
    /// Whether a document now at `current` (`None`: absent) meets this
    /// expectation.
    pub fn admits(self, current: Option<u64>) -> bool {
        match (self, current) {
            (DocExpect::Any, _) => true,
            (DocExpect::Absent, c) => c.is_none(),
            (DocExpect::Version(v), Some(c)) => c == v,
            (DocExpect::Version(_), None) => false,
        }
    }
}

/// One write to a document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocWrite {
    pub kind: DocKind,
    pub key: String,
    pub expect: DocExpect,
    /// The new body, or `None` to delete.
    pub body: Option<Vec<u8>>,
}

impl DocWrite {
    /// Writes `value` as JSON.
    pub fn put<T: Serialize>(
        kind: DocKind,
        key: impl Into<String>,
        expect: DocExpect,
        value: &T,
    ) -> DocWrite {
        DocWrite {
            kind,
            key: key.into(),
            expect,
            // Our own types always serialise.
            body: Some(serde_json::to_vec(value).unwrap_or_default()),
        }
    }

    pub fn delete(kind: DocKind, key: impl Into<String>, expect: DocExpect) -> DocWrite {
        DocWrite {
            kind,
            key: key.into(),
            expect,
            body: None,
        }
    }
}

/// What an append produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Appended {
    /// Ledger positions of the appended events, in order.
    pub first_position: u64,
    pub count: u64,
    /// The stream's new version.
    pub version: u64,
    /// Ledger size and root after the commit (covered by a signed checkpoint).
    pub tree_size: u64,
    pub root: Hash,
    /// The number the case got, when the append opened a case.
    pub case_number: Option<tocsin_domain::CaseNumber>,
}

/// The head of the ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerHead {
    pub size: u64,
    pub root: Hash,
    /// The latest signed checkpoint (C2SP signed-note text), if any.
    pub checkpoint: Option<String>,
}

/// A stored signed checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCheckpoint {
    pub size: u64,
    pub note: String,
}

/// Rows of a deployment exactly as one store holds them, for writing into
/// another with [`crate::Store::import_raw`] (see [`crate::copy`]).
#[derive(Clone, Debug, PartialEq)]
pub enum RawRows {
    /// Ledger rows continuing the ledger (the first at its current size,
    /// then dense), with the Merkle nodes of level >= 1 these rows
    /// complete and the signed checkpoints of the sizes they reach: after
    /// the import the ledger is again a whole, verifiable tree.
    Ledger {
        leaves: crate::LeafPage,
        nodes: Vec<(tocsin_ledger::NodeId, Hash)>,
        checkpoints: Vec<StoredCheckpoint>,
    },
    /// Query-table rows (each case's opening position is found in the
    /// ledger, which must hold it already).
    Cases(Vec<CaseSummary>),
    /// Documents with their versions (none of them may exist yet).
    Docs(Vec<Doc>),
}

/// What `tocsin init` records about a new deployment (every backend's
/// `create` takes it).
#[derive(Clone, Debug)]
pub struct InitParams {
    pub deployment_id: String,
    pub origin: String,
    pub created_at: String,
}

/// Identity of a deployment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreMeta {
    /// Unique id chosen at `tocsin init`.
    pub deployment_id: String,
    /// The checkpoint origin line.
    pub origin: String,
    /// The verifier key (C2SP vkey) recorded at init.
    pub verifier_key: String,
    /// When `tocsin init` made the deployment (RFC 3339, as recorded).
    pub created_at: String,
    /// Schema version of the database.
    pub schema_version: i64,
}

impl StoreMeta {
    /// Whether `signer` is the deployment's key (the one its verifier key
    /// names); a store opened for writing must be given it.
    pub fn check_key(&self, signer: &tocsin_ledger::NoteSigner) -> Result<(), crate::StoreError> {
        let given = signer.verifier().to_string();
        if given != self.verifier_key {
            return Err(crate::StoreError::WrongKey {
                expected: self.verifier_key.clone(),
                given,
            });
        }
        Ok(())
    }
}

/// One report in a case summary.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportSummary {
    pub id: ReportId,
    pub originating_element: String,
    pub received_at: Timestamp,
    pub grade: String,
    pub independent: bool,
    /// The format of its report number (its external reference), when it
    /// has one that generalises: what the sanitiser catches in any case.
    pub number_format: Option<String>,
}

/// The query-table row of a case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseSummary {
    pub id: CaseId,
    /// Its number: assigned by the store when the case's first events are
    /// appended (`None` in the summary the service hands in).
    pub number: Option<tocsin_domain::CaseNumber>,
    pub title: String,
    pub state: CaseState,
    pub owner: String,
    pub lead_element: String,
    pub opened_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: u64,
    /// The latest verdict, if determined.
    pub verdict: Option<String>,
    /// Why the case must be re-assessed, if it must.
    pub reassessment_due: Option<String>,
    /// The next step with a deadline, and when it is due.
    pub next_step: Option<String>,
    pub next_due: Option<Timestamp>,
    pub escalations: u32,
    pub reports: Vec<ReportSummary>,
    /// The access marking ([`tocsin_domain::case::Marking`]), sorted.
    pub levels: Vec<String>,
    pub compartments: Vec<String>,
    pub elements: Vec<String>,
    pub existence_restricted: bool,
    /// When the clock next has something to do for the case
    /// ([`Case::next_sweep_at`]); a sweep visits only cases due by then.
    pub sweep_at: Option<Timestamp>,
    /// Time-to-decide, time-to-warn and what lateness needs, folded from
    /// the ledger ([`Case::measures`]); `None` only in a row written
    /// before they were kept (the first `serve` after the upgrade rebuilds
    /// the query tables to fill them).
    pub measures: Option<tocsin_domain::case::Measures>,
}

impl CaseSummary {
    /// The summary of a folded case under `policy` (which sets when a far-off
    /// threat comes within the horizon).
    pub fn of(case: &Case, policy: &tocsin_domain::LoadedPolicy) -> CaseSummary {
        let next = case.next_deadline();
        let marking = case.marking();
        let strings = |v: &mut dyn Iterator<Item = &str>| v.map(str::to_owned).collect();
        CaseSummary {
            number: case.number,
            levels: strings(&mut marking.levels.iter().map(|l| l.as_str())),
            compartments: strings(&mut marking.compartments.iter().map(|l| l.as_str())),
            elements: strings(&mut marking.elements.iter().map(|l| l.as_str())),
            existence_restricted: marking.existence_restricted,
            // Kept in whole microseconds, as the store keeps it (so a row
            // read back equals the fold's): earlier by under a microsecond,
            // and a sweep that early finds nothing to do yet.
            sweep_at: case
                .next_sweep_at(policy)
                .map(|t| Timestamp::from_microsecond(t.as_microsecond()).unwrap_or(t)),
            measures: Some(case.measures()),
            id: case.id,
            title: case.title.to_string(),
            state: case.state,
            owner: case.owner.to_string(),
            lead_element: case.lead_element.to_string(),
            opened_at: case.opened_at,
            updated_at: case.timeline.last().map(|t| t.at).unwrap_or(case.opened_at),
            version: case.version,
            verdict: case
                .determination()
                .map(|d| d.determination.verdict.to_string()),
            reassessment_due: case
                .reassessment_due
                .as_ref()
                .map(|f| f.reason.as_str().to_owned()),
            next_step: next.map(|(s, _)| s.as_str().to_owned()),
            next_due: next.map(|(_, t)| t),
            escalations: case.escalations.len() as u32,
            reports: case
                .reports
                .iter()
                .map(|r| ReportSummary {
                    id: r.id,
                    originating_element: r.report.originating_element.to_string(),
                    received_at: r.report.received_at,
                    grade: r.report.grading.grade.to_string(),
                    independent: r.independence == Independence::Independent,
                    number_format: r
                        .report
                        .external_reference
                        .as_ref()
                        .and_then(|x| tocsin_domain::sanitise::report_number_format(x.as_str())),
                })
                .collect(),
        }
    }
}

/// Which cases a reader may see: those whose every level is in `levels`,
/// whose every compartment is in `compartments`, and (unless `elements` is
/// `None`) that are shared with one of `elements`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccessFilter {
    pub levels: Vec<String>,
    pub compartments: Vec<String>,
    pub elements: Option<Vec<String>>,
}

impl AccessFilter {
    /// The same test on one summary (backends filter in the database).
    pub fn admits(&self, s: &CaseSummary) -> bool {
        self.admits_marking(&s.levels, &s.compartments, &s.elements)
    }

    /// The same test on a marking's three lists.
    pub fn admits_marking(
        &self,
        levels: &[String],
        compartments: &[String],
        elements: &[String],
    ) -> bool {
        levels.iter().all(|l| self.levels.contains(l))
            && compartments.iter().all(|c| self.compartments.contains(c))
            && self
                .elements
                .as_ref()
                .is_none_or(|els| elements.iter().any(|e| els.contains(e)))
    }
}

/// A filter over the case list.
#[derive(Clone, Debug, Default)]
pub struct CaseQuery {
    /// Only cases this reader may see (`None`: every case; operator tools).
    pub access: Option<AccessFilter>,
    pub state: Option<CaseState>,
    /// Only cases that are not closed.
    pub open_only: bool,
    /// Only cases flagged for re-assessment.
    pub reassessment_due: bool,
    /// Only cases this account owns.
    pub owner: Option<String>,
    /// Only cases whose latest determination is this one.
    pub verdict: Option<crate::VerdictFilter>,
    /// Only cases shared with this element (it leads or contributed).
    pub element: Option<String>,
    /// Only cases whose title contains this text (any case of ASCII
    /// letters; `%` and `_` are plain characters).
    pub title_contains: Option<String>,
    /// With `overdue_at`: the most overdue first (earliest deadline), one
    /// page (no cursor), instead of newest first.
    pub most_overdue_first: bool,
    /// Only cases whose next deadline is before this time.
    pub overdue_at: Option<Timestamp>,
    /// Only cases the clock has something to do for by this time.
    pub sweep_due_at: Option<Timestamp>,
    /// Continue after this cursor (from a previous page).
    pub after: Option<String>,
    /// At most this many (1..=1000; 0 means the default of 50).
    pub limit: u32,
}

impl CaseQuery {
    pub fn effective_limit(&self) -> u32 {
        match self.limit {
            0 => 50,
            n => n.min(1000),
        }
    }
}

/// One page of a list, newest first, with a cursor for the next page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// A digest of the query tables and derived documents, comparable across
/// backends and rebuilds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProjectionDigest {
    pub cases: u64,
    pub reports: u64,
    /// Documents of derived kinds.
    pub docs: u64,
    pub sha256: String,
}

impl ProjectionDigest {
    /// Digest of summaries and derived documents in any order (they are
    /// sorted first). Documents of kinds that are not derived are ignored.
    pub fn of(summaries: &[CaseSummary], docs: &[Doc]) -> ProjectionDigest {
        let mut sorted: Vec<&CaseSummary> = summaries.iter().collect();
        sorted.sort_by_key(|s| s.id);
        let mut h = Sha256::new();
        let mut reports = 0;
        for s in sorted {
            reports += s.reports.len() as u64;
            // serde_json of a struct is deterministic (field order is fixed).
            h.update(serde_json::to_vec(s).unwrap_or_default());
            h.update(b"\n");
        }
        let mut derived: Vec<&Doc> = docs.iter().filter(|d| d.kind.derived()).collect();
        derived.sort_by(|a, b| (a.kind, &a.key).cmp(&(b.kind, &b.key)));
        for d in &derived {
            // The version is not compared: a rebuild writes each document once.
            h.update(d.kind.as_str().as_bytes());
            h.update(b"/");
            h.update(d.key.as_bytes());
            h.update(b"=");
            h.update(&d.body);
            h.update(b"\n");
        }
        let digest = h.finalize();
        ProjectionDigest {
            cases: summaries.len() as u64,
            reports,
            docs: derived.len() as u64,
            sha256: digest.iter().map(|b| format!("{b:02x}")).collect(),
        }
    }

    /// The digest of tables that also hold `orphans` reports of no case
    /// (which a summary cannot carry): counted, and marked in the hash so
    /// that tables with orphans never compare equal to tables without.
    pub fn with_orphan_reports(mut self, orphans: u64) -> ProjectionDigest {
        self.reports += orphans;
        if orphans > 0 {
            self.sha256 = format!("{}+{orphans}-orphan-reports", self.sha256);
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_kinds_are_stored_under_their_names() {
        for k in DocKind::ALL {
            assert_eq!(DocKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(DocKind::Account.as_str(), "account");
        assert_eq!(DocKind::Account.to_string(), "account");
        // The name before schema migration "account" still reads.
        assert_eq!(DocKind::parse("user"), Some(DocKind::Account));
        assert_eq!(DocKind::parse("users"), None);
    }

    #[test]
    fn an_expectation_admits_what_it_says() {
        use DocExpect::*;
        let table = [
            (Any, None, true),
            (Any, Some(3), true),
            (Absent, None, true),
            (Absent, Some(1), false),
            (Version(2), Some(2), true),
            (Version(2), Some(3), false),
            (Version(2), None, false),
        ];
        for (e, current, ok) in table {
            assert_eq!(e.admits(current), ok, "{e:?} at {current:?}");
        }
    }

    #[test]
    fn orphan_reports_are_counted_and_never_compare_equal() {
        let clean = ProjectionDigest::of(&[], &[]);
        assert_eq!(clean.clone().with_orphan_reports(0), clean);
        let orphans = clean.clone().with_orphan_reports(2);
        assert_eq!(orphans.reports, 2);
        assert_eq!(orphans.sha256, format!("{}+2-orphan-reports", clean.sha256));
    }
}
