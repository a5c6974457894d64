//! The audit page: the latest signed checkpoint (and its download), a
//! full verification of the ledger run in the background with its
//! progress, the inclusion proof of any event (and its download, as the
//! API's JSON), and the access log, a page at a time, as the service
//! filters it for the reader. Everything needs the `audit` permission,
//! which the service checks.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tocsin_service::Principal;
use tocsin_service::background::Counter;

use super::session::Empty;
use super::view::when;
use super::{CsrfForm, Me, Viewer, error_page, render};
use crate::AppState;
use crate::api::audit::InclusionView;
use crate::jobs::Run;
use crate::problem::ApiError;
use tocsin_store::audit::{Failure, VerifyReport};

/// Entries of the access log per page.
const ACCESS_PAGE: usize = 50;

/// Seconds between two reloads of a page that shows a run in progress.
pub(super) const REFRESH_SECONDS: u32 = 2;

/// How long a post that starts a run waits for it before answering: a
/// short run (a small ledger) is shown done at once, a long one as its
/// progress.
pub(super) const SETTLE: std::time::Duration = std::time::Duration::from_secs(1);

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage<'a> {
    me: Option<&'a Me>,
    size: u64,
    root: String,
    checkpoint: String,
    verifier_key: String,
    /// The verification running or last run, if any.
    verification: Option<Progress>,
    /// Whether that verification is still running.
    running: bool,
    /// Whether the reader asked the page not to reload itself.
    quiet: bool,
    /// Position, time, who, what.
    access: Vec<(u64, String, String, String)>,
    /// The cursor this page started after (0: the first page).
    after: u64,
    /// The cursor of the next page, if there is one.
    next: Option<u64>,
}

/// A background run as a page shows it.
pub(super) struct Progress {
    pub started_by: String,
    pub started_at: String,
    pub what: String,
    pub done: u64,
    pub total: u64,
    /// `None` while it runs; else whether it passed, and what it found.
    pub outcome: Option<(bool, String)>,
}

impl Progress {
    pub(super) fn of<T>(
        run: &Run<T>,
        outcome: impl FnOnce(&Result<T, String>) -> (bool, String),
    ) -> Self {
        let (done, total) = run.counter.get();
        Self {
            started_by: run.started_by.clone(),
            started_at: when(run.started_at),
            what: run.what.clone(),
            done,
            total,
            outcome: run.result().map(outcome),
        }
    }

    pub(super) fn running(&self) -> bool {
        self.outcome.is_none()
    }
}

/// A page that reloads itself while `running`, unless the reader asked it
/// to stay still (`quiet`): the `Refresh` header, which every browser
/// follows without script. (Not a `<meta http-equiv="refresh">`: axe-core
/// counts a timed one as a critical violation, and the page says that it
/// reloads and offers to stop.)
pub(super) fn refreshing(running: bool, quiet: bool, mut r: Response) -> Response {
    if running
        && !quiet
        && let Ok(v) = HeaderValue::from_str(&REFRESH_SECONDS.to_string())
    {
        r.headers_mut().insert("refresh", v);
    }
    r
}

fn verification_outcome(r: &Result<Result<VerifyReport, Failure>, String>) -> (bool, String) {
    match r {
        Ok(Ok(r)) => (
            true,
            format!(
                "OK: verified {} events, root {}, {} signed checkpoints checked",
                r.size,
                r.root.to_base64(),
                r.checkpoints
            ),
        ),
        Ok(Err(f)) => (false, format!("FAILED: {f}")),
        Err(e) => (false, format!("The verification could not finish: {e}")),
    }
}

#[derive(Deserialize)]
pub(super) struct AccessQuery {
    after: Option<u64>,
    /// Present: do not reload the page while a verification runs.
    quiet: Option<String>,
}

async fn page(state: &AppState, me: &Me, p: &Principal, after: u64, quiet: bool) -> Response {
    let head = match state.svc.checkpoint(p).await {
        Ok(h) => h,
        Err(e) => return error_page(Some(me), ApiError::from(e)),
    };
    let log = match state.svc.access_log(p, after, ACCESS_PAGE).await {
        Ok(l) => l,
        Err(e) => return error_page(Some(me), ApiError::from(e)),
    };
    let verification = state
        .background
        .verification
        .current()
        .map(|r| Progress::of(&r, verification_outcome));
    let running = verification.as_ref().is_some_and(Progress::running);
    let r = render(
        StatusCode::OK,
        &AuditPage {
            me: Some(me),
            size: head.size,
            root: head.root.to_base64(),
            checkpoint: head.checkpoint.unwrap_or_default(),
            verifier_key: head.verifier_key,
            verification,
            running,
            quiet,
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
            after,
            next: log.next,
        },
    );
    refreshing(running, quiet, r)
}

pub(super) async fn audit_page(
    State(state): State<AppState>,
    v: Viewer,
    Query(q): Query<AccessQuery>,
) -> Response {
    page(&state, &v.me, &v.p, q.after.unwrap_or(0), q.quiet.is_some()).await
}

/// Starts a verification of the whole ledger (every leaf, node and signed
/// checkpoint) in the background, unless one is running, and shows it.
pub(super) async fn verify(State(state): State<AppState>, c: CsrfForm<Empty>) -> Response {
    let v = &c.viewer;
    let check = match state.svc.ledger_check(&v.p).await {
        Ok(check) => check,
        Err(e) => return error_page(Some(&v.me), ApiError::from(e)),
    };
    let (run, _) = state.background.verification.start(
        v.p.name().to_string(),
        state.svc.now(),
        "the whole ledger".to_owned(),
        move |counter: std::sync::Arc<Counter>| async move {
            check.run(&counter).await.map_err(|e| {
                let mut e = ApiError::from(e);
                e.log_cause();
                e.detail
            })
        },
    );
    run.settle(SETTLE).await;
    Redirect::to("/audit#verify").into_response()
}

/// The latest signed checkpoint as a file (the C2SP signed note).
pub(super) async fn checkpoint_file(State(state): State<AppState>, v: Viewer) -> Response {
    let head = match state.svc.checkpoint(&v.p).await {
        Ok(h) => h,
        Err(e) => return error_page(Some(&v.me), ApiError::from(e)),
    };
    let Some(note) = head.checkpoint else {
        return error_page(
            Some(&v.me),
            ApiError::not_found("the ledger is empty: there is no checkpoint yet"),
        );
    };
    attachment(
        "text/plain; charset=utf-8",
        &format!("tocsin-checkpoint-{}.txt", head.size),
        note,
    )
}

/// `body` as a download named `filename`.
pub(super) fn attachment(content_type: &'static str, filename: &str, body: String) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

#[derive(Deserialize)]
pub(super) struct ProofQuery {
    position: Option<String>,
}

#[derive(Template)]
#[template(path = "proof.html")]
struct ProofPage<'a> {
    me: Option<&'a Me>,
    /// What was typed, shown again.
    position: String,
    error: Option<String>,
    proof: Option<InclusionView>,
}

/// The position asked for, or the message shown beside the field.
fn position(q: &ProofQuery) -> Option<Result<u64, String>> {
    let raw = q
        .position
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())?;
    Some(
        raw.parse::<u64>()
            .map_err(|_| format!("'{raw}' is not a ledger position (a whole number from 0)")),
    )
}

async fn proof_of(
    state: &AppState,
    p: &Principal,
    position: u64,
) -> Result<InclusionView, ApiError> {
    let r = state.svc.inclusion_proof(p, position, None).await?;
    Ok(InclusionView {
        position: r.position,
        size: r.size,
        leaf_hash: r.leaf_hash.to_base64(),
        root: r.root.to_base64(),
        proof: r.proof.iter().map(|h| h.to_base64()).collect(),
    })
}

/// The inclusion proof of the event at `?position=N` in the current tree.
pub(super) async fn proof_page(
    State(state): State<AppState>,
    v: Viewer,
    Query(q): Query<ProofQuery>,
) -> Response {
    // The page itself is the auditor's: the service says who that is.
    if let Err(e) = state.svc.checkpoint(&v.p).await {
        return error_page(Some(&v.me), ApiError::from(e));
    }
    let mut page = ProofPage {
        me: Some(&v.me),
        position: q.position.clone().unwrap_or_default(),
        error: None,
        proof: None,
    };
    let mut status = StatusCode::OK;
    match position(&q) {
        None => {}
        Some(Err(msg)) => {
            page.error = Some(msg);
            status = StatusCode::UNPROCESSABLE_ENTITY;
        }
        Some(Ok(n)) => match proof_of(&state, &v.p, n).await {
            Ok(proof) => page.proof = Some(proof),
            Err(e) if e.kind.status().is_server_error() => return error_page(Some(&v.me), e),
            Err(e) => {
                status = e.kind.status();
                page.error = Some(e.detail);
            }
        },
    }
    render(status, &page)
}

/// The same proof as a JSON file, in the shape of the API's
/// `GET /api/v1/audit/proofs/inclusion`.
pub(super) async fn proof_file(
    State(state): State<AppState>,
    v: Viewer,
    Query(q): Query<ProofQuery>,
) -> Response {
    let n = match position(&q) {
        Some(Ok(n)) => n,
        Some(Err(msg)) => return error_page(Some(&v.me), ApiError::validation(msg)),
        None => {
            return error_page(
                Some(&v.me),
                ApiError::validation("give the position of an event: ?position=N"),
            );
        }
    };
    match proof_of(&state, &v.p, n).await {
        Ok(proof) => match serde_json::to_string_pretty(&proof) {
            Ok(json) => attachment(
                "application/json",
                &format!("tocsin-inclusion-{}-{}.json", proof.position, proof.size),
                json,
            ),
            Err(e) => error_page(Some(&v.me), ApiError::internal(format!("proof JSON: {e}"))),
        },
        Err(e) => error_page(Some(&v.me), e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn me() -> Me {
        Me {
            name: "auditor".into(),
            display_name: "An Auditor".into(),
            roles: "auditor".into(),
            elements: "none".into(),
            clearance: "SECRET".into(),
            csrf: "token".into(),
            may_submit: false,
            may_approve: false,
            may_audit: true,
            may_keep_records: false,
            may_admin: false,
        }
    }

    fn page(me: &Me, outcome: Option<(bool, String)>, quiet: bool) -> String {
        let running = outcome.is_none();
        AuditPage {
            me: Some(me),
            size: 9000,
            root: "root".into(),
            checkpoint: "note".into(),
            verifier_key: "key".into(),
            verification: Some(Progress {
                started_by: "auditor".into(),
                started_at: "2026-12-04 13:00 UTC".into(),
                what: "the whole ledger".into(),
                done: 4096,
                total: 9000,
                outcome,
            }),
            running,
            quiet,
            access: vec![],
            after: 0,
            next: None,
        }
        .render()
        .unwrap()
    }

    #[test]
    fn a_running_verification_shows_how_far_it_got_and_offers_no_second_one() {
        let me = me();
        let html = page(&me, None, false);
        assert!(html.contains("Verified 4096 of 9000 leaves"), "{html}");
        assert!(
            html.contains(r#"<progress max="9000" value="4096""#),
            "{html}"
        );
        assert!(html.contains("?quiet=1"), "{html}");
        assert!(!html.contains(r#"id="verify-ledger""#), "{html}");
        let quiet = page(&me, None, true);
        assert!(quiet.contains(r#"id="verify-reload""#), "{quiet}");
        let done = page(&me, Some((true, "OK: verified 9000 events".into())), false);
        assert!(done.contains(r#"id="verify-result""#), "{done}");
        assert!(!done.contains("<progress"), "{done}");
        assert!(done.contains(r#"id="verify-ledger""#), "{done}");
    }
}
