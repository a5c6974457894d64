//! The warnings of a case. A case with a duty to warn holds a *set* of
//! warnings, one per recipient (the victim and the service protecting
//! them; a company's security lead and the host state's service...). Each
//! is numbered within its case (`W1`, `W2`...) and has its own route (a
//! choice among the plan's candidates, with the alternatives), its text
//! versions and their approval, its deliveries per hop, the recipient's
//! responses and its follow-up deadline.
//!
//! Whether a warning is *required* (the case is warned only when it is
//! delivered) is the policy's (`[warnings] required_recipients`), decided
//! when its route is chosen and recorded in the event, so a later policy
//! never changes what an old ledger says.
//!
//! Events name their warning with an optional `warning` field; its absence
//! means `W1`, so every event written before several warnings existed
//! folds into warning 1 exactly as it did.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::delivery::{
    Delivery, DeliveryStatus, LanguageTag, Response, ResponseKind, Route, RouteAlternative,
    WarningText, WithheldCategory,
};
use crate::text::{ActorName, Reason};
use crate::time::Timestamp;

/// The number of a warning within its case: 1, 2... Shown as `W1`, `W2`;
/// parsed from `2` or `W2`. On the wire a plain number.
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
#[serde(try_from = "u32", into = "u32")]
#[schemars(with = "std::num::NonZeroU32")]
pub struct WarningNumber(u32);

/// Not a warning number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a warning number: give 1, 2... (or W1, W2...)")]
pub struct WarningNumberError(pub String);

impl WarningNumber {
    /// Warning 1: what an event without a `warning` field is about.
    pub const FIRST: WarningNumber = WarningNumber(1);

    pub fn new(n: u32) -> Result<Self, WarningNumberError> {
        if n == 0 {
            return Err(WarningNumberError(n.to_string()));
        }
        Ok(Self(n))
    }

    pub fn get(self) -> u32 {
        self.0
    }

    /// Whether this is warning 1 (then events leave the field out).
    pub fn is_first(&self) -> bool {
        self.0 == 1
    }

    /// The number after this one.
    pub fn next(self) -> Self {
        Self(self.0.saturating_add(1))
    }
}

impl Default for WarningNumber {
    fn default() -> Self {
        Self::FIRST
    }
}

impl TryFrom<u32> for WarningNumber {
    type Error = WarningNumberError;
    fn try_from(n: u32) -> Result<Self, WarningNumberError> {
        Self::new(n)
    }
}

impl From<WarningNumber> for u32 {
    fn from(n: WarningNumber) -> u32 {
        n.0
    }
}

impl FromStr for WarningNumber {
    type Err = WarningNumberError;
    fn from_str(s: &str) -> Result<Self, WarningNumberError> {
        let t = s.trim();
        let digits = t.strip_prefix(['W', 'w']).unwrap_or(t);
        digits
            .parse::<u32>()
            .ok()
            .and_then(|n| Self::new(n).ok())
            .ok_or_else(|| WarningNumberError(s.to_owned()))
    }
}

impl fmt::Display for WarningNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "W{}", self.0)
    }
}

/// Which warning a chosen route is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum RouteFor {
    /// The warning named, or the only one (warning 1 on a case with none).
    #[default]
    Only,
    Warning(WarningNumber),
    /// A new warning, to another recipient.
    NewWarning,
}

/// Where one warning stands.
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
pub enum WarningStatus {
    /// No text drafted yet (a route may be chosen).
    Planned,
    /// The latest text version awaits approval.
    Drafted,
    /// The latest text version is approved; nothing delivered yet.
    Approved,
    /// Some hops are recorded; the recipient has not received it yet.
    Delivering,
    /// The recipient received the approved version at the end of the route.
    Delivered,
}

impl WarningStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Planned => "planned",
            Self::Drafted => "drafted",
            Self::Approved => "approved",
            Self::Delivering => "delivering",
            Self::Delivered => "delivered",
        }
    }
}

impl fmt::Display for WarningStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct RouteEntry {
    pub route: Route,
    pub rationale: Reason,
    pub alternatives: Vec<RouteAlternative>,
    pub by: ActorName,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct WarningVersion {
    pub version: u32,
    pub text: WarningText,
    pub sha256: String,
    pub withheld: BTreeSet<WithheldCategory>,
    pub language: LanguageTag,
    pub drafted_by: ActorName,
    pub drafted_at: Timestamp,
    pub approved_by: Option<ActorName>,
    pub approved_at: Option<Timestamp>,
}

#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct DeliveryEntry {
    pub delivery: Delivery,
    pub recorded_by: ActorName,
    pub recorded_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ResponseEntry {
    pub response: Response,
    pub recorded_by: ActorName,
    pub recorded_at: Timestamp,
}

/// One warning of a case: to one recipient, along one route.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Warning {
    pub number: WarningNumber,
    /// The case is warned only when every required warning is delivered.
    pub required: bool,
    pub status: WarningStatus,
    /// The chosen route (none until one is chosen; a draft may come first).
    pub route: Option<RouteEntry>,
    /// The text versions, 1 first.
    pub versions: Vec<WarningVersion>,
    pub deliveries: Vec<DeliveryEntry>,
    pub responses: Vec<ResponseEntry>,
    /// When a response is chased, once the recipient received it.
    pub follow_up_by: Option<Timestamp>,
}

impl Warning {
    pub fn new(number: WarningNumber) -> Self {
        Self {
            number,
            required: true,
            status: WarningStatus::Planned,
            route: None,
            versions: vec![],
            deliveries: vec![],
            responses: vec![],
            follow_up_by: None,
        }
    }

    /// The latest approved text version, if any.
    pub fn approved(&self) -> Option<&WarningVersion> {
        self.versions.iter().rev().find(|w| w.approved_by.is_some())
    }

    /// A text version by number.
    pub fn version(&self, v: u32) -> Option<&WarningVersion> {
        self.versions.iter().find(|w| w.version == v)
    }

    /// Who receives it (once a route is chosen).
    pub fn recipient(&self) -> Option<&crate::delivery::Party> {
        self.route.as_ref().map(|r| r.route.recipient())
    }

    /// Whether the recipient received the approved version at the end of
    /// the route.
    pub fn final_hop_received(&self) -> bool {
        let Some(route) = &self.route else {
            return false;
        };
        let last = route.route.hops().len() as u32;
        let approved = self.approved().map(|w| w.version);
        self.deliveries.iter().any(|d| {
            d.delivery.hop == last
                && d.delivery.status == DeliveryStatus::Received
                && Some(d.delivery.warning_version) == approved
        })
    }

    /// Where it stands, from its versions and deliveries.
    pub fn compute_status(&self) -> WarningStatus {
        match self.versions.last() {
            None => WarningStatus::Planned,
            Some(v) if v.approved_by.is_none() => WarningStatus::Drafted,
            Some(v) => {
                if self.final_hop_received() {
                    WarningStatus::Delivered
                } else if self
                    .deliveries
                    .iter()
                    .any(|d| d.delivery.warning_version == v.version)
                {
                    WarningStatus::Delivering
                } else {
                    WarningStatus::Approved
                }
            }
        }
    }

    /// Whether delivery failed after the policy's attempts: a hop of the
    /// approved version was recorded failed on attempt `attempts` or later,
    /// and the recipient has not received it.
    pub fn failed_after(&self, attempts: u32) -> bool {
        if self.status == WarningStatus::Delivered {
            return false;
        }
        let Some(approved) = self.approved().map(|w| w.version) else {
            return false;
        };
        self.deliveries.iter().any(|d| {
            d.delivery.warning_version == approved
                && d.delivery.status == DeliveryStatus::Failed
                && d.delivery.attempt >= attempts
        })
    }

    /// Whether the recipient answered (anything but "no response").
    pub fn responded(&self) -> bool {
        self.responses
            .iter()
            .any(|r| r.response.kind != ResponseKind::NoResponse)
    }
}

/// Whether a set of warnings leaves the case warned: at least one is
/// delivered and every required one is.
pub fn warned(warnings: &[Warning]) -> bool {
    warnings
        .iter()
        .any(|w| w.status == WarningStatus::Delivered)
        && warnings
            .iter()
            .filter(|w| w.required)
            .all(|w| w.status == WarningStatus::Delivered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_parse_and_show_as_w_n() {
        assert_eq!("2".parse::<WarningNumber>().unwrap().to_string(), "W2");
        assert_eq!("W3".parse::<WarningNumber>().unwrap().get(), 3);
        assert_eq!("w1".parse::<WarningNumber>().unwrap(), WarningNumber::FIRST);
        assert!("0".parse::<WarningNumber>().is_err());
        assert!("W".parse::<WarningNumber>().is_err());
        assert!(serde_json::from_str::<WarningNumber>("0").is_err());
        assert_eq!(
            serde_json::to_string(&WarningNumber::new(2).unwrap()).unwrap(),
            "2"
        );
    }
}
