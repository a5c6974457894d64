//! The admin pages about reference data and configuration: the relations
//! between states (with the protecting powers) and the recipients
//! directory, shown and replaced as the API's `PUT /reference/...` does
//! (a JSON document, checked by the domain's types; recorded in the
//! ledger); the notification targets (list, add, remove); the active
//! policy, read only. As in the API, any account may read the relations,
//! the directory and the policy; changing them and the targets needs
//! `operate`, which the service checks. A page offers a form only to
//! whom `Principal::may` says may use it; the service decides the post.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tocsin_domain::access::Permission;
use tocsin_domain::notice::{EmailAddress, NoticeChannel, NoticeTarget, WebhookUrl};
use tocsin_domain::reference::{Directory, Relation, Relations};
use tocsin_domain::text::Label;

use super::{CsrfForm, Me, Viewer, error_page, render};
use crate::AppState;
use crate::problem::ApiError;

/// One state's relation with ours, as a row.
struct RelationRow {
    country: String,
    relation: String,
    protecting_power: String,
}

/// One recipient of the directory, as a row.
struct RecipientRow {
    id: String,
    name: String,
    kind: String,
    country: String,
    locality: String,
    own_office: bool,
    protecting_power: String,
}

#[derive(Template)]
#[template(path = "admin_reference.html")]
struct ReferencePage<'a> {
    me: Option<&'a Me>,
    our_state: String,
    relations: Vec<RelationRow>,
    recipients: Vec<RecipientRow>,
    /// Whether the forms to replace them are offered.
    may_edit: bool,
    /// The JSON in each form: the current document, or what was posted.
    relations_json: String,
    directory_json: String,
    /// Which form a message is about ("relations", "directory"), and it.
    error: Option<(&'static str, String)>,
    /// Which document was just replaced.
    saved: Option<&'static str>,
}

impl ReferencePage<'_> {
    fn shows(&self, form: &str) -> Option<&str> {
        match &self.error {
            Some((f, e)) if *f == form => Some(e.as_str()),
            _ => None,
        }
    }
}

/// A value's JSON name (`"liaison_only"` → `liaison_only`).
fn json_name(v: &impl serde::Serialize) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

fn pretty(v: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

/// What the reference page shows besides the documents.
#[derive(Default)]
struct Posted {
    relations_json: Option<String>,
    directory_json: Option<String>,
    error: Option<(&'static str, String)>,
    saved: Option<&'static str>,
}

async fn reference_page(
    state: &AppState,
    v: &Viewer,
    posted: Posted,
    status: StatusCode,
) -> Response {
    let relations = match state.svc.relations().await {
        Ok(r) => r,
        Err(e) => return error_page(Some(&v.me), ApiError::from(e)),
    };
    let directory = match state.svc.directory().await {
        Ok(d) => d,
        Err(e) => return error_page(Some(&v.me), ApiError::from(e)),
    };
    // The table lists the states the document names (every other state is
    // in direct relations).
    let doc = serde_json::to_value(&relations).unwrap_or_default();
    let named: Vec<String> = doc
        .get("countries")
        .and_then(|c| c.as_object())
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    let rows = named
        .iter()
        .filter_map(|c| serde_json::from_value(serde_json::Value::String(c.clone())).ok())
        .map(|c| {
            let rel = relations.relation(c);
            RelationRow {
                country: format!("{} ({})", c.name(), json_name(&c)),
                relation: rel.as_str().replace('_', " "),
                protecting_power: match rel {
                    Relation::NoRelations { protecting_power } => {
                        format!(
                            "{} ({})",
                            protecting_power.name(),
                            json_name(&protecting_power)
                        )
                    }
                    _ => String::new(),
                },
            }
        })
        .collect();
    let recipients = directory
        .entries()
        .iter()
        .map(|e| RecipientRow {
            id: e.id.to_string(),
            name: e.name.to_string(),
            kind: json_name(&e.kind).replace('_', " "),
            country: json_name(&e.country),
            locality: e
                .locality
                .as_ref()
                .map(|l| l.to_string())
                .unwrap_or_default(),
            own_office: e.own_office,
            protecting_power: e
                .protecting_power
                .as_ref()
                .map(|m| {
                    format!(
                        "represents {} in {}",
                        json_name(&m.represents),
                        json_name(&m.located_in)
                    )
                })
                .unwrap_or_default(),
        })
        .collect();
    let our = relations.our_state();
    render(
        status,
        &ReferencePage {
            me: Some(&v.me),
            our_state: format!("{} ({})", our.name(), json_name(&our)),
            relations: rows,
            recipients,
            may_edit: v.p.may(Permission::Operate),
            relations_json: posted.relations_json.unwrap_or_else(|| pretty(&relations)),
            directory_json: posted.directory_json.unwrap_or_else(|| pretty(&directory)),
            error: posted.error,
            saved: posted.saved,
        },
    )
}

/// `/admin/reference`: the relations and the recipients directory.
pub(super) async fn reference(State(state): State<AppState>, v: Viewer) -> Response {
    reference_page(&state, &v, Posted::default(), StatusCode::OK).await
}

#[derive(Deserialize)]
pub(super) struct DocumentForm {
    #[serde(default)]
    document: String,
}

/// A refused document: the page again with the text as posted and the
/// message beside its form; forbidden and 500s are the error page.
async fn refused_document(
    state: &AppState,
    v: &Viewer,
    form: &'static str,
    text: String,
    e: ApiError,
) -> Response {
    let status = e.kind.status();
    if status.is_server_error() || status == StatusCode::FORBIDDEN {
        return error_page(Some(&v.me), e);
    }
    let mut posted = Posted {
        error: Some((form, e.detail)),
        ..Posted::default()
    };
    if form == "relations" {
        posted.relations_json = Some(text);
    } else {
        posted.directory_json = Some(text);
    }
    reference_page(state, v, posted, status).await
}

fn parse_document<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> Result<T, ApiError> {
    serde_json::from_str(text).map_err(|e| {
        ApiError::validation(format!(
            "the {what} are not valid (line {}, column {}): {e}",
            e.line(),
            e.column()
        ))
    })
}

/// Replaces the relations with the posted JSON document.
pub(super) async fn set_relations(
    State(state): State<AppState>,
    c: CsrfForm<DocumentForm>,
) -> Response {
    let v = &c.viewer;
    let text = c.form.document;
    let r: Relations = match parse_document("relations", &text) {
        Ok(r) => r,
        Err(e) => return refused_document(&state, v, "relations", text, e).await,
    };
    match state.svc.set_relations(&v.p, r).await {
        Ok(_) => {
            let posted = Posted {
                saved: Some("relations"),
                ..Posted::default()
            };
            reference_page(&state, v, posted, StatusCode::OK).await
        }
        Err(e) => refused_document(&state, v, "relations", text, ApiError::from(e)).await,
    }
}

/// Replaces the recipients directory with the posted JSON document.
pub(super) async fn set_directory(
    State(state): State<AppState>,
    c: CsrfForm<DocumentForm>,
) -> Response {
    let v = &c.viewer;
    let text = c.form.document;
    let d: Directory = match parse_document("directory entries", &text) {
        Ok(d) => d,
        Err(e) => return refused_document(&state, v, "directory", text, e).await,
    };
    match state.svc.set_directory(&v.p, d).await {
        Ok(_) => {
            let posted = Posted {
                saved: Some("directory"),
                ..Posted::default()
            };
            reference_page(&state, v, posted, StatusCode::OK).await
        }
        Err(e) => refused_document(&state, v, "directory", text, ApiError::from(e)).await,
    }
}

/// A notification target as a row.
struct TargetRow {
    name: String,
    channel: String,
    to: String,
    signed: bool,
}

/// The add form as typed, and the message beside each bad field.
#[derive(Default, Deserialize)]
pub(super) struct TargetForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    secret: String,
    #[serde(skip)]
    errors: std::collections::BTreeMap<&'static str, String>,
}

impl TargetForm {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field).map(String::as_str)
    }

    /// The target and its secret, or the form with its messages.
    fn target(&mut self) -> Option<(NoticeTarget, Option<String>)> {
        let name = Label::new(self.name.trim())
            .map_err(|e| self.errors.insert("name", e.to_string()))
            .ok();
        let channel = match self.channel.as_str() {
            "webhook" => WebhookUrl::new(self.url.trim())
                .map(|url| NoticeChannel::Webhook { url })
                .map_err(|e| self.errors.insert("url", e.to_string()))
                .ok(),
            "email" => {
                let mut to = Vec::new();
                for a in self.to.split(',').map(str::trim).filter(|a| !a.is_empty()) {
                    match EmailAddress::new(a) {
                        Ok(a) => to.push(a),
                        Err(e) => {
                            self.errors.insert("to", format!("“{a}”: {e}"));
                        }
                    }
                }
                if to.is_empty() && !self.errors.contains_key("to") {
                    self.errors.insert("to", "give at least one address".into());
                }
                Some(NoticeChannel::Email { to })
            }
            _ => {
                self.errors
                    .insert("channel", "choose a webhook or email".into());
                None
            }
        };
        let secret = Some(self.secret.trim().to_owned()).filter(|s| !s.is_empty());
        if !self.errors.is_empty() {
            return None;
        }
        Some((
            NoticeTarget {
                name: name?,
                channel: channel?,
                signed: false,
            },
            secret,
        ))
    }
}

#[derive(Template)]
#[template(path = "admin_targets.html")]
struct TargetsPage<'a> {
    me: Option<&'a Me>,
    targets: Vec<TargetRow>,
    f: TargetForm,
    /// The form's own message (not about one field).
    error: Option<String>,
}

async fn targets_page(
    state: &AppState,
    v: &Viewer,
    mut f: TargetForm,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let targets = match state.svc.list_notice_targets(&v.p).await {
        Ok(t) => t,
        Err(e) => return error_page(Some(&v.me), ApiError::from(e)),
    };
    // A secret is never shown again, not even what was typed.
    f.secret.clear();
    render(
        status,
        &TargetsPage {
            me: Some(&v.me),
            targets: targets
                .iter()
                .map(|t| match &t.channel {
                    NoticeChannel::Webhook { url } => TargetRow {
                        name: t.name.to_string(),
                        channel: "webhook".into(),
                        to: url.to_string(),
                        signed: t.signed,
                    },
                    NoticeChannel::Email { to } => TargetRow {
                        name: t.name.to_string(),
                        channel: "email".into(),
                        to: to
                            .iter()
                            .map(|a| a.to_string())
                            .collect::<Vec<_>>()
                            .join(", "),
                        signed: false,
                    },
                })
                .collect(),
            f,
            error,
        },
    )
}

/// `/admin/notification-targets`: where escalations are sent.
pub(super) async fn targets(State(state): State<AppState>, v: Viewer) -> Response {
    let f = TargetForm {
        channel: "webhook".into(),
        ..TargetForm::default()
    };
    targets_page(&state, &v, f, None, StatusCode::OK).await
}

/// Adds (or changes) a notification target.
pub(super) async fn add_target(State(state): State<AppState>, c: CsrfForm<TargetForm>) -> Response {
    let v = &c.viewer;
    let mut f = c.form;
    let Some((target, secret)) = f.target() else {
        return targets_page(&state, v, f, None, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    match state.svc.set_notice_target(&v.p, target, secret).await {
        Ok(_) => Redirect::to("/admin/notification-targets").into_response(),
        Err(e) => {
            let e = ApiError::from(e);
            let status = e.kind.status();
            if status.is_server_error() || status == StatusCode::FORBIDDEN {
                return error_page(Some(&v.me), e);
            }
            let field = match e.field.as_deref() {
                Some("secret") => Some("secret"),
                Some("channel.to") => Some("to"),
                Some("channel.url") => Some("url"),
                _ => None,
            };
            let general = match field {
                Some(k) => {
                    f.errors.insert(k, e.detail.clone());
                    None
                }
                None => Some(e.detail.clone()),
            };
            targets_page(&state, v, f, general, status).await
        }
    }
}

/// Removes a notification target.
pub(super) async fn remove_target(
    State(state): State<AppState>,
    Path(name): Path<String>,
    c: CsrfForm<super::session::Empty>,
) -> Response {
    let v = &c.viewer;
    let label = match Label::new(name.as_str()) {
        Ok(l) => l,
        Err(_) => {
            return error_page(
                Some(&v.me),
                ApiError::not_found(format!("there is no target '{name}'")),
            );
        }
    };
    match state.svc.remove_notice_target(&v.p, label).await {
        Ok(()) => Redirect::to("/admin/notification-targets").into_response(),
        Err(e) => error_page(Some(&v.me), ApiError::from(e)),
    }
}

#[derive(Template)]
#[template(path = "admin_policy.html")]
struct PolicyPage<'a> {
    me: Option<&'a Me>,
    id: String,
    version: String,
    sha256: String,
    origin: String,
    source: String,
}

/// `/admin/policy`: the active policy, read only (as `GET /policy`).
pub(super) async fn policy(State(state): State<AppState>, v: Viewer) -> Response {
    let p = state.svc.policy();
    render(
        StatusCode::OK,
        &PolicyPage {
            me: Some(&v.me),
            id: p.policy.policy.id.clone(),
            version: p.policy.policy.version.clone(),
            sha256: p.sha256.clone(),
            origin: p.origin.clone(),
            source: p.source.clone(),
        },
    )
}
