//! The auditor's view of the ledger: the latest signed checkpoint, a full
//! verification, inclusion and consistency proofs, and the access log.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tocsin_domain::access::Permission;
use tocsin_service::LoggedEvent;

use super::common::{List, PageQuery, ok};
use super::needs;
use crate::AppState;
use crate::problem::ApiError;
use crate::table::{Caller, Op, QueryParams, Table};

pub fn routes(t: &mut Table) {
    t.add(
        Op::get(
            "checkpoint",
            path!("/audit/checkpoint"),
            needs(Permission::Audit),
        )
        .tag("audit")
        .summary("The latest signed checkpoint of the ledger")
        .returns::<CheckpointView>(StatusCode::OK),
        checkpoint,
    );
    t.add(
        Op::get(
            "verify",
            path!("/audit/verification"),
            needs(Permission::Audit),
        )
        .tag("audit")
        .summary("Verify the whole ledger now")
        .returns::<VerificationView>(StatusCode::OK),
        verify,
    );
    t.add(
        Op::get(
            "inclusion_proof",
            path!("/audit/proofs/inclusion"),
            needs(Permission::Audit),
        )
        .tag("audit")
        .summary("Inclusion proof of the event at a position")
        .query::<InclusionQuery>()
        .returns::<InclusionView>(StatusCode::OK),
        inclusion_proof,
    );
    t.add(
        Op::get(
            "consistency_proof",
            path!("/audit/proofs/consistency"),
            needs(Permission::Audit),
        )
        .tag("audit")
        .summary("Consistency proof between two sizes of the ledger")
        .query::<ConsistencyQuery>()
        .returns::<ConsistencyView>(StatusCode::OK),
        consistency_proof,
    );
    t.add(
        Op::get(
            "access_log",
            path!("/audit/access"),
            needs(Permission::Audit),
        )
        .tag("audit")
        .summary("The access log: reads of restricted content and refusals")
        .query::<PageQuery>()
        .returns::<List<LoggedEvent>>(StatusCode::OK),
        access_log,
    );
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CheckpointView {
    pub size: u64,
    /// Base64 root hash.
    pub root: String,
    /// The C2SP signed note (absent for an empty ledger).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<String>,
    /// The verifier key (C2SP vkey) to check it with.
    pub verifier_key: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct VerificationView {
    pub ok: bool,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub streams: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoints: Option<u64>,
    /// The first bad position, when not ok.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InclusionQuery {
    pub position: u64,
    /// The tree size (default: the current one).
    pub size: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct InclusionView {
    pub position: u64,
    pub size: u64,
    pub leaf_hash: String,
    pub root: String,
    pub proof: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    pub from: u64,
    /// Default: the current size.
    pub to: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ConsistencyView {
    pub size1: u64,
    pub size2: u64,
    pub root1: String,
    pub root2: String,
    pub proof: Vec<String>,
}

async fn checkpoint(
    State(state): State<AppState>,
    Caller(p): Caller,
) -> Result<Response, ApiError> {
    let c = state.svc.checkpoint(&p).await?;
    ok(&CheckpointView {
        size: c.size,
        root: c.root.to_base64(),
        checkpoint: c.checkpoint,
        verifier_key: c.verifier_key,
    })
}

async fn verify(State(state): State<AppState>, Caller(p): Caller) -> Result<Response, ApiError> {
    let view = match state.svc.verify_ledger(&p).await? {
        Ok(r) => VerificationView {
            ok: true,
            size: r.size,
            root: Some(r.root.to_base64()),
            streams: Some(r.streams),
            checkpoints: Some(r.checkpoints),
            position: None,
            problem: None,
        },
        Err(f) => VerificationView {
            ok: false,
            size: f.last.unwrap_or(f.position),
            root: None,
            streams: None,
            checkpoints: None,
            position: Some(f.position),
            problem: Some(f.problem),
        },
    };
    ok(&view)
}

async fn inclusion_proof(
    State(state): State<AppState>,
    Caller(p): Caller,
    QueryParams(q): QueryParams<InclusionQuery>,
) -> Result<Response, ApiError> {
    let r = state.svc.inclusion_proof(&p, q.position, q.size).await?;
    ok(&InclusionView {
        position: r.position,
        size: r.size,
        leaf_hash: r.leaf_hash.to_base64(),
        root: r.root.to_base64(),
        proof: r.proof.iter().map(|h| h.to_base64()).collect(),
    })
}

async fn consistency_proof(
    State(state): State<AppState>,
    Caller(p): Caller,
    QueryParams(q): QueryParams<ConsistencyQuery>,
) -> Result<Response, ApiError> {
    let r = state.svc.consistency_proof(&p, q.from, q.to).await?;
    ok(&ConsistencyView {
        size1: r.size1,
        size2: r.size2,
        root1: r.root1.to_base64(),
        root2: r.root2.to_base64(),
        proof: r.proof.iter().map(|h| h.to_base64()).collect(),
    })
}

async fn access_log(
    State(state): State<AppState>,
    Caller(p): Caller,
    QueryParams(q): QueryParams<PageQuery>,
) -> Result<Response, ApiError> {
    let limit = q.limit()? as usize;
    let after: u64 = match &q.after {
        Some(a) => a
            .parse()
            .map_err(|_| ApiError::bad_request(format!("after '{a}' is not a cursor")))?,
        None => 0,
    };
    let page = state.svc.access_log(&p, after, limit).await?;
    ok(&List {
        items: page.items,
        next: page.next.map(|n| n.to_string()),
    })
}
