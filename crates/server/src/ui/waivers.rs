//! Waivers from the case page: requesting one on a ground of the policy,
//! and deciding it (approve or reject, never by its requester: the service
//! and the domain both refuse, and the refusal is shown and recorded). The
//! same commands as the API's waiver routes.

use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;
use tocsin_domain::WaiverId;
use tocsin_domain::case::Command;
use tocsin_domain::text::{Note, Reason};

use super::CsrfForm;
use super::actions::{after, invalid, run};
use crate::AppState;

/// The policy's waiver grounds: code and title.
pub(crate) fn grounds(state: &AppState) -> Vec<(String, String)> {
    state
        .svc
        .policy()
        .policy
        .waiver
        .grounds
        .iter()
        .map(|g| {
            let mut title = g.title.clone();
            if g.requires_legal_review {
                title.push_str(" (needs a legal review)");
            }
            if g.recalled {
                title.push_str(" (as recalled: not checked against the primary text)");
            }
            (g.code.clone(), title)
        })
        .collect()
}

#[derive(Deserialize)]
pub(super) struct RequestForm {
    ground: String,
    reason: String,
    #[serde(default)]
    legal_review: String,
}

pub(super) async fn request_waiver(
    State(state): State<AppState>,
    Path(reference): Path<String>,
    c: CsrfForm<RequestForm>,
) -> Response {
    let f = &c.form;
    let cmd = (|| {
        let reason = Reason::new(f.reason.trim()).map_err(|e| invalid("reason", e))?;
        let legal_review = match f.legal_review.trim() {
            "" => None,
            l => Some(Note::new(l).map_err(|e| invalid("legal_review", e))?),
        };
        Ok(Command::RequestWaiver {
            waiver_id: WaiverId::from_uuid(uuid::Uuid::now_v7()),
            ground: f.ground.clone(),
            reason,
            legal_review,
        })
    })();
    let done = run(&state, &c.viewer, &reference, "request_waiver", cmd).await;
    after(
        &state,
        &c.viewer,
        &reference,
        "waiver",
        done,
        f.reason.clone(),
    )
    .await
}

#[derive(Deserialize)]
pub(super) struct DecideForm {
    waiver: String,
    /// `approve` or `reject`.
    decision: String,
    reason: String,
}

pub(super) async fn decide_waiver(
    State(state): State<AppState>,
    Path(reference): Path<String>,
    c: CsrfForm<DecideForm>,
) -> Response {
    let f = &c.form;
    let cmd = (|| {
        let waiver_id: WaiverId = f
            .waiver
            .parse()
            .map_err(|_| invalid("waiver", "there is no such waiver on this case"))?;
        let reason = Reason::new(f.reason.trim()).map_err(|e| invalid("reason", e))?;
        match f.decision.as_str() {
            "approve" => Ok(Command::ApproveWaiver { waiver_id, reason }),
            "reject" => Ok(Command::RejectWaiver { waiver_id, reason }),
            _ => Err(invalid("decision", "approve or reject")),
        }
    })();
    let action = if f.decision == "reject" {
        "reject_waiver"
    } else {
        "approve_waiver"
    };
    let done = run(&state, &c.viewer, &reference, action, cmd).await;
    after(
        &state,
        &c.viewer,
        &reference,
        "decide",
        done,
        f.reason.clone(),
    )
    .await
}
