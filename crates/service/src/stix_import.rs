//! STIX 2.1 in: a bundle's `report` objects become threat reports
//! ([`Service::import_stix`], the one call the API, the CLI and the TAXII
//! server's inbound objects share).
//!
//! The whole bundle is read (`tocsin_export::stix::import`) and every
//! report checked (its producer in the partner table, the element one of
//! the importer's own, its marking within the importer's clearance)
//! before anything is written; a refusal is
//! [`ServiceError::StixRefused`] (object, path, reason) and writes
//! nothing. Then each report, in turn:
//!
//! * complete (a report tocsin exported, or one whose custom properties
//!   give everything intake needs) goes through the normal intake and
//!   opens a case, under the deployment's idempotency key
//!   `stix:ID@MODIFIED` (written in the same transaction, compare-and-set:
//!   a re-import, or a race, is answered with the first result);
//! * incomplete is kept as a *receipt* for an analyst
//!   (`stix_report_received` on the exchange stream, with the receipt's
//!   document and `stix/ID@MODIFIED` created in the same append):
//!   nothing is invented. See [`crate::receipts`] for its assessment.

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tocsin_domain::access::{ClearanceLevels, Permission};
use tocsin_domain::event::Event;
use tocsin_domain::exchange::{Receipt, ReceivedReport, StixIdentity};
use tocsin_domain::report::Handling;
use tocsin_domain::text::SecretTerm;
use tocsin_domain::{CaseId, CaseNumber, ReceiptId, ReportId, ThreatReport, Timestamp};
use tocsin_export::stix::import::{Draft, ImportError, Imported, Limits, read_bundle};
use tocsin_store::{DocExpect, DocKind, DocWrite, NewEvents, StoreError, StreamId};

use crate::access::Principal;
use crate::command::envelopes;
use crate::intake::{Idempotency, Intake};
use crate::partners::filed_under;
use crate::projection::{ReceivedAs, exchange_docs, receipt_key, stix_key};
use crate::{Service, ServiceError, new_uuid};

/// What an import did, one entry per STIX `report` of the bundle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StixImport {
    pub reports: Vec<ImportedReport>,
}

/// One STIX report and what became of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ImportedReport {
    /// The STIX `report` object's id.
    pub stix_id: String,
    /// Its `modified` (or `created`): with the id, the import's key.
    pub modified: String,
    #[serde(flatten)]
    pub outcome: ImportOutcome,
}

/// What became of one STIX report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ImportOutcome {
    /// It opened a case.
    Opened {
        case_id: CaseId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        number: Option<CaseNumber>,
        report_id: ReportId,
    },
    /// It lacks what intake needs: kept as a receipt for an analyst
    /// (`tocsin report assess RECEIPT`).
    NeedsAssessment {
        receipt_id: ReceiptId,
        missing: Vec<String>,
    },
    /// This version of it was imported before: the first result, nothing
    /// written. The case is named only to a caller who may see it.
    AlreadyImported {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        case_id: Option<CaseId>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        number: Option<CaseNumber>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        report_id: Option<ReportId>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        receipt_id: Option<ReceiptId>,
    },
}

/// A report checked and ready to write.
enum Plan {
    Complete {
        stix_id: String,
        modified: String,
        report: Box<ThreatReport>,
    },
    Incomplete(Box<ReceivedReport>),
}

fn refused(e: ImportError) -> ServiceError {
    ServiceError::StixRefused {
        object: e.object,
        path: e.path,
        reason: e.reason,
    }
}

fn refusal(object: &str, path: &str, reason: impl Into<String>) -> ServiceError {
    ServiceError::StixRefused {
        object: Some(object.to_owned()),
        path: path.to_owned(),
        reason: reason.into(),
    }
}

/// The key of a STIX report version under intake's idempotency records.
fn intake_key(stix_id: &str, modified: &str) -> Idempotency {
    Idempotency::shared(format!("stix:{stix_id}@{modified}"))
}

impl Service {
    /// Imports a STIX 2.1 bundle (JSON text): each `report` opens a case,
    /// is kept for assessment, or was imported before. All or nothing at
    /// the check: a refusal names the object, the path and the reason.
    pub async fn import_stix(
        &self,
        p: &Principal,
        bundle_json: &str,
    ) -> Result<StixImport, ServiceError> {
        self.authorize(p, Permission::SubmitReport, "import_stix")
            .await?;
        let read = read_bundle(bundle_json, Limits::default()).map_err(refused)?;
        let levels = self.clearance_levels().await?;
        let now = self.now();
        let mut plans = Vec::with_capacity(read.len());
        for r in read {
            plans.push(self.plan(p, &levels, r, now).await?);
        }
        let mut reports = Vec::with_capacity(plans.len());
        for plan in plans {
            reports.push(self.carry_out(p, &levels, plan).await?);
        }
        Ok(StixImport { reports })
    }

    /// One report checked: its element, its marking, complete or not.
    async fn plan(
        &self,
        p: &Principal,
        levels: &ClearanceLevels,
        r: Imported,
        now: Timestamp,
    ) -> Result<Plan, ServiceError> {
        let Imported {
            stix_id,
            modified,
            created_by,
            report,
        } = r;
        let partner = match &created_by {
            Some(id) => {
                let identity: StixIdentity = id
                    .parse()
                    .map_err(|e| refusal(&stix_id, "created_by_ref", format!("{e}")))?;
                Some((id.as_str(), self.partner(&identity).await?))
            }
            None => None,
        };
        let (element, level) = filed_under(
            p,
            levels,
            partner.as_ref().map(|(id, pa)| (*id, pa.as_ref())),
        )
        .map_err(|reason| refusal(&stix_id, "created_by_ref", reason))?;
        let marking_refusal = |e: ServiceError| match e {
            ServiceError::Invalid { message, .. } => {
                refusal(&stix_id, "object_marking_refs", message)
            }
            other => other,
        };
        let plan = match report {
            Draft::Shared(mut report) => {
                report.originating_element = element;
                if report.handling.classification.is_none() {
                    report.handling.classification = Some(level);
                }
                self.check_marking(p, levels, &report.handling)
                    .map_err(marking_refusal)?;
                Plan::Complete {
                    stix_id,
                    modified,
                    report,
                }
            }
            Draft::Read(read) => {
                let handling = Handling {
                    tlp: read.tlp,
                    classification: Some(level),
                    compartments: BTreeSet::new(),
                    existence_restricted: false,
                };
                self.check_marking(p, levels, &handling)
                    .map_err(marking_refusal)?;
                let missing: Vec<String> = read.missing().iter().map(|m| (*m).to_owned()).collect();
                match (read.harm_types, read.grading, read.specificity) {
                    (Some(harm_types), Some(grading), Some(specificity)) => {
                        let external_reference = SecretTerm::new(stix_id.clone())
                            .map_err(|e| refusal(&stix_id, "id", e.to_string()))?;
                        Plan::Complete {
                            report: Box::new(ThreatReport {
                                originating_element: element,
                                received_at: now,
                                title: read.title,
                                narrative: read.narrative,
                                harm_types,
                                target: read.target,
                                threat_actor: read.threat_actor,
                                location: read.location,
                                window: read.window,
                                grading,
                                specificity,
                                handling,
                                source: None,
                                external_reference: Some(external_reference),
                                secret_terms: vec![],
                                derived_from: None,
                                origin: None,
                            }),
                            stix_id,
                            modified,
                        }
                    }
                    (harm_types, grading, specificity) => {
                        Plan::Incomplete(Box::new(ReceivedReport {
                            stix_id,
                            modified,
                            created_by,
                            originating_element: element,
                            handling,
                            title: read.title,
                            narrative: read.narrative,
                            target: read.target,
                            threat_actor: read.threat_actor,
                            location: read.location,
                            place: read.place,
                            harm_types,
                            grading,
                            specificity,
                            window: read.window,
                            missing,
                        }))
                    }
                }
            }
        };
        Ok(plan)
    }

    /// Writes one checked report (or finds it written before).
    async fn carry_out(
        &self,
        p: &Principal,
        levels: &ClearanceLevels,
        plan: Plan,
    ) -> Result<ImportedReport, ServiceError> {
        let (stix_id, modified) = match &plan {
            Plan::Complete {
                stix_id, modified, ..
            } => (stix_id.clone(), modified.clone()),
            Plan::Incomplete(r) => (r.stix_id.clone(), r.modified.clone()),
        };
        let done = |outcome| ImportedReport {
            stix_id: stix_id.clone(),
            modified: modified.clone(),
            outcome,
        };
        if let Some(first) = self.imported_before(p, levels, &stix_id, &modified).await? {
            return Ok(done(first));
        }
        match plan {
            Plan::Complete { report, .. } => {
                let s = self
                    .submit_report(
                        p,
                        Intake {
                            idempotency: Some(intake_key(&stix_id, &modified)),
                            ..Intake::new(*report)
                        },
                    )
                    .await?;
                Ok(done(ImportOutcome::Opened {
                    case_id: s.case_id,
                    number: s.number,
                    report_id: s.report_id,
                }))
            }
            Plan::Incomplete(report) => {
                let receipt_id = ReceiptId::from_uuid(new_uuid());
                let missing = report.missing.clone();
                let now = self.now();
                let event = Event::StixReportReceived { receipt_id, report };
                let docs = exchange_docs(&event, now, p.name(), None)?
                    .into_iter()
                    .map(|(kind, key, body)| DocWrite {
                        kind,
                        key,
                        expect: DocExpect::Absent,
                        body: Some(body),
                    })
                    .collect();
                let r = self
                    .store
                    .append(crate::salted(NewEvents {
                        stream: StreamId::Exchange,
                        expected_version: None,
                        events: envelopes(p.name(), now, vec![event]),
                        summary: None,
                        docs,
                        salts: Vec::new(),
                    })?)
                    .await;
                match r {
                    Ok(_) => Ok(done(ImportOutcome::NeedsAssessment {
                        receipt_id,
                        missing,
                    })),
                    // The same version raced in first: its answer.
                    Err(StoreError::DocConflict { .. }) => self
                        .imported_before(p, levels, &stix_id, &modified)
                        .await?
                        .map(done)
                        .ok_or_else(|| ServiceError::Contention(format!("STIX report {stix_id}"))),
                    Err(e) => Err(e.into()),
                }
            }
        }
    }

    /// The first result of importing this STIX report version, if it was.
    async fn imported_before(
        &self,
        p: &Principal,
        levels: &ClearanceLevels,
        stix_id: &str,
        modified: &str,
    ) -> Result<Option<ImportOutcome>, ServiceError> {
        if let Some(first) = self.first_result(&intake_key(stix_id, modified)).await? {
            let sees = match self.load(first.case_id).await {
                Ok(case) => Self::sees(p, &case, levels),
                Err(ServiceError::CaseNotFound(_)) => false,
                Err(e) => return Err(e),
            };
            return Ok(Some(if sees {
                ImportOutcome::AlreadyImported {
                    case_id: Some(first.case_id),
                    number: first.number,
                    report_id: Some(first.report_id),
                    receipt_id: None,
                }
            } else {
                ImportOutcome::AlreadyImported {
                    case_id: None,
                    number: None,
                    report_id: None,
                    receipt_id: None,
                }
            }));
        }
        let Some(doc) = self
            .store
            .get_doc(DocKind::Receipt, &stix_key(stix_id, modified))
            .await?
        else {
            return Ok(None);
        };
        let ReceivedAs { receipt_id } = doc.parse()?;
        let receipt: Option<Receipt> = match self
            .store
            .get_doc(DocKind::Receipt, &receipt_key(&receipt_id))
            .await?
        {
            Some(d) => Some(d.parse()?),
            None => None,
        };
        let sees = receipt
            .as_ref()
            .is_some_and(|r| Self::sees_marking(p, &r.marking(), levels));
        Ok(Some(ImportOutcome::AlreadyImported {
            case_id: None,
            number: None,
            report_id: None,
            receipt_id: sees.then_some(receipt_id),
        }))
    }
}
