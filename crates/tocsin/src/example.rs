//! A living example: a shipped scenario's report with its dates moved to
//! now, so that following the README reaches a warning whatever the date
//! (`tocsin report example kerman > kerman.json`). The scenario files keep
//! their historical dates; [`as_of`] moves them.

use anyhow::{Context, Result, anyhow};
use jiff::{SignedDuration, Span};
use tocsin_domain::time::ThreatWindow;
use tocsin_domain::{ThreatReport, Timestamp};

use crate::scenarios;

/// The shipped scenario reports, by name.
pub const SCENARIOS: &[(&str, &str)] = &[
    ("kerman", scenarios::KERMAN_REPORT),
    ("crocus", scenarios::CROCUS_REPORT),
    ("crocus-synagogue", scenarios::CROCUS_SYNAGOGUE_REPORT),
    ("edge1-data-centre", scenarios::EDGE1_DATA_CENTRE),
    ("edge2-forum-post", scenarios::EDGE2_FORUM_POST),
    ("edge3-kidnapping", scenarios::EDGE3_KIDNAPPING),
    ("edge4-commander", scenarios::EDGE4_COMMANDER),
    ("edge6-source-exposure", scenarios::EDGE6_SOURCE_EXPOSURE),
    ("edge7-consulate", scenarios::EDGE7_CONSULATE),
];

/// The names of [`SCENARIOS`].
pub fn names() -> impl Iterator<Item = &'static str> {
    SCENARIOS.iter().map(|(n, _)| *n)
}

/// The report of the scenario `name`, received `now`.
pub fn report(name: &str, now: Timestamp) -> Result<ThreatReport> {
    let (_, json) = SCENARIOS.iter().find(|(n, _)| *n == name).ok_or_else(|| {
        anyhow!(
            "no scenario {name}: give one of {}",
            names().collect::<Vec<_>>().join(", ")
        )
    })?;
    let report = scenarios::report(json).with_context(|| format!("the scenario {name}"))?;
    as_of(report, now)
}

const DAY: i64 = 86_400;

/// `report` as if it had been received at `now`: `received_at` becomes
/// `now`, and the threat window moves by the whole number of days that
/// takes (rounded up), counted in the window's own time zone, so it keeps
/// its place after receipt (to the day), its local times (the Kerman
/// window still opens at midnight in Tehran), its length and its zone.
/// Nothing else changes.
pub fn as_of(report: ThreatReport, now: Timestamp) -> Result<ThreatReport> {
    let elapsed = now.duration_since(report.received_at).as_secs();
    let days = elapsed.div_euclid(DAY) + i64::from(elapsed.rem_euclid(DAY) > 0);
    let window = match &report.window {
        None => None,
        Some(w) => {
            let zone = w.time_zone().zone();
            let not_before = w
                .not_before()
                .to_zoned(zone)
                .checked_add(Span::new().try_days(days)?)?
                .timestamp();
            let length: SignedDuration = w.not_after().duration_since(w.not_before());
            let not_after = not_before.checked_add(length)?;
            Some(
                ThreatWindow::new(not_before, not_after, w.time_zone().clone())
                    .map_err(|e| anyhow!("{e}"))?,
            )
        }
    };
    Ok(ThreatReport {
        received_at: now,
        window,
        ..report
    })
}

/// `report` as an intake document, in the order of the scenario files,
/// with the window's times written in its own time zone's offset (as a
/// person would write them: the Kerman window opens at `T00:00:00+03:30`).
pub fn to_json(report: &ThreatReport) -> Result<String> {
    let mut text = serde_json::to_string_pretty(report)?;
    if let Some(w) = &report.window {
        for (key, t) in [("not_before", w.not_before()), ("not_after", w.not_after())] {
            let utc = format!("\"{key}\": {}", serde_json::to_string(&t)?);
            let local = t
                .to_zoned(w.time_zone().zone())
                .strftime("%Y-%m-%dT%H:%M:%S%:z");
            text = text.replacen(&utc, &format!("\"{key}\": \"{local}\""), 1);
        }
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn the_dates_move_to_now_and_nothing_else_changes() {
        let original = scenarios::report(scenarios::KERMAN_REPORT).unwrap();
        let now = ts("2026-11-20T15:30:00Z");
        let moved = as_of(original.clone(), now).unwrap();
        assert_eq!(moved.received_at, now);
        let (w0, w) = (
            original.window.clone().unwrap(),
            moved.window.clone().unwrap(),
        );
        // Its length and zone are kept, and it opens at local midnight
        // some 8 days after receipt, as it did in 2023.
        assert_eq!(
            w.not_after().duration_since(w.not_before()),
            w0.not_after().duration_since(w0.not_before())
        );
        assert_eq!(w.time_zone(), w0.time_zone());
        assert_eq!(
            w.not_before().to_zoned(w.time_zone().zone()).time(),
            jiff::civil::time(0, 0, 0, 0)
        );
        let lead = w.not_before().duration_since(now);
        let lead0 = w0.not_before().duration_since(original.received_at);
        assert!(
            lead >= lead0 && lead < lead0 + SignedDuration::from_hours(24),
            "{lead:?}"
        );
        // Everything else as shipped.
        assert_eq!(
            ThreatReport {
                received_at: original.received_at,
                window: original.window.clone(),
                ..moved
            },
            original
        );
    }

    #[test]
    fn a_time_exactly_whole_days_later_moves_the_window_by_those_days() {
        let original = scenarios::report(scenarios::KERMAN_REPORT).unwrap();
        let now = original
            .received_at
            .checked_add(SignedDuration::from_hours(24 * 10))
            .unwrap();
        let moved = as_of(original.clone(), now).unwrap();
        assert_eq!(
            moved.window.unwrap().not_before(),
            ts("2024-01-13T00:00:00+03:30")
        );
        // The same instant: nothing moves.
        let same = as_of(original.clone(), original.received_at).unwrap();
        assert_eq!(same, original);
    }

    #[test]
    fn the_window_keeps_its_local_times_across_a_change_of_offset() {
        // edge1's window is in Berlin, at +02:00 in May: moved into the
        // winter (+01:00) it opens at the same local time.
        let original = scenarios::report(scenarios::EDGE1_DATA_CENTRE).unwrap();
        let w0 = original.window.clone().unwrap();
        let moved = as_of(original, ts("2026-12-01T08:00:00Z")).unwrap();
        let w = moved.window.unwrap();
        let zone = w.time_zone().zone();
        assert_eq!(
            w.not_before().to_zoned(zone.clone()).time(),
            w0.not_before().to_zoned(zone).time()
        );
    }

    #[test]
    fn every_scenario_moves_and_reads_back_as_an_intake_document() {
        let now = ts("2026-11-20T15:30:00Z");
        for name in names() {
            let r = report(name, now).unwrap();
            let json = to_json(&r).unwrap();
            let back = tocsin_domain::parse_report(&json).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(back, r, "{name}");
            if let Some(w) = &r.window {
                assert!(w.not_before() > now, "{name}: the window opens before now");
            }
        }
        let kerman = to_json(&report("kerman", now).unwrap()).unwrap();
        assert!(kerman.contains("T00:00:00+03:30"), "{kerman}");
        assert!(
            report("nowhere", now)
                .unwrap_err()
                .to_string()
                .contains("kerman, crocus")
        );
    }
}
