//! The web UI: pages rendered on the server from askama templates (checked
//! at compile time, under `crates/server/templates/`), one stylesheet
//! embedded in the binary, and one small script that only enhances (every
//! page works without it). A second face on the service beside
//! [`crate::api`]: every page calls the same service methods the API's
//! handlers call, and the service alone decides who may see or do what.
//! Nothing here reads the store or checks an access rule; a refusal the
//! service answers is shown as a page (a restricted case's page is exactly
//! a missing case's).
//!
//! Pages are not API operations: they are registered here, not in the
//! route table, and are not in the OpenAPI document. A page authenticates
//! with the session cookie only ([`Viewer`]); every state change is a
//! plain form post whose hidden `csrf` field must carry the session's CSRF
//! token, checked by [`crate::auth::csrf_matches`] as the API's header is
//! ([`CsrfForm`]).
//!
//! * `session`: log in, log out, set one's own password.
//! * `pages`: the dashboard, the case list, the case page.
//! * `review`: re-assess, confirm a no-duty determination, hand off, mark
//!   a report's independence.
//! * `check`: the warning editor's check (a form post, and the small
//!   optional script `static/tocsin-check.js` that checks as one types
//!   through the API), and the draft from the template.
//! * `plan`: the route plan, choosing a candidate or a route of one's own
//!   for a warning or a new one (W2...).
//! * `elements`: contributions, disputes, merges and links of a case.
//! * `submitted`: what intake answers for a joined report or a
//!   contribution. `similar`: reports of other cases like one report.
//! * `evidence`, `across`, `deadlines`: parts of the case page's view
//!   (screening, other elements, countdowns); `show` the leaf of words.
//! * `intake`: a report from a form of its fields, or pasted as JSON;
//!   `upload`: a report as an uploaded JSON file, taken in the same way.
//! * `actions`: the form posts of the case lifecycle.
//! * `delivery`: recording a hop of delivery, a response, the outcome.
//! * `waivers`: requesting a waiver and deciding it.
//! * `approvals`: the inbox of texts and waivers awaiting a second person.
//! * `audit`: the checkpoint, verifying the ledger (in the background,
//!   with its progress), inclusion proofs, the access log.
//! * `records`: the records page for records officers (schedules, legal
//!   holds, the records officer's report), read only.
//! * `admin`, `admin_elements`, `admin_reference`, `admin_registries`:
//!   the admin pages (accounts; elements and clearance levels; relations,
//!   directory, notification targets, policy; registries and their
//!   import).
//! * `view`: what the templates show, made from the service's answers.
//! * `charts`: the dashboard's charts as inline SVG (pure).

mod actions;
mod admin;
mod admin_elements;
mod admin_reference;
mod admin_registries;
mod approvals;
mod audit;
mod charts;
mod delivery;
mod intake;
mod pages;
mod records;
mod review;
mod session;
mod view;
mod waivers;

// The case page's further parts and the pages linked from it.
mod across;
mod check;
mod deadlines;
mod elements;
mod evidence;
mod plan;
mod show;
mod similar;
mod submitted;
mod upload;

use askama::Template;
use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tocsin_domain::access::Permission;
use tocsin_service::{Principal, ServiceError};

use crate::AppState;
use crate::auth;
use crate::problem::ApiError;

/// The stylesheet, embedded.
const CSS: &str = include_str!("../../static/tocsin.css");

/// Every page of the UI.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::dashboard))
        .route("/login", get(session::login_page).post(session::login))
        .route("/logout", post(session::logout))
        .route(
            "/password",
            get(session::password_page).post(session::set_password),
        )
        .route("/cases", get(pages::case_list))
        .route("/cases/{case}", get(pages::case_page))
        .route("/cases/{case}/assess", post(actions::assess))
        .route("/cases/{case}/determine", post(actions::determine))
        .route("/cases/{case}/route", post(actions::choose_route))
        .route("/cases/{case}/reassess", post(review::reassess))
        .route("/cases/{case}/confirm", post(review::confirm))
        .route("/cases/{case}/handoff", post(review::hand_off))
        .route(
            "/cases/{case}/independence",
            post(review::mark_independence),
        )
        .route("/cases/{case}/draft", post(actions::draft))
        .route("/cases/{case}/approve", post(actions::approve))
        .route("/cases/{case}/deliveries", post(delivery::record_delivery))
        .route("/cases/{case}/responses", post(delivery::record_response))
        .route("/cases/{case}/outcome", post(delivery::record_outcome))
        .route("/cases/{case}/advisory", post(delivery::decide_advisory))
        .route("/cases/{case}/waivers", post(waivers::request_waiver))
        .route(
            "/cases/{case}/waivers/decision",
            post(waivers::decide_waiver),
        )
        .route(
            "/reports/new",
            get(intake::intake_page).post(intake::submit_report),
        )
        .route("/reports/upload", post(upload::upload_report))
        .route("/cases/{case}/check", post(check::check))
        .route(
            "/cases/{case}/plan",
            get(plan::plan_page).post(plan::choose),
        )
        .route("/cases/{case}/route/own", post(plan::own_route))
        .route("/cases/{case}/template", post(check::template))
        .route("/cases/{case}/elements", get(elements::elements_page))
        .route(
            "/cases/{case}/contributions",
            post(elements::decide_contribution),
        )
        .route("/cases/{case}/disputes", post(elements::raise_dispute))
        .route(
            "/cases/{case}/disputes/resolution",
            post(elements::resolve_dispute),
        )
        .route("/cases/{case}/relations", post(elements::relate))
        .route(
            "/cases/{case}/reports/{report}/similar",
            get(similar::similar_page),
        )
        .route("/contributions/{id}", get(submitted::contribution_status))
        .route("/disputes", get(elements::disputes_page))
        .route("/static/tocsin-check.js", get(check::script))
        .route("/approvals", get(approvals::approvals))
        .route("/audit", get(audit::audit_page))
        .route("/audit/verify", post(audit::verify))
        .route("/audit/checkpoint", get(audit::checkpoint_file))
        .route("/audit/proof", get(audit::proof_page))
        .route("/audit/proof.json", get(audit::proof_file))
        .route("/records", get(records::records_page))
        .merge(admin_routes())
        .route("/static/tocsin.css", get(stylesheet))
        .layer(middleware::from_fn(page_layer))
}

/// The admin pages (`/admin...`).
fn admin_routes() -> Router<AppState> {
    Router::new()
        .route("/admin", get(admin::accounts))
        .route("/admin/accounts", post(admin::create_account))
        .route(
            "/admin/accounts/{name}",
            get(admin::account).post(admin::change_account),
        )
        .route(
            "/admin/accounts/{name}/disable",
            post(admin::disable_account),
        )
        .route("/admin/accounts/{name}/enable", post(admin::enable_account))
        .route(
            "/admin/accounts/{name}/enrolment",
            post(admin::issue_enrolment),
        )
        .route(
            "/admin/accounts/{name}/tokens/{id}/revoke",
            post(admin::revoke_token),
        )
        .route(
            "/admin/elements",
            get(admin_elements::elements).post(admin_elements::register_element),
        )
        .route("/admin/clearance-levels", post(admin_elements::set_levels))
        .route("/admin/reference", get(admin_reference::reference))
        .route(
            "/admin/reference/relations",
            post(admin_reference::set_relations),
        )
        .route(
            "/admin/reference/directory",
            post(admin_reference::set_directory),
        )
        .route(
            "/admin/notification-targets",
            get(admin_reference::targets).post(admin_reference::add_target),
        )
        .route(
            "/admin/notification-targets/{name}/remove",
            post(admin_reference::remove_target),
        )
        .route("/admin/policy", get(admin_reference::policy))
        .route(
            "/admin/registries",
            get(admin_registries::registries)
                .post(admin_registries::import)
                .layer(admin_registries::upload_limit()),
        )
}

async fn stylesheet() -> Response {
    let mut r = CSS.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    r
}

/// Every page answer: a request id (for the log and an opaque error),
/// no caching of pages, and a policy that allows nothing but our own
/// stylesheet and forms.
async fn page_layer(req: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let id = crate::problem::RequestId::new();
    let mut r = crate::problem::REQUEST_ID
        .scope(id.clone(), next.run(req))
        .await;
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(id.as_str()) {
        h.insert("x-request-id", v);
    }
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    tracing::info!(
        method = %method,
        path = %path,
        route = "ui",
        status = r.status().as_u16(),
        request_id = id.as_str(),
        ms = started.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    r
}

/// Who is looking, as every page's header shows them.
#[derive(Clone, Debug)]
pub(crate) struct Me {
    pub name: String,
    pub display_name: String,
    pub roles: String,
    pub elements: String,
    pub clearance: String,
    /// The session's CSRF token, for the forms of the page.
    pub csrf: String,
    /// Which links the header offers (the service decides on each page).
    pub may_submit: bool,
    pub may_approve: bool,
    pub may_audit: bool,
    /// The records page.
    pub may_keep_records: bool,
    /// Accounts, reference data and registries: the admin pages.
    pub may_admin: bool,
}

impl Me {
    fn of(p: &Principal) -> Self {
        let a = p.account();
        let join = |v: Vec<String>| {
            if v.is_empty() {
                "none".to_owned()
            } else {
                v.join(", ")
            }
        };
        let mut clearance = a.spec.clearance.to_string();
        if !a.spec.compartments.is_empty() {
            let c: Vec<String> = a.spec.compartments.iter().map(|c| c.to_string()).collect();
            clearance = format!("{clearance} ({})", c.join(", "));
        }
        Self {
            name: a.name.to_string(),
            display_name: a.spec.display_name.to_string(),
            roles: join(p.roles().iter().map(|r| r.as_str().to_owned()).collect()),
            elements: join(a.spec.elements.iter().map(|e| e.to_string()).collect()),
            clearance,
            csrf: match p.via() {
                tocsin_service::Via::Session { csrf_token, .. } => csrf_token.clone(),
                _ => String::new(),
            },
            may_submit: p.may(Permission::SubmitReport),
            may_approve: p.may(Permission::Approve),
            may_audit: p.may(Permission::Audit),
            may_keep_records: p.may(Permission::ManageRecords),
            may_admin: p.may(Permission::ManageAccounts) || p.may(Permission::Operate),
        }
    }
}

/// The session's principal, from the cookie; with no good session the
/// page answers a redirect to the login page.
pub(crate) struct Viewer {
    pub p: Principal,
    pub me: Me,
}

/// A session whose holder must still set a password of their own (the
/// one-time enrolment secret): only the password page takes it.
pub(crate) struct AnySession(pub Viewer);

async fn session_of(parts: &Parts, state: &AppState) -> Result<Viewer, Response> {
    let Some(secret) = auth::cookie(&parts.headers, auth::cookie_name(state)) else {
        return Err(Redirect::to("/login").into_response());
    };
    match state.svc.authenticate_session(secret).await {
        Ok(p) => Ok(Viewer { me: Me::of(&p), p }),
        Err(ServiceError::Auth(_)) => Err(Redirect::to("/login").into_response()),
        Err(e) => Err(error_page(None, ApiError::from(e))),
    }
}

impl FromRequestParts<AppState> for AnySession {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        session_of(parts, state).await.map(AnySession)
    }
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let v = session_of(parts, state).await?;
        if v.p.password_change_required() {
            return Err(Redirect::to("/password").into_response());
        }
        Ok(v)
    }
}

#[derive(Deserialize)]
struct CsrfField {
    csrf: Option<String>,
}

/// A form post without the session's CSRF token: refused (403), the
/// refusal recorded by the service under `path`. Every form post's check,
/// urlencoded or multipart, answers with this.
pub(crate) async fn csrf_refusal(state: &AppState, viewer: &Viewer, path: String) -> Response {
    let e = ApiError::new(
        crate::Kind::Csrf,
        "this form did not carry the session's CSRF token: reload the page and send it again",
    );
    state
        .svc
        .refuse(&viewer.p, "ui_form", Some(path), &e.detail)
        .await;
    error_page(Some(&viewer.me), e)
}

/// A form post from a page: the viewer, and the form's fields `T`, after
/// the hidden `csrf` field was found to be the session's token. A post
/// without it is refused (403) and the refusal recorded by the service.
pub(crate) struct CsrfForm<T> {
    pub viewer: Viewer,
    pub form: T,
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = Response;
    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let viewer = AnySession::from_request_parts(&mut parts, state).await?.0;
        let path = parts.uri.path().to_owned();
        let limit = state.config.body_limit;
        let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
            error_page(
                Some(&viewer.me),
                ApiError::new(
                    crate::Kind::PayloadTooLarge,
                    format!("the form is larger than {limit} bytes"),
                ),
            )
        })?;
        let sent: CsrfField =
            serde_urlencoded::from_bytes(&bytes).unwrap_or(CsrfField { csrf: None });
        if !auth::csrf_matches(&viewer.p, sent.csrf.as_deref()) {
            return Err(csrf_refusal(state, &viewer, path).await);
        }
        if viewer.p.password_change_required() && parts.uri.path() != "/password" {
            return Err(Redirect::to("/password").into_response());
        }
        let form = serde_urlencoded::from_bytes(&bytes).map_err(|e| {
            error_page(
                Some(&viewer.me),
                ApiError::validation(format!("the form is not valid: {e}")),
            )
        })?;
        Ok(Self { viewer, form })
    }
}

/// An unknown path: a page for a browser (it asks for HTML), the API's
/// problem for everyone else.
pub(crate) async fn not_found(
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
) -> Response {
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if wants_html && !uri.path().starts_with("/api/") {
        let e = ApiError::not_found(format!("there is no page {}", uri.path()));
        return error_page(None, e);
    }
    crate::table::not_found(method, uri).await.into_response()
}

/// A rendered page with `status`; a template that fails to render is an
/// opaque 500.
pub(crate) fn render(status: StatusCode, t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => {
            let mut r = (status, html).into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            r
        }
        Err(e) => {
            let mut e = ApiError::internal(format!("template: {e}"));
            e.log_cause();
            (StatusCode::INTERNAL_SERVER_ERROR, e.detail).into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    me: Option<&'a Me>,
    title: &'a str,
    status: u16,
    detail: &'a str,
}

/// An error the service (or the form) answered, as a page with the status
/// the API would answer. A 500 shows only the request id.
pub(crate) fn error_page(me: Option<&Me>, mut e: ApiError) -> Response {
    e.log_cause();
    let status = e.kind.status();
    render(
        status,
        &ErrorPage {
            me,
            title: e.kind.title(),
            status: status.as_u16(),
            detail: &e.detail,
        },
    )
}
