//! The partner table: which element of this deployment a STIX producer's
//! reports are filed under (its `created_by_ref` identity), and the
//! classification level they are given. Admin data: `partner_mapped`
//! events on the exchange stream with the derived document (kind
//! partner, keyed by the identity) in the same append.

use tocsin_domain::ActorName;
use tocsin_domain::access::{ClearanceLevels, Permission};
use tocsin_domain::event::Event;
use tocsin_domain::exchange::{Partner, StixIdentity};
use tocsin_domain::text::ElementName;
use tocsin_domain::text::Label;
use tocsin_store::{DocExpect, DocKind, DocWrite, NewEvents, StreamId};

use crate::access::Principal;
use crate::command::envelopes;
use crate::projection::exchange_docs;
use crate::{Service, ServiceError};

impl Service {
    /// Maps a STIX producer to an element (set or changed; recorded).
    pub async fn map_partner(
        &self,
        p: &Principal,
        partner: Partner,
    ) -> Result<Partner, ServiceError> {
        self.authorize(p, Permission::ManageAccounts, "map_partner")
            .await?;
        if self.element(partner.element.as_str()).await?.is_none() {
            return Err(ServiceError::invalid(
                "element",
                format_args!(
                    "the element '{}' is not registered (tocsin element add)",
                    partner.element
                ),
            ));
        }
        if let Some(l) = &partner.classification {
            self.clearance_levels()
                .await?
                .check(l)
                .map_err(|e| ServiceError::invalid("classification", e))?;
        }
        self.exchange_event(
            p.name(),
            Event::PartnerMapped {
                partner: partner.clone(),
            },
        )
        .await?;
        Ok(partner)
    }

    /// Every partner, by identity.
    pub async fn partners(&self, p: &Principal) -> Result<Vec<Partner>, ServiceError> {
        self.authorize(p, Permission::ManageAccounts, "list_partners")
            .await?;
        let mut out = Vec::new();
        let mut after = None;
        loop {
            let page = self.store.list_docs(DocKind::Partner, after, 500).await?;
            for d in &page {
                out.push(d.parse()?);
            }
            match page.last() {
                Some(d) if page.len() == 500 => after = Some(d.key.clone()),
                _ => return Ok(out),
            }
        }
    }

    /// The partner a producer is, if mapped.
    pub(crate) async fn partner(&self, id: &StixIdentity) -> Result<Option<Partner>, ServiceError> {
        match self.store.get_doc(DocKind::Partner, id.as_str()).await? {
            Some(d) => Ok(Some(d.parse()?)),
            None => Ok(None),
        }
    }

    /// Appends one exchange-stream event with the documents it derives
    /// (written whatever was there).
    async fn exchange_event(&self, by: &ActorName, event: Event) -> Result<(), ServiceError> {
        let now = self.now();
        let docs = exchange_docs(&event, now, by, None)?
            .into_iter()
            .map(|(kind, key, body)| DocWrite {
                kind,
                key,
                expect: DocExpect::Any,
                body: Some(body),
            })
            .collect();
        self.store
            .append(NewEvents {
                stream: StreamId::Exchange,
                expected_version: None,
                events: envelopes(by, now, vec![event]),
                summary: None,
                docs,
                salts: Vec::new(),
            })
            .await?;
        Ok(())
    }
}

/// The element and level a report of `producer` is filed under for `p`:
/// the partner table's, or (no producer named) the importer's only
/// element. `Err` is the reason, for the `created_by_ref` path.
pub(crate) fn filed_under(
    p: &Principal,
    levels: &ClearanceLevels,
    producer: Option<(&str, Option<&Partner>)>,
) -> Result<(ElementName, Label), String> {
    let own = &p.account().spec.elements;
    let (element, level) = match producer {
        Some((id, None)) => {
            return Err(format!(
                "the producer {id} is not a partner of this deployment: an admin maps it to an element with `tocsin admin partner map {id} --element ELEMENT`"
            ));
        }
        Some((_, Some(partner))) => (partner.element.clone(), partner.classification.clone()),
        None => {
            let mut it = own.iter();
            match (it.next(), it.next()) {
                (Some(e), None) => (e.clone(), None),
                _ => {
                    return Err(format!(
                        "absent, and {} belongs to {} elements: a report without a producer is filed under its importer's only element",
                        p.name(),
                        own.len()
                    ));
                }
            }
        }
    };
    if !own.contains(&element) {
        return Err(format!(
            "the producer's reports are filed under {element}, and {} does not belong to it: nobody files a report in another element's name",
            p.name()
        ));
    }
    Ok((element, level.unwrap_or_else(|| levels.lowest().clone())))
}
