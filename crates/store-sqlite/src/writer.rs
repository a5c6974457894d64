//! The writer thread: it owns the write connection and commits what
//! callers queue, a group at a time.
//!
//! It waits for a job, takes the database's write lock (`BEGIN
//! IMMEDIATE`; another process may hold it), then takes everything else
//! queued by then into the group. It reads the ledger size (and reloads
//! its Merkle frontier if another process appended since its last commit)
//! and the version of every stream the group appends to, and runs each job
//! under a savepoint: appends are planned by [`Planner`] and written as
//! planned, with their summary and documents. A refused job rolls back its
//! savepoint and is forgotten by the planner; the others go on. One
//! checkpoint is signed for the group's final size, one commit
//! (`synchronous=FULL`) covers the group, and only then is each caller
//! answered ([`Group::answer`]).

use std::sync::mpsc::Receiver;
use std::sync::{Arc, OnceLock};

use rusqlite::{Connection, OptionalExtension, params};
use tocsin_domain::CaseNumber;
use tocsin_ledger::{Frontier, Hash, NodeId, NoteSigner};
use tocsin_store::append::{Planner, frontier_from_nodes};
use tocsin_store::columns::{
    CASE_COLUMNS, CASE_UPDATES, CaseRow, REPORT_COLUMNS, REPORT_UPDATES, ReportRow, i64_of,
};
use tocsin_store::counts;
use tocsin_store::group::{Group, Job, Running, Space};
use tocsin_store::{
    Appended, CaseSummary, Disposal, Doc, DocKind, DocWrite, LeafRow, NewEvents, StoreError,
    StreamId,
};

use crate::common::{is_constraint, sql};
use crate::read::{ledger_size, read_nodes};

/// The most commands committed together.
pub const MAX_GROUP: usize = 1024;

pub struct Writer {
    conn: Connection,
    signer: NoteSigner,
    origin: String,
    /// The deployment's id (its failpoints are armed by it).
    deployment: String,
    /// Whether the store has room, as the last groups found.
    space: Arc<Space>,
    /// The right edge of the tree after this writer's last commit.
    frontier: Option<Frontier>,
}

impl Writer {
    pub fn new(
        conn: Connection,
        signer: NoteSigner,
        origin: String,
        deployment: String,
        space: Arc<Space>,
    ) -> Self {
        Self {
            conn,
            signer,
            origin,
            deployment,
            space,
            frontier: None,
        }
    }

    /// Commits groups until every sender is gone.
    pub fn run(mut self, rx: Receiver<Job>) {
        while let Ok(first) = rx.recv() {
            let mut group = Group::new();
            group.push(first);
            let outcome = self.commit_group(&mut group, &rx);
            group.answer(outcome, &self.space);
        }
    }

    /// One transaction for the whole group: the size and root of its
    /// checkpoint, or Err if nothing committed.
    fn commit_group(
        &mut self,
        group: &mut Group,
        rx: &Receiver<Job>,
    ) -> Result<Option<(u64, Hash)>, StoreError> {
        let r = self.try_commit_group(group, rx);
        if r.is_err() {
            // Nothing was committed: forget the frontier; it is reloaded
            // from the database at the next group.
            self.frontier = None;
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        r
    }

    fn try_commit_group(
        &mut self,
        group: &mut Group,
        rx: &Receiver<Job>,
    ) -> Result<Option<(u64, Hash)>, StoreError> {
        if let Some(pages) = page_limit(&self.deployment) {
            self.conn
                .pragma_update(None, "max_page_count", pages)
                .map_err(sql)?;
        }
        self.conn.execute_batch("BEGIN IMMEDIATE").map_err(sql)?;
        // What was queued while we waited for the lock joins the group.
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let size = ledger_size(&self.conn)?;
        let frontier = match self.frontier.take() {
            Some(f) if f.size() == size => f,
            _ => load_frontier(&self.conn, size)?,
        };
        let versions = stream_versions(&self.conn, group.streams())?;
        let numbers = last_case_numbers(&self.conn, group.opening_years())?;
        let mut planner = Planner::new(frontier, versions, numbers);
        for job in group.jobs_mut() {
            let mark = planner.mark();
            self.conn.execute_batch("SAVEPOINT job").map_err(sql)?;
            let (conn, dep) = (&self.conn, self.deployment.as_str());
            let done = match job {
                Running::Append(batch, slot) => slot.record(append(conn, dep, &mut planner, batch)),
                Running::ReplaceProjections(cases, docs, slot) => {
                    slot.record(replace_projections(conn, cases, docs))
                }
                Running::WriteDocs(writes, slot) => slot.record(write_docs(conn, dep, writes)),
                Running::Dispose(d, slot) => slot.record(dispose(conn, dep, &mut planner, d)),
            };
            if done {
                self.conn.execute_batch("RELEASE job").map_err(sql)?;
            } else {
                self.conn
                    .execute_batch("ROLLBACK TO job; RELEASE job")
                    .map_err(sql)?;
                planner.restore(mark);
            }
        }
        if planner.has_appends() {
            tocsin_store::fault!("ledger::checkpoint::sign", &self.deployment, |_| Err(
                tocsin_store::faults::injected("ledger::checkpoint::sign")
            ));
        }
        let sealed = planner.seal(&self.origin, &self.signer)?;
        if let Some(s) = &sealed {
            self.conn
                .execute(
                    "INSERT INTO checkpoints (size, note) VALUES (?1, ?2)",
                    params![i64_of(s.size), s.note],
                )
                .map_err(sql)?;
        }
        tocsin_store::fault!("store::commit", &self.deployment, |_| Err(
            tocsin_store::faults::injected("store::commit")
        ));
        self.conn.execute_batch("COMMIT").map_err(sql)?;
        self.frontier = Some(planner.into_frontier());
        Ok(sealed.map(|s| (s.size, s.root)))
    }
}

/// The page limit a test sets (failpoint `store::sqlite::page_limit`,
/// armed with `return(N)`): a database full without a full disk.
fn page_limit(d: &str) -> Option<i64> {
    tocsin_store::fault!("store::sqlite::page_limit", d, |n: Option<String>| n?
        .parse()
        .ok());
    None
}

fn load_frontier(conn: &Connection, size: u64) -> Result<Frontier, StoreError> {
    let ids = Frontier::node_ids(size);
    let found = read_nodes(conn, &ids)?;
    frontier_from_nodes(size, &ids, found)
}

/// The current version of each of `streams`, read under the write lock.
fn stream_versions(
    conn: &Connection,
    streams: Vec<StreamId>,
) -> Result<Vec<(StreamId, u64)>, StoreError> {
    let mut stmt = conn
        .prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM ledger WHERE stream = ?1")
        .map_err(sql)?;
    streams
        .into_iter()
        .map(|s| {
            let v = stmt
                .query_row([s.to_string()], |r| r.get::<_, i64>(0))
                .map_err(sql)?;
            Ok((s, v as u64))
        })
        .collect()
}

/// The last case number of each of `years`, read under the write lock
/// (0 for a year with none yet).
fn last_case_numbers(conn: &Connection, years: Vec<u16>) -> Result<Vec<(u16, u32)>, StoreError> {
    let mut stmt = conn
        .prepare_cached("SELECT COALESCE(MAX(number_seq), 0) FROM cases WHERE number_year = ?1")
        .map_err(sql)?;
    years
        .into_iter()
        .map(|y| {
            let last = stmt
                .query_row([i64::from(y)], |r| r.get::<_, i64>(0))
                .map_err(sql)?;
            let last = u32::try_from(last)
                .map_err(|_| StoreError::Corrupt(format!("case number {y}-{last}")))?;
            Ok((y, last))
        })
        .collect()
}

/// Writes ledger rows (a planned append's, or imported ones), with the
/// salt and body kept beside a version-2 leaf.
pub fn insert_leaves<'a>(
    conn: &Connection,
    rows: impl IntoIterator<Item = LeafRow<'a>>,
) -> Result<(), StoreError> {
    let mut ins = conn
        .prepare_cached(
            "INSERT INTO ledger (position, stream, seq, leaf, leaf_hash, content_salt, content_body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .map_err(sql)?;
    for r in rows {
        ins.execute(params![
            i64_of(r.position),
            r.stream,
            i64_of(r.seq),
            r.leaf,
            r.leaf_hash,
            r.content.map(|c| c.salt),
            r.content.map(|c| c.body),
        ])
        .map_err(sql)?;
    }
    Ok(())
}

/// Writes Merkle nodes of level >= 1.
pub fn insert_nodes(conn: &Connection, nodes: &[(NodeId, Hash)]) -> Result<(), StoreError> {
    let mut ins = conn
        .prepare_cached("INSERT INTO merkle_nodes (level, idx, hash) VALUES (?1, ?2, ?3)")
        .map_err(sql)?;
    for (id, h) in nodes {
        ins.execute(params![
            i64::from(id.level),
            i64_of(id.index),
            h.as_bytes().as_slice()
        ])
        .map_err(sql)?;
    }
    Ok(())
}

/// Appends one batch as the planner plans it, with its summary and
/// documents, inside the group's transaction.
fn append(
    conn: &Connection,
    deployment: &str,
    planner: &mut Planner,
    batch: &NewEvents,
) -> Result<Appended, StoreError> {
    tocsin_store::fault!("store::append", deployment, |_| Err(
        tocsin_store::faults::injected("store::append")
    ));
    let plan = planner.plan(batch)?;
    insert_leaves(conn, plan.leaves.iter().map(|l| l.row(&plan.stream_text)))?;
    insert_nodes(conn, &plan.nodes)?;
    if let Some(s) = &batch.summary {
        upsert_case(conn, s, plan.number)?;
    }
    write_docs(conn, deployment, &batch.docs)?;
    Ok(plan.appended)
}

/// A disposal ([`tocsin_store::Disposal`]) inside the group's
/// transaction, under the job's savepoint: every position checked first,
/// then the tombstones appended as the planner plans them, the cases'
/// rows written again, and the content set to nothing. A refusal or a
/// failure anywhere rolls the savepoint back: nothing of it is kept.
fn dispose(
    conn: &Connection,
    deployment: &str,
    planner: &mut Planner,
    d: &Disposal,
) -> Result<Appended, StoreError> {
    let positions = d.positions()?;
    let mut row = conn
        .prepare_cached("SELECT leaf, content_body IS NOT NULL FROM ledger WHERE position = ?1")
        .map_err(sql)?;
    for &p in &positions {
        let found: Option<(Vec<u8>, bool)> = row
            .query_row([i64_of(p)], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()
            .map_err(sql)?;
        tocsin_store::disposed::disposable(p, found.as_ref().map(|(l, c)| (l.as_slice(), *c)))?;
    }
    let appended = append(conn, deployment, planner, &d.tombstones)?;
    for s in &d.summaries {
        upsert_case(conn, s, None)?;
    }
    let mut clear = conn
        .prepare_cached(
            "UPDATE ledger SET content_salt = NULL, content_body = NULL WHERE position = ?1",
        )
        .map_err(sql)?;
    for &p in &positions {
        clear.execute([i64_of(p)]).map_err(sql)?;
    }
    Ok(appended)
}

/// Adjusts the case gauges' counters by what the row `s` adds and the
/// stored row it replaces (if any) took away ([`tocsin_store::counts`]).
fn count_case(conn: &Connection, s: &CaseSummary) -> Result<(), StoreError> {
    let old = crate::read::case_summary(conn, s.id)?.map(|old| counts::contributions_of(&old));
    let delta = counts::delta(old.as_ref(), &counts::contributions_of(s));
    let mut add = conn
        .prepare_cached(
            "INSERT INTO case_counts (name, n) VALUES (?1, ?2)
             ON CONFLICT (name) DO UPDATE SET n = n + excluded.n",
        )
        .map_err(sql)?;
    for (name, n) in delta {
        add.execute(params![name, n]).map_err(sql)?;
    }
    Ok(())
}

/// Writes a case's row of the query tables and its reports (numbered
/// `number` when it is new; an existing row keeps its number).
pub fn upsert_case(
    conn: &Connection,
    s: &CaseSummary,
    number: Option<CaseNumber>,
) -> Result<(), StoreError> {
    static UPSERT: OnceLock<String> = OnceLock::new();
    static REPORT: OnceLock<String> = OnceLock::new();
    let upsert = UPSERT.get_or_init(|| {
        format!(
            "INSERT INTO cases ({CASE_COLUMNS})
             VALUES (?1, (SELECT position FROM ledger WHERE stream = 'case/' || ?1 AND seq = 1),
                     ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19,
                     ?20, ?21, ?22, ?23)
             ON CONFLICT (id) DO UPDATE SET {CASE_UPDATES}"
        )
    });
    let c = CaseRow::numbered(s, number);
    count_case(conn, s)?;
    conn.prepare_cached(upsert)
        .map_err(sql)?
        .execute(params![
            c.id,
            c.title,
            c.state,
            c.owner,
            c.lead_element,
            c.opened_at,
            c.updated_at,
            c.version,
            c.verdict,
            c.reassessment_due,
            c.next_step,
            c.next_due,
            c.next_due_us,
            c.escalations,
            c.levels,
            c.compartments,
            c.elements,
            c.existence_restricted,
            c.sweep_at_us,
            c.number_year,
            c.number_seq,
            c.measures,
            c.unwarned_from_us,
        ])
        .map_err(|e| {
            if is_constraint(&e) {
                StoreError::Corrupt(format!(
                    "case {} has no case_opened event in the ledger",
                    c.id
                ))
            } else {
                sql(e)
            }
        })?;
    conn.prepare_cached("DELETE FROM reports WHERE case_id = ?1")
        .map_err(sql)?
        .execute([&c.id])
        .map_err(sql)?;
    let report = REPORT.get_or_init(|| {
        format!(
            "INSERT INTO reports ({REPORT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (id) DO UPDATE SET {REPORT_UPDATES}"
        )
    });
    let mut ins = conn.prepare_cached(report).map_err(sql)?;
    for r in ReportRow::all(s) {
        ins.execute(params![
            r.id,
            c.id,
            r.ord,
            r.originating_element,
            r.received_at,
            r.grade,
            r.independent,
            r.number_format
        ])
        .map_err(sql)?;
    }
    Ok(())
}

/// Writes documents, each at the version given with it; a document that
/// exists is a [`StoreError::DocConflict`].
pub fn insert_docs<'a>(
    conn: &Connection,
    docs: impl IntoIterator<Item = (&'a Doc, u64)>,
) -> Result<(), StoreError> {
    let mut ins = conn
        .prepare_cached("INSERT INTO docs (kind, key, version, body) VALUES (?1, ?2, ?3, ?4)")
        .map_err(sql)?;
    for (d, version) in docs {
        ins.execute(params![d.kind.as_str(), d.key, i64_of(version), d.body])
            .map_err(|e| {
                if is_constraint(&e) {
                    StoreError::DocConflict {
                        kind: d.kind,
                        key: d.key.clone(),
                    }
                } else {
                    sql(e)
                }
            })?;
    }
    Ok(())
}

fn replace_projections(
    conn: &Connection,
    cases: &[CaseSummary],
    docs: &[Doc],
) -> Result<(), StoreError> {
    conn.execute_batch("DELETE FROM reports; DELETE FROM cases; DELETE FROM case_counts;")
        .map_err(sql)?;
    for s in cases {
        upsert_case(conn, s, None)?;
    }
    let mut del = conn
        .prepare_cached("DELETE FROM docs WHERE kind = ?1")
        .map_err(sql)?;
    for kind in DocKind::ALL.into_iter().filter(|k| k.derived()) {
        del.execute([kind.as_str()]).map_err(sql)?;
    }
    // A rebuilt document is written once: at version 1 unless it says more.
    insert_docs(
        conn,
        docs.iter()
            .filter(|d| d.kind.derived())
            .map(|d| (d, d.version.max(1))),
    )
}

/// Applies document writes inside the caller's transaction; the first
/// failed expectation stops with [`StoreError::DocConflict`] (the caller's
/// savepoint undoes the rest).
fn write_docs(
    conn: &Connection,
    deployment: &str,
    writes: &[DocWrite],
) -> Result<Vec<u64>, StoreError> {
    if !writes.is_empty() {
        tocsin_store::fault!("store::docs::write", deployment, |_| Err(
            tocsin_store::faults::injected("store::docs::write")
        ));
    }
    let mut out = Vec::with_capacity(writes.len());
    for w in writes {
        let current: Option<i64> = conn
            .prepare_cached("SELECT version FROM docs WHERE kind = ?1 AND key = ?2")
            .map_err(sql)?
            .query_row(params![w.kind.as_str(), w.key], |r| r.get(0))
            .optional()
            .map_err(sql)?;
        if !w.expect.admits(current.map(|v| v as u64)) {
            return Err(StoreError::DocConflict {
                kind: w.kind,
                key: w.key.clone(),
            });
        }
        match &w.body {
            Some(body) => {
                let version = current.unwrap_or(0) + 1;
                conn.prepare_cached(
                    "INSERT INTO docs (kind, key, version, body) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (kind, key) DO UPDATE SET version = excluded.version, body = excluded.body",
                )
                .map_err(sql)?
                .execute(params![w.kind.as_str(), w.key, version, body])
                .map_err(sql)?;
                out.push(version as u64);
            }
            None => {
                conn.prepare_cached("DELETE FROM docs WHERE kind = ?1 AND key = ?2")
                    .map_err(sql)?
                    .execute(params![w.kind.as_str(), w.key])
                    .map_err(sql)?;
                out.push(0);
            }
        }
    }
    Ok(out)
}
