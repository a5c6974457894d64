//! What intake answers when a report did not open a new case (a new case
//! goes straight to its page): a report added to a case the submitter sees
//! (whether it was marked derived from an earlier report of the case, and
//! the independent-source count), or a contribution to a case the
//! submitter may not see (its id and status, and nothing about the case;
//! `GET /contributions/{id}?case=...` asks again, as the API's
//! `contribution_status`).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use tocsin_domain::event::Independence;
use tocsin_domain::{CaseRef, ContributionId};
use tocsin_service::{ContributionReceipt, Submitted};

use super::{Me, Viewer, error_page, render};
use crate::AppState;
use crate::problem::ApiError;

/// A report added to a case.
pub(crate) struct Joined {
    pub case: String,
    pub report_id: String,
    /// Which report it re-states and why, when it was marked derived.
    pub derived: Option<String>,
    pub independent_sources: u32,
}

#[derive(Template)]
#[template(path = "submitted.html")]
struct SubmittedPage<'a> {
    me: Option<&'a Me>,
    joined: Option<Joined>,
    /// The contribution, the case it was sent to as typed, its status,
    /// the link that asks again.
    contribution: Option<(String, String, String, String)>,
}

/// The page for a report that joined a case: read back as the viewer, to
/// say whether the case marked it derived.
pub(super) async fn joined(state: &AppState, v: &Viewer, s: &Submitted) -> Response {
    let case = match state.svc.read_case(&v.p, s.case_id).await {
        Ok(c) => c,
        Err(e) => return error_page(Some(&v.me), ApiError::from(e)),
    };
    let title_of = |id: &tocsin_domain::ReportId| {
        case.reports
            .iter()
            .find(|r| r.id == *id)
            .map(|r| format!("“{}”", r.report.title))
            .unwrap_or_else(|| id.to_string())
    };
    let derived = case
        .reports
        .iter()
        .find(|r| r.id == s.report_id)
        .and_then(|r| match &r.independence {
            Independence::Independent => None,
            Independence::Derived { of, basis, .. } => {
                Some(format!("re-states {} ({})", title_of(of), basis.describe()))
            }
        });
    let j = Joined {
        case: case
            .number
            .map(|n| n.to_string())
            .unwrap_or_else(|| case.id.to_string()),
        report_id: s.report_id.to_string(),
        derived,
        independent_sources: case.independent_sources(),
    };
    render(
        StatusCode::CREATED,
        &SubmittedPage {
            me: Some(&v.me),
            joined: Some(j),
            contribution: None,
        },
    )
}

/// The page for a contribution: its id and status only.
pub(super) fn contributed(
    v: &Viewer,
    case: &str,
    r: &ContributionReceipt,
    status: StatusCode,
) -> Response {
    render(
        status,
        &SubmittedPage {
            me: Some(&v.me),
            joined: None,
            contribution: Some((
                r.contribution_id.to_string(),
                case.to_owned(),
                r.status.as_str().to_owned(),
                format!(
                    "/contributions/{}?{}",
                    r.contribution_id,
                    serde_urlencoded::to_string([("case", case)]).unwrap_or_default()
                ),
            )),
        },
    )
}

#[derive(Deserialize)]
pub(super) struct StatusQuery {
    #[serde(default)]
    case: String,
}

/// Where one's contribution stands.
pub(super) async fn contribution_status(
    State(state): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    Query(q): Query<StatusQuery>,
) -> Response {
    let asked = async {
        let id: ContributionId = id
            .parse()
            .map_err(|_| super::actions::invalid("contribution", "not a contribution id"))?;
        let case: CaseRef = q
            .case
            .trim()
            .parse()
            .map_err(|_| super::actions::invalid("case", "give the case number or id"))?;
        state.svc.contribution_status(&v.p, case, id).await
    }
    .await;
    match asked {
        Ok(r) => contributed(&v, q.case.trim(), &r, StatusCode::OK),
        Err(e) => error_page(Some(&v.me), ApiError::from(e)),
    }
}
