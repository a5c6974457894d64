//! The approvals inbox: the warning texts and waivers that wait for a
//! second person, among the cases the viewer may see, each warning with
//! the exact text and the SHA-256 the approval names. What the viewer
//! asked for themselves is marked "needs another approver" (the service
//! refuses it anyway, and records the refusal).

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use tocsin_domain::CaseRef;
use tocsin_domain::case::{CaseState, WaiverStatus};
use tocsin_service::CaseListQuery;

use super::view::when;
use super::{Me, Viewer, error_page, render};
use crate::AppState;
use crate::problem::ApiError;

/// A warning text waiting for approval.
struct TextToApprove {
    reference: String,
    title: String,
    warning: u32,
    label: String,
    version: u32,
    text: String,
    sha256: String,
    drafted: String,
    mine: bool,
}

/// A waiver waiting for a decision.
struct WaiverToDecide {
    reference: String,
    title: String,
    ground: String,
    reason: String,
    requested: String,
    mine: bool,
}

#[derive(Template)]
#[template(path = "approvals.html")]
struct ApprovalsPage<'a> {
    me: Option<&'a Me>,
    texts: Vec<TextToApprove>,
    waivers: Vec<WaiverToDecide>,
}

/// At most this many cases of each kind are read for the inbox.
const INBOX_LIMIT: u32 = 50;

pub(super) async fn approvals(State(state): State<AppState>, v: Viewer) -> Response {
    let me = v.p.name().to_string();
    let mut page = ApprovalsPage {
        me: Some(&v.me),
        texts: vec![],
        waivers: vec![],
    };
    for st in [CaseState::WarningDrafted, CaseState::WaiverPending] {
        let q = CaseListQuery {
            state: Some(st),
            limit: INBOX_LIMIT,
            ..Default::default()
        };
        let list = match state.svc.list_cases(&v.p, q).await {
            Ok(l) => l,
            Err(e) => return error_page(Some(&v.me), ApiError::from(e)),
        };
        for s in list.items {
            let case = match state.svc.read_case(&v.p, CaseRef::Id(s.id)).await {
                Ok(c) => c,
                // Gone from view since the list was read: leave it out.
                Err(_) => continue,
            };
            let reference = case
                .number
                .map(|n| n.to_string())
                .unwrap_or_else(|| case.id.to_string());
            for w in &case.warnings {
                if let Some(x) = w.versions.last().filter(|x| x.approved_by.is_none()) {
                    page.texts.push(TextToApprove {
                        reference: reference.clone(),
                        title: case.title.to_string(),
                        warning: w.number.get(),
                        label: w.number.to_string(),
                        version: x.version,
                        text: x.text.as_str().to_owned(),
                        sha256: x.sha256.clone(),
                        drafted: format!("drafted by {} at {}", x.drafted_by, when(x.drafted_at)),
                        mine: x.drafted_by.as_str() == me,
                    });
                }
            }
            for w in case
                .waivers
                .iter()
                .filter(|w| w.status == WaiverStatus::Pending)
            {
                page.waivers.push(WaiverToDecide {
                    reference: reference.clone(),
                    title: case.title.to_string(),
                    ground: w.ground.clone(),
                    reason: w.reason.to_string(),
                    requested: format!(
                        "requested by {} at {}",
                        w.requested_by,
                        when(w.requested_at)
                    ),
                    mine: w.requested_by.as_str() == me,
                });
            }
        }
    }
    render(StatusCode::OK, &page)
}
