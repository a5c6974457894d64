//! What an admin manages: elements, accounts, API tokens of every account,
//! and the clearance levels.

use std::collections::BTreeSet;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tocsin_domain::access::{
    Account, AccountSpec, ClearanceLevels, ElementInfo, Permission, TokenInfo,
};
use tocsin_domain::text::{ElementName, Name, Note};
use tocsin_domain::{ActorName, Role, Timestamp};
use tocsin_service::Principal;

use super::common::{List, PageQuery, ReasonBody, created, ok, page_of, paginate};
use super::needs;
use super::session::{NewTokenView, days, password, token_id};
use crate::AppState;
use crate::problem::{ApiError, Kind};
use crate::table::{Access, Caller, Op, PathParams, QueryParams, RawBody, Table};

pub fn routes(t: &mut Table) {
    t.add(
        Op::get("list_elements", path!("/elements"), Access::Authenticated)
            .tag("accounts")
            .summary("Registered elements (organisations)")
            .query::<PageQuery>()
            .returns::<List<ElementInfo>>(StatusCode::OK),
        list_elements,
    );
    t.add(
        Op::post(
            "register_element",
            path!("/elements"),
            needs(Permission::ManageAccounts),
        )
        .tag("accounts")
        .summary("Register an element")
        .body::<ElementBody>()
        .returns::<ElementInfo>(StatusCode::CREATED)
        .errors(&[Kind::Conflict]),
        register_element,
    );
    t.add(
        Op::get(
            "list_accounts",
            path!("/accounts"),
            needs(Permission::ManageAccounts),
        )
        .tag("accounts")
        .summary("Accounts")
        .query::<PageQuery>()
        .returns::<List<Account>>(StatusCode::OK),
        list_accounts,
    );
    t.add(
        Op::post(
            "create_account",
            path!("/accounts"),
            needs(Permission::ManageAccounts),
        )
        .tag("accounts")
        .summary("Create an account")
        .body::<NewAccountBody>()
        .returns::<Account>(StatusCode::CREATED)
        .errors(&[Kind::Conflict, Kind::NotFound]),
        create_account,
    );
    t.add(
        Op::get(
            "get_account",
            path!("/accounts/{name}"),
            needs(Permission::ManageAccounts),
        )
        .tag("accounts")
        .summary("One account")
        .param("name", "The account name")
        .returns::<Account>(StatusCode::OK),
        get_account,
    );
    t.add(
        Op::put(
            "change_account",
            path!("/accounts/{name}"),
            needs(Permission::ManageAccounts),
        )
        .tag("accounts")
        .summary("Change an account's roles, clearance, compartments or elements")
        .param("name", "The account name")
        .body::<AccountSpec>()
        .returns::<Account>(StatusCode::OK),
        change_account,
    );
    t.add(
        Op::post(
            "disable_account",
            path!("/accounts/{name}/disable"),
            needs(Permission::ManageAccounts),
        )
        .tag("accounts")
        .summary("Disable an account: every session and token stops working at once")
        .param("name", "The account name")
        .body::<ReasonBody>()
        .returns::<Account>(StatusCode::OK),
        disable_account,
    );
    t.add(
        Op::post(
            "enable_account",
            path!("/accounts/{name}/enable"),
            needs(Permission::ManageAccounts),
        )
        .tag("accounts")
        .summary("Enable a disabled account (old sessions and tokens stay dead)")
        .param("name", "The account name")
        .body::<ReasonBody>()
        .returns::<Account>(StatusCode::OK),
        enable_account,
    );
    t.add(
        Op::put(
            "set_password",
            path!("/accounts/{name}/password"),
            needs(Permission::ManageAccounts),
        )
        .tag("accounts")
        .summary("Set a one-time enrolment password for an account (ends its sessions)")
        .describe("Set by another account, a password is a one-time enrolment secret: good for three days, and only to log in once and set a password of one's own (`PUT /me/password`). Until then the session may do nothing else.")
        .param("name", "The account name")
        .body::<PasswordBody>()
        .no_content(),
        set_password,
    );
    t.add(
        Op::post(
            "issue_enrolment",
            path!("/accounts/{name}/enrolment"),
            needs(Permission::ManageAccounts),
        )
        .tag("accounts")
        .summary("Issue a one-time enrolment secret for an account (shown once; ends its sessions)")
        .describe("The person logs in with the secret once and sets a password of their own (`PUT /me/password`, or `tocsin enrol`); until then the session may do nothing else. An admin never receives a usable credential of another account.")
        .param("name", "The account name")
        .returns::<EnrolmentView>(StatusCode::CREATED)
        .errors(&[Kind::NotFound]),
        issue_enrolment,
    );
    t.add(
        Op::get(
            "list_tokens",
            path!("/tokens"),
            needs(Permission::ManageAccounts),
        )
        .tag("accounts")
        .summary("API tokens of every account")
        .returns::<List<TokenInfo>>(StatusCode::OK),
        list_tokens,
    );
    t.add(
        Op::post(
            "issue_token",
            path!("/tokens"),
            needs(Permission::ManageAccounts),
        )
        .tag("accounts")
        .summary("Issue an API token for one's own account (the secret is shown once)")
        .describe("Refused for another account: an admin never receives another account's secret. Use `POST /accounts/{name}/enrolment`; the person issues their own tokens (`POST /me/tokens`).")
        .body::<TokenBody>()
        .returns::<NewTokenView>(StatusCode::CREATED)
        .errors(&[Kind::NotFound]),
        issue_token,
    );
    t.add(
        Op::delete(
            "revoke_token",
            path!("/tokens/{token_id}"),
            needs(Permission::ManageAccounts),
        )
        .tag("accounts")
        .summary("Revoke an API token")
        .param("token_id", "The token's id")
        .returns::<TokenInfo>(StatusCode::OK),
        revoke_token,
    );
    t.add(
        Op::get(
            "get_clearance_levels",
            path!("/clearance-levels"),
            Access::Authenticated,
        )
        .tag("accounts")
        .summary("The deployment's clearance levels, lowest first")
        .returns::<ClearanceLevels>(StatusCode::OK),
        get_clearance_levels,
    );
    t.add(
        Op::put(
            "set_clearance_levels",
            path!("/clearance-levels"),
            needs(Permission::ManageAccounts),
        )
        .tag("accounts")
        .summary("Set the clearance levels (every account's level must stay on the list)")
        .body::<ClearanceLevels>()
        .returns::<ClearanceLevels>(StatusCode::OK),
        set_clearance_levels,
    );
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ElementBody {
    pub name: ElementName,
    #[serde(default)]
    pub description: Option<Note>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccountBody {
    pub name: ActorName,
    #[serde(flatten)]
    pub spec: AccountSpec,
    /// At least 12 characters (optional: without one the account can only use tokens).
    #[serde(default)]
    pub password: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    pub password: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    pub account: ActorName,
    pub label: Name,
    pub roles: BTreeSet<Role>,
    #[serde(default)]
    #[schemars(range(min = 1, max = 366))]
    pub valid_for_days: Option<u32>,
}

async fn list_elements(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<PageQuery>,
) -> Result<Response, ApiError> {
    let limit = q.limit()?;
    let items = state.svc.elements(q.after, limit + 1).await?;
    ok(&page_of(items, limit, |e| e.name.to_string()))
}

async fn register_element(
    State(state): State<AppState>,
    Caller(p): Caller,
    body: RawBody,
) -> Result<Response, ApiError> {
    let b: ElementBody = body.parse()?;
    created(
        &state
            .svc
            .register_element(&p, b.name, b.description)
            .await?,
    )
}

async fn list_accounts(
    State(state): State<AppState>,
    Caller(p): Caller,
    QueryParams(q): QueryParams<PageQuery>,
) -> Result<Response, ApiError> {
    let limit = q.limit()?;
    let items = state.svc.accounts(&p, q.after, limit + 1).await?;
    ok(&page_of(items, limit, |a| a.name.to_string()))
}

async fn create_account(
    State(state): State<AppState>,
    Caller(p): Caller,
    body: RawBody,
) -> Result<Response, ApiError> {
    let b: NewAccountBody = body.parse()?;
    let pw = b.password.map(|s| password(s, "password")).transpose()?;
    created(&state.svc.create_account(&p, b.name, b.spec, pw).await?)
}

async fn get_account(
    State(state): State<AppState>,
    Caller(p): Caller,
    PathParams(name): PathParams<String>,
) -> Result<Response, ApiError> {
    ok(&state.svc.get_account(&p, &name).await?)
}

async fn change_account(
    State(state): State<AppState>,
    Caller(p): Caller,
    PathParams(name): PathParams<String>,
    body: RawBody,
) -> Result<Response, ApiError> {
    let a = state.svc.get_account(&p, &name).await?;
    let spec: AccountSpec = body.parse()?;
    ok(&state.svc.change_account(&p, a.name, spec).await?)
}

async fn disable_account(
    State(state): State<AppState>,
    Caller(p): Caller,
    PathParams(name): PathParams<String>,
    body: RawBody,
) -> Result<Response, ApiError> {
    set_disabled(&state, &p, &name, body, true).await
}

async fn enable_account(
    State(state): State<AppState>,
    Caller(p): Caller,
    PathParams(name): PathParams<String>,
    body: RawBody,
) -> Result<Response, ApiError> {
    set_disabled(&state, &p, &name, body, false).await
}

async fn set_disabled(
    state: &AppState,
    p: &Principal,
    name: &str,
    body: RawBody,
    disabled: bool,
) -> Result<Response, ApiError> {
    let a = state.svc.get_account(p, name).await?;
    let b: ReasonBody = body.parse()?;
    ok(&state
        .svc
        .set_disabled(p, a.name, disabled, b.reason)
        .await?)
}

async fn set_password(
    State(state): State<AppState>,
    Caller(p): Caller,
    PathParams(name): PathParams<String>,
    body: RawBody,
) -> Result<Response, ApiError> {
    let a = state.svc.get_account(&p, &name).await?;
    let b: PasswordBody = body.parse()?;
    let pw = password(b.password, "password")?;
    state.svc.set_password(&p, a.name, pw).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A one-time enrolment secret (shown once).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct EnrolmentView {
    pub account: ActorName,
    /// Good once, to log in and set a password of one's own.
    pub secret: String,
    pub expires_at: Timestamp,
}

async fn issue_enrolment(
    State(state): State<AppState>,
    Caller(p): Caller,
    PathParams(name): PathParams<String>,
) -> Result<Response, ApiError> {
    let a = state.svc.get_account(&p, &name).await?;
    let e = state.svc.issue_enrolment(&p, a.name).await?;
    created(&EnrolmentView {
        account: e.account,
        secret: e.secret,
        expires_at: e.expires_at,
    })
}

async fn list_tokens(
    State(state): State<AppState>,
    Caller(p): Caller,
    QueryParams(q): QueryParams<PageQuery>,
) -> Result<Response, ApiError> {
    let items = state.svc.tokens(&p).await?;
    ok(&paginate(items, |t| t.token_id.to_string(), &q)?)
}

async fn issue_token(
    State(state): State<AppState>,
    Caller(p): Caller,
    body: RawBody,
) -> Result<Response, ApiError> {
    let b: TokenBody = body.parse()?;
    let t = state
        .svc
        .issue_token(&p, b.account, b.label, b.roles, days(b.valid_for_days)?)
        .await?;
    created(&NewTokenView::from(t))
}

async fn revoke_token(
    State(state): State<AppState>,
    Caller(p): Caller,
    PathParams(id): PathParams<String>,
) -> Result<Response, ApiError> {
    ok(&state.svc.revoke_token(&p, token_id(&id)?).await?)
}

async fn get_clearance_levels(State(state): State<AppState>) -> Result<Response, ApiError> {
    ok(&state.svc.clearance_levels().await?)
}

async fn set_clearance_levels(
    State(state): State<AppState>,
    Caller(p): Caller,
    body: RawBody,
) -> Result<Response, ApiError> {
    let levels: ClearanceLevels = body.parse()?;
    ok(&state.svc.set_clearance_levels(&p, levels).await?)
}
