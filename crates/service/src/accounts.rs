//! Accounts, elements, clearance levels, passwords, sessions and API tokens.
//!
//! Every change an admin makes is an event on the accounts stream, written
//! in the same transaction as the derived documents (the account as it
//! stands, the token, the element), which a rebuild recomputes from the
//! ledger. What must not be in the ledger lives only in documents: the
//! password hash (Argon2id, PHC string) and login sessions (keyed by the
//! SHA-256 of their secret).
//!
//! Password hashing is CPU work of tens of milliseconds by design; it runs
//! on blocking threads, at most two at a time, never on the async runtime.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tocsin_domain::access::{
    Account, AccountSpec, ClearanceLevels, ElementInfo, Password, Permission, TokenInfo,
    UnknownLevel,
};
use tocsin_domain::event::Event;
use tocsin_domain::text::{ElementName, Name, Note, Reason};
use tocsin_domain::{Actor, ActorName, Role, Timestamp, TokenId};
use tocsin_store::{
    Doc, DocExpect, DocKind, DocWrite, EventEnvelope, NewEvents, StoreError, StreamId,
};

use crate::{Service, ServiceError};

/// Why an account operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("there is no account '{0}'")]
    NoSuchAccount(String),
    #[error("the account '{0}' already exists")]
    AccountExists(String),
    #[error("the element '{0}' is not registered (register it first)")]
    NoSuchElement(String),
    #[error("the element '{0}' is already registered")]
    ElementExists(String),
    #[error(transparent)]
    UnknownLevel(#[from] UnknownLevel),
    #[error("there is no token {0}")]
    NoSuchToken(String),
    #[error("a token may only carry roles its account holds; {0} does not hold {1}")]
    RoleNotHeld(String, Role),
    #[error("the first admin exists already; admins add further accounts")]
    AlreadyBootstrapped,
    #[error("{0}")]
    Invalid(String),
}

/// Why a login or a credential was refused. The messages never say whether
/// an account exists.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("unknown account or wrong password")]
    BadLogin,
    #[error("too many failed logins; try again in {0} s")]
    Throttled(u64),
    #[error("the credential is missing, unknown, expired or revoked")]
    BadCredential,
}

/// Lifetimes and limits of credentials.
#[derive(Clone, Debug)]
pub struct AuthConfig {
    /// A session unused this long ends.
    pub session_idle: Duration,
    /// A session ends this long after login whatever happens.
    pub session_absolute: Duration,
    /// Failed logins allowed per account in `throttle_window` before it is locked for the rest of the window.
    pub max_failures_per_account: u32,
    /// Failed logins allowed per client address in `throttle_window`.
    pub max_failures_per_address: u32,
    pub throttle_window: Duration,
    /// Argon2id memory in KiB, passes, lanes (OWASP minimum: 19 MiB, 2, 1).
    pub argon2_m_kib: u32,
    pub argon2_t: u32,
    pub argon2_p: u32,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            session_idle: Duration::from_secs(30 * 60),
            session_absolute: Duration::from_secs(12 * 3600),
            max_failures_per_account: 5,
            max_failures_per_address: 20,
            throttle_window: Duration::from_secs(15 * 60),
            argon2_m_kib: 19 * 1024,
            argon2_t: 2,
            argon2_p: 1,
        }
    }
}

/// A login session as stored (keyed by the SHA-256 of its secret).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SessionRecord {
    pub account: ActorName,
    pub created_at: Timestamp,
    pub last_seen: Timestamp,
    /// Must accompany every state change made with the session's cookie.
    pub csrf_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// The account's credential epoch at login.
    pub epoch: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct CredentialRecord {
    phc: String,
}

/// How a request proved who it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Via {
    /// A browser session; state changes need the CSRF token.
    Session { key: String, csrf_token: String },
    /// An API token (machines, the CLI).
    Token { token_id: TokenId },
}

/// Who is making a request, with the roles they may use for it.
#[derive(Clone, Debug)]
pub struct Principal {
    pub account: Account,
    /// The account's roles, narrowed to the token's scope for a token.
    pub roles: BTreeSet<Role>,
    pub via: Via,
}

impl Principal {
    pub fn actor(&self) -> Actor {
        Actor::new(self.account.name.clone(), self.roles.iter().copied())
    }

    pub fn may(&self, p: Permission) -> bool {
        p.granted_by(&self.roles)
    }
}

/// A new session: its secret goes in the cookie, once.
pub struct NewSession {
    pub secret: String,
    pub record: SessionRecord,
}

/// A new API token: the secret is shown once and never again.
pub struct NewToken {
    pub secret: String,
    pub info: TokenInfo,
}

const LEVELS_KEY: &str = "clearance_levels";
const TOKEN_PREFIX: &str = "tocsin_";

/// Failed-login bookkeeping, in memory (per process).
#[derive(Default)]
pub(crate) struct Throttle {
    failures: Mutex<HashMap<String, Vec<Timestamp>>>,
}

impl Throttle {
    fn recent(&self, key: &str, now: Timestamp, window: Duration) -> (u32, Option<Timestamp>) {
        let Ok(mut m) = self.failures.lock() else {
            return (0, None);
        };
        let cutoff = now - window;
        let v = m.entry(key.to_owned()).or_default();
        v.retain(|t| *t > cutoff);
        (v.len() as u32, v.first().copied())
    }

    fn fail(&self, key: &str, now: Timestamp) {
        if let Ok(mut m) = self.failures.lock() {
            m.entry(key.to_owned()).or_default().push(now);
            // Bound memory under a flood of distinct names.
            if m.len() > 100_000 {
                m.clear();
            }
        }
    }

    fn clear(&self, key: &str) {
        if let Ok(mut m) = self.failures.lock() {
            m.remove(key);
        }
    }
}

fn random_b64(bytes: usize) -> Result<String, ServiceError> {
    let mut b = vec![0u8; bytes];
    getrandom::fill(&mut b)
        .map_err(|e| ServiceError::Store(StoreError::Backend(format!("no OS randomness: {e}"))))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b))
}

/// Hex SHA-256.
pub fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn account_err(e: AccountError) -> ServiceError {
    ServiceError::Account(e)
}

fn invalid(msg: impl Into<String>) -> ServiceError {
    ServiceError::Account(AccountError::Invalid(msg.into()))
}

/// What an accounts-stream event does to the derived documents: the
/// document it changes and its new content. Used when the event is
/// appended and when the documents are rebuilt from the ledger, so both
/// produce the same bytes.
pub(crate) fn project(
    event: &Event,
    at: Timestamp,
    current: Option<&Doc>,
) -> Result<Option<(DocKind, String, Vec<u8>)>, ServiceError> {
    let json = |v: &dyn crate::erased::Json| v.to_vec();
    let account = |name: &ActorName| -> Result<Account, ServiceError> {
        match current {
            Some(d) => Ok(d.parse()?),
            None => Err(ServiceError::Store(StoreError::Corrupt(format!(
                "accounts stream: event for account {name}, which was never created"
            )))),
        }
    };
    Ok(match event {
        Event::ElementRegistered {
            element,
            description,
        } => Some((
            DocKind::Element,
            element.to_string(),
            json(&ElementInfo {
                name: element.clone(),
                description: description.clone(),
                registered_at: at,
            }),
        )),
        Event::AccountCreated { name, spec } => Some((
            DocKind::User,
            name.to_string(),
            json(&Account {
                name: name.clone(),
                spec: spec.clone(),
                disabled: false,
                created_at: at,
                credential_epoch: 0,
            }),
        )),
        Event::AccountChanged { name, spec } => {
            let mut a = account(name)?;
            a.spec = spec.clone();
            Some((DocKind::User, name.to_string(), json(&a)))
        }
        Event::AccountDisabled { name, .. } => {
            let mut a = account(name)?;
            a.disabled = true;
            a.credential_epoch += 1;
            Some((DocKind::User, name.to_string(), json(&a)))
        }
        Event::AccountEnabled { name } => {
            let mut a = account(name)?;
            a.disabled = false;
            Some((DocKind::User, name.to_string(), json(&a)))
        }
        Event::PasswordChanged { name } => {
            let mut a = account(name)?;
            a.credential_epoch += 1;
            Some((DocKind::User, name.to_string(), json(&a)))
        }
        Event::TokenIssued { token } => {
            Some((DocKind::Token, token.token_id.to_string(), json(token)))
        }
        Event::TokenRevoked { token_id, .. } => {
            let mut t: TokenInfo = match current {
                Some(d) => d.parse()?,
                None => {
                    return Err(ServiceError::Store(StoreError::Corrupt(format!(
                        "accounts stream: token {token_id} revoked but never issued"
                    ))));
                }
            };
            t.revoked = true;
            Some((DocKind::Token, token_id.to_string(), json(&t)))
        }
        Event::ClearanceLevelsSet { levels } => {
            Some((DocKind::Setting, LEVELS_KEY.to_owned(), json(levels)))
        }
        _ => None,
    })
}

/// The document an accounts-stream event changes, if any.
pub(crate) fn target(event: &Event) -> Option<(DocKind, String)> {
    match event {
        Event::ElementRegistered { element, .. } => Some((DocKind::Element, element.to_string())),
        Event::AccountCreated { name, .. }
        | Event::AccountChanged { name, .. }
        | Event::AccountDisabled { name, .. }
        | Event::AccountEnabled { name }
        | Event::PasswordChanged { name } => Some((DocKind::User, name.to_string())),
        Event::TokenIssued { token } => Some((DocKind::Token, token.token_id.to_string())),
        Event::TokenRevoked { token_id, .. } => Some((DocKind::Token, token_id.to_string())),
        Event::ClearanceLevelsSet { .. } => Some((DocKind::Setting, LEVELS_KEY.to_owned())),
        _ => None,
    }
}

impl Service {
    /// Appends accounts-stream events with the documents they derive, each
    /// checked against the version read (retrying on a race).
    async fn account_events(
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
                let Some((kind, key)) = target(e) else {
                    continue;
                };
                let cur = match cache.get(&(kind, key.clone())) {
                    Some(c) => c.clone(),
                    None => {
                        let d = self.store().get_doc(kind, &key).await?;
                        cache.insert((kind, key.clone()), d.clone());
                        d
                    }
                };
                if let Some(d) = &cur {
                    match e {
                        Event::ElementRegistered { element, .. } => {
                            return Err(account_err(AccountError::ElementExists(
                                element.to_string(),
                            )));
                        }
                        Event::AccountCreated { name, .. } => {
                            return Err(account_err(AccountError::AccountExists(name.to_string())));
                        }
                        Event::TokenIssued { token } => {
                            return Err(invalid(format!("token {} exists", token.token_id)));
                        }
                        _ => {}
                    }
                    let _ = d;
                }
                let expect = match &cur {
                    Some(d) => DocExpect::Version(d.version),
                    None => DocExpect::Absent,
                };
                if let Some((k, key, body)) = project(e, now, cur.as_ref())? {
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
            let envelopes = events
                .iter()
                .map(|e| EventEnvelope {
                    recorded_at: now,
                    actor: by.clone(),
                    event: e.clone(),
                })
                .collect();
            let r = self
                .store()
                .append(NewEvents {
                    stream: StreamId::Accounts,
                    expected_version: None,
                    events: envelopes,
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
        Err(ServiceError::Store(StoreError::Backend(
            "the accounts kept changing while this ran; try again".into(),
        )))
    }

    /// The deployment's clearance levels (the default list until an admin sets them).
    pub async fn clearance_levels(&self) -> Result<ClearanceLevels, ServiceError> {
        match self.store().get_doc(DocKind::Setting, LEVELS_KEY).await? {
            Some(d) => Ok(d.parse()?),
            None => Ok(ClearanceLevels::default()),
        }
    }

    pub async fn set_clearance_levels(
        &self,
        by: &ActorName,
        levels: ClearanceLevels,
    ) -> Result<(), ServiceError> {
        // Every account's clearance must stay on the list.
        let mut after = None;
        loop {
            let page = self.store().list_docs(DocKind::User, after, 500).await?;
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
        self.account_events(by, vec![Event::ClearanceLevelsSet { levels }], vec![])
            .await
    }

    pub async fn element(&self, name: &str) -> Result<Option<ElementInfo>, ServiceError> {
        match self.store().get_doc(DocKind::Element, name).await? {
            Some(d) => Ok(Some(d.parse()?)),
            None => Ok(None),
        }
    }

    pub async fn elements(
        &self,
        after: Option<String>,
        limit: u32,
    ) -> Result<Vec<ElementInfo>, ServiceError> {
        self.store()
            .list_docs(DocKind::Element, after, limit)
            .await?
            .iter()
            .map(|d| d.parse().map_err(ServiceError::from))
            .collect()
    }

    pub async fn register_element(
        &self,
        by: &ActorName,
        element: ElementName,
        description: Option<Note>,
    ) -> Result<ElementInfo, ServiceError> {
        if self.element(element.as_str()).await?.is_some() {
            return Err(account_err(AccountError::ElementExists(
                element.to_string(),
            )));
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
            .ok_or_else(|| account_err(AccountError::NoSuchElement(element.to_string())))
    }

    pub async fn account(&self, name: &str) -> Result<Option<Account>, ServiceError> {
        match self.store().get_doc(DocKind::User, name).await? {
            Some(d) => Ok(Some(d.parse()?)),
            None => Ok(None),
        }
    }

    pub async fn accounts(
        &self,
        after: Option<String>,
        limit: u32,
    ) -> Result<Vec<Account>, ServiceError> {
        self.store()
            .list_docs(DocKind::User, after, limit)
            .await?
            .iter()
            .map(|d| d.parse().map_err(ServiceError::from))
            .collect()
    }

    async fn check_spec(&self, spec: &AccountSpec) -> Result<(), ServiceError> {
        self.clearance_levels()
            .await?
            .check(&spec.clearance)
            .map_err(|e| account_err(e.into()))?;
        if spec.elements.is_empty() {
            return Err(invalid("an account must belong to at least one element"));
        }
        for e in &spec.elements {
            if self.element(e.as_str()).await?.is_none() {
                return Err(account_err(AccountError::NoSuchElement(e.to_string())));
            }
        }
        Ok(())
    }

    async fn hash_password(&self, password: Password) -> Result<String, ServiceError> {
        let cfg = self.auth_config().clone();
        let salt = {
            let mut b = [0u8; 16];
            getrandom::fill(&mut b).map_err(|e| {
                ServiceError::Store(StoreError::Backend(format!("no OS randomness: {e}")))
            })?;
            b
        };
        let _permit = self.hashing.acquire().await.map_err(|_| {
            ServiceError::Store(StoreError::Backend("the service is shutting down".into()))
        })?;
        tokio::task::spawn_blocking(move || {
            use argon2::password_hash::{PasswordHasher, SaltString};
            let params = argon2::Params::new(cfg.argon2_m_kib, cfg.argon2_t, cfg.argon2_p, None)
                .map_err(|e| invalid(format!("Argon2 parameters: {e}")))?;
            let hasher =
                argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
            let salt = SaltString::encode_b64(&salt).map_err(|e| invalid(e.to_string()))?;
            hasher
                .hash_password(password.expose().as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| invalid(format!("cannot hash the password: {e}")))
        })
        .await
        .map_err(|e| ServiceError::Store(StoreError::Backend(format!("hashing task: {e}"))))?
    }

    async fn verify_password(&self, phc: String, password: String) -> bool {
        let Ok(_permit) = self.hashing.acquire().await else {
            return false;
        };
        tokio::task::spawn_blocking(move || {
            use argon2::password_hash::{PasswordHash, PasswordVerifier};
            match PasswordHash::new(&phc) {
                Ok(h) => argon2::Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok(),
                Err(_) => false,
            }
        })
        .await
        .unwrap_or(false)
    }

    /// Creates the first admin of a deployment that has no accounts yet,
    /// registering `element` if needed. Refused once any account exists.
    pub async fn bootstrap_admin(
        &self,
        name: ActorName,
        display_name: Name,
        element: ElementName,
        password: Password,
    ) -> Result<Account, ServiceError> {
        if !self.accounts(None, 1).await?.is_empty() {
            return Err(account_err(AccountError::AlreadyBootstrapped));
        }
        let by = ActorName::system();
        if self.element(element.as_str()).await?.is_none() {
            self.register_element(&by, element.clone(), None).await?;
        }
        let levels = self.clearance_levels().await?;
        let spec = AccountSpec {
            display_name,
            elements: BTreeSet::from([element]),
            roles: BTreeSet::from([Role::Admin]),
            clearance: levels.lowest().clone(),
            compartments: BTreeSet::new(),
        };
        self.create_account(&by, name, spec, Some(password)).await
    }

    pub async fn create_account(
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
            return Err(account_err(AccountError::AccountExists(name.to_string())));
        }
        self.check_spec(&spec).await?;
        let mut events = vec![Event::AccountCreated {
            name: name.clone(),
            spec,
        }];
        let mut extra = vec![];
        if let Some(p) = password {
            let phc = self.hash_password(p).await?;
            events.push(Event::PasswordChanged { name: name.clone() });
            extra.push(DocWrite::put(
                DocKind::Credential,
                name.as_str(),
                DocExpect::Any,
                &CredentialRecord { phc },
            ));
        }
        self.account_events(by, events, extra).await?;
        self.account(name.as_str())
            .await?
            .ok_or_else(|| account_err(AccountError::NoSuchAccount(name.to_string())))
    }

    async fn existing(&self, name: &ActorName) -> Result<Account, ServiceError> {
        self.account(name.as_str())
            .await?
            .ok_or_else(|| account_err(AccountError::NoSuchAccount(name.to_string())))
    }

    pub async fn change_account(
        &self,
        by: &ActorName,
        name: ActorName,
        spec: AccountSpec,
    ) -> Result<Account, ServiceError> {
        self.existing(&name).await?;
        self.check_spec(&spec).await?;
        self.account_events(
            by,
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
        by: &ActorName,
        name: ActorName,
        disabled: bool,
        reason: Reason,
    ) -> Result<Account, ServiceError> {
        self.existing(&name).await?;
        let event = if disabled {
            Event::AccountDisabled {
                name: name.clone(),
                reason,
            }
        } else {
            Event::AccountEnabled { name: name.clone() }
        };
        self.account_events(by, vec![event], vec![]).await?;
        self.existing(&name).await
    }

    /// Sets a password; every earlier session of the account ends.
    pub async fn set_password(
        &self,
        by: &ActorName,
        name: ActorName,
        password: Password,
    ) -> Result<(), ServiceError> {
        self.existing(&name).await?;
        let phc = self.hash_password(password).await?;
        self.account_events(
            by,
            vec![Event::PasswordChanged { name: name.clone() }],
            vec![DocWrite::put(
                DocKind::Credential,
                name.as_str(),
                DocExpect::Any,
                &CredentialRecord { phc },
            )],
        )
        .await
    }

    /// Changes one's own password, proving the old one.
    pub async fn change_own_password(
        &self,
        who: &ActorName,
        old: String,
        new: Password,
    ) -> Result<(), ServiceError> {
        let Some(cred) = self
            .store()
            .get_doc(DocKind::Credential, who.as_str())
            .await?
        else {
            return Err(ServiceError::Auth(AuthError::BadLogin));
        };
        let cred: CredentialRecord = cred.parse()?;
        if !self.verify_password(cred.phc, old).await {
            return Err(ServiceError::Auth(AuthError::BadLogin));
        }
        self.set_password(who, who.clone(), new).await
    }

    /// Logs in with a password. Failures are counted per account and per
    /// address and recorded in the ledger; the error never says whether the
    /// account exists.
    pub async fn login(
        &self,
        name: &str,
        password: String,
        address: Option<String>,
    ) -> Result<NewSession, ServiceError> {
        let cfg = self.auth_config().clone();
        let now = self.now();
        let akey = format!("account:{}", name.to_ascii_lowercase());
        let ipkey = address.as_ref().map(|a| format!("address:{a}"));
        for (key, max) in [
            (Some(akey.clone()), cfg.max_failures_per_account),
            (ipkey.clone(), cfg.max_failures_per_address),
        ] {
            let Some(key) = key else { continue };
            let (n, first) = self.throttle.recent(&key, now, cfg.throttle_window);
            if n >= max {
                let until = first.map(|f| f + cfg.throttle_window).unwrap_or(now);
                let secs = until.duration_since(now).as_secs().max(1) as u64;
                return Err(ServiceError::Auth(AuthError::Throttled(secs)));
            }
        }
        let account = match ActorName::new(name) {
            Ok(n) => self.account(n.as_str()).await?,
            Err(_) => None,
        };
        let cred = match &account {
            Some(a) => {
                self.store()
                    .get_doc(DocKind::Credential, a.name.as_str())
                    .await?
            }
            None => None,
        };
        // Without an account or a password, verify against a dummy hash
        // anyway, so the answer takes as long either way.
        let phc = match &cred {
            Some(c) => c.parse::<CredentialRecord>()?.phc,
            None => self.dummy_phc().await?,
        };
        let ok = self.verify_password(phc, password).await && cred.is_some();
        let account = match account {
            Some(a) if ok && !a.disabled => a,
            _ => {
                self.throttle.fail(&akey, now);
                if let Some(k) = &ipkey {
                    self.throttle.fail(k, now);
                }
                let shown: String = name.chars().take(64).collect();
                self.record_access(
                    &ActorName::system(),
                    Event::LoginFailed {
                        account: shown,
                        address,
                    },
                )
                .await?;
                return Err(ServiceError::Auth(AuthError::BadLogin));
            }
        };
        self.throttle.clear(&akey);
        let secret = random_b64(32)?;
        let record = SessionRecord {
            account: account.name.clone(),
            created_at: now,
            last_seen: now,
            csrf_token: random_b64(24)?,
            address,
            epoch: account.credential_epoch,
        };
        self.store()
            .write_docs(vec![DocWrite::put(
                DocKind::Session,
                sha256_hex(&secret),
                DocExpect::Absent,
                &record,
            )])
            .await?;
        Ok(NewSession { secret, record })
    }

    async fn dummy_phc(&self) -> Result<String, ServiceError> {
        if let Some(p) = self.dummy.get() {
            return Ok(p.clone());
        }
        let p = self
            .hash_password(Password::new(random_b64(24)?).map_err(|e| invalid(e.to_string()))?)
            .await?;
        Ok(self.dummy.get_or_init(|| p).clone())
    }

    /// Ends a session.
    pub async fn logout(&self, session_secret: &str) -> Result<(), ServiceError> {
        self.store()
            .write_docs(vec![DocWrite::delete(
                DocKind::Session,
                sha256_hex(session_secret),
                DocExpect::Any,
            )])
            .await?;
        Ok(())
    }

    /// Who holds this session secret, if the session is still good. Touches
    /// the session (at most once a minute) to keep it alive.
    pub async fn authenticate_session(&self, secret: &str) -> Result<Principal, ServiceError> {
        let bad = || ServiceError::Auth(AuthError::BadCredential);
        let key = sha256_hex(secret);
        let Some(doc) = self.store().get_doc(DocKind::Session, &key).await? else {
            return Err(bad());
        };
        let mut s: SessionRecord = doc.parse()?;
        let cfg = self.auth_config();
        let now = self.now();
        let expired =
            now >= s.created_at + cfg.session_absolute || now >= s.last_seen + cfg.session_idle;
        let account = self.account(s.account.as_str()).await?;
        let account = match account {
            Some(a) if !expired && !a.disabled && s.epoch == a.credential_epoch => a,
            _ => {
                let _ = self
                    .store()
                    .write_docs(vec![DocWrite::delete(
                        DocKind::Session,
                        key,
                        DocExpect::Any,
                    )])
                    .await;
                return Err(bad());
            }
        };
        if now.duration_since(s.last_seen) > jiff::SignedDuration::from_secs(60) {
            s.last_seen = now;
            // A lost race only means another request touched it first.
            let _ = self
                .store()
                .write_docs(vec![DocWrite::put(
                    DocKind::Session,
                    key.clone(),
                    DocExpect::Version(doc.version),
                    &s,
                )])
                .await;
        }
        Ok(Principal {
            roles: account.spec.roles.clone(),
            account,
            via: Via::Session {
                key,
                csrf_token: s.csrf_token,
            },
        })
    }

    /// Issues an API token for `account` carrying `roles` (which it must hold).
    pub async fn issue_token(
        &self,
        by: &ActorName,
        account: ActorName,
        label: Name,
        roles: BTreeSet<Role>,
        valid_for: Duration,
    ) -> Result<NewToken, ServiceError> {
        let a = self.existing(&account).await?;
        if roles.is_empty() {
            return Err(invalid("a token needs at least one role"));
        }
        for r in &roles {
            if !a.has(*r) {
                return Err(account_err(AccountError::RoleNotHeld(
                    a.name.to_string(),
                    *r,
                )));
            }
        }
        if valid_for > Duration::from_secs(366 * 86400) || valid_for.is_zero() {
            return Err(invalid(
                "a token is valid for between 1 second and 366 days",
            ));
        }
        let now = self.now();
        let token_id = TokenId::from_uuid(uuid::Uuid::now_v7());
        let raw = random_b64(32)?;
        let secret = format!("{TOKEN_PREFIX}{}_{raw}", token_id.as_uuid().simple());
        let info = TokenInfo {
            token_id,
            account,
            label,
            roles,
            issued_at: now,
            expires_at: now + valid_for,
            secret_sha256: sha256_hex(&secret),
            revoked: false,
            epoch: a.credential_epoch,
        };
        self.account_events(
            by,
            vec![Event::TokenIssued {
                token: info.clone(),
            }],
            vec![],
        )
        .await?;
        Ok(NewToken { secret, info })
    }

    pub async fn token(&self, id: TokenId) -> Result<Option<TokenInfo>, ServiceError> {
        match self
            .store()
            .get_doc(DocKind::Token, &id.to_string())
            .await?
        {
            Some(d) => Ok(Some(d.parse()?)),
            None => Ok(None),
        }
    }

    /// Tokens of one account (or of all, with `None`).
    pub async fn tokens(
        &self,
        account: Option<&ActorName>,
    ) -> Result<Vec<TokenInfo>, ServiceError> {
        let mut out = Vec::new();
        let mut after = None;
        loop {
            let page = self.store().list_docs(DocKind::Token, after, 500).await?;
            for d in &page {
                let t: TokenInfo = d.parse()?;
                if account.is_none_or(|a| *a == t.account) {
                    out.push(t);
                }
            }
            if page.len() < 500 {
                break;
            }
            after = page.last().map(|d| d.key.clone());
        }
        Ok(out)
    }

    pub async fn revoke_token(
        &self,
        by: &ActorName,
        id: TokenId,
    ) -> Result<TokenInfo, ServiceError> {
        let t = self
            .token(id)
            .await?
            .ok_or_else(|| account_err(AccountError::NoSuchToken(id.to_string())))?;
        if !t.revoked {
            self.account_events(
                by,
                vec![Event::TokenRevoked {
                    token_id: id,
                    account: t.account.clone(),
                }],
                vec![],
            )
            .await?;
        }
        self.token(id)
            .await?
            .ok_or_else(|| account_err(AccountError::NoSuchToken(id.to_string())))
    }

    /// Who holds this API token secret, if the token is still good.
    pub async fn authenticate_token(&self, secret: &str) -> Result<Principal, ServiceError> {
        let bad = || ServiceError::Auth(AuthError::BadCredential);
        let Some(rest) = secret.strip_prefix(TOKEN_PREFIX) else {
            return Err(bad());
        };
        let Some((id, _)) = rest.split_once('_') else {
            return Err(bad());
        };
        let Ok(uuid) = uuid::Uuid::try_parse(id) else {
            return Err(bad());
        };
        let Some(t) = self.token(TokenId::from_uuid(uuid)).await? else {
            return Err(bad());
        };
        if !ct_eq(t.secret_sha256.as_bytes(), sha256_hex(secret).as_bytes()) {
            return Err(bad());
        }
        let Some(account) = self.account(t.account.as_str()).await? else {
            return Err(bad());
        };
        if !t.usable(self.now(), &account) {
            return Err(bad());
        }
        Ok(Principal {
            roles: account
                .spec
                .roles
                .iter()
                .copied()
                .filter(|r| t.roles.contains(r))
                .collect(),
            account,
            via: Via::Token {
                token_id: t.token_id,
            },
        })
    }

    /// Records an access event (a read of restricted content, a refusal, a
    /// failed login) on the access stream.
    pub async fn record_access(&self, by: &ActorName, event: Event) -> Result<(), ServiceError> {
        self.store()
            .append(NewEvents {
                stream: StreamId::Access,
                expected_version: None,
                events: vec![EventEnvelope {
                    recorded_at: self.now(),
                    actor: by.clone(),
                    event,
                }],
                summary: None,
                docs: vec![],
            })
            .await?;
        Ok(())
    }
}
