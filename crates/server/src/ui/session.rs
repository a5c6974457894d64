//! Logging in and out, and setting one's own password (a session opened
//! with a one-time enrolment secret may do nothing else). The same service
//! calls and the same cookie as the API's `session` routes.

use askama::Template;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tocsin_domain::access::Password;
use tocsin_service::ServiceError;

use super::{AnySession, CsrfForm, Me, error_page, render};
use crate::AppState;
use crate::auth;
use crate::problem::ApiError;
use crate::table::client_address;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    me: Option<&'a Me>,
    name: &'a str,
    error: Option<String>,
    demo: Option<&'a crate::DemoAccounts>,
}

fn login_form(state: &AppState, status: StatusCode, name: &str, error: Option<String>) -> Response {
    render(
        status,
        &LoginPage {
            me: None,
            name,
            error,
            demo: state.config.demo.as_ref(),
        },
    )
}

pub(super) async fn login_page(State(state): State<AppState>) -> Response {
    login_form(&state, StatusCode::OK, "", None)
}

#[derive(Deserialize)]
pub(super) struct LoginForm {
    name: String,
    password: String,
}

/// A redirect that also sets (or clears) the session cookie.
fn with_cookie(to: &str, state: &AppState, secret: Option<&str>) -> Response {
    let mut r = Redirect::to(to).into_response();
    if let Some(c) = auth::session_cookie(state, secret) {
        r.headers_mut().insert(header::SET_COOKIE, c);
    }
    r
}

pub(super) async fn login(State(state): State<AppState>, req: Request) -> Response {
    // There is no session yet, so no CSRF token: a login posted from
    // another site (which would log the browser into someone else's
    // account) is told apart by the browser's own Sec-Fetch-Site header.
    let cross_site = req
        .headers()
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes() == b"cross-site");
    if cross_site {
        return error_page(
            None,
            ApiError::new(
                crate::Kind::Csrf,
                "a login must be posted from tocsin's own login page",
            ),
        );
    }
    let address = client_address(req.extensions());
    let f: LoginForm = match axum::body::to_bytes(req.into_body(), state.config.body_limit)
        .await
        .ok()
        .and_then(|b| serde_urlencoded::from_bytes(&b).ok())
    {
        Some(f) => f,
        None => {
            return login_form(
                &state,
                StatusCode::UNPROCESSABLE_ENTITY,
                "",
                Some("give a name and a password".into()),
            );
        }
    };
    match state.svc.login(&f.name, f.password, address).await {
        Ok(s) => {
            let to = if s.record.must_change_password {
                "/password"
            } else {
                "/"
            };
            with_cookie(to, &state, Some(&s.secret))
        }
        Err(e @ ServiceError::Auth(_)) => {
            let e = ApiError::from(e);
            login_form(&state, e.kind.status(), &f.name, Some(e.detail))
        }
        Err(e) => error_page(None, ApiError::from(e)),
    }
}

#[derive(Deserialize)]
pub(crate) struct Empty {}

pub(super) async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    _form: CsrfForm<Empty>,
) -> Response {
    if let Some(secret) = auth::cookie(&headers, auth::cookie_name(&state))
        && let Err(e) = state.svc.logout(secret).await
    {
        return error_page(None, ApiError::from(e));
    }
    with_cookie("/login", &state, None)
}

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage<'a> {
    me: Option<&'a Me>,
    required: bool,
    error: Option<String>,
    field: String,
}

pub(super) async fn password_page(AnySession(v): AnySession) -> Response {
    render(
        StatusCode::OK,
        &PasswordPage {
            me: Some(&v.me),
            required: v.p.password_change_required(),
            error: None,
            field: String::new(),
        },
    )
}

#[derive(Deserialize)]
pub(super) struct PasswordForm {
    current: String,
    new: String,
    confirm: String,
}

/// Sets one's own password, then logs in with it (changing it ends every
/// session, this one too).
pub(super) async fn set_password(
    State(state): State<AppState>,
    c: CsrfForm<PasswordForm>,
) -> Response {
    let (v, f) = (c.viewer, c.form);
    let again = |status: StatusCode, field: &str, error: String| {
        render(
            status,
            &PasswordPage {
                me: Some(&v.me),
                required: v.p.password_change_required(),
                error: Some(error),
                field: field.to_owned(),
            },
        )
    };
    if f.new != f.confirm {
        return again(
            StatusCode::UNPROCESSABLE_ENTITY,
            "confirm",
            "the two new passwords differ".into(),
        );
    }
    let new = match Password::new(f.new.clone()) {
        Ok(p) => p,
        Err(e) => return again(StatusCode::UNPROCESSABLE_ENTITY, "new", e.to_string()),
    };
    match state.svc.change_own_password(&v.p, f.current, new).await {
        Ok(()) => {}
        Err(e @ (ServiceError::Auth(_) | ServiceError::Invalid { .. })) => {
            let field = if matches!(e, ServiceError::Auth(_)) {
                "current"
            } else {
                "new"
            };
            let e = ApiError::from(e);
            return again(e.kind.status(), field, e.detail);
        }
        Err(e) => return error_page(Some(&v.me), ApiError::from(e)),
    }
    match state.svc.login(v.p.name().as_str(), f.new, None).await {
        Ok(s) => with_cookie("/", &state, Some(&s.secret)),
        Err(_) => with_cookie("/login", &state, None),
    }
}
