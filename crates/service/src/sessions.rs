//! Passwords and login sessions.
//!
//! A password is kept only as an Argon2id PHC string in a document, never
//! in the ledger (the ledger records `password_changed`). Hashing is CPU
//! work of tens of milliseconds by design: it runs on blocking threads, at
//! most two at a time, never on the async runtime. A login session is a
//! document keyed by the SHA-256 of its secret, carrying the account's
//! credential epoch: disabling the account or changing its password ends
//! it. Failed logins are throttled per account and per address, and
//! recorded on the access stream.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tocsin_domain::access::{Account, Password, Permission};
use tocsin_domain::event::Event;
use tocsin_domain::{ActorName, Timestamp};
use tocsin_store::{DocExpect, DocKind, DocWrite};

use crate::access::{Principal, Via};
use crate::error::invalid;
use crate::{Service, ServiceError};

pub use crate::error::AuthError;

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
    /// How long a password another account (an admin) sets stays good: it
    /// is a one-time enrolment secret, good only to set one's own.
    pub enrolment_valid: Duration,
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
            enrolment_valid: Duration::from_secs(3 * 86_400),
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
    /// Who set the password the session logged in with, or the one it
    /// descends from, when another account did (an admin): that account
    /// and this one never make the two people of a two-person rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_set_by: Option<ActorName>,
    /// The session logged in with a one-time enrolment secret: it may only
    /// set the person's own password (and say who it is, and log out).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub must_change_password: bool,
}

/// A one-time enrolment secret, shown once to the admin who issued it, for
/// the person to set a password of their own with.
pub struct Enrolment {
    pub account: ActorName,
    pub secret: String,
    pub expires_at: Timestamp,
}

/// A new session: its secret goes in the cookie, once.
pub struct NewSession {
    pub secret: String,
    pub record: SessionRecord,
    pub account: Account,
    /// When the session ends whatever happens.
    pub expires_at: Timestamp,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct CredentialRecord {
    phc: String,
    /// Who set it, or the one-time secret it replaced, when another account
    /// did (see [`crate::tokens::minted_by`]). It stays with the account's
    /// later passwords and tokens: that account and this one never make the
    /// two people of a two-person rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    set_by: Option<ActorName>,
    /// Set when another account set it: a one-time enrolment secret, good
    /// until then and only to set the person's own password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    one_time_until: Option<Timestamp>,
}

/// A new password of `name`, set by `by`, as its ledger event and its
/// document. `inherited` is who set the secret the caller proved, when
/// `name` sets its own: the mark passes on.
///
/// * Set by the account itself: an ordinary password, carrying `inherited`.
/// * Set by tocsin's operator (an in-process edge that holds the database
///   and the key): an ordinary password.
/// * Set by another account (an admin): a one-time enrolment secret, good
///   for `valid` and only to set the person's own password, marked as set
///   by that account.
pub(crate) fn password_writes(
    by: &ActorName,
    name: &ActorName,
    phc: String,
    inherited: Option<ActorName>,
    now: Timestamp,
    valid: Duration,
) -> (Event, DocWrite) {
    let (set_by, one_time_until) = if by == name {
        (inherited, None)
    } else {
        match crate::tokens::minted_by(by, name) {
            Some(admin) => (Some(admin), Some(now + valid)),
            None => (None, None),
        }
    };
    (
        Event::PasswordChanged {
            name: name.clone(),
            one_time_until,
        },
        DocWrite::put(
            DocKind::Credential,
            name.as_str(),
            DocExpect::Any,
            &CredentialRecord {
                phc,
                set_by,
                one_time_until,
            },
        ),
    )
}

/// Failed-login bookkeeping, in memory (per process). An attempt is
/// counted *before* its password is checked, in the same critical section
/// as the check of the limit, so parallel attempts cannot all pass the
/// check; a successful attempt takes its own count back (and only it).
#[derive(Default)]
pub(crate) struct Throttle {
    failures: Mutex<HashMap<String, Vec<Timestamp>>>,
}

/// An attempt admitted by [`Throttle::admit`], already counted under `keys`.
pub(crate) struct Admitted {
    keys: Vec<String>,
    at: Timestamp,
}

impl Throttle {
    /// Admits one attempt under every `(key, limit)` and counts it, or
    /// answers when the first limit reached frees up.
    fn admit(
        &self,
        limits: &[(String, u32)],
        now: Timestamp,
        window: Duration,
    ) -> Result<Admitted, Timestamp> {
        let Ok(mut m) = self.failures.lock() else {
            return Err(now + window);
        };
        let cutoff = now - window;
        for (key, max) in limits {
            if let Some(v) = m.get_mut(key) {
                v.retain(|t| *t > cutoff);
                if v.len() as u32 >= *max {
                    return Err(v.first().map(|f| *f + window).unwrap_or(now));
                }
            }
        }
        // Bound memory under a flood of distinct names.
        if m.len() > 100_000 {
            m.retain(|_, v| v.iter().any(|t| *t > cutoff));
        }
        for (key, _) in limits {
            m.entry(key.clone()).or_default().push(now);
        }
        Ok(Admitted {
            keys: limits.iter().map(|(k, _)| k.clone()).collect(),
            at: now,
        })
    }

    /// The attempt succeeded: its own count is taken back. The account's
    /// other failures stand until the window passes: forgetting them would
    /// let attempts made in parallel with a success start counting afresh.
    fn succeeded(&self, a: Admitted) {
        if let Ok(mut m) = self.failures.lock() {
            for key in &a.keys {
                if let Some(v) = m.get_mut(key)
                    && let Some(i) = v.iter().position(|t| *t == a.at)
                {
                    v.remove(i);
                }
            }
        }
    }
}

/// `bytes` random bytes from the OS, URL-safe base64.
pub(crate) fn random_b64(bytes: usize) -> Result<String, ServiceError> {
    let mut b = vec![0u8; bytes];
    getrandom::fill(&mut b)
        .map_err(|e| ServiceError::internal("no randomness from the OS", e.to_string()))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b))
}

/// Hex SHA-256.
pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// Compares secrets' digests in constant time.
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.ct_eq(b).into()
}

impl Service {
    pub(crate) async fn hash_password(&self, password: Password) -> Result<String, ServiceError> {
        let cfg = self.auth.clone();
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt)
            .map_err(|e| ServiceError::internal("no randomness from the OS", e.to_string()))?;
        let _permit = self
            .hashing
            .acquire()
            .await
            .map_err(|_| ServiceError::ShuttingDown)?;
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
        .map_err(|e| ServiceError::internal("the password hashing task stopped", e))?
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

    async fn credential(&self, name: &ActorName) -> Result<Option<CredentialRecord>, ServiceError> {
        match self
            .store
            .get_doc(DocKind::Credential, name.as_str())
            .await?
        {
            Some(d) => Ok(Some(d.parse::<CredentialRecord>()?)),
            None => Ok(None),
        }
    }

    async fn store_password(
        &self,
        by: &ActorName,
        name: &ActorName,
        password: Password,
        inherited: Option<ActorName>,
    ) -> Result<(), ServiceError> {
        let phc = self.hash_password(password).await?;
        let (event, doc) = password_writes(
            by,
            name,
            phc,
            inherited,
            self.now(),
            self.auth.enrolment_valid,
        );
        self.account_events(by, vec![event], vec![doc]).await
    }

    /// Who set the password of `name`, when another account did (or set
    /// the one-time secret it descends from).
    pub(crate) async fn password_set_by(
        &self,
        name: &ActorName,
    ) -> Result<Option<ActorName>, ServiceError> {
        Ok(self.credential(name).await?.and_then(|c| c.set_by))
    }

    /// Sets an account's password, as an admin; every earlier session and
    /// token of the account ends. Set by another account, the password is
    /// a one-time enrolment secret: good for [`AuthConfig::enrolment_valid`],
    /// and only to set the person's own password.
    pub async fn set_password(
        &self,
        p: &Principal,
        name: ActorName,
        password: Password,
    ) -> Result<(), ServiceError> {
        self.authorize(p, Permission::ManageAccounts, "set_password")
            .await?;
        self.existing(&name).await?;
        self.store_password(p.name(), &name, password, None).await
    }

    /// Issues a one-time enrolment secret for an account, as an admin: the
    /// same as [`Service::set_password`] with a secret tocsin makes. The
    /// person logs in with it once and sets a password of their own; until
    /// then it does nothing else. Every earlier session and token of the
    /// account ends.
    pub async fn issue_enrolment(
        &self,
        p: &Principal,
        name: ActorName,
    ) -> Result<Enrolment, ServiceError> {
        self.authorize(p, Permission::ManageAccounts, "issue_enrolment")
            .await?;
        self.existing(&name).await?;
        // A prefix, so the secret never starts with '-' (a command line
        // would read it as an option) and says what it is.
        let secret = format!("enrol_{}", random_b64(18)?);
        let password = Password::new(secret.clone()).map_err(|e| invalid(e.to_string()))?;
        self.store_password(p.name(), &name, password, None).await?;
        let expires_at = match self.credential(&name).await? {
            Some(CredentialRecord {
                one_time_until: Some(t),
                ..
            }) => t,
            _ => self.now() + self.auth.enrolment_valid,
        };
        Ok(Enrolment {
            account: name,
            secret,
            expires_at,
        })
    }

    /// Changes one's own password, proving the old one.
    pub async fn change_own_password(
        &self,
        p: &Principal,
        old: String,
        new: Password,
    ) -> Result<(), ServiceError> {
        let Some(cred) = self.credential(p.name()).await? else {
            return Err(AuthError::BadLogin.into());
        };
        if new.expose() == old {
            return Err(invalid("the new password must differ from the current one"));
        }
        if !self.verify_password(cred.phc, old).await {
            return Err(AuthError::BadLogin.into());
        }
        let inherited = p.credential_minted_by().cloned().or(cred.set_by);
        self.store_password(p.name(), p.name(), new, inherited)
            .await
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
        let cfg = self.auth.clone();
        let now = self.now();
        let akey = format!("account:{}", name.to_ascii_lowercase());
        let mut limits = vec![(akey, cfg.max_failures_per_account)];
        if let Some(a) = &address {
            limits.push((format!("address:{a}"), cfg.max_failures_per_address));
        }
        // Counted now, before the password is checked: parallel attempts
        // cannot all pass the limit.
        let admitted = match self.throttle.admit(&limits, now, cfg.throttle_window) {
            Ok(a) => a,
            Err(until) => {
                let secs = until.duration_since(now).as_secs().max(1) as u64;
                return Err(AuthError::Throttled(secs).into());
            }
        };
        let account = match ActorName::new(name) {
            Ok(n) => self.account(n.as_str()).await?,
            Err(_) => None,
        };
        let cred = match &account {
            Some(a) => self.credential(&a.name).await?,
            None => None,
        };
        // Without an account or a password, verify against a dummy hash
        // anyway, so the answer takes as long either way.
        // A one-time secret past its time answers as a wrong password.
        let known = cred
            .as_ref()
            .is_some_and(|c| c.one_time_until.is_none_or(|t| now < t));
        let (phc, password_set_by, must_change_password) = match cred {
            Some(c) => (c.phc, c.set_by, c.one_time_until.is_some()),
            None => (self.dummy_phc().await?, None, false),
        };
        let ok = self.verify_password(phc, password).await && known;
        let account = match account {
            Some(a) if ok && !a.disabled => a,
            _ => {
                let shown: String = name.chars().take(64).collect();
                self.record_access(
                    &ActorName::system(),
                    Event::LoginFailed {
                        account: shown,
                        address,
                    },
                )
                .await?;
                return Err(AuthError::BadLogin.into());
            }
        };
        self.throttle.succeeded(admitted);
        let secret = random_b64(32)?;
        let record = SessionRecord {
            account: account.name.clone(),
            created_at: now,
            last_seen: now,
            csrf_token: random_b64(24)?,
            address,
            epoch: account.credential_epoch,
            password_set_by,
            must_change_password,
        };
        self.store
            .write_docs(vec![DocWrite::put(
                DocKind::Session,
                sha256_hex(&secret),
                DocExpect::Absent,
                &record,
            )])
            .await?;
        Ok(NewSession {
            secret,
            expires_at: now + cfg.session_absolute,
            record,
            account,
        })
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
        self.store
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
        let Some(doc) = self.store.get_doc(DocKind::Session, &key).await? else {
            return Err(bad());
        };
        let mut s: SessionRecord = doc.parse()?;
        let cfg = &self.auth;
        let now = self.now();
        let expired =
            now >= s.created_at + cfg.session_absolute || now >= s.last_seen + cfg.session_idle;
        let account = match self.account(s.account.as_str()).await? {
            Some(a) if !expired && !a.disabled && s.epoch == a.credential_epoch => a,
            _ => {
                let _ = self
                    .store
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
                .store
                .write_docs(vec![DocWrite::put(
                    DocKind::Session,
                    key.clone(),
                    DocExpect::Version(doc.version),
                    &s,
                )])
                .await;
        }
        Ok(Principal::new(
            account.clone(),
            account.spec.roles,
            Via::Session {
                key,
                csrf_token: s.csrf_token,
            },
        )
        .minted_by(s.password_set_by)
        .must_change_password(s.must_change_password))
    }
}
