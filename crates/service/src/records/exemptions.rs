//! The exemption codes a redaction may cite: shown, and adopted from a
//! file's text by a records officer (`exemptions_adopted` on the records
//! stream, with the text and its SHA-256, as the retention schedules
//! are). An adopted list replaces the built-in FOIA codes: an
//! organisation under other law cites its own (and lists the FOIA codes
//! too if it still uses them).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tocsin_domain::access::Permission;
use tocsin_domain::event::Event;
use tocsin_domain::redaction::{BUILTIN_EXEMPTIONS, Exemptions};
use tocsin_domain::{ActorName, Timestamp};

use super::RecordsState;
use crate::access::Principal;
use crate::{Service, ServiceError};

/// One exemption code and what it stands for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ExemptionCode {
    /// As a redaction cites it and a release copy shows it (`(b)(6)`).
    pub code: String,
    pub meaning: String,
}

/// The exemption codes in force.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ExemptionsInForce {
    /// Where the text came from (a file name, or "built-in").
    pub origin: String,
    /// The SHA-256 of the text.
    pub sha256: String,
    /// When and by whom they were adopted (absent: the built-in ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adopted_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adopted_by: Option<ActorName>,
    /// Every code, in code order.
    pub codes: Vec<ExemptionCode>,
    /// The exact text.
    pub source: String,
}

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

impl ExemptionsInForce {
    fn of(state: &RecordsState) -> Self {
        let (origin, sha256, source) = match &state.exemptions_adopted {
            Some(a) => (a.origin.clone(), a.sha256.clone(), a.source.clone()),
            None => (
                "built-in".to_owned(),
                sha256_hex(BUILTIN_EXEMPTIONS),
                BUILTIN_EXEMPTIONS.to_owned(),
            ),
        };
        Self {
            origin,
            sha256,
            adopted_at: state.exemptions_adopted.as_ref().map(|a| a.at),
            adopted_by: state.exemptions_adopted.as_ref().map(|a| a.by.clone()),
            codes: state
                .exemptions
                .codes()
                .map(|(code, meaning)| ExemptionCode {
                    code: code.to_owned(),
                    meaning: meaning.to_owned(),
                })
                .collect(),
            source,
        }
    }
}

impl Service {
    /// The exemption codes in force.
    pub async fn exemptions(&self, p: &Principal) -> Result<ExemptionsInForce, ServiceError> {
        self.authorize(p, Permission::ManageRecords, "show_exemptions")
            .await?;
        Ok(ExemptionsInForce::of(&self.records_state().await?))
    }

    /// Adopts the exemption codes of `source` (a TOML file's text, from
    /// `origin`), in place of those in force: checked whole. A redaction
    /// requested before keeps the code it cites; new requests cite the
    /// new list. The same text from the same origin records nothing.
    pub async fn set_exemptions(
        &self,
        p: &Principal,
        source: &str,
        origin: &str,
    ) -> Result<ExemptionsInForce, ServiceError> {
        self.authorize(p, Permission::ManageRecords, "set_exemptions")
            .await?;
        Exemptions::parse(source).map_err(|e| ServiceError::Invalid {
            field: Some("source".into()),
            message: e.to_string(),
        })?;
        let origin = origin.trim();
        if origin.is_empty() || origin.contains('\n') {
            return Err(ServiceError::invalid(
                "origin",
                "names where the text came from, on one line",
            ));
        }
        let sha256 = sha256_hex(source);
        let event = Event::ExemptionsAdopted {
            sha256: sha256.clone(),
            origin: origin.to_owned(),
            source: source.to_owned(),
        };
        self.adopt(p, event, |state| {
            state
                .exemptions_adopted
                .as_ref()
                .is_some_and(|a| a.sha256 == sha256 && a.origin == origin)
        })
        .await?;
        Ok(ExemptionsInForce::of(&self.records_state().await?))
    }
}
