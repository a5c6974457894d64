//! Getting the warning there: reference data, route planning, warning
//! templates, exports (letter, CAP 1.2), notice targets and the notices
//! sent to them. (The HTTP paths and operation ids keep the first name of
//! notices, *notification*: see ARCHITECTURE.md, Names.)

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tocsin_domain::access::Permission;
use tocsin_domain::notice::{NoticeChannel, NoticeTarget};
use tocsin_domain::reference::{Directory, Relations};
use tocsin_domain::template::Draft;
use tocsin_domain::text::{Label, Name, Note, Reason};
use tocsin_domain::warning_set::RoutePlanView;
use tocsin_service::exports::CapScope;
use tocsin_service::{Notice, NoticeStatus};

use super::cases::{CASE_PARAM, version};
use super::common::{
    CommandResult, List, PageQuery, VisibleCase, WarningQuery, answer, case_ref, ok, paginate, text,
};
use super::needs;
use crate::AppState;
use crate::problem::{ApiError, Kind};
use crate::table::{Access, Caller, Op, PathParams, QueryParams, RawBody, Table};
use tocsin_domain::warning::{RouteFor, WarningNumber};

pub fn routes(t: &mut Table) {
    t.add(
        Op::get("get_relations", path!("/reference/relations"), Access::Authenticated)
            .tag("reference")
            .summary("The relations between our state and the others (direct, liaison only, or none with a protecting power)")
            .returns::<Relations>(StatusCode::OK),
        get_relations,
    );
    t.add(
        Op::put(
            "set_relations",
            path!("/reference/relations"),
            needs(Permission::Operate),
        )
        .tag("reference")
        .summary("Replace the relations (recorded in the ledger)")
        .body::<Relations>()
        .returns::<Relations>(StatusCode::OK),
        set_relations,
    );
    t.add(
        Op::get(
            "get_directory",
            path!("/reference/directory"),
            Access::Authenticated,
        )
        .tag("reference")
        .summary("The recipients directory")
        .returns::<Directory>(StatusCode::OK),
        get_directory,
    );
    t.add(
        Op::put(
            "set_directory",
            path!("/reference/directory"),
            needs(Permission::Operate),
        )
        .tag("reference")
        .summary("Replace the recipients directory (recorded in the ledger)")
        .body::<Directory>()
        .returns::<Directory>(StatusCode::OK),
        set_directory,
    );
    t.add(
        Op::get("route_plan", path!("/cases/{case_id}/route-plan"), needs(Permission::Analyse))
            .tag("delivery")
            .summary("Ranked route candidates for the case, each with its reason, and the routes excluded with why")
            .param("case_id", CASE_PARAM)
            .returns::<RoutePlanView>(StatusCode::OK),
        route_plan,
    );
    t.add(
        Op::post(
            "choose_candidate",
            path!("/cases/{case_id}/route-choice"),
            needs(Permission::Analyse),
        )
        .tag("delivery")
        .summary(
            "Choose a candidate of the route plan; the others are recorded as the alternatives",
        )
        .param("case_id", CASE_PARAM)
        .query::<WarningQuery>()
        .body::<ChoiceBody>()
        .returns::<CommandResult>(StatusCode::OK)
        .errors(&[Kind::IllegalTransition, Kind::Conflict]),
        choose_candidate,
    );
    t.add(
        Op::get(
            "warning_template",
            path!("/cases/{case_id}/warning-template"),
            needs(Permission::Analyse),
        )
        .tag("delivery")
        .summary("A draft of the warning from the template for the case's target kind")
        .param("case_id", CASE_PARAM)
        .query::<TemplateQuery>()
        .returns::<Draft>(StatusCode::OK),
        warning_template,
    );
    t.add(
        Op::get(
            "warning_letter",
            path!("/cases/{case_id}/warnings/{version}/letter"),
            needs(Permission::ReadCase),
        )
        .tag("delivery")
        .summary("The approved warning as a printable letter (text/plain)")
        .param("case_id", CASE_PARAM)
        .param("version", "The warning version")
        .query::<WarningQuery>()
        .returns_text()
        .errors(&[Kind::IllegalTransition]),
        warning_letter,
    );
    t.add(
        Op::get(
            "warning_cap",
            path!("/cases/{case_id}/warnings/{version}/cap"),
            needs(Permission::ReadCase),
        )
        .tag("delivery")
        .summary("The approved warning as an OASIS CAP 1.2 alert (application/xml)")
        .param("case_id", CASE_PARAM)
        .param("version", "The warning version")
        .query::<CapQuery>()
        .returns_text()
        .errors(&[Kind::IllegalTransition]),
        warning_cap,
    );
    t.add(
        Op::get(
            "list_notification_targets",
            path!("/notification-targets"),
            needs(Permission::Operate),
        )
        .tag("notifications")
        .summary("Where escalations are sent")
        .returns::<List<NoticeTarget>>(StatusCode::OK),
        list_notification_targets,
    );
    t.add(
        Op::put("set_notification_target", path!("/notification-targets/{name}"), needs(Permission::Operate))
            .tag("notifications")
            .summary("Add or change a notification target (a webhook, with an optional HMAC secret, or email)")
            .param("name", "The target's name")
            .body::<TargetBody>()
            .returns::<NoticeTarget>(StatusCode::OK),
        set_notification_target,
    );
    t.add(
        Op::delete(
            "remove_notification_target",
            path!("/notification-targets/{name}"),
            needs(Permission::Operate),
        )
        .tag("notifications")
        .summary("Remove a notification target")
        .param("name", "The target's name")
        .no_content(),
        remove_notification_target,
    );
    t.add(
        Op::get(
            "list_notices",
            path!("/notifications"),
            needs(Permission::Operate),
        )
        .tag("notifications")
        .summary("Escalation notices not yet delivered: pending, being sent, or failed")
        .query::<NoticeQuery>()
        .returns::<List<Notice>>(StatusCode::OK),
        list_notices,
    );
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChoiceBody {
    /// The rank of the candidate in the route plan (1 = the best).
    #[schemars(range(min = 1))]
    pub candidate: u32,
    /// Why (default: the candidate's own reason).
    #[serde(default)]
    pub rationale: Option<Reason>,
    /// Add a warning to another recipient with this candidate (the next
    /// number: W2, W3...) rather than choose the route of an existing one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub new_warning: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateQuery {
    /// Who speaks in the text (default: "We").
    pub sender: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CapQuery {
    /// `private` (for the route's recipient, the default) or `restricted`.
    pub scope: Option<String>,
    /// For `restricted`: who may see it.
    pub restriction: Option<String>,
    /// The warning's number (default: the case's only warning).
    pub warning: Option<WarningNumber>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetBody {
    pub channel: NoticeChannel,
    /// A webhook's signing secret (at least 16 characters); never shown again.
    #[serde(default)]
    pub secret: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoticeQuery {
    /// Only notices in this state: pending, sending or failed.
    pub status: Option<String>,
    #[schemars(range(min = 1, max = 1000))]
    pub limit: Option<u32>,
    pub after: Option<String>,
}

async fn get_relations(State(state): State<AppState>) -> Result<Response, ApiError> {
    ok(&state.svc.relations().await?)
}

async fn set_relations(
    State(state): State<AppState>,
    Caller(p): Caller,
    body: RawBody,
) -> Result<Response, ApiError> {
    let r: Relations = body.parse()?;
    ok(&state.svc.set_relations(&p, r).await?)
}

async fn get_directory(State(state): State<AppState>) -> Result<Response, ApiError> {
    ok(&state.svc.directory().await?)
}

async fn set_directory(
    State(state): State<AppState>,
    Caller(p): Caller,
    body: RawBody,
) -> Result<Response, ApiError> {
    let d: Directory = body.parse()?;
    ok(&state.svc.set_directory(&p, d).await?)
}

async fn route_plan(
    State(state): State<AppState>,
    Caller(p): Caller,
    PathParams(id): PathParams<String>,
) -> Result<Response, ApiError> {
    ok(&state.svc.route_plan(&p, case_ref(&id)?).await?)
}

async fn choose_candidate(
    State(state): State<AppState>,
    Caller(p): Caller,
    VisibleCase(case): VisibleCase,
    QueryParams(q): QueryParams<WarningQuery>,
    body: RawBody,
) -> Result<Response, ApiError> {
    let b: ChoiceBody = body.parse()?;
    let target = match (b.new_warning, q.warning) {
        (true, Some(_)) => {
            return Err(ApiError::bad_request(
                "give either new_warning or a warning number, not both",
            ));
        }
        (true, None) => RouteFor::NewWarning,
        (false, Some(n)) => RouteFor::Warning(n),
        (false, None) => RouteFor::Only,
    };
    let ex = state
        .svc
        .choose_candidate(&p, &case, b.candidate, b.rationale, target)
        .await?;
    answer(ex)
}

async fn warning_template(
    State(state): State<AppState>,
    Caller(p): Caller,
    VisibleCase(case): VisibleCase,
    QueryParams(q): QueryParams<TemplateQuery>,
) -> Result<Response, ApiError> {
    let sender = Name::new(q.sender.unwrap_or_else(|| "We".into()))
        .map_err(|e| ApiError::bad_request(format!("sender: {e}")))?;
    ok(&state.svc.warning_template(&p, &case, sender).await?)
}

async fn warning_letter(
    State(state): State<AppState>,
    Caller(p): Caller,
    VisibleCase(case): VisibleCase,
    PathParams((_, v)): PathParams<(String, String)>,
    QueryParams(q): QueryParams<WarningQuery>,
) -> Result<Response, ApiError> {
    let v = version(&case.id, &v)?;
    let letter = state.svc.warning_letter(&p, &case, q.warning, v).await?;
    Ok(text("text/plain; charset=utf-8", letter))
}

async fn warning_cap(
    State(state): State<AppState>,
    Caller(p): Caller,
    VisibleCase(case): VisibleCase,
    PathParams((_, v)): PathParams<(String, String)>,
    QueryParams(q): QueryParams<CapQuery>,
) -> Result<Response, ApiError> {
    let v = version(&case.id, &v)?;
    let scope = match q.scope.as_deref().unwrap_or("private") {
        "private" => CapScope::Private,
        "restricted" => CapScope::Restricted {
            restriction: q
                .restriction
                .map(Note::new)
                .transpose()
                .map_err(|e| ApiError::bad_request(format!("restriction: {e}")))?,
        },
        other => {
            return Err(ApiError::bad_request(format!(
                "scope '{other}': give private or restricted"
            )));
        }
    };
    let xml = state
        .svc
        .warning_cap(&p, &case, q.warning, v, scope)
        .await?;
    Ok(text("application/xml; charset=utf-8", xml))
}

async fn list_notification_targets(
    State(state): State<AppState>,
    Caller(p): Caller,
    QueryParams(q): QueryParams<PageQuery>,
) -> Result<Response, ApiError> {
    let items = state.svc.list_notice_targets(&p).await?;
    ok(&paginate(items, |t| t.name.to_string(), &q)?)
}

async fn set_notification_target(
    State(state): State<AppState>,
    Caller(p): Caller,
    PathParams(name): PathParams<String>,
    body: RawBody,
) -> Result<Response, ApiError> {
    let name = Label::new(name.as_str())
        .map_err(|e| ApiError::bad_request(format!("target name: {e}")))?;
    let b: TargetBody = body.parse()?;
    let target = NoticeTarget {
        name,
        channel: b.channel,
        signed: false,
    };
    ok(&state.svc.set_notice_target(&p, target, b.secret).await?)
}

async fn remove_notification_target(
    State(state): State<AppState>,
    Caller(p): Caller,
    PathParams(name): PathParams<String>,
) -> Result<Response, ApiError> {
    let name = Label::new(name.as_str())
        .map_err(|e| ApiError::not_found(format!("no target '{name}': {e}")))?;
    state.svc.remove_notice_target(&p, name).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_notices(
    State(state): State<AppState>,
    Caller(p): Caller,
    QueryParams(q): QueryParams<NoticeQuery>,
) -> Result<Response, ApiError> {
    let status = match q.status.as_deref() {
        None => None,
        Some(s) => Some(NoticeStatus::parse(s).ok_or_else(|| {
            ApiError::bad_request(format!("status '{s}': give pending, sending or failed"))
        })?),
    };
    let items = state.svc.list_notices(&p, status).await?;
    let page = PageQuery {
        limit: q.limit,
        after: q.after,
    };
    ok(&paginate(items, |n: &Notice| n.id.clone(), &page)?)
}
