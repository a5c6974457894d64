//! Objects entering a collection: a TAXII `POST objects` from a caller in
//! its writers audience (marked with the collection's marking; STIX
//! `report`s among them go through the STIX import), or a case published
//! to it (the case's bundle as the publisher sees it, marked with the
//! case's marking). Each is one `taxii_objects_added` event on the
//! exchange stream with its documents; an object already in the
//! collection at the same version is not added again.

use std::collections::BTreeSet;

use serde_json::Value;
use tocsin_domain::case::Case;
use tocsin_domain::event::Event;
use tocsin_domain::taxii::{AdditionSource, ObjectMarking, ObjectOutcome, TaxiiAddition};
use tocsin_domain::text::Name;
use tocsin_domain::{CaseId, Timestamp};
use tocsin_export::taxii::{ObjectHeader, to_micros};
use tocsin_store::{DocKind, StoreError};
use uuid::Uuid;

use super::docs::{TaxiiRecord, TaxiiStatus, records, status_of, versions_prefix};
use crate::access::{Principal, Visible};
use crate::stix_import::ImportOutcome;
use crate::{Service, ServiceError};

/// What publishing a case to a collection added.
#[derive(
    Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct Published {
    pub collection: Uuid,
    pub case_id: CaseId,
    /// Objects added (those already there at the same version are not).
    pub added: u64,
    /// Objects of the bundle already in the collection.
    pub unchanged: u64,
    pub date_added: Timestamp,
}

/// An outcome message, within what a [`Name`] holds.
fn message(text: impl Into<String>) -> Name {
    let mut s: String = text.into().chars().take(290).collect();
    s = s.replace(['\n', '\r'], " ");
    Name::new(s).unwrap_or_else(|_| Name::new("refused").expect("a fixed name"))
}

/// How one object of a request fared before it is added.
enum Sorted {
    Add(Value),
    Refused(ObjectOutcome),
    /// Already in the collection (or earlier in the request).
    Held(ObjectOutcome),
}

impl Service {
    /// TAXII `POST objects`: the envelope's objects, added to the
    /// collection under its marking, its `report`s imported as threat
    /// reports. Processing is synchronous: the status answered is
    /// complete, and stays retrievable by its id.
    pub async fn taxii_add_objects(
        &self,
        p: &Principal,
        collection: &Uuid,
        envelope: &Value,
    ) -> Result<TaxiiStatus, ServiceError> {
        let view = self
            .taxii_collection(p, collection, "taxii_add_objects")
            .await?;
        if !view.can_write {
            let reason = "not among the collection's writers";
            self.refuse(
                p,
                "taxii_add_objects",
                Some(format!("taxii-collection/{collection}")),
                reason,
            )
            .await;
            return Err(ServiceError::Forbidden(format!(
                "you may not add objects to collection {collection}: {reason}"
            )));
        }
        let objects = envelope
            .get("objects")
            .and_then(Value::as_array)
            .ok_or_else(|| ServiceError::invalid("objects", "an envelope's list of objects"))?;
        let total = objects.len() as u64;
        let mut sorted = self.sort(collection, objects).await?;
        let mut notes = self.import_reports(p, &mut sorted).await?;
        let (mut add, mut failures) = (vec![], vec![]);
        for s in sorted {
            match s {
                Sorted::Add(v) => add.push(v),
                Sorted::Refused(o) => failures.push(o),
                Sorted::Held(o) => notes.push(o),
            }
        }
        let status_id = crate::new_uuid();
        let marking = view.collection.marking.clone();
        let (addition, records) = self
            .add(p, collection, marking, add, || AdditionSource::Post {
                status_id,
                failures: failures.clone(),
                notes: notes.clone(),
                total,
            })
            .await?;
        status_of(&addition, &records)
            .ok_or_else(|| ServiceError::internal("a post has a status", NoStatus))
    }

    /// Publishes a case the caller may see to a collection they may
    /// write: its STIX bundle as they see it (`case_stix`: sanitised, the
    /// read recorded), marked with the case's marking.
    pub async fn publish_case(
        &self,
        p: &Principal,
        case: &Visible<Case>,
        collection: &Uuid,
    ) -> Result<Published, ServiceError> {
        let view = self.taxii_collection(p, collection, "publish_case").await?;
        if !view.can_write {
            let reason = "not among the collection's writers";
            self.refuse(
                p,
                "publish_case",
                Some(format!("taxii-collection/{collection}")),
                reason,
            )
            .await;
            return Err(ServiceError::Forbidden(format!(
                "you may not publish to collection {collection}: {reason}"
            )));
        }
        let bundle = self.case_stix(p, case).await?;
        let objects = bundle
            .get("objects")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut add = vec![];
        let mut unchanged = 0u64;
        for s in self.sort(collection, &objects).await? {
            match s {
                Sorted::Add(v) => add.push(v),
                Sorted::Held(_) => unchanged += 1,
                Sorted::Refused(o) => {
                    return Err(ServiceError::internal(
                        "the case's bundle holds an object TAXII cannot serve",
                        BadExport(o.message.to_string()),
                    ));
                }
            }
        }
        let case_id = case.id;
        let marking = ObjectMarking::from(&case.marking());
        let (addition, records) = self
            .add(p, collection, marking, add, || AdditionSource::Published {
                case_id,
            })
            .await?;
        Ok(Published {
            collection: *collection,
            case_id,
            added: records.len() as u64,
            unchanged,
            date_added: addition.date_added,
        })
    }

    /// Each object: to add, refused (its header does not read), or held
    /// already (the same id and version in the collection or earlier in
    /// the request).
    async fn sort(
        &self,
        collection: &Uuid,
        objects: &[Value],
    ) -> Result<Vec<Sorted>, ServiceError> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::with_capacity(objects.len());
        for (i, o) in objects.iter().enumerate() {
            let h = match ObjectHeader::read(o) {
                Ok(h) => h,
                Err(e) => {
                    let id = o
                        .get("id")
                        .and_then(Value::as_str)
                        .map(|s| s.chars().take(120).collect())
                        .unwrap_or_else(|| format!("objects[{i}]"));
                    out.push(Sorted::Refused(ObjectOutcome {
                        id,
                        version: None,
                        message: message(format!("objects[{i}].{e}")),
                    }));
                    continue;
                }
            };
            let version = ["modified", "created"]
                .iter()
                .find_map(|k| o.get(*k).and_then(Value::as_str).map(str::to_owned));
            let held = ObjectOutcome {
                id: h.id.clone(),
                version: version.clone(),
                message: message("already in the collection at this version: not added again"),
            };
            let key = (h.id.clone(), version.clone());
            if version.is_some() && !seen.insert(key) {
                out.push(Sorted::Held(held));
                continue;
            }
            if version.is_some() && self.holds(collection, &h.id, version.as_deref()).await? {
                out.push(Sorted::Held(held));
                continue;
            }
            out.push(Sorted::Add(o.clone()));
        }
        Ok(out)
    }

    /// Whether the collection holds `id` at `version` already.
    async fn holds(
        &self,
        collection: &Uuid,
        id: &str,
        version: Option<&str>,
    ) -> Result<bool, ServiceError> {
        let prefix = versions_prefix(collection, id);
        let mut after = prefix.clone();
        loop {
            let page = self
                .store
                .list_docs(DocKind::Taxii, Some(after.clone()), 200)
                .await?;
            let n = page.len();
            for d in page {
                if !d.key.starts_with(&prefix) {
                    return Ok(false);
                }
                let r: TaxiiRecord = d.parse()?;
                if Some(r.version.as_str()) == version {
                    return Ok(true);
                }
                after = d.key;
            }
            if n < 200 {
                return Ok(false);
            }
        }
    }

    /// The STIX `report`s (and `grouping`s) to add go through the STIX import
    /// ([`Service::import_stix`]: the same checks, idempotency and
    /// permission as `POST /api/v1/reports/stix`), with the objects posted
    /// beside them as their bundle. What the import says of each report is
    /// noted in the status; when it refuses the bundle, its reports are
    /// refused with its reason and not added (the other objects are).
    async fn import_reports(
        &self,
        p: &Principal,
        sorted: &mut [Sorted],
    ) -> Result<Vec<ObjectOutcome>, ServiceError> {
        // What the import reads as a threat report (MISP writes an event
        // as a grouping).
        let is_report = |v: &Value| {
            matches!(
                v.get("type").and_then(Value::as_str),
                Some("report" | "grouping")
            )
        };
        let objects: Vec<&Value> = sorted
            .iter()
            .filter_map(|s| match s {
                Sorted::Add(v) => Some(v),
                _ => None,
            })
            .collect();
        if !objects.iter().any(|v| is_report(v)) {
            return Ok(vec![]);
        }
        let bundle = serde_json::json!({
            "type": "bundle",
            "id": format!("bundle--{}", crate::new_uuid()),
            "objects": objects,
        });
        let refusal = match self.import_stix(p, &bundle.to_string()).await {
            Ok(done) => {
                return Ok(done
                    .reports
                    .into_iter()
                    .map(|r| ObjectOutcome {
                        message: message(match &r.outcome {
                            ImportOutcome::Opened { .. } => {
                                "imported as a threat report: it opened a case"
                            }
                            ImportOutcome::NeedsAssessment { .. } => {
                                "imported; waits for an analyst's assessment (needs assessment)"
                            }
                            ImportOutcome::AlreadyImported { .. } => {
                                "imported before at this version: nothing new"
                            }
                        }),
                        id: r.stix_id,
                        version: Some(r.modified),
                    })
                    .collect());
            }
            Err(e @ (ServiceError::StixRefused { .. } | ServiceError::Forbidden(_))) => {
                format!("the STIX import refused it: {e}")
            }
            Err(e) => return Err(e),
        };
        for s in sorted.iter_mut() {
            if let Sorted::Add(v) = s
                && is_report(v)
            {
                let id = v
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or("report")
                    .to_owned();
                let version = ["modified", "created"]
                    .iter()
                    .find_map(|k| v.get(*k).and_then(Value::as_str).map(str::to_owned));
                *s = Sorted::Refused(ObjectOutcome {
                    id,
                    version,
                    message: message(refusal.clone()),
                });
            }
        }
        Ok(vec![])
    }

    /// Appends the addition (retrying when another writer added to the
    /// collection first): the objects take the next sequence numbers and
    /// the date added, which never goes back.
    async fn add(
        &self,
        p: &Principal,
        collection: &Uuid,
        marking: ObjectMarking,
        objects: Vec<Value>,
        source: impl Fn() -> AdditionSource,
    ) -> Result<(TaxiiAddition, Vec<TaxiiRecord>), ServiceError> {
        for _ in 0..crate::MAX_ATTEMPTS {
            let Some((doc, version)) = self.collection_doc(collection).await? else {
                return Err(ServiceError::NotFound(format!(
                    "there is no collection {collection}"
                )));
            };
            let now = to_micros(self.now());
            let date_added = doc.last_added.map_or(now, |l| l.max(now));
            let addition = TaxiiAddition {
                collection: *collection,
                date_added,
                marking: marking.clone(),
                objects: objects.clone(),
                source: source(),
            };
            let records = records(&addition, doc.next_seq);
            let event = Event::TaxiiObjectsAdded {
                addition: Box::new(addition.clone()),
            };
            match self.append_exchange(p, event, Some((doc, version))).await {
                Err(ServiceError::Store(StoreError::DocConflict { .. })) => continue,
                Err(e) => return Err(e),
                Ok(()) => return Ok((addition, records)),
            }
        }
        Err(ServiceError::Contention(format!("collection {collection}")))
    }
}

#[derive(Debug, thiserror::Error)]
#[error("a post's addition has no status")]
struct NoStatus;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct BadExport(String);
