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
use tocsin_domain::case::Command;
use tocsin_domain::delivery::Route;
use tocsin_domain::text::Reason;
use tocsin_domain::warning::RouteFor;
use tocsin_service::ServiceError;

use super::actions::{invalid, run};
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
    /// The form a refusal is about (`plan` or `own`), and the answer.
    error: Option<(&'static str, String)>,
    rationale: String,
    /// The route typed in the form of one's own, kept after a refusal.
    own_route: String,
}

impl PlanPage<'_> {
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
    typed: (String, String),
    status: StatusCode,
) -> Response {
    let (rationale, own_route) = typed;
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
            own_route,
        },
    )
}

pub(super) async fn plan_page(
    State(state): State<AppState>,
    v: Viewer,
    Path(reference): Path<String>,
) -> Response {
    show(
        &state,
        &v,
        &reference,
        None,
        Default::default(),
        StatusCode::OK,
    )
    .await
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
    after(
        &state,
        v,
        &reference,
        "plan",
        done,
        (f.rationale.clone(), String::new()),
    )
    .await
}

/// The case's warnings after a choice, or the plan with the refusal.
async fn after(
    state: &AppState,
    v: &Viewer,
    reference: &str,
    form: &'static str,
    done: Result<(), ServiceError>,
    typed: (String, String),
) -> Response {
    match done {
        Ok(()) => Redirect::to(&format!("/cases/{reference}#warnings")).into_response(),
        Err(e) => {
            let mut e = ApiError::from(e);
            if e.kind.status().is_server_error() {
                return error_page(Some(&v.me), e);
            }
            e.log_cause();
            let status = e.kind.status();
            show(state, v, reference, Some((form, e.detail)), typed, status).await
        }
    }
}

#[derive(Deserialize)]
pub(super) struct OwnRouteForm {
    /// The route as JSON (the `route` of `POST /api/v1/cases/{id}/route`).
    route: String,
    #[serde(default)]
    target: String,
    rationale: String,
}

/// A route of the analyst's own rather than a candidate of the plan (the
/// API's `choose_route`, with or without `new_warning`).
pub(super) async fn own_route(
    State(state): State<AppState>,
    Path(reference): Path<String>,
    c: CsrfForm<OwnRouteForm>,
) -> Response {
    let (v, f) = (&c.viewer, &c.form);
    let cmd = (|| {
        let route: Route = crate::table::parse_json(f.route.trim().as_bytes())
            .map_err(|e| invalid("route", e.detail))?;
        let rationale = Reason::new(f.rationale.trim()).map_err(|e| invalid("rationale", e))?;
        Ok(match target(&f.target)? {
            RouteFor::NewWarning => Command::AddWarning {
                route,
                rationale,
                alternatives: vec![],
            },
            RouteFor::Warning(n) => Command::ChooseRoute {
                warning: Some(n),
                route,
                rationale,
                alternatives: vec![],
            },
            RouteFor::Only => Command::ChooseRoute {
                warning: None,
                route,
                rationale,
                alternatives: vec![],
            },
        })
    })();
    let done = run(&state, v, &reference, "choose_route", cmd).await;
    after(
        &state,
        v,
        &reference,
        "own",
        done,
        (f.rationale.clone(), f.route.clone()),
    )
    .await
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
