//! Intake from an uploaded file: a threat report as a JSON file (the
//! schema of `POST /api/v1/reports`), sent as a multipart form. The file
//! is read as the pasted JSON of the intake form and taken in by the same
//! handler ([`super::intake::submit_report`]), so its errors, the choice
//! of destination and the service's checks are the form's. The hidden
//! `csrf` field must come first and match the session's token, as in every
//! form post; nothing is read before it is checked.

use axum::extract::{FromRequest, FromRequestParts, Multipart, Request, State};
use axum::response::{IntoResponse, Redirect, Response};

use super::{AnySession, CsrfForm, Viewer, error_page};
use crate::problem::{ApiError, Kind};
use crate::{AppState, auth};

/// The file field of the upload form.
const FILE_FIELD: &str = "report_file";

async fn csrf_refused(state: &AppState, v: &Viewer) -> Response {
    super::csrf_refusal(state, v, "/reports/upload".to_owned()).await
}

/// Takes in the report of an uploaded JSON file.
pub(super) async fn upload_report(State(state): State<AppState>, req: Request) -> Response {
    let (mut parts, body) = req.into_parts();
    let v = match AnySession::from_request_parts(&mut parts, &state).await {
        Ok(s) => s.0,
        Err(r) => return r,
    };
    let mut mp = match Multipart::from_request(Request::from_parts(parts, body), &state).await {
        Ok(mp) => mp,
        // Not an upload: a forged or broken post.
        Err(_) => return csrf_refused(&state, &v).await,
    };
    if v.p.password_change_required() {
        return Redirect::to("/password").into_response();
    }
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut csrf_ok = false;
    let mut file_seen = false;
    loop {
        let field = match mp.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => {
                return error_page(
                    Some(&v.me),
                    ApiError::new(
                        Kind::PayloadTooLarge,
                        format!("the upload broke off or is too large: {e}"),
                    ),
                );
            }
        };
        let name = field.name().unwrap_or_default().to_owned();
        if !csrf_ok {
            let sent = if name == "csrf" {
                field.text().await.ok()
            } else {
                None
            };
            if !auth::csrf_matches(&v.p, sent.as_deref()) {
                return csrf_refused(&state, &v).await;
            }
            csrf_ok = true;
            fields.push(("csrf".to_owned(), sent.unwrap_or_default()));
            continue;
        }
        let bytes = match field.bytes().await {
            Ok(b) => b,
            Err(e) => {
                return error_page(
                    Some(&v.me),
                    ApiError::new(
                        Kind::PayloadTooLarge,
                        format!("the upload broke off or is too large: {e}"),
                    ),
                );
            }
        };
        if name == FILE_FIELD {
            file_seen = !bytes.is_empty();
            // Not UTF-8: the intake's JSON parser names it, beside the field.
            fields.push((
                "report_json".to_owned(),
                String::from_utf8_lossy(&bytes).into_owned(),
            ));
        } else {
            fields.push((name, String::from_utf8_lossy(&bytes).into_owned()));
        }
    }
    if !csrf_ok {
        return csrf_refused(&state, &v).await;
    }
    if !file_seen {
        return super::intake::upload_error(&state, &v, "choose a JSON file of the report");
    }
    super::intake::submit_report(
        State(state),
        CsrfForm {
            viewer: v,
            form: fields,
        },
    )
    .await
}
