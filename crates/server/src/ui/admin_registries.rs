//! The admin page of the registries (the watch lists and directories
//! names are screened against): each with its version, hash and counts,
//! and an import from uploaded files that runs in the background, the
//! page showing how much of the files was read until it is done. The
//! import is the service's, as the API's `POST /registries` runs it (a
//! new version, atomically; a malformed file is refused with its line and
//! nothing is written). Any account may see the list, as in the API; an
//! import needs `operate`, which the service checks before the files are
//! read.
//!
//! The upload is a `multipart/form-data` post (a file cannot be sent
//! otherwise without script). Its `csrf` field must come first, and is
//! checked as [`super::CsrfForm`] checks it; then the kind and the name,
//! and the service's permission check, before any file is read.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use tocsin_domain::access::Permission;
use tocsin_service::screening::{ImportFile, Imported, RegistryKind, check_name, decode_file};

use super::audit::{Progress, refreshing};
use super::view::when;
use super::{AnySession, Me, Viewer, error_page, render};
use crate::AppState;
use crate::api::screening::IMPORT_BODY_LIMIT;
use crate::auth;
use crate::problem::{ApiError, Kind};

/// The body limit of the upload (as the API's import).
pub(super) fn upload_limit() -> DefaultBodyLimit {
    DefaultBodyLimit::max(IMPORT_BODY_LIMIT)
}

/// A registry as a row.
struct RegistryRow {
    name: String,
    kind: String,
    version: u64,
    sha256: String,
    entries: u64,
    names: u64,
    sources: String,
    imported: String,
}

/// The import form as typed, and the message beside each bad field.
#[derive(Default)]
pub(super) struct ImportForm {
    kind: String,
    name: String,
    errors: BTreeMap<&'static str, String>,
}

impl ImportForm {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field).map(String::as_str)
    }
}

#[derive(Template)]
#[template(path = "admin_registries.html")]
struct RegistriesPage<'a> {
    me: Option<&'a Me>,
    registries: Vec<RegistryRow>,
    /// The import running or last run, if any.
    import: Option<Progress>,
    running: bool,
    /// Whether the import form is offered.
    may_import: bool,
    f: ImportForm,
    /// The import just sent was not started: another one runs.
    busy: bool,
    /// Whether the reader asked the page not to reload itself.
    quiet: bool,
}

fn import_outcome(r: &Result<Imported, String>) -> (bool, String) {
    match r {
        Ok(i) => (
            true,
            format!(
                "Imported registry {} version {}: {} entries, {} names (ledger position {}{}).",
                i.info.registry.name,
                i.info.registry.version,
                i.info.entries,
                i.info.names,
                i.position,
                i.replaced
                    .as_ref()
                    .map(|r| format!("; replaces version {}", r.version))
                    .unwrap_or_default()
            ),
        ),
        Err(e) => (
            false,
            format!("The import failed, nothing was written: {e}"),
        ),
    }
}

async fn registries_page(
    state: &AppState,
    v: &Viewer,
    f: ImportForm,
    q: &BusyQuery,
    status: StatusCode,
) -> Response {
    let items = match state.svc.registries().await {
        Ok(items) => items,
        Err(e) => return error_page(Some(&v.me), ApiError::from(e)),
    };
    let import = state
        .background
        .import
        .current()
        .map(|r| Progress::of(&r, import_outcome));
    let running = import.as_ref().is_some_and(Progress::running);
    let r = render(
        status,
        &RegistriesPage {
            me: Some(&v.me),
            registries: items
                .into_iter()
                .map(|(i, _)| RegistryRow {
                    name: i.registry.name,
                    kind: i.registry.kind,
                    version: i.registry.version,
                    sha256: i.registry.sha256,
                    entries: i.entries,
                    names: i.names,
                    sources: i.sources.join(", "),
                    imported: format!("{} by {}", when(i.imported_at), i.imported_by),
                })
                .collect(),
            import,
            running,
            may_import: v.p.may(Permission::Operate),
            f,
            busy: q.busy.is_some(),
            quiet: q.quiet.is_some(),
        },
    );
    refreshing(running, q.quiet.is_some(), r)
}

#[derive(Default, serde::Deserialize)]
pub(super) struct BusyQuery {
    /// Present: the import just sent was not started.
    busy: Option<String>,
    /// Present: do not reload the page while an import runs.
    quiet: Option<String>,
}

/// `/admin/registries`: the registries, the import running or last run,
/// and the import form.
pub(super) async fn registries(
    State(state): State<AppState>,
    v: Viewer,
    Query(q): Query<BusyQuery>,
) -> Response {
    let f = ImportForm {
        kind: "directory".into(),
        ..ImportForm::default()
    };
    registries_page(&state, &v, f, &q, StatusCode::OK).await
}

/// A form post that did not carry the session's CSRF token first: refused
/// and recorded, as [`super::CsrfForm`] does.
async fn csrf_refused(state: &AppState, v: &Viewer) -> Response {
    super::csrf_refusal(state, v, "/admin/registries".to_owned()).await
}

fn broken(v: &Viewer, e: impl std::fmt::Display) -> Response {
    error_page(
        Some(&v.me),
        ApiError::new(
            Kind::PayloadTooLarge,
            format!("the upload broke off or is larger than {IMPORT_BODY_LIMIT} bytes: {e}"),
        ),
    )
}

/// Starts an import of the uploaded files in the background (unless one
/// is running) and shows its progress.
pub(super) async fn import(State(state): State<AppState>, req: Request) -> Response {
    let (mut parts, body) = req.into_parts();
    let v = match <AnySession as axum::extract::FromRequestParts<AppState>>::from_request_parts(
        &mut parts, &state,
    )
    .await
    {
        Ok(s) => s.0,
        Err(r) => return r,
    };
    let req = Request::from_parts(parts, body);
    let mut mp = match Multipart::from_request(req, &state).await {
        Ok(mp) => mp,
        Err(e) => {
            // Not an upload: a forged or broken post.
            tracing::debug!(error = %e, "not a multipart form");
            return csrf_refused(&state, &v).await;
        }
    };
    if v.p.password_change_required() {
        return Redirect::to("/password").into_response();
    }
    let mut f = ImportForm::default();
    let mut csrf_ok = false;
    let mut allowed = None;
    let mut files: Vec<ImportFile> = Vec::new();
    loop {
        let field = match mp.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => return broken(&v, e),
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
            continue;
        }
        match name.as_str() {
            "kind" => f.kind = field.text().await.unwrap_or_default().trim().to_owned(),
            "name" => f.name = field.text().await.unwrap_or_default().trim().to_owned(),
            "file" | "alt_file" => {
                let file_name = field.file_name().unwrap_or_default().to_owned();
                if allowed.is_none() {
                    // The permission and the fields, before any file is read.
                    let kind = RegistryKind::parse(&f.kind);
                    if kind.is_none() {
                        f.errors
                            .insert("kind", "choose ofac, un or directory".to_owned());
                    }
                    if let Err(e) = check_name(&f.name) {
                        f.errors.insert("name", e.to_string());
                    }
                    let Some(kind) = kind.filter(|_| f.errors.is_empty()) else {
                        return registries_page(
                            &state,
                            &v,
                            f,
                            &BusyQuery::default(),
                            StatusCode::UNPROCESSABLE_ENTITY,
                        )
                        .await;
                    };
                    match state.svc.registry_import(&v.p, kind, &f.name).await {
                        Ok(i) => allowed = Some(i),
                        Err(e) => return error_page(Some(&v.me), ApiError::from(e)),
                    }
                }
                let bytes = match field.bytes().await {
                    Ok(b) => b,
                    Err(e) => return broken(&v, e),
                };
                if !file_name.is_empty() || !bytes.is_empty() {
                    files.push(decode_file(&file_name, bytes.to_vec()));
                }
            }
            _ => {}
        }
    }
    let Some(import) = allowed.filter(|_| !files.is_empty()) else {
        if RegistryKind::parse(&f.kind).is_none() {
            f.errors
                .insert("kind", "choose ofac, un or directory".to_owned());
        }
        f.errors
            .insert("file", "choose the file to import".to_owned());
        return registries_page(
            &state,
            &v,
            f,
            &BusyQuery::default(),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let what = format!(
        "Import of registry {} from {}",
        import.name(),
        files
            .iter()
            .map(|f| f.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let svc = state.svc.clone();
    let (run, started) = state.background.import.start(
        v.p.name().to_string(),
        state.svc.now(),
        what,
        move |counter| async move {
            let name = import.name().to_owned();
            let r = import.run(files, counter).await.map_err(|e| {
                let mut e = ApiError::from(e);
                e.log_cause();
                e.detail
            });
            if r.is_ok() {
                // Build the new index now, as the API's import does.
                tokio::spawn(async move {
                    if let Err(e) = svc.warm_registry(&name).await {
                        tracing::warn!(registry = %name, error = %e, "cannot build the screening index");
                    }
                });
            }
            r
        },
    );
    if started {
        run.settle(super::audit::SETTLE).await;
        Redirect::to("/admin/registries#import").into_response()
    } else {
        Redirect::to("/admin/registries?busy=1#import").into_response()
    }
}
