//! Who may do what and see what, decided here and nowhere else.
//!
//! * [`Principal`]: who is calling, with the roles their credential may
//!   use. Only the service makes one.
//! * [`Service::authorize`]: the permission check every permissioned
//!   operation starts with (the HTTP route table calls the same function
//!   before it reads a body). A refusal is recorded on the access stream.
//! * [`Visible`]: a value the caller was found allowed to see. Only the
//!   service constructs one, so a function that takes `&Visible<Case>`
//!   cannot be reached without the check. A case the caller may not see
//!   answers [`ServiceError::Forbidden`], or, when its existence is
//!   restricted, exactly what a missing case answers.
//! * [`Service::case_filter`]: the same rule as a filter over the query
//!   tables, for lists.

use std::collections::BTreeSet;
use std::ops::Deref;

use tocsin_domain::access::{
    Account, AccountSpec, ClearanceLevels, Marking, Permission, Visibility, visibility,
};
use tocsin_domain::case::Case;
use tocsin_domain::event::Event;
use tocsin_domain::text::Name;
use tocsin_domain::{Actor, ActorName, CaseId, CaseNumber, CaseRef, Role, Timestamp, TokenId};
use tocsin_store::{AccessFilter, EventEnvelope, NewEvents, StreamId};

use crate::{Service, ServiceError};

/// How a caller proved who it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Via {
    /// A browser session; state changes need the CSRF token.
    Session { key: String, csrf_token: String },
    /// An API token (machines, the CLI).
    Token { token_id: TokenId },
    /// An in-process edge that opened the deployment itself (the demo,
    /// scripted scenarios, tests, operator commands): it holds the
    /// database and the signing key, so it proves nothing more by a
    /// credential.
    Local,
}

/// Who is calling, with the roles they may use for it. Made only by the
/// service ([`Service::authenticate_token`],
/// [`Service::authenticate_session`], [`Service::principal`]).
#[derive(Clone, Debug)]
pub struct Principal {
    account: Account,
    roles: BTreeSet<Role>,
    via: Via,
    minted_by: Option<ActorName>,
    must_change_password: bool,
}

impl Principal {
    pub(crate) fn new(account: Account, roles: BTreeSet<Role>, via: Via) -> Self {
        Self {
            account,
            roles,
            via,
            minted_by: None,
            must_change_password: false,
        }
    }

    /// The principal of a session that logged in with a one-time
    /// enrolment secret: it carries no role, and may only set the person's
    /// own password.
    pub(crate) fn must_change_password(mut self, yes: bool) -> Self {
        if yes {
            self.roles.clear();
        }
        self.must_change_password = yes;
        self
    }

    /// Whether the caller must set a password of their own before anything
    /// else (they logged in with a one-time enrolment secret).
    pub fn password_change_required(&self) -> bool {
        self.must_change_password
    }

    /// The principal, whose credential descends from a secret another
    /// account made (an admin set the one-time password it came from).
    pub(crate) fn minted_by(mut self, by: Option<ActorName>) -> Self {
        self.minted_by = by;
        self
    }

    /// Who made the secret this credential descends from, when another
    /// account did: that account and this one never make the two people of
    /// a two-person rule.
    pub fn credential_minted_by(&self) -> Option<&ActorName> {
        self.minted_by.as_ref()
    }

    pub fn account(&self) -> &Account {
        &self.account
    }

    pub fn name(&self) -> &ActorName {
        &self.account.name
    }

    /// The account's roles, narrowed to the token's scope for a token.
    pub fn roles(&self) -> &BTreeSet<Role> {
        &self.roles
    }

    pub fn via(&self) -> &Via {
        &self.via
    }

    /// The actor the domain sees.
    pub fn actor(&self) -> Actor {
        Actor::new(self.account.name.clone(), self.roles.iter().copied())
    }

    pub fn may(&self, p: Permission) -> bool {
        p.granted_by(&self.roles)
    }
}

/// A value the caller was found allowed to see. Only the service makes one.
#[derive(Clone, Debug)]
pub struct Visible<T>(T);

impl<T> Visible<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl Visible<Case> {
    /// The case with its number (read from its summary).
    pub(crate) fn numbered(mut self, number: Option<CaseNumber>) -> Self {
        self.0.number = number;
        self
    }

    /// The case without the contributions its reader is not cleared for.
    pub(crate) fn contributions_only(
        mut self,
        keep: impl Fn(&tocsin_domain::elements::Contribution) -> bool,
    ) -> Self {
        self.0.across.contributions.retain(keep);
        self
    }
}

impl<T> Deref for Visible<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

const NO_ACCESS: &str = "no access to this case (clearance, compartments or element)";
const NO_SUCH_CASE: &str = "no such case";

impl Service {
    /// The principal of an account, for an in-process edge that opened the
    /// deployment itself (the demo, scripted scenarios, tests). Over the
    /// network a principal comes only from a token or a session.
    pub async fn principal(&self, name: &ActorName) -> Result<Principal, ServiceError> {
        match self.account(name.as_str()).await? {
            Some(a) if !a.disabled => Ok(Principal::new(a.clone(), a.spec.roles, Via::Local)),
            Some(_) => Err(ServiceError::Forbidden(format!(
                "the account '{name}' is disabled"
            ))),
            None => Err(crate::AccountError::NoSuchAccount(name.to_string()).into()),
        }
    }

    /// tocsin itself as the operator of an in-process edge (the demo,
    /// `tocsin` operator commands, tests): the admin role, so account
    /// administration and operations, never case content. What it does is
    /// recorded as done by `tocsin`. Only an edge that opened the
    /// deployment itself (the database and the signing key) holds a
    /// [`Service`] to ask.
    pub async fn operator(&self) -> Result<Principal, ServiceError> {
        let levels = self.clearance_levels().await?;
        let name = ActorName::system();
        let account = Account {
            spec: AccountSpec {
                display_name: Name::new("tocsin")
                    .map_err(|e| ServiceError::internal("the operator's name", e))?,
                elements: BTreeSet::new(),
                roles: BTreeSet::from([Role::Admin]),
                clearance: levels.lowest().clone(),
                compartments: BTreeSet::new(),
            },
            name,
            disabled: false,
            created_at: Timestamp::UNIX_EPOCH,
            credential_epoch: 0,
        };
        let roles = account.spec.roles.clone();
        Ok(Principal::new(account, roles, Via::Local))
    }

    /// Checks that `p` holds `permission`; a refusal is recorded (as
    /// `action`) and answered [`ServiceError::Forbidden`].
    pub async fn authorize(
        &self,
        p: &Principal,
        permission: Permission,
        action: &str,
    ) -> Result<(), ServiceError> {
        self.check_password_set(p, action).await?;
        if p.may(permission) {
            return Ok(());
        }
        let reason = format!(
            "{} lacks the {permission} permission (granted to {})",
            p.name(),
            permission
                .roles()
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        self.refuse(p, action, None, &reason).await;
        Err(ServiceError::Forbidden(reason))
    }

    /// A session that logged in with a one-time enrolment secret may only
    /// set the person's own password: anything else is refused (and
    /// recorded), whatever the permission.
    pub(crate) async fn check_password_set(
        &self,
        p: &Principal,
        action: &str,
    ) -> Result<(), ServiceError> {
        if !p.password_change_required() {
            return Ok(());
        }
        self.refuse(
            p,
            action,
            None,
            "logged in with a one-time enrolment secret: set a password of your own first",
        )
        .await;
        Err(crate::AuthError::PasswordChangeRequired.into())
    }

    /// Records a refused attempt on the access stream. Best effort: the
    /// refusal stands even if recording fails, and the failure is logged.
    pub async fn refuse(&self, p: &Principal, action: &str, target: Option<String>, reason: &str) {
        let r = self
            .record_access(
                p.name(),
                Event::AccessRefused {
                    action: action.to_owned(),
                    target,
                    reason: reason.to_owned(),
                },
            )
            .await;
        if let Err(e) = r {
            tracing::error!(error = %e, "cannot record a refused attempt");
        }
    }

    /// Records an access event (a read of restricted content, a refusal, a
    /// failed login) on the access stream.
    pub(crate) async fn record_access(
        &self,
        by: &ActorName,
        event: Event,
    ) -> Result<(), ServiceError> {
        let events = vec![EventEnvelope {
            recorded_at: self.now(),
            actor: by.clone(),
            event,
        }];
        self.store
            .append(NewEvents {
                stream: StreamId::Access,
                expected_version: None,
                salts: crate::salts(&events)?,
                events,
                summary: None,
                docs: vec![],
            })
            .await?;
        Ok(())
    }

    /// Records that `p` read `parts` of a case's restricted content.
    pub(crate) async fn record_read(
        &self,
        p: &Principal,
        case_id: CaseId,
        parts: Vec<String>,
    ) -> Result<(), ServiceError> {
        self.record_access(p.name(), Event::ContentRead { case_id, parts })
            .await
    }

    /// The case, if `p` may read cases and see this one. `action` names
    /// what was attempted, for the refusal record. (Without the `read_case`
    /// permission the answer is the same whether the case exists or not.)
    /// A case is named by its id or its number; a number no case has
    /// answers as a missing id does.
    pub async fn case(
        &self,
        p: &Principal,
        reference: impl Into<CaseRef>,
        action: &str,
    ) -> Result<Visible<Case>, ServiceError> {
        let reference = reference.into();
        self.authorize(p, Permission::ReadCase, action).await?;
        let id = match reference {
            CaseRef::Id(id) => Some(id),
            CaseRef::Number(n) => self.store.case_by_number(n).await?,
        };
        let case = match id {
            Some(id) => match self.load(id).await {
                Err(ServiceError::CaseNotFound(_)) => None,
                other => Some(other?),
            },
            None => None,
        };
        let levels = self.clearance_levels().await?;
        let Some(mut case) = case else {
            // A missing case is refused with the work a hidden one gets
            // (the refusal is recorded), so the time of the answer does
            // not tell a restricted case from a missing one.
            self.refuse(p, action, Some(format!("case/{reference}")), NO_SUCH_CASE)
                .await;
            return Err(ServiceError::CaseNotFound(reference.to_string()));
        };
        self.check_visible_as(p, &case, &levels, action, &reference)
            .await?;
        if let CaseRef::Number(n) = reference {
            case.number = Some(n);
        }
        Ok(Visible(case))
    }

    /// Whether `p` may see `case`; a refusal is recorded.
    pub(crate) async fn check_visible(
        &self,
        p: &Principal,
        case: &Case,
        levels: &ClearanceLevels,
        action: &str,
    ) -> Result<(), ServiceError> {
        self.check_visible_as(p, case, levels, action, &CaseRef::Id(case.id))
            .await
    }

    /// [`Service::check_visible`], answering in terms of the reference the
    /// caller gave (a hidden case must answer exactly as a missing one,
    /// and never name its id).
    async fn check_visible_as(
        &self,
        p: &Principal,
        case: &Case,
        levels: &ClearanceLevels,
        action: &str,
        reference: &CaseRef,
    ) -> Result<(), ServiceError> {
        match visibility(&p.account, &p.roles, levels, &case.marking()) {
            Visibility::Visible => Ok(()),
            v => {
                self.refuse(p, action, Some(format!("case/{}", case.id)), NO_ACCESS)
                    .await;
                if v == Visibility::Hidden {
                    Err(ServiceError::CaseNotFound(reference.to_string()))
                } else {
                    Err(ServiceError::Forbidden(format!(
                        "you may not see case {reference}: {NO_ACCESS}"
                    )))
                }
            }
        }
    }

    /// Whether `p` may see `case`, without recording anything (for lists,
    /// which leave out what the caller may not see).
    pub(crate) fn sees(p: &Principal, case: &Case, levels: &ClearanceLevels) -> bool {
        visibility(&p.account, &p.roles, levels, &case.marking()) == Visibility::Visible
    }

    /// Whether `p` may see what carries `marking` (a receipt), without
    /// recording anything.
    pub(crate) fn sees_marking(p: &Principal, marking: &Marking, levels: &ClearanceLevels) -> bool {
        visibility(&p.account, &p.roles, levels, marking) == Visibility::Visible
    }

    /// The rule of [`visibility`] as a filter over the query tables.
    pub(crate) async fn case_filter(&self, p: &Principal) -> Result<AccessFilter, ServiceError> {
        let levels = self.clearance_levels().await?;
        let spec = &p.account.spec;
        Ok(AccessFilter {
            levels: levels
                .at_or_below(&spec.clearance)
                .iter()
                .map(|l| l.to_string())
                .collect(),
            compartments: spec.compartments.iter().map(|c| c.to_string()).collect(),
            elements: if tocsin_domain::access::oversees_every_element(&p.roles) {
                None
            } else {
                Some(spec.elements.iter().map(|e| e.to_string()).collect())
            },
        })
    }
}
