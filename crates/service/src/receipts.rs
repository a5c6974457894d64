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
                .append(NewEvents {
                    stream: StreamId::Exchange,
                    expected_version: None,
                    events: envelopes(p.name(), now, vec![event]),
                    summary: None,
                    docs,
                })
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
