//! The writer task: it commits what this process's callers queue, a group
//! at a time, under the ledger's row lock (see the crate docs for why).
//!
//! It waits for a job, begins a transaction and locks `ledger_head`
//! (waiting for any other process's writer), then takes everything else
//! queued by then into the group. Under the lock it reloads its Merkle
//! frontier if another process appended, and reads the version of every
//! stream the group appends to (one query). Appends are planned by
//! [`Planner`]; a plain append's rows go into a [`Buffer`] written in one
//! statement with the others, a job that can fail after writing (an
//! append with documents, a document write, a rebuild) runs under a
//! savepoint of its own. One checkpoint is signed for the group's final
//! size, one commit covers it, and only then is each caller answered
//! ([`Group::answer`]).

use sqlx::postgres::{PgConnection, PgPool};
use std::sync::Arc;
use tocsin_ledger::{Frontier, Hash, NoteSigner};
use tocsin_store::append::{Planner, frontier_from_nodes};
use tocsin_store::columns::{derived_kinds, i64_of};

use tocsin_store::group::{Group, Job, Running, Space};
use tocsin_store::{
    Appended, CaseSummary, Disposal, Doc, DocExpect, DocWrite, NewEvents, StoreError, StreamId,
};
use tokio::sync::mpsc;

use crate::common::{db, simple, sqlstate};
use crate::flush::{Buffer, flush};
use crate::read::fetch_nodes;

pub struct Writer {
    pub pool: PgPool,
    pub signer: NoteSigner,
    pub origin: String,
    /// The deployment's id (its failpoints are armed by it).
    pub deployment: String,
    /// Whether the store has room, as the last groups found.
    pub space: Arc<Space>,
    /// The right edge of the tree after this writer's last commit.
    pub frontier: Option<Frontier>,
    pub max_group: usize,
}

impl Writer {
    pub async fn run(mut self, mut rx: mpsc::Receiver<Job>) {
        while let Some(first) = rx.recv().await {
            let mut group = Group::new();
            group.push(first);
            let outcome = self.try_commit_group(&mut group, &mut rx).await;
            if outcome.is_err() {
                // Nothing was committed (or we cannot know): forget the
                // frontier; it is reloaded from the database at the next group.
                self.frontier = None;
            }
            group.answer(outcome, &self.space);
        }
    }

    /// One transaction for the whole group: the size and root of its
    /// checkpoint, or Err if nothing committed. On an early return the
    /// transaction is dropped, which rolls it back.
    async fn try_commit_group(
        &mut self,
        group: &mut Group,
        rx: &mut mpsc::Receiver<Job>,
    ) -> Result<Option<(u64, Hash)>, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        // The write lock: every writer of this database, in any process,
        // waits here for the one before it.
        let size: i64 = sqlx::query_scalar("SELECT size FROM ledger_head FOR UPDATE")
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
        let size = size as u64;
        // What was queued while we waited for the lock joins the group.
        while group.len() < self.max_group {
            match rx.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let frontier = match self.frontier.take() {
            Some(f) if f.size() == size => f,
            _ => load_frontier(&mut tx, size).await?,
        };
        let versions = stream_versions(&mut tx, group.streams()).await?;
        let numbers = last_case_numbers(&mut tx, group.opening_years()).await?;
        let mut planner = Planner::new(frontier, versions, numbers);
        let mut savepoint = false;
        let mut buf = Buffer::default();
        for job in group.jobs_mut() {
            let mark = planner.mark();
            let isolated = match job {
                Running::Append(batch, _) => needs_savepoint(batch),
                _ => true,
            };
            if isolated {
                // What plain appends before it buffered is written first,
                // outside its savepoint.
                flush(&mut tx, &mut buf).await?;
                let sp = if savepoint {
                    "RELEASE SAVEPOINT job; SAVEPOINT job"
                } else {
                    "SAVEPOINT job"
                };
                simple(&mut tx, sp).await?;
                savepoint = true;
            }
            let dep = self.deployment.as_str();
            let done = match job {
                Running::Append(batch, slot) => {
                    slot.record(append(&mut tx, dep, &mut planner, &mut buf, batch, isolated).await)
                }
                Running::ReplaceProjections(cases, docs, slot) => {
                    slot.record(replace_projections(&mut tx, cases, docs).await)
                }
                Running::WriteDocs(writes, slot) => {
                    slot.record(write_docs(&mut tx, dep, writes).await)
                }
                Running::Dispose(d, slot) => {
                    slot.record(dispose(&mut tx, dep, &mut planner, &mut buf, d).await)
                }
            };
            if !done {
                // A plain append fails only before it buffers anything
                // (the planner refused it); an isolated job is undone.
                if isolated {
                    simple(&mut tx, "ROLLBACK TO SAVEPOINT job").await?;
                    buf.clear();
                }
                planner.restore(mark);
            }
        }
        flush(&mut tx, &mut buf).await?;
        if planner.has_appends() {
            tocsin_store::fault!("ledger::checkpoint::sign", &self.deployment, |_| Err(
                tocsin_store::faults::injected("ledger::checkpoint::sign")
            ));
        }
        let sealed = planner.seal(&self.origin, &self.signer)?;
        if let Some(s) = &sealed {
            sqlx::query(
                "WITH c AS (INSERT INTO checkpoints (size, note) VALUES ($1, $2))
                 UPDATE ledger_head SET size = $1",
            )
            .bind(i64_of(s.size))
            .bind(&s.note)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        tocsin_store::fault!("store::commit", &self.deployment, |_| Err(
            tocsin_store::faults::injected("store::commit")
        ));
        tx.commit().await.map_err(|e| match db(e) {
            // PostgreSQL refused the commit for want of space: it did not
            // take effect.
            full @ StoreError::Full { .. } => full,
            e => StoreError::backend(
                "the commit did not complete: whether it took effect is unknown until the ledger is read again",
                e,
            ),
        })?;
        self.frontier = Some(planner.into_frontier());
        Ok(sealed.map(|s| (s.size, s.root)))
    }
}

async fn load_frontier(conn: &mut PgConnection, size: u64) -> Result<Frontier, StoreError> {
    let ids = Frontier::node_ids(size);
    let found = fetch_nodes(conn, &ids).await?;
    frontier_from_nodes(size, &ids, found)
}

/// Whether an append needs a savepoint of its own: only when something
/// can fail after its events are written (a document expectation, a
/// summary of another case than the stream's). A plain append is one
/// statement after a version check made in memory: it fails before
/// writing anything, or (a database error) the whole group fails.
fn needs_savepoint(batch: &NewEvents) -> bool {
    !batch.docs.is_empty()
        || batch
            .summary
            .as_ref()
            .is_some_and(|s| batch.stream.case() != Some(s.id))
}

/// The current version of each of `streams`, read under the write lock.
async fn stream_versions(
    conn: &mut PgConnection,
    streams: Vec<StreamId>,
) -> Result<Vec<(StreamId, u64)>, StoreError> {
    if streams.is_empty() {
        return Ok(Vec::new());
    }
    let names: Vec<String> = streams.iter().map(|s| s.to_string()).collect();
    // One index probe per stream (a max over `stream = ANY(..)` would read
    // every row of a long stream).
    let versions: Vec<i64> = sqlx::query_scalar(
        "SELECT COALESCE((SELECT max(seq) FROM ledger WHERE stream = u.name), 0)::int8
           FROM unnest($1::text[]) WITH ORDINALITY AS u(name, ord) ORDER BY u.ord",
    )
    .bind(names)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    Ok(streams
        .into_iter()
        .zip(versions.into_iter().map(|v| v as u64))
        .collect())
}

/// The last case number of each of `years`, read under the write lock
/// (0 for a year with none yet).
async fn last_case_numbers(
    conn: &mut PgConnection,
    years: Vec<u16>,
) -> Result<Vec<(u16, u32)>, StoreError> {
    if years.is_empty() {
        return Ok(Vec::new());
    }
    let list: Vec<i64> = years.iter().map(|y| i64::from(*y)).collect();
    let last: Vec<i64> = sqlx::query_scalar(
        "SELECT COALESCE((SELECT max(number_seq) FROM cases WHERE number_year = u.year), 0)::int8
           FROM unnest($1::int8[]) WITH ORDINALITY AS u(year, ord) ORDER BY u.ord",
    )
    .bind(list)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    years
        .into_iter()
        .zip(last)
        .map(|(y, n)| {
            u32::try_from(n)
                .map(|n| (y, n))
                .map_err(|_| StoreError::Corrupt(format!("case number {y}-{n}")))
        })
        .collect()
}

/// Appends one batch as the planner plans it, inside the group's
/// transaction. Its rows go into `buf`; an isolated append (see
/// [`needs_savepoint`]) writes them, and its documents, at once.
async fn append(
    conn: &mut PgConnection,
    deployment: &str,
    planner: &mut Planner,
    buf: &mut Buffer,
    batch: &NewEvents,
    isolated: bool,
) -> Result<Appended, StoreError> {
    tocsin_store::fault!("store::append", deployment, |_| Err(
        tocsin_store::faults::injected("store::append")
    ));
    let plan = planner.plan(batch)?;
    let appended = plan.appended.clone();
    let number = plan.number;
    buf.push_plan(plan);
    if let Some(s) = &batch.summary {
        buf.push_case(s, number);
    }
    if isolated {
        flush(conn, buf).await?;
        write_docs(conn, deployment, &batch.docs).await?;
    }
    Ok(appended)
}

/// A disposal ([`tocsin_store::Disposal`]) inside the group's
/// transaction, under the job's savepoint: every position checked first
/// (locked, so no other writer disposes of it meanwhile), then the
/// tombstones appended as the planner plans them, the cases' rows written
/// again, and the content set to nothing. A refusal or a failure anywhere
/// rolls the savepoint back: nothing of it is kept.
async fn dispose(
    conn: &mut PgConnection,
    deployment: &str,
    planner: &mut Planner,
    buf: &mut Buffer,
    d: &Disposal,
) -> Result<Appended, StoreError> {
    let positions = d.positions()?;
    for &p in &positions {
        let found: Option<(Vec<u8>, bool)> = sqlx::query_as(
            "SELECT leaf, content_body IS NOT NULL FROM ledger WHERE position = $1 FOR UPDATE",
        )
        .bind(i64_of(p))
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?;
        tocsin_store::disposed::disposable(p, found.as_ref().map(|(l, c)| (l.as_slice(), *c)))?;
    }
    let appended = append(conn, deployment, planner, buf, &d.tombstones, true).await?;
    for s in &d.summaries {
        buf.push_case(s, None);
    }
    flush(conn, buf).await?;
    let list: Vec<i64> = positions.iter().map(|p| i64_of(*p)).collect();
    sqlx::query(
        "UPDATE ledger SET content_salt = NULL, content_body = NULL WHERE position = ANY($1::int8[])",
    )
    .bind(list)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    Ok(appended)
}

async fn replace_projections(
    conn: &mut PgConnection,
    cases: &[CaseSummary],
    docs: &[Doc],
) -> Result<(), StoreError> {
    sqlx::query(
        "WITH r AS (DELETE FROM reports), c AS (DELETE FROM case_counts) DELETE FROM cases",
    )
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    let mut buf = Buffer::default();
    for s in cases {
        buf.push_case(s, None);
    }
    flush(conn, &mut buf).await?;
    sqlx::query("DELETE FROM docs WHERE kind = ANY($1::text[])")
        .bind(derived_kinds())
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    for d in docs.iter().filter(|d| d.kind.derived()) {
        sqlx::query("INSERT INTO docs (kind, key, version, body) VALUES ($1, $2, $3, $4)")
            .bind(d.kind.as_str())
            .bind(&d.key)
            .bind(i64_of(d.version.max(1)))
            .bind(&d.body)
            .execute(&mut *conn)
            .await
            .map_err(|e| match sqlstate(&e).as_deref() {
                Some("23505") => StoreError::DocConflict {
                    kind: d.kind,
                    key: d.key.clone(),
                },
                _ => db(e),
            })?;
    }
    Ok(())
}

/// Applies document writes inside the caller's transaction, each as one
/// compare-and-set statement; the first failed expectation stops with
/// [`StoreError::DocConflict`] (the caller's savepoint undoes the rest).
async fn write_docs(
    conn: &mut PgConnection,
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
        let kind = w.kind.as_str();
        let q = match (&w.body, w.expect) {
            (Some(body), DocExpect::Any) => sqlx::query_scalar::<_, i64>(
                "INSERT INTO docs (kind, key, version, body) VALUES ($1, $2, 1, $3)
                 ON CONFLICT (kind, key) DO UPDATE SET version = docs.version + 1, body = excluded.body
                 RETURNING version",
            )
            .bind(kind)
            .bind(&w.key)
            .bind(body),
            (Some(body), DocExpect::Absent) => sqlx::query_scalar(
                "INSERT INTO docs (kind, key, version, body) VALUES ($1, $2, 1, $3)
                 ON CONFLICT (kind, key) DO NOTHING RETURNING version",
            )
            .bind(kind)
            .bind(&w.key)
            .bind(body),
            (Some(body), DocExpect::Version(v)) => sqlx::query_scalar(
                "UPDATE docs SET version = version + 1, body = $3
                 WHERE kind = $1 AND key = $2 AND version = $4 RETURNING version",
            )
            .bind(kind)
            .bind(&w.key)
            .bind(body)
            .bind(i64_of(v)),
            (None, DocExpect::Any) => sqlx::query_scalar(
                "WITH d AS (DELETE FROM docs WHERE kind = $1 AND key = $2) SELECT 0::int8",
            )
            .bind(kind)
            .bind(&w.key),
            (None, DocExpect::Absent) => sqlx::query_scalar(
                "SELECT 0::int8 WHERE NOT EXISTS (SELECT 1 FROM docs WHERE kind = $1 AND key = $2)",
            )
            .bind(kind)
            .bind(&w.key),
            (None, DocExpect::Version(v)) => sqlx::query_scalar(
                "DELETE FROM docs WHERE kind = $1 AND key = $2 AND version = $3 RETURNING 0::int8",
            )
            .bind(kind)
            .bind(&w.key)
            .bind(i64_of(v)),
        };
        match q.fetch_optional(&mut *conn).await.map_err(db)? {
            Some(v) => out.push(v as u64),
            None => {
                return Err(StoreError::DocConflict {
                    kind: w.kind,
                    key: w.key.clone(),
                });
            }
        }
    }
    Ok(out)
}
