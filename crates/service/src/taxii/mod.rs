//! TAXII 2.1 exchange with partners, decided here: collections an admin
//! configures (who may read, who may write, the marking of what is
//! posted), the objects added to them (`add`: a `POST objects` or a
//! published case, one `taxii_objects_added` event each on the exchange
//! stream), what a reader is served (`read`: pages in TAXII order, the
//! manifest, an object's versions, a status), and the cursors of pulls from
//! partners' collections. The TAXII face (`tocsin-server`'s `taxii`) only
//! parses, calls and maps.
//!
//! Access: a collection is listed to, and answers, a caller in its readers
//! or writers audience ([`Audience`]); anyone else gets what a collection
//! that does not exist gets (the refusal recorded). Each object is then
//! served only to a reader the case visibility rule admits for its marking
//! ([`tocsin_domain::access::visibility`]); what is filtered out is
//! filtered before anything is counted.

mod add;
mod docs;
mod read;

use tocsin_domain::access::Permission;
use tocsin_domain::event::Event;
use tocsin_domain::taxii::{Audience, PullCursor, TaxiiCollection};
use tocsin_domain::text::ElementName;
use tocsin_store::{
    Doc, DocExpect, DocKind, DocWrite, EventEnvelope, NewEvents, StoreError, StoredEvent, StreamId,
};
use uuid::Uuid;

pub use add::Published;
pub use docs::{StatusDetail, TaxiiRecord, TaxiiStatus};
pub use read::TaxiiPage;

use docs::{
    COLLECTION_PREFIX, CollectionDoc, collection_key, collection_of, cursor_key, taxii_docs,
};

use crate::access::Principal;
use crate::rebuild::Docs;
use crate::{Service, ServiceError};

/// A collection as a caller sees it: what it may do there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CollectionView {
    pub collection: TaxiiCollection,
    pub can_read: bool,
    pub can_write: bool,
}

const NO_SUCH_COLLECTION: &str = "no such collection";

fn admits(a: &Audience, p: &Principal) -> bool {
    a.admits(p.roles(), &p.account().spec.elements)
}

impl Service {
    /// Configures a TAXII collection (new, or changed under its id): its
    /// audiences' elements must be registered, its marking's levels
    /// known and its elements registered. Admins (`operate`).
    pub async fn set_taxii_collection(
        &self,
        p: &Principal,
        collection: TaxiiCollection,
    ) -> Result<TaxiiCollection, ServiceError> {
        self.authorize(p, Permission::Operate, "set_taxii_collection")
            .await?;
        let levels = self.clearance_levels().await?;
        for l in &collection.marking.levels {
            levels
                .check(l)
                .map_err(|e| ServiceError::invalid("marking.levels", e))?;
        }
        if collection.marking.levels.is_empty() {
            return Err(ServiceError::invalid(
                "marking.levels",
                "name the level what is posted is marked at",
            ));
        }
        if collection.marking.elements.is_empty() {
            return Err(ServiceError::invalid(
                "marking.elements",
                "name the elements whose members may see what is posted",
            ));
        }
        let named: [(&str, &std::collections::BTreeSet<ElementName>); 3] = [
            ("marking.elements", &collection.marking.elements),
            ("readers.elements", &collection.readers.elements),
            ("writers.elements", &collection.writers.elements),
        ];
        for (field, set) in named {
            for e in set {
                if self.element(e.as_str()).await?.is_none() {
                    return Err(ServiceError::invalid(
                        field,
                        format!("the element '{e}' is not registered"),
                    ));
                }
            }
        }
        for _ in 0..crate::MAX_ATTEMPTS {
            let current = self.collection_doc(&collection.id).await?;
            let event = Event::TaxiiCollectionSet {
                collection: collection.clone(),
            };
            match self.append_exchange(p, event, current).await {
                Err(ServiceError::Store(StoreError::DocConflict { .. })) => continue,
                other => {
                    other?;
                    return Ok(collection);
                }
            }
        }
        Err(ServiceError::Contention("the collection".into()))
    }

    /// Every configured collection, for admins (`operate`).
    pub async fn taxii_collections_all(
        &self,
        p: &Principal,
    ) -> Result<Vec<TaxiiCollection>, ServiceError> {
        self.authorize(p, Permission::Operate, "list_taxii_collections")
            .await?;
        Ok(self
            .all_collections()
            .await?
            .into_iter()
            .map(|d| d.collection)
            .collect())
    }

    /// The collections `p` may read or write (TAXII's collections list).
    pub async fn taxii_collections(
        &self,
        p: &Principal,
    ) -> Result<Vec<CollectionView>, ServiceError> {
        self.check_password_set(p, "taxii_collections").await?;
        Ok(self
            .all_collections()
            .await?
            .into_iter()
            .filter_map(|d| Self::view(p, d.collection))
            .collect())
    }

    /// One collection, if `p` may read or write it; otherwise (and when
    /// there is none) exactly [`ServiceError::NotFound`], the refusal
    /// recorded either way.
    pub async fn taxii_collection(
        &self,
        p: &Principal,
        id: &Uuid,
        action: &str,
    ) -> Result<CollectionView, ServiceError> {
        self.check_password_set(p, action).await?;
        let doc = self.collection_doc(id).await?;
        match doc.and_then(|(d, _)| Self::view(p, d.collection)) {
            Some(v) => Ok(v),
            None => {
                self.refuse(
                    p,
                    action,
                    Some(format!("taxii-collection/{id}")),
                    NO_SUCH_COLLECTION,
                )
                .await;
                Err(ServiceError::NotFound(format!(
                    "there is no collection {id}"
                )))
            }
        }
    }

    fn view(p: &Principal, collection: TaxiiCollection) -> Option<CollectionView> {
        let can_read = admits(&collection.readers, p);
        let can_write = admits(&collection.writers, p);
        (can_read || can_write).then_some(CollectionView {
            collection,
            can_read,
            can_write,
        })
    }

    /// Where the last pull of `collection` from `server` stopped
    /// (`submit_report`: pulling imports reports).
    pub async fn pull_cursor(
        &self,
        p: &Principal,
        server: &str,
        collection: &Uuid,
    ) -> Result<Option<PullCursor>, ServiceError> {
        self.authorize(p, Permission::SubmitReport, "pull_cursor")
            .await?;
        match self
            .store
            .get_doc(DocKind::Taxii, &cursor_key(server, collection))
            .await?
        {
            Some(d) => Ok(Some(d.parse()?)),
            None => Ok(None),
        }
    }

    /// Records how far a pull got (an event on the exchange stream).
    pub async fn set_pull_cursor(
        &self,
        p: &Principal,
        cursor: PullCursor,
    ) -> Result<(), ServiceError> {
        self.authorize(p, Permission::SubmitReport, "set_pull_cursor")
            .await?;
        if cursor.server.is_empty() || cursor.server.len() > 2000 {
            return Err(ServiceError::invalid("server", "a URL of 1 to 2000 bytes"));
        }
        for (field, v) in [("added_after", &cursor.added_after), ("next", &cursor.next)] {
            if v.as_ref().is_some_and(|s| s.is_empty() || s.len() > 2000) {
                return Err(ServiceError::invalid(field, "1 to 2000 bytes"));
            }
        }
        self.append_exchange(p, Event::TaxiiPullCursorSet { cursor }, None)
            .await
    }

    /// A collection's document and its version.
    pub(crate) async fn collection_doc(
        &self,
        id: &Uuid,
    ) -> Result<Option<(CollectionDoc, u64)>, ServiceError> {
        match self
            .store
            .get_doc(DocKind::Taxii, &collection_key(id))
            .await?
        {
            Some(d) => Ok(Some((d.parse()?, d.version))),
            None => Ok(None),
        }
    }

    async fn all_collections(&self) -> Result<Vec<CollectionDoc>, ServiceError> {
        let mut out = Vec::new();
        let mut after = COLLECTION_PREFIX.to_owned();
        loop {
            let page = self
                .store
                .list_docs(DocKind::Taxii, Some(after.clone()), 200)
                .await?;
            let n = page.len();
            for d in page {
                if !d.key.starts_with(COLLECTION_PREFIX) {
                    return Ok(out);
                }
                after = d.key.clone();
                out.push(d.parse()?);
            }
            if n < 200 {
                return Ok(out);
            }
        }
    }

    /// Appends one TAXII event to the exchange stream with the documents
    /// it derives, the collection's document compared and set at
    /// `collection`'s version (a racing writer gets
    /// [`StoreError::DocConflict`] and tries again).
    pub(crate) async fn append_exchange(
        &self,
        p: &Principal,
        event: Event,
        collection: Option<(CollectionDoc, u64)>,
    ) -> Result<(), ServiceError> {
        let version = collection.as_ref().map(|(_, v)| *v);
        let docs = taxii_docs(&event, p.name(), collection.map(|(d, _)| d))
            .into_iter()
            .map(|(key, body)| {
                let expect = if key.starts_with(COLLECTION_PREFIX) {
                    version.map_or(DocExpect::Absent, DocExpect::Version)
                } else if key.starts_with("cursor/") {
                    DocExpect::Any
                } else {
                    DocExpect::Absent
                };
                DocWrite {
                    kind: DocKind::Taxii,
                    key,
                    expect,
                    body: Some(body),
                }
            })
            .collect();
        self.store
            .append(NewEvents {
                stream: StreamId::Exchange,
                expected_version: None,
                events: vec![EventEnvelope {
                    recorded_at: self.now(),
                    actor: p.name().clone(),
                    event,
                }],
                summary: None,
                docs,
                salts: Vec::new(),
            })
            .await?;
        Ok(())
    }
}

/// Folds the exchange stream's TAXII events into `docs` (for `admin
/// rebuild` and `audit verify --deep`): the same documents, at the same
/// versions, as the appends wrote.
pub(crate) fn fold_docs(docs: &mut Docs, events: &[StoredEvent]) -> Result<(), ServiceError> {
    for e in events {
        let current = match collection_of(&e.envelope.event) {
            Some(id) => docs
                .get(&(DocKind::Taxii, collection_key(&id)))
                .map(|d| d.parse::<CollectionDoc>())
                .transpose()?,
            None => None,
        };
        for (key, body) in taxii_docs(&e.envelope.event, &e.envelope.actor, current) {
            let version = docs
                .get(&(DocKind::Taxii, key.clone()))
                .map_or(1, |d| d.version + 1);
            docs.insert(
                (DocKind::Taxii, key.clone()),
                Doc {
                    kind: DocKind::Taxii,
                    key,
                    version,
                    body,
                },
            );
        }
    }
    Ok(())
}
