//! Logging in and out, who the caller is, one's own password and API tokens.

use std::collections::BTreeSet;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tocsin_domain::access::{Account, Password, TokenInfo};
use tocsin_domain::text::Name;
use tocsin_domain::{Role, Timestamp, TokenId};
use tocsin_service::{NewToken, Via};

use super::common::{List, PageQuery, created, json, ok, paginate};
use crate::AppState;
use crate::auth;
use crate::problem::{ApiError, Kind};
use crate::table::{Access, Caller, Op, PathParams, QueryParams, RawBody, Table, client_address};

pub fn routes(t: &mut Table) {
    t.add(
        Op::post("login", path!("/session"), Access::Public)
            .tag("session")
            .summary("Log in with a password; sets the session cookie")
            .describe("The answer never says whether the account exists. Failed logins are throttled per account and per address, and recorded in the ledger.")
            .body::<LoginBody>()
            .returns::<SessionView>(StatusCode::OK)
            .errors(&[Kind::Unauthenticated, Kind::Throttled]),
        login,
    );
    t.add(
        Op::delete("logout", path!("/session"), Access::Authenticated)
            .tag("session")
            .summary("Log out: ends the session and clears the cookie")
            .no_content(),
        logout,
    );
    t.add(
        Op::get("me", path!("/me"), Access::Authenticated)
            .tag("session")
            .summary("Who the caller is, with the roles this credential may use")
            .returns::<MeView>(StatusCode::OK),
        me,
    );
    t.add(
        Op::put(
            "change_own_password",
            path!("/me/password"),
            Access::Authenticated,
        )
        .tag("session")
        .summary("Change one's own password (ends every other session)")
        .body::<OwnPasswordBody>()
        .no_content()
        .errors(&[Kind::Unauthenticated]),
        change_own_password,
    );
    t.add(
        Op::post(
            "issue_own_token",
            path!("/me/tokens"),
            Access::Authenticated,
        )
        .tag("session")
        .summary("Issue an API token for oneself (shown once)")
        .body::<OwnTokenBody>()
        .returns::<NewTokenView>(StatusCode::CREATED),
        issue_own_token,
    );
    t.add(
        Op::get(
            "list_own_tokens",
            path!("/me/tokens"),
            Access::Authenticated,
        )
        .tag("session")
        .summary("One's own API tokens")
        .returns::<List<TokenInfo>>(StatusCode::OK),
        list_own_tokens,
    );
    t.add(
        Op::delete(
            "revoke_own_token",
            path!("/me/tokens/{token_id}"),
            Access::Authenticated,
        )
        .tag("session")
        .summary("Revoke one of one's own API tokens")
        .param("token_id", "The token's id")
        .returns::<TokenInfo>(StatusCode::OK),
        revoke_own_token,
    );
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    pub name: String,
    pub password: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct SessionView {
    pub account: Account,
    /// Send this in `X-CSRF-Token` with every state change made with the session cookie.
    pub csrf_token: String,
    pub expires_at: Timestamp,
    /// The password was a one-time enrolment secret an admin set: the
    /// session may only set a password of one's own (`PUT /me/password`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub password_change_required: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct MeView {
    pub account: Account,
    /// The roles this credential may use (a token's scope narrows them).
    pub roles: BTreeSet<Role>,
    /// `session` or `token`.
    pub via: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csrf_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_id: Option<TokenId>,
    /// Logged in with a one-time enrolment secret: set a password of one's
    /// own (`PUT /me/password`) before anything else.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub password_change_required: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnPasswordBody {
    pub current: String,
    pub new: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnTokenBody {
    /// What the token is for ("laptop CLI").
    pub label: Name,
    /// The roles it may use (default: all the account's roles).
    #[serde(default)]
    pub roles: Option<BTreeSet<Role>>,
    /// Days until it expires (1 to 366, default 30).
    #[serde(default)]
    #[schemars(range(min = 1, max = 366))]
    pub valid_for_days: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct NewTokenView {
    /// The secret: shown now and never again.
    pub secret: String,
    pub token: TokenInfo,
}

impl From<NewToken> for NewTokenView {
    fn from(t: NewToken) -> Self {
        Self {
            secret: t.secret,
            token: t.info,
        }
    }
}

/// A password from a request, naming the field when it is too weak.
pub(crate) fn password(s: String, field: &str) -> Result<Password, ApiError> {
    Password::new(s).map_err(|e| ApiError::validation(format!("{field}: {e}")).field(field))
}

/// How long a token lives: 1 to 366 days, default 30.
pub(crate) fn days(d: Option<u32>) -> Result<Duration, ApiError> {
    match d.unwrap_or(30) {
        n @ 1..=366 => Ok(Duration::from_secs(u64::from(n) * 86_400)),
        n => Err(
            ApiError::validation(format!("valid_for_days {n}: give 1 to 366"))
                .field("valid_for_days"),
        ),
    }
}

/// A token id from a path: one that does not parse answers as a missing token.
pub(crate) fn token_id(s: &str) -> Result<TokenId, ApiError> {
    s.parse()
        .map_err(|_| ApiError::not_found(format!("there is no token {s}")))
}

async fn login(
    State(state): State<AppState>,
    req: axum::extract::Request,
) -> Result<Response, ApiError> {
    let address = client_address(req.extensions());
    let RawBody(bytes) =
        <RawBody as axum::extract::FromRequest<AppState>>::from_request(req, &state).await?;
    let body: LoginBody = crate::table::parse_json(&bytes)?;
    let s = state.svc.login(&body.name, body.password, address).await?;
    let mut r = json(
        StatusCode::OK,
        &SessionView {
            account: s.account,
            csrf_token: s.record.csrf_token.clone(),
            expires_at: s.expires_at,
            password_change_required: s.record.must_change_password,
        },
    );
    if let Some(c) = auth::session_cookie(&state, Some(&s.secret)) {
        r.headers_mut().insert(header::SET_COOKIE, c);
    }
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Caller(p): Caller,
) -> Result<Response, ApiError> {
    if let Via::Session { .. } = p.via()
        && let Some(secret) = auth::cookie(&headers, auth::cookie_name(&state))
    {
        state.svc.logout(secret).await?;
    }
    let mut r = StatusCode::NO_CONTENT.into_response();
    if let Some(c) = auth::session_cookie(&state, None) {
        r.headers_mut().insert(header::SET_COOKIE, c);
    }
    Ok(r)
}

async fn me(Caller(p): Caller) -> Result<Response, ApiError> {
    let (via, csrf_token, token_id) = match p.via() {
        Via::Session { csrf_token, .. } => ("session", Some(csrf_token.clone()), None),
        Via::Token { token_id } => ("token", None, Some(*token_id)),
        Via::Local => ("local", None, None),
    };
    ok(&MeView {
        roles: p.roles().clone(),
        account: p.account().clone(),
        via: via.into(),
        csrf_token,
        token_id,
        password_change_required: p.password_change_required(),
    })
}

async fn change_own_password(
    State(state): State<AppState>,
    Caller(p): Caller,
    body: RawBody,
) -> Result<Response, ApiError> {
    let b: OwnPasswordBody = body.parse()?;
    let new = password(b.new, "new")?;
    state.svc.change_own_password(&p, b.current, new).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn issue_own_token(
    State(state): State<AppState>,
    Caller(p): Caller,
    body: RawBody,
) -> Result<Response, ApiError> {
    let b: OwnTokenBody = body.parse()?;
    let t = state
        .svc
        .issue_own_token(&p, b.label, b.roles, days(b.valid_for_days)?)
        .await?;
    created(&NewTokenView::from(t))
}

async fn list_own_tokens(
    State(state): State<AppState>,
    Caller(p): Caller,
    QueryParams(q): QueryParams<PageQuery>,
) -> Result<Response, ApiError> {
    let items = state.svc.own_tokens(&p).await?;
    ok(&paginate(items, |t| t.token_id.to_string(), &q)?)
}

async fn revoke_own_token(
    State(state): State<AppState>,
    Caller(p): Caller,
    PathParams(id): PathParams<String>,
) -> Result<Response, ApiError> {
    ok(&state.svc.revoke_own_token(&p, token_id(&id)?).await?)
}
