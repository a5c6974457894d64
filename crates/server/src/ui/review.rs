//! Looking at a case again: a re-assessment, a second person's
//! confirmation of a no-duty determination, handing the case to another
//! owner, and marking whether a report is an independent source. The same
//! commands as the API's `reassess`, `confirm_determination`, `hand_off`
//! and `mark_independence`.

use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;
use tocsin_domain::case::Command;
use tocsin_domain::text::{ElementName, Reason};
use tocsin_domain::{ActorName, ReportId};

use super::CsrfForm;
use super::actions::{after, invalid, run};
use crate::AppState;

#[derive(Deserialize)]
pub(super) struct ReasonForm {
    reason: String,
}

fn reason(s: &str) -> Result<Reason, tocsin_service::ServiceError> {
    Reason::new(s.trim()).map_err(|e| invalid("reason", e))
}

pub(super) async fn reassess(
    State(state): State<AppState>,
    Path(reference): Path<String>,
    c: CsrfForm<ReasonForm>,
) -> Response {
    let cmd = reason(&c.form.reason).map(|reason| Command::Reassess { reason });
    let done = run(&state, &c.viewer, &reference, "reassess", cmd).await;
    after(
        &state,
        &c.viewer,
        &reference,
        "reassess",
        done,
        c.form.reason.clone(),
    )
    .await
}

pub(super) async fn confirm(
    State(state): State<AppState>,
    Path(reference): Path<String>,
    c: CsrfForm<ReasonForm>,
) -> Response {
    let cmd = reason(&c.form.reason).map(|reason| Command::ConfirmDetermination { reason });
    let done = run(&state, &c.viewer, &reference, "confirm_determination", cmd).await;
    after(
        &state,
        &c.viewer,
        &reference,
        "confirm",
        done,
        c.form.reason.clone(),
    )
    .await
}

#[derive(Deserialize)]
pub(super) struct HandOffForm {
    owner: String,
    lead_element: String,
    reason: String,
}

pub(super) async fn hand_off(
    State(state): State<AppState>,
    Path(reference): Path<String>,
    c: CsrfForm<HandOffForm>,
) -> Response {
    let f = &c.form;
    let cmd = (|| {
        Ok(Command::HandOff {
            owner: ActorName::new(f.owner.trim()).map_err(|e| invalid("owner", e))?,
            lead_element: ElementName::new(f.lead_element.trim())
                .map_err(|e| invalid("lead_element", e))?,
            reason: reason(&f.reason)?,
        })
    })();
    let done = run(&state, &c.viewer, &reference, "hand_off", cmd).await;
    after(
        &state,
        &c.viewer,
        &reference,
        "handoff",
        done,
        f.reason.clone(),
    )
    .await
}

#[derive(Deserialize)]
pub(super) struct IndependenceForm {
    report: String,
    /// The report it repeats; empty: independent.
    #[serde(default)]
    derived_of: String,
    reason: String,
}

pub(super) async fn mark_independence(
    State(state): State<AppState>,
    Path(reference): Path<String>,
    c: CsrfForm<IndependenceForm>,
) -> Response {
    let f = &c.form;
    let cmd = (|| {
        let report_id: ReportId = f
            .report
            .parse()
            .map_err(|_| invalid("report", "there is no such report on this case"))?;
        let derived_of = match f.derived_of.trim() {
            "" => None,
            d => Some(
                d.parse::<ReportId>()
                    .map_err(|_| invalid("derived_of", "there is no such report on this case"))?,
            ),
        };
        Ok(Command::MarkIndependence {
            report_id,
            derived_of,
            reason: reason(&f.reason)?,
        })
    })();
    let done = run(&state, &c.viewer, &reference, "mark_independence", cmd).await;
    after(
        &state,
        &c.viewer,
        &reference,
        "independence",
        done,
        f.reason.clone(),
    )
    .await
}
