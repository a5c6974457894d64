//! A case across elements, on a page of its own linked from the case page:
//! the contributions other elements sent (the lead element accepts or
//! declines each), disputes (raised by a member of an element the case is
//! shared with, resolved by an arbiter), and merging or linking with
//! another case. Each form post runs the service method the API's route
//! runs (`accept_contribution`, `decline_contribution`, `raise_dispute`,
//! `resolve_dispute`, `merge_cases`, `link_cases`); a refusal shows the
//! page again with the service's answer beside the form.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tocsin_domain::access::Permission;
use tocsin_domain::text::Reason;
use tocsin_domain::{CaseRef, ContributionId, DisputeId};
use tocsin_service::ServiceError;

use super::across::{self, AcrossView};
use super::actions::invalid;
use super::{CsrfForm, Me, Viewer, error_page, render};
use crate::AppState;
use crate::problem::ApiError;

#[derive(Template)]
#[template(path = "elements.html")]
struct ElementsPage<'a> {
    me: Option<&'a Me>,
    reference: String,
    title: String,
    a: AcrossView,
    may_analyse: bool,
    may_arbitrate: bool,
    /// The form a refusal is about, and the service's answer.
    error: Option<(&'static str, String)>,
}

impl ElementsPage<'_> {
    fn err(&self, form: &str) -> Option<&str> {
        self.error
            .as_ref()
            .filter(|(f, _)| *f == form)
            .map(|(_, e)| e.as_str())
    }
}

async fn show(
    state: &AppState,
    v: &Viewer,
    reference: &str,
    error: Option<(&'static str, String)>,
    status: StatusCode,
) -> Response {
    let Ok(r) = reference.parse::<CaseRef>() else {
        return error_page(
            Some(&v.me),
            ApiError::not_found(format!("there is no case {reference}")),
        );
    };
    let case = match state.svc.read_case(&v.p, r).await {
        Ok(c) => c,
        Err(e) => return error_page(Some(&v.me), ApiError::from(e)),
    };
    render(
        status,
        &ElementsPage {
            me: Some(&v.me),
            reference: case
                .number
                .map(|n| n.to_string())
                .unwrap_or_else(|| case.id.to_string()),
            title: case.title.to_string(),
            a: AcrossView::of(&case),
            may_analyse: v.p.may(Permission::Analyse),
            may_arbitrate: v.p.may(Permission::Arbitrate),
            error,
        },
    )
}

pub(super) async fn elements_page(
    State(state): State<AppState>,
    v: Viewer,
    Path(reference): Path<String>,
) -> Response {
    show(&state, &v, &reference, None, StatusCode::OK).await
}

/// The page after a form post: back to it on success, or with the error.
async fn after(
    state: &AppState,
    v: &Viewer,
    reference: &str,
    form: &'static str,
    done: Result<(), ServiceError>,
) -> Response {
    match done {
        Ok(()) => Redirect::to(&format!("/cases/{reference}/elements#{form}")).into_response(),
        Err(e) => {
            let mut e = ApiError::from(e);
            if e.kind.status().is_server_error() {
                return error_page(Some(&v.me), e);
            }
            e.log_cause();
            show(
                state,
                v,
                reference,
                Some((form, e.detail.clone())),
                e.kind.status(),
            )
            .await
        }
    }
}

fn reason(field: &str, s: &str) -> Result<Reason, ServiceError> {
    Reason::new(s.trim()).map_err(|e| invalid(field, e))
}

fn case_ref(field: &str, s: &str) -> Result<CaseRef, ServiceError> {
    s.trim()
        .parse()
        .map_err(|_| invalid(field, "give a case number (2024-0007) or a case id"))
}

#[derive(Deserialize)]
pub(super) struct ContributionForm {
    contribution: String,
    decision: String,
    #[serde(default)]
    reason: String,
}

pub(super) async fn decide_contribution(
    State(state): State<AppState>,
    Path(reference): Path<String>,
    c: CsrfForm<ContributionForm>,
) -> Response {
    let (v, f) = (&c.viewer, &c.form);
    let done = async {
        let id: ContributionId = f
            .contribution
            .parse()
            .map_err(|_| ServiceError::NotFound("there is no such contribution".into()))?;
        let case = state
            .svc
            .case(&v.p, case_ref("case", &reference)?, "decide_contribution")
            .await?;
        match f.decision.as_str() {
            "accept" => state.svc.accept_contribution(&v.p, &case, id).await,
            "decline" => {
                let why = reason("reason", &f.reason)?;
                state.svc.decline_contribution(&v.p, &case, id, why).await
            }
            _ => Err(invalid("decision", "accept or decline")),
        }
        .map(|_| ())
    }
    .await;
    after(&state, v, &reference, "contributions", done).await
}

#[derive(Deserialize)]
pub(super) struct DisputeForm {
    subject: String,
    statement: String,
}

pub(super) async fn raise_dispute(
    State(state): State<AppState>,
    Path(reference): Path<String>,
    c: CsrfForm<DisputeForm>,
) -> Response {
    let (v, f) = (&c.viewer, &c.form);
    let done = async {
        let subject = across::subject(&f.subject)
            .ok_or_else(|| invalid("subject", "choose what the dispute is about"))?;
        let statement = reason("statement", &f.statement)?;
        let case = state
            .svc
            .case(&v.p, case_ref("case", &reference)?, "raise_dispute")
            .await?;
        state
            .svc
            .raise_dispute(&v.p, &case, subject, statement)
            .await
            .map(|_| ())
    }
    .await;
    after(&state, v, &reference, "disputes", done).await
}

#[derive(Deserialize)]
pub(super) struct ResolveForm {
    dispute: String,
    reason: String,
}

pub(super) async fn resolve_dispute(
    State(state): State<AppState>,
    Path(reference): Path<String>,
    c: CsrfForm<ResolveForm>,
) -> Response {
    let (v, f) = (&c.viewer, &c.form);
    let done = async {
        let id: DisputeId = f
            .dispute
            .parse()
            .map_err(|_| ServiceError::NotFound("there is no such dispute".into()))?;
        let why = reason("reason", &f.reason)?;
        let case = state
            .svc
            .case(&v.p, case_ref("case", &reference)?, "resolve_dispute")
            .await?;
        state
            .svc
            .resolve_dispute(&v.p, &case, id, why)
            .await
            .map(|_| ())
    }
    .await;
    after(&state, v, &reference, "disputes", done).await
}

#[derive(Deserialize)]
pub(super) struct RelationForm {
    /// `link`, `absorb` (the other case into this one) or `into` (this
    /// case into the other).
    kind: String,
    other: String,
}

pub(super) async fn relate(
    State(state): State<AppState>,
    Path(reference): Path<String>,
    c: CsrfForm<RelationForm>,
) -> Response {
    let (v, f) = (&c.viewer, &c.form);
    let done = async {
        let this = case_ref("case", &reference)?;
        let other = case_ref("other", &f.other)?;
        let svc = &state.svc;
        match f.kind.as_str() {
            "link" => svc.link_cases(&v.p, this, other).await,
            "absorb" => svc.merge_cases(&v.p, other, this).await,
            "into" => svc.merge_cases(&v.p, this, other).await,
            _ => Err(invalid("kind", "link, or merge one way or the other")),
        }
        .map(|_| ())
    }
    .await;
    after(&state, v, &reference, "relations", done).await
}

#[derive(Template)]
#[template(path = "disputes.html")]
struct DisputesPage<'a> {
    me: Option<&'a Me>,
    /// Case, subject, statement, raised, due, how long left or late, late.
    items: Vec<(String, String, String, String, String, String, bool)>,
}

/// The open disputes of the cases the arbiter may see, the soonest due
/// first (the API's `list_disputes`).
pub(super) async fn disputes_page(State(state): State<AppState>, v: Viewer) -> Response {
    let open = match state.svc.open_disputes(&v.p).await {
        Ok(o) => o,
        Err(e) => return error_page(Some(&v.me), ApiError::from(e)),
    };
    let now = state.svc.now();
    let items = open
        .iter()
        .map(|d| {
            let (left, late) = super::show::countdown(d.due, now);
            (
                d.number
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| d.case_id.to_string()),
                d.subject.describe(),
                d.statement.to_string(),
                format!("by {} at {}", d.raised_by, super::show::when(d.raised_at)),
                super::show::when(d.due),
                left,
                late,
            )
        })
        .collect();
    render(
        StatusCode::OK,
        &DisputesPage {
            me: Some(&v.me),
            items,
        },
    )
}
