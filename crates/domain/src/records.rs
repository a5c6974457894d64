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

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use jiff::{Span, tz::TimeZone};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

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
    /// Its event kind (`report_attached`...), which a tombstone names.
    pub kind: &'static str,
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

    /// Whether `record` is eligible for disposal at `now` under the
    /// schedules (holds aside: see `crate::holds::may_dispose`).
    pub fn is_eligible(&self, record: &Record, now: Timestamp) -> bool {
        self.eligible_at(record).is_some_and(|at| now >= at)
    }
}

/// Which records a legal hold (and, later, an oversight export) covers: a
/// small closed query. Every criterion given must hold (an empty `cases`
/// is no criterion); at least one is given. A hold carries its query, not
/// a reference to a saved one, so editing a saved query never narrows a
/// hold already placed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(try_from = "RecordQueryInput")]
pub struct RecordQuery {
    /// These cases (by id).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    cases: BTreeSet<CaseId>,
    /// Cases with a victim of this name (compared without case,
    /// punctuation or extra spaces).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    victim: Option<Name>,
    /// Cases open at some time in this range (inclusive), or records of no
    /// case made in it. Either end may be open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    from: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    until: Option<Timestamp>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RecordQueryInput {
    #[serde(default)]
    cases: BTreeSet<CaseId>,
    #[serde(default)]
    victim: Option<Name>,
    #[serde(default)]
    from: Option<Timestamp>,
    #[serde(default)]
    until: Option<Timestamp>,
}

/// A query that would cover everything, or nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("a query names at least one of cases, victim, from or until")]
    Empty,
    #[error("from ({from}) is after until ({until})")]
    Reversed { from: Timestamp, until: Timestamp },
}

impl TryFrom<RecordQueryInput> for RecordQuery {
    type Error = QueryError;
    fn try_from(i: RecordQueryInput) -> Result<Self, QueryError> {
        Self::new(i.cases, i.victim, i.from, i.until)
    }
}

impl RecordQuery {
    pub fn new(
        cases: BTreeSet<CaseId>,
        victim: Option<Name>,
        from: Option<Timestamp>,
        until: Option<Timestamp>,
    ) -> Result<Self, QueryError> {
        if cases.is_empty() && victim.is_none() && from.is_none() && until.is_none() {
            return Err(QueryError::Empty);
        }
        if let (Some(from), Some(until)) = (from, until)
            && from > until
        {
            return Err(QueryError::Reversed { from, until });
        }
        Ok(Self {
            cases,
            victim,
            from,
            until,
        })
    }

    /// These cases.
    pub fn cases(cases: impl IntoIterator<Item = CaseId>) -> Result<Self, QueryError> {
        Self::new(cases.into_iter().collect(), None, None, None)
    }

    /// The cases the query names by id (empty: no such criterion).
    pub fn case_ids(&self) -> &BTreeSet<CaseId> {
        &self.cases
    }

    /// Whether the query covers `record`.
    pub fn matches(&self, record: &Record) -> bool {
        let case = record.case.as_ref();
        if !self.cases.is_empty() && !case.is_some_and(|c| self.cases.contains(&c.id)) {
            return false;
        }
        if let Some(v) = &self.victim {
            let key = name_key(v.as_str());
            if !case.is_some_and(|c| c.victims.iter().any(|n| name_key(n.as_str()) == key)) {
                return false;
            }
        }
        if self.from.is_some() || self.until.is_some() {
            let (start, end) = match case {
                Some(c) => (c.opened_at, c.closed_at.unwrap_or(Timestamp::MAX)),
                None => (record.made_at, record.made_at),
            };
            if self.until.is_some_and(|u| start > u) || self.from.is_some_and(|f| end < f) {
                return false;
            }
        }
        true
    }
}

/// How two names are compared: lower case, runs of anything but letters
/// and digits made one space.
fn name_key(s: &str) -> String {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}
