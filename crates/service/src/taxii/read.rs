//! What a reader of a collection is served: pages of objects in TAXII order
//! (the manifest is the same page), one object's versions, a status.
//!
//! A page is a key range of the collection's documents. Objects the reader
//! may not see, or that the query does not match, are dropped *before*
//! the page is filled, so the page size, `more`, `next` and the dates of
//! the first and last object say nothing about them; `more` is true only
//! when one more object the reader may see matches. An object id none of
//! whose versions the reader may see answers as an id the collection does
//! not hold. Objects served from a published case are recorded as a
//! read of that case (`content_read`, part `taxii_objects`).

use std::collections::HashMap;

use tocsin_domain::Timestamp;
use tocsin_domain::access::ClearanceLevels;
use tocsin_export::taxii::{Query, Versions};
use tocsin_store::DocKind;
use uuid::Uuid;

use super::docs::{
    StatusDoc, TaxiiRecord, TaxiiStatus, objects_prefix, status_key, versions_prefix,
};
use crate::access::Principal;
use crate::{Service, ServiceError};

/// One page of a collection for one reader.
#[derive(Clone, Debug, PartialEq)]
pub struct TaxiiPage {
    pub records: Vec<TaxiiRecord>,
    /// Another object the reader may see matches after this page.
    pub more: bool,
    /// The cursor that resumes after this page (when `more`).
    pub next: Option<String>,
}

/// Documents read from the store at once while filling a page.
const BATCH: u32 = 500;

impl Service {
    /// A page of the collection's objects (TAXII `GET objects`, and the
    /// manifest): `match[version]` defaults to the last version.
    pub async fn taxii_objects(
        &self,
        p: &Principal,
        collection: &Uuid,
        q: &Query,
    ) -> Result<TaxiiPage, ServiceError> {
        self.readable(p, collection, "taxii_objects").await?;
        let versions = q.versions.clone().unwrap_or_else(Versions::last);
        let page = self
            .scan(
                p,
                collection,
                &objects_prefix(collection),
                q,
                Some(&versions),
            )
            .await?;
        self.record_cases_read(p, &page).await?;
        Ok(page)
    }

    /// One object's versions as `match[version]` selects them (default:
    /// the last), a page of them.
    pub async fn taxii_object(
        &self,
        p: &Principal,
        collection: &Uuid,
        stix_id: &str,
        q: &Query,
    ) -> Result<TaxiiPage, ServiceError> {
        self.readable(p, collection, "taxii_object").await?;
        self.known_object(p, collection, stix_id, "taxii_object")
            .await?;
        let versions = q.versions.clone().unwrap_or_else(Versions::last);
        let prefix = versions_prefix(collection, stix_id);
        let page = self
            .scan(p, collection, &prefix, q, Some(&versions))
            .await?;
        self.record_cases_read(p, &page).await?;
        Ok(page)
    }

    /// Every version of one object the reader may see, a page of them, in
    /// the order they were added.
    pub async fn taxii_versions(
        &self,
        p: &Principal,
        collection: &Uuid,
        stix_id: &str,
        q: &Query,
    ) -> Result<TaxiiPage, ServiceError> {
        self.readable(p, collection, "taxii_versions").await?;
        self.known_object(p, collection, stix_id, "taxii_versions")
            .await?;
        let prefix = versions_prefix(collection, stix_id);
        self.scan(p, collection, &prefix, q, None).await
    }

    /// The status of a `POST objects`, for the account that posted it;
    /// anyone else gets what an unknown status gets (refusal recorded).
    pub async fn taxii_status(
        &self,
        p: &Principal,
        status_id: &Uuid,
    ) -> Result<TaxiiStatus, ServiceError> {
        self.check_password_set(p, "taxii_status").await?;
        let doc = self
            .store
            .get_doc(DocKind::Taxii, &status_key(status_id))
            .await?;
        let status: Option<StatusDoc> = doc.map(|d| d.parse()).transpose()?;
        match status {
            Some(s) if &s.by == p.name() => Ok(s.status),
            _ => {
                self.refuse(
                    p,
                    "taxii_status",
                    Some(format!("taxii-status/{status_id}")),
                    "no such status",
                )
                .await;
                Err(ServiceError::NotFound(format!(
                    "there is no status {status_id}"
                )))
            }
        }
    }

    /// Records that `p` read the cases the page's objects were published
    /// from (as any read of a case's restricted content is).
    async fn record_cases_read(&self, p: &Principal, page: &TaxiiPage) -> Result<(), ServiceError> {
        let cases: std::collections::BTreeSet<_> =
            page.records.iter().filter_map(|r| r.case_id).collect();
        for case_id in cases {
            self.record_read(p, case_id, vec!["taxii_objects".into()])
                .await?;
        }
        Ok(())
    }

    /// The collection, if `p` may read it: a writer who may not read is
    /// refused (recorded), anyone else is told there is no such collection.
    async fn readable(
        &self,
        p: &Principal,
        collection: &Uuid,
        action: &str,
    ) -> Result<(), ServiceError> {
        let view = self.taxii_collection(p, collection, action).await?;
        if view.can_read {
            return Ok(());
        }
        let reason = "not among the collection's readers";
        self.refuse(
            p,
            action,
            Some(format!("taxii-collection/{collection}")),
            reason,
        )
        .await;
        Err(ServiceError::Forbidden(format!(
            "you may not read collection {collection}: {reason}"
        )))
    }

    /// Refuses, as a missing one, an object none of whose versions `p`
    /// may see (the refusal recorded either way).
    async fn known_object(
        &self,
        p: &Principal,
        collection: &Uuid,
        stix_id: &str,
        action: &str,
    ) -> Result<(), ServiceError> {
        let levels = self.clearance_levels().await?;
        if !self
            .visible_versions(p, &levels, collection, stix_id)
            .await?
            .is_empty()
        {
            return Ok(());
        }
        let shown: String = stix_id.chars().take(120).collect();
        self.refuse(
            p,
            action,
            Some(format!("taxii-object/{collection}/{shown}")),
            "no such object",
        )
        .await;
        Err(ServiceError::NotFound(format!(
            "collection {collection} holds no object {shown}"
        )))
    }

    /// The versions of `stix_id` in the collection that `p` may see.
    async fn visible_versions(
        &self,
        p: &Principal,
        levels: &ClearanceLevels,
        collection: &Uuid,
        stix_id: &str,
    ) -> Result<Vec<Timestamp>, ServiceError> {
        let prefix = versions_prefix(collection, stix_id);
        let mut after = prefix.clone();
        let mut out = vec![];
        loop {
            let page = self
                .store
                .list_docs(DocKind::Taxii, Some(after.clone()), BATCH)
                .await?;
            let n = page.len();
            for d in page {
                if !d.key.starts_with(&prefix) {
                    return Ok(out);
                }
                let r: TaxiiRecord = d.parse()?;
                if Self::sees_marking(p, &r.marking.as_marking(), levels) {
                    out.push(r.version_at);
                }
                after = d.key;
            }
            if n < BATCH as usize {
                return Ok(out);
            }
        }
    }

    /// Fills a page from the documents under `prefix`, from where the
    /// query starts, with the records `p` may see that the query matches
    /// (`versions`: which versions of each object; `None`: all).
    async fn scan(
        &self,
        p: &Principal,
        collection: &Uuid,
        prefix: &str,
        q: &Query,
        versions: Option<&Versions>,
    ) -> Result<TaxiiPage, ServiceError> {
        let levels = self.clearance_levels().await?;
        let limit = q.limit.max(1) as usize;
        let mut after = match q.start() {
            Some(pos) => format!("{prefix}{}", pos.key()),
            None => prefix.to_owned(),
        };
        let mut records: Vec<TaxiiRecord> = Vec::new();
        let mut more = false;
        let mut seen: HashMap<String, Vec<Timestamp>> = HashMap::new();
        'pages: loop {
            let page = self
                .store
                .list_docs(DocKind::Taxii, Some(after.clone()), BATCH)
                .await?;
            let n = page.len();
            for d in page {
                if !d.key.starts_with(prefix) {
                    break 'pages;
                }
                after = d.key.clone();
                let r: TaxiiRecord = d.parse()?;
                if !Self::sees_marking(p, &r.marking.as_marking(), &levels)
                    || !q.matches(&r.id, &r.kind, &r.spec_version)
                {
                    continue;
                }
                if let Some(vs) = versions.filter(|v| !v.all) {
                    if !seen.contains_key(&r.id) {
                        let all = self.visible_versions(p, &levels, collection, &r.id).await?;
                        seen.insert(r.id.clone(), all);
                    }
                    let all = seen.get(&r.id).map(Vec::as_slice).unwrap_or_default();
                    if !vs.wants(r.version_at, all) {
                        continue;
                    }
                }
                if records.len() == limit {
                    more = true;
                    break 'pages;
                }
                records.push(r);
            }
            if n < BATCH as usize {
                break;
            }
        }
        let next = if more {
            records.last().map(|r| r.position().cursor())
        } else {
            None
        };
        Ok(TaxiiPage {
            records,
            more,
            next,
        })
    }
}
