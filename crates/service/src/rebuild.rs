//! `tocsin admin rebuild`: the query tables and the derived documents,
//! recomputed from the ledger (an operator command: it needs no principal,
//! because it runs where the database and the key are).

use std::collections::{BTreeMap, HashMap};

use tocsin_domain::CaseNumber;
use tocsin_domain::case::Case;
use tocsin_store::{CaseSummary, Doc, DocKind, ProjectionDigest, StreamId};

use crate::projection::{
    account_doc, account_doc_key, exchange_doc_key, exchange_docs, reference_doc,
};
use crate::{Service, ServiceError};

/// What a rebuild of the query tables found.
#[derive(Debug, Clone)]
pub struct RebuildReport {
    pub cases: u64,
    pub events: u64,
    pub before: ProjectionDigest,
    pub after: ProjectionDigest,
}

impl RebuildReport {
    pub fn identical(&self) -> bool {
        self.before == self.after
    }
}

/// Case numbers as the store gave them when appending: the rank of each
/// case among those opened the same year, in ledger order.
#[derive(Default)]
pub(crate) struct Numbering {
    last: HashMap<u16, u32>,
}

impl Numbering {
    /// The number of the next case, in ledger order.
    pub(crate) fn next(&mut self, case: &Case) -> Result<CaseNumber, ServiceError> {
        let year = CaseNumber::year_of(case.opened_at);
        let seq = self.last.entry(year).or_insert(0);
        *seq += 1;
        CaseNumber::new(year, *seq)
            .map_err(|e| ServiceError::internal("cannot number a case from the ledger", e))
    }
}

/// The derived documents, keyed by kind and key.
pub(crate) type Docs = BTreeMap<(DocKind, String), Doc>;

impl Service {
    /// Rebuilds the query tables from the ledger and says whether they came
    /// out identical to what was there.
    pub async fn rebuild(&self) -> Result<RebuildReport, ServiceError> {
        let before = self.store.projection_digest().await?;
        let ids = self.store.case_ids().await?;
        let mut summaries = Vec::with_capacity(ids.len());
        let mut events = 0u64;
        let mut numbering = Numbering::default();
        for id in &ids {
            let stream = self.store.read_stream(&StreamId::Case(*id)).await?;
            events += stream.len() as u64;
            let recorded: Vec<_> = stream.iter().map(|e| e.to_recorded()).collect();
            let case = Case::from_events(&recorded)
                .map_err(|source| ServiceError::Corrupt { case: *id, source })?;
            let mut summary = CaseSummary::of(&case, &self.policy);
            summary.number = Some(numbering.next(&case)?);
            summaries.push(summary);
        }
        let (docs, n) = self.folded_docs().await?;
        events += n;
        self.store
            .replace_projections(summaries, docs.into_values().collect())
            .await?;
        let after = self.store.projection_digest().await?;
        Ok(RebuildReport {
            cases: ids.len() as u64,
            events,
            before,
            after,
        })
    }

    /// Fills the measures of case rows written before the query tables
    /// kept them (the first start after an upgrade): a whole rebuild, as
    /// `tocsin admin rebuild`. Returns how many rows lacked them. Run it on
    /// one instance: a rebuild replaces the query tables.
    /// Counters kept before the charts' were (cases counted by state, no
    /// chart counter) are filled the same way.
    pub async fn fill_measures(&self) -> Result<u64, ServiceError> {
        let missing = self.store.unmeasured_cases().await?;
        let counters = self.store.case_counters().await?;
        let uncharted = counters.keys().any(|k| k.starts_with("state:"))
            && !counters
                .keys()
                .any(|k| k.starts_with(tocsin_store::counts::CHART));
        if uncharted && missing == 0 {
            tracing::info!(
                "rebuilding the query tables: the case counters were kept before the dashboard's charts were"
            );
            self.rebuild().await?;
        }
        if missing > 0 {
            tracing::info!(
                cases = missing,
                "rebuilding the query tables: some cases were written before their measures were kept"
            );
            self.rebuild().await?;
        }
        Ok(missing)
    }

    /// The derived documents, folded from the accounts, reference and
    /// exchange streams, and how many events that took.
    pub(crate) async fn folded_docs(&self) -> Result<(Docs, u64), ServiceError> {
        let mut events = 0u64;
        let mut docs: Docs = BTreeMap::new();
        let put = |docs: &mut Docs, kind, key: String, body| {
            let version = docs
                .get(&(kind, key.clone()))
                .map(|d| d.version + 1)
                .unwrap_or(1);
            docs.insert(
                (kind, key.clone()),
                Doc {
                    kind,
                    key,
                    version,
                    body,
                },
            );
        };
        let accounts = self.store.read_stream(&StreamId::Accounts).await?;
        events += accounts.len() as u64;
        for e in &accounts {
            let Some(target) = account_doc_key(&e.envelope.event) else {
                continue;
            };
            if let Some((kind, key, body)) =
                account_doc(&e.envelope.event, e.envelope.recorded_at, docs.get(&target))?
            {
                put(&mut docs, kind, key, body);
            }
        }
        let reference = self.store.read_stream(&StreamId::Reference).await?;
        events += reference.len() as u64;
        for e in &reference {
            match reference_doc(&e.envelope.event) {
                Some((kind, key, Some(body))) => put(&mut docs, kind, key, body),
                Some((kind, key, None)) => {
                    docs.remove(&(kind, key));
                }
                None => {}
            }
        }
        let exchange = self.store.read_stream(&StreamId::Exchange).await?;
        events += exchange.len() as u64;
        for e in &exchange {
            let env = &e.envelope;
            let current = exchange_doc_key(&env.event).and_then(|k| docs.get(&k).cloned());
            for (kind, key, body) in
                exchange_docs(&env.event, env.recorded_at, &env.actor, current.as_ref())?
            {
                put(&mut docs, kind, key, body);
            }
        }
        crate::taxii::fold_docs(&mut docs, &exchange)?;
        Ok((docs, events))
    }
}
