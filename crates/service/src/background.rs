//! Long operations a face runs in the background and shows the progress
//! of: verifying the whole ledger and importing a registry. Each is
//! started in two steps, so a refusal is answered at once and the work
//! runs on its own: the service checks the permission and hands back a
//! handle ([`LedgerCheck`], [`RegistryImport`]) that only it makes; the
//! handle's `run` does the work and counts what it has done on a
//! [`Counter`] the face reads while it runs. The results are exactly
//! those of [`Service::verify_ledger`] and [`Service::import_registry`],
//! which are these handles run with a counter nobody reads.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tocsin_domain::access::Permission;
use tocsin_ledger::NoteVerifier;
use tocsin_store::Store;
use tocsin_store::audit::{Failure, VerifyOptions, VerifyReport};

use crate::access::Principal;
use crate::screening::{ImportFile, Imported, RegistryKind, check_name};
use crate::{Service, ServiceError};

/// How far a long operation has got: `done` of `total` (leaves of the
/// ledger, or bytes of the files of an import).
#[derive(Debug, Default)]
pub struct Counter {
    done: AtomicU64,
    total: AtomicU64,
}

impl Counter {
    pub fn set(&self, done: u64, total: u64) {
        self.total.store(total, Ordering::Relaxed);
        self.done.store(done, Ordering::Relaxed);
    }

    /// (done, total).
    pub fn get(&self) -> (u64, u64) {
        (
            self.done.load(Ordering::Relaxed),
            self.total.load(Ordering::Relaxed),
        )
    }
}

/// A verification of the whole ledger that `audit` allowed.
pub struct LedgerCheck {
    store: Arc<dyn Store>,
    verifier: NoteVerifier,
}

impl LedgerCheck {
    /// Verifies every leaf, stored node and signed checkpoint, counting
    /// the leaves done on `counter`: `Ok(Err(failure))` names the first bad
    /// position.
    pub async fn run(
        &self,
        counter: &Counter,
    ) -> Result<Result<VerifyReport, Failure>, ServiceError> {
        let progress = |done: u64, total: u64| counter.set(done, total);
        let opts = VerifyOptions {
            accept_disposed: false,
            verifier: self.verifier.clone(),
            since: None,
            deep: false,
            progress: Some(&progress),
        };
        Ok(tocsin_store::audit::verify(self.store.clone(), &opts).await?)
    }
}

/// An import of a registry that `operate` allowed, with its name checked.
pub struct RegistryImport {
    svc: Arc<Service>,
    p: Principal,
    kind: RegistryKind,
    name: String,
}

impl RegistryImport {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Parses `files` (counting the bytes read on `counter`) and writes the
    /// new version, as [`Service::import_registry`] does.
    pub async fn run(
        &self,
        files: Vec<ImportFile>,
        counter: Arc<Counter>,
    ) -> Result<Imported, ServiceError> {
        self.svc
            .import_registry_counting(&self.p, self.kind, &self.name, files, counter)
            .await
    }
}

impl Service {
    /// A verification of the ledger, if `p` may audit (a refusal is
    /// recorded).
    pub async fn ledger_check(&self, p: &Principal) -> Result<LedgerCheck, ServiceError> {
        self.authorize(p, Permission::Audit, "verify").await?;
        let verifier = NoteVerifier::parse(&self.store.meta().verifier_key)
            .map_err(|e| ServiceError::internal("the recorded verifier key is damaged", e))?;
        Ok(LedgerCheck {
            store: self.store.clone(),
            verifier,
        })
    }

    /// An import of registry `name` of `kind`, if `p` may operate (a
    /// refusal is recorded) and the name is a registry name.
    pub async fn registry_import(
        self: &Arc<Self>,
        p: &Principal,
        kind: RegistryKind,
        name: &str,
    ) -> Result<RegistryImport, ServiceError> {
        self.authorize(p, Permission::Operate, "import_registry")
            .await?;
        check_name(name)?;
        Ok(RegistryImport {
            svc: self.clone(),
            p: p.clone(),
            kind,
            name: name.to_owned(),
        })
    }
}
