//! Accounts, elements and clearance levels: what an admin manages.
//!
//! Every change is an event on the accounts stream, written in the same
//! transaction as the derived documents (the account as it stands, the
//! token, the element; see [`crate::projection`]), which a rebuild
//! recomputes from the ledger. Password hashes never enter the ledger:
//! they live only in documents (see [`crate::sessions`]).
//!
//! Changing accounts needs the `manage_accounts` permission, checked here.
//! Nobody changes their own roles, clearance, compartments or elements
//! (a second admin must); the refusal is recorded.

use std::collections::{BTreeSet, HashMap};

use tocsin_domain::access::{
    Account, AccountSpec, ClearanceLevels, ElementInfo, Password, Permission,
};
use tocsin_domain::event::Event;
use tocsin_domain::text::{ElementName, Name, Note, Reason};
use tocsin_domain::{ActorName, Role};
use tocsin_store::{Doc, DocExpect, DocKind, DocWrite, NewEvents, StoreError, StreamId};

use crate::access::Principal;
use crate::command::envelopes;
use crate::projection::{LEVELS_KEY, account_doc, account_doc_key};
use crate::sessions::password_writes;
use crate::{Service, ServiceError};

pub use crate::error::AccountError;
use crate::error::invalid;

impl Service {
    /// Appends accounts-stream events with the documents they derive, each
    /// checked against the version read (retrying on a race).
    pub(crate) async fn account_events(
        &self,
        by: &ActorName,
        events: Vec<Event>,
        extra: Vec<DocWrite>,
    ) -> Result<(), ServiceError> {
        for _ in 0..crate::MAX_ATTEMPTS {
            let now = self.now();
            let mut docs: Vec<DocWrite> = Vec::new();
            let mut cache: HashMap<(DocKind, String), Option<Doc>> = HashMap::new();
            for e in &events {
                let Some((kind, key)) = account_doc_key(e) else {
                    continue;
                };
                let cur = match cache.get(&(kind, key.clone())) {
                    Some(c) => c.clone(),
                    None => {
                        let d = self.store.get_doc(kind, &key).await?;
                        cache.insert((kind, key.clone()), d.clone());
                        d
                    }
                };
                if cur.is_some() {
                    match e {
                        Event::ElementRegistered { element, .. } => {
                            return Err(AccountError::ElementExists(element.to_string()).into());
                        }
                        Event::AccountCreated { name, .. } => {
                            return Err(AccountError::AccountExists(name.to_string()).into());
                        }
                        Event::TokenIssued { token } => {
                            return Err(invalid(format!("token {} exists", token.token_id)));
                        }
                        _ => {}
                    }
                }
                let expect = match &cur {
                    Some(d) => DocExpect::Version(d.version),
                    None => DocExpect::Absent,
                };
                if let Some((k, key, body)) = account_doc(e, now, cur.as_ref())? {
                    let next = Doc {
                        kind: k,
                        key: key.clone(),
                        version: cur.as_ref().map(|d| d.version + 1).unwrap_or(1),
                        body: body.clone(),
                    };
                    // Several events on one document: the first write
                    // carries the expectation, the rest overwrite it.
                    if let Some(w) = docs.iter_mut().find(|w| w.kind == k && w.key == key) {
                        w.body = Some(body);
                    } else {
                        docs.push(DocWrite {
                            kind: k,
                            key: key.clone(),
                            expect,
                            body: Some(body),
                        });
                    }
                    cache.insert((k, key), Some(next));
                }
            }
            docs.extend(extra.iter().cloned());
            let r = self
                .store
                .append(NewEvents {
                    stream: StreamId::Accounts,
                    expected_version: None,
                    // Not a case or the access stream: every leaf is version 1.
                    salts: Vec::new(),
                    events: envelopes(by, now, events.clone()),
                    summary: None,
                    docs,
                })
                .await;
            match r {
                Ok(_) => return Ok(()),
                Err(StoreError::DocConflict { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::Contention("the accounts".into()))
    }

    /// The deployment's clearance levels (the default list until an admin sets them).
    pub async fn clearance_levels(&self) -> Result<ClearanceLevels, ServiceError> {
        match self.store.get_doc(DocKind::Setting, LEVELS_KEY).await? {
            Some(d) => Ok(d.parse()?),
            None => Ok(ClearanceLevels::default()),
        }
    }

    /// Sets the clearance levels; every account's level must stay on the list.
    pub async fn set_clearance_levels(
        &self,
        p: &Principal,
        levels: ClearanceLevels,
    ) -> Result<ClearanceLevels, ServiceError> {
        self.authorize(p, Permission::ManageAccounts, "set_clearance_levels")
            .await?;
        let mut after = None;
        loop {
            let page = self.store.list_docs(DocKind::Account, after, 500).await?;
            for d in &page {
                let a: Account = d.parse()?;
                levels.check(&a.spec.clearance).map_err(|e| {
                    invalid(format!(
                        "account {} has clearance '{}', which the new list lacks ({e})",
                        a.name, a.spec.clearance
                    ))
                })?;
            }
            if page.len() < 500 {
                break;
            }
            after = page.last().map(|d| d.key.clone());
        }
        self.account_events(p.name(), vec![Event::ClearanceLevelsSet { levels }], vec![])
            .await?;
        self.clearance_levels().await
    }

    /// One element, if registered.
    pub async fn element(&self, name: &str) -> Result<Option<ElementInfo>, ServiceError> {
        match self.store.get_doc(DocKind::Element, name).await? {
            Some(d) => Ok(Some(d.parse()?)),
            None => Ok(None),
        }
    }

    /// Up to `limit` registered elements after `after`, by name.
    pub async fn elements(
        &self,
        after: Option<String>,
        limit: u32,
    ) -> Result<Vec<ElementInfo>, ServiceError> {
        self.store
            .list_docs(DocKind::Element, after, limit)
            .await?
            .iter()
            .map(|d| d.parse().map_err(ServiceError::from))
            .collect()
    }

    pub async fn register_element(
        &self,
        p: &Principal,
        element: ElementName,
        description: Option<Note>,
    ) -> Result<ElementInfo, ServiceError> {
        self.authorize(p, Permission::ManageAccounts, "register_element")
            .await?;
        self.add_element(p.name(), element, description).await
    }

    async fn add_element(
        &self,
        by: &ActorName,
        element: ElementName,
        description: Option<Note>,
    ) -> Result<ElementInfo, ServiceError> {
        if self.element(element.as_str()).await?.is_some() {
            return Err(AccountError::ElementExists(element.to_string()).into());
        }
        self.account_events(
            by,
            vec![Event::ElementRegistered {
                element: element.clone(),
                description,
            }],
            vec![],
        )
        .await?;
        self.element(element.as_str())
            .await?
            .ok_or_else(|| AccountError::NoSuchElement(element.to_string()).into())
    }

    /// An account as it stands (inside the service: logins, principals).
    pub(crate) async fn account(&self, name: &str) -> Result<Option<Account>, ServiceError> {
        match self.store.get_doc(DocKind::Account, name).await? {
            Some(d) => Ok(Some(d.parse()?)),
            None => Ok(None),
        }
    }

    /// One account, for an admin.
    pub async fn get_account(&self, p: &Principal, name: &str) -> Result<Account, ServiceError> {
        self.authorize(p, Permission::ManageAccounts, "get_account")
            .await?;
        let missing = || AccountError::NoSuchAccount(name.to_owned());
        let n = ActorName::new(name).map_err(|_| missing())?;
        self.account(n.as_str())
            .await?
            .ok_or_else(|| missing().into())
    }

    /// Up to `limit` accounts after `after`, by name, for an admin.
    pub async fn accounts(
        &self,
        p: &Principal,
        after: Option<String>,
        limit: u32,
    ) -> Result<Vec<Account>, ServiceError> {
        self.authorize(p, Permission::ManageAccounts, "list_accounts")
            .await?;
        self.list_accounts(after, limit).await
    }

    async fn list_accounts(
        &self,
        after: Option<String>,
        limit: u32,
    ) -> Result<Vec<Account>, ServiceError> {
        self.store
            .list_docs(DocKind::Account, after, limit)
            .await?
            .iter()
            .map(|d| d.parse().map_err(ServiceError::from))
            .collect()
    }

    async fn check_spec(&self, spec: &AccountSpec) -> Result<(), ServiceError> {
        self.clearance_levels()
            .await?
            .check(&spec.clearance)
            .map_err(AccountError::from)?;
        if spec.elements.is_empty() {
            return Err(invalid("an account must belong to at least one element"));
        }
        if spec.roles.contains(&Role::Admin)
            && spec.roles.len() > 1
            && !self.policy.policy.accounts.admins_hold_case_roles
        {
            let others: Vec<&str> = spec
                .roles
                .iter()
                .filter(|r| **r != Role::Admin)
                .map(|r| r.as_str())
                .collect();
            return Err(invalid(format!(
                "an admin holds no case role ({}): give it to another account (the policy may allow it: [accounts] admins_hold_case_roles = true)",
                others.join(", ")
            )));
        }
        for e in &spec.elements {
            if self.element(e.as_str()).await?.is_none() {
                return Err(AccountError::NoSuchElement(e.to_string()).into());
            }
        }
        Ok(())
    }

    /// Creates the first admin of a deployment that has no accounts yet,
    /// registering `element` if needed. Refused once any account exists.
    /// (An operator command: it runs where the database and the key are.)
    pub async fn bootstrap_admin(
        &self,
        name: ActorName,
        display_name: Name,
        element: ElementName,
        password: Password,
    ) -> Result<Account, ServiceError> {
        if !self.list_accounts(None, 1).await?.is_empty() {
            return Err(AccountError::AlreadyBootstrapped.into());
        }
        let by = ActorName::system();
        if self.element(element.as_str()).await?.is_none() {
            self.add_element(&by, element.clone(), None).await?;
        }
        let levels = self.clearance_levels().await?;
        let spec = AccountSpec {
            display_name,
            elements: BTreeSet::from([element]),
            roles: BTreeSet::from([Role::Admin]),
            clearance: levels.lowest().clone(),
            compartments: BTreeSet::new(),
        };
        self.add_account(&by, name, spec, Some(password)).await
    }

    pub async fn create_account(
        &self,
        p: &Principal,
        name: ActorName,
        spec: AccountSpec,
        password: Option<Password>,
    ) -> Result<Account, ServiceError> {
        self.authorize(p, Permission::ManageAccounts, "create_account")
            .await?;
        self.add_account(p.name(), name, spec, password).await
    }

    async fn add_account(
        &self,
        by: &ActorName,
        name: ActorName,
        spec: AccountSpec,
        password: Option<Password>,
    ) -> Result<Account, ServiceError> {
        if name == ActorName::system() {
            return Err(invalid("'tocsin' is reserved for tocsin itself"));
        }
        if self.account(name.as_str()).await?.is_some() {
            return Err(AccountError::AccountExists(name.to_string()).into());
        }
        self.check_spec(&spec).await?;
        let mut events = vec![Event::AccountCreated {
            name: name.clone(),
            spec,
        }];
        let mut extra = vec![];
        if let Some(p) = password {
            let phc = self.hash_password(p).await?;
            let (event, doc) =
                password_writes(by, &name, phc, None, self.now(), self.auth.enrolment_valid);
            events.push(event);
            extra.push(doc);
        }
        self.account_events(by, events, extra).await?;
        self.existing(&name).await
    }

    pub(crate) async fn existing(&self, name: &ActorName) -> Result<Account, ServiceError> {
        self.account(name.as_str())
            .await?
            .ok_or_else(|| AccountError::NoSuchAccount(name.to_string()).into())
    }

    /// Changes an account's roles, clearance, compartments or elements.
    pub async fn change_account(
        &self,
        p: &Principal,
        name: ActorName,
        spec: AccountSpec,
    ) -> Result<Account, ServiceError> {
        self.authorize(p, Permission::ManageAccounts, "change_account")
            .await?;
        let current = self.existing(&name).await?;
        if name == *p.name() && !same_privileges(&current.spec, &spec) {
            // Separation of duties: nobody raises (or reshapes) their own
            // privileges; a second admin must.
            let reason = format!(
                "{name} may not change its own roles, clearance, compartments or elements: a second admin must"
            );
            self.refuse(
                p,
                "change_account",
                Some(format!("account/{name}")),
                &reason,
            )
            .await;
            return Err(ServiceError::Forbidden(reason));
        }
        self.check_spec(&spec).await?;
        self.account_events(
            p.name(),
            vec![Event::AccountChanged {
                name: name.clone(),
                spec,
            }],
            vec![],
        )
        .await?;
        self.existing(&name).await
    }

    /// Disables (or re-enables) an account. Disabling takes effect at once:
    /// every session and token of the account stops working.
    pub async fn set_disabled(
        &self,
        p: &Principal,
        name: ActorName,
        disabled: bool,
        reason: Reason,
    ) -> Result<Account, ServiceError> {
        let action = if disabled {
            "disable_account"
        } else {
            "enable_account"
        };
        self.authorize(p, Permission::ManageAccounts, action)
            .await?;
        self.existing(&name).await?;
        let event = if disabled {
            Event::AccountDisabled {
                name: name.clone(),
                reason,
            }
        } else {
            Event::AccountEnabled { name: name.clone() }
        };
        self.account_events(p.name(), vec![event], vec![]).await?;
        self.existing(&name).await
    }
}

/// Whether two specs grant the same: everything but the display name.
fn same_privileges(a: &AccountSpec, b: &AccountSpec) -> bool {
    a.roles == b.roles
        && a.clearance == b.clearance
        && a.compartments == b.compartments
        && a.elements == b.elements
}
