//! What an auditor asks of the ledger over a face: the latest signed
//! checkpoint, a full verification, inclusion and consistency proofs, and
//! the access log. Each needs the `audit` permission. (Operator commands
//! that open the database themselves verify with `tocsin_store::audit`
//! directly.)

use std::collections::HashMap;

use tocsin_domain::CaseRef;
use tocsin_domain::access::{ClearanceLevels, Permission};
use tocsin_domain::event::Event;
use tocsin_ledger::{Hash, ProofError};
use tocsin_store::StreamId;
use tocsin_store::audit::{Failure, InclusionProof, VerifyReport};

use crate::access::Principal;
use crate::cases::LoggedEvent;
use crate::{Service, ServiceError};

/// The ledger's head with its latest signed checkpoint.
#[derive(Clone, Debug)]
pub struct CheckpointInfo {
    pub size: u64,
    pub root: Hash,
    /// The C2SP signed note (absent for an empty ledger).
    pub checkpoint: Option<String>,
    /// The verifier key (C2SP vkey) to check it with.
    pub verifier_key: String,
}

/// Proof that the tree of `size2` leaves extends the tree of `size1`.
#[derive(Clone, Debug)]
pub struct ConsistencyProof {
    pub size1: u64,
    pub size2: u64,
    pub root1: Hash,
    pub root2: Hash,
    pub proof: Vec<Hash>,
}

/// A page of the access log.
#[derive(Clone, Debug)]
pub struct AccessLogPage {
    pub items: Vec<LoggedEvent>,
    /// The sequence number to continue after.
    pub next: Option<u64>,
}

impl Service {
    /// The latest signed checkpoint of the ledger.
    pub async fn checkpoint(&self, p: &Principal) -> Result<CheckpointInfo, ServiceError> {
        self.authorize(p, Permission::Audit, "checkpoint").await?;
        let head = self.store.ledger_head().await?;
        Ok(CheckpointInfo {
            size: head.size,
            root: head.root,
            checkpoint: head.checkpoint,
            verifier_key: self.store.meta().verifier_key.clone(),
        })
    }

    /// Verifies the whole ledger now: `Ok(Err(failure))` names the first
    /// bad position.
    pub async fn verify_ledger(
        &self,
        p: &Principal,
    ) -> Result<Result<VerifyReport, Failure>, ServiceError> {
        let check = self.ledger_check(p).await?;
        check.run(&crate::background::Counter::default()).await
    }

    /// Proof that the event at `position` is in the tree of `size` leaves
    /// (default: the current size).
    pub async fn inclusion_proof(
        &self,
        p: &Principal,
        position: u64,
        size: Option<u64>,
    ) -> Result<InclusionProof, ServiceError> {
        self.authorize(p, Permission::Audit, "inclusion_proof")
            .await?;
        Ok(tocsin_store::audit::inclusion(&*self.store, position, size).await??)
    }

    /// Proof that the tree of `to` leaves (default: the current size)
    /// extends the tree of `from`.
    pub async fn consistency_proof(
        &self,
        p: &Principal,
        from: u64,
        to: Option<u64>,
    ) -> Result<ConsistencyProof, ServiceError> {
        self.authorize(p, Permission::Audit, "consistency_proof")
            .await?;
        let store = &*self.store;
        let to = match to {
            Some(t) => t,
            None => store.ledger_head().await?.size,
        };
        let proof = tocsin_store::audit::consistency(store, from, to).await??;
        let root1 = tocsin_store::audit::root_at_size(store, from).await??;
        let root2 = tocsin_store::audit::root_at_size(store, to).await??;
        Ok(ConsistencyProof {
            size1: from,
            size2: to,
            root1,
            root2,
            proof,
        })
    }

    /// Reads of restricted content, refusals and failed logins, after
    /// sequence number `after`, at most `limit`. An entry about a case the
    /// reader may not see (or about no case at all: a refused reference to
    /// a missing one) is left out, so the log does not reveal what a
    /// case's 404 hides.
    pub async fn access_log(
        &self,
        p: &Principal,
        after: u64,
        limit: usize,
    ) -> Result<AccessLogPage, ServiceError> {
        self.authorize(p, Permission::Audit, "access_log").await?;
        let levels = self.clearance_levels().await?;
        let events = self.store.read_stream(&StreamId::Access).await?;
        let mut seen: HashMap<CaseRef, bool> = HashMap::new();
        let mut items = Vec::new();
        for e in events.into_iter().filter(|e| e.seq > after) {
            if let Some(case) = names_case(&e.envelope.event) {
                let visible = match case {
                    None => false,
                    Some(case) => match seen.get(&case) {
                        Some(v) => *v,
                        None => {
                            let v = self.may_see_quietly(p, &levels, case).await?;
                            seen.insert(case, v);
                            v
                        }
                    },
                };
                if !visible {
                    continue;
                }
            }
            items.push(e);
            if items.len() > limit {
                break;
            }
        }
        let next = (items.len() > limit).then(|| items[limit - 1].seq);
        Ok(AccessLogPage {
            items: items
                .into_iter()
                .take(limit)
                .map(LoggedEvent::from)
                .collect(),
            next,
        })
    }

    /// Whether `p` may see the case `r` names (false when there is none),
    /// recording nothing.
    async fn may_see_quietly(
        &self,
        p: &Principal,
        levels: &ClearanceLevels,
        r: CaseRef,
    ) -> Result<bool, ServiceError> {
        let id = match r {
            CaseRef::Id(id) => Some(id),
            CaseRef::Number(n) => self.store.case_by_number(n).await?,
        };
        let Some(id) = id else { return Ok(false) };
        match self.load(id).await {
            Ok(case) => Ok(Service::sees(p, &case, levels)),
            Err(ServiceError::CaseNotFound(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// Whether an access event is about a case, and which (`Some(None)`: a
/// refusal's target says `case/` but names no case that can be looked up).
fn names_case(e: &Event) -> Option<Option<CaseRef>> {
    match e {
        Event::ContentRead { case_id, .. } => Some(Some(CaseRef::Id(*case_id))),
        Event::AccessRefused {
            target: Some(t), ..
        } => t
            .strip_prefix("case/")
            .map(|r| r.split('/').next().and_then(|r| r.parse().ok())),
        _ => None,
    }
}

impl From<ProofError> for ServiceError {
    fn from(e: ProofError) -> Self {
        ServiceError::Proof(e)
    }
}
