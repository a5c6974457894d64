//! Routes for getting the warning there: reference data, route planning,
//! warning templates, exports (letter, CAP 1.2), notification targets and
//! the notices sent to them.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::Deserialize;
use tocsin_domain::access::Permission;
use tocsin_domain::case::{Case, Command};
use tocsin_domain::delivery::Party;
use tocsin_domain::notify::{NotificationTarget, NotifyChannel};
use tocsin_domain::reference::{Directory, Relations};
use tocsin_domain::routing::RoutePlan;
use tocsin_domain::template::{Draft, TemplateFacts, TemplateOptions};
use tocsin_domain::text::{Label, Name, Note, Reason};
use tocsin_domain::time::TimeZoneName;
use tocsin_export::cap::{self, CapAddress, CapId, Scope};
use tocsin_export::{ApprovedWarning, Letter, letter};
use tocsin_service::Notice;

use crate::AppState;
use crate::api::{List, needs, ok, visible_case};
use crate::problem::{ApiError, Kind};
use crate::table::{Access, Caller, Op, PathParams, QueryParams, RawBody, Table};

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
            .param("case_id", "The case id (a UUID)")
            .returns::<RoutePlan>(StatusCode::OK),
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
        .param("case_id", "The case id (a UUID)")
        .body::<ChoiceBody>()
        .returns::<crate::api::CommandResult>(StatusCode::OK)
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
        .param("case_id", "The case id (a UUID)")
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
        .param("case_id", "The case id (a UUID)")
        .param("version", "The warning version")
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
        .param("case_id", "The case id (a UUID)")
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
        .returns::<List<NotificationTarget>>(StatusCode::OK),
        list_targets,
    );
    t.add(
        Op::put("set_notification_target", path!("/notification-targets/{name}"), needs(Permission::Operate))
            .tag("notifications")
            .summary("Add or change a notification target (a webhook, with an optional HMAC secret, or email)")
            .param("name", "The target's name")
            .body::<TargetBody>()
            .returns::<NotificationTarget>(StatusCode::OK),
        set_target,
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
        remove_target,
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

fn text(content_type: &'static str, body: String) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChoiceBody {
    /// The rank of the candidate in the route plan (1 = the best).
    #[schemars(range(min = 1))]
    pub candidate: u32,
    /// Why (default: the candidate's own reason).
    #[serde(default)]
    pub rationale: Option<Reason>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateQuery {
    /// Who speaks in the text (default: "We").
    pub sender: Option<String>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CapQuery {
    /// `private` (for the route's recipient, the default) or `restricted`.
    pub scope: Option<String>,
    /// For `restricted`: who may see it.
    pub restriction: Option<String>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetBody {
    pub channel: NotifyChannel,
    /// A webhook's signing secret (at least 16 characters); never shown again.
    #[serde(default)]
    pub secret: Option<String>,
}

#[derive(Deserialize, JsonSchema)]
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
    state.svc.set_relations(&p.account.name, r).await?;
    ok(&state.svc.relations().await?)
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
    state.svc.set_directory(&p.account.name, d).await?;
    ok(&state.svc.directory().await?)
}

async fn route_plan(
    State(state): State<AppState>,
    Caller(p): Caller,
    PathParams(case_id): PathParams<String>,
) -> Result<Response, ApiError> {
    let case = visible_case(&state, &p, &case_id, "route_plan").await?;
    ok(&state.svc.route_plan(&case).await?)
}

async fn choose_candidate(
    State(state): State<AppState>,
    Caller(p): Caller,
    PathParams(case_id): PathParams<String>,
    body: RawBody,
) -> Result<Response, ApiError> {
    let case = visible_case(&state, &p, &case_id, "choose_candidate").await?;
    let b: ChoiceBody = body.parse()?;
    let plan = state.svc.route_plan(&case).await?;
    let chosen = plan
        .candidates
        .iter()
        .find(|c| c.rank == b.candidate)
        .ok_or_else(|| {
            ApiError::validation(format!(
                "candidate: the plan has {} candidate(s); there is no candidate {}",
                plan.candidates.len(),
                b.candidate
            ))
            .field("candidate")
        })?;
    let cmd = Command::ChooseRoute {
        route: chosen.route.clone(),
        rationale: b.rationale.unwrap_or_else(|| chosen.reason.clone()),
        alternatives: plan.alternatives(&chosen.route),
    };
    crate::api::run_command(&state, &p, &case, cmd).await
}

async fn warning_template(
    State(state): State<AppState>,
    Caller(p): Caller,
    PathParams(case_id): PathParams<String>,
    QueryParams(q): QueryParams<TemplateQuery>,
) -> Result<Response, ApiError> {
    let case = visible_case(&state, &p, &case_id, "warning_template").await?;
    let sender = Name::new(q.sender.unwrap_or_else(|| "We".into()))
        .map_err(|e| ApiError::bad_request(format!("sender: {e}")))?;
    let facts = TemplateFacts::from_case(&case, state.svc.policy());
    // The draft restates facts of the reports: a read of restricted content.
    state
        .svc
        .record_access(
            &p.account.name,
            tocsin_domain::Event::ContentRead {
                case_id: case.id,
                parts: vec!["report_facts".into()],
            },
        )
        .await?;
    ok(&tocsin_domain::template::draft(
        &facts,
        &TemplateOptions { sender },
    ))
}

/// The approved warning of that version, the route and a time zone.
fn approved<'a>(
    case: &'a Case,
    version: &str,
) -> Result<(ApprovedWarning, &'a tocsin_domain::case::RouteEntry), ApiError> {
    let missing =
        || ApiError::not_found(format!("case {} has no warning version {version}", case.id));
    let v: u32 = version.parse().map_err(|_| missing())?;
    let w = case
        .warnings
        .iter()
        .find(|w| w.version == v)
        .ok_or_else(missing)?;
    let a = ApprovedWarning::from_version(w).map_err(|e| {
        ApiError::new(
            Kind::IllegalTransition,
            format!("warning version {v} cannot be exported: {e}"),
        )
    })?;
    let route = case.route.as_ref().ok_or_else(|| {
        ApiError::new(
            Kind::IllegalTransition,
            "choose a route before exporting the warning",
        )
    })?;
    Ok((a, route))
}

/// When the warning was first passed on, and the recipient's time zone.
fn sent_and_zone(case: &Case, version: u32) -> (tocsin_domain::Timestamp, TimeZoneName) {
    let first = case
        .deliveries
        .iter()
        .filter(|d| d.delivery.warning_version == version)
        .min_by_key(|d| d.delivery.at);
    let last_hop = case
        .deliveries
        .iter()
        .filter(|d| d.delivery.warning_version == version)
        .max_by_key(|d| d.delivery.hop);
    let zone = last_hop
        .map(|d| d.delivery.time_zone.clone())
        .or_else(|| case.window().map(|w| w.time_zone().clone()))
        .unwrap_or_else(TimeZoneName::utc);
    let sent = first
        .map(|d| d.delivery.at)
        .or_else(|| {
            case.warnings
                .iter()
                .find(|w| w.version == version)
                .and_then(|w| w.approved_at)
        })
        .unwrap_or(case.opened_at);
    (sent, zone)
}

async fn warning_letter(
    State(state): State<AppState>,
    Caller(p): Caller,
    PathParams((case_id, version)): PathParams<(String, String)>,
) -> Result<Response, ApiError> {
    let case = visible_case(&state, &p, &case_id, "warning_letter").await?;
    let (w, route) = approved(&case, &version)?;
    let (date, zone) = sent_and_zone(&case, w.version());
    let hops = route.route.hops();
    let via: Vec<Party> = hops.iter().skip(1).map(|h| h.from.clone()).collect();
    let body = letter(&Letter {
        sender: &hops[0].from,
        recipient: route.route.recipient(),
        via: &via,
        date,
        time_zone: &zone,
        warning: &w,
    });
    Ok(text("text/plain; charset=utf-8", body))
}

async fn warning_cap(
    State(state): State<AppState>,
    Caller(p): Caller,
    PathParams((case_id, version)): PathParams<(String, String)>,
    QueryParams(q): QueryParams<CapQuery>,
) -> Result<Response, ApiError> {
    let case = visible_case(&state, &p, &case_id, "warning_cap").await?;
    let (w, route) = approved(&case, &version)?;
    let (sent, zone) = sent_and_zone(&case, w.version());
    let bad = |e: tocsin_export::ExportError| ApiError::internal(e.to_string());
    let scope = match q.scope.as_deref().unwrap_or("private") {
        "private" => Scope::Private {
            addresses: vec![CapAddress::for_party(route.route.recipient()).map_err(bad)?],
        },
        "restricted" => Scope::Restricted {
            restriction: Note::new(q.restriction.unwrap_or_else(|| {
                format!(
                    "For {} only. Not for public release.",
                    route.route.recipient().name
                )
            }))
            .map_err(|e| ApiError::bad_request(format!("restriction: {e}")))?,
        },
        other => {
            return Err(ApiError::bad_request(format!(
                "scope '{other}': give private or restricted"
            )));
        }
    };
    let facts = case.facts(state.svc.policy());
    let identifier =
        CapId::new(format!("tocsin-{}-warning-{}", case.id, w.version())).map_err(bad)?;
    let sender =
        CapId::new(format!("tocsin-{}", state.svc.store().meta().deployment_id)).map_err(bad)?;
    let language = case
        .warnings
        .iter()
        .find(|x| x.version == w.version())
        .map(|x| x.language.clone())
        .unwrap_or_else(tocsin_domain::delivery::LanguageTag::english);
    let event = Name::new("Threat to life").map_err(|e| ApiError::internal(e.to_string()))?;
    let target_kind = case
        .reports
        .first()
        .map(|r| r.report.target.kind)
        .ok_or_else(|| ApiError::internal("a case without a report"))?;
    let location = case.reports.iter().find_map(|r| r.report.location.as_ref());
    let xml = cap::alert(&cap::Alert {
        identifier: &identifier,
        sender: &sender,
        sent,
        sent_time_zone: &zone,
        scope,
        warning: &w,
        language: &language,
        event: &event,
        sender_name: None,
        headline: None,
        assessment: cap::Assessment {
            harm_types: &facts.harm_types,
            target_kind,
            credibility: facts.grade.credibility,
            window: facts.window.as_ref(),
        },
        location,
    })
    .map_err(bad)?;
    Ok(text("application/xml; charset=utf-8", xml))
}

async fn list_targets(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<crate::api::PageQuery>,
) -> Result<Response, ApiError> {
    let items = state.svc.notification_targets().await?;
    ok(&crate::api::paginate(items, |t| t.name.to_string(), &q)?)
}

fn label(name: &str) -> Result<Label, ApiError> {
    Label::new(name).map_err(|e| ApiError::not_found(format!("no target '{name}': {e}")))
}

async fn set_target(
    State(state): State<AppState>,
    Caller(p): Caller,
    PathParams(name): PathParams<String>,
    body: RawBody,
) -> Result<Response, ApiError> {
    let name = Label::new(name.as_str())
        .map_err(|e| ApiError::bad_request(format!("target name: {e}")))?;
    let b: TargetBody = body.parse()?;
    if let NotifyChannel::Email { to } = &b.channel
        && to.is_empty()
    {
        return Err(
            ApiError::validation("channel.to: give at least one address").field("channel.to"),
        );
    }
    let t = state
        .svc
        .set_notification_target(
            &p.account.name,
            NotificationTarget {
                name,
                channel: b.channel,
                signed: false,
            },
            b.secret,
        )
        .await?;
    ok(&t)
}

async fn remove_target(
    State(state): State<AppState>,
    Caller(p): Caller,
    PathParams(name): PathParams<String>,
) -> Result<Response, ApiError> {
    let name = label(&name)?;
    if !state
        .svc
        .notification_targets()
        .await?
        .iter()
        .any(|t| t.name == name)
    {
        return Err(ApiError::not_found(format!(
            "there is no notification target '{name}'"
        )));
    }
    state
        .svc
        .remove_notification_target(&p.account.name, name)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_notices(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<NoticeQuery>,
) -> Result<Response, ApiError> {
    let want = match q.status.as_deref() {
        None => None,
        Some(s @ ("pending" | "sending" | "failed")) => Some(s.to_owned()),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "status '{other}': give pending, sending or failed"
            )));
        }
    };
    let items = state
        .svc
        .notices()
        .await?
        .into_iter()
        .map(|(_, n)| n)
        .filter(|n| {
            want.as_deref().is_none_or(|w| {
                serde_json::to_value(&n.status)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .as_deref()
                    == Some(w)
            })
        })
        .collect();
    let page = crate::api::PageQuery {
        limit: q.limit,
        after: q.after,
    };
    ok(&crate::api::paginate(
        items,
        |n: &Notice| n.id.clone(),
        &page,
    )?)
}
