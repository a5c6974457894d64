//! The audit page: the latest signed checkpoint (and where to download
//! it), a full verification of the ledger on request, and the access log
//! as the service filters it for the reader. Everything needs the `audit`
//! permission, which the service checks.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use tocsin_service::Principal;

use super::session::Empty;
use super::view::when;
use super::{CsrfForm, Me, Viewer, error_page, render};
use crate::AppState;
use crate::problem::ApiError;

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage<'a> {
    me: Option<&'a Me>,
    size: u64,
    root: String,
    checkpoint: String,
    verifier_key: String,
    /// The verification just run: whether it passed, and what it found.
    verified: Option<(bool, String)>,
    /// Position, time, who, what.
    access: Vec<(u64, String, String, String)>,
}

async fn page(
    state: &AppState,
    me: &Me,
    p: &Principal,
    verified: Option<(bool, String)>,
) -> Response {
    let head = match state.svc.checkpoint(p).await {
        Ok(h) => h,
        Err(e) => return error_page(Some(me), ApiError::from(e)),
    };
    let log = match state.svc.access_log(p, 0, 100).await {
        Ok(l) => l,
        Err(e) => return error_page(Some(me), ApiError::from(e)),
    };
    render(
        StatusCode::OK,
        &AuditPage {
            me: Some(me),
            size: head.size,
            root: head.root.to_base64(),
            checkpoint: head.checkpoint.unwrap_or_default(),
            verifier_key: head.verifier_key,
            verified,
            access: log
                .items
                .iter()
                .map(|e| {
                    (
                        e.position,
                        when(e.recorded_at),
                        e.actor.to_string(),
                        e.event.kind().replace('_', " "),
                    )
                })
                .collect(),
        },
    )
}

pub(super) async fn audit_page(State(state): State<AppState>, v: Viewer) -> Response {
    page(&state, &v.me, &v.p, None).await
}

/// Verifies the whole ledger now (every leaf, node and signed checkpoint).
pub(super) async fn verify(State(state): State<AppState>, c: CsrfForm<Empty>) -> Response {
    let v = &c.viewer;
    let verified = match state.svc.verify_ledger(&v.p).await {
        Ok(Ok(r)) => (
            true,
            format!(
                "OK: {} events, root {}, {} signed checkpoints checked",
                r.size,
                r.root.to_base64(),
                r.checkpoints
            ),
        ),
        Ok(Err(f)) => (false, format!("FAILED: {f}")),
        Err(e) => return error_page(Some(&v.me), ApiError::from(e)),
    };
    page(&state, &v.me, &v.p, Some(verified)).await
}
