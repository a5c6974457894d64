//! The active policy, and checking a policy file without using it.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{TextBody, ok};
use crate::AppState;
use crate::problem::ApiError;
use crate::table::{Access, Op, RawBody, Table};

pub fn routes(t: &mut Table) {
    t.add(
        Op::get("get_policy", path!("/policy"), Access::Authenticated)
            .tag("policy")
            .summary("The active policy: its exact text, id, version and hash")
            .returns::<PolicyView>(StatusCode::OK),
        get_policy,
    );
    t.add(
        Op::post(
            "check_policy",
            path!("/policy/checks"),
            Access::Authenticated,
        )
        .tag("policy")
        .summary("Check a policy file's text without using it")
        .body::<TextBody>()
        .returns::<PolicyCheckView>(StatusCode::OK),
        check_policy,
    );
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct PolicyView {
    pub id: String,
    pub version: String,
    pub sha256: String,
    pub origin: String,
    /// The exact text of the policy file.
    pub source: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct PolicyCheckView {
    pub valid: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Why the text is not a valid policy (with its line).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

async fn get_policy(State(state): State<AppState>) -> Result<Response, ApiError> {
    let p = state.svc.policy();
    ok(&PolicyView {
        id: p.policy.policy.id.clone(),
        version: p.policy.policy.version.clone(),
        sha256: p.sha256.clone(),
        origin: p.origin.clone(),
        source: p.source.clone(),
    })
}

async fn check_policy(body: RawBody) -> Result<Response, ApiError> {
    let b: TextBody = body.parse()?;
    ok(
        &match tocsin_domain::LoadedPolicy::parse(&b.text, "request body") {
            Ok(p) => PolicyCheckView {
                valid: true,
                id: Some(p.policy.policy.id),
                version: Some(p.policy.policy.version),
                sha256: Some(p.sha256),
                error: None,
            },
            Err(e) => PolicyCheckView {
                valid: false,
                id: None,
                version: None,
                sha256: None,
                error: Some(e.to_string()),
            },
        },
    )
}
