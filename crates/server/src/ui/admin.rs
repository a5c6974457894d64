//! The admin pages about accounts (`/admin`): the list, creating one,
//! and on an account's page its roles, clearance, compartments and
//! elements, disabling and enabling it, a one-time enrolment secret, and
//! its API tokens (revoking one; an admin issues none for another account).
//! The same service methods as the API's `/accounts` operations, and
//! nothing more: an account is created without a password, and the only
//! secret an admin is shown is the enrolment secret the API's
//! `POST /accounts/{name}/enrolment` answers (its session may only set
//! the person's own password). The service decides who may do this
//! (`manage_accounts`); a refusal is the error page.
//!
//! A form that is not valid is shown again with what was typed and the
//! message beside its field.

use std::collections::{BTreeMap, BTreeSet};

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tocsin_domain::access::{Account, AccountSpec};
use tocsin_domain::text::{ElementName, Label, Name, Reason};
use tocsin_domain::{ActorName, Role};

use super::view::when;
use super::{CsrfForm, Me, Viewer, error_page, render};
use crate::AppState;
use crate::problem::ApiError;

/// Accounts per page of the list.
const PAGE: u32 = 100;

/// Elements offered as checkboxes (the first this many, by name).
const ELEMENTS: u32 = 200;

/// The fields of an account's spec as typed, the choices offered, and
/// the message beside each field that was not valid.
pub(super) struct SpecForm {
    pub name: String,
    pub display_name: String,
    pub roles: BTreeSet<String>,
    pub clearance: String,
    pub compartments: String,
    pub elements: BTreeSet<String>,
    pub all_roles: Vec<String>,
    pub levels: Vec<String>,
    pub all_elements: Vec<String>,
    pub errors: BTreeMap<&'static str, String>,
}

impl SpecForm {
    /// The message beside `field`, if any.
    pub(super) fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field).map(String::as_str)
    }

    pub(super) fn has_role(&self, r: &str) -> bool {
        self.roles.contains(r)
    }

    pub(super) fn in_element(&self, e: &str) -> bool {
        self.elements.contains(e)
    }

    fn of_account(a: &Account) -> Self {
        Self {
            name: a.name.to_string(),
            display_name: a.spec.display_name.to_string(),
            roles: a.spec.roles.iter().map(|r| r.as_str().to_owned()).collect(),
            clearance: a.spec.clearance.to_string(),
            compartments: a
                .spec
                .compartments
                .iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            elements: a.spec.elements.iter().map(|e| e.to_string()).collect(),
            all_roles: vec![],
            levels: vec![],
            all_elements: vec![],
            errors: BTreeMap::new(),
        }
    }

    /// The form as posted (`name` only when creating).
    fn posted(fields: &[(String, String)]) -> Self {
        let get = |k: &str| {
            fields
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.trim().to_owned())
                .unwrap_or_default()
        };
        let all = |k: &str| -> BTreeSet<String> {
            fields
                .iter()
                .filter(|(n, _)| n == k)
                .map(|(_, v)| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .collect()
        };
        let mut elements = all("elements");
        elements.extend(
            get("other_elements")
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        );
        Self {
            name: get("name"),
            display_name: get("display_name"),
            roles: all("roles"),
            clearance: get("clearance"),
            compartments: get("compartments"),
            elements,
            all_roles: vec![],
            levels: vec![],
            all_elements: vec![],
            errors: BTreeMap::new(),
        }
    }

    /// The spec, or the form with a message beside each bad field.
    fn spec(&mut self) -> Option<AccountSpec> {
        let display_name = Name::new(self.display_name.clone())
            .map_err(|e| self.errors.insert("display_name", e.to_string()))
            .ok();
        let mut roles = BTreeSet::new();
        for r in &self.roles {
            match serde_json::from_value::<Role>(serde_json::Value::String(r.clone())) {
                Ok(r) => {
                    roles.insert(r);
                }
                Err(_) => {
                    self.errors
                        .insert("roles", format!("there is no role “{r}”"));
                }
            }
        }
        let clearance = Label::new(self.clearance.clone())
            .map_err(|e| self.errors.insert("clearance", e.to_string()))
            .ok();
        let mut compartments = BTreeSet::new();
        for c in self
            .compartments
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
        {
            match Label::new(c) {
                Ok(c) => {
                    compartments.insert(c);
                }
                Err(e) => {
                    self.errors.insert("compartments", format!("“{c}”: {e}"));
                }
            }
        }
        let mut elements = BTreeSet::new();
        for e in &self.elements {
            match ElementName::new(e.clone()) {
                Ok(e) => {
                    elements.insert(e);
                }
                Err(err) => {
                    self.errors.insert("elements", format!("“{e}”: {err}"));
                }
            }
        }
        if !self.errors.is_empty() {
            return None;
        }
        Some(AccountSpec {
            display_name: display_name?,
            elements,
            roles,
            clearance: clearance?,
            compartments,
        })
    }

    /// Puts the service's refusal beside the field it names, or else
    /// answers it as the form's own message.
    fn refused(&mut self, e: &ApiError) -> Option<String> {
        const FIELDS: [&str; 6] = [
            "name",
            "display_name",
            "roles",
            "clearance",
            "compartments",
            "elements",
        ];
        let named = e
            .field
            .as_deref()
            .and_then(|f| FIELDS.iter().find(|k| **k == f));
        match named {
            Some(f) => {
                self.errors.insert(f, e.detail.clone());
                None
            }
            None => Some(e.detail.clone()),
        }
    }
}

/// Fills in the choices the form offers: every role, the deployment's
/// clearance levels, the registered elements.
async fn with_choices(state: &AppState, mut f: SpecForm) -> Result<SpecForm, ApiError> {
    f.all_roles = Role::ALL.iter().map(|r| r.as_str().to_owned()).collect();
    f.levels = state
        .svc
        .clearance_levels()
        .await?
        .levels()
        .iter()
        .map(|l| l.to_string())
        .collect();
    f.all_elements = state
        .svc
        .elements(None, ELEMENTS)
        .await?
        .into_iter()
        .map(|e| e.name.to_string())
        .collect();
    Ok(f)
}

/// One account as a row of the list.
pub(super) struct AccountRow {
    pub name: String,
    pub display_name: String,
    pub roles: String,
    pub clearance: String,
    pub elements: String,
    pub disabled: bool,
    pub created: String,
}

impl AccountRow {
    fn of(a: &Account) -> Self {
        let mut clearance = a.spec.clearance.to_string();
        if !a.spec.compartments.is_empty() {
            let c: Vec<String> = a.spec.compartments.iter().map(|c| c.to_string()).collect();
            clearance = format!("{clearance} ({})", c.join(", "));
        }
        let roles: Vec<&str> = a.spec.roles.iter().map(|r| r.as_str()).collect();
        let elements: Vec<String> = a.spec.elements.iter().map(|e| e.to_string()).collect();
        Self {
            name: a.name.to_string(),
            display_name: a.spec.display_name.to_string(),
            roles: roles.join(", "),
            clearance,
            elements: elements.join(", "),
            disabled: a.disabled,
            created: when(a.created_at),
        }
    }
}

#[derive(Template)]
#[template(path = "admin_accounts.html")]
struct AccountsPage<'a> {
    me: Option<&'a Me>,
    accounts: Vec<AccountRow>,
    next: Option<String>,
    after: Option<String>,
    f: SpecForm,
    /// The form's own message (not about one field).
    error: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct ListQuery {
    after: Option<String>,
}

async fn accounts_page(
    state: &AppState,
    v: &Viewer,
    after: Option<String>,
    f: SpecForm,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let mut items = match state.svc.accounts(&v.p, after.clone(), PAGE + 1).await {
        Ok(items) => items,
        Err(e) => return error_page(Some(&v.me), ApiError::from(e)),
    };
    let next = if items.len() > PAGE as usize {
        items.truncate(PAGE as usize);
        items.last().map(|a| a.name.to_string())
    } else {
        None
    };
    let f = match with_choices(state, f).await {
        Ok(f) => f,
        Err(e) => return error_page(Some(&v.me), e),
    };
    render(
        status,
        &AccountsPage {
            me: Some(&v.me),
            accounts: items.iter().map(AccountRow::of).collect(),
            next,
            after,
            f,
            error,
        },
    )
}

fn empty_form() -> SpecForm {
    SpecForm::posted(&[])
}

/// `/admin`: the accounts, and the form to create one.
pub(super) async fn accounts(
    State(state): State<AppState>,
    v: Viewer,
    Query(q): Query<ListQuery>,
) -> Response {
    accounts_page(&state, &v, q.after, empty_form(), None, StatusCode::OK).await
}

/// Creates an account (without a password: see the module's docs).
pub(super) async fn create_account(
    State(state): State<AppState>,
    c: CsrfForm<Vec<(String, String)>>,
) -> Response {
    let v = &c.viewer;
    let mut f = SpecForm::posted(&c.form);
    let name = ActorName::new(f.name.clone())
        .map_err(|e| f.errors.insert("name", e.to_string()))
        .ok();
    let spec = f.spec();
    let (Some(name), Some(spec)) = (name, spec) else {
        return accounts_page(&state, v, None, f, None, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    match state
        .svc
        .create_account(&v.p, name.clone(), spec, None)
        .await
    {
        Ok(_) => Redirect::to(&format!("/admin/accounts/{name}")).into_response(),
        Err(e) => {
            let e = ApiError::from(e);
            if e.kind.status().is_server_error() || e.kind.status() == StatusCode::FORBIDDEN {
                return error_page(Some(&v.me), e);
            }
            let status = e.kind.status();
            let error = f.refused(&e);
            accounts_page(&state, v, None, f, error, status).await
        }
    }
}

#[derive(Template)]
#[template(path = "admin_account.html")]
struct AccountPage<'a> {
    me: Option<&'a Me>,
    account: AccountRow,
    f: SpecForm,
    /// Which form the message is about ("spec", "status", "enrolment"),
    /// and the message.
    error: Option<(&'static str, String)>,
    /// What was typed as the reason of a refused disable or enable.
    reason: String,
    /// A one-time enrolment secret just issued: (secret, expires).
    enrolment: Option<(String, String)>,
    /// Whether the change just posted was saved.
    saved: bool,
    /// The account's API tokens: id, label, roles, issued, expires, revoked.
    tokens: Vec<TokenRow>,
}

/// An API token of the account, as a row (never its secret).
struct TokenRow {
    id: String,
    label: String,
    roles: String,
    issued: String,
    expires: String,
    revoked: bool,
}

impl AccountPage<'_> {
    fn shows(&self, form: &str) -> Option<&str> {
        match &self.error {
            Some((f, e)) if *f == form => Some(e.as_str()),
            _ => None,
        }
    }
}

/// What an account page shows besides the account.
#[derive(Default)]
struct Shown {
    f: Option<SpecForm>,
    error: Option<(&'static str, String)>,
    reason: String,
    enrolment: Option<(String, String)>,
    saved: bool,
}

async fn account_page(
    state: &AppState,
    v: &Viewer,
    name: &str,
    shown: Shown,
    status: StatusCode,
) -> Response {
    let a = match state.svc.get_account(&v.p, name).await {
        Ok(a) => a,
        Err(e) => return error_page(Some(&v.me), ApiError::from(e)),
    };
    let f = shown.f.unwrap_or_else(|| SpecForm::of_account(&a));
    let f = match with_choices(state, f).await {
        Ok(f) => f,
        Err(e) => return error_page(Some(&v.me), e),
    };
    let tokens = match state.svc.tokens(&v.p).await {
        Ok(t) => t,
        Err(e) => return error_page(Some(&v.me), ApiError::from(e)),
    };
    let tokens = tokens
        .iter()
        .filter(|t| t.account == a.name)
        .map(|t| TokenRow {
            id: t.token_id.to_string(),
            label: t.label.to_string(),
            roles: t
                .roles
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            issued: when(t.issued_at),
            expires: when(t.expires_at),
            revoked: t.revoked,
        })
        .collect();
    render(
        status,
        &AccountPage {
            me: Some(&v.me),
            account: AccountRow::of(&a),
            f,
            error: shown.error,
            reason: shown.reason,
            enrolment: shown.enrolment,
            saved: shown.saved,
            tokens,
        },
    )
}

#[derive(Deserialize)]
pub(super) struct SavedQuery {
    saved: Option<String>,
}

/// `/admin/accounts/{name}`: one account and its forms.
pub(super) async fn account(
    State(state): State<AppState>,
    v: Viewer,
    Path(name): Path<String>,
    Query(q): Query<SavedQuery>,
) -> Response {
    let shown = Shown {
        saved: q.saved.is_some(),
        ..Shown::default()
    };
    account_page(&state, &v, &name, shown, StatusCode::OK).await
}

/// A refusal shown beside form `form` of the account page, or as the
/// error page when it is not about the form (forbidden, missing, a 500).
async fn refused_on_account(
    state: &AppState,
    v: &Viewer,
    name: &str,
    form: &'static str,
    e: tocsin_service::ServiceError,
    mut shown: Shown,
) -> Response {
    let e = ApiError::from(e);
    let status = e.kind.status();
    if status.is_server_error()
        || status == StatusCode::FORBIDDEN
        || status == StatusCode::NOT_FOUND
    {
        return error_page(Some(&v.me), e);
    }
    let general = match shown.f.as_mut() {
        Some(f) => f.refused(&e),
        None => Some(e.detail.clone()),
    };
    if let Some(msg) = general {
        shown.error = Some((form, msg));
    }
    account_page(state, v, name, shown, status).await
}

/// Changes the account's roles, clearance, compartments or elements.
pub(super) async fn change_account(
    State(state): State<AppState>,
    Path(name): Path<String>,
    c: CsrfForm<Vec<(String, String)>>,
) -> Response {
    let v = &c.viewer;
    let mut f = SpecForm::posted(&c.form);
    f.name = name.clone();
    let Some(spec) = f.spec() else {
        let shown = Shown {
            f: Some(f),
            ..Shown::default()
        };
        return account_page(&state, v, &name, shown, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let a = match state.svc.get_account(&v.p, &name).await {
        Ok(a) => a,
        Err(e) => return error_page(Some(&v.me), ApiError::from(e)),
    };
    match state.svc.change_account(&v.p, a.name, spec).await {
        Ok(_) => Redirect::to(&format!("/admin/accounts/{name}?saved=1")).into_response(),
        Err(e) => {
            let shown = Shown {
                f: Some(f),
                ..Shown::default()
            };
            refused_on_account(&state, v, &name, "spec", e, shown).await
        }
    }
}

#[derive(Deserialize)]
pub(super) struct ReasonForm {
    #[serde(default)]
    reason: String,
}

async fn set_disabled(
    state: &AppState,
    c: &CsrfForm<ReasonForm>,
    name: &str,
    disabled: bool,
) -> Response {
    let v = &c.viewer;
    let typed = c.form.reason.trim().to_owned();
    let reason = match Reason::new(typed.clone()) {
        Ok(r) => r,
        Err(e) => {
            let shown = Shown {
                error: Some(("status", format!("reason: {e}"))),
                reason: typed,
                ..Shown::default()
            };
            return account_page(state, v, name, shown, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    };
    let a = match state.svc.get_account(&v.p, name).await {
        Ok(a) => a,
        Err(e) => return error_page(Some(&v.me), ApiError::from(e)),
    };
    match state.svc.set_disabled(&v.p, a.name, disabled, reason).await {
        Ok(_) => Redirect::to(&format!("/admin/accounts/{name}")).into_response(),
        Err(e) => {
            let shown = Shown {
                reason: typed,
                ..Shown::default()
            };
            refused_on_account(state, v, name, "status", e, shown).await
        }
    }
}

/// Disables the account: every session and token stops working at once.
pub(super) async fn disable_account(
    State(state): State<AppState>,
    Path(name): Path<String>,
    c: CsrfForm<ReasonForm>,
) -> Response {
    set_disabled(&state, &c, &name, true).await
}

/// Enables a disabled account (old sessions and tokens stay dead).
pub(super) async fn enable_account(
    State(state): State<AppState>,
    Path(name): Path<String>,
    c: CsrfForm<ReasonForm>,
) -> Response {
    set_disabled(&state, &c, &name, false).await
}

/// Issues a one-time enrolment secret, shown once on the page that
/// answers the post (never stored for showing again).
pub(super) async fn issue_enrolment(
    State(state): State<AppState>,
    Path(name): Path<String>,
    c: CsrfForm<super::session::Empty>,
) -> Response {
    let v = &c.viewer;
    let a = match state.svc.get_account(&v.p, &name).await {
        Ok(a) => a,
        Err(e) => return error_page(Some(&v.me), ApiError::from(e)),
    };
    match state.svc.issue_enrolment(&v.p, a.name).await {
        Ok(e) => {
            let shown = Shown {
                enrolment: Some((e.secret, when(e.expires_at))),
                ..Shown::default()
            };
            account_page(&state, v, &name, shown, StatusCode::CREATED).await
        }
        Err(e) => refused_on_account(&state, v, &name, "enrolment", e, Shown::default()).await,
    }
}

/// Revokes one of the account's API tokens.
pub(super) async fn revoke_token(
    State(state): State<AppState>,
    Path((name, id)): Path<(String, String)>,
    c: CsrfForm<super::session::Empty>,
) -> Response {
    let v = &c.viewer;
    let Ok(id) = id.parse() else {
        return error_page(
            Some(&v.me),
            ApiError::not_found(format!("there is no token {id}")),
        );
    };
    match state.svc.revoke_token(&v.p, id).await {
        Ok(_) => Redirect::to(&format!("/admin/accounts/{name}#tokens")).into_response(),
        Err(e) => refused_on_account(&state, v, &name, "tokens", e, Shown::default()).await,
    }
}
