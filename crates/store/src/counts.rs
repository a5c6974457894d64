//! The case gauges of `/metrics`, kept incrementally: a table of named
//! counters (`case_counts`) that every write of a case row adjusts in the
//! same transaction, by what the row adds minus what the row it replaces
//! added. Nothing scans the cases to count them. Two figures depend on the
//! time of asking and are counted over an index instead: the open cases
//! whose next step is overdue (`next_due_us`) and the cases whose window
//! has opened with a duty standing and no warning (`unwarned_from_us`).
//!
//! Pure: a backend reads the replaced row's fields, calls [`delta`], and
//! adds the result to its table. `tocsin admin rebuild` starts the table
//! from zero with the rows it writes; `audit verify --deep` compares it
//! with [`totals`] of the fold.

use std::collections::BTreeMap;

use tocsin_domain::case::{CaseState, Measures};

use crate::CaseSummary;

/// The upper bounds of the time-to-decide and time-to-warn histograms, in
/// seconds: one minute doubling to about 68 days (then `+Inf`).
pub const BUCKETS: [u64; 17] = {
    let mut b = [0u64; 17];
    let mut i = 0;
    while i < 17 {
        b[i] = 60 << i;
        i += 1;
    }
    b
};

/// What one case row counts for, from the fields the counters depend on.
pub fn contributions(
    state: &str,
    reassessment_due: bool,
    measures: Option<&Measures>,
) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    out.insert(format!("state:{state}"), 1);
    if reassessment_due {
        out.insert("reassessment_due".to_owned(), 1);
    }
    if let Some(m) = measures {
        let mut time = |name: &str, d: Option<jiff::SignedDuration>| {
            let Some(d) = d else { return };
            let secs = d.as_secs().max(0) as u64;
            let le = BUCKETS
                .iter()
                .find(|b| secs <= **b)
                .map_or("+Inf".to_owned(), |b| b.to_string());
            out.insert(format!("{name}:le:{le}"), 1);
            out.insert(format!("{name}:count"), 1);
            out.insert(format!("{name}:sum_s"), secs as i64);
        };
        time("time_to_decide", m.time_to_decide);
        time("time_to_warn", m.time_to_warn);
        if let Some(l) = m.warned_lateness() {
            out.insert(format!("lateness:{}", l.as_str()), 1);
        }
    }
    out
}

/// What a stored row counts for, from its columns (`measures` as stored
/// JSON; unreadable or absent measures count nothing).
pub fn contributions_of_row(
    state: &str,
    reassessment_due: bool,
    measures: Option<&str>,
) -> BTreeMap<String, i64> {
    let m: Option<Measures> = measures.and_then(|m| serde_json::from_str(m).ok());
    contributions(state, reassessment_due, m.as_ref())
}

/// What a summary counts for.
pub fn contributions_of(s: &CaseSummary) -> BTreeMap<String, i64> {
    contributions(
        s.state.as_str(),
        s.reassessment_due.is_some(),
        s.measures.as_ref(),
    )
}

/// How the counters change when `new` replaces `old` (nothing: a new
/// row). Counters that do not change are left out.
pub fn delta(
    old: Option<&BTreeMap<String, i64>>,
    new: &BTreeMap<String, i64>,
) -> BTreeMap<String, i64> {
    let mut out = new.clone();
    for (k, v) in old.into_iter().flatten() {
        *out.entry(k.clone()).or_default() -= v;
    }
    out.retain(|_, v| *v != 0);
    out
}

/// The counters of a whole set of rows (what the table must hold).
pub fn totals<'a>(rows: impl IntoIterator<Item = &'a CaseSummary>) -> BTreeMap<String, i64> {
    let mut out: BTreeMap<String, i64> = BTreeMap::new();
    for s in rows {
        for (k, v) in contributions_of(s) {
            *out.entry(k).or_default() += v;
        }
    }
    out.retain(|_, v| *v != 0);
    out
}

/// When an unwarned case with a standing duty becomes late (its window
/// opens), in microseconds: the `unwarned_from_us` column.
pub fn unwarned_from_us(m: Option<&Measures>) -> Option<i64> {
    let m = m?;
    (m.duty && m.warned_at.is_none())
        .then_some(m.window_opens)
        .flatten()
        .map(|t| t.as_microsecond())
}

/// A histogram as counted: per bucket (not cumulative), with `+Inf` last.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counted {
    pub buckets: Vec<(Option<u64>, i64)>,
    pub count: i64,
    pub sum_s: i64,
}

/// The case gauges, as a store reads them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CaseGauges {
    pub by_state: Vec<(CaseState, i64)>,
    pub reassessment_due: i64,
    /// Open cases whose next step is past its deadline.
    pub overdue: i64,
    pub time_to_decide: Counted,
    pub time_to_warn: Counted,
    pub in_time: i64,
    pub late: i64,
    /// The window has opened, a duty stands, no warning has been received.
    pub unwarned: i64,
}

impl CaseGauges {
    /// The gauges from the counters table and the two counts over indexes.
    pub fn from_counters(counters: &BTreeMap<String, i64>, overdue: i64, unwarned: i64) -> Self {
        let get = |k: &str| counters.get(k).copied().unwrap_or(0);
        let counted = |name: &str| Counted {
            buckets: BUCKETS
                .iter()
                .map(|b| (Some(*b), get(&format!("{name}:le:{b}"))))
                .chain([(None, get(&format!("{name}:le:+Inf")))])
                .collect(),
            count: get(&format!("{name}:count")),
            sum_s: get(&format!("{name}:sum_s")),
        };
        CaseGauges {
            by_state: CaseState::ALL
                .iter()
                .map(|s| (*s, get(&format!("state:{}", s.as_str()))))
                .collect(),
            reassessment_due: get("reassessment_due"),
            overdue,
            time_to_decide: counted("time_to_decide"),
            time_to_warn: counted("time_to_warn"),
            in_time: get("lateness:in_time"),
            late: get("lateness:late"),
            unwarned,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measures(decide_s: i64, warn_s: Option<i64>, late: bool) -> Measures {
        let t0: jiff::Timestamp = "2024-01-01T00:00:00Z".parse().unwrap();
        let opens: jiff::Timestamp = "2024-01-02T00:00:00Z".parse().unwrap();
        Measures {
            received_at: Some(t0),
            time_to_decide: Some(jiff::SignedDuration::from_secs(decide_s)),
            time_to_warn: warn_s.map(jiff::SignedDuration::from_secs),
            warned_at: warn_s.map(|_| {
                if late {
                    "2024-01-03T00:00:00Z".parse().unwrap()
                } else {
                    t0
                }
            }),
            window_opens: Some(opens),
            duty: true,
            ..Default::default()
        }
    }

    #[test]
    fn a_row_counts_its_state_times_and_lateness() {
        let c = contributions("delivered", false, Some(&measures(90, Some(3_600), true)));
        assert_eq!(c["state:delivered"], 1);
        assert_eq!(c["time_to_decide:le:120"], 1);
        assert_eq!(c["time_to_decide:sum_s"], 90);
        assert_eq!(c["time_to_warn:le:3840"], 1);
        assert_eq!(c["lateness:late"], 1);
        assert!(!c.contains_key("reassessment_due"));
        // Beyond the last bound: +Inf.
        let c = contributions("delivered", true, Some(&measures(10_000_000, None, false)));
        assert_eq!(c["time_to_decide:le:+Inf"], 1);
        assert_eq!(c["reassessment_due"], 1);
        assert!(!c.keys().any(|k| k.starts_with("lateness")));
    }

    #[test]
    fn a_replaced_row_moves_only_what_changed() {
        let old = contributions("awaiting_determination", false, None);
        let new = contributions("duty_to_warn", false, Some(&measures(60, None, false)));
        let d = delta(Some(&old), &new);
        assert_eq!(d["state:awaiting_determination"], -1);
        assert_eq!(d["state:duty_to_warn"], 1);
        assert_eq!(d["time_to_decide:count"], 1);
        assert_eq!(delta(Some(&new), &new), BTreeMap::new());
        assert_eq!(delta(None, &old), old);
    }

    #[test]
    fn gauges_read_back_from_the_counters() {
        let rows = [
            contributions("delivered", false, Some(&measures(90, Some(60), false))),
            contributions("closed", true, Some(&measures(30, Some(100), true))),
        ];
        let mut total: BTreeMap<String, i64> = BTreeMap::new();
        for r in &rows {
            for (k, v) in r {
                *total.entry(k.clone()).or_default() += v;
            }
        }
        let g = CaseGauges::from_counters(&total, 3, 4);
        assert_eq!(g.time_to_warn.count, 2);
        assert_eq!(g.time_to_warn.sum_s, 160);
        assert_eq!(g.time_to_warn.buckets[0], (Some(60), 1));
        assert_eq!(g.time_to_warn.buckets[1], (Some(120), 1));
        assert_eq!((g.in_time, g.late, g.overdue, g.unwarned), (1, 1, 3, 4));
        assert_eq!(g.reassessment_due, 1);
        assert!(g.by_state.contains(&(CaseState::Closed, 1)));
    }
}
