//! Time: instants, IANA time zones, threat windows and policy durations.
//!
//! Instants are [`jiff::Timestamp`] (RFC 3339 with an offset on the wire).
//! Time-zone names are checked against the IANA database bundled into the
//! binary, so validation never touches the file system.

use std::fmt;

use jiff::SignedDuration;
pub use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

/// An IANA time-zone name such as `Europe/Moscow` or `Asia/Tehran`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeZoneName(String);

/// A time-zone name that is not in the IANA database.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "'{0}' is not an IANA time zone (expected a name such as Europe/Moscow, Asia/Tehran or UTC)"
)]
pub struct UnknownTimeZone(pub String);

impl TimeZoneName {
    pub fn new(s: impl Into<String>) -> Result<Self, UnknownTimeZone> {
        let s: String = s.into();
        if s.is_empty() || s.len() > 64 {
            return Err(UnknownTimeZone(s));
        }
        match TimeZone::get(&s) {
            Ok(_) => Ok(Self(s)),
            Err(_) => Err(UnknownTimeZone(s)),
        }
    }

    pub fn utc() -> Self {
        Self("UTC".to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The zone itself. Infallible: the name was checked on construction.
    pub fn zone(&self) -> TimeZone {
        TimeZone::get(&self.0).unwrap_or(TimeZone::UTC)
    }

    /// `ts` as wall-clock time in this zone, e.g. `2024-03-07 11:15 MSK (+03:00)`.
    pub fn local(&self, ts: Timestamp) -> String {
        ts.to_zoned(self.zone())
            .strftime("%Y-%m-%d %H:%M %Z (%:z)")
            .to_string()
    }
}

impl TryFrom<String> for TimeZoneName {
    type Error = UnknownTimeZone;
    fn try_from(s: String) -> Result<Self, UnknownTimeZone> {
        Self::new(s)
    }
}
impl From<TimeZoneName> for String {
    fn from(v: TimeZoneName) -> String {
        v.0
    }
}
impl std::str::FromStr for TimeZoneName {
    type Err = UnknownTimeZone;
    fn from_str(s: &str) -> Result<Self, UnknownTimeZone> {
        Self::new(s)
    }
}
impl fmt::Display for TimeZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Debug for TimeZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}
impl schemars::JsonSchema for TimeZoneName {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "TimeZoneName".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "An IANA time-zone name, e.g. Europe/Moscow.",
            "examples": ["Europe/Moscow", "Asia/Tehran", "UTC"],
        })
    }
}

/// When the threat is expected: from `not_before` to `not_after`, with the
/// time zone of the place (for display and for deadlines in local time).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(try_from = "ThreatWindowInput")]
pub struct ThreatWindow {
    not_before: Timestamp,
    not_after: Timestamp,
    time_zone: TimeZoneName,
}

/// The wire form of a [`ThreatWindow`], checked by `TryFrom`.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct ThreatWindowInput {
    not_before: Timestamp,
    not_after: Timestamp,
    time_zone: TimeZoneName,
}

/// A window whose end is not after its start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the window ends ({not_after}) before or when it starts ({not_before}); not_after must be later than not_before"
)]
pub struct WindowError {
    pub not_before: Timestamp,
    pub not_after: Timestamp,
}

impl TryFrom<ThreatWindowInput> for ThreatWindow {
    type Error = WindowError;
    fn try_from(w: ThreatWindowInput) -> Result<Self, WindowError> {
        Self::new(w.not_before, w.not_after, w.time_zone)
    }
}

impl ThreatWindow {
    pub fn new(
        not_before: Timestamp,
        not_after: Timestamp,
        time_zone: TimeZoneName,
    ) -> Result<Self, WindowError> {
        if not_after <= not_before {
            return Err(WindowError {
                not_before,
                not_after,
            });
        }
        Ok(Self {
            not_before,
            not_after,
            time_zone,
        })
    }

    pub fn not_before(&self) -> Timestamp {
        self.not_before
    }
    pub fn not_after(&self) -> Timestamp {
        self.not_after
    }
    pub fn time_zone(&self) -> &TimeZoneName {
        &self.time_zone
    }

    /// The smallest window covering both (time zone of `self`).
    pub fn union(&self, other: &ThreatWindow) -> ThreatWindow {
        ThreatWindow {
            not_before: self.not_before.min(other.not_before),
            not_after: self.not_after.max(other.not_after),
            time_zone: self.time_zone.clone(),
        }
    }

    pub fn has_lapsed(&self, now: Timestamp) -> bool {
        now > self.not_after
    }

    /// Human form in local time, e.g. `2024-01-03 00:00 +0330 – 2024-01-04 00:00 +0330 (Asia/Tehran)`.
    pub fn describe(&self) -> String {
        let tz = self.time_zone.zone();
        format!(
            "{} – {} ({})",
            self.not_before
                .to_zoned(tz.clone())
                .strftime("%Y-%m-%d %H:%M %:z"),
            self.not_after.to_zoned(tz).strftime("%Y-%m-%d %H:%M %:z"),
            self.time_zone
        )
    }
}

/// A length of time in a policy, written in ISO 8601 form (`PT24H`, `P30D`,
/// `P1DT12H`, `PT90M`). A day is 24 hours.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PolicyDuration(i64);

/// A duration that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a duration: write it in ISO 8601 form such as PT24H, P30D or P1DT12H")]
pub struct DurationError(pub String);

impl PolicyDuration {
    pub fn from_secs(secs: i64) -> Self {
        Self(secs)
    }
    pub fn hours(h: i64) -> Self {
        Self(h * 3600)
    }
    pub fn days(d: i64) -> Self {
        Self(d * 86400)
    }
    pub fn as_secs(&self) -> i64 {
        self.0
    }
    pub fn signed(&self) -> SignedDuration {
        SignedDuration::from_secs(self.0)
    }

    pub fn parse(s: &str) -> Result<Self, DurationError> {
        let err = || DurationError(s.to_owned());
        let rest = s.strip_prefix('P').ok_or_else(err)?;
        if rest.is_empty() {
            return Err(err());
        }
        let (date, time) = match rest.split_once('T') {
            Some((d, t)) => {
                if t.is_empty() {
                    return Err(err());
                }
                (d, Some(t))
            }
            None => (rest, None),
        };
        let mut total: i64 = 0;
        let mut parse_part = |part: &str, units: &[(char, i64)]| -> Result<(), DurationError> {
            let mut num = String::new();
            let mut last_unit = 0usize;
            for c in part.chars() {
                if c.is_ascii_digit() {
                    num.push(c);
                    continue;
                }
                let idx = units.iter().position(|(u, _)| *u == c).ok_or_else(err)?;
                if num.is_empty() || idx < last_unit {
                    return Err(err());
                }
                last_unit = idx + 1;
                let n: i64 = num.parse().map_err(|_| err())?;
                total = n
                    .checked_mul(units[idx].1)
                    .and_then(|v| total.checked_add(v))
                    .ok_or_else(err)?;
                num.clear();
            }
            if !num.is_empty() {
                return Err(err());
            }
            Ok(())
        };
        parse_part(date, &[('W', 7 * 86400), ('D', 86400)])?;
        if let Some(t) = time {
            parse_part(t, &[('H', 3600), ('M', 60), ('S', 1)])?;
        }
        Ok(Self(total))
    }
}

impl fmt::Display for PolicyDuration {
    /// Whole days of two or more as `P{n}D`, everything else in hours and
    /// minutes (`PT24H`, `PT36H`, `PT1H30M`), which is how people write them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        if s == 0 {
            return f.write_str("PT0S");
        }
        if s % 86400 == 0 && s >= 2 * 86400 {
            return write!(f, "P{}D", s / 86400);
        }
        let (h, m, sec) = (s / 3600, (s % 3600) / 60, s % 60);
        f.write_str("PT")?;
        if h > 0 {
            write!(f, "{h}H")?;
        }
        if m > 0 {
            write!(f, "{m}M")?;
        }
        if sec > 0 {
            write!(f, "{sec}S")?;
        }
        Ok(())
    }
}

impl Serialize for PolicyDuration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
impl<'de> Deserialize<'de> for PolicyDuration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        PolicyDuration::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// `ts + d`, saturating at the representable range.
pub fn add(ts: Timestamp, d: SignedDuration) -> Timestamp {
    ts.checked_add(d).unwrap_or(if d.is_negative() {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    })
}

/// Human form of a signed duration: `3d 4h`, `45m`, `-2h 10m`.
pub fn describe_duration(d: SignedDuration) -> String {
    let neg = d.is_negative();
    let secs = d.as_secs().unsigned_abs();
    let (days, hours, mins) = (secs / 86400, (secs % 86400) / 3600, (secs % 3600) / 60);
    let mut parts = Vec::new();
    if days > 0 {
        parts.push(format!("{days}d"));
    }
    if hours > 0 {
        parts.push(format!("{hours}h"));
    }
    if mins > 0 && days == 0 {
        parts.push(format!("{mins}m"));
    }
    if parts.is_empty() {
        parts.push(format!("{}s", secs));
    }
    format!("{}{}", if neg { "-" } else { "" }, parts.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_zones_are_checked() {
        assert!(TimeZoneName::new("Europe/Moscow").is_ok());
        assert!(TimeZoneName::new("Asia/Tehran").is_ok());
        let e = TimeZoneName::new("Mars/Olympus_Mons").unwrap_err();
        assert!(e.to_string().contains("Mars/Olympus_Mons"));
    }

    #[test]
    fn local_time_in_moscow() {
        let ts: Timestamp = "2024-03-07T08:15:00Z".parse().unwrap();
        let tz = TimeZoneName::new("Europe/Moscow").unwrap();
        assert!(
            tz.local(ts).starts_with("2024-03-07 11:15"),
            "{}",
            tz.local(ts)
        );
    }

    #[test]
    fn window_must_end_after_it_starts() {
        let a: Timestamp = "2024-03-07T00:00:00Z".parse().unwrap();
        let b: Timestamp = "2024-03-09T00:00:00Z".parse().unwrap();
        assert!(ThreatWindow::new(a, b, TimeZoneName::utc()).is_ok());
        assert!(ThreatWindow::new(b, a, TimeZoneName::utc()).is_err());
        assert!(ThreatWindow::new(a, a, TimeZoneName::utc()).is_err());
        let json = r#"{"not_before":"2024-03-09T00:00:00Z","not_after":"2024-03-07T00:00:00Z","time_zone":"UTC"}"#;
        let e = serde_json::from_str::<ThreatWindow>(json).unwrap_err();
        assert!(e.to_string().contains("before or when it starts"), "{e}");
    }

    #[test]
    fn durations() {
        assert_eq!(PolicyDuration::parse("PT24H").unwrap().as_secs(), 86400);
        assert_eq!(PolicyDuration::parse("P30D").unwrap().as_secs(), 30 * 86400);
        assert_eq!(
            PolicyDuration::parse("P1DT12H").unwrap().as_secs(),
            36 * 3600
        );
        assert_eq!(PolicyDuration::parse("PT90M").unwrap().as_secs(), 5400);
        assert_eq!(PolicyDuration::parse("P2W").unwrap().as_secs(), 14 * 86400);
        for bad in [
            "", "P", "PT", "24H", "PT24", "PTH", "P1H", "PT1D", "PT1M1H", "P-1D",
        ] {
            assert!(PolicyDuration::parse(bad).is_err(), "{bad}");
        }
        for s in ["PT24H", "P30D", "PT36H", "PT1H30M", "PT0S", "PT45S"] {
            assert_eq!(PolicyDuration::parse(s).unwrap().to_string(), s);
        }
        assert_eq!(
            PolicyDuration::parse("P1DT12H").unwrap().to_string(),
            "PT36H"
        );
    }
}
