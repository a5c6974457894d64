//! The exchange stream's TAXII documents (kind `taxii`) as functions of
//! its events, used when an event is appended and when `admin rebuild`
//! folds the stream, so both write the same bytes. A leaf: it imports
//! nothing from its siblings.
//!
//! Keys:
//! * `collection/{id}`: the collection as configured, with the next
//!   sequence number and the last date added;
//! * `object/{id}/{position}`: one object of a collection, in TAXII order
//!   (date added, then sequence: `Position::key`), so a page is a key range;
//! * `version/{id}/{stix id}/{position}`: the same object under its STIX id
//!   (object by id, its versions, duplicates);
//! * `status/{id}`: the status resource of a `POST objects`;
//! * `cursor/{sha256}`: where a pull from a partner's collection stopped.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tocsin_domain::event::Event;
use tocsin_domain::taxii::{
    AdditionSource, ObjectMarking, ObjectOutcome, PullCursor, TaxiiAddition, TaxiiCollection,
};
use tocsin_domain::{ActorName, CaseId, Timestamp};
use tocsin_export::taxii::{ObjectHeader, Position, timestamp_text};
use uuid::Uuid;

/// A collection's document.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct CollectionDoc {
    pub collection: TaxiiCollection,
    /// The sequence number of the next object added.
    pub next_seq: u64,
    /// The date the last objects were added (dates never go back).
    pub last_added: Option<Timestamp>,
}

/// One object of a collection, as served.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaxiiRecord {
    pub date_added: Timestamp,
    pub seq: u64,
    pub marking: ObjectMarking,
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub spec_version: String,
    /// The version as TAXII shows it (`modified`, else `created`, else
    /// the date added).
    pub version: String,
    pub version_at: Timestamp,
    pub object: serde_json::Value,
    /// The case it was published from (its reads are recorded as reads of
    /// the case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_id: Option<CaseId>,
}

impl TaxiiRecord {
    pub fn position(&self) -> Position {
        Position::new(self.date_added, self.seq)
    }
}

/// One object of a status resource.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StatusDetail {
    pub id: String,
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The status resource of a `POST objects` (processing is synchronous:
/// it is complete when first answered).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TaxiiStatus {
    pub id: Uuid,
    pub status: String,
    pub request_timestamp: String,
    pub total_count: u64,
    pub success_count: u64,
    pub successes: Vec<StatusDetail>,
    pub failure_count: u64,
    pub failures: Vec<StatusDetail>,
    pub pending_count: u64,
    pub pendings: Vec<StatusDetail>,
}

/// A status's document: the resource and who asked.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct StatusDoc {
    pub by: ActorName,
    pub collection: Uuid,
    pub status: TaxiiStatus,
}

pub(crate) fn collection_key(id: &Uuid) -> String {
    format!("collection/{id}")
}
pub(crate) const COLLECTION_PREFIX: &str = "collection/";

pub(crate) fn objects_prefix(collection: &Uuid) -> String {
    format!("object/{collection}/")
}

pub(crate) fn versions_prefix(collection: &Uuid, stix_id: &str) -> String {
    format!("version/{collection}/{stix_id}/")
}

pub(crate) fn status_key(id: &Uuid) -> String {
    format!("status/{id}")
}

/// The key of a pull's cursor: the partner's API root and collection.
pub(crate) fn cursor_key(server: &str, collection: &Uuid) -> String {
    let h = Sha256::digest(format!("{server}\n{collection}").as_bytes());
    format!("cursor/{}", hex::encode(h))
}

fn json<T: Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_default()
}

/// The records an addition makes, in order, from the collection as it
/// stood before it.
pub(crate) fn records(a: &TaxiiAddition, first_seq: u64) -> Vec<TaxiiRecord> {
    a.objects
        .iter()
        .enumerate()
        .filter_map(|(i, o)| {
            // Only objects whose header reads are ever added.
            let h = ObjectHeader::read(o).ok()?;
            let version_at = h.version.unwrap_or(a.date_added);
            let version = ["modified", "created"]
                .iter()
                .find_map(|k| o.get(*k).and_then(|v| v.as_str()).map(str::to_owned))
                .unwrap_or_else(|| timestamp_text(a.date_added));
            Some(TaxiiRecord {
                date_added: a.date_added,
                seq: first_seq + i as u64,
                marking: a.marking.clone(),
                id: h.id,
                kind: h.kind,
                spec_version: h.spec_version,
                version,
                version_at,
                object: o.clone(),
                case_id: match &a.source {
                    AdditionSource::Published { case_id } => Some(*case_id),
                    AdditionSource::Post { .. } => None,
                },
            })
        })
        .collect()
}

/// The status resource a `POST objects` addition answers.
pub(crate) fn status_of(a: &TaxiiAddition, records: &[TaxiiRecord]) -> Option<TaxiiStatus> {
    let AdditionSource::Post {
        status_id,
        failures,
        notes,
        total,
    } = &a.source
    else {
        return None;
    };
    let detail = |o: &ObjectOutcome| StatusDetail {
        id: o.id.clone(),
        version: o.version.clone().unwrap_or_default(),
        message: Some(o.message.to_string()),
    };
    let mut successes: Vec<StatusDetail> = records
        .iter()
        .map(|r| StatusDetail {
            id: r.id.clone(),
            version: r.version.clone(),
            // A note names its object by id (the import writes a version
            // in its own form).
            message: notes
                .iter()
                .find(|n| n.id == r.id)
                .map(|n| n.message.to_string()),
        })
        .collect();
    for n in notes {
        let listed = successes.iter().any(|s| s.id == n.id);
        if !listed {
            successes.push(detail(n));
        }
    }
    let failures: Vec<StatusDetail> = failures.iter().map(detail).collect();
    Some(TaxiiStatus {
        id: *status_id,
        status: "complete".into(),
        request_timestamp: timestamp_text(a.date_added),
        total_count: *total,
        success_count: successes.len() as u64,
        successes,
        failure_count: failures.len() as u64,
        failures,
        pending_count: 0,
        pendings: vec![],
    })
}

/// The collection document an exchange-stream event changes, if any.
pub(crate) fn collection_of(event: &Event) -> Option<Uuid> {
    match event {
        Event::TaxiiCollectionSet { collection } => Some(collection.id),
        Event::TaxiiObjectsAdded { addition } => Some(addition.collection),
        _ => None,
    }
}

/// The documents a TAXII event of the exchange stream writes (key, body),
/// given the collection's document before it (`None`: not configured).
/// An addition to a collection that does not exist writes nothing: the
/// service never appends one.
pub(crate) fn taxii_docs(
    event: &Event,
    actor: &ActorName,
    collection: Option<CollectionDoc>,
) -> Vec<(String, Vec<u8>)> {
    match event {
        Event::TaxiiCollectionSet { collection: c } => {
            let (next_seq, last_added) = collection
                .map(|d| (d.next_seq, d.last_added))
                .unwrap_or((0, None));
            let doc = CollectionDoc {
                collection: c.clone(),
                next_seq,
                last_added,
            };
            vec![(collection_key(&c.id), json(&doc))]
        }
        Event::TaxiiObjectsAdded { addition } => {
            let Some(mut doc) = collection else {
                return vec![];
            };
            let records = records(addition, doc.next_seq);
            let mut out = Vec::with_capacity(2 * records.len() + 2);
            for r in &records {
                let pos = r.position().key();
                let body = json(r);
                out.push((
                    format!("{}{pos}", objects_prefix(&addition.collection)),
                    body.clone(),
                ));
                out.push((
                    format!("{}{pos}", versions_prefix(&addition.collection, &r.id)),
                    body,
                ));
            }
            if let Some(status) = status_of(addition, &records) {
                let s = StatusDoc {
                    by: actor.clone(),
                    collection: addition.collection,
                    status,
                };
                out.push((status_key(&s.status.id), json(&s)));
            }
            doc.next_seq += addition.objects.len() as u64;
            doc.last_added = Some(addition.date_added);
            out.push((collection_key(&addition.collection), json(&doc)));
            out
        }
        Event::TaxiiPullCursorSet { cursor } => {
            vec![(
                cursor_key(&cursor.server, &cursor.collection),
                json::<PullCursor>(cursor),
            )]
        }
        _ => vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use tocsin_domain::taxii::{Audience, ObjectOutcome};
    use tocsin_domain::text::{Name, Title};

    fn collection() -> TaxiiCollection {
        TaxiiCollection {
            id: Uuid::nil(),
            title: Title::new("c").unwrap(),
            description: None,
            readers: Audience::default(),
            writers: Audience::default(),
            marking: ObjectMarking::default(),
        }
    }

    fn indicator(i: u32, modified: Option<&str>) -> serde_json::Value {
        let mut o = json!({"type": "indicator", "spec_version": "2.1",
            "id": format!("indicator--00000000-0000-4000-8000-{i:012}")});
        if let Some(m) = modified {
            o["modified"] = json!(m);
        }
        o
    }

    fn post(objects: Vec<serde_json::Value>, at: &str) -> Event {
        Event::TaxiiObjectsAdded {
            addition: Box::new(TaxiiAddition {
                collection: Uuid::nil(),
                date_added: at.parse().unwrap(),
                marking: ObjectMarking::default(),
                objects,
                source: AdditionSource::Post {
                    status_id: Uuid::max(),
                    failures: vec![ObjectOutcome {
                        id: "objects[2]".into(),
                        version: None,
                        message: Name::new("type: missing").unwrap(),
                    }],
                    notes: vec![],
                    total: 3,
                },
            }),
        }
    }

    #[test]
    fn additions_number_their_objects_in_order_and_keep_the_collection_going() {
        let actor = ActorName::new("kim").unwrap();
        let set = Event::TaxiiCollectionSet {
            collection: collection(),
        };
        let docs = taxii_docs(&set, &actor, None);
        let doc: CollectionDoc = serde_json::from_slice(&docs[0].1).unwrap();
        assert_eq!((doc.next_seq, doc.last_added), (0, None));
        let e = post(
            vec![
                indicator(1, Some("2026-01-01T00:00:00.000Z")),
                indicator(2, None),
            ],
            "2026-12-04T10:00:00Z",
        );
        let docs = taxii_docs(&e, &actor, Some(doc));
        let keys: Vec<&str> = docs.iter().map(|(k, _)| k.as_str()).collect();
        let first = Position::new("2026-12-04T10:00:00Z".parse().unwrap(), 0).key();
        let second = Position::new("2026-12-04T10:00:00Z".parse().unwrap(), 1).key();
        let nil = Uuid::nil();
        assert_eq!(keys[0], format!("object/{nil}/{first}"));
        assert!(keys[1].starts_with(&format!("version/{nil}/indicator--")));
        assert_eq!(keys[2], format!("object/{nil}/{second}"));
        let status: StatusDoc = serde_json::from_slice(&docs[4].1).unwrap();
        assert_eq!(status.by, actor);
        assert_eq!(
            (status.status.success_count, status.status.failure_count),
            (2, 1)
        );
        // The version of an object without `modified` or `created` is its
        // date added.
        assert_eq!(
            status.status.successes[1].version,
            "2026-12-04T10:00:00.000000Z"
        );
        let doc: CollectionDoc = serde_json::from_slice(&docs[5].1).unwrap();
        assert_eq!(doc.next_seq, 2);
        assert_eq!(
            doc.last_added,
            Some("2026-12-04T10:00:00Z".parse().unwrap())
        );
        // An addition to no collection writes nothing.
        assert!(taxii_docs(&e, &actor, None).is_empty());
    }
}
