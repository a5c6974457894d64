//! Tests of retention schedules (`crate::records`).

use crate::ids::CaseId;
use crate::records::*;
use crate::time::Timestamp;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn record(class: RecordClass, closed: Option<&str>) -> Record {
    Record {
        position: 7,
        kind: "report_attached",
        class,
        made_at: ts("2024-01-03T10:00:00Z"),
        case: Some(CaseFacts {
            id: CaseId::from_uuid(uuid::Uuid::from_u128(1)),
            opened_at: ts("2024-01-01T00:00:00Z"),
            closed_at: closed.map(ts),
            victims: vec![],
        }),
    }
}

const SEVEN_YEARS: &str = r#"
[[schedule]]
class = "report"
trigger = "case_closed"
period = "P7Y"
action = "dispose"
authority = "Data Protection Act 2018, s. 39"

[[schedule]]
class = "access_log"
trigger = "record_made"
period = "P90D"
action = "review"
authority = "file plan 4.2"
"#;

#[test]
fn the_builtin_schedules_keep_determinations_and_waivers_and_nothing_else_is_scheduled() {
    let s = RetentionSchedules::builtin();
    for class in RecordClass::ALL {
        let r = record(class, Some("2024-02-01T00:00:00Z"));
        match class {
            RecordClass::Determination | RecordClass::Waiver => {
                assert!(matches!(s.standing(&r), Standing::Permanent(_)), "{class}")
            }
            _ => assert_eq!(s.standing(&r), Standing::Unscheduled, "{class}"),
        }
        assert_eq!(s.eligible_at(&r), None, "{class} is never disposed of");
    }
}

#[test]
fn a_case_closed_at_t_is_eligible_at_t_plus_the_period_and_not_one_second_earlier() {
    let s = RetentionSchedules::parse(SEVEN_YEARS, "test").unwrap();
    let closed = "2024-03-05T14:30:00Z";
    let r = record(RecordClass::Report, Some(closed));
    let at = s.eligible_at(&r).unwrap();
    assert_eq!(at, ts("2031-03-05T14:30:00Z"));
    assert!(s.is_eligible(&r, at));
    assert!(!s.is_eligible(&r, at - jiff::SignedDuration::from_secs(1)));
    assert!(!s.is_eligible(&r, ts(closed)));
    // An open case has not reached its trigger, whatever the time.
    assert_eq!(s.eligible_at(&record(RecordClass::Report, None)), None);
    // Review falls due but is not a disposal.
    let log = record(RecordClass::AccessLog, None);
    assert!(matches!(s.standing(&log), Standing::Due(_, at) if at == ts("2024-04-02T10:00:00Z")));
    assert_eq!(s.eligible_at(&log), None);
}

#[test]
fn periods_parse_and_count_calendar_time_in_utc() {
    let p = |s: &str| RetentionPeriod::parse(s).unwrap();
    assert_eq!(p("P7Y"), RetentionPeriod::years(7));
    assert_eq!(p("P2W3D"), RetentionPeriod::days(17));
    assert_eq!(p("permanent"), RetentionPeriod::Permanent);
    for s in ["P7Y", "P18M", "P2Y6M", "P90D", "P1Y2M3D", "permanent"] {
        assert_eq!(p(s).to_string(), s);
    }
    for bad in [
        "", "P", "7Y", "P7", "PY", "P1D1Y", "PT24H", "P1.5Y", "P-1Y", "forever", "P1001Y",
    ] {
        assert!(RetentionPeriod::parse(bad).is_err(), "{bad}");
    }
    assert_eq!(
        p("P1Y").after(ts("2024-02-29T12:00:00Z")),
        Some(ts("2025-02-28T12:00:00Z"))
    );
    assert_eq!(
        p("P1M").after(ts("2024-01-31T00:00:00Z")),
        Some(ts("2024-02-29T00:00:00Z"))
    );
    assert_eq!(p("permanent").after(ts("2024-01-01T00:00:00Z")), None);
}

fn refused(src: &str) -> ScheduleError {
    RetentionSchedules::parse(src, "test.toml").unwrap_err()
}

#[test]
fn bad_schedules_are_refused_with_line_and_reason() {
    let e = refused(
        "[[schedule]]\nclass = \"report\"\nperiod = \"P7Y\"\naction = \"dispose\"\nauthority = \"x\"\n",
    );
    assert_eq!(e.line, Some(3), "{e}");
    assert!(e.message.contains("trigger"), "{e}");
    let e = refused(&format!(
        "{SEVEN_YEARS}\n[[schedule]]\nclass = \"report\"\nperiod = \"permanent\"\nauthority = \"y\"\n"
    ));
    assert!(e.message.contains("already has a schedule"), "{e}");
    assert_eq!(e.line, Some(SEVEN_YEARS.lines().count() + 3), "{e}");
    let e =
        refused("[[schedule]]\nclass = \"hashes\"\nperiod = \"permanent\"\nauthority = \"x\"\n");
    assert_eq!(e.line, Some(2), "{e}");
    let e = refused(
        "[[schedule]]\nclass = \"report\"\ntrigger = \"record_made\"\nperiod = \"P0D\"\naction = \"dispose\"\nauthority = \"x\"\n",
    );
    assert!(e.message.contains("longer than zero"), "{e}");
    let e = refused("[[schedule]]\nclass = \"report\"\nperiod = \"P7\"\nauthority = \"x\"\n");
    assert!(e.message.contains("not a retention period"), "{e}");
    let e =
        refused("[[schedule]]\nclass = \"report\"\nperiod = \"permanent\"\nauthority = \"  \"\n");
    assert_eq!(e.line, Some(4), "{e}");
    let e = refused(
        "[[schedule]]\nclass = \"report\"\nperiod = \"permanent\"\nauthority = \"x\"\nkeep = true\n",
    );
    assert!(
        e.to_string()
            .starts_with("retention schedules test.toml: line 5"),
        "{e}"
    );
    assert!(
        RetentionSchedules::parse("", "empty")
            .unwrap()
            .iter()
            .next()
            .is_none()
    );
}

#[test]
fn every_event_kind_with_content_has_a_class() {
    use crate::event::{Event, ReassessmentReason};
    assert_eq!(
        Event::record_class(&Event::ContentRead {
            case_id: CaseId::from_uuid(uuid::Uuid::from_u128(1)),
            parts: vec![]
        }),
        Some(RecordClass::AccessLog)
    );
    assert_eq!(
        Event::record_class(&Event::ReassessmentFlagged {
            reason: ReassessmentReason::WindowLapsed,
            detail: String::new()
        }),
        None
    );
}
