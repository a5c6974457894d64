//! Identifiers. All are UUIDs (the service generates version 7, so they sort
//! by creation time); each kind has its own type so a waiver id can never be
//! passed where a case id is expected.

use std::fmt;
use std::str::FromStr;

pub use uuid::Uuid;

/// An identifier that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "'{input}' is not a valid {kind} id (expected a UUID such as 0190f1f0-7c1e-7a2b-9c3d-4e5f60718293)"
)]
pub struct IdError {
    pub kind: &'static str,
    pub input: String,
}

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident, $kind:expr) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            pub const KIND: &'static str = $kind;

            pub fn from_uuid(u: Uuid) -> Self {
                Self(u)
            }

            pub fn as_uuid(&self) -> &Uuid {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Uuid::parse_str(s.trim()).map(Self).map_err(|_| IdError {
                    kind: $kind,
                    input: s.to_owned(),
                })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0.hyphenated())
            }
        }
    };
}

id_type!(
    /// Identifies a case (one threat; groups the reports about it).
    CaseId, "case"
);
id_type!(
    /// Identifies one threat report.
    ReportId, "report"
);
id_type!(
    /// Identifies one waiver request.
    WaiverId, "waiver"
);
id_type!(
    /// Identifies one API token (not its secret).
    TokenId, "token"
);
id_type!(
    /// Identifies one contribution: a report another element submitted to
    /// a case it may not see.
    ContributionId, "contribution"
);
id_type!(
    /// Identifies one dispute between elements about a case.
    DisputeId, "dispute"
);
id_type!(
    /// Identifies one legal hold (`crate::holds`).
    HoldId, "hold"
);
id_type!(
    /// Identifies one batch of records disposed of together, approved once.
    DisposalBatchId, "disposal batch"
);
id_type!(
    /// Identifies one oversight export (`tocsin records export`).
    ExportId, "export"
);
id_type!(
    /// Identifies one redaction for release (`crate::redaction`).
    RedactionId, "redaction"
);
id_type!(
    /// Identifies one receipt: a partner's report that needs assessment.
    ReceiptId, "receipt"
);

/// A case's short reference number, unique in its deployment: the year the
/// case was opened (UTC) and its rank among the cases opened that year, in
/// ledger order, written `2026-0007`. It is derived from the ledger (the
/// store assigns it as it appends the case's first event, and a rebuild
/// computes the same), so it is not in any event.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CaseNumber {
    year: u16,
    seq: u32,
}

/// A case number that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a case number (a year, a hyphen and a number, such as 2026-0007)")]
pub struct CaseNumberError(pub String);

impl CaseNumber {
    /// The `seq`-th case (1-based) opened in `year`.
    pub fn new(year: u16, seq: u32) -> Result<Self, CaseNumberError> {
        if !(1000..=9999).contains(&year) || seq == 0 {
            return Err(CaseNumberError(format!("{year}-{seq}")));
        }
        Ok(Self { year, seq })
    }

    pub fn year(&self) -> u16 {
        self.year
    }

    pub fn seq(&self) -> u32 {
        self.seq
    }

    /// The year (UTC) a case opened at `t` is numbered in.
    pub fn year_of(t: crate::Timestamp) -> u16 {
        let y = t.to_zoned(jiff::tz::TimeZone::UTC).year();
        u16::try_from(y).unwrap_or(0)
    }
}

impl FromStr for CaseNumber {
    type Err = CaseNumberError;
    fn from_str(s: &str) -> Result<Self, CaseNumberError> {
        let bad = || CaseNumberError(s.to_owned());
        let (y, n) = s.trim().split_once('-').ok_or_else(bad)?;
        let digits = |d: &str, max: usize| {
            !d.is_empty() && d.len() <= max && d.bytes().all(|b| b.is_ascii_digit())
        };
        if !digits(y, 4) || y.len() != 4 || !digits(n, 9) {
            return Err(bad());
        }
        let year: u16 = y.parse().map_err(|_| bad())?;
        let seq: u32 = n.parse().map_err(|_| bad())?;
        CaseNumber::new(year, seq).map_err(|_| bad())
    }
}

impl fmt::Display for CaseNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{:04}", self.year, self.seq)
    }
}

impl fmt::Debug for CaseNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CaseNumber({self})")
    }
}

impl serde::Serialize for CaseNumber {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for CaseNumber {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for CaseNumber {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "CaseNumber".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[0-9]{4}-[0-9]{1,9}$",
            "description": "A case's short reference number: the year it was opened and its rank that year, e.g. 2026-0007.",
        })
    }
}

/// How a person names a case: its id, or its number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CaseRef {
    Id(CaseId),
    Number(CaseNumber),
}

impl FromStr for CaseRef {
    type Err = CaseNumberError;
    /// A case id (a UUID) or a case number (`2026-0007`).
    fn from_str(s: &str) -> Result<Self, CaseNumberError> {
        if let Ok(id) = s.parse::<CaseId>() {
            return Ok(CaseRef::Id(id));
        }
        s.parse::<CaseNumber>().map(CaseRef::Number)
    }
}

impl fmt::Display for CaseRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaseRef::Id(id) => fmt::Display::fmt(id, f),
            CaseRef::Number(n) => fmt::Display::fmt(n, f),
        }
    }
}

impl serde::Serialize for CaseRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for CaseRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for CaseRef {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "CaseRef".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "A case as a person names it: its id (a UUID) or its number (2026-0007).",
        })
    }
}

impl From<CaseId> for CaseRef {
    fn from(id: CaseId) -> Self {
        CaseRef::Id(id)
    }
}

impl From<CaseNumber> for CaseRef {
    fn from(n: CaseNumber) -> Self {
        CaseRef::Number(n)
    }
}

/// The start of a case id's text form, to find a case by: at least 4
/// hexadecimal digits (or hyphens), lower-cased.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseIdPrefix(String);

/// A prefix that cannot find a case.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrefixError {
    #[error(
        "'{0}' is too short: give at least 4 characters of a case id, or its number (2026-0007)"
    )]
    TooShort(String),
    #[error(
        "'{0}' is neither a case number (2026-0007) nor the start of a case id (hexadecimal digits and hyphens)"
    )]
    NotHex(String),
}

impl CaseIdPrefix {
    pub fn new(s: &str) -> Result<Self, PrefixError> {
        let given = s.trim();
        let s = given.to_ascii_lowercase();
        if !s.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            return Err(PrefixError::NotHex(given.to_owned()));
        }
        if s.len() < 4 {
            return Err(PrefixError::TooShort(given.to_owned()));
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_round_trip_and_error_names_the_kind() {
        let id: CaseId = "0190f1f0-7c1e-7a2b-9c3d-4e5f60718293".parse().unwrap();
        assert_eq!(id.to_string(), "0190f1f0-7c1e-7a2b-9c3d-4e5f60718293");
        let err = "nope".parse::<WaiverId>().unwrap_err();
        assert!(err.to_string().contains("waiver id"));
    }

    #[test]
    fn case_numbers_read_and_write_as_year_and_rank() {
        let n: CaseNumber = "2026-0007".parse().unwrap();
        assert_eq!((n.year(), n.seq()), (2026, 7));
        assert_eq!(n.to_string(), "2026-0007");
        assert_eq!(
            "2026-12345".parse::<CaseNumber>().unwrap().to_string(),
            "2026-12345"
        );
        for bad in [
            "2026",
            "2026-",
            "26-0007",
            "2026-0000",
            "2026-00a7",
            "zzzz",
            "2026-0007-1",
            "0999-1",
        ] {
            assert!(bad.parse::<CaseNumber>().is_err(), "{bad}");
        }
        let id = "01a23d58-7f19-7610-afd3-0ac22fa84fd5";
        assert_eq!(id.parse::<CaseRef>().unwrap().to_string(), id);
        assert!(matches!(
            "2026-0007".parse::<CaseRef>(),
            Ok(CaseRef::Number(_))
        ));
        assert_eq!(
            CaseNumber::year_of("2023-12-31T23:30:00-01:00".parse().unwrap()),
            2024
        );
    }
}
