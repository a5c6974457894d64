//! The buffered write: rows of several appends (leaves, Merkle nodes, the
//! last summary of each case they touch, with its reports) gathered in
//! column arrays and written in one statement (`unnest` of each array).
//! The writer buffers its group's plain appends; imports and rebuilds use
//! the same statement.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use sqlx::postgres::PgConnection;
use tocsin_domain::{CaseId, CaseNumber};
use tocsin_ledger::{Hash, NodeId};
use tocsin_store::append::AppendPlan;
use tocsin_store::columns::{
    CASE_COLUMNS, CASE_UPDATES, CaseRow, REPORT_COLUMNS, REPORT_UPDATES, ReportRow, i64_of,
};
use tocsin_store::{CaseSummary, LeafRow, StoreError, counts};

use crate::common::{corrupt, db, sqlstate};

/// Rows waiting to be written in one statement.
#[derive(Default)]
pub struct Buffer {
    positions: Vec<i64>,
    streams: Vec<String>,
    seqs: Vec<i64>,
    leaves: Vec<Vec<u8>>,
    leaf_hashes: Vec<Vec<u8>>,
    /// The salt and body beside each leaf (NULL for version 1).
    salts: Vec<Option<Vec<u8>>>,
    bodies: Vec<Option<Vec<u8>>>,
    node_levels: Vec<i16>,
    node_idxs: Vec<i64>,
    node_hashes: Vec<Vec<u8>>,
    /// The latest summary of each case, in first-touched order.
    cases: Vec<CaseSummary>,
    case_index: HashMap<CaseId, usize>,
    /// Cases whose first event is in this buffer, with its position (the
    /// statement cannot look up what it inserts itself).
    opened: HashMap<CaseId, u64>,
}

impl Buffer {
    fn is_empty(&self) -> bool {
        self.positions.is_empty() && self.cases.is_empty()
    }

    pub fn clear(&mut self) {
        *self = Buffer::default();
    }

    /// One ledger row, with what is kept beside a version-2 leaf.
    pub fn push_leaf(&mut self, row: LeafRow<'_>) {
        self.positions.push(i64_of(row.position));
        self.streams.push(row.stream.to_owned());
        self.seqs.push(i64_of(row.seq));
        self.leaves.push(row.leaf.to_vec());
        self.leaf_hashes.push(row.leaf_hash.to_vec());
        self.salts.push(row.content.map(|c| c.salt.to_vec()));
        self.bodies.push(row.content.map(|c| c.body.to_vec()));
    }

    /// Merkle nodes of level >= 1.
    pub fn push_nodes(&mut self, nodes: &[(NodeId, Hash)]) {
        for (id, h) in nodes {
            self.node_levels.push(i16::from(id.level));
            self.node_idxs.push(i64_of(id.index));
            self.node_hashes.push(h.as_bytes().to_vec());
        }
    }

    /// Everything a planned append writes to the ledger.
    pub fn push_plan(&mut self, plan: AppendPlan) {
        if let Some((id, position)) = plan.opens_case() {
            self.opened.insert(id, position);
        }
        self.push_nodes(&plan.nodes);
        for l in &plan.leaves {
            self.push_leaf(l.row(&plan.stream_text));
        }
    }

    /// A case's summary, numbered `number` when the append opened it; a
    /// later summary of the same case supersedes an earlier one (and keeps
    /// the number the earlier one was given).
    pub fn push_case(&mut self, s: &CaseSummary, number: Option<CaseNumber>) {
        let mut s = s.clone();
        s.number = number.or(s.number);
        match self.case_index.get(&s.id) {
            Some(&i) => {
                s.number = s.number.or(self.cases[i].number);
                self.cases[i] = s;
            }
            None => {
                self.case_index.insert(s.id, self.cases.len());
                self.cases.push(s);
            }
        }
    }
}

const FLUSH_LEDGER: &str = "
    l AS (
        INSERT INTO ledger (position, stream, seq, leaf, leaf_hash, content_salt, content_body)
        SELECT * FROM unnest($1::int8[], $2::text[], $3::int8[], $4::bytea[], $5::bytea[],
                             $9::bytea[], $10::bytea[])
    )";

const FLUSH_NODES: &str = "
    INSERT INTO merkle_nodes (level, idx, hash)
    SELECT * FROM unnest($6::int2[], $7::int8[], $8::bytea[])";

/// The case and report rows. The access marking travels as JSON text per
/// case (arrays of arrays must be rectangular in PostgreSQL).
fn flush_cases() -> String {
    format!(
        "c AS (
            INSERT INTO cases ({CASE_COLUMNS})
            SELECT u.id, COALESCE(u.hint, (SELECT position FROM ledger WHERE stream = 'case/' || u.id AND seq = 1)),
                   u.title, u.state, u.owner, u.lead, u.opened_at, u.updated_at, u.version,
                   u.verdict, u.reassessment_due, u.next_step, u.next_due, u.next_due_us, u.escalations,
                   ARRAY(SELECT x FROM json_array_elements_text(u.levels::json) WITH ORDINALITY AS j(x, o) ORDER BY o),
                   ARRAY(SELECT x FROM json_array_elements_text(u.compartments::json) WITH ORDINALITY AS j(x, o) ORDER BY o),
                   ARRAY(SELECT x FROM json_array_elements_text(u.elements::json) WITH ORDINALITY AS j(x, o) ORDER BY o),
                   u.restricted, u.sweep_at_us, u.number_year, u.number_seq, u.measures, u.unwarned_from_us
              FROM unnest($11::text[], $12::int8[], $13::text[], $14::text[], $15::text[], $16::text[], $17::text[],
                          $18::text[], $19::int8[], $20::text[], $21::text[], $22::text[], $23::text[], $24::int8[],
                          $25::int8[], $26::text[], $27::text[], $28::text[], $29::bool[], $37::int8[],
                          $38::int8[], $39::int8[], $40::text[], $42::int8[])
                   AS u(id, hint, title, state, owner, lead, opened_at, updated_at, version,
                        verdict, reassessment_due, next_step, next_due, next_due_us, escalations,
                        levels, compartments, elements, restricted, sweep_at_us, number_year, number_seq, measures, unwarned_from_us)
            ON CONFLICT (id) DO UPDATE SET {CASE_UPDATES}
        ),
        d AS (DELETE FROM reports WHERE case_id = ANY($11::text[]) AND NOT (id = ANY($30::text[])))
        INSERT INTO reports ({REPORT_COLUMNS})
        SELECT * FROM unnest($30::text[], $31::text[], $32::int8[], $33::text[], $34::text[], $35::text[], $36::bool[], $41::text[])
        ON CONFLICT (id) DO UPDATE SET {REPORT_UPDATES}"
    )
}

fn flush_sql(with_cases: bool) -> &'static str {
    static EVENTS: OnceLock<String> = OnceLock::new();
    static ALL: OnceLock<String> = OnceLock::new();
    if with_cases {
        ALL.get_or_init(|| {
            format!(
                "WITH {FLUSH_LEDGER}, n AS ({FLUSH_NODES}), {}",
                flush_cases()
            )
        })
    } else {
        EVENTS.get_or_init(|| format!("WITH {FLUSH_LEDGER} {FLUSH_NODES}"))
    }
}

/// Writes what the buffer holds, in one statement, and empties it.
pub async fn flush(conn: &mut PgConnection, buf: &mut Buffer) -> Result<(), StoreError> {
    if buf.is_empty() {
        return Ok(());
    }
    let b = std::mem::take(buf);
    let with_cases = !b.cases.is_empty();
    let mut q = sqlx::query(flush_sql(with_cases))
        .bind(b.positions)
        .bind(b.streams)
        .bind(b.seqs)
        .bind(b.leaves)
        .bind(b.leaf_hashes)
        .bind(b.node_levels)
        .bind(b.node_idxs)
        .bind(b.node_hashes)
        .bind(b.salts)
        .bind(b.bodies);
    let counted = if with_cases {
        Some(count_cases(conn, &b.cases).await?)
    } else {
        None
    };
    if with_cases {
        let mut c = CaseColumns::with_capacity(b.cases.len());
        for s in &b.cases {
            c.push(s, b.opened.get(&s.id).copied());
        }
        q = c.bind(q);
    }
    q.execute(&mut *conn).await.map_err(|e| {
        let constraint = match &e {
            sqlx::Error::Database(d) => d.constraint().unwrap_or("").to_owned(),
            _ => String::new(),
        };
        match sqlstate(&e).as_deref() {
            Some("23505") => corrupt(format!(
                "a ledger position or Merkle node is already stored that the ledger head says is free (constraint {constraint})"
            )),
            Some("23502") => {
                corrupt("a case summary names a case with no case_opened event in the ledger")
            }
            _ => db(e),
        }
    })?;
    if let Some(delta) = counted.filter(|d| !d.is_empty()) {
        let (names, ns): (Vec<String>, Vec<i64>) = delta.into_iter().unzip();
        sqlx::query(
            "INSERT INTO case_counts (name, n) SELECT * FROM unnest($1::text[], $2::int8[])
             ON CONFLICT (name) DO UPDATE SET n = case_counts.n + excluded.n",
        )
        .bind(names)
        .bind(ns)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    }
    Ok(())
}

/// How the case gauges' counters change when `cases` replace the rows
/// stored for them ([`tocsin_store::counts`]), read in the caller's
/// transaction (which holds the ledger head's lock).
async fn count_cases(
    conn: &mut PgConnection,
    cases: &[CaseSummary],
) -> Result<BTreeMap<String, i64>, StoreError> {
    let ids: Vec<String> = cases.iter().map(|s| s.id.to_string()).collect();
    static SQL: OnceLock<String> = OnceLock::new();
    let sql = SQL.get_or_init(|| {
        format!(
            "SELECT {} FROM cases WHERE id = ANY($1::text[])",
            tocsin_store::columns::SUMMARY_COLUMNS
        )
    });
    let rows = sqlx::query(sql)
        .bind(&ids)
        .fetch_all(&mut *conn)
        .await
        .map_err(db)?;
    let mut old: HashMap<String, BTreeMap<String, i64>> = HashMap::new();
    for r in &rows {
        let s = crate::read::summary_row(r)?.decode()?;
        old.insert(s.id.to_string(), counts::contributions_of(&s));
    }
    let mut total: BTreeMap<String, i64> = BTreeMap::new();
    for (s, id) in cases.iter().zip(&ids) {
        for (k, v) in counts::delta(old.get(id), &counts::contributions_of(s)) {
            *total.entry(k).or_default() += v;
        }
    }
    total.retain(|_, v| *v != 0);
    Ok(total)
}

/// The case and report columns of a flush, one array per column.
#[derive(Default)]
struct CaseColumns {
    id: Vec<String>,
    hint: Vec<Option<i64>>,
    title: Vec<String>,
    state: Vec<&'static str>,
    owner: Vec<String>,
    lead: Vec<String>,
    opened_at: Vec<String>,
    updated_at: Vec<String>,
    version: Vec<i64>,
    verdict: Vec<Option<String>>,
    reassessment_due: Vec<Option<String>>,
    next_step: Vec<Option<String>>,
    next_due: Vec<Option<String>>,
    next_due_us: Vec<Option<i64>>,
    escalations: Vec<i64>,
    levels: Vec<String>,
    compartments: Vec<String>,
    elements: Vec<String>,
    restricted: Vec<bool>,
    sweep_at_us: Vec<Option<i64>>,
    number_year: Vec<Option<i64>>,
    number_seq: Vec<Option<i64>>,
    measures: Vec<Option<String>>,
    unwarned_from_us: Vec<Option<i64>>,
    r_id: Vec<String>,
    r_case: Vec<String>,
    r_ord: Vec<i64>,
    r_el: Vec<String>,
    r_at: Vec<String>,
    r_grade: Vec<String>,
    r_ind: Vec<bool>,
    r_format: Vec<Option<String>>,
    r_index: HashMap<String, usize>,
}

type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

impl CaseColumns {
    fn with_capacity(n: usize) -> Self {
        let mut c = CaseColumns::default();
        c.id.reserve(n);
        c
    }

    fn push(&mut self, s: &CaseSummary, hint: Option<u64>) {
        let c = CaseRow::of(s);
        for r in ReportRow::all(s) {
            // One row per report in a statement (ON CONFLICT cannot touch
            // a row twice): a report listed again, in this case or
            // another, is where it was listed last.
            let at = match self.r_index.get(&r.id) {
                Some(&at) => at,
                None => {
                    self.r_index.insert(r.id.clone(), self.r_id.len());
                    self.r_id.push(String::new());
                    self.r_case.push(String::new());
                    self.r_ord.push(0);
                    self.r_el.push(String::new());
                    self.r_at.push(String::new());
                    self.r_grade.push(String::new());
                    self.r_ind.push(false);
                    self.r_format.push(None);
                    self.r_id.len() - 1
                }
            };
            self.r_id[at] = r.id;
            self.r_case[at] = c.id.clone();
            self.r_ord[at] = r.ord;
            self.r_el[at] = r.originating_element.to_owned();
            self.r_at[at] = r.received_at;
            self.r_grade[at] = r.grade.to_owned();
            self.r_ind[at] = r.independent;
            self.r_format[at] = r.number_format.map(str::to_owned);
        }
        self.hint.push(hint.map(i64_of));
        self.title.push(c.title.to_owned());
        self.state.push(c.state);
        self.owner.push(c.owner.to_owned());
        self.lead.push(c.lead_element.to_owned());
        self.opened_at.push(c.opened_at);
        self.updated_at.push(c.updated_at);
        self.version.push(c.version);
        self.verdict.push(c.verdict.map(str::to_owned));
        self.reassessment_due
            .push(c.reassessment_due.map(str::to_owned));
        self.next_step.push(c.next_step.map(str::to_owned));
        self.next_due.push(c.next_due);
        self.next_due_us.push(c.next_due_us);
        self.escalations.push(c.escalations);
        self.levels.push(c.levels);
        self.compartments.push(c.compartments);
        self.elements.push(c.elements);
        self.restricted.push(c.existence_restricted);
        self.sweep_at_us.push(c.sweep_at_us);
        self.number_year.push(c.number_year);
        self.number_seq.push(c.number_seq);
        self.measures.push(c.measures);
        self.unwarned_from_us.push(c.unwarned_from_us);
        self.id.push(c.id);
    }

    /// Binds $11..=$42 of the flush statement.
    fn bind(self, q: PgQuery<'_>) -> PgQuery<'_> {
        q.bind(self.id)
            .bind(self.hint)
            .bind(self.title)
            .bind(self.state)
            .bind(self.owner)
            .bind(self.lead)
            .bind(self.opened_at)
            .bind(self.updated_at)
            .bind(self.version)
            .bind(self.verdict)
            .bind(self.reassessment_due)
            .bind(self.next_step)
            .bind(self.next_due)
            .bind(self.next_due_us)
            .bind(self.escalations)
            .bind(self.levels)
            .bind(self.compartments)
            .bind(self.elements)
            .bind(self.restricted)
            .bind(self.r_id)
            .bind(self.r_case)
            .bind(self.r_ord)
            .bind(self.r_el)
            .bind(self.r_at)
            .bind(self.r_grade)
            .bind(self.r_ind)
            .bind(self.sweep_at_us)
            .bind(self.number_year)
            .bind(self.number_seq)
            .bind(self.measures)
            .bind(self.r_format)
            .bind(self.unwarned_from_us)
    }
}
