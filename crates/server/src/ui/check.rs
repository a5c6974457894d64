//! The warning editor's sanitisation check. Without script: the draft
//! form's "Check" button posts the text here, which runs the same service
//! check as `POST /api/v1/cases/{id}/warning-checks` (writing nothing) and
//! shows the case page again with the text, each finding marked in it and
//! listed. With script: `static/tocsin-check.js` (vendored, tiny,
//! optional) checks as one types, through that API endpoint with the
//! session cookie and the `X-CSRF-Token` header, and marks the same spans.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tocsin_domain::CaseRef;

use super::pages::{Flash, show_case};
use super::view::marked;
use super::{CsrfForm, error_page};
use crate::AppState;
use crate::problem::ApiError;

/// The script that checks as one types, embedded.
const SCRIPT: &str = include_str!("../../static/tocsin-check.js");

pub(super) async fn script() -> Response {
    let mut r = SCRIPT.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    r
}

/// The draft form's text, checked; the case page shows it with the
/// findings marked (form `check`).
pub(super) async fn check(
    State(state): State<AppState>,
    Path(reference): Path<String>,
    c: CsrfForm<Vec<(String, String)>>,
) -> Response {
    let v = &c.viewer;
    let text = c
        .form
        .iter()
        .find(|(n, _)| n == "text")
        .map(|(_, t)| t.clone())
        .unwrap_or_default();
    let found = async {
        let r: CaseRef = reference
            .parse()
            .map_err(|_| tocsin_service::ServiceError::CaseNotFound(reference.clone()))?;
        let case = state.svc.case(&v.p, r, "check_warning").await?;
        state.svc.check_warning(&v.p, &case, &text).await
    }
    .await;
    let findings = match found {
        Ok(f) => f,
        Err(e) => return error_page(Some(&v.me), ApiError::from(e)),
    };
    let error = if findings.is_empty() {
        String::new()
    } else {
        format!(
            "The check found {} thing(s) that would reveal protected information (marked below). Nothing was recorded.",
            findings.len()
        )
    };
    let flash = Flash {
        form: "check",
        error,
        marked: marked(&text, &findings),
        findings: findings.iter().map(|f| f.to_string()).collect(),
        text,
    };
    show_case(&state, v, &reference, flash, StatusCode::OK).await
}

/// The draft form's "Start from the template" button: the policy's
/// template for the case's target kind (the API's `warning_template`),
/// checked as the Check button checks, in the editor.
pub(super) async fn template(
    State(state): State<AppState>,
    Path(reference): Path<String>,
    c: CsrfForm<Vec<(String, String)>>,
) -> Response {
    let v = &c.viewer;
    let drafted = async {
        let r: CaseRef = reference
            .parse()
            .map_err(|_| tocsin_service::ServiceError::CaseNotFound(reference.clone()))?;
        let case = state.svc.case(&v.p, r, "warning_template").await?;
        let sender = tocsin_domain::text::Name::new("We")
            .map_err(|e| super::actions::invalid("sender", e))?;
        let draft = state.svc.warning_template(&v.p, &case, sender).await?;
        let text = draft.text.as_str().to_owned();
        let findings = state.svc.check_warning(&v.p, &case, &text).await?;
        Ok::<_, tocsin_service::ServiceError>((text, findings))
    }
    .await;
    let flash = match drafted {
        Ok((text, findings)) => Flash {
            form: "check",
            error: format!(
                "The template's text: the check found {} thing(s) that would reveal protected information (marked below).",
                findings.len()
            ),
            marked: marked(&text, &findings),
            findings: findings.iter().map(|f| f.to_string()).collect(),
            text,
        },
        Err(e) => {
            let e = ApiError::from(e);
            if e.kind.status().is_server_error() || e.kind.status() == StatusCode::NOT_FOUND {
                return error_page(Some(&v.me), e);
            }
            Flash {
                form: "draft",
                error: e.detail,
                ..Flash::default()
            }
        }
    };
    show_case(&state, v, &reference, flash, StatusCode::OK).await
}
