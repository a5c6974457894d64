//! Receipts: partners' STIX reports that lacked what intake needs
//! ([`crate::stix_import`]), waiting for an analyst. The inbox lists those
//! the reader may see (the receipt's element, level and compartments, as
//! a case's); an assessment gives what was missing (nothing is invented)
//! and the report goes through the normal intake, received when the
//! receipt was.
//!
//! An assessment writes two streams, so it is made idempotent rather than
//! atomic: the intake runs under the deployment's key `receipt:ID`
//! (whoever repeats it gets the first case), then `stix_report_assessed`
//! goes on the exchange stream with a compare-and-set on the receipt's
//! document. A retry after a crash between the two finds the case under
//! the key and completes the mark; two analysts racing get one case.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tocsin_domain::access::Permission;
use tocsin_domain::event::Event;
use tocsin_domain::exchange::{Receipt, ReceiptStatus};
use tocsin_domain::grading::{Grading, Specificity};
use tocsin_domain::report::HarmTypes;
use tocsin_domain::text::SecretTerm;
use tocsin_domain::time::ThreatWindow;
use tocsin_domain::{ReceiptId, ThreatReport};
use tocsin_store::{DocExpect, DocKind, DocWrite, NewEvents, StoreError, StreamId};

use crate::access::Principal;
use crate::command::envelopes;
use crate::intake::{Idempotency, Intake, Submitted};
use crate::projection::{RECEIPT_PREFIX, exchange_docs, receipt_key};
use crate::{MAX_ATTEMPTS, Service, ServiceError};

/// What an analyst gives to complete a receipt: every part it lacks
/// (given parts it has replace what the partner said).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiptAssessment {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub harm_types: Option<HarmTypes>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grading: Option<Grading>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub specificity: Option<Specificity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<ThreatWindow>,
}

const NO_SUCH_RECEIPT: &str = "no such receipt, or not one you may see";

impl Service {
    /// The receipts needing assessment that `p` may see, oldest first.
    pub async fn receipt_inbox(&self, p: &Principal) -> Result<Vec<Receipt>, ServiceError> {
        self.authorize(p, Permission::Analyse, "receipt_inbox")
            .await?;
        let levels = self.clearance_levels().await?;
        let mut out = Vec::new();
        let mut after = Some(RECEIPT_PREFIX.to_owned());
        loop {
            let page = self.store.list_docs(DocKind::Receipt, after, 500).await?;
            for d in &page {
                if !d.key.starts_with(RECEIPT_PREFIX) {
                    return Ok(out);
                }
                let r: Receipt = d.parse()?;
                if r.status == ReceiptStatus::NeedsAssessment
                    && Self::sees_marking(p, &r.marking(), &levels)
                {
                    out.push(r);
                }
            }
            match page.last() {
                Some(d) if page.len() == 500 => after = Some(d.key.clone()),
                _ => return Ok(out),
            }
        }
    }

    /// Completes a receipt: its report opens a case (received when the
    /// receipt was) and the receipt is marked assessed. Repeating it, or
    /// racing it, answers the first case.
    pub async fn assess_receipt(
        &self,
        p: &Principal,
        id: ReceiptId,
        assessment: ReceiptAssessment,
    ) -> Result<Submitted, ServiceError> {
        self.authorize(p, Permission::Analyse, "assess_receipt")
            .await?;
        let levels = self.clearance_levels().await?;
        let receipt = match self
            .store
            .get_doc(DocKind::Receipt, &receipt_key(&id))
            .await?
        {
            Some(d) => Some(d.parse::<Receipt>()?),
            None => None,
        };
        let Some(receipt) = receipt.filter(|r| Self::sees_marking(p, &r.marking(), &levels)) else {
            self.refuse(
                p,
                "assess_receipt",
                Some(format!("receipt/{id}")),
                NO_SUCH_RECEIPT,
            )
            .await;
            return Err(ServiceError::NotFound(format!("there is no receipt {id}")));
        };
        let key = Idempotency::shared(format!("receipt:{id}"));
        let submitted = match &receipt.status {
            ReceiptStatus::Assessed { .. } => match self.first_result(&key).await? {
                Some(first) => first,
                None => {
                    return Err(ServiceError::WrongState(format!(
                        "receipt {id} is assessed already"
                    )));
                }
            },
            ReceiptStatus::NeedsAssessment => {
                let report = completed(&receipt, assessment)?;
                self.submit_report(
                    p,
                    Intake {
                        idempotency: Some(key),
                        ..Intake::new(report)
                    },
                )
                .await?
            }
        };
        self.mark_assessed(p, id, &submitted).await?;
        Ok(submitted)
    }

    /// `stix_report_assessed`, once: compare-and-set on the receipt.
    async fn mark_assessed(
        &self,
        p: &Principal,
        id: ReceiptId,
        s: &Submitted,
    ) -> Result<(), ServiceError> {
        for _ in 0..MAX_ATTEMPTS {
            let Some(doc) = self
                .store
                .get_doc(DocKind::Receipt, &receipt_key(&id))
                .await?
            else {
                return Err(ServiceError::NotFound(format!("there is no receipt {id}")));
            };
            let r: Receipt = doc.parse()?;
            if r.status != ReceiptStatus::NeedsAssessment {
                return Ok(());
            }
            let now = self.now();
            let event = Event::StixReportAssessed {
                receipt_id: id,
                case_id: s.case_id,
                report_id: s.report_id,
            };
            let docs = exchange_docs(&event, now, p.name(), Some(&doc))?
                .into_iter()
                .map(|(kind, key, body)| DocWrite {
                    kind,
                    key,
                    expect: DocExpect::Version(doc.version),
                    body: Some(body),
                })
                .collect();
            match self
                .store
                .append(crate::salted(NewEvents {
                    stream: StreamId::Exchange,
                    expected_version: None,
                    events: envelopes(p.name(), now, vec![event]),
                    summary: None,
                    docs,
                    salts: Vec::new(),
                })?)
                .await
            {
                Ok(_) => return Ok(()),
                Err(StoreError::DocConflict { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::Contention(format!("receipt {id}")))
    }
}

/// The threat report a receipt and an assessment make, or the first part
/// still missing.
fn completed(r: &Receipt, a: ReceiptAssessment) -> Result<ThreatReport, ServiceError> {
    let got = &r.report;
    let need = |field: &str| {
        ServiceError::invalid(
            field,
            format_args!(
                "receipt {} does not say, and the assessment does not give it",
                r.receipt_id
            ),
        )
    };
    let harm_types = a
        .harm_types
        .or_else(|| got.harm_types.clone())
        .ok_or_else(|| need("harm_types"))?;
    let grading = a
        .grading
        .or_else(|| got.grading.clone())
        .ok_or_else(|| need("grading"))?;
    let specificity = a
        .specificity
        .or(got.specificity)
        .ok_or_else(|| need("specificity"))?;
    let external_reference =
        SecretTerm::new(got.stix_id.clone()).map_err(|e| ServiceError::invalid("stix_id", e))?;
    Ok(ThreatReport {
        originating_element: got.originating_element.clone(),
        received_at: r.received_at,
        title: got.title.clone(),
        narrative: got.narrative.clone(),
        harm_types,
        target: got.target.clone(),
        threat_actor: got.threat_actor.clone(),
        location: got.location.clone(),
        window: a.window.or_else(|| got.window.clone()),
        grading,
        specificity,
        handling: got.handling.clone(),
        source: None,
        external_reference: Some(external_reference),
        secret_terms: vec![],
        derived_from: None,
        origin: None,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::sync::Arc;

    use tocsin_domain::access::{Account, AccountSpec};
    use tocsin_domain::text::{Label, Name};
    use tocsin_domain::{ActorName, LoadedPolicy, Role, Timestamp};
    use tocsin_export::stix::testing::{partner_bundle, report_mut};
    use tocsin_ledger::NoteSigner;
    use tocsin_store::Store;
    use tocsin_store_sqlite::{InitParams, SqliteStore};

    use super::*;
    use crate::access::Via;
    use crate::stix_import::ImportOutcome;
    use crate::{ManualClock, Service};

    fn service(dir: &tempfile::TempDir) -> Service {
        let path = dir.path().join("t.db");
        let signer = NoteSigner::from_seed("tocsin-test", [7; 32]).unwrap();
        SqliteStore::create(
            &path,
            signer.clone(),
            InitParams {
                deployment_id: "test".into(),
                origin: "tocsin.test/receipts".into(),
                created_at: "2024-01-01T00:00:00Z".into(),
            },
        )
        .unwrap();
        let store = SqliteStore::open(&path, Some(signer)).unwrap();
        Service::new(
            Arc::new(store) as Arc<dyn Store>,
            Arc::new(LoadedPolicy::builtin()),
            Arc::new(ManualClock::new(
                "2024-06-01T00:00:00Z".parse::<Timestamp>().unwrap(),
            )),
        )
    }

    fn analyst() -> Principal {
        let roles = BTreeSet::from([Role::Analyst]);
        let account = Account {
            name: ActorName::new("analyst.a").unwrap(),
            spec: AccountSpec {
                display_name: Name::new("analyst.a").unwrap(),
                elements: BTreeSet::from([tocsin_domain::text::ElementName::new("Desk").unwrap()]),
                roles: roles.clone(),
                clearance: Label::new("SECRET").unwrap(),
                compartments: BTreeSet::new(),
            },
            disabled: false,
            created_at: Timestamp::UNIX_EPOCH,
            credential_epoch: 0,
        };
        Principal::new(account, roles, Via::Local)
    }

    /// A crash after the intake of an assessment and before the receipt
    /// is marked: the retry finds the case under the receipt's key,
    /// marks the receipt, and opens no second case.
    #[test]
    fn an_assessment_retried_after_a_crash_completes_and_never_duplicates() {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(retried_after_a_crash());
    }

    async fn retried_after_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let svc = service(&dir);
        let p = analyst();
        let mut bundle = partner_bundle();
        report_mut(&mut bundle)
            .as_object_mut()
            .unwrap()
            .remove("created_by_ref");
        let done = svc.import_stix(&p, &bundle.to_string()).await.unwrap();
        let ImportOutcome::NeedsAssessment { receipt_id, .. } = done.reports[0].outcome else {
            panic!("{done:?}")
        };
        let assessment: ReceiptAssessment = serde_json::from_value(serde_json::json!({
            "harm_types": ["intentional_killing"],
            "grading": {"grade": "B2", "assessor": "analyst.a", "reason": "Reliable."},
            "specificity": {"who": "present", "where": "present", "when": "absent", "how": "partial"}
        }))
        .unwrap();
        // The first attempt's intake, and then the crash.
        let doc = svc
            .store
            .get_doc(DocKind::Receipt, &receipt_key(&receipt_id))
            .await
            .unwrap()
            .unwrap();
        let receipt: Receipt = doc.parse().unwrap();
        let first = svc
            .submit_report(
                &p,
                Intake {
                    idempotency: Some(Idempotency::shared(format!("receipt:{receipt_id}"))),
                    ..Intake::new(completed(&receipt, assessment.clone()).unwrap())
                },
            )
            .await
            .unwrap();
        assert_eq!(svc.receipt_inbox(&p).await.unwrap().len(), 1);
        // The retry: the same case, and the receipt marked.
        let again = svc
            .assess_receipt(&p, receipt_id, assessment.clone())
            .await
            .unwrap();
        assert_eq!(again.case_id, first.case_id);
        assert!(svc.receipt_inbox(&p).await.unwrap().is_empty());
        let third = svc
            .assess_receipt(&p, receipt_id, ReceiptAssessment::default())
            .await
            .unwrap();
        assert_eq!(third.case_id, first.case_id);
        assert_eq!(svc.store.case_ids().await.unwrap().len(), 1);
        let marked: Receipt = svc
            .store
            .get_doc(DocKind::Receipt, &receipt_key(&receipt_id))
            .await
            .unwrap()
            .unwrap()
            .parse()
            .unwrap();
        assert!(matches!(
            marked.status,
            ReceiptStatus::Assessed { case_id, .. } if case_id == first.case_id
        ));
        // The received time is the receipt's.
        let case = svc.load(first.case_id).await.unwrap();
        assert_eq!(case.reports[0].report.received_at, receipt.received_at);
    }
}
