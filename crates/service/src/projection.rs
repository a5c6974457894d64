//! What the derived documents are, as functions of the events that make
//! them: used when an event is appended and when `tocsin admin rebuild`
//! recomputes the documents from the ledger, so both produce the same
//! bytes. The accounts stream makes elements, accounts, tokens and the
//! clearance levels; the reference stream makes the relations, the
//! recipients directory and the notice targets; the exchange stream makes
//! the partners and the receipts.

use tocsin_domain::access::{Account, ElementInfo, TokenInfo};
use tocsin_domain::event::Event;
use tocsin_domain::exchange::{Receipt, ReceiptStatus};
use tocsin_domain::{ActorName, ReceiptId, Timestamp};
use tocsin_store::{Doc, DocKind, StoreError};

use crate::ServiceError;

/// Object-safe JSON encoding of our own (always serialisable) types.
trait Json {
    fn to_vec(&self) -> Vec<u8>;
}

impl<T: serde::Serialize> Json for T {
    fn to_vec(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// The key of the clearance levels' document (kind setting).
pub(crate) const LEVELS_KEY: &str = "clearance_levels";
pub(crate) const RELATIONS_KEY: &str = "relations";
pub(crate) const DIRECTORY_KEY: &str = "directory";
pub(crate) const TARGET_PREFIX: &str = "target/";

pub(crate) fn target_key(name: &str) -> String {
    format!("{TARGET_PREFIX}{name}")
}

/// What an accounts-stream event does to the derived documents: the
/// document it changes and its new content. Used when the event is
/// appended and when the documents are rebuilt from the ledger, so both
/// produce the same bytes.
pub(crate) fn account_doc(
    event: &Event,
    at: Timestamp,
    current: Option<&Doc>,
) -> Result<Option<(DocKind, String, Vec<u8>)>, ServiceError> {
    let json = |v: &dyn Json| v.to_vec();
    let account = |name: &ActorName| -> Result<Account, ServiceError> {
        match current {
            Some(d) => Ok(d.parse()?),
            None => Err(ServiceError::Store(StoreError::Corrupt(format!(
                "accounts stream: event for account {name}, which was never created"
            )))),
        }
    };
    Ok(match event {
        Event::ElementRegistered {
            element,
            description,
        } => Some((
            DocKind::Element,
            element.to_string(),
            json(&ElementInfo {
                name: element.clone(),
                description: description.clone(),
                registered_at: at,
            }),
        )),
        Event::AccountCreated { name, spec } => Some((
            DocKind::Account,
            name.to_string(),
            json(&Account {
                name: name.clone(),
                spec: spec.clone(),
                disabled: false,
                created_at: at,
                credential_epoch: 0,
            }),
        )),
        Event::AccountChanged { name, spec } => {
            let mut a = account(name)?;
            a.spec = spec.clone();
            Some((DocKind::Account, name.to_string(), json(&a)))
        }
        Event::AccountDisabled { name, .. } => {
            let mut a = account(name)?;
            a.disabled = true;
            a.credential_epoch += 1;
            Some((DocKind::Account, name.to_string(), json(&a)))
        }
        Event::AccountEnabled { name } => {
            let mut a = account(name)?;
            a.disabled = false;
            Some((DocKind::Account, name.to_string(), json(&a)))
        }
        Event::PasswordChanged { name, .. } => {
            let mut a = account(name)?;
            a.credential_epoch += 1;
            Some((DocKind::Account, name.to_string(), json(&a)))
        }
        Event::TokenIssued { token } => {
            Some((DocKind::Token, token.token_id.to_string(), json(token)))
        }
        Event::TokenRevoked { token_id, .. } => {
            let mut t: TokenInfo = match current {
                Some(d) => d.parse()?,
                None => {
                    return Err(ServiceError::Store(StoreError::Corrupt(format!(
                        "accounts stream: token {token_id} revoked but never issued"
                    ))));
                }
            };
            t.revoked = true;
            Some((DocKind::Token, token_id.to_string(), json(&t)))
        }
        Event::ClearanceLevelsSet { levels } => {
            Some((DocKind::Setting, LEVELS_KEY.to_owned(), json(levels)))
        }
        _ => None,
    })
}

/// The document an accounts-stream event changes, if any.
pub(crate) fn account_doc_key(event: &Event) -> Option<(DocKind, String)> {
    match event {
        Event::ElementRegistered { element, .. } => Some((DocKind::Element, element.to_string())),
        Event::AccountCreated { name, .. }
        | Event::AccountChanged { name, .. }
        | Event::AccountDisabled { name, .. }
        | Event::AccountEnabled { name }
        | Event::PasswordChanged { name, .. } => Some((DocKind::Account, name.to_string())),
        Event::TokenIssued { token } => Some((DocKind::Token, token.token_id.to_string())),
        Event::TokenRevoked { token_id, .. } => Some((DocKind::Token, token_id.to_string())),
        Event::ClearanceLevelsSet { .. } => Some((DocKind::Setting, LEVELS_KEY.to_owned())),
        _ => None,
    }
}

/// The document a reference-stream event changes and its new content.
pub(crate) fn reference_doc(event: &Event) -> Option<(DocKind, String, Option<Vec<u8>>)> {
    let json = |v: &dyn Json| Some(v.to_vec());
    match event {
        Event::RelationsReplaced { relations } => {
            Some((DocKind::Reference, RELATIONS_KEY.into(), json(relations)))
        }
        Event::DirectoryReplaced { directory } => {
            Some((DocKind::Reference, DIRECTORY_KEY.into(), json(directory)))
        }
        Event::NoticeTargetSet { target } => Some((
            DocKind::Reference,
            target_key(target.name.as_str()),
            json(target),
        )),
        Event::NoticeTargetRemoved { name } => {
            Some((DocKind::Reference, target_key(name.as_str()), None))
        }
        _ => None,
    }
}

/// The key of a receipt's document (kind receipt).
pub(crate) fn receipt_key(id: &ReceiptId) -> String {
    format!("{RECEIPT_PREFIX}{id}")
}
pub(crate) const RECEIPT_PREFIX: &str = "receipt/";

/// The key of the document that says a STIX report version was received
/// as a receipt (kind receipt): `stix/ID@MODIFIED`.
pub(crate) fn stix_key(stix_id: &str, modified: &str) -> String {
    format!("stix/{stix_id}@{modified}")
}

/// What the `stix/...` document holds.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct ReceivedAs {
    pub receipt_id: ReceiptId,
}

/// The documents an exchange-stream event writes and their new content.
/// `current` is the receipt's document before an assessment.
pub(crate) fn exchange_docs(
    event: &Event,
    at: Timestamp,
    by: &ActorName,
    current: Option<&Doc>,
) -> Result<Vec<(DocKind, String, Vec<u8>)>, ServiceError> {
    let json = |v: &dyn Json| v.to_vec();
    Ok(match event {
        Event::PartnerMapped { partner } => vec![(
            DocKind::Partner,
            partner.identity.to_string(),
            json(partner),
        )],
        Event::StixReportReceived { receipt_id, report } => vec![
            (
                DocKind::Receipt,
                receipt_key(receipt_id),
                json(&Receipt {
                    receipt_id: *receipt_id,
                    received_at: at,
                    imported_by: by.clone(),
                    report: (**report).clone(),
                    status: ReceiptStatus::NeedsAssessment,
                }),
            ),
            (
                DocKind::Receipt,
                stix_key(&report.stix_id, &report.modified),
                json(&ReceivedAs {
                    receipt_id: *receipt_id,
                }),
            ),
        ],
        Event::StixReportAssessed {
            receipt_id,
            case_id,
            report_id,
        } => {
            let Some(d) = current else {
                return Err(ServiceError::Store(StoreError::Corrupt(format!(
                    "exchange stream: receipt {receipt_id} assessed but never received"
                ))));
            };
            let mut r: Receipt = d.parse()?;
            r.status = ReceiptStatus::Assessed {
                case_id: *case_id,
                report_id: *report_id,
                by: by.clone(),
                at,
            };
            vec![(DocKind::Receipt, receipt_key(receipt_id), json(&r))]
        }
        _ => vec![],
    })
}

/// The document an exchange-stream event reads before it changes it.
pub(crate) fn exchange_doc_key(event: &Event) -> Option<(DocKind, String)> {
    match event {
        Event::StixReportAssessed { receipt_id, .. } => {
            Some((DocKind::Receipt, receipt_key(receipt_id)))
        }
        _ => None,
    }
}
