//! Reads, on the connection pool. Those that take several statements (the
//! ledger head, a page of cases with their reports, the projection digest,
//! the integrity check) run in one `REPEATABLE READ READ ONLY` transaction,
//! so they see a single commit.

use std::collections::HashMap;
use std::sync::OnceLock;

use sqlx::postgres::{PgConnection, PgPool, PgRow};
use tocsin_domain::{CaseId, CaseNumber};
use tocsin_ledger::{Hash, NodeId};
use tocsin_store::columns::{
    self, ReportRow, SUMMARY_COLUMNS, SummaryRow, derived_kinds, i64_of, micros, parse,
};
use tocsin_store::{
    CaseQuery, CaseSummary, Doc, DocKind, LeafContent, LeafPage, LedgerHead, Page,
    ProjectionDigest, StoreError, StoredCheckpoint, StoredEvent, StreamId, VerdictFilter,
    contains_pattern,
};

use crate::common::{col, corrupt, db};

/// A read-only transaction that sees one commit.
async fn snapshot(pool: &PgPool) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, StoreError> {
    pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await
        .map_err(db)
}

/// Stored hashes of `ids` (level 0 from the ledger), `None` where absent.
pub async fn fetch_nodes(
    conn: &mut PgConnection,
    ids: &[NodeId],
) -> Result<Vec<Option<Hash>>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let levels: Vec<i16> = ids.iter().map(|id| i16::from(id.level)).collect();
    let idxs: Vec<i64> = ids.iter().map(|id| i64_of(id.index)).collect();
    let rows = sqlx::query(
        // Scalar subqueries: one index probe per id whatever plan the
        // prepared statement gets (a join's generic plan can scan).
        "SELECT q.ord, CASE WHEN q.level = 0
                    THEN (SELECT leaf_hash FROM ledger WHERE position = q.idx)
                    ELSE (SELECT hash FROM merkle_nodes WHERE level = q.level AND idx = q.idx) END
           FROM unnest($1::int2[], $2::int8[]) WITH ORDINALITY AS q(level, idx, ord)",
    )
    .bind(levels)
    .bind(idxs)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    let mut out = vec![None; ids.len()];
    for r in &rows {
        let ord: i64 = col(r, 0)?;
        let h: Option<&[u8]> = col(r, 1)?;
        if let (Some(slot), Some(h)) = (out.get_mut((ord - 1) as usize), h) {
            *slot = Some(columns::hash(h)?);
        }
    }
    Ok(out)
}

pub async fn read_nodes(pool: &PgPool, ids: &[NodeId]) -> Result<Vec<Option<Hash>>, StoreError> {
    let mut conn = pool.acquire().await.map_err(db)?;
    fetch_nodes(&mut conn, ids).await
}

/// One row of `cases`, selected as [`SUMMARY_COLUMNS`].
pub(crate) fn summary_row(r: &PgRow) -> Result<SummaryRow, StoreError> {
    Ok(SummaryRow {
        id: col(r, 0)?,
        title: col(r, 1)?,
        state: col(r, 2)?,
        owner: col(r, 3)?,
        lead_element: col(r, 4)?,
        opened_at: col(r, 5)?,
        updated_at: col(r, 6)?,
        verdict: col(r, 7)?,
        reassessment_due: col(r, 8)?,
        next_step: col(r, 9)?,
        next_due: col(r, 10)?,
        version: col(r, 11)?,
        escalations: col(r, 12)?,
        opened_position: col(r, 13)?,
        levels: col(r, 14)?,
        compartments: col(r, 15)?,
        elements: col(r, 16)?,
        existence_restricted: col(r, 17)?,
        sweep_at_us: col(r, 18)?,
        number_year: col(r, 19)?,
        number_seq: col(r, 20)?,
        measures: col(r, 21)?,
    })
}

/// Fills in the reports of `cases` (one query).
async fn attach_reports(
    conn: &mut PgConnection,
    cases: &mut [CaseSummary],
) -> Result<(), StoreError> {
    if cases.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = cases.iter().map(|c| c.id.to_string()).collect();
    let rows = sqlx::query(
        "SELECT case_id, id, originating_element, received_at, grade, independent, number_format
           FROM reports WHERE case_id = ANY($1::text[]) ORDER BY case_id, ord",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    let index: HashMap<&str, usize> = ids
        .iter()
        .enumerate()
        .map(|(i, s)| (s.as_str(), i))
        .collect();
    for r in &rows {
        let case_id: &str = col(r, 0)?;
        let Some(&i) = index.get(case_id) else {
            continue;
        };
        cases[i].reports.push(ReportRow::decode(
            col(r, 1)?,
            col(r, 2)?,
            col(r, 3)?,
            col(r, 4)?,
            col(r, 5)?,
            col(r, 6)?,
        )?);
    }
    Ok(())
}

fn row_doc(r: &PgRow) -> Result<Doc, StoreError> {
    let kind: String = col(r, 0)?;
    Ok(Doc {
        kind: DocKind::parse(&kind)
            .ok_or_else(|| corrupt(format!("a document of unknown kind '{kind}'")))?,
        key: col(r, 1)?,
        version: col::<i64>(r, 2)? as u64,
        body: col(r, 3)?,
    })
}

pub async fn read_stream(pool: &PgPool, stream: StreamId) -> Result<Vec<StoredEvent>, StoreError> {
    let rows = read_rows(pool, stream).await?;
    // A disposed event reads as its placeholder, from its tombstone (the
    // disposal committed both together, so a row read without its content
    // has its tombstone in the records stream read after it).
    let records = if rows.iter().any(|r| r.2.is_none()) && stream != StreamId::Records {
        let records = read_rows(pool, StreamId::Records).await?;
        tocsin_store::disposed::resolve(StreamId::Records, records, &[])?
    } else {
        Vec::new()
    };
    tocsin_store::disposed::resolve(stream, rows, &records)
}

async fn read_rows(
    pool: &PgPool,
    stream: StreamId,
) -> Result<Vec<tocsin_store::disposed::ReadRow>, StoreError> {
    let rows = sqlx::query(
        "SELECT position, seq, leaf, content_body FROM ledger WHERE stream = $1 ORDER BY seq",
    )
    .bind(stream.to_string())
    .fetch_all(pool)
    .await
    .map_err(db)?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let position: i64 = col(r, 0)?;
        let leaf: &[u8] = col(r, 2)?;
        let body: Option<&[u8]> = col(r, 3)?;
        let envelope = tocsin_store::leaf::stored_event(position as u64, leaf, body)?;
        out.push((position as u64, col::<i64>(r, 1)? as u64, envelope));
    }
    Ok(out)
}

pub async fn list_cases(pool: &PgPool, q: &CaseQuery) -> Result<Page<CaseSummary>, StoreError> {
    let limit = q.effective_limit();
    let after = columns::cursor(q)?;
    let (levels, compartments, elements) = match &q.access {
        Some(a) => (
            Some(a.levels.as_slice()),
            Some(a.compartments.as_slice()),
            a.elements.as_deref(),
        ),
        None => (None, None, None),
    };
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let sql = SQL.get_or_init(|| {
        format!(
            "SELECT {SUMMARY_COLUMNS} FROM cases
             WHERE ($1::text IS NULL OR state = $1)
               AND (NOT $6 OR state <> 'closed')
               AND (NOT $2 OR reassessment_due IS NOT NULL)
               AND ($3::int8 IS NULL OR next_due_us < $3)
               AND ($4::int8 IS NULL OR opened_position < $4)
               AND ($11::text IS NULL OR owner = $11)
               AND ($7::text[] IS NULL OR levels <@ $7)
               AND ($8::text[] IS NULL OR compartments <@ $8)
               AND ($9::text[] IS NULL OR elements && $9)
               AND ($10::int8 IS NULL OR sweep_at_us <= $10)
               AND ($13::text IS NULL OR verdict LIKE $13)
               AND (NOT $14 OR verdict IS NULL)
               AND ($15::text IS NULL OR $15 = ANY(elements))
               AND ($16::text IS NULL OR title ILIKE $16 ESCAPE '\\')
             ORDER BY CASE WHEN $12 THEN next_due_us END ASC, opened_position DESC LIMIT $5"
        )
    });
    let mut tx = snapshot(pool).await?;
    let rows = sqlx::query(sql)
        .bind(q.state.map(|s| s.as_str()))
        .bind(q.reassessment_due)
        .bind(q.overdue_at.map(micros))
        .bind(after)
        .bind(i64::from(limit) + 1)
        .bind(q.open_only)
        .bind(levels)
        .bind(compartments)
        .bind(elements)
        .bind(q.sweep_due_at.map(micros))
        .bind(q.owner.as_deref())
        .bind(q.most_overdue_first && q.overdue_at.is_some())
        .bind(q.verdict.and_then(VerdictFilter::pattern))
        .bind(q.verdict == Some(VerdictFilter::Undetermined))
        .bind(q.element.as_deref())
        .bind(q.title_contains.as_deref().map(contains_pattern))
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
    let mut items = Vec::with_capacity(rows.len());
    let mut last_opened = None;
    for r in rows.iter().take(limit as usize) {
        let row = summary_row(r)?;
        last_opened = Some(row.opened_position);
        items.push(row.decode()?);
    }
    // (No cursor continues the most overdue first: one page only.)
    let lateness = q.most_overdue_first && q.overdue_at.is_some();
    let next = if rows.len() > limit as usize && !lateness {
        last_opened.map(columns::next_cursor)
    } else {
        None
    };
    attach_reports(&mut tx, &mut items).await?;
    tx.commit().await.map_err(db)?;
    Ok(Page { items, next })
}

pub async fn case_summary(pool: &PgPool, id: CaseId) -> Result<Option<CaseSummary>, StoreError> {
    static SQL: OnceLock<String> = OnceLock::new();
    let one = SQL.get_or_init(|| format!("SELECT {SUMMARY_COLUMNS} FROM cases WHERE id = $1"));
    let row = sqlx::query(one)
        .bind(id.to_string())
        .fetch_optional(pool)
        .await
        .map_err(db)?;
    row.map(|r| summary_row(&r)?.decode()).transpose()
}

pub async fn case_by_number(pool: &PgPool, n: CaseNumber) -> Result<Option<CaseId>, StoreError> {
    let id: Option<String> =
        sqlx::query_scalar("SELECT id FROM cases WHERE number_year = $1 AND number_seq = $2")
            .bind(i64::from(n.year()))
            .bind(i64::from(n.seq()))
            .fetch_optional(pool)
            .await
            .map_err(db)?;
    id.map(|i| parse("case id", &i)).transpose()
}

pub async fn case_ids_with_prefix(
    pool: &PgPool,
    prefix: &str,
    limit: u32,
) -> Result<Vec<CaseId>, StoreError> {
    // As SQLite's LIKE: wildcards in the prefix are dropped, and ASCII
    // case does not matter (ids are stored in lower case).
    let pattern = format!("{}%", prefix.replace(['%', '_'], "").to_ascii_lowercase());
    let rows: Vec<String> =
        sqlx::query_scalar("SELECT id FROM cases WHERE id LIKE $1 ESCAPE '' ORDER BY id LIMIT $2")
            .bind(pattern)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await
            .map_err(db)?;
    rows.iter().map(|s| parse("case id", s)).collect()
}

/// The distinct report-number formats of all reports.
pub async fn report_number_formats(pool: &PgPool) -> Result<Vec<String>, StoreError> {
    sqlx::query_scalar(
        "SELECT DISTINCT number_format FROM reports WHERE number_format IS NOT NULL ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .map_err(db)
}

/// The counters of the case gauges, as stored.
pub async fn case_counters(
    pool: &PgPool,
) -> Result<std::collections::BTreeMap<String, i64>, StoreError> {
    let rows: Vec<(String, i64)> = sqlx::query_as("SELECT name, n FROM case_counts WHERE n <> 0")
        .fetch_all(pool)
        .await
        .map_err(db)?;
    Ok(rows.into_iter().collect())
}

/// The case gauges at `now`.
pub async fn case_gauges(
    pool: &PgPool,
    now: tocsin_domain::Timestamp,
) -> Result<tocsin_store::counts::CaseGauges, StoreError> {
    let counters = case_counters(pool).await?;
    let (overdue, unwarned): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM cases WHERE next_due_us < $1 AND state <> 'closed'),
                (SELECT count(*) FROM cases WHERE unwarned_from_us < $1)",
    )
    .bind(micros(now))
    .fetch_one(pool)
    .await
    .map_err(db)?;
    Ok(tocsin_store::counts::CaseGauges::from_counters(
        &counters, overdue, unwarned,
    ))
}

/// Rows of `cases` without measures (written before schema 5).
pub async fn unmeasured_cases(pool: &PgPool) -> Result<u64, StoreError> {
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM cases WHERE measures IS NULL")
        .fetch_one(pool)
        .await
        .map_err(db)?;
    Ok(n.max(0) as u64)
}

pub async fn case_ids(pool: &PgPool) -> Result<Vec<CaseId>, StoreError> {
    let rows: Vec<String> = sqlx::query_scalar(
        "SELECT stream FROM ledger WHERE seq = 1 AND stream LIKE 'case/%' ORDER BY position",
    )
    .fetch_all(pool)
    .await
    .map_err(db)?;
    let mut out = Vec::with_capacity(rows.len());
    for s in &rows {
        if let Some(id) = parse::<StreamId>("stream", s)?.case() {
            out.push(id);
        }
    }
    Ok(out)
}

pub async fn ledger_head(pool: &PgPool) -> Result<LedgerHead, StoreError> {
    let mut tx = snapshot(pool).await?;
    let size: i64 = sqlx::query_scalar("SELECT size FROM ledger_head")
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
    let size = size as u64;
    let ids = tocsin_ledger::root_at_node_ids(size);
    let found = fetch_nodes(&mut tx, &ids).await?;
    let map: HashMap<NodeId, Hash> = ids
        .iter()
        .zip(found)
        .filter_map(|(id, h)| h.map(|h| (*id, h)))
        .collect();
    let root = tocsin_ledger::root_at(size, |id| map.get(&id).copied()).map_err(corrupt)?;
    let checkpoint: Option<String> =
        sqlx::query_scalar("SELECT note FROM checkpoints ORDER BY size DESC LIMIT 1")
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
    tx.commit().await.map_err(db)?;
    Ok(LedgerHead {
        size,
        root,
        checkpoint,
    })
}

pub async fn read_leaves(pool: &PgPool, from: u64, limit: u32) -> Result<LeafPage, StoreError> {
    let rows = sqlx::query(
        "SELECT position, stream, seq, leaf, leaf_hash, content_salt, content_body FROM ledger
         WHERE position >= $1 ORDER BY position LIMIT $2",
    )
    .bind(i64_of(from))
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await
    .map_err(db)?;
    let mut page = LeafPage::with_capacity(rows.len(), rows.len() * 1024);
    for r in &rows {
        let position: i64 = col(r, 0)?;
        let seq: i64 = col(r, 2)?;
        let (position, seq) = (position as u64, seq as u64);
        let (stream, leaf, hash) = (col(r, 1)?, col(r, 3)?, col(r, 4)?);
        match (col::<Option<&[u8]>>(r, 5)?, col::<Option<&[u8]>>(r, 6)?) {
            (None, None) => page.push(position, stream, seq, leaf, hash),
            (Some(salt), Some(body)) => page.push_with_content(
                position,
                stream,
                seq,
                leaf,
                hash,
                LeafContent { salt, body },
            ),
            _ => {
                return Err(corrupt(format!(
                    "ledger position {position} keeps a salt or a body without the other"
                )));
            }
        }
    }
    Ok(page)
}

pub async fn read_level(
    pool: &PgPool,
    level: u8,
    from_index: u64,
    limit: u32,
) -> Result<Vec<(u64, Hash)>, StoreError> {
    let rows = sqlx::query(
        "SELECT idx, hash FROM merkle_nodes WHERE level = $1 AND idx >= $2 ORDER BY idx LIMIT $3",
    )
    .bind(i16::from(level))
    .bind(i64_of(from_index))
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await
    .map_err(db)?;
    rows.iter()
        .map(|r| Ok((col::<i64>(r, 0)? as u64, columns::hash(col(r, 1)?)?)))
        .collect()
}

pub async fn read_checkpoints(
    pool: &PgPool,
    from_size: u64,
    limit: u32,
) -> Result<Vec<StoredCheckpoint>, StoreError> {
    let rows =
        sqlx::query("SELECT size, note FROM checkpoints WHERE size >= $1 ORDER BY size LIMIT $2")
            .bind(i64_of(from_size))
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await
            .map_err(db)?;
    rows.iter()
        .map(|r| {
            Ok(StoredCheckpoint {
                size: col::<i64>(r, 0)? as u64,
                note: col(r, 1)?,
            })
        })
        .collect()
}

pub async fn projection_digest(pool: &PgPool) -> Result<ProjectionDigest, StoreError> {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let all = SQL.get_or_init(|| format!("SELECT {SUMMARY_COLUMNS} FROM cases ORDER BY id"));
    let mut tx = snapshot(pool).await?;
    let rows = sqlx::query(all).fetch_all(&mut *tx).await.map_err(db)?;
    let mut items = rows
        .iter()
        .map(|r| summary_row(r)?.decode())
        .collect::<Result<Vec<_>, _>>()?;
    attach_reports(&mut tx, &mut items).await?;
    let orphans: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM reports WHERE case_id NOT IN (SELECT id FROM cases)",
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(db)?;
    let rows = sqlx::query(
        "SELECT kind, key, version, body FROM docs WHERE kind = ANY($1::text[]) ORDER BY kind, key",
    )
    .bind(derived_kinds())
    .fetch_all(&mut *tx)
    .await
    .map_err(db)?;
    let docs = rows.iter().map(row_doc).collect::<Result<Vec<_>, _>>()?;
    tx.commit().await.map_err(db)?;
    Ok(ProjectionDigest::of(&items, &docs).with_orphan_reports(orphans as u64))
}

pub async fn get_doc(pool: &PgPool, kind: DocKind, key: &str) -> Result<Option<Doc>, StoreError> {
    let row = sqlx::query("SELECT kind, key, version, body FROM docs WHERE kind = $1 AND key = $2")
        .bind(kind.as_str())
        .bind(key)
        .fetch_optional(pool)
        .await
        .map_err(db)?;
    row.as_ref().map(row_doc).transpose()
}

pub async fn list_docs(
    pool: &PgPool,
    kind: DocKind,
    after: Option<String>,
    limit: u32,
) -> Result<Vec<Doc>, StoreError> {
    let rows = sqlx::query(
        "SELECT kind, key, version, body FROM docs
         WHERE kind = $1 AND ($2::text IS NULL OR key > $2)
         ORDER BY key LIMIT $3",
    )
    .bind(kind.as_str())
    .bind(after)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await
    .map_err(db)?;
    rows.iter().map(row_doc).collect()
}

/// Consistency of what PostgreSQL itself does not check: the ledger head
/// against the ledger rows, the latest checkpoint against the head, the
/// count of stored Merkle nodes per level, the query tables against the
/// ledger, the schema version. Empty when all is well.
pub async fn integrity_check(
    pool: &PgPool,
    schema_version: i64,
) -> Result<Vec<String>, StoreError> {
    let mut out = Vec::new();
    let mut tx = snapshot(pool).await?;
    let row = sqlx::query(
        "SELECT (SELECT size FROM ledger_head),
                (SELECT count(*) FROM ledger),
                (SELECT COALESCE(max(position) + 1, 0) FROM ledger),
                (SELECT max(size) FROM checkpoints),
                (SELECT count(*) FROM ledger_head)",
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(db)?;
    let head: Option<i64> = col(&row, 0)?;
    let rows: i64 = col(&row, 1)?;
    let end: i64 = col(&row, 2)?;
    let checkpoint: Option<i64> = col(&row, 3)?;
    let head_rows: i64 = col(&row, 4)?;
    if head_rows != 1 {
        out.push(format!(
            "ledger_head has {head_rows} rows instead of exactly one"
        ));
    }
    let size = head.unwrap_or(0);
    if rows != size || end != size {
        out.push(format!(
            "the ledger head says {size} events, but the ledger holds {rows} rows ending before position {end}"
        ));
    }
    if size > 0 && checkpoint != Some(size) {
        out.push(format!(
            "the latest checkpoint covers {} events, but the ledger head says {size}",
            checkpoint.unwrap_or(0)
        ));
    }
    if checkpoint.unwrap_or(0) > size {
        out.push(format!(
            "a checkpoint covers {} events, more than the ledger holds ({size})",
            checkpoint.unwrap_or(0)
        ));
    }
    let levels = sqlx::query(
        "SELECT level, count(*), max(idx) FROM merkle_nodes GROUP BY level ORDER BY level",
    )
    .fetch_all(&mut *tx)
    .await
    .map_err(db)?;
    let mut found: HashMap<i16, (i64, i64)> = HashMap::new();
    for r in &levels {
        found.insert(col(r, 0)?, (col(r, 1)?, col(r, 2)?));
    }
    let size = size.max(0) as u64;
    for level in 1..64i16 {
        let want = (size >> level) as i64;
        let (n, max) = found.remove(&level).unwrap_or((0, -1));
        if n != want || max != want - 1 {
            out.push(format!(
                "level {level} of the Merkle tree has {n} stored nodes (last index {max}) where a ledger of {size} events has {want}"
            ));
        }
    }
    for (level, (n, _)) in found {
        out.push(format!(
            "{n} Merkle nodes are stored at impossible level {level}"
        ));
    }
    let row = sqlx::query(
        "SELECT (SELECT count(*) FROM reports WHERE case_id NOT IN (SELECT id FROM cases)),
                (SELECT count(*) FROM cases c WHERE NOT EXISTS
                    (SELECT 1 FROM ledger l WHERE l.position = c.opened_position
                        AND l.stream = 'case/' || c.id AND l.seq = 1)),
                (SELECT COALESCE(max(version), 0)::int8 FROM schema_migrations)",
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(db)?;
    let orphans: i64 = col(&row, 0)?;
    let unopened: i64 = col(&row, 1)?;
    let version: i64 = col(&row, 2)?;
    if orphans > 0 {
        out.push(format!("{orphans} reports belong to no case"));
    }
    if unopened > 0 {
        out.push(format!(
            "{unopened} cases do not point at their case_opened event in the ledger"
        ));
    }
    if version != schema_version {
        out.push(format!(
            "the schema is at version {version}, not {schema_version}"
        ));
    }
    tx.commit().await.map_err(db)?;
    Ok(out)
}
