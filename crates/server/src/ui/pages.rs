//! The pages that read: the dashboard, the case list (its filters in the
//! URL) and the case page. Each asks the service, as the viewer, for what
//! the API's routes ask it for.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use tocsin_domain::access::Permission;
use tocsin_domain::case::CaseState;
use tocsin_domain::ids::CaseIdPrefix;
use tocsin_domain::{CaseNumber, CaseRef};
use tocsin_service::CaseListQuery;

use super::charts::{self, Chart};
use super::view::{self, CandidateView, CaseView, Row, Span};
use super::{Me, Viewer, error_page, render};
use crate::AppState;
use crate::api::cases::{DeterminationFilter, text_filter};
use crate::problem::ApiError;

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage<'a> {
    me: Option<&'a Me>,
    open: u64,
    by_state: Vec<(String, String, u64)>,
    overdue: Vec<(Row, String)>,
    waiting: Vec<(Row, String)>,
    truncated: bool,
    may_submit: bool,
    charts: Vec<Chart>,
}

pub(super) async fn dashboard(State(state): State<AppState>, v: Viewer) -> Response {
    let d = match state.svc.dashboard(&v.p).await {
        Ok(d) => d,
        Err(e) => return error_page(Some(&v.me), ApiError::from(e)),
    };
    let counted = match state.svc.dashboard_charts(&v.p).await {
        Ok(c) => c,
        Err(e) => return error_page(Some(&v.me), ApiError::from(e)),
    };
    let charts = vec![
        charts::durations(
            "chart-decide",
            "Time to decide (first report to first determination)",
            &counted.decide,
        ),
        charts::durations(
            "chart-warn",
            "Time to warn (first report to the warning received)",
            &counted.warn,
        ),
        charts::weeks(
            "chart-weeks",
            "Cases opened per week, by determination (last 12 weeks)",
            &counted.weeks,
        ),
    ];
    let now = d.now.unwrap_or_else(|| state.svc.now());
    render(
        StatusCode::OK,
        &DashboardPage {
            me: Some(&v.me),
            open: d.open,
            by_state: d
                .by_state
                .iter()
                .map(|(s, n)| (view::wire(s), view::words(s), *n))
                .collect(),
            overdue: d
                .overdue
                .iter()
                .map(|o| (Row::of(&o.case, now), view::late(o.late_by)))
                .collect(),
            waiting: d
                .waiting
                .iter()
                .map(|w| (Row::of(&w.case, now), w.what.to_owned()))
                .collect(),
            truncated: d.truncated,
            may_submit: v.p.may(Permission::SubmitReport),
            charts,
        },
    )
}

/// The case list's filters, as the URL carries them.
#[derive(Debug, Default, Deserialize)]
pub(super) struct ListFilters {
    #[serde(default)]
    state: String,
    #[serde(default)]
    open: Option<String>,
    #[serde(default)]
    overdue: Option<String>,
    #[serde(default)]
    reassessment_due: Option<String>,
    /// A case number (2026-0007) or the start of an id.
    #[serde(default)]
    q: String,
    /// `duty_to_warn`, `no_duty`, `needs_more_information`, `undetermined`.
    #[serde(default)]
    determination: String,
    #[serde(default)]
    element: String,
    #[serde(default)]
    owner: String,
    /// Words the title contains.
    #[serde(default)]
    text: String,
    #[serde(default)]
    after: Option<String>,
    /// Cases per page (1 to 200, default 50).
    #[serde(default)]
    limit: Option<String>,
}

#[derive(Template)]
#[template(path = "cases.html")]
struct CaseListPage<'a> {
    me: Option<&'a Me>,
    rows: Vec<Row>,
    states: Vec<(String, String)>,
    state: String,
    open: bool,
    overdue: bool,
    reassessment_due: bool,
    q: String,
    /// The determinations offered: code, words.
    determinations: Vec<(String, String)>,
    determination: String,
    element: String,
    owner: String,
    text: String,
    /// The query string of the next page, when there is one.
    next: Option<String>,
    paged: bool,
    error: Option<String>,
}

fn checked(v: &Option<String>) -> bool {
    v.as_deref().is_some_and(|s| !s.is_empty() && s != "false")
}

pub(super) async fn case_list(
    State(state): State<AppState>,
    v: Viewer,
    Query(f): Query<ListFilters>,
) -> Response {
    let now = state.svc.now();
    let mut page = CaseListPage {
        me: Some(&v.me),
        rows: vec![],
        states: CaseState::ALL
            .iter()
            .map(|s| (view::wire(s), view::words(s)))
            .collect(),
        state: f.state.clone(),
        open: checked(&f.open),
        overdue: checked(&f.overdue),
        reassessment_due: checked(&f.reassessment_due),
        q: f.q.trim().to_owned(),
        determinations: DeterminationFilter::ALL
            .iter()
            .map(|d| (d.as_str().to_owned(), d.as_str().replace('_', " ")))
            .collect(),
        determination: f.determination.trim().to_owned(),
        element: f.element.trim().to_owned(),
        owner: f.owner.trim().to_owned(),
        text: f.text.trim().to_owned(),
        next: None,
        paged: f.after.is_some(),
        error: None,
    };
    let found = if !page.q.is_empty() {
        match page.q.parse::<CaseNumber>() {
            Ok(n) => state.svc.find_case_by_number(&v.p, n).await,
            Err(_) => match CaseIdPrefix::new(&page.q) {
                Ok(prefix) => state.svc.find_cases(&v.p, &prefix).await,
                Err(e) => {
                    page.error = Some(format!(
                        "“{}” is neither a case number (2026-0007) nor the start of a case id: {e}",
                        page.q
                    ));
                    return render(StatusCode::BAD_REQUEST, &page);
                }
            },
        }
        .map(|items| (items, None))
    } else {
        let st = if f.state.is_empty() {
            None
        } else {
            match serde_json::from_value::<CaseState>(serde_json::Value::String(f.state.clone())) {
                Ok(s) => Some(s),
                Err(_) => {
                    page.error = Some(format!("there is no state “{}”", f.state));
                    return render(StatusCode::BAD_REQUEST, &page);
                }
            }
        };
        let verdict = if page.determination.is_empty() {
            None
        } else {
            match DeterminationFilter::ALL
                .iter()
                .find(|d| d.as_str() == page.determination)
            {
                Some(d) => Some(d.verdict()),
                None => {
                    page.error = Some(format!(
                        "there is no determination “{}”",
                        page.determination
                    ));
                    return render(StatusCode::BAD_REQUEST, &page);
                }
            }
        };
        let (element, owner, title_contains) = match (
            text_filter("element", Some(&page.element)),
            text_filter("owner", Some(&page.owner)),
            text_filter("text", Some(&page.text)),
        ) {
            (Ok(e), Ok(o), Ok(t)) => (e, o, t),
            (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
                page.error = Some(e);
                return render(StatusCode::BAD_REQUEST, &page);
            }
        };
        let after = f
            .after
            .clone()
            .filter(|a| a.parse::<i64>().is_ok_and(|n| n >= 0));
        let limit = f
            .limit
            .as_deref()
            .and_then(|l| l.parse::<u32>().ok())
            .map_or(50, |l| l.clamp(1, 200));
        state
            .svc
            .list_cases(
                &v.p,
                CaseListQuery {
                    state: st,
                    open_only: page.open,
                    reassessment_due: page.reassessment_due,
                    overdue: page.overdue,
                    owner,
                    verdict,
                    element,
                    title_contains,
                    after,
                    limit,
                },
            )
            .await
            .map(|p| (p.items, p.next))
    };
    match found {
        Ok((items, next)) => {
            page.rows = items.iter().map(|c| Row::of(c, now)).collect();
            page.next = next.map(|n| {
                let mut q = vec![("after", n)];
                if !f.state.is_empty() {
                    q.push(("state", f.state.clone()));
                }
                if let Some(l) = &f.limit {
                    q.push(("limit", l.clone()));
                }
                for (k, v) in [
                    ("determination", &page.determination),
                    ("element", &page.element),
                    ("owner", &page.owner),
                    ("text", &page.text),
                ] {
                    if !v.is_empty() {
                        q.push((k, v.clone()));
                    }
                }
                for (k, on) in [
                    ("open", page.open),
                    ("overdue", page.overdue),
                    ("reassessment_due", page.reassessment_due),
                ] {
                    if on {
                        q.push((k, "1".into()));
                    }
                }
                serde_urlencoded::to_string(q).unwrap_or_default()
            });
            render(StatusCode::OK, &page)
        }
        Err(e) => error_page(Some(&v.me), ApiError::from(e)),
    }
}

/// What an action that failed leaves on the case page: the error, next
/// to the form it came from, and what was typed.
#[derive(Default)]
pub(crate) struct Flash {
    /// Which form: `assess`, `determine`, `route`, `draft`, `approve`.
    pub form: &'static str,
    pub error: String,
    /// The draft text sent, cut at the sanitiser's findings.
    pub marked: Vec<Span>,
    pub findings: Vec<String>,
    pub text: String,
}

#[derive(Template)]
#[template(path = "case.html")]
struct CasePage<'a> {
    me: Option<&'a Me>,
    c: CaseView,
    flash: Flash,
    may_analyse: bool,
    may_approve: bool,
    candidates: Vec<CandidateView>,
    plan_notes: Vec<String>,
    withheld: Vec<(String, String)>,
    may_deliver: bool,
    /// The policy's waiver grounds: code, title.
    grounds: Vec<(String, String)>,
    statuses: Vec<(String, String)>,
    channels: Vec<(String, String)>,
    media: Vec<(String, String)>,
    responses: Vec<(String, String)>,
    outcomes: Vec<(String, String)>,
    /// Now, as the delivery form's default time.
    now: String,
    /// The text the draft form starts with.
    draft_text: String,
}

impl CasePage<'_> {
    fn shows(&self, form: &str) -> bool {
        self.flash.form == form
    }
}

pub(super) async fn case_page(
    State(state): State<AppState>,
    v: Viewer,
    Path(reference): Path<String>,
) -> Response {
    show_case(&state, &v, &reference, Flash::default(), StatusCode::OK).await
}

/// The case page, with what a failed action left (answered with `status`).
pub(crate) async fn show_case(
    state: &AppState,
    v: &Viewer,
    reference: &str,
    flash: Flash,
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
    let events = match state.svc.case_events(&v.p, r).await {
        Ok(e) => e,
        Err(e) => return error_page(Some(&v.me), ApiError::from(e)),
    };
    let c = CaseView::of(&case, &events);
    let may_analyse = v.p.may(Permission::Analyse);
    // Route candidates are offered while the first warning has no route.
    let wants_route = may_analyse
        && matches!(
            case.state,
            CaseState::DutyToWarn | CaseState::WarningDrafted
        )
        && case.warnings.iter().all(|w| w.route.is_none());
    let (candidates, plan_notes) = if wants_route {
        match state.svc.route_plan(&v.p, r).await {
            Ok(p) => (view::candidates(&p.plan), p.plan.notes.clone()),
            Err(e) => (
                vec![],
                vec![format!("no route plan: {}", ApiError::from(e).detail)],
            ),
        }
    } else {
        (vec![], vec![])
    };
    let draft_text = if flash.form == "draft" {
        flash.text.clone()
    } else {
        c.warnings
            .first()
            .and_then(|w| w.versions.last())
            .map(|v| v.text.clone())
            .unwrap_or_default()
    };
    let choices = super::delivery::delivery_choices();
    render(
        status,
        &CasePage {
            me: Some(&v.me),
            c,
            flash,
            may_analyse,
            may_approve: v.p.may(Permission::Approve),
            candidates,
            plan_notes,
            withheld: view::withheld_categories(),
            may_deliver: v.p.may(Permission::Deliver),
            grounds: super::waivers::grounds(state),
            statuses: choices.statuses,
            channels: choices.channels,
            media: choices.media,
            responses: choices.responses,
            outcomes: choices.outcomes,
            now: state.svc.now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
            draft_text,
        },
    )
}
