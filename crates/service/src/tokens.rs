//! API tokens: for machines and the CLI. A token carries a subset of its
//! account's roles and the account's credential epoch; only the SHA-256 of
//! its secret is kept (its issue and revocation are events on the accounts
//! stream).

use std::collections::BTreeSet;
use std::time::Duration;

use tocsin_domain::access::{Permission, TokenInfo};
use tocsin_domain::event::Event;
use tocsin_domain::text::Name;
use tocsin_domain::{ActorName, Role, TokenId};
use tocsin_store::DocKind;

use crate::access::{Principal, Via};
use crate::error::{AccountError, invalid};
use crate::sessions::{AuthError, ct_eq, random_b64, sha256_hex};
use crate::{Service, ServiceError};

const TOKEN_PREFIX: &str = "tocsin_";

/// Who minted a credential of `account`, when that is another account:
/// `None` when the account made it itself, or when tocsin's operator did
/// (an in-process edge that holds the database and the signing key proves
/// nothing more by a credential).
pub(crate) fn minted_by(by: &ActorName, account: &ActorName) -> Option<ActorName> {
    (by != account && *by != ActorName::system()).then(|| by.clone())
}

/// A new API token: the secret is shown once and never again.
pub struct NewToken {
    pub secret: String,
    pub info: TokenInfo,
}

impl Service {
    /// Issues an API token for `account` carrying `roles` (which it must
    /// hold), as an admin. Only for the admin's own account, or from an
    /// in-process edge (tocsin's operator): an admin never receives
    /// another account's secret. Another account gets a one-time
    /// enrolment secret ([`Service::set_password`]) and issues its own.
    pub async fn issue_token(
        &self,
        p: &Principal,
        account: ActorName,
        label: Name,
        roles: BTreeSet<Role>,
        valid_for: Duration,
    ) -> Result<NewToken, ServiceError> {
        self.authorize(p, Permission::ManageAccounts, "issue_token")
            .await?;
        if minted_by(p.name(), &account).is_some() {
            let reason = format!(
                "{} cannot issue a token for {account}: an admin never receives another account's secret (set a one-time enrolment secret with `tocsin account enrol {account}`; the person issues their own tokens)",
                p.name()
            );
            self.refuse(p, "issue_token", Some(account.to_string()), &reason)
                .await;
            return Err(ServiceError::Forbidden(reason));
        }
        let inherited = p.credential_minted_by().cloned();
        self.new_token(p.name(), account, label, roles, valid_for, inherited)
            .await
    }

    /// Issues an API token for the caller's own account. It never carries
    /// more than the credential that asks for it: `roles` (default: the
    /// caller's) must all be roles the caller may use now.
    pub async fn issue_own_token(
        &self,
        p: &Principal,
        label: Name,
        roles: Option<BTreeSet<Role>>,
        valid_for: Duration,
    ) -> Result<NewToken, ServiceError> {
        self.check_password_set(p, "issue_own_token").await?;
        let roles = roles.unwrap_or_else(|| p.roles().clone());
        if let Some(r) = roles.iter().find(|r| !p.roles().contains(r)) {
            return Err(ServiceError::invalid(
                "roles",
                format_args!("this credential does not carry the {r} role"),
            ));
        }
        let inherited = p.credential_minted_by().cloned();
        self.new_token(
            p.name(),
            p.name().clone(),
            label,
            roles,
            valid_for,
            inherited,
        )
        .await
    }

    async fn new_token(
        &self,
        by: &ActorName,
        account: ActorName,
        label: Name,
        roles: BTreeSet<Role>,
        valid_for: Duration,
        inherited: Option<ActorName>,
    ) -> Result<NewToken, ServiceError> {
        let a = self.existing(&account).await?;
        if roles.is_empty() {
            return Err(invalid("a token needs at least one role"));
        }
        for r in &roles {
            if !a.has(*r) {
                return Err(AccountError::RoleNotHeld(a.name.to_string(), *r).into());
            }
        }
        if valid_for > Duration::from_secs(366 * 86400) || valid_for.is_zero() {
            return Err(invalid(
                "a token is valid for between 1 second and 366 days",
            ));
        }
        let now = self.now();
        // A token descends from the credential that asked for it.
        let issued_by = minted_by(by, &account).or(inherited);
        let token_id = TokenId::from_uuid(crate::new_uuid());
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
            issued_by,
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

    async fn token(&self, id: TokenId) -> Result<Option<TokenInfo>, ServiceError> {
        match self.store.get_doc(DocKind::Token, &id.to_string()).await? {
            Some(d) => Ok(Some(d.parse()?)),
            None => Ok(None),
        }
    }

    /// The API tokens of every account, as an admin.
    pub async fn tokens(&self, p: &Principal) -> Result<Vec<TokenInfo>, ServiceError> {
        self.authorize(p, Permission::ManageAccounts, "list_tokens")
            .await?;
        self.tokens_of(None).await
    }

    /// The caller's own API tokens.
    pub async fn own_tokens(&self, p: &Principal) -> Result<Vec<TokenInfo>, ServiceError> {
        self.tokens_of(Some(p.name())).await
    }

    /// Tokens of one account (or of all, with `None`).
    async fn tokens_of(&self, account: Option<&ActorName>) -> Result<Vec<TokenInfo>, ServiceError> {
        let mut out = Vec::new();
        let mut after = None;
        loop {
            let page = self.store.list_docs(DocKind::Token, after, 500).await?;
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

    /// Revokes any API token, as an admin.
    pub async fn revoke_token(
        &self,
        p: &Principal,
        id: TokenId,
    ) -> Result<TokenInfo, ServiceError> {
        self.authorize(p, Permission::ManageAccounts, "revoke_token")
            .await?;
        let t = self
            .token(id)
            .await?
            .ok_or_else(|| AccountError::NoSuchToken(id.to_string()))?;
        self.revoke(p.name(), t).await
    }

    /// Revokes one of the caller's own API tokens (another's answers as a
    /// missing one).
    pub async fn revoke_own_token(
        &self,
        p: &Principal,
        id: TokenId,
    ) -> Result<TokenInfo, ServiceError> {
        match self.token(id).await? {
            Some(t) if t.account == *p.name() => self.revoke(p.name(), t).await,
            _ => Err(AccountError::NoSuchToken(id.to_string()).into()),
        }
    }

    async fn revoke(&self, by: &ActorName, t: TokenInfo) -> Result<TokenInfo, ServiceError> {
        let id = t.token_id;
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
            .ok_or_else(|| AccountError::NoSuchToken(id.to_string()).into())
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
        let roles = account
            .spec
            .roles
            .iter()
            .copied()
            .filter(|r| t.roles.contains(r))
            .collect();
        Ok(Principal::new(
            account,
            roles,
            Via::Token {
                token_id: t.token_id,
            },
        )
        .minted_by(t.issued_by))
    }
}
