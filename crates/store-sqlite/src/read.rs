//! Reads, each on a connection of the reader pool: streams, the case
//! list, the ledger (leaves, nodes, levels, checkpoints, its head),
//! documents, the projection digest and the physical integrity check.

use std::collections::{BTreeMap, HashMap};

use rusqlite::{Connection, OptionalExtension, params};
use tocsin_domain::{CaseId, CaseNumber, Timestamp};
use tocsin_ledger::{Hash, NodeId};
use tocsin_store::columns::{self, ReportRow, SUMMARY_COLUMNS, SummaryRow, micros, parse};
use tocsin_store::counts::CaseGauges;
use tocsin_store::{
    CaseQuery, CaseSummary, Doc, DocKind, LeafContent, LeafPage, LedgerHead, Page,
    ProjectionDigest, StoreError, StoredCheckpoint, StoredEvent, StreamId, VerdictFilter,
    contains_pattern,
};

use crate::common::sql;

/// The number of leaves in the ledger.
pub fn ledger_size(conn: &Connection) -> Result<u64, StoreError> {
    let size = conn
        .prepare_cached("SELECT COALESCE(MAX(position) + 1, 0) FROM ledger")
        .map_err(sql)?
        .query_row([], |r| r.get::<_, i64>(0))
        .map_err(sql)?;
    Ok(size as u64)
}

/// A stored node (level 0: a leaf hash), if stored.
pub fn read_node(conn: &Connection, id: NodeId) -> Result<Option<Hash>, StoreError> {
    let v: Option<Vec<u8>> = if id.level == 0 {
        conn.prepare_cached("SELECT leaf_hash FROM ledger WHERE position = ?1")
            .map_err(sql)?
            .query_row([id.index as i64], |r| r.get(0))
            .optional()
            .map_err(sql)?
    } else {
        conn.prepare_cached("SELECT hash FROM merkle_nodes WHERE level = ?1 AND idx = ?2")
            .map_err(sql)?
            .query_row(params![id.level as i64, id.index as i64], |r| r.get(0))
            .optional()
            .map_err(sql)?
    };
    v.as_deref().map(columns::hash).transpose()
}

pub fn read_nodes(conn: &Connection, ids: &[NodeId]) -> Result<Vec<Option<Hash>>, StoreError> {
    ids.iter().map(|id| read_node(conn, *id)).collect()
}

pub fn read_stream(conn: &Connection, stream: StreamId) -> Result<Vec<StoredEvent>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT position, seq, leaf, content_body FROM ledger WHERE stream = ?1 ORDER BY seq",
        )
        .map_err(sql)?;
    let mut rows = stmt.query([stream.to_string()]).map_err(sql)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(sql)? {
        let position = r.get::<_, i64>(0).map_err(sql)? as u64;
        let leaf = blob(r, 2)?;
        let envelope = tocsin_store::leaf::stored_event(position, leaf, opt_blob(r, 3)?)?;
        out.push((position, r.get::<_, i64>(1).map_err(sql)? as u64, envelope));
    }
    // A disposed event reads as its placeholder, from its tombstone.
    let records = if out.iter().any(|r| r.2.is_none()) && stream != StreamId::Records {
        read_stream(conn, StreamId::Records)?
    } else {
        Vec::new()
    };
    tocsin_store::disposed::resolve(stream, out, &records)
}

/// Column `i` as bytes; anything else in a BLOB column is damage.
fn blob<'r>(r: &'r rusqlite::Row<'_>, i: usize) -> Result<&'r [u8], StoreError> {
    r.get_ref(i)
        .map_err(sql)?
        .as_bytes()
        .map_err(|_| StoreError::Corrupt(format!("column {i} of a stored row does not hold bytes")))
}

/// Column `i` as bytes, or NULL.
fn opt_blob<'r>(r: &'r rusqlite::Row<'_>, i: usize) -> Result<Option<&'r [u8]>, StoreError> {
    match r.get_ref(i).map_err(sql)? {
        rusqlite::types::ValueRef::Null => Ok(None),
        _ => blob(r, i).map(Some),
    }
}

/// A list of strings stored as JSON text.
fn parse_list(what: &str, s: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("stored {what} '{s}': {e}")))
}

/// One row of `cases`, selected as [`SUMMARY_COLUMNS`].
fn summary_row(r: &rusqlite::Row<'_>) -> Result<SummaryRow, StoreError> {
    let text = |i: usize| r.get::<_, String>(i).map_err(sql);
    let maybe = |i: usize| r.get::<_, Option<String>>(i).map_err(sql);
    let int = |i: usize| r.get::<_, i64>(i).map_err(sql);
    Ok(SummaryRow {
        id: text(0)?,
        title: text(1)?,
        state: text(2)?,
        owner: text(3)?,
        lead_element: text(4)?,
        opened_at: text(5)?,
        updated_at: text(6)?,
        verdict: maybe(7)?,
        reassessment_due: maybe(8)?,
        next_step: maybe(9)?,
        next_due: maybe(10)?,
        version: int(11)?,
        escalations: int(12)?,
        opened_position: int(13)?,
        levels: parse_list("levels", &text(14)?)?,
        compartments: parse_list("compartments", &text(15)?)?,
        elements: parse_list("elements", &text(16)?)?,
        existence_restricted: int(17)? != 0,
        sweep_at_us: r.get(18).map_err(sql)?,
        number_year: r.get(19).map_err(sql)?,
        number_seq: r.get(20).map_err(sql)?,
        measures: r.get(21).map_err(sql)?,
    })
}

/// Every row a statement over `cases` returns.
fn summary_rows(
    stmt: &mut rusqlite::CachedStatement<'_>,
    params: impl rusqlite::Params,
) -> Result<Vec<SummaryRow>, StoreError> {
    let mut rows = stmt.query(params).map_err(sql)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(sql)? {
        out.push(summary_row(r)?);
    }
    Ok(out)
}

/// Fills in the reports of `cases`.
fn attach_reports(conn: &Connection, cases: &mut [CaseSummary]) -> Result<(), StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, originating_element, received_at, grade, independent, number_format FROM reports WHERE case_id = ?1 ORDER BY ord",
        )
        .map_err(sql)?;
    for c in cases.iter_mut() {
        let mut rows = stmt.query([c.id.to_string()]).map_err(sql)?;
        while let Some(r) = rows.next().map_err(sql)? {
            let text = |i: usize| r.get::<_, String>(i).map_err(sql);
            c.reports.push(ReportRow::decode(
                &text(0)?,
                text(1)?,
                &text(2)?,
                text(3)?,
                r.get::<_, i64>(4).map_err(sql)? != 0,
                r.get::<_, Option<String>>(5).map_err(sql)?,
            )?);
        }
    }
    Ok(())
}

pub fn list_cases(conn: &Connection, q: &CaseQuery) -> Result<Page<CaseSummary>, StoreError> {
    let limit = q.effective_limit();
    let after = columns::cursor(q)?;
    let (levels, compartments, elements) = match &q.access {
        Some(a) => (
            Some(columns::json_list(&a.levels)),
            Some(columns::json_list(&a.compartments)),
            a.elements.as_deref().map(columns::json_list),
        ),
        None => (None, None, None),
    };
    // One statement per pair of (state given, deadline given): a term
    // written `?1 IS NULL OR state = ?1` cannot use an index, so a filter
    // that matches few cases would read them all in opening order. With a
    // state, `cases_by_state` gives the matches in order; with only a
    // deadline, `cases_by_due` finds the few overdue ones (then sorted).
    // The most overdue first walks `cases_by_due` in order.
    static SQL: std::sync::OnceLock<[String; 5]> = std::sync::OnceLock::new();
    let variants = SQL.get_or_init(|| {
        let one = |state: bool, due: bool, lateness: bool| {
            let from = if lateness {
                "cases INDEXED BY cases_by_due"
            } else {
                "cases"
            };
            let order = if lateness {
                "next_due_us ASC"
            } else {
                "opened_position DESC"
            };
            let state = if state { "state = ?1" } else { "?1 IS NULL" };
            let due = if due {
                "next_due_us < ?3"
            } else {
                "?3 IS NULL"
            };
            format!(
                "SELECT {SUMMARY_COLUMNS} FROM {from}
             WHERE {state}
               AND (?6 = 0 OR state <> 'closed')
               AND (?2 = 0 OR reassessment_due IS NOT NULL)
               AND {due}
               AND (?4 IS NULL OR opened_position < ?4)
               AND (?11 IS NULL OR owner = ?11)
               AND (?7 IS NULL OR NOT EXISTS (SELECT 1 FROM json_each(cases.levels)
                    WHERE value NOT IN (SELECT value FROM json_each(?7))))
               AND (?8 IS NULL OR NOT EXISTS (SELECT 1 FROM json_each(cases.compartments)
                    WHERE value NOT IN (SELECT value FROM json_each(?8))))
               AND (?9 IS NULL OR EXISTS (SELECT 1 FROM json_each(cases.elements)
                    WHERE value IN (SELECT value FROM json_each(?9))))
               AND (?10 IS NULL OR sweep_at_us <= ?10)
               AND (?12 IS NULL OR verdict LIKE ?12)
               AND (?13 = 0 OR verdict IS NULL)
               AND (?14 IS NULL OR EXISTS (SELECT 1 FROM json_each(cases.elements)
                    WHERE value = ?14))
               AND (?15 IS NULL OR title LIKE ?15 ESCAPE '\\')
             ORDER BY {order} LIMIT ?5"
            )
        };
        [
            one(false, false, false),
            one(true, false, false),
            one(false, true, false),
            one(true, true, false),
            one(false, true, true),
        ]
    });
    let lateness = q.most_overdue_first && q.overdue_at.is_some() && q.state.is_none();
    let sql_text = if lateness {
        &variants[4]
    } else {
        &variants[usize::from(q.state.is_some()) + 2 * usize::from(q.overdue_at.is_some())]
    };
    let mut stmt = conn.prepare_cached(sql_text).map_err(sql)?;
    let mut raw = summary_rows(
        &mut stmt,
        params![
            q.state.map(|s| s.as_str()),
            q.reassessment_due,
            q.overdue_at.map(micros),
            after,
            i64::from(limit) + 1,
            q.open_only,
            levels,
            compartments,
            elements,
            q.sweep_due_at.map(micros),
            q.owner.as_deref(),
            q.verdict.and_then(VerdictFilter::pattern),
            q.verdict == Some(VerdictFilter::Undetermined),
            q.element.as_deref(),
            q.title_contains.as_deref().map(contains_pattern),
        ],
    )?;
    let next = if raw.len() > limit as usize {
        raw.truncate(limit as usize);
        // (No cursor continues the most overdue first: one page only.)
        raw.last()
            .filter(|_| !lateness)
            .map(|r| columns::next_cursor(r.opened_position))
    } else {
        None
    };
    let mut items = raw
        .into_iter()
        .map(SummaryRow::decode)
        .collect::<Result<Vec<_>, _>>()?;
    attach_reports(conn, &mut items)?;
    Ok(Page { items, next })
}

pub fn case_summary(conn: &Connection, id: CaseId) -> Result<Option<CaseSummary>, StoreError> {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let one = SQL.get_or_init(|| format!("SELECT {SUMMARY_COLUMNS} FROM cases WHERE id = ?1"));
    let mut stmt = conn.prepare_cached(one).map_err(sql)?;
    summary_rows(&mut stmt, [id.to_string()])?
        .into_iter()
        .next()
        .map(SummaryRow::decode)
        .transpose()
}

pub fn case_by_number(conn: &Connection, n: CaseNumber) -> Result<Option<CaseId>, StoreError> {
    let id: Option<String> = conn
        .prepare_cached("SELECT id FROM cases WHERE number_year = ?1 AND number_seq = ?2")
        .map_err(sql)?
        .query_row(params![i64::from(n.year()), i64::from(n.seq())], |r| {
            r.get(0)
        })
        .optional()
        .map_err(sql)?;
    id.map(|i| parse("case id", &i)).transpose()
}

pub fn case_ids_with_prefix(
    conn: &Connection,
    prefix: &str,
    limit: u32,
) -> Result<Vec<CaseId>, StoreError> {
    let pattern = format!("{}%", prefix.replace(['%', '_'], ""));
    let mut stmt = conn
        .prepare_cached("SELECT id FROM cases WHERE id LIKE ?1 ORDER BY id LIMIT ?2")
        .map_err(sql)?;
    let rows = stmt
        .query_map(params![pattern, i64::from(limit)], |r| {
            r.get::<_, String>(0)
        })
        .map_err(sql)?;
    let mut out = Vec::new();
    for r in rows {
        out.push(parse("case id", &r.map_err(sql)?)?);
    }
    Ok(out)
}

/// The distinct report-number formats of all reports.
pub fn report_number_formats(conn: &Connection) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT DISTINCT number_format FROM reports WHERE number_format IS NOT NULL ORDER BY 1",
        )
        .map_err(sql)?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0)).map_err(sql)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(sql)
}

/// The counters of the case gauges, as stored.
pub fn case_counters(conn: &Connection) -> Result<BTreeMap<String, i64>, StoreError> {
    let mut stmt = conn
        .prepare_cached("SELECT name, n FROM case_counts WHERE n <> 0")
        .map_err(sql)?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
        .map_err(sql)?;
    rows.collect::<Result<BTreeMap<_, _>, _>>().map_err(sql)
}

/// The case gauges at `now`.
pub fn case_gauges(conn: &Connection, now: Timestamp) -> Result<CaseGauges, StoreError> {
    let counters = case_counters(conn)?;
    let count = |q: &str| -> Result<i64, StoreError> {
        conn.prepare_cached(q)
            .map_err(sql)?
            .query_row([micros(now)], |r| r.get(0))
            .map_err(sql)
    };
    let overdue = count("SELECT count(*) FROM cases WHERE next_due_us < ?1 AND state <> 'closed'")?;
    let unwarned = count("SELECT count(*) FROM cases WHERE unwarned_from_us < ?1")?;
    Ok(CaseGauges::from_counters(&counters, overdue, unwarned))
}

/// Rows of `cases` without measures (written before schema 6).
pub fn unmeasured_cases(conn: &Connection) -> Result<u64, StoreError> {
    let n: i64 = conn
        .query_row(
            "SELECT count(*) FROM cases WHERE measures IS NULL",
            [],
            |r| r.get(0),
        )
        .map_err(sql)?;
    Ok(n.max(0) as u64)
}

pub fn case_ids(conn: &Connection) -> Result<Vec<CaseId>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT stream FROM ledger WHERE seq = 1 AND stream LIKE 'case/%' ORDER BY position",
        )
        .map_err(sql)?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0)).map_err(sql)?;
    let mut out = Vec::new();
    for r in rows {
        if let Some(id) = parse::<StreamId>("stream", &r.map_err(sql)?)?.case() {
            out.push(id);
        }
    }
    Ok(out)
}

pub fn ledger_head(conn: &Connection) -> Result<LedgerHead, StoreError> {
    let size = ledger_size(conn)?;
    let mut map = HashMap::new();
    for id in tocsin_ledger::root_at_node_ids(size) {
        if let Some(h) = read_node(conn, id)? {
            map.insert(id, h);
        }
    }
    let root = tocsin_ledger::root_at(size, |id| map.get(&id).copied())
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let checkpoint = conn
        .query_row(
            "SELECT note FROM checkpoints ORDER BY size DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(sql)?;
    Ok(LedgerHead {
        size,
        root,
        checkpoint,
    })
}

pub fn read_leaves(conn: &Connection, from: u64, limit: u32) -> Result<LeafPage, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT position, stream, seq, leaf, leaf_hash, content_salt, content_body FROM ledger
             WHERE position >= ?1 ORDER BY position LIMIT ?2",
        )
        .map_err(sql)?;
    let mut rows = stmt
        .query(params![from as i64, i64::from(limit)])
        .map_err(sql)?;
    let mut page = LeafPage::with_capacity(limit as usize, limit as usize * 1024);
    while let Some(r) = rows.next().map_err(sql)? {
        let stream = std::str::from_utf8(blob(r, 1)?)
            .map_err(|_| StoreError::Corrupt("a ledger stream id is not UTF-8".into()))?;
        let (position, seq) = (
            r.get::<_, i64>(0).map_err(sql)? as u64,
            r.get::<_, i64>(2).map_err(sql)? as u64,
        );
        let (leaf, hash) = (blob(r, 3)?, blob(r, 4)?);
        match (opt_blob(r, 5)?, opt_blob(r, 6)?) {
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
                return Err(StoreError::Corrupt(format!(
                    "ledger position {position} keeps a salt or a body without the other"
                )));
            }
        }
    }
    Ok(page)
}

pub fn read_level(
    conn: &Connection,
    level: u8,
    from_index: u64,
    limit: u32,
) -> Result<Vec<(u64, Hash)>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT idx, hash FROM merkle_nodes WHERE level = ?1 AND idx >= ?2 ORDER BY idx LIMIT ?3",
        )
        .map_err(sql)?;
    let mut rows = stmt
        .query(params![
            i64::from(level),
            from_index as i64,
            i64::from(limit)
        ])
        .map_err(sql)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(sql)? {
        out.push((
            r.get::<_, i64>(0).map_err(sql)? as u64,
            columns::hash(blob(r, 1)?)?,
        ));
    }
    Ok(out)
}

pub fn read_checkpoints(
    conn: &Connection,
    from_size: u64,
    limit: u32,
) -> Result<Vec<StoredCheckpoint>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT size, note FROM checkpoints WHERE size >= ?1 ORDER BY size LIMIT ?2",
        )
        .map_err(sql)?;
    let rows = stmt
        .query_map(params![from_size as i64, i64::from(limit)], |r| {
            Ok(StoredCheckpoint {
                size: r.get::<_, i64>(0)? as u64,
                note: r.get(1)?,
            })
        })
        .map_err(sql)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(sql)
}

fn row_doc(kind: DocKind, r: &rusqlite::Row<'_>) -> rusqlite::Result<Doc> {
    Ok(Doc {
        kind,
        key: r.get(0)?,
        version: r.get::<_, i64>(1)? as u64,
        body: r.get(2)?,
    })
}

pub fn get_doc(conn: &Connection, kind: DocKind, key: &str) -> Result<Option<Doc>, StoreError> {
    conn.prepare_cached("SELECT key, version, body FROM docs WHERE kind = ?1 AND key = ?2")
        .map_err(sql)?
        .query_row(params![kind.as_str(), key], |r| row_doc(kind, r))
        .optional()
        .map_err(sql)
}

pub fn list_docs(
    conn: &Connection,
    kind: DocKind,
    after: Option<&str>,
    limit: u32,
) -> Result<Vec<Doc>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT key, version, body FROM docs WHERE kind = ?1 AND (?2 IS NULL OR key > ?2)
             ORDER BY key LIMIT ?3",
        )
        .map_err(sql)?;
    let rows = stmt
        .query_map(params![kind.as_str(), after, i64::from(limit)], |r| {
            row_doc(kind, r)
        })
        .map_err(sql)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(sql)
}

/// Every document of a derived kind.
fn derived_docs(conn: &Connection) -> Result<Vec<Doc>, StoreError> {
    let mut out = Vec::new();
    let mut stmt = conn
        .prepare_cached("SELECT key, version, body FROM docs WHERE kind = ?1 ORDER BY key")
        .map_err(sql)?;
    for kind in DocKind::ALL.into_iter().filter(|k| k.derived()) {
        let rows = stmt
            .query_map([kind.as_str()], |r| row_doc(kind, r))
            .map_err(sql)?;
        for r in rows {
            out.push(r.map_err(sql)?);
        }
    }
    Ok(out)
}

pub fn projection_digest(conn: &Connection) -> Result<ProjectionDigest, StoreError> {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let all = SQL.get_or_init(|| format!("SELECT {SUMMARY_COLUMNS} FROM cases ORDER BY id"));
    let mut stmt = conn.prepare_cached(all).map_err(sql)?;
    let mut items = summary_rows(&mut stmt, [])?
        .into_iter()
        .map(SummaryRow::decode)
        .collect::<Result<Vec<_>, _>>()?;
    attach_reports(conn, &mut items)?;
    let orphans: i64 = conn
        .query_row(
            "SELECT count(*) FROM reports WHERE case_id NOT IN (SELECT id FROM cases)",
            [],
            |r| r.get(0),
        )
        .map_err(sql)?;
    let docs = derived_docs(conn)?;
    Ok(ProjectionDigest::of(&items, &docs).with_orphan_reports(orphans as u64))
}

/// SQLite's `quick_check`: what it finds wrong, nothing when all is well.
pub fn integrity_check(conn: &Connection) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare("PRAGMA quick_check").map_err(sql)?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0)).map_err(sql)?;
    let mut out = Vec::new();
    for r in rows {
        let s = r.map_err(sql)?;
        if s != "ok" {
            out.push(s);
        }
    }
    Ok(out)
}
