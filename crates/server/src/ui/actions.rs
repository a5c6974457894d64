//! The form posts of the case lifecycle (assess, determine, choose a route,
//! draft a warning, approve it), and what every case action shares. Each parses its form, asks the
//! service for the case as the viewer, and runs the same command the API's
//! route runs. Success redirects to the case page; a refusal shows the case
//! page again with the service's answer beside the form, never a 500 for
//! what the user did.

use std::collections::BTreeSet;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tocsin_domain::CaseRef;
use tocsin_domain::case::{CaseError, Command};
use tocsin_domain::delivery::{LanguageTag, WarningText, WithheldCategory};
use tocsin_domain::event::Assessment;
use tocsin_domain::text::{Note, Reason};
use tocsin_domain::warning::RouteFor;
use tocsin_service::ServiceError;

use super::pages::{Flash, show_case};
use super::view::{self, marked};
use super::{CsrfForm, Viewer, error_page};
use crate::AppState;
use crate::problem::{ApiError, Kind};

/// The case page after an action: the case itself on success, or the page
/// with the error beside form `form`.
pub(super) async fn after(
    state: &AppState,
    v: &Viewer,
    reference: &str,
    form: &'static str,
    done: Result<(), ServiceError>,
    text: String,
) -> Response {
    match done {
        Ok(()) => Redirect::to(&format!("/cases/{reference}#{form}")).into_response(),
        Err(e) => {
            let findings = match &e {
                ServiceError::Refused(CaseError::SanitisationFindings { findings }) => {
                    findings.clone()
                }
                _ => vec![],
            };
            let mut e = ApiError::from(e);
            if e.kind.status().is_server_error() {
                return error_page(Some(&v.me), e);
            }
            e.log_cause();
            let status = e.kind.status();
            let error = match e.kind {
                Kind::TwoPersonRule => format!(
                    "Needs another approver: the two-person rule refuses this ({}). The refusal is recorded.",
                    e.detail
                ),
                Kind::SanitisationFindings => format!(
                    "The draft was refused: the check found {} thing(s) that would reveal protected information (marked below).",
                    findings.len()
                ),
                _ => e.detail.clone(),
            };
            let flash = Flash {
                form,
                error,
                marked: marked(&text, &findings),
                findings: findings.iter().map(|f| f.to_string()).collect(),
                text,
            };
            show_case(state, v, reference, flash, status).await
        }
    }
}

/// The service's answer for a form field that is not valid.
pub(super) fn invalid(field: &str, message: impl std::fmt::Display) -> ServiceError {
    ServiceError::Invalid {
        field: Some(field.to_owned()),
        message: format!("{field}: {message}"),
    }
}

/// A field's value checked by its type's constructor, or the error the
/// form shows beside it.
fn field<T, E: std::fmt::Display>(name: &str, r: Result<T, E>) -> Result<T, ServiceError> {
    r.map_err(|e| invalid(name, e.to_string()))
}

/// Runs `cmd` on the case named `reference`, as the viewer.
pub(super) async fn run(
    state: &AppState,
    v: &Viewer,
    reference: &str,
    action: &str,
    cmd: Result<Command, ServiceError>,
) -> Result<(), ServiceError> {
    let r: CaseRef = reference
        .parse()
        .map_err(|_| ServiceError::CaseNotFound(reference.to_owned()))?;
    let case = state.svc.case(&v.p, r, action).await?;
    state.svc.execute(&v.p, &case, cmd?).await.map(|_| ())
}

#[derive(Deserialize)]
pub(super) struct AssessForm {
    reason: String,
}

pub(super) async fn assess(
    State(state): State<AppState>,
    Path(reference): Path<String>,
    c: CsrfForm<AssessForm>,
) -> Response {
    let cmd = field("reason", Reason::new(c.form.reason.trim())).map(|reason| Command::Assess {
        assessment: Assessment {
            grading: None,
            specificity: None,
            harm_types: None,
            window: None,
            reason,
        },
    });
    let done = run(&state, &c.viewer, &reference, "assess", cmd).await;
    after(&state, &c.viewer, &reference, "assess", done, c.form.reason).await
}

#[derive(Deserialize)]
pub(super) struct DetermineForm {
    #[serde(default)]
    note: String,
}

pub(super) async fn determine(
    State(state): State<AppState>,
    Path(reference): Path<String>,
    c: CsrfForm<DetermineForm>,
) -> Response {
    let note = c.form.note.trim();
    let cmd = if note.is_empty() {
        Ok(Command::Determine { note: None })
    } else {
        field("note", Note::new(note)).map(|n| Command::Determine { note: Some(n) })
    };
    let done = run(&state, &c.viewer, &reference, "determine", cmd).await;
    after(
        &state,
        &c.viewer,
        &reference,
        "determine",
        done,
        c.form.note,
    )
    .await
}

#[derive(Deserialize)]
pub(super) struct RouteForm {
    #[serde(default)]
    candidate: String,
    #[serde(default)]
    rationale: String,
}

pub(super) async fn choose_route(
    State(state): State<AppState>,
    Path(reference): Path<String>,
    c: CsrfForm<RouteForm>,
) -> Response {
    let v = &c.viewer;
    let done = async {
        let rank: u32 = field("candidate", c.form.candidate.parse::<u32>())
            .map_err(|_| invalid("candidate", "choose one of the candidates"))?;
        let rationale = match c.form.rationale.trim() {
            "" => None,
            r => Some(field("rationale", Reason::new(r))?),
        };
        let r: CaseRef = reference
            .parse()
            .map_err(|_| ServiceError::CaseNotFound(reference.clone()))?;
        let case = state.svc.case(&v.p, r, "choose_candidate").await?;
        state
            .svc
            .choose_candidate(&v.p, &case, rank, rationale, RouteFor::Only)
            .await
            .map(|_| ())
    }
    .await;
    after(
        &state,
        v,
        &reference,
        "route",
        done,
        c.form.rationale.clone(),
    )
    .await
}

/// The draft form: the text, the categories withheld (a checkbox each,
/// so a repeated field), the warning.
pub(super) async fn draft(
    State(state): State<AppState>,
    Path(reference): Path<String>,
    c: CsrfForm<Vec<(String, String)>>,
) -> Response {
    let get = |k: &str| c.form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let text = get("text").unwrap_or_default().to_owned();
    let warning = view::warning_number(get("warning"));
    let withheld: Result<BTreeSet<WithheldCategory>, ServiceError> = c
        .form
        .iter()
        .filter(|(n, _)| n == "withheld")
        .map(|(_, v)| {
            serde_json::from_value(serde_json::Value::String(v.clone()))
                .map_err(|_| invalid("withheld", format!("no category “{v}”")))
        })
        .collect();
    let cmd = withheld.and_then(|withheld| {
        Ok(Command::DraftWarning {
            warning,
            text: field("text", WarningText::new(text.clone()))?,
            withheld,
            language: LanguageTag::english(),
        })
    });
    let done = run(&state, &c.viewer, &reference, "draft_warning", cmd).await;
    after(&state, &c.viewer, &reference, "draft", done, text).await
}

#[derive(Deserialize)]
pub(super) struct ApproveForm {
    #[serde(default)]
    warning: String,
    version: String,
    sha256: String,
}

pub(super) async fn approve(
    State(state): State<AppState>,
    Path(reference): Path<String>,
    c: CsrfForm<ApproveForm>,
) -> Response {
    let cmd =
        field("version", c.form.version.parse::<u32>()).map(|version| Command::ApproveWarning {
            warning: view::warning_number(Some(&c.form.warning)),
            version,
            sha256: Some(c.form.sha256.clone()),
        });
    let done = run(&state, &c.viewer, &reference, "approve_warning", cmd).await;
    after(
        &state,
        &c.viewer,
        &reference,
        "approve",
        done,
        String::new(),
    )
    .await
}
