//! Exchange with partners: who a STIX producer is here (the partner
//! table), and a report received from a partner that still needs an
//! analyst's assessment (a *receipt*). The events that record them are on
//! the deployment's exchange stream ([`crate::event::Event::PartnerMapped`],
//! [`crate::event::Event::StixReportReceived`],
//! [`crate::event::Event::StixReportAssessed`]).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::geo::Location;
use crate::grading::{Grading, Specificity};
use crate::report::{Handling, HarmTypes, Target, ThreatActor};
use crate::text::{ElementName, Label, Narrative, Title};
use crate::time::{ThreatWindow, Timestamp};

/// A STIX 2.1 identity id (`identity--` and a UUID): a partner producing
/// reports (a report's `created_by_ref`).
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(try_from = "String", into = "String")]
pub struct StixIdentity(String);

/// Not a STIX identity id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a STIX identity id (identity--UUID)")]
pub struct BadStixIdentity(pub String);

impl StixIdentity {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for StixIdentity {
    type Err = BadStixIdentity;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.strip_prefix("identity--") {
            Some(u) if u.len() == 36 && uuid::Uuid::parse_str(u).is_ok() => {
                Ok(Self(s.to_ascii_lowercase()))
            }
            _ => Err(BadStixIdentity(s.to_owned())),
        }
    }
}

impl TryFrom<String> for StixIdentity {
    type Error = BadStixIdentity;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<StixIdentity> for String {
    fn from(s: StixIdentity) -> Self {
        s.0
    }
}

impl fmt::Display for StixIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A partner: the element of this deployment a STIX producer's reports are
/// filed under, and the classification level they are given.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Partner {
    pub identity: StixIdentity,
    pub element: ElementName,
    /// The level the partner's reports are marked at (absent: the
    /// deployment's lowest level at the time of import).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classification: Option<Label>,
}

/// A report read from a partner's STIX bundle that lacks something intake
/// needs: what the bundle said, nothing more, and what is missing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceivedReport {
    /// The STIX `report` object's id and `modified` (the import's key).
    pub stix_id: String,
    pub modified: String,
    /// The producer (`created_by_ref`), when the bundle names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// The element it is filed under (the partner table's, or the
    /// importer's only element).
    pub originating_element: ElementName,
    pub handling: Handling,
    pub title: Title,
    pub narrative: Narrative,
    pub target: Target,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threat_actor: Option<ThreatActor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// The place as the bundle wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub harm_types: Option<HarmTypes>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grading: Option<Grading>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub specificity: Option<Specificity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<ThreatWindow>,
    /// What an analyst must still give (`harm_types`, `grading`,
    /// `specificity`).
    pub missing: Vec<String>,
}

/// Where a receipt stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ReceiptStatus {
    /// Waiting for an analyst.
    NeedsAssessment,
    /// Assessed: the report is in this case.
    Assessed {
        case_id: crate::CaseId,
        report_id: crate::ReportId,
        by: crate::ActorName,
        at: Timestamp,
    },
}

/// A receipt: a partner's report kept for an analyst, as its derived
/// document holds it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Receipt {
    pub receipt_id: crate::ReceiptId,
    /// When it was received (the report's received time when assessed).
    pub received_at: Timestamp,
    /// Who imported it.
    pub imported_by: crate::ActorName,
    pub report: ReceivedReport,
    #[serde(flatten)]
    pub status: ReceiptStatus,
}

impl Receipt {
    /// The marking a reader needs to see it: its element, its level and
    /// compartments.
    pub fn marking(&self) -> crate::access::Marking {
        let h = &self.report.handling;
        crate::access::Marking {
            levels: h.classification.iter().cloned().collect(),
            compartments: h.compartments.clone(),
            elements: [self.report.originating_element.clone()].into(),
            existence_restricted: h.existence_restricted,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stix_identity_is_identity_and_a_uuid() {
        let ok: StixIdentity = "identity--0B7A1A42-5d3f-4b7e-9d3a-111111111111"
            .parse()
            .unwrap();
        assert_eq!(
            ok.as_str(),
            "identity--0b7a1a42-5d3f-4b7e-9d3a-111111111111"
        );
        for bad in [
            "",
            "identity--",
            "report--0b7a1a42-5d3f-4b7e-9d3a-111111111111",
            "identity--0b7a1a425d3f4b7e9d3a111111111111",
            "identity--0b7a1a42-5d3f-4b7e-9d3a-11111111111x",
        ] {
            assert!(bad.parse::<StixIdentity>().is_err(), "{bad}");
        }
        let v: Result<StixIdentity, _> = serde_json::from_str("\"identity--nope\"");
        assert!(v.is_err());
    }
}
