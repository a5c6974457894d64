//! How the query tables hold a case summary, the same in every backend:
//! the columns of `cases` and `reports`, how each field of a
//! [`CaseSummary`] is encoded into them, and how a row is decoded back.
//! A backend only binds and reads the values.
//!
//! Times are stored as their RFC 3339 text exactly as given (so the
//! projection digest is the same everywhere), with `next_due` and
//! `sweep_at` also in microseconds for comparisons. The access marking is
//! three lists of strings (JSON text on the way in; SQLite keeps it so,
//! PostgreSQL turns it into arrays). The case list is paged by the
//! position of each case's opening event, which is the cursor.

use std::fmt;
use std::str::FromStr;

use tocsin_domain::case::CaseState;
use tocsin_domain::{CaseNumber, Timestamp};
use tocsin_ledger::Hash;

use crate::{CaseQuery, CaseSummary, DocKind, ReportSummary, StoreError};

/// The columns of `cases` a summary is written to, in the order of
/// [`CaseRow`]'s fields with the opening position second.
pub const CASE_COLUMNS: &str = "id, opened_position, title, state, owner, lead_element, opened_at, updated_at, version, \
     verdict, reassessment_due, next_step, next_due, next_due_us, escalations, \
     levels, compartments, elements, existence_restricted, sweep_at_us, number_year, number_seq, measures, unwarned_from_us";

/// The `SET` list of an upsert into `cases`: every column but the id, the
/// opening position and the number (fixed when the case was opened), from
/// the row that conflicted.
pub const CASE_UPDATES: &str = "title = excluded.title, state = excluded.state, owner = excluded.owner, \
     lead_element = excluded.lead_element, opened_at = excluded.opened_at, \
     updated_at = excluded.updated_at, version = excluded.version, verdict = excluded.verdict, \
     reassessment_due = excluded.reassessment_due, next_step = excluded.next_step, \
     next_due = excluded.next_due, next_due_us = excluded.next_due_us, \
     escalations = excluded.escalations, levels = excluded.levels, \
     compartments = excluded.compartments, elements = excluded.elements, \
     existence_restricted = excluded.existence_restricted, sweep_at_us = excluded.sweep_at_us, \
     measures = excluded.measures, unwarned_from_us = excluded.unwarned_from_us";

/// The columns of `cases` a summary is read from, in the order of
/// [`SummaryRow`]'s fields.
pub const SUMMARY_COLUMNS: &str = "id, title, state, owner, lead_element, opened_at, updated_at, verdict, reassessment_due, next_step, next_due, version, escalations, opened_position, levels, compartments, elements, existence_restricted, sweep_at_us, number_year, number_seq, measures";

/// The columns of `reports` a report is written to, in the order of
/// [`ReportRow`]'s fields with the case id second.
pub const REPORT_COLUMNS: &str =
    "id, case_id, ord, originating_element, received_at, grade, independent, number_format";

/// The `SET` list of an upsert into `reports`: a report listed again, in
/// its case or another, is where it was listed last.
pub const REPORT_UPDATES: &str = "case_id = excluded.case_id, ord = excluded.ord, \
     originating_element = excluded.originating_element, \
     received_at = excluded.received_at, grade = excluded.grade, \
     independent = excluded.independent, number_format = excluded.number_format";

/// A summary encoded for the `cases` table (what needs no encoding is
/// borrowed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseRow<'a> {
    pub id: String,
    pub title: &'a str,
    pub state: &'static str,
    pub owner: &'a str,
    pub lead_element: &'a str,
    pub opened_at: String,
    pub updated_at: String,
    pub version: i64,
    pub verdict: Option<&'a str>,
    pub reassessment_due: Option<&'a str>,
    pub next_step: Option<&'a str>,
    pub next_due: Option<String>,
    pub next_due_us: Option<i64>,
    pub escalations: i64,
    /// The access marking, each list as JSON text.
    pub levels: String,
    pub compartments: String,
    pub elements: String,
    pub existence_restricted: bool,
    pub sweep_at_us: Option<i64>,
    /// The case number's year and rank (absent only for a summary written
    /// without one: a later append, which keeps the stored number).
    pub number_year: Option<i64>,
    pub number_seq: Option<i64>,
    /// The case's [`Measures`](tocsin_domain::case::Measures) as JSON text
    /// (absent only in a row written before they were kept).
    pub measures: Option<String>,
    /// When the case becomes unwarned past its window
    /// ([`crate::counts::unwarned_from_us`]), for the gauge's index.
    pub unwarned_from_us: Option<i64>,
}

impl<'a> CaseRow<'a> {
    /// The row of `s`, numbered `number` if the summary carries none (the
    /// number the planner gave a case it opens).
    pub fn numbered(s: &'a CaseSummary, number: Option<CaseNumber>) -> Self {
        let mut row = Self::of(s);
        if let Some(n) = number.or(s.number) {
            row.number_year = Some(i64::from(n.year()));
            row.number_seq = Some(i64::from(n.seq()));
        }
        row
    }

    pub fn of(s: &'a CaseSummary) -> Self {
        Self {
            id: s.id.to_string(),
            title: &s.title,
            state: s.state.as_str(),
            owner: &s.owner,
            lead_element: &s.lead_element,
            opened_at: s.opened_at.to_string(),
            updated_at: s.updated_at.to_string(),
            version: i64_of(s.version),
            verdict: s.verdict.as_deref(),
            reassessment_due: s.reassessment_due.as_deref(),
            next_step: s.next_step.as_deref(),
            next_due: s.next_due.map(|t| t.to_string()),
            next_due_us: s.next_due.map(micros),
            escalations: i64::from(s.escalations),
            levels: json_list(&s.levels),
            compartments: json_list(&s.compartments),
            elements: json_list(&s.elements),
            existence_restricted: s.existence_restricted,
            sweep_at_us: s.sweep_at.map(micros),
            number_year: s.number.map(|n| i64::from(n.year())),
            number_seq: s.number.map(|n| i64::from(n.seq())),
            measures: s
                .measures
                .as_ref()
                .and_then(|m| serde_json::to_string(m).ok()),
            unwarned_from_us: crate::counts::unwarned_from_us(s.measures.as_ref()),
        }
    }
}

/// A report of a summary encoded for the `reports` table (its case id is
/// the summary's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportRow<'a> {
    pub id: String,
    /// Its place in the summary's list.
    pub ord: i64,
    pub originating_element: &'a str,
    pub received_at: String,
    pub grade: &'a str,
    pub independent: bool,
    pub number_format: Option<&'a str>,
}

impl<'a> ReportRow<'a> {
    /// The rows of every report of `s`, in order.
    pub fn all(s: &'a CaseSummary) -> impl Iterator<Item = ReportRow<'a>> {
        s.reports.iter().zip(0..).map(|(r, ord)| ReportRow {
            id: r.id.to_string(),
            ord,
            originating_element: &r.originating_element,
            received_at: r.received_at.to_string(),
            grade: &r.grade,
            independent: r.independent,
            number_format: r.number_format.as_deref(),
        })
    }

    /// A report read back from its columns.
    pub fn decode(
        id: &str,
        originating_element: String,
        received_at: &str,
        grade: String,
        independent: bool,
        number_format: Option<String>,
    ) -> Result<ReportSummary, StoreError> {
        Ok(ReportSummary {
            id: parse("report id", id)?,
            originating_element,
            received_at: parse("time", received_at)?,
            grade,
            independent,
            number_format,
        })
    }
}

/// One row of `cases` as read ([`SUMMARY_COLUMNS`]), before decoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SummaryRow {
    pub id: String,
    pub title: String,
    pub state: String,
    pub owner: String,
    pub lead_element: String,
    pub opened_at: String,
    pub updated_at: String,
    pub verdict: Option<String>,
    pub reassessment_due: Option<String>,
    pub next_step: Option<String>,
    pub next_due: Option<String>,
    pub version: i64,
    pub escalations: i64,
    pub opened_position: i64,
    pub levels: Vec<String>,
    pub compartments: Vec<String>,
    pub elements: Vec<String>,
    pub existence_restricted: bool,
    pub sweep_at_us: Option<i64>,
    pub number_year: Option<i64>,
    pub number_seq: Option<i64>,
    pub measures: Option<String>,
}

impl SummaryRow {
    /// The summary (without its reports, which are rows of their own).
    pub fn decode(self) -> Result<CaseSummary, StoreError> {
        let id = &self.id;
        let state = CaseState::parse(&self.state).ok_or_else(|| {
            StoreError::Corrupt(format!("case {id}: unknown state {}", self.state))
        })?;
        let sweep_at = self
            .sweep_at_us
            .map(|us| {
                Timestamp::from_microsecond(us).map_err(|e| {
                    StoreError::Corrupt(format!("case {id}: sweep time {us} is invalid: {e}"))
                })
            })
            .transpose()?;
        let number = match (self.number_year, self.number_seq) {
            (Some(y), Some(n)) => Some(
                u16::try_from(y)
                    .ok()
                    .zip(u32::try_from(n).ok())
                    .and_then(|(y, n)| CaseNumber::new(y, n).ok())
                    .ok_or_else(|| {
                        StoreError::Corrupt(format!("case {id}: number {y}-{n} is invalid"))
                    })?,
            ),
            _ => None,
        };
        let measures = self
            .measures
            .as_deref()
            .map(|m| {
                serde_json::from_str(m).map_err(|e| {
                    StoreError::Corrupt(format!("case {id}: stored measures are invalid: {e}"))
                })
            })
            .transpose()?;
        Ok(CaseSummary {
            id: parse("case id", id)?,
            number,
            title: self.title,
            state,
            owner: self.owner,
            lead_element: self.lead_element,
            opened_at: parse("time", &self.opened_at)?,
            updated_at: parse("time", &self.updated_at)?,
            version: self.version as u64,
            verdict: self.verdict,
            reassessment_due: self.reassessment_due,
            next_step: self.next_step,
            next_due: self
                .next_due
                .as_deref()
                .map(|s| parse("time", s))
                .transpose()?,
            escalations: self.escalations as u32,
            reports: vec![],
            levels: self.levels,
            compartments: self.compartments,
            elements: self.elements,
            existence_restricted: self.existence_restricted,
            sweep_at,
            measures,
        })
    }
}

/// The opening position after which `q` continues (its cursor), if any.
pub fn cursor(q: &CaseQuery) -> Result<Option<i64>, StoreError> {
    q.after
        .as_deref()
        .map(|c| c.parse().map_err(|_| StoreError::BadCursor(c.to_owned())))
        .transpose()
}

/// The cursor of the page after one whose last case opened at `position`.
pub fn next_cursor(position: i64) -> String {
    position.to_string()
}

/// The names of the derived document kinds (what a rebuild replaces).
pub fn derived_kinds() -> Vec<&'static str> {
    DocKind::ALL
        .into_iter()
        .filter(|k| k.derived())
        .map(|k| k.as_str())
        .collect()
}

/// A list of strings as JSON text.
pub fn json_list(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

/// A time in microseconds since the epoch (the comparable columns).
pub fn micros(t: Timestamp) -> i64 {
    t.as_microsecond()
}

/// A position, size, version or index as the signed 64-bit integer
/// databases store (they never reach 2^63).
pub fn i64_of(v: u64) -> i64 {
    v as i64
}

/// A stored value of type `T`, or [`StoreError::Corrupt`] naming `what`.
pub fn parse<T: FromStr>(what: &str, s: &str) -> Result<T, StoreError>
where
    T::Err: fmt::Display,
{
    s.parse::<T>()
        .map_err(|e| StoreError::Corrupt(format!("stored {what} '{s}' is invalid: {e}")))
}

/// A stored hash, or [`StoreError::Corrupt`].
pub fn hash(v: &[u8]) -> Result<Hash, StoreError> {
    Hash::from_slice(v).map_err(|e| StoreError::Corrupt(format!("a stored hash is damaged: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ReportSummary;
    use tocsin_domain::{CaseId, ReportId};

    fn summary() -> CaseSummary {
        let t: Timestamp = "2024-01-02T03:04:05.678901234Z".parse().unwrap();
        CaseSummary {
            id: CaseId::from_uuid(tocsin_domain::ids::Uuid::from_u128(5)),
            number: Some(CaseNumber::new(2024, 12).unwrap()),
            title: "case «5»".into(),
            state: CaseState::AwaitingDetermination,
            owner: "o".into(),
            lead_element: "e".into(),
            opened_at: t,
            updated_at: t,
            version: 3,
            verdict: Some("duty_to_warn".into()),
            reassessment_due: None,
            next_step: Some("determine".into()),
            next_due: Some("2024-03-01T12:00:00Z".parse().unwrap()),
            escalations: 2,
            reports: vec![ReportSummary {
                id: ReportId::from_uuid(tocsin_domain::ids::Uuid::from_u128(9)),
                originating_element: "ct".into(),
                received_at: t,
                grade: "B2".into(),
                independent: true,
                number_format: Some(r"TD\d{3}".into()),
            }],
            levels: vec!["secret".into()],
            compartments: vec![],
            elements: vec!["ct".into(), "fbi".into()],
            existence_restricted: true,
            sweep_at: Some("2024-02-01T00:00:00Z".parse().unwrap()),
            measures: Some(tocsin_domain::case::Measures {
                received_at: Some(t),
                warned_at: Some("2024-01-03T00:00:00Z".parse().unwrap()),
                window_opens: Some("2024-01-02T00:00:00Z".parse().unwrap()),
                duty: true,
                time_to_warn: Some(jiff::SignedDuration::from_secs(100)),
                ..Default::default()
            }),
        }
    }

    /// What a backend does: encode, store the values, read them back.
    #[test]
    fn a_summary_comes_back_as_it_went_in() {
        let s = summary();
        let row = CaseRow::of(&s);
        assert_eq!(row.opened_at, "2024-01-02T03:04:05.678901234Z");
        assert_eq!(row.elements, r#"["ct","fbi"]"#);
        assert_eq!(row.next_due_us, Some(1_709_294_400_000_000));
        let list = |j: &str| serde_json::from_str::<Vec<String>>(j).unwrap();
        let read = SummaryRow {
            id: row.id.clone(),
            title: row.title.to_owned(),
            state: row.state.to_owned(),
            owner: row.owner.to_owned(),
            lead_element: row.lead_element.to_owned(),
            opened_at: row.opened_at.clone(),
            updated_at: row.updated_at.clone(),
            verdict: row.verdict.map(str::to_owned),
            reassessment_due: row.reassessment_due.map(str::to_owned),
            next_step: row.next_step.map(str::to_owned),
            next_due: row.next_due.clone(),
            version: row.version,
            escalations: row.escalations,
            opened_position: 0,
            levels: list(&row.levels),
            compartments: list(&row.compartments),
            elements: list(&row.elements),
            existence_restricted: row.existence_restricted,
            sweep_at_us: row.sweep_at_us,
            number_year: row.number_year,
            number_seq: row.number_seq,
            measures: row.measures.clone(),
        };
        assert_eq!((row.number_year, row.number_seq), (Some(2024), Some(12)));
        let mut back = read.decode().unwrap();
        for r in ReportRow::all(&s) {
            assert_eq!(r.ord, 0);
            back.reports.push(
                ReportRow::decode(
                    &r.id,
                    r.originating_element.to_owned(),
                    &r.received_at,
                    r.grade.to_owned(),
                    r.independent,
                    r.number_format.map(str::to_owned),
                )
                .unwrap(),
            );
        }
        assert_eq!(back, s);
    }

    #[test]
    fn damaged_rows_and_cursors_are_named() {
        let s = summary();
        let row = CaseRow::of(&s);
        let bad = SummaryRow {
            id: row.id.clone(),
            title: String::new(),
            state: "pondering".into(),
            owner: String::new(),
            lead_element: String::new(),
            opened_at: row.opened_at.clone(),
            updated_at: row.updated_at.clone(),
            verdict: None,
            reassessment_due: None,
            next_step: None,
            next_due: None,
            version: 1,
            escalations: 0,
            opened_position: 0,
            levels: vec![],
            compartments: vec![],
            elements: vec![],
            existence_restricted: false,
            sweep_at_us: None,
            number_year: None,
            number_seq: None,
            measures: None,
        };
        let e = bad.clone().decode().unwrap_err();
        assert!(e.to_string().contains("unknown state pondering"), "{e}");
        let e = SummaryRow {
            state: "closed".into(),
            measures: Some("{\"duty\": 3}".into()),
            ..bad.clone()
        }
        .decode()
        .unwrap_err();
        assert!(e.to_string().contains("measures are invalid"), "{e}");
        let e = SummaryRow {
            state: "closed".into(),
            number_year: Some(2024),
            number_seq: Some(0),
            ..bad.clone()
        }
        .decode()
        .unwrap_err();
        assert!(e.to_string().contains("number 2024-0 is invalid"), "{e}");
        let e = SummaryRow {
            state: "closed".into(),
            opened_at: "yesterday".into(),
            ..bad
        }
        .decode()
        .unwrap_err();
        assert!(
            matches!(&e, StoreError::Corrupt(m) if m.contains("'yesterday'")),
            "{e}"
        );
        let q = |after: &str| CaseQuery {
            after: Some(after.into()),
            ..Default::default()
        };
        assert_eq!(cursor(&q(&next_cursor(42))).unwrap(), Some(42));
        assert_eq!(cursor(&CaseQuery::default()).unwrap(), None);
        assert!(matches!(cursor(&q("x1")), Err(StoreError::BadCursor(c)) if c == "x1"));
        assert!(hash(&[1, 2]).is_err());
        assert_eq!(
            derived_kinds(),
            [
                "element",
                "account",
                "token",
                "reference",
                "setting",
                "partner",
                "receipt",
                "taxii"
            ]
        );
    }
}
