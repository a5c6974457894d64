//! How the UI writes values as words: an enum's wire name as words, a time
//! to the minute, a duration, a countdown to a deadline. A leaf: it imports
//! nothing from its siblings, so every view module may use it.

use jiff::SignedDuration;
use serde::Serialize;
use tocsin_domain::Timestamp;
use tocsin_domain::time::describe_duration;

/// An enum's name on the wire (`duty_to_warn`), shown as words.
pub(crate) fn words<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s.replace('_', " "),
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

/// An enum's name on the wire, as is (for form values and URLs).
pub(crate) fn wire<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// A time as people read it, to the minute, in UTC.
pub(crate) fn when(t: Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

/// How late, in words ("2d 3h").
pub(crate) fn late(d: SignedDuration) -> String {
    describe_duration(d)
}

/// How long until `due`, as a countdown read at `now`: "in 3h 20m", or
/// "overdue by 2d 3h" (with `true`) once it has passed.
pub(crate) fn countdown(due: Timestamp, now: Timestamp) -> (String, bool) {
    if due >= now {
        (format!("in {}", late(due.duration_since(now))), false)
    } else {
        (
            format!("overdue by {}", late(now.duration_since(due))),
            true,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_countdown_says_how_long_is_left_or_how_late_it_is() {
        let now: Timestamp = "2024-01-01T10:00:00Z".parse().unwrap();
        let soon: Timestamp = "2024-01-01T13:20:00Z".parse().unwrap();
        let (s, over) = countdown(soon, now);
        assert!(s.starts_with("in ") && !over, "{s}");
        let (s, over) = countdown(now, soon);
        assert!(s.starts_with("overdue by ") && over, "{s}");
    }
}
