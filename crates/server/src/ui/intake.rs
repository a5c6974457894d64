//! Intake: a report submitted through a form of its fields, or pasted as
//! JSON (the schema of `POST /api/v1/reports`). The form's fields are put
//! together as that JSON and parsed exactly as the API parses it, so the
//! domain's own checks answer; the first field found wrong is named beside
//! its input. The service then takes the report in as the viewer.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Map, Value, json};
use tocsin_domain::{ActorName, CaseRef, ThreatReport};
use tocsin_service::{Intake, ServiceError};

use super::view::choices;
use super::{CsrfForm, Me, Viewer, error_page, render};
use crate::AppState;
use crate::problem::ApiError;

#[derive(Template)]
#[template(path = "intake.html")]
struct IntakePage<'a> {
    me: Option<&'a Me>,
    /// What was typed, field by field (repeated fields: every value).
    typed: Vec<(String, String)>,
    /// The form field the error is about, and the error.
    error: Option<(String, String)>,
    harm_types: Vec<(String, String)>,
    target_kinds: Vec<(String, String)>,
    actor_kinds: Vec<(String, String)>,
    details: Vec<(String, String)>,
    tlps: Vec<(String, String)>,
    now: String,
}

impl IntakePage<'_> {
    /// The value typed in `field` (or `default`).
    fn val<'b>(&'b self, field: &str, default: &'b str) -> &'b str {
        self.typed
            .iter()
            .find(|(k, _)| k == field)
            .map(|(_, v)| v.as_str())
            .unwrap_or(default)
    }

    /// Whether `value` was chosen in `field` (checkboxes and selects).
    fn chose(&self, field: &str, value: &str) -> bool {
        self.typed.iter().any(|(k, v)| k == field && v == value)
    }

    /// The error to show beside `field`.
    fn err(&self, field: &str) -> Option<&str> {
        self.error
            .as_ref()
            .filter(|(f, _)| f == field)
            .map(|(_, e)| e.as_str())
    }
}

fn page<'a>(state: &AppState, me: &'a Me, typed: Vec<(String, String)>) -> IntakePage<'a> {
    use tocsin_domain::grading::Detail::*;
    use tocsin_domain::report::{ActorKind, HarmType, TargetKind, Tlp};
    IntakePage {
        me: Some(me),
        typed,
        error: None,
        harm_types: {
            use HarmType::*;
            choices(&[
                IntentionalKilling,
                SeriousBodilyInjury,
                Kidnapping,
                PropertyDamage,
                CyberIntrusion,
                Other,
            ])
        },
        target_kinds: {
            use TargetKind::*;
            choices(&[Person, Group, Organisation, Place, Gathering])
        },
        actor_kinds: {
            use ActorKind::*;
            choices(&[State, TerroristGroup, CriminalGroup, Individual, Unknown])
        },
        details: choices(&[Absent, Partial, Present]),
        tlps: {
            use Tlp::*;
            [Red, AmberStrict, Amber, Green, Clear]
                .iter()
                .map(|t| (t.as_str().to_owned(), t.as_str().to_owned()))
                .collect()
        },
        now: state.svc.now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
    }
}

pub(super) async fn intake_page(State(state): State<AppState>, v: Viewer) -> Response {
    let first =
        v.p.account()
            .spec
            .elements
            .iter()
            .next()
            .map(|e| e.to_string())
            .unwrap_or_default();
    let typed = vec![
        ("originating_element".into(), first),
        ("grade".into(), String::new()),
    ];
    render(StatusCode::OK, &page(&state, &v.me, typed))
}

/// Which form field a JSON path of the report is about.
fn form_field(path: &str) -> &'static str {
    const FIELDS: &[(&str, &str)] = &[
        ("originating_element", "originating_element"),
        ("received_at", "received_at"),
        ("title", "title"),
        ("narrative", "narrative"),
        ("harm_types", "harm_types"),
        ("target.kind", "target_kind"),
        ("target.victims[0].nationality", "victim_nationality"),
        ("target", "victim_description"),
        ("threat_actor.kind", "actor_kind"),
        ("threat_actor", "actor_name"),
        ("location.country", "location_country"),
        ("location.locality", "location_locality"),
        ("location", "location_description"),
        ("window.time_zone", "window_time_zone"),
        ("window.not_after", "window_not_after"),
        ("window", "window_not_before"),
        ("grading.reason", "grading_reason"),
        ("grading", "grade"),
        ("specificity", "specificity"),
        ("handling.classification", "classification"),
        ("handling.compartments", "compartments"),
        ("handling", "tlp"),
    ];
    FIELDS
        .iter()
        .find(|(p, _)| path.starts_with(p))
        .map(|(_, f)| *f)
        .unwrap_or("report")
}

/// The report the form's fields describe, as the API's JSON.
fn report_json(f: &[(String, String)], assessor: &str) -> Value {
    let get = |k: &str| {
        f.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim())
            .unwrap_or("")
    };
    let all = |k: &str| -> Vec<&str> {
        f.iter()
            .filter(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    let mut victim = Map::new();
    victim.insert("description".into(), json!(get("victim_description")));
    if !get("victim_nationality").is_empty() {
        victim.insert("nationality".into(), json!(get("victim_nationality")));
    }
    let mut r = json!({
        "originating_element": get("originating_element"),
        "received_at": get("received_at"),
        "title": get("title"),
        "narrative": get("narrative"),
        "harm_types": all("harm_types"),
        "target": {"kind": get("target_kind"), "victims": [victim]},
        "grading": {"grade": get("grade"), "assessor": assessor, "reason": get("grading_reason")},
        "specificity": {
            "who": get("who"), "where": get("where"), "when": get("when"), "how": get("how")
        },
        "handling": {
            "tlp": get("tlp"),
            "existence_restricted": !get("existence_restricted").is_empty(),
        },
    });
    if !get("classification").is_empty() {
        r["handling"]["classification"] = json!(get("classification"));
    }
    let compartments: Vec<&str> = get("compartments")
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    if !compartments.is_empty() {
        r["handling"]["compartments"] = json!(compartments);
    }
    if !get("actor_name").is_empty() {
        r["threat_actor"] = json!({"name": get("actor_name"), "kind": get("actor_kind")});
    }
    if !get("location_description").is_empty() {
        let mut l = json!({
            "description": get("location_description"),
            "country": get("location_country"),
        });
        if !get("location_locality").is_empty() {
            l["locality"] = json!(get("location_locality"));
        }
        r["location"] = l;
    }
    if !get("window_not_before").is_empty() || !get("window_not_after").is_empty() {
        r["window"] = json!({
            "not_before": get("window_not_before"),
            "not_after": get("window_not_after"),
            "time_zone": if get("window_time_zone").is_empty() { "UTC" } else { get("window_time_zone") },
        });
    }
    r
}

/// The intake page again, with `error` beside the upload's file field.
pub(super) fn upload_error(state: &AppState, v: &Viewer, error: &str) -> Response {
    let mut p = page(state, &v.me, vec![]);
    p.error = Some(("report_file".to_owned(), error.to_owned()));
    render(StatusCode::UNPROCESSABLE_ENTITY, &p)
}

/// Takes in a report from the form's fields, or from the JSON pasted.
pub(super) async fn submit_report(
    State(state): State<AppState>,
    c: CsrfForm<Vec<(String, String)>>,
) -> Response {
    let (v, f) = (&c.viewer, &c.form);
    let again = |field: &str, e: ApiError| {
        let mut p = page(&state, &v.me, f.clone());
        p.error = Some((field.to_owned(), e.detail));
        render(e.kind.status(), &p)
    };
    let get = |k: &str| {
        f.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim())
            .unwrap_or("")
    };
    let pasted = get("report_json");
    let (body, pasted) = if pasted.is_empty() {
        (report_json(f, v.p.name().as_str()).to_string(), false)
    } else {
        (pasted.to_owned(), true)
    };
    let report: ThreatReport = match crate::table::parse_json(body.as_bytes()) {
        Ok(r) => r,
        Err(e) => {
            let path = e.field.as_deref().unwrap_or("").to_owned();
            let field = if pasted {
                "report_json"
            } else {
                form_field(&path)
            };
            return again(field, e);
        }
    };
    let owner = match get("owner") {
        "" => None,
        o => match ActorName::new(o) {
            Ok(o) => Some(o),
            Err(e) => return again("owner", ApiError::validation(format!("owner: {e}"))),
        },
    };
    // The service's refusal, beside the field it names.
    let refused = |e: ServiceError| {
        let mut e = ApiError::from(e);
        if e.kind.status().is_server_error() {
            return error_page(Some(&v.me), e);
        }
        let field = match e.field.take() {
            Some(p) if !pasted => form_field(&p),
            _ if pasted => "report_json",
            _ => "report",
        };
        again(field, e)
    };
    let destination = get("destination");
    let case_field = get("case");
    let target = match destination {
        "join" | "contribute" => match case_field.parse::<CaseRef>() {
            Ok(r) => Some(r),
            Err(_) => {
                return again(
                    "case",
                    ApiError::validation(format!(
                        "case: “{case_field}” is not a case number (2024-0007) or id"
                    )),
                );
            }
        },
        _ => None,
    };
    if destination == "contribute"
        && let Some(r) = target
    {
        return match state.svc.submit_contribution(&v.p, r, report).await {
            Ok(receipt) => {
                super::submitted::contributed(v, case_field, &receipt, StatusCode::ACCEPTED)
            }
            Err(e) => refused(e),
        };
    }
    let join = match target {
        Some(r) => match state.svc.case(&v.p, r, "submit_report").await {
            Ok(c) => Some(c),
            Err(e) => {
                let e = ApiError::from(e);
                if e.kind.status().is_server_error() {
                    return error_page(Some(&v.me), e);
                }
                return again("case", e);
            }
        },
        None => None,
    };
    match state
        .svc
        .submit_report(
            &v.p,
            Intake {
                owner,
                join,
                ..Intake::new(report)
            },
        )
        .await
    {
        Ok(s) if !s.new_case => super::submitted::joined(&state, v, &s).await,
        Ok(s) => {
            let to = s
                .number
                .map(|n| n.to_string())
                .unwrap_or_else(|| s.case_id.to_string());
            Redirect::to(&format!("/cases/{to}")).into_response()
        }
        Err(e) => refused(e),
    }
}
