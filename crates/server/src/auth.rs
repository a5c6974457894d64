//! Credentials on the wire: `Authorization: Bearer <token>` for machines,
//! a session cookie for browsers (with a CSRF token for state changes).

use axum::http::{HeaderMap, HeaderValue, Method, header};
use tocsin_service::{Principal, Via};

use crate::AppState;
use crate::problem::{ApiError, Kind};

/// The session cookie's name with the `__Host-` prefix (Secure, Path=/, no Domain).
pub const SESSION_COOKIE: &str = "__Host-tocsin_session";
/// Its name where secure cookies are turned off.
pub const PLAIN_SESSION_COOKIE: &str = "tocsin_session";
/// The header that carries the CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";

pub fn cookie_name(state: &AppState) -> &'static str {
    if state.config.secure_cookies {
        SESSION_COOKIE
    } else {
        PLAIN_SESSION_COOKIE
    }
}

/// The value of one cookie from the `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// `Set-Cookie` for a new session (or, with `None`, one that clears it).
pub fn session_cookie(state: &AppState, secret: Option<&str>) -> Option<HeaderValue> {
    let name = cookie_name(state);
    let secure = if state.config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let value = match secret {
        Some(s) => format!(
            "{name}={s}; Path=/; HttpOnly; SameSite=Strict{secure}; Max-Age={}",
            state.svc.auth_config().session_absolute.as_secs()
        ),
        None => format!("{name}=; Path=/; HttpOnly; SameSite=Strict{secure}; Max-Age=0"),
    };
    HeaderValue::from_str(&value).ok()
}

/// Who is calling, from a bearer token or the session cookie.
pub async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Principal, ApiError> {
    if let Some(v) = headers.get(header::AUTHORIZATION) {
        let v = v.to_str().map_err(|_| {
            ApiError::new(
                Kind::Unauthenticated,
                "the Authorization header is not text",
            )
        })?;
        let Some(token) = v
            .strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))
        else {
            return Err(ApiError::new(
                Kind::Unauthenticated,
                "use `Authorization: Bearer <token>`",
            ));
        };
        return Ok(state.svc.authenticate_token(token.trim()).await?);
    }
    if let Some(secret) = cookie(headers, cookie_name(state)) {
        return Ok(state.svc.authenticate_session(secret).await?);
    }
    Err(ApiError::new(
        Kind::Unauthenticated,
        "no credential: log in (POST /api/v1/session) or send `Authorization: Bearer <token>`",
    ))
}

/// Cookie-authenticated requests that change state must carry the
/// session's CSRF token in `X-CSRF-Token` (token-authenticated ones cannot
/// be forged by another site, so they need none).
pub fn check_csrf(method: &Method, headers: &HeaderMap, p: &Principal) -> Result<(), ApiError> {
    let safe = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    if safe {
        return Ok(());
    }
    if let Via::Session { .. } = p.via() {
        let sent = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
        if !csrf_matches(p, sent) {
            return Err(ApiError::new(
                Kind::Csrf,
                "a state change with a session cookie needs the session's CSRF token in the X-CSRF-Token header",
            ));
        }
    }
    Ok(())
}

/// Whether `sent` is the CSRF token of `p`'s session (compared in constant
/// time). The one check of a token, whether it came in the API's header or
/// in a web form's hidden `csrf` field. A credential that is not a session
/// has no token, and nothing matches it.
pub fn csrf_matches(p: &Principal, sent: Option<&str>) -> bool {
    let Via::Session { csrf_token, .. } = p.via() else {
        return false;
    };
    sent.is_some_and(|s| {
        use subtle::ConstantTimeEq;
        bool::from(s.as_bytes().ct_eq(csrf_token.as_bytes()))
    })
}
