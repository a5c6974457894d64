//! The case list's filters that are not plain values: the determination,
//! and the text filters (blank is none, too long is refused).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A determination the case list can be filtered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeterminationFilter {
    /// Not determined yet.
    Undetermined,
    DutyToWarn,
    /// The threshold is not met.
    NoDuty,
    NeedsMoreInformation,
}

impl DeterminationFilter {
    /// Every value, in the order a form offers them.
    pub const ALL: [Self; 4] = [
        Self::DutyToWarn,
        Self::NoDuty,
        Self::NeedsMoreInformation,
        Self::Undetermined,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Undetermined => "undetermined",
            Self::DutyToWarn => "duty_to_warn",
            Self::NoDuty => "no_duty",
            Self::NeedsMoreInformation => "needs_more_information",
        }
    }

    /// The store's filter.
    pub fn verdict(self) -> tocsin_store::VerdictFilter {
        use tocsin_store::VerdictFilter as V;
        match self {
            Self::Undetermined => V::Undetermined,
            Self::DutyToWarn => V::DutyToWarn,
            Self::NoDuty => V::NoDuty,
            Self::NeedsMoreInformation => V::NeedsMoreInformation,
        }
    }
}

/// An optional text filter: blank is no filter; too long is refused.
pub fn text_filter(name: &str, v: Option<&str>) -> Result<Option<String>, String> {
    match v.map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) if t.chars().count() > 200 => Err(format!("{name}: at most 200 characters")),
        Some(t) => Ok(Some(t.to_owned())),
    }
}
