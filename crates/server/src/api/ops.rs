//! The service itself: liveness, readiness, Prometheus metrics, this API's
//! OpenAPI document, and applying the clock on request.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tocsin_domain::CaseId;
use tocsin_domain::access::Permission;
use tocsin_domain::event::Event;
use tocsin_service::ServiceError;

use super::common::ok;
use super::needs;
use crate::AppState;
use crate::problem::{ApiError, Kind};
use crate::table::{Access, Caller, Op, Table};

pub fn routes(t: &mut Table) {
    t.add(
        Op::get("health", "/healthz", Access::Public)
            .tag("service")
            .summary("Liveness: the process answers")
            .returns::<Health>(StatusCode::OK),
        health,
    );
    t.add(
        Op::get("ready", "/readyz", Access::Public)
            .tag("service")
            .summary("Readiness: the store answers and can write")
            .returns::<Health>(StatusCode::OK),
        ready,
    );
    t.add(
        Op::get("metrics", "/metrics", needs(Permission::Operate))
            .tag("service")
            .summary("Prometheus metrics (text exposition format)")
            .describe("The case gauges count every case, restricted ones included, so the route needs the operate permission (an admin's token). They are counted at most once every 15 seconds, however often the route is scraped.")
            .returns_text(),
        metrics,
    );
    t.add(
        Op::get("openapi", "/openapi.json", Access::Public)
            .tag("service")
            .summary("This API's OpenAPI 3.1 document")
            .returns::<serde_json::Value>(StatusCode::OK),
        openapi,
    );
    t.add(
        // The service narrows it: an operator sweeps every case, an
        // analyst the cases they may see.
        Op::post("sweep", path!("/sweep"), needs(Permission::Sweep))
            .tag("cases")
            .summary("Apply the clock now: escalations and re-assessment flags")
            .describe(
                "An operator's sweep covers every case; an analyst's, the cases they may see.",
            )
            .returns::<SweepView>(StatusCode::OK),
        sweep,
    );
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Health {
    pub status: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct SweepView {
    pub cases_checked: u64,
    pub events: Vec<SweptEvent>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct SweptEvent {
    pub case_id: CaseId,
    pub event: Event,
}

async fn health() -> Result<Response, ApiError> {
    ok(&Health {
        status: "ok".into(),
    })
}

async fn ready(State(state): State<AppState>) -> Result<Response, ApiError> {
    match state.svc.ready().await {
        Ok(()) => ok(&Health {
            status: "ready".into(),
        }),
        // Not ready, with the reason; the store's own words are logged only.
        Err(ServiceError::Store(s)) if s.is_full() => {
            tracing::warn!(error = %s, "not ready: the store has no space left");
            Err(ApiError::new(
                Kind::Unavailable,
                "not ready: the store has no space left (storage-full); it is ready again once space is freed",
            ))
        }
        Err(e) => {
            tracing::warn!(error = %e, "not ready: the store does not answer or cannot write");
            Err(ApiError::new(
                Kind::Unavailable,
                "not ready: the store does not answer or cannot write",
            ))
        }
    }
}

async fn metrics(State(state): State<AppState>, Caller(p): Caller) -> Result<Response, ApiError> {
    let text = state.metrics.render(&state.svc, &p).await?;
    let mut r = (StatusCode::OK, text).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(r)
}

async fn openapi(State(state): State<AppState>) -> Result<Response, ApiError> {
    let mut r = (StatusCode::OK, state.openapi.clone()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(r)
}

async fn sweep(State(state): State<AppState>, Caller(p): Caller) -> Result<Response, ApiError> {
    let r = state.svc.sweep_now(&p).await?;
    ok(&SweepView {
        cases_checked: r.cases_checked,
        events: r
            .events
            .into_iter()
            .map(|(case_id, event)| SweptEvent { case_id, event })
            .collect(),
    })
}
