//! The route plan on a page of its own: the planner's candidates, best
//! first, each with its reason; the routes considered and ruled out, with
//! why; the planner's notes; and the set of warnings the policy proposes
//! (one recipient per role). From it an analyst chooses a candidate as the
//! route of a warning without one, or adds a further warning (W2, W3...)
//! to another recipient: the API's `choose_candidate` with or without
//! `new_warning`, through the same service method.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tocsin_domain::CaseRef;
use tocsin_domain::text::Reason;
use tocsin_domain::warning::RouteFor;
use tocsin_service::ServiceError;

use super::actions::invalid;
use super::show::words;
use super::view::warning_number;
use super::{CsrfForm, Me, Viewer, error_page, render};
use crate::AppState;
use crate::problem::ApiError;

struct Candidate {
    rank: u32,
    score: u32,
    approach: String,
    route: String,
    reason: String,
}

#[derive(Template)]
#[template(path = "plan.html")]
struct PlanPage<'a> {
    me: Option<&'a Me>,
    reference: String,
    title: String,
    candidates: Vec<Candidate>,
    /// Route, why ruled out.
    excluded: Vec<(String, String)>,
    notes: Vec<String>,
    /// The warnings the policy proposes: candidate rank, recipient, role,
    /// required.
    proposed: Vec<(u32, String, String, bool)>,
    /// The case's warnings: label, route (empty when none is chosen).
    warnings: Vec<(String, String)>,
    /// Where the choice goes by default: the first warning without a
    /// route, else a new warning.
    default_target: String,
    error: Option<String>,
    rationale: String,
}

async fn show(
    state: &AppState,
    v: &Viewer,
    reference: &str,
    error: Option<String>,
    rationale: String,
    status: StatusCode,
) -> Response {
    let Ok(r) = reference.parse::<CaseRef>() else {
        return error_page(
            Some(&v.me),
            ApiError::not_found(format!("there is no case {reference}")),
        );
    };
    let loaded = async {
        let case = state.svc.case(&v.p, r, "route_plan").await?;
        let plan = state.svc.route_plan(&v.p, r).await?;
        Ok::<_, ServiceError>((case, plan))
    }
    .await;
    let (case, view) = match loaded {
        Ok(x) => x,
        Err(e) => return error_page(Some(&v.me), ApiError::from(e)),
    };
    let plan = &view.plan;
    let warnings: Vec<(String, String)> = case
        .warnings
        .iter()
        .map(|w| {
            (
                w.number.to_string(),
                w.route
                    .as_ref()
                    .map(|r| r.route.describe())
                    .unwrap_or_default(),
            )
        })
        .collect();
    let default_target = warnings
        .iter()
        .find(|(_, r)| r.is_empty())
        .map(|(l, _)| l.clone())
        .unwrap_or_else(|| "new".into());
    render(
        status,
        &PlanPage {
            me: Some(&v.me),
            reference: case
                .number
                .map(|n| n.to_string())
                .unwrap_or_else(|| case.id.to_string()),
            title: case.title.to_string(),
            candidates: plan
                .candidates
                .iter()
                .map(|c| Candidate {
                    rank: c.rank,
                    score: c.score,
                    approach: words(&c.approach),
                    route: c.route.describe(),
                    reason: c.reason.to_string(),
                })
                .collect(),
            excluded: plan
                .excluded
                .iter()
                .map(|x| {
                    (
                        x.route.describe(),
                        format!("{}: {}", words(&x.cause), x.reason),
                    )
                })
                .collect(),
            notes: plan.notes.clone(),
            proposed: view
                .warning_set
                .warnings
                .iter()
                .map(|w| {
                    (
                        w.candidate,
                        w.recipient.name.to_string(),
                        words(&w.role),
                        w.required,
                    )
                })
                .collect(),
            warnings,
            default_target,
            error,
            rationale,
        },
    )
}

pub(super) async fn plan_page(
    State(state): State<AppState>,
    v: Viewer,
    Path(reference): Path<String>,
) -> Response {
    show(&state, &v, &reference, None, String::new(), StatusCode::OK).await
}

#[derive(Deserialize)]
pub(super) struct ChoiceForm {
    #[serde(default)]
    candidate: String,
    /// `new` (a further warning), or a warning's label (`W1`).
    #[serde(default)]
    target: String,
    #[serde(default)]
    rationale: String,
}

/// Where a chosen candidate goes, from the form's `target`.
fn target(s: &str) -> Result<RouteFor, ServiceError> {
    match s.trim() {
        "" => Ok(RouteFor::Only),
        "new" => Ok(RouteFor::NewWarning),
        t => warning_number(Some(t))
            .map(RouteFor::Warning)
            .ok_or_else(|| invalid("target", format!("there is no warning “{t}”"))),
    }
}

pub(super) async fn choose(
    State(state): State<AppState>,
    Path(reference): Path<String>,
    c: CsrfForm<ChoiceForm>,
) -> Response {
    let (v, f) = (&c.viewer, &c.form);
    let done = async {
        let rank: u32 = f
            .candidate
            .parse()
            .map_err(|_| invalid("candidate", "choose one of the candidates"))?;
        let to = target(&f.target)?;
        let rationale = match f.rationale.trim() {
            "" => None,
            r => Some(Reason::new(r).map_err(|e| invalid("rationale", e))?),
        };
        let r: CaseRef = reference
            .parse()
            .map_err(|_| ServiceError::CaseNotFound(reference.clone()))?;
        let case = state.svc.case(&v.p, r, "choose_candidate").await?;
        state
            .svc
            .choose_candidate(&v.p, &case, rank, rationale, to)
            .await
            .map(|_| ())
    }
    .await;
    match done {
        Ok(()) => Redirect::to(&format!("/cases/{reference}#warnings")).into_response(),
        Err(e) => {
            let mut e = ApiError::from(e);
            if e.kind.status().is_server_error() {
                return error_page(Some(&v.me), e);
            }
            e.log_cause();
            let status = e.kind.status();
            show(
                &state,
                v,
                &reference,
                Some(e.detail),
                f.rationale.clone(),
                status,
            )
            .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_choice_goes_to_a_new_warning_a_named_one_or_the_only_one() {
        assert_eq!(target("new").ok(), Some(RouteFor::NewWarning));
        assert_eq!(target("").ok(), Some(RouteFor::Only));
        assert!(matches!(target("W2"), Ok(RouteFor::Warning(n)) if n.get() == 2));
        assert!(target("nonsense").is_err());
    }
}
