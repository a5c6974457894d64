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

/// The start of a case id's text form, to find a case by: at least 4
/// hexadecimal digits (or hyphens), lower-cased.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseIdPrefix(String);

/// A prefix that cannot find a case.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("give at least 4 characters of a case id")]
pub struct PrefixError;

impl CaseIdPrefix {
    pub fn new(s: &str) -> Result<Self, PrefixError> {
        let s = s.trim().to_ascii_lowercase();
        if s.len() < 4 || !s.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            return Err(PrefixError);
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
}
