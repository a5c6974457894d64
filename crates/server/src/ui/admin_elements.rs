//! The admin page of elements and clearance levels (`/admin/elements`):
//! the registered elements (organisations) and registering one, the
//! deployment's clearance levels and replacing them, as the API's
//! `/elements` and `/clearance-levels` do. As in the API, any account may
//! read both; changing them needs `manage_accounts`, which the service
//! checks (it also refuses levels that would drop one an account holds).

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tocsin_domain::access::{ClearanceLevels, Permission};
use tocsin_domain::text::{ElementName, Label, Note};

use super::view::when;
use super::{CsrfForm, Me, Viewer, error_page, render};
use crate::AppState;
use crate::problem::ApiError;

/// Elements per page.
const PAGE: u32 = 100;

/// What was typed in the page's forms, and the message beside each field.
#[derive(Default, Deserialize)]
pub(super) struct ElementsForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    levels: String,
    #[serde(skip)]
    errors: BTreeMap<&'static str, String>,
}

impl ElementsForm {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field).map(String::as_str)
    }
}

#[derive(Template)]
#[template(path = "admin_elements.html")]
struct ElementsPage<'a> {
    me: Option<&'a Me>,
    /// Name, description, registered.
    elements: Vec<(String, String, String)>,
    /// The query of the next page (`after=...`), if there is one.
    next: Option<String>,
    after: Option<String>,
    levels: Vec<String>,
    may_edit: bool,
    f: ElementsForm,
}

#[derive(Deserialize)]
pub(super) struct PageQuery {
    after: Option<String>,
}

async fn elements_page(
    state: &AppState,
    v: &Viewer,
    after: Option<String>,
    mut f: ElementsForm,
    status: StatusCode,
) -> Response {
    let mut items = match state.svc.elements(after.clone(), PAGE + 1).await {
        Ok(items) => items,
        Err(e) => return error_page(Some(&v.me), ApiError::from(e)),
    };
    let next = if items.len() > PAGE as usize {
        items.truncate(PAGE as usize);
        items
            .last()
            .and_then(|e| serde_urlencoded::to_string([("after", e.name.as_str())]).ok())
    } else {
        None
    };
    let levels: Vec<String> = match state.svc.clearance_levels().await {
        Ok(l) => l.levels().iter().map(|l| l.to_string()).collect(),
        Err(e) => return error_page(Some(&v.me), ApiError::from(e)),
    };
    if f.levels.is_empty() {
        f.levels = levels.join(", ");
    }
    render(
        status,
        &ElementsPage {
            me: Some(&v.me),
            elements: items
                .iter()
                .map(|e| {
                    (
                        e.name.to_string(),
                        e.description
                            .as_ref()
                            .map(|d| d.to_string())
                            .unwrap_or_default(),
                        when(e.registered_at),
                    )
                })
                .collect(),
            next,
            after,
            levels,
            may_edit: v.p.may(Permission::ManageAccounts),
            f,
        },
    )
}

/// `/admin/elements`: the elements and the clearance levels.
pub(super) async fn elements(
    State(state): State<AppState>,
    v: Viewer,
    Query(q): Query<PageQuery>,
) -> Response {
    elements_page(&state, &v, q.after, ElementsForm::default(), StatusCode::OK).await
}

/// The service's refusal beside `field`, or the error page when it is not
/// about the form.
async fn refused(
    state: &AppState,
    v: &Viewer,
    mut f: ElementsForm,
    field: &'static str,
    e: tocsin_service::ServiceError,
) -> Response {
    let e = ApiError::from(e);
    let status = e.kind.status();
    if status.is_server_error() || status == StatusCode::FORBIDDEN {
        return error_page(Some(&v.me), e);
    }
    f.errors.insert(field, e.detail);
    elements_page(state, v, None, f, status).await
}

/// Registers an element.
pub(super) async fn register_element(
    State(state): State<AppState>,
    c: CsrfForm<ElementsForm>,
) -> Response {
    let v = &c.viewer;
    let mut f = c.form;
    let name = ElementName::new(f.name.trim())
        .map_err(|e| f.errors.insert("name", e.to_string()))
        .ok();
    let description = Some(f.description.trim())
        .filter(|d| !d.is_empty())
        .map(Note::new)
        .transpose()
        .map_err(|e| f.errors.insert("description", e.to_string()))
        .ok();
    let (Some(name), Some(description)) = (name, description) else {
        return elements_page(&state, v, None, f, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    match state.svc.register_element(&v.p, name, description).await {
        Ok(_) => Redirect::to("/admin/elements").into_response(),
        Err(e) => refused(&state, v, f, "name", e).await,
    }
}

/// Replaces the clearance levels (lowest first, separated by commas).
pub(super) async fn set_levels(
    State(state): State<AppState>,
    c: CsrfForm<ElementsForm>,
) -> Response {
    let v = &c.viewer;
    let mut f = c.form;
    let mut labels = Vec::new();
    for l in f.levels.split(',').map(str::trim).filter(|l| !l.is_empty()) {
        match Label::new(l) {
            Ok(l) => labels.push(l),
            Err(e) => {
                f.errors.insert("levels", format!("“{l}”: {e}"));
            }
        }
    }
    let levels = match ClearanceLevels::new(labels) {
        Ok(levels) if f.errors.is_empty() => levels,
        Ok(_) => return elements_page(&state, v, None, f, StatusCode::UNPROCESSABLE_ENTITY).await,
        Err(e) => {
            f.errors.insert("levels", e.to_string());
            return elements_page(&state, v, None, f, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    };
    match state.svc.set_clearance_levels(&v.p, levels).await {
        Ok(_) => Redirect::to("/admin/elements#levels").into_response(),
        Err(e) => refused(&state, v, f, "levels", e).await,
    }
}
