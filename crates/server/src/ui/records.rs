//! The records page, for records officers (read only): the retention
//! schedules in force, the exemption codes a redaction may cite, the
//! legal holds in force, and the records officer's report (eligible for
//! disposal now, on hold, disposed of in the last year). The same service
//! calls as `GET /records/schedules`, `/records/exemptions`,
//! `/records/holds` and `/records/report`; the service checks the
//! `manage_records` permission on each.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::show::when;
use super::{Me, Viewer, error_page, render};
use crate::AppState;
use crate::problem::ApiError;

#[derive(Template)]
#[template(path = "records.html")]
struct RecordsPage<'a> {
    me: Option<&'a Me>,
    schedules_origin: String,
    schedules_sha256: String,
    /// Class, trigger, period, action, authority.
    schedules: Vec<(String, String, String, String, String)>,
    unscheduled: Vec<String>,
    exemptions_origin: String,
    exemptions_sha256: String,
    /// Code, meaning.
    exemptions: Vec<(String, String)>,
    /// Id, stage, requested by and when, scope, reason.
    holds: Vec<(String, String, String, String, String)>,
    /// Position, case, class and kind, since, schedule.
    eligible: Vec<(u64, String, String, String, String)>,
    /// Position, case, class and kind, holds.
    held: Vec<(u64, String, String, String)>,
    /// Position, case, class and kind, when, approved by.
    disposed: Vec<(u64, String, String, String, String)>,
    disposed_from: String,
}

/// How far back the page lists disposed records.
const DISPOSED_DAYS: i64 = 366;

pub(super) async fn records_page(State(state): State<AppState>, v: Viewer) -> Response {
    let svc = &state.svc;
    let from = svc
        .now()
        .checked_sub(jiff::SignedDuration::from_hours(24 * DISPOSED_DAYS))
        .ok();
    let answers = async {
        let s = svc.retention_schedules(&v.p).await?;
        let x = svc.exemptions(&v.p).await?;
        let h = svc.legal_holds(&v.p).await?;
        let r = svc.records_report(&v.p, from, None).await?;
        Ok::<_, tocsin_service::ServiceError>((s, x, h, r))
    };
    let (s, x, h, r) = match answers.await {
        Ok(x) => x,
        Err(e) => return error_page(Some(&v.me), ApiError::from(e)),
    };
    let case = |c: &Option<tocsin_domain::CaseId>| c.map_or("-".to_owned(), |c| c.to_string());
    let page = RecordsPage {
        me: Some(&v.me),
        schedules_origin: s.origin.clone(),
        schedules_sha256: s.sha256.clone(),
        schedules: s
            .schedules
            .iter()
            .map(|x| {
                (
                    x.class.to_string(),
                    x.trigger.as_str().to_owned(),
                    x.period.to_string(),
                    x.action.as_str().to_owned(),
                    x.authority.to_string(),
                )
            })
            .collect(),
        unscheduled: s.unscheduled.iter().map(|c| c.to_string()).collect(),
        exemptions_origin: x.origin,
        exemptions_sha256: x.sha256,
        exemptions: x.codes.into_iter().map(|c| (c.code, c.meaning)).collect(),
        holds: h
            .iter()
            .map(|x| {
                let stage = match &x.release_requested_by {
                    Some(by) => format!("release requested by {by}"),
                    None => serde_json::to_value(x.stage)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default(),
                };
                (
                    x.hold_id.to_string(),
                    stage,
                    format!("{} at {}", x.requested_by, when(x.requested_at)),
                    serde_json::to_string(&x.scope).unwrap_or_default(),
                    x.reason.to_string(),
                )
            })
            .collect(),
        eligible: r
            .eligible
            .iter()
            .map(|e| {
                (
                    e.position,
                    case(&e.case_id),
                    format!("{} ({})", e.class, e.kind),
                    when(e.eligible_since),
                    format!("{} ({})", e.schedule.period, e.schedule.authority),
                )
            })
            .collect(),
        held: r
            .held
            .iter()
            .map(|e| {
                let holds: Vec<String> = e.holds.iter().map(|h| h.to_string()).collect();
                (
                    e.position,
                    case(&e.case_id),
                    format!("{} ({})", e.class, e.kind),
                    holds.join(", "),
                )
            })
            .collect(),
        disposed: r
            .disposed
            .iter()
            .map(|e| {
                (
                    e.position,
                    case(&e.case_id),
                    format!("{} ({})", e.class, e.kind),
                    when(e.disposed_at),
                    e.approved_by.to_string(),
                )
            })
            .collect(),
        disposed_from: r.from.map(when).unwrap_or_default(),
    };
    render(StatusCode::OK, &page)
}
