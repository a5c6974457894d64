//! Circular reporting across cases: the reports of other cases (those the
//! viewer may see) whose text one report of this case repeats, or which
//! repeat it. The API's `similar_reports`, through the same service
//! method; only a proposal, which the analysts of both cases judge (they
//! may link or merge the cases on the case's elements page).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use tocsin_domain::{CaseRef, ReportId};
use tocsin_service::ServiceError;

use super::show::when;
use super::{Me, Viewer, error_page, render};
use crate::AppState;
use crate::problem::ApiError;

struct SimilarView {
    /// The other case's number or id, for its link.
    case: String,
    report: u32,
    received: String,
    /// How much of each text is in the other.
    overlap: String,
    /// Whether the other came first (so this one may repeat it).
    order: &'static str,
}

#[derive(Template)]
#[template(path = "similar.html")]
struct SimilarPage<'a> {
    me: Option<&'a Me>,
    reference: String,
    report_title: String,
    items: Vec<SimilarView>,
}

pub(super) async fn similar_page(
    State(state): State<AppState>,
    v: Viewer,
    Path((reference, report)): Path<(String, String)>,
) -> Response {
    let found = async {
        let r: CaseRef = reference
            .parse()
            .map_err(|_| ServiceError::CaseNotFound(reference.clone()))?;
        let id: ReportId = report.parse().map_err(|_| {
            ServiceError::NotFound(format!("there is no report {report} on this case"))
        })?;
        let case = state.svc.case(&v.p, r, "similar_reports").await?;
        let items = state.svc.similar_reports(&v.p, &case, id).await?;
        let title = case
            .reports
            .iter()
            .find(|x| x.id == id)
            .map(|x| x.report.title.to_string())
            .unwrap_or_default();
        let number = case
            .number
            .map(|n| n.to_string())
            .unwrap_or_else(|| reference.clone());
        Ok::<_, ServiceError>((number, title, items))
    }
    .await;
    let (number, report_title, items) = match found {
        Ok(x) => x,
        Err(e) => return error_page(Some(&v.me), ApiError::from(e)),
    };
    render(
        StatusCode::OK,
        &SimilarPage {
            me: Some(&v.me),
            reference: number,
            report_title,
            items: items
                .iter()
                .map(|s| SimilarView {
                    case: s
                        .case_number
                        .map(|n| n.to_string())
                        .unwrap_or_else(|| s.case_id.to_string()),
                    report: s.report,
                    received: when(s.received_at),
                    overlap: format!(
                        "{}% of this report is in it, {}% of it is in this report ({} shared word pairs)",
                        s.this_in_other_percent, s.other_in_this_percent, s.shared_pairs
                    ),
                    order: match s.received {
                        tocsin_service::similar::Received::Before => {
                            "received before this one: this report may repeat it"
                        }
                        tocsin_service::similar::Received::After => {
                            "received after this one: it may repeat this report"
                        }
                    },
                })
                .collect(),
        },
    )
}
