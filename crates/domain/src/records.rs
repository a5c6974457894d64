//! Records management: which records tocsin keeps, for how long, and when
//! one falls due for disposal or review.
//!
//! A **record** is one event of the ledger (one leaf) that holds content a
//! retention schedule may govern; its [`RecordClass`] says which schedule.
//! Events of no class (a case opening, a closure, an escalation, the
//! accounts stream...) are structure, not content, and are never disposed
//! of; neither are the ledger's hashes, which are permanent whatever the
//! schedules say.
//!
//! **Retention schedules are data**: a TOML file, checked completely like
//! the policy (a wrong value, an unknown key, a class listed twice is
//! refused with its line and the reason). One schedule per class names
//! the [`Trigger`] that starts its period, the [`RetentionPeriod`], the
//! [`RetentionAction`] that then falls due (dispose, or review) and the
//! authority it cites. The built-in schedules (`policies/retention.toml`)
//! are conservative: determinations and waivers are permanent, and a class
//! without a schedule is never disposed of.
//!
//! Everything here is a function of its arguments: the time is passed in
//! ([`RetentionSchedules::eligible_at`], and `crate::holds` for the decision
//! to dispose under legal holds).

use std::collections::BTreeMap;
use std::fmt;

use jiff::{Span, tz::TimeZone};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::event::Event;
use crate::ids::CaseId;
use crate::policy::{Seg, line_of, path_string, span_of_path};
use crate::text::{Name, Note};
use crate::time::Timestamp;

/// The retention schedules shipped inside the binary.
pub const DEFAULT_RETENTION_TOML: &str = include_str!("../policies/retention.toml");

/// What kind of record an event is, for retention.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum RecordClass {
    /// A threat report and what was read out of it (screenings of its names).
    Report,
    /// An assessment or a determination of the duty.
    Determination,
    /// A waiver of the duty: requested, approved or rejected.
    Waiver,
    /// A warning: its route, its text versions and their approval.
    Warning,
    /// Delivery, the recipient's response, the outcome, a public advisory.
    DeliveryEvidence,
    /// Reads of restricted content, refusals and failed logins.
    AccessLog,
}

impl RecordClass {
    pub const ALL: [RecordClass; 6] = [
        Self::Report,
        Self::Determination,
        Self::Waiver,
        Self::Warning,
        Self::DeliveryEvidence,
        Self::AccessLog,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Report => "report",
            Self::Determination => "determination",
            Self::Waiver => "waiver",
            Self::Warning => "warning",
            Self::DeliveryEvidence => "delivery_evidence",
            Self::AccessLog => "access_log",
        }
    }

    /// The class of an event, or `None` for an event that is never a
    /// record a schedule governs (it is kept as long as the ledger). The
    /// match is exhaustive on purpose: a new event must be given a class,
    /// or none, here.
    pub fn of(event: &Event) -> Option<RecordClass> {
        use RecordClass as C;
        match event {
            Event::ReportAttached { .. }
            | Event::ContributionSubmitted { .. }
            | Event::ScreeningRecorded { .. }
            | Event::WatchListFlagRaised { .. } => Some(C::Report),
            Event::AssessmentRecorded { .. }
            | Event::DeterminationMade { .. }
            | Event::DeterminationConfirmed { .. }
            | Event::IndependenceMarked { .. } => Some(C::Determination),
            Event::WaiverRequested { .. }
            | Event::WaiverApproved { .. }
            | Event::WaiverRejected { .. } => Some(C::Waiver),
            Event::RouteChosen { .. }
            | Event::WarningDrafted { .. }
            | Event::WarningApproved { .. } => Some(C::Warning),
            Event::DeliveryRecorded { .. }
            | Event::ResponseRecorded { .. }
            | Event::OutcomeRecorded { .. }
            | Event::PublicAdvisoryDecided { .. } => Some(C::DeliveryEvidence),
            Event::ContentRead { .. } | Event::AccessRefused { .. } | Event::LoginFailed { .. } => {
                Some(C::AccessLog)
            }
            Event::CaseOpened { .. }
            | Event::CaseReopened { .. }
            | Event::DeadlinesSet { .. }
            | Event::CaseClosed { .. }
            | Event::ReassessmentFlagged { .. }
            | Event::ReassessmentStarted { .. }
            | Event::EscalationRaised { .. }
            | Event::CaseHandedOff { .. }
            | Event::AttemptRefused { .. }
            | Event::ContributionAccepted { .. }
            | Event::ContributionDeclined { .. }
            | Event::RelationProposed { .. }
            | Event::CasesMerged { .. }
            | Event::CasesLinked { .. }
            | Event::DisputeRaised { .. }
            | Event::DisputeResolved { .. }
            | Event::PolicyAdopted { .. }
            | Event::NoticeDelivered { .. }
            | Event::NoticeFailed { .. }
            | Event::RelationsReplaced { .. }
            | Event::DirectoryReplaced { .. }
            | Event::NoticeTargetSet { .. }
            | Event::NoticeTargetRemoved { .. }
            | Event::ElementRegistered { .. }
            | Event::AccountCreated { .. }
            | Event::AccountChanged { .. }
            | Event::AccountDisabled { .. }
            | Event::AccountEnabled { .. }
            | Event::PasswordChanged { .. }
            | Event::TokenIssued { .. }
            | Event::TokenRevoked { .. }
            | Event::ClearanceLevelsSet { .. }
            | Event::RegistryImported { .. } => None,
        }
    }
}

impl fmt::Display for RecordClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What starts a retention period. A closed set: a schedule cannot name
/// anything the ledger does not record.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// The record's case closed (its latest `case_closed`; a reopened
    /// case starts again when it closes again). A record of no case, or
    /// of a case still open, has not reached this trigger.
    CaseClosed,
    /// The record was made (its `recorded_at`).
    RecordMade,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CaseClosed => "case_closed",
            Self::RecordMade => "record_made",
        }
    }
}

/// What falls due when a retention period ends.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum RetentionAction {
    /// The record's content may be destroyed (with a second approval per
    /// batch, and never under a legal hold).
    Dispose,
    /// A records officer reviews the record; nothing is destroyed.
    Review,
}

impl RetentionAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dispose => "dispose",
            Self::Review => "review",
        }
    }
}

/// How long a record is kept after its trigger: permanently, or a
/// calendar period (years, months, days) counted in UTC. A month or a year
/// is a calendar one: P1Y after 2024-02-29 is 2025-02-28.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RetentionPeriod {
    Permanent,
    Calendar { years: u32, months: u32, days: u32 },
}

/// A retention period that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "'{0}' is not a retention period: write \"permanent\" or an ISO 8601 period of years, months, weeks and days such as P7Y, P18M, P2Y6M or P90D"
)]
pub struct PeriodError(pub String);

impl RetentionPeriod {
    pub fn years(n: u32) -> Self {
        Self::Calendar {
            years: n,
            months: 0,
            days: 0,
        }
    }

    pub fn days(n: u32) -> Self {
        Self::Calendar {
            years: 0,
            months: 0,
            days: n,
        }
    }

    /// `permanent`, or `P` followed by any of `nY`, `nM`, `nW`, `nD` in that
    /// order (at least one; weeks are seven days). No time part: retention
    /// is counted in days.
    pub fn parse(s: &str) -> Result<Self, PeriodError> {
        let err = || PeriodError(s.to_owned());
        if s == "permanent" {
            return Ok(Self::Permanent);
        }
        let rest = s.strip_prefix('P').ok_or_else(err)?;
        if rest.is_empty() {
            return Err(err());
        }
        let units = ['Y', 'M', 'W', 'D'];
        let mut amounts = [0u32; 4];
        let mut next_unit = 0usize;
        let mut num = String::new();
        for c in rest.chars() {
            if c.is_ascii_digit() {
                num.push(c);
                continue;
            }
            let idx = units.iter().position(|u| *u == c).ok_or_else(err)?;
            if num.is_empty() || idx < next_unit {
                return Err(err());
            }
            amounts[idx] = num.parse().map_err(|_| err())?;
            next_unit = idx + 1;
            num.clear();
        }
        if !num.is_empty() {
            return Err(err());
        }
        let [years, months, weeks, days] = amounts;
        let days = weeks
            .checked_mul(7)
            .and_then(|w| w.checked_add(days))
            .ok_or_else(err)?;
        // Bounded so that the arithmetic below always fits jiff's spans.
        if years > 1000 || months > 12_000 || days > 400_000 {
            return Err(err());
        }
        Ok(Self::Calendar {
            years,
            months,
            days,
        })
    }

    /// Whether the period is zero (refused in a schedule).
    pub fn is_zero(&self) -> bool {
        *self
            == Self::Calendar {
                years: 0,
                months: 0,
                days: 0,
            }
    }

    /// The instant the period ends when it starts at `from`; `None` when
    /// it never ends (permanent, or beyond the representable range).
    pub fn after(&self, from: Timestamp) -> Option<Timestamp> {
        let Self::Calendar {
            years,
            months,
            days,
        } = *self
        else {
            return None;
        };
        let span = Span::new()
            .try_years(i64::from(years))
            .and_then(|s| s.try_months(i64::from(months)))
            .and_then(|s| s.try_days(i64::from(days)))
            .ok()?;
        from.to_zoned(TimeZone::UTC)
            .checked_add(span)
            .ok()
            .map(|z| z.timestamp())
    }
}

impl fmt::Display for RetentionPeriod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Permanent => f.write_str("permanent"),
            Self::Calendar {
                years,
                months,
                days,
            } => {
                f.write_str("P")?;
                if years > 0 {
                    write!(f, "{years}Y")?;
                }
                if months > 0 {
                    write!(f, "{months}M")?;
                }
                if days > 0 || (years == 0 && months == 0) {
                    write!(f, "{days}D")?;
                }
                Ok(())
            }
        }
    }
}

impl Serialize for RetentionPeriod {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RetentionPeriod {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        RetentionPeriod::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for RetentionPeriod {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "RetentionPeriod".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^(permanent|P(\\d+Y)?(\\d+M)?(\\d+W)?(\\d+D)?)$",
            "description": "\"permanent\", or an ISO 8601 period of years, months, weeks and days (P7Y, P18M, P90D).",
        })
    }
}

/// One class's schedule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionSchedule {
    pub class: RecordClass,
    /// What starts the period. In a file, a permanent schedule may omit
    /// it (it never falls due); it then reads `record_made`.
    pub trigger: Trigger,
    pub period: RetentionPeriod,
    /// What falls due. In a file, a permanent schedule may omit it; it then
    /// reads `review`.
    pub action: RetentionAction,
    /// The law, regulation or file plan the schedule cites.
    pub authority: Note,
}

impl RetentionSchedule {
    /// When this schedule's action falls due for `record`: `None` when it
    /// never does (permanent) or its trigger has not happened yet (the
    /// case is open, or the record has no case). Time is the caller's:
    /// nothing here reads a clock.
    pub fn due_at(&self, record: &Record) -> Option<Timestamp> {
        let start = match self.trigger {
            Trigger::RecordMade => record.made_at,
            Trigger::CaseClosed => record.case.as_ref()?.closed_at?,
        };
        self.period.after(start)
    }
}

/// The facts about one record that retention and holds decide on. The
/// service gathers them from the ledger (the fold of the record's case);
/// nothing here reads a store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The record's ledger position: a record is one leaf.
    pub position: u64,
    pub class: RecordClass,
    /// When the event was recorded.
    pub made_at: Timestamp,
    /// The case it belongs to (an access-log record names the case it is
    /// about, when it is about one).
    pub case: Option<CaseFacts>,
}

/// What retention and holds need to know of a record's case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseFacts {
    pub id: CaseId,
    pub opened_at: Timestamp,
    /// When it last closed, if it is closed now.
    pub closed_at: Option<Timestamp>,
    /// The names of its victims, from every report of the case.
    pub victims: Vec<Name>,
}

/// Where a record stands under the schedules (not yet under holds: see
/// `crate::holds`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Standing<'a> {
    /// No schedule for its class: never disposed of.
    Unscheduled,
    /// Its schedule keeps it permanently.
    Permanent(&'a RetentionSchedule),
    /// Its schedule's trigger has not happened (its case is open).
    Waiting(&'a RetentionSchedule),
    /// Its schedule's action falls due at this instant.
    Due(&'a RetentionSchedule, Timestamp),
}

/// The checked retention schedules of a deployment, with their source
/// text and its hash (a disposal names them, as a determination names its
/// policy).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetentionSchedules {
    by_class: BTreeMap<RecordClass, RetentionSchedule>,
    pub source: String,
    pub origin: String,
    pub sha256: String,
}

/// A schedules file that was refused: where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("retention schedules {origin}: {}{message}", line.map(|l| format!("line {l}: ")).unwrap_or_default())]
pub struct ScheduleError {
    /// Where the file came from (a path, or "built-in").
    pub origin: String,
    /// 1-based line of the offending value, when known.
    pub line: Option<usize>,
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScheduleFile {
    #[serde(default)]
    schedule: Vec<ScheduleEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScheduleEntry {
    class: RecordClass,
    #[serde(default)]
    trigger: Option<Trigger>,
    period: RetentionPeriod,
    #[serde(default)]
    action: Option<RetentionAction>,
    authority: Note,
}

impl RetentionSchedules {
    /// The built-in schedules: determinations and waivers permanent,
    /// nothing else scheduled.
    pub fn builtin() -> Self {
        match Self::parse(DEFAULT_RETENTION_TOML, "built-in") {
            Ok(s) => s,
            // The built-in file is checked by a unit test; this cannot happen in a release.
            Err(e) => panic!("the built-in retention schedules are invalid: {e}"),
        }
    }

    /// Parses and checks a schedules file.
    pub fn parse(source: &str, origin: &str) -> Result<Self, ScheduleError> {
        let err_at = |path: &[Seg], message: String| ScheduleError {
            origin: origin.to_owned(),
            line: span_of_path(source, path).map(|s| line_of(source, s)),
            message: format!("{}: {message}", path_string(path)),
        };
        let file: ScheduleFile = toml::from_str(source).map_err(|e| ScheduleError {
            origin: origin.to_owned(),
            line: e.span().map(|s| line_of(source, s.start)),
            message: e.message().trim().to_owned(),
        })?;
        let mut by_class = BTreeMap::new();
        for (i, e) in file.schedule.into_iter().enumerate() {
            let at = |key: &'static str| [Seg::Key("schedule"), Seg::Index(i), Seg::Key(key)];
            if by_class.contains_key(&e.class) {
                return Err(err_at(
                    &at("class"),
                    format!("the class {} already has a schedule", e.class),
                ));
            }
            let (trigger, action) = match (e.period, e.trigger, e.action) {
                (RetentionPeriod::Permanent, t, a) => (
                    t.unwrap_or(Trigger::RecordMade),
                    a.unwrap_or(RetentionAction::Review),
                ),
                (p, _, _) if p.is_zero() => {
                    return Err(err_at(&at("period"), "must be longer than zero".into()));
                }
                (_, Some(t), Some(a)) => (t, a),
                (_, None, _) => {
                    return Err(err_at(
                        &at("period"),
                        "a schedule with a period names its trigger (case_closed or record_made)"
                            .into(),
                    ));
                }
                (_, _, None) => {
                    return Err(err_at(
                        &at("period"),
                        "a schedule with a period names its action (dispose or review)".into(),
                    ));
                }
            };
            by_class.insert(
                e.class,
                RetentionSchedule {
                    class: e.class,
                    trigger,
                    period: e.period,
                    action,
                    authority: e.authority,
                },
            );
        }
        Ok(Self {
            by_class,
            source: source.to_owned(),
            origin: origin.to_owned(),
            sha256: hex::encode(Sha256::digest(source.as_bytes())),
        })
    }

    /// The schedule of a class, if it has one.
    pub fn get(&self, class: RecordClass) -> Option<&RetentionSchedule> {
        self.by_class.get(&class)
    }

    /// Every schedule, in class order.
    pub fn iter(&self) -> impl Iterator<Item = &RetentionSchedule> {
        self.by_class.values()
    }

    /// Where a record stands under its class's schedule.
    pub fn standing(&self, record: &Record) -> Standing<'_> {
        let Some(s) = self.get(record.class) else {
            return Standing::Unscheduled;
        };
        if s.period == RetentionPeriod::Permanent {
            return Standing::Permanent(s);
        }
        match s.due_at(record) {
            Some(at) => Standing::Due(s, at),
            None => Standing::Waiting(s),
        }
    }

    /// The first instant at which `record` may be disposed of under the
    /// schedules (holds aside): `None` when its schedule is permanent, or
    /// asks for review, or its trigger has not happened, or it has none.
    /// A record is eligible at `now` when `now >= eligible_at`.
    pub fn eligible_at(&self, record: &Record) -> Option<Timestamp> {
        match self.standing(record) {
            Standing::Due(s, at) if s.action == RetentionAction::Dispose => Some(at),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn record(class: RecordClass, closed: Option<&str>) -> Record {
        Record {
            position: 7,
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
        let eligible = |now: Timestamp| s.eligible_at(&r).is_some_and(|at| now >= at);
        assert!(eligible(at));
        assert!(!eligible(at - jiff::SignedDuration::from_secs(1)));
        // An open case has not reached its trigger, whatever the time.
        assert_eq!(s.eligible_at(&record(RecordClass::Report, None)), None);
        // Review falls due but is not a disposal.
        let log = record(RecordClass::AccessLog, None);
        assert!(
            matches!(s.standing(&log), Standing::Due(_, at) if at == ts("2024-04-02T10:00:00Z"))
        );
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
        let e = refused(
            "[[schedule]]\nclass = \"hashes\"\nperiod = \"permanent\"\nauthority = \"x\"\n",
        );
        assert_eq!(e.line, Some(2), "{e}");
        let e = refused(
            "[[schedule]]\nclass = \"report\"\ntrigger = \"record_made\"\nperiod = \"P0D\"\naction = \"dispose\"\nauthority = \"x\"\n",
        );
        assert!(e.message.contains("longer than zero"), "{e}");
        let e = refused("[[schedule]]\nclass = \"report\"\nperiod = \"P7\"\nauthority = \"x\"\n");
        assert!(e.message.contains("not a retention period"), "{e}");
        let e = refused(
            "[[schedule]]\nclass = \"report\"\nperiod = \"permanent\"\nauthority = \"  \"\n",
        );
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
        use crate::event::ReassessmentReason;
        assert_eq!(
            RecordClass::of(&Event::ContentRead {
                case_id: CaseId::from_uuid(uuid::Uuid::from_u128(1)),
                parts: vec![]
            }),
            Some(RecordClass::AccessLog)
        );
        assert_eq!(
            RecordClass::of(&Event::ReassessmentFlagged {
                reason: ReassessmentReason::WindowLapsed,
                detail: String::new()
            }),
            None
        );
    }
}
