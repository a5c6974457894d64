//! The case gauges of `/metrics`, kept incrementally: a table of named
//! counters (`case_counts`) that every write of a case row adjusts in the
//! same transaction, by what the row adds minus what the row it replaces
//! added. Nothing scans the cases to count them. Two figures depend on the
//! time of asking and are counted over an index instead: the open cases
//! whose next step is overdue (`next_due_us`) and the cases whose window
//! has opened with a duty standing and no warning (`unwarned_from_us`).
//!
//! The dashboard's charts are counted here too, per access marking
//! (`chart:WHAT MARKING`, the marking as JSON), so a reader's charts add
//! up only the markings their access filter admits ([`charts`]): the
//! time-to-decide and time-to-warn histograms and cases opened per week
//! by determination.
//!
//! Pure: a backend reads the replaced row, calls [`delta`], and
//! adds the result to its table. `tocsin admin rebuild` starts the table
//! from zero with the rows it writes; `audit verify --deep` compares it
//! with [`totals`] of the fold.

use std::collections::BTreeMap;

use tocsin_domain::case::{CaseState, Measures};

use crate::{AccessFilter, CaseSummary};

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

/// What a summary counts for: the gauges' counters and the charts'.
pub fn contributions_of(s: &CaseSummary) -> BTreeMap<String, i64> {
    let mut out = contributions(
        s.state.as_str(),
        s.reassessment_due.is_some(),
        s.measures.as_ref(),
    );
    out.extend(chart_contributions(s));
    out
}

/// The prefix of the charts' counters.
pub const CHART: &str = "chart:";

/// A determination as the weekly chart groups it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Determined {
    Duty,
    NoDuty,
    MoreInformation,
    Undetermined,
}

impl Determined {
    pub const ALL: [Determined; 4] = [
        Determined::Duty,
        Determined::NoDuty,
        Determined::MoreInformation,
        Determined::Undetermined,
    ];

    /// The word in a counter's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Determined::Duty => "duty",
            Determined::NoDuty => "no_duty",
            Determined::MoreInformation => "more_information",
            Determined::Undetermined => "undetermined",
        }
    }

    /// From a summary's verdict (the verdict's display text).
    pub fn of(verdict: Option<&str>) -> Self {
        match verdict {
            None => Determined::Undetermined,
            Some(v) if v.starts_with("duty") => Determined::Duty,
            Some(v) if v.starts_with("needs") => Determined::MoreInformation,
            Some(_) => Determined::NoDuty,
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == s)
    }
}

const DAY_S: i64 = 86_400;

/// The Monday (UTC) of the week of `t`, in days since 1970-01-01 (a
/// Thursday).
pub fn week_of(t: tocsin_domain::Timestamp) -> i64 {
    let day = t.as_second().div_euclid(DAY_S);
    day - (day + 3).rem_euclid(7)
}

/// A day number as its date, `2024-01-01`.
pub fn day_text(day: i64) -> String {
    jiff::Timestamp::from_second(day * DAY_S)
        .map(|t| t.to_string().chars().take(10).collect())
        .unwrap_or_default()
}

fn bucket_name(secs: u64) -> String {
    BUCKETS
        .iter()
        .find(|b| secs <= **b)
        .map_or("+Inf".to_owned(), |b| b.to_string())
}

/// What a summary counts for in the charts, under its marking.
fn chart_contributions(s: &CaseSummary) -> BTreeMap<String, i64> {
    let marking = serde_json::to_string(&(&s.levels, &s.compartments, &s.elements))
        .unwrap_or_else(|_| "[]".to_owned());
    let mut out = BTreeMap::new();
    let mut add = |what: String| {
        out.insert(format!("{CHART}{what} {marking}"), 1);
    };
    if let Some(m) = &s.measures {
        if let Some(d) = m.time_to_decide {
            add(format!("decide:{}", bucket_name(d.as_secs().max(0) as u64)));
        }
        if let Some(d) = m.time_to_warn {
            add(format!("warn:{}", bucket_name(d.as_secs().max(0) as u64)));
        }
    }
    add(format!("state:{}", s.state.as_str()));
    add(format!(
        "week:{}:{}",
        day_text(week_of(s.opened_at)),
        Determined::of(s.verdict.as_deref()).as_str()
    ));
    out
}

/// The charts of a dashboard, from the counters of the markings a reader
/// may see.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChartCounts {
    /// Time to decide, per bucket as [`Counted::buckets`] (`+Inf` last).
    pub decide: Vec<(Option<u64>, i64)>,
    pub warn: Vec<(Option<u64>, i64)>,
    /// Cases opened per week (the Monday, `2024-01-01`) by determination,
    /// in the order of [`Determined::ALL`]; weeks with none included.
    pub weeks: Vec<(String, [i64; 4])>,
    /// Cases per state (every state, in the order of [`CaseState::ALL`]).
    pub by_state: Vec<(CaseState, i64)>,
}

/// The charts from `counters`, adding up only the markings `filter`
/// admits; `weeks` weeks up to the one of `now`.
pub fn charts(
    counters: &BTreeMap<String, i64>,
    filter: Option<&AccessFilter>,
    now: tocsin_domain::Timestamp,
    weeks: usize,
) -> ChartCounts {
    let buckets = || -> Vec<(Option<u64>, i64)> {
        BUCKETS
            .iter()
            .map(|b| (Some(*b), 0))
            .chain([(None, 0)])
            .collect()
    };
    let last = week_of(now);
    let first = last - 7 * (weeks.max(1) as i64 - 1);
    let mut out = ChartCounts {
        decide: buckets(),
        warn: buckets(),
        weeks: (0..weeks.max(1) as i64)
            .map(|i| (day_text(first + 7 * i), [0; 4]))
            .collect(),
        by_state: CaseState::ALL.iter().map(|s| (*s, 0)).collect(),
    };
    let mut admitted: BTreeMap<&str, bool> = BTreeMap::new();
    for (name, n) in
        counters.range::<str, _>((std::ops::Bound::Included(CHART), std::ops::Bound::Unbounded))
    {
        let Some(rest) = name.strip_prefix(CHART) else {
            break;
        };
        let Some((what, marking)) = rest.split_once(' ') else {
            continue;
        };
        let ok = *admitted.entry(marking).or_insert_with(|| {
            let Ok((l, c, e)) =
                serde_json::from_str::<(Vec<String>, Vec<String>, Vec<String>)>(marking)
            else {
                return false;
            };
            filter.is_none_or(|f| f.admits_marking(&l, &c, &e))
        });
        if !ok {
            continue;
        }
        let mut parts = what.split(':');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(kind @ ("decide" | "warn")), Some(le), None) => {
                let le = if le == "+Inf" {
                    None
                } else {
                    match le.parse::<u64>() {
                        Ok(v) => Some(v),
                        Err(_) => continue,
                    }
                };
                let hist = if kind == "decide" {
                    &mut out.decide
                } else {
                    &mut out.warn
                };
                if let Some(slot) = hist.iter_mut().find(|(b, _)| *b == le) {
                    slot.1 += n;
                }
            }
            (Some("state"), Some(state), None) => {
                if let Some(slot) = out.by_state.iter_mut().find(|(s, _)| s.as_str() == state) {
                    slot.1 += n;
                }
            }
            (Some("week"), Some(day), Some(d)) => {
                let (Some(slot), Some(d)) = (
                    out.weeks.iter_mut().find(|(w, _)| w == day),
                    Determined::parse(d),
                ) else {
                    continue;
                };
                if let Some(i) = Determined::ALL.iter().position(|x| *x == d) {
                    slot.1[i] += n;
                }
            }
            _ => {}
        }
    }
    out
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

    fn case(
        opened: &str,
        levels: &[&str],
        elements: &[&str],
        verdict: Option<&str>,
    ) -> CaseSummary {
        let t: jiff::Timestamp = opened.parse().unwrap();
        let list = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        CaseSummary {
            id: tocsin_domain::CaseId::from_uuid(tocsin_domain::ids::Uuid::from_u128(1)),
            number: None,
            title: "t".into(),
            state: CaseState::DutyToWarn,
            owner: "o".into(),
            lead_element: "e".into(),
            opened_at: t,
            updated_at: t,
            version: 1,
            verdict: verdict.map(str::to_owned),
            reassessment_due: None,
            next_step: None,
            next_due: None,
            escalations: 0,
            reports: vec![],
            levels: list(levels),
            compartments: vec![],
            elements: list(elements),
            existence_restricted: false,
            sweep_at: None,
            measures: Some(measures(90, Some(7_000), false)),
        }
    }

    #[test]
    fn weeks_start_on_monday() {
        // 2024-01-01 was a Monday; 1970-01-01 a Thursday.
        let monday = week_of("2024-01-01T00:00:00Z".parse().unwrap());
        assert_eq!(day_text(monday), "2024-01-01");
        assert_eq!(week_of("2024-01-07T23:59:59Z".parse().unwrap()), monday);
        assert_eq!(week_of("2024-01-08T00:00:00Z".parse().unwrap()), monday + 7);
        assert_eq!(
            day_text(week_of("1970-01-01T00:00:00Z".parse().unwrap())),
            "1969-12-29"
        );
    }

    #[test]
    fn charts_add_up_only_the_markings_a_reader_may_see() {
        let rows = [
            case(
                "2024-01-02T00:00:00Z",
                &["SECRET"],
                &["ct"],
                Some("duty to warn"),
            ),
            case(
                "2024-01-09T00:00:00Z",
                &["SECRET"],
                &["ct"],
                Some("threshold not met (failed: credible)"),
            ),
            case("2024-01-10T00:00:00Z", &["TOP SECRET"], &["ct"], None),
            case(
                "2024-01-10T00:00:00Z",
                &["SECRET"],
                &["fbi"],
                Some("needs more information (open: specific)"),
            ),
        ];
        let all = totals(&rows);
        let now: tocsin_domain::Timestamp = "2024-01-12T00:00:00Z".parse().unwrap();
        let everyone = charts(&all, None, now, 3);
        assert_eq!(everyone.weeks.len(), 3);
        assert_eq!(everyone.weeks[0], ("2023-12-25".to_owned(), [0; 4]));
        assert_eq!(everyone.weeks[1], ("2024-01-01".to_owned(), [1, 0, 0, 0]));
        assert_eq!(everyone.weeks[2], ("2024-01-08".to_owned(), [0, 1, 1, 1]));
        assert_eq!(everyone.decide[1], (Some(120), 4));
        assert_eq!(everyone.warn[7], (Some(7_680), 4));
        // A SECRET reader of element ct sees the first two cases only.
        let f = AccessFilter {
            levels: vec!["SECRET".into()],
            compartments: vec![],
            elements: Some(vec!["ct".into()]),
        };
        let seen = charts(&all, Some(&f), now, 3);
        assert_eq!(seen.weeks[2].1, [0, 1, 0, 0]);
        assert_eq!(seen.decide[1], (Some(120), 2));
        assert_eq!(seen.warn.iter().map(|(_, n)| n).sum::<i64>(), 2);
        assert!(seen.by_state.contains(&(CaseState::DutyToWarn, 2)));
        assert!(everyone.by_state.contains(&(CaseState::DutyToWarn, 4)));
        // The gauges' counters are not the charts'.
        assert_eq!(all["state:duty_to_warn"], 4);
    }
}
