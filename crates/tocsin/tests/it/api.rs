//! The HTTP API against the real server: the access matrix, credentials,
//! CSRF, restricted existence, throttling, idempotency, the OpenAPI file.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use tocsin_domain::Role;
use tocsin_domain::access::Permission;
use tocsin_server::Access;

use crate::support::{Deployment, Server};

const EL: &str = "Counterterrorism Collection Element";
const OTHER: &str = "Other Element";

/// Every route and the access it must have. A route added to the server
/// without an entry here fails `the_route_table_is_the_access_policy`.
fn expected_access() -> BTreeMap<&'static str, Access> {
    use Access::*;
    use Permission::*;
    let n = Needs;
    BTreeMap::from([
        ("health", Public),
        ("ready", Public),
        ("metrics", n(Operate)),
        ("openapi", Public),
        ("login", Public),
        ("logout", Authenticated),
        ("me", Authenticated),
        ("change_own_password", Authenticated),
        ("issue_own_token", Authenticated),
        ("list_own_tokens", Authenticated),
        ("revoke_own_token", Authenticated),
        ("intake_schema", Authenticated),
        ("submit_report", n(SubmitReport)),
        ("list_cases", n(ReadCase)),
        ("get_case", n(ReadCase)),
        ("case_events", n(ReadCase)),
        ("assess", n(Analyse)),
        ("determine", n(Analyse)),
        ("reassess", n(Analyse)),
        ("confirm_determination", n(Approve)),
        ("hand_off", n(Analyse)),
        ("mark_independence", n(Analyse)),
        ("similar_reports", n(ReadCase)),
        ("case_stix", n(ReadCase)),
        ("import_stix", n(SubmitReport)),
        ("receipt_inbox", n(Analyse)),
        ("assess_receipt", n(Analyse)),
        ("list_partners", n(ManageAccounts)),
        ("map_partner", n(ManageAccounts)),
        ("request_waiver", n(Analyse)),
        ("approve_waiver", n(Approve)),
        ("reject_waiver", n(Approve)),
        ("choose_route", n(Analyse)),
        ("check_warning", n(Analyse)),
        ("draft_warning", n(Analyse)),
        ("approve_warning", n(Approve)),
        ("get_warning", n(ReadCase)),
        ("record_delivery", n(Deliver)),
        ("record_response", n(Deliver)),
        ("decide_advisory", n(Approve)),
        ("record_outcome", n(Deliver)),
        ("sweep", n(Sweep)),
        ("get_policy", Authenticated),
        ("check_policy", Authenticated),
        ("checkpoint", n(Audit)),
        ("verify", n(Audit)),
        ("inclusion_proof", n(Audit)),
        ("consistency_proof", n(Audit)),
        ("access_log", n(Audit)),
        ("records_export", n(ManageRecords)),
        ("request_redaction", n(ManageRecords)),
        ("approve_redaction", n(ManageRecords)),
        ("list_redactions", n(ManageRecords)),
        ("list_elements", Authenticated),
        ("register_element", n(ManageAccounts)),
        ("list_accounts", n(ManageAccounts)),
        ("create_account", n(ManageAccounts)),
        ("get_account", n(ManageAccounts)),
        ("change_account", n(ManageAccounts)),
        ("disable_account", n(ManageAccounts)),
        ("enable_account", n(ManageAccounts)),
        ("set_password", n(ManageAccounts)),
        ("issue_enrolment", n(ManageAccounts)),
        ("list_tokens", n(ManageAccounts)),
        ("issue_token", n(ManageAccounts)),
        ("revoke_token", n(ManageAccounts)),
        ("get_clearance_levels", Authenticated),
        ("set_clearance_levels", n(ManageAccounts)),
        ("get_relations", Authenticated),
        ("set_relations", n(Operate)),
        ("get_directory", Authenticated),
        ("set_directory", n(Operate)),
        ("route_plan", n(Analyse)),
        ("choose_candidate", n(Analyse)),
        ("warning_template", n(Analyse)),
        ("warning_letter", n(ReadCase)),
        ("warning_cap", n(ReadCase)),
        ("list_notification_targets", n(Operate)),
        ("set_notification_target", n(Operate)),
        ("remove_notification_target", n(Operate)),
        ("list_notices", n(Operate)),
        ("screen_name", n(Screen)),
        ("list_registries", Authenticated),
        ("import_registry", n(Operate)),
        ("submit_contribution", n(SubmitReport)),
        ("contribution_status", n(SubmitReport)),
        ("list_contributions", n(ReadCase)),
        ("accept_contribution", n(Analyse)),
        ("decline_contribution", n(Analyse)),
        ("merge_cases", n(Analyse)),
        ("link_cases", n(Analyse)),
        ("raise_dispute", n(ReadCase)),
        ("resolve_dispute", n(Arbitrate)),
        ("list_disputes", n(Arbitrate)),
        ("propose_disposal", n(ManageRecords)),
        ("list_disposals", n(ManageRecords)),
        ("approve_disposal", n(ManageRecords)),
        ("list_taxii_collections", n(Operate)),
        ("set_taxii_collection", n(Operate)),
        ("publish_case", n(ReadCase)),
        ("pull_cursor", n(SubmitReport)),
        ("set_pull_cursor", n(SubmitReport)),
        ("get_retention_schedules", n(ManageRecords)),
        ("set_retention_schedules", n(ManageRecords)),
        ("get_exemptions", n(ManageRecords)),
        ("set_exemptions", n(ManageRecords)),
        ("list_holds", n(ManageRecords)),
        ("request_hold", n(ManageRecords)),
        ("approve_hold", n(ManageRecords)),
        ("decline_hold", n(ManageRecords)),
        ("request_hold_release", n(ManageRecords)),
        ("records_report", n(ManageRecords)),
    ])
}

/// The TAXII 2.1 routes, outside the route table (they answer in TAXII's
/// media type, errors included): each needs an API token.
const TAXII_ROUTES: &[(&str, &str)] = &[
    ("GET", "/taxii2/"),
    ("GET", "/taxii2/api/"),
    ("GET", "/taxii2/api/collections/"),
    ("GET", "/taxii2/api/collections/{collection_id}/"),
    ("GET", "/taxii2/api/collections/{collection_id}/objects/"),
    ("POST", "/taxii2/api/collections/{collection_id}/objects/"),
    (
        "GET",
        "/taxii2/api/collections/{collection_id}/objects/{object_id}/",
    ),
    (
        "GET",
        "/taxii2/api/collections/{collection_id}/objects/{object_id}/versions/",
    ),
    ("GET", "/taxii2/api/collections/{collection_id}/manifest/"),
    ("GET", "/taxii2/api/status/{status_id}/"),
];

#[test]
fn the_taxii_routes_are_listed_and_each_needs_a_token() {
    assert_eq!(tocsin_server::taxii::ROUTES, TAXII_ROUTES);
    let d = Deployment::new();
    let srv = d.serve("2023-12-26T10:00:00Z");
    let uuid = "01a20000-0000-7000-8000-000000000000";
    for (method, path) in TAXII_ROUTES {
        let path = path
            .replace("{collection_id}", uuid)
            .replace("{status_id}", uuid)
            .replace("{object_id}", &format!("indicator--{uuid}"));
        let a = srv.call(method, &path, None, None);
        assert_eq!(a.status, 401, "{method} {path}: {:?}", a.body);
        assert_eq!(
            a.headers.get("content-type").and_then(|v| v.to_str().ok()),
            Some("application/taxii+json;version=2.1"),
            "{method} {path}"
        );
        assert_eq!(a.body["http_status"], "401", "{method} {path}");
    }
}

#[test]
fn the_route_table_is_the_access_policy() {
    let ops = tocsin_server::router::ops();
    let expected = expected_access();
    let actual: BTreeMap<&str, Access> = ops.iter().map(|o| (o.id, o.access)).collect();
    assert_eq!(ops.len(), actual.len(), "two routes share an operation id");
    for (id, a) in &actual {
        let e = expected.get(id).unwrap_or_else(|| {
            panic!("route {id} has no entry in the access-matrix test: add its expected access")
        });
        assert_eq!(a, e, "route {id}");
    }
    for id in expected.keys() {
        assert!(
            actual.contains_key(id),
            "the test expects route {id}, which is gone"
        );
    }
}

/// A fixture: a server, accounts for every role, cases in several markings.
struct World {
    srv: Server,
    /// Token per role (each account holds one role, full clearance, in EL).
    role: BTreeMap<Role, String>,
    /// Tokens of case readers with every case role, in various situations.
    full: String,
    low: String,
    nocomp: String,
    other: String,
    /// A visible-to-`full` case (SECRET, HCS, EL) and a restricted one.
    case: String,
    hidden: String,
}

fn world(d: &Deployment) -> World {
    let srv = d.serve("2023-12-26T10:00:00Z");
    let mut role = BTreeMap::new();
    for r in Role::ALL {
        let t = srv.account(
            &format!("only.{}", r.as_str().replace('_', "-")),
            &[r],
            &[EL],
            "TOP SECRET",
            &["HCS"],
        );
        role.insert(r, t);
    }
    let case_roles = [
        Role::Collector,
        Role::Analyst,
        Role::Approver,
        Role::DeliveryOfficer,
    ];
    let full = srv.account("full", &case_roles, &[EL], "TOP SECRET", &["HCS"]);
    let low = srv.account("low", &case_roles, &[EL], "CONFIDENTIAL", &["HCS"]);
    let nocomp = srv.account("nocomp", &case_roles, &[EL], "TOP SECRET", &[]);
    let other = srv.account("other", &case_roles, &[OTHER], "TOP SECRET", &["HCS"]);
    let report: Value = serde_json::from_str(tocsin::scenarios::KERMAN_REPORT).unwrap();
    let a = srv.call("POST", "/api/v1/reports", Some(&full), Some(report.clone()));
    assert_eq!(a.status, 201, "{:?}", a.body);
    let case = a.body["case_id"].as_str().unwrap().to_owned();
    let mut r = report;
    r["handling"]["existence_restricted"] = json!(true);
    r["title"] = json!("A case whose very existence is restricted");
    let a = srv.call("POST", "/api/v1/reports", Some(&full), Some(r));
    assert_eq!(a.status, 201, "{:?}", a.body);
    let hidden = a.body["case_id"].as_str().unwrap().to_owned();
    World {
        srv,
        role,
        full,
        low,
        nocomp,
        other,
        case,
        hidden,
    }
}

/// The request the matrix sends for a route: the path with its parameters
/// filled in, and the body (a JSON string, which no body type accepts, so a
/// caller who gets past the access checks meets a 422 and nothing is written).
fn request(op: &tocsin_server::Op, case: &str) -> (String, Option<Value>) {
    let uuid = "01a20000-0000-7000-8000-000000000000";
    let mut path = op
        .path
        .replace("{case_id}", case)
        .replace("{waiver_id}", uuid)
        .replace("{version}", "1")
        .replace("{token_id}", uuid)
        .replace("{contribution_id}", uuid)
        .replace("{dispute_id}", uuid)
        .replace("{batch_id}", uuid)
        .replace("{receipt_id}", uuid)
        .replace("{redaction_id}", uuid)
        .replace("{identity}", &format!("identity--{uuid}"))
        .replace("{collection_id}", uuid)
        .replace("{hold_id}", uuid)
        .replace("{name}", "full");
    if op.id.contains("notification_target") {
        path = path.replace("/full", "/no-such-target");
    }
    // An enrolment would end the tokens of the account the matrix uses.
    if op.id == "issue_enrolment" {
        path = path.replace("/full/", "/no.such.account/");
    }
    match op.id {
        "inclusion_proof" => path.push_str("?position=0"),
        "consistency_proof" => path.push_str("?from=1"),
        "contribution_status" => path.push_str("?case=2023-0099"),
        "pull_cursor" => path.push_str(&format!(
            "?server=http%3A%2F%2Fpartner%2F&collection={uuid}"
        )),
        _ => {}
    }
    let body = op.body.map(|_| json!("not a request"));
    (path, body)
}

/// What a caller allowed past the access checks gets.
fn admitted_status(op: &tocsin_server::Op) -> u16 {
    if op.body.is_some() {
        return 422;
    }
    match op.id {
        // No warning version 1 on the case; no such token, target, report
        // or disposal batch.
        "get_warning"
        | "similar_reports"
        | "revoke_own_token"
        | "revoke_token"
        | "warning_letter"
        | "warning_cap"
        | "issue_enrolment"
        | "remove_notification_target"
        | "approve_hold"
        | "approve_redaction"
        | "approve_disposal" => 404,
        "logout" => 204,
        _ => op.success.as_u16(),
    }
}

#[test]
fn access_matrix_every_route_every_role_every_situation() {
    let d = Deployment::new();
    let w = world(&d);
    let ops = tocsin_server::router::ops();
    let before = d.ledger_size();
    let mut checked = 0;
    for op in &ops {
        let on_case = op.path.contains("{case_id}");
        let (path, body) = request(op, &w.case);
        let m = op.method.as_str();
        // Nobody signed in.
        let a = w.srv.call(m, &path, None, body.clone());
        let want = if op.access == Access::Public {
            admitted_status(op)
        } else {
            401
        };
        assert_eq!(
            a.status, want,
            "{} {path} unauthenticated: {:?}",
            op.id, a.body
        );
        checked += 1;
        // Each role alone (full clearance, compartment and element).
        for (r, token) in &w.role {
            let may = match op.access {
                Access::Public | Access::Authenticated => true,
                Access::Needs(p) => p.roles().contains(r),
            };
            let want = if may { admitted_status(op) } else { 403 };
            let a = w.srv.call(m, &path, Some(token), body.clone());
            assert_eq!(a.status, want, "{} {path} as {r}: {:?}", op.id, a.body);
            if !may {
                assert_eq!(a.body["type"], "https://tocsin.dev/problems/forbidden");
            }
            checked += 1;
        }
        if !on_case {
            continue;
        }
        // Case situations, with every case role held. (A route that needs
        // a role no case reader holds, the arbiter's, is refused on the
        // permission first, whatever the case.)
        let case_roles = [
            Role::Collector,
            Role::Analyst,
            Role::Approver,
            Role::DeliveryOfficer,
        ];
        let beyond = matches!(op.access, Access::Needs(p) if !p.roles().iter().any(|r| case_roles.contains(r)));
        for (who, token, want) in [
            (
                "full",
                &w.full,
                if beyond { 403 } else { admitted_status(op) },
            ),
            ("low clearance", &w.low, 403),
            ("missing compartment", &w.nocomp, 403),
            ("other element", &w.other, 403),
        ] {
            let a = w.srv.call(m, &path, Some(token), body.clone());
            assert_eq!(a.status, want, "{} {path} as {who}: {:?}", op.id, a.body);
            checked += 1;
        }
        // A restricted case: a reader without access is told it does not exist.
        let (hpath, hbody) = request(op, &w.hidden);
        let a = w.srv.call(m, &hpath, Some(&w.other), hbody);
        let want = if beyond { 403 } else { 404 };
        assert_eq!(a.status, want, "{} {hpath} restricted: {:?}", op.id, a.body);
        checked += 1;
    }
    eprintln!(
        "access matrix: {checked} requests over {} routes",
        ops.len()
    );
    // Nothing in the matrix changed a case; refusals and reads were logged.
    let log = w.srv.call(
        "GET",
        "/api/v1/audit/access?limit=1000",
        Some(&w.role[&Role::Auditor]),
        None,
    );
    assert_eq!(log.status, 200);
    let kinds: Vec<&str> = log.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["event"]["type"].as_str())
        .collect();
    assert!(kinds.contains(&"access_refused") && kinds.contains(&"content_read"));
    assert!(d.ledger_size() > before);
}

#[test]
fn restricted_existence_looks_exactly_like_a_missing_case() {
    let d = Deployment::new();
    let w = world(&d);
    let missing = "01a29999-0000-7000-8000-000000000000";
    for suffix in ["", "/events", "/warnings/1"] {
        let a = w.srv.call(
            "GET",
            &format!("/api/v1/cases/{}{suffix}", w.hidden),
            Some(&w.other),
            None,
        );
        let b = w.srv.call(
            "GET",
            &format!("/api/v1/cases/{missing}{suffix}"),
            Some(&w.other),
            None,
        );
        assert_eq!(a.status, 404);
        assert_eq!(a.status, b.status);
        let a_body = a.body.to_string().replace(&w.hidden, "ID");
        let b_body = b.body.to_string().replace(missing, "ID");
        assert_eq!(a_body, b_body, "{suffix}");
        assert_eq!(a.headers["content-type"], b.headers["content-type"]);
    }
    // Lists do not show it either, nor does a prefix search.
    let list = w.srv.call("GET", "/api/v1/cases", Some(&w.other), None);
    assert_eq!(list.body["items"].as_array().unwrap().len(), 0);
    let pfx = w.srv.call(
        "GET",
        &format!("/api/v1/cases?prefix={}", &w.hidden[..8]),
        Some(&w.other),
        None,
    );
    assert_eq!(pfx.body["items"].as_array().unwrap().len(), 0);
    // The reader with access sees both.
    let list = w.srv.call("GET", "/api/v1/cases", Some(&w.full), None);
    assert_eq!(list.body["items"].as_array().unwrap().len(), 2);
    // By number too: a restricted case's number answers as a number no
    // case has, and a list searched by number does not show it.
    let number = |id: &str| -> String {
        let row = w.srv.call(
            "GET",
            &format!("/api/v1/cases?prefix={id}"),
            Some(&w.full),
            None,
        );
        row.body["items"][0]["number"].as_str().unwrap().to_owned()
    };
    let hidden_number = number(&w.hidden);
    let year = &hidden_number[..4];
    let unused = format!("{year}-9999");
    let a = w.srv.call(
        "GET",
        &format!("/api/v1/cases/{hidden_number}"),
        Some(&w.other),
        None,
    );
    let b = w.srv.call(
        "GET",
        &format!("/api/v1/cases/{unused}"),
        Some(&w.other),
        None,
    );
    assert_eq!((a.status, b.status), (404, 404));
    assert_eq!(
        a.body.to_string().replace(&hidden_number, "N"),
        b.body.to_string().replace(&unused, "N")
    );
    let by_number = w.srv.call(
        "GET",
        &format!("/api/v1/cases?prefix={hidden_number}"),
        Some(&w.other),
        None,
    );
    assert_eq!(by_number.body["items"].as_array().unwrap().len(), 0);
    // The reader with access reads it by number.
    let a = w.srv.call(
        "GET",
        &format!("/api/v1/cases/{hidden_number}"),
        Some(&w.full),
        None,
    );
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["id"], w.hidden.as_str());
    assert_eq!(a.body["number"], hidden_number.as_str());
    // A visible but forbidden case is 403 (its existence is not secret).
    let a = w.srv.call(
        "GET",
        &format!("/api/v1/cases/{}", w.case),
        Some(&w.other),
        None,
    );
    assert_eq!(a.status, 403);
}

#[test]
fn self_approval_is_refused_in_the_service_and_recorded() {
    let d = Deployment::new();
    let srv = d.serve("2023-12-26T10:00:00Z");
    let both = srv.account(
        "kim.both",
        &[Role::Analyst, Role::Approver],
        &[EL],
        "TOP SECRET",
        &["HCS"],
    );
    let lee = srv.account("lee", &[Role::Approver], &[EL], "TOP SECRET", &["HCS"]);
    let report: Value = serde_json::from_str(tocsin::scenarios::KERMAN_REPORT).unwrap();
    let collector = srv.account("col", &[Role::Collector], &[EL], "TOP SECRET", &["HCS"]);
    let case = srv
        .call("POST", "/api/v1/reports", Some(&collector), Some(report))
        .body["case_id"]
        .as_str()
        .unwrap()
        .to_owned();
    srv.set_now("2023-12-26T14:00:00Z");
    let a = srv.call(
        "POST",
        &format!("/api/v1/cases/{case}/determinations"),
        Some(&both),
        Some(json!({})),
    );
    assert_eq!(a.status, 200, "{:?}", a.body);
    let a = srv.call(
        "POST",
        &format!("/api/v1/cases/{case}/waivers"),
        Some(&both),
        Some(json!({"ground": "W4", "reason": "warning would expose the source"})),
    );
    assert_eq!(a.status, 200, "{:?}", a.body);
    let waiver = a.body["waiver_id"].as_str().unwrap().to_owned();
    // The requester approves their own waiver: refused, with the two-person problem type.
    let a = srv.call(
        "POST",
        &format!("/api/v1/cases/{case}/waivers/{waiver}/approval"),
        Some(&both),
        Some(json!({"reason": "I agree with myself"})),
    );
    assert_eq!(a.status, 403, "{:?}", a.body);
    assert_eq!(
        a.body["type"],
        "https://tocsin.dev/problems/two-person-rule"
    );
    // The attempt is in the case's record.
    let ev = srv.call(
        "GET",
        &format!("/api/v1/cases/{case}/events"),
        Some(&both),
        None,
    );
    let refused: Vec<&Value> = ev.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"]["type"] == "attempt_refused")
        .collect();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0]["actor"], "kim.both");
    // Another approver may.
    let a = srv.call(
        "POST",
        &format!("/api/v1/cases/{case}/waivers/{waiver}/approval"),
        Some(&lee),
        Some(json!({"reason": "the source would be exposed"})),
    );
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["state"], "waived");
}

#[test]
fn disabled_accounts_and_revoked_tokens_stop_at_once() {
    let d = Deployment::new();
    let srv = d.serve("2023-12-26T10:00:00Z");
    let admin = srv.account(
        "admin",
        &[Role::Admin],
        &["Administration"],
        "UNCLASSIFIED",
        &[],
    );
    let kim = srv.account("kim", &[Role::Analyst], &[EL], "SECRET", &[]);
    assert_eq!(srv.call("GET", "/api/v1/me", Some(&kim), None).status, 200);
    // A session too.
    let login = srv.call(
        "POST",
        "/api/v1/session",
        None,
        Some(json!({"name": "kim", "password": "kim-password"})),
    );
    assert_eq!(login.status, 200, "{:?}", login.body);
    let cookie = login.headers["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let me = |tok: Option<&str>, cookie: Option<&str>| {
        let h: Vec<(&str, &str)> = cookie.map(|c| vec![("cookie", c)]).unwrap_or_default();
        srv.call_with("GET", "/api/v1/me", tok, None, &h).status
    };
    assert_eq!(me(None, Some(&cookie)), 200);
    let a = srv.call(
        "POST",
        "/api/v1/accounts/kim/disable",
        Some(&admin),
        Some(json!({"reason": "left the service"})),
    );
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(me(Some(&kim), None), 401);
    assert_eq!(me(None, Some(&cookie)), 401);
    // Logging in again is refused with the same answer as a wrong password.
    let l = srv.call(
        "POST",
        "/api/v1/session",
        None,
        Some(json!({"name": "kim", "password": "kim-password"})),
    );
    let wrong = srv.call(
        "POST",
        "/api/v1/session",
        None,
        Some(json!({"name": "nobody", "password": "whatever-it-is"})),
    );
    assert_eq!(l.status, 401);
    assert_eq!(l.body, wrong.body);
    // Re-enabling does not revive old credentials.
    srv.call(
        "POST",
        "/api/v1/accounts/kim/enable",
        Some(&admin),
        Some(json!({"reason": "back"})),
    );
    assert_eq!(me(Some(&kim), None), 401);
    // A fresh token works; revoking it stops it at once. kim issues it:
    // an admin never issues one for another account.
    let t = srv.call(
        "POST",
        "/api/v1/tokens",
        Some(&admin),
        Some(json!({"account": "kim", "label": "soc intake", "roles": ["analyst"], "valid_for_days": 1})),
    );
    assert_eq!(t.status, 403, "{:?}", t.body);
    let t = kim_session_token(&srv, "soc intake");
    assert_eq!(t.status, 201, "{:?}", t.body);
    let secret = t.body["secret"].as_str().unwrap().to_owned();
    let id = t.body["token"]["token_id"].as_str().unwrap().to_owned();
    assert_eq!(me(Some(&secret), None), 200);
    assert_eq!(
        srv.call(
            "DELETE",
            &format!("/api/v1/tokens/{id}"),
            Some(&admin),
            None
        )
        .status,
        200
    );
    assert_eq!(me(Some(&secret), None), 401);
    // The token secret is not stored: only its hash is in the ledger.
    let leaked = d.sql().i64(
        &contains_sql(&d, "SELECT count(*) FROM ledger WHERE {}"),
        crate::p![secret.as_bytes()],
    );
    assert_eq!(leaked, 0);
    // An expired token.
    let t = kim_session_token(&srv, "short");
    let secret = t.body["secret"].as_str().unwrap().to_owned();
    assert_eq!(me(Some(&secret), None), 200);
    srv.set_now("2023-12-27T10:00:01Z");
    assert_eq!(me(Some(&secret), None), 401);
}

/// kim logs in and issues a token of its own, valid one day.
fn kim_session_token(srv: &Server, label: &str) -> crate::support::Answer {
    let login = srv.call(
        "POST",
        "/api/v1/session",
        None,
        Some(json!({"name": "kim", "password": "kim-password"})),
    );
    assert_eq!(login.status, 200, "{:?}", login.body);
    let cookie = login.headers["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let csrf = login.body["csrf_token"].as_str().unwrap().to_owned();
    let t = srv.call_with(
        "POST",
        "/api/v1/me/tokens",
        None,
        Some(json!({"label": label, "roles": ["analyst"], "valid_for_days": 1})),
        &[("cookie", &cookie), ("x-csrf-token", &csrf)],
    );
    assert_eq!(t.status, 201, "{:?}", t.body);
    t
}

#[test]
fn sessions_expire_rotate_and_need_the_csrf_token() {
    let d = Deployment::new();
    let srv = d.serve("2023-12-26T10:00:00Z");
    srv.account(
        "kim",
        &[Role::Analyst, Role::Collector],
        &[EL],
        "TOP SECRET",
        &["HCS"],
    );
    let login = || {
        let l = srv.call(
            "POST",
            "/api/v1/session",
            None,
            Some(json!({"name": "kim", "password": "kim-password"})),
        );
        assert_eq!(l.status, 200, "{:?}", l.body);
        let set = l.headers["set-cookie"].to_str().unwrap().to_owned();
        for attr in [
            "__Host-tocsin_session=",
            "HttpOnly",
            "SameSite=Strict",
            "Secure",
            "Path=/",
        ] {
            assert!(set.contains(attr), "{attr} missing in {set}");
        }
        assert!(!set.contains("Domain"), "{set}");
        let cookie = set.split(';').next().unwrap().to_owned();
        // At least 128 bits: 32 random bytes, base64url.
        assert!(
            cookie.len() >= "__Host-tocsin_session=".len() + 43,
            "{cookie}"
        );
        (cookie, l.body["csrf_token"].as_str().unwrap().to_owned())
    };
    let (c1, csrf1) = login();
    let (c2, _) = login();
    assert_ne!(c1, c2, "each login gets a new session");
    let report: Value = serde_json::from_str(tocsin::scenarios::KERMAN_REPORT).unwrap();
    // A state change with the cookie but without the CSRF token is refused.
    let a = srv.call_with(
        "POST",
        "/api/v1/reports",
        None,
        Some(report.clone()),
        &[("cookie", &c1)],
    );
    assert_eq!(a.status, 403, "{:?}", a.body);
    assert_eq!(a.body["type"], "https://tocsin.dev/problems/csrf");
    let a = srv.call_with(
        "POST",
        "/api/v1/reports",
        None,
        Some(report.clone()),
        &[("cookie", &c1), ("x-csrf-token", "wrong")],
    );
    assert_eq!(a.status, 403);
    let a = srv.call_with(
        "POST",
        "/api/v1/reports",
        None,
        Some(report),
        &[("cookie", &c1), ("x-csrf-token", &csrf1)],
    );
    assert_eq!(a.status, 201, "{:?}", a.body);
    // Reads need no CSRF token.
    assert_eq!(
        srv.call_with("GET", "/api/v1/me", None, None, &[("cookie", &c1)])
            .status,
        200
    );
    // Idle timeout (30 minutes).
    srv.set_now("2023-12-26T10:31:00Z");
    assert_eq!(
        srv.call_with("GET", "/api/v1/me", None, None, &[("cookie", &c1)])
            .status,
        401
    );
    // Absolute timeout (12 hours), even when used all along.
    let (c3, _) = login();
    for t in [
        "2023-12-26T10:50:00Z",
        "2023-12-26T11:15:00Z",
        "2023-12-26T11:40:00Z",
        "2023-12-26T12:05:00Z",
    ] {
        srv.set_now(t);
        assert_eq!(
            srv.call_with("GET", "/api/v1/me", None, None, &[("cookie", &c3)])
                .status,
            200
        );
    }
    srv.set_now("2023-12-26T22:32:00Z");
    assert_eq!(
        srv.call_with("GET", "/api/v1/me", None, None, &[("cookie", &c3)])
            .status,
        401
    );
    // Logout revokes the session on the server.
    let (c4, csrf4) = login();
    assert_eq!(
        srv.call_with(
            "DELETE",
            "/api/v1/session",
            None,
            None,
            &[("cookie", &c4), ("x-csrf-token", &csrf4)]
        )
        .status,
        204
    );
    assert_eq!(
        srv.call_with("GET", "/api/v1/me", None, None, &[("cookie", &c4)])
            .status,
        401
    );
    // A password change ends the other sessions.
    let (c5, csrf5) = login();
    let (c6, _) = login();
    let a = srv.call_with(
        "PUT",
        "/api/v1/me/password",
        None,
        Some(json!({"current": "kim-password", "new": "a much better passphrase"})),
        &[("cookie", &c5), ("x-csrf-token", &csrf5)],
    );
    assert_eq!(a.status, 204, "{:?}", a.body);
    assert_eq!(
        srv.call_with("GET", "/api/v1/me", None, None, &[("cookie", &c6)])
            .status,
        401
    );
}

#[test]
fn logins_are_throttled_per_account_and_per_address() {
    let d = Deployment::new();
    let srv = d.serve("2023-12-26T10:00:00Z");
    srv.account("kim", &[Role::Analyst], &[EL], "SECRET", &[]);
    let try_login = |name: &str, pw: &str| {
        srv.call(
            "POST",
            "/api/v1/session",
            None,
            Some(json!({"name": name, "password": pw})),
        )
    };
    for _ in 0..5 {
        assert_eq!(try_login("kim", "not the password").status, 401);
    }
    // The sixth attempt is throttled, even with the right password.
    let a = try_login("kim", "kim-password");
    assert_eq!(a.status, 429, "{:?}", a.body);
    assert_eq!(a.body["type"], "https://tocsin.dev/problems/throttled");
    assert!(a.headers.contains_key("retry-after"));
    // Unknown accounts are throttled the same way (no hint that they do not exist).
    for _ in 0..5 {
        assert_eq!(try_login("nobody", "not the password").status, 401);
    }
    assert_eq!(try_login("nobody", "x").status, 429);
    // Per address: 20 failures from one address, whatever the names.
    for i in 0..10 {
        let _ = try_login(&format!("n{i}"), "wrong password here");
    }
    assert_eq!(try_login("fresh.name", "wrong password here").status, 429);
    // After the window the account may log in again.
    srv.set_now("2023-12-26T10:16:00Z");
    assert_eq!(try_login("kim", "kim-password").status, 200);
    // Every failure is in the ledger.
    let failed = d.sql().i64(
        &contains_sql(
            &d,
            "SELECT count(*) FROM ledger WHERE stream = 'access' AND {}",
        ),
        crate::p![b"login_failed".as_slice()],
    );
    assert!(failed >= 19, "{failed}");
}

#[test]
fn intake_is_idempotent_with_a_key() {
    let d = Deployment::new();
    let srv = d.serve("2023-12-26T10:00:00Z");
    let t = srv.account("col", &[Role::Collector], &[EL], "TOP SECRET", &["HCS"]);
    let report: Value = serde_json::from_str(tocsin::scenarios::KERMAN_REPORT).unwrap();
    let send = |body: Value, key: &str| {
        srv.call_with(
            "POST",
            "/api/v1/reports",
            Some(&t),
            Some(body),
            &[("idempotency-key", key)],
        )
    };
    let first = send(report.clone(), "k-1");
    assert_eq!(first.status, 201);
    let size = d.ledger_size();
    let again = send(report.clone(), "k-1");
    assert_eq!(again.status, 201);
    assert_eq!(again.body, first.body);
    assert_eq!(d.ledger_size(), size, "a replay wrote something");
    let mut other = report.clone();
    other["title"] = json!("Something else");
    let clash = send(other, "k-1");
    assert_eq!(clash.status, 422);
    assert_eq!(
        clash.body["type"],
        "https://tocsin.dev/problems/idempotency-key-reused"
    );
    // Concurrent submissions with one key: one case.
    let bodies: Vec<_> = (0..8).map(|_| report.clone()).collect();
    let url = srv.url.clone();
    let results = srv.rt.block_on(async {
        let http = reqwest::Client::new();
        let mut set = tokio::task::JoinSet::new();
        for b in bodies {
            let (http, url, t) = (http.clone(), url.clone(), t.clone());
            set.spawn(async move {
                let r = http
                    .post(format!("{url}/api/v1/reports"))
                    .bearer_auth(t)
                    .header("idempotency-key", "race")
                    .json(&b)
                    .send()
                    .await
                    .unwrap();
                (r.status().as_u16(), r.json::<Value>().await.unwrap())
            });
        }
        let mut out = Vec::new();
        while let Some(r) = set.join_next().await {
            out.push(r.unwrap());
        }
        out
    });
    let cases: std::collections::BTreeSet<String> = results
        .iter()
        .map(|(s, b)| {
            assert_eq!(*s, 201, "{b:?}");
            b["case_id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(cases.len(), 1, "one key opened {} cases", cases.len());
}

#[test]
fn problems_for_bad_requests_and_limits() {
    let d = Deployment::new();
    let srv = d.serve_with(
        "2023-12-26T10:00:00Z",
        tocsin_server::ServerConfig {
            body_limit: 64 * 1024,
            ..Default::default()
        },
    );
    let t = srv.account(
        "col",
        &[Role::Collector, Role::Analyst],
        &[EL],
        "TOP SECRET",
        &["HCS"],
    );
    let big = json!({"text": "x".repeat(100 * 1024)});
    let a = srv.call("POST", "/api/v1/policy/checks", Some(&t), Some(big));
    assert_eq!(a.status, 413);
    assert_eq!(
        a.body["type"],
        "https://tocsin.dev/problems/payload-too-large"
    );
    let a = srv.call("GET", "/api/v1/cases?limit=0", Some(&t), None);
    assert_eq!(a.status, 400, "{:?}", a.body);
    let a = srv.call("GET", "/api/v1/cases?state=nonsense", Some(&t), None);
    assert_eq!(a.status, 400, "{:?}", a.body);
    let a = srv.call("GET", "/api/v1/nothing-here", Some(&t), None);
    assert_eq!(a.status, 404);
    assert_eq!(a.headers["content-type"], "application/problem+json");
    let a = srv.call("PATCH", "/api/v1/cases", Some(&t), None);
    assert_eq!(a.status, 405);
    let a = srv.call("GET", "/api/v1/me", Some("tocsin_garbage"), None);
    assert_eq!(a.status, 401);
    assert!(a.headers.contains_key("www-authenticate"));
    // Pagination: a cursor walks the list.
    let report: Value = serde_json::from_str(tocsin::scenarios::KERMAN_REPORT).unwrap();
    for _ in 0..5 {
        assert_eq!(
            srv.call("POST", "/api/v1/reports", Some(&t), Some(report.clone()))
                .status,
            201
        );
    }
    let mut seen = 0;
    let mut next = String::new();
    loop {
        let a = srv.call(
            "GET",
            &format!("/api/v1/cases?limit=2{next}"),
            Some(&t),
            None,
        );
        seen += a.body["items"].as_array().unwrap().len();
        match a.body["next"].as_str() {
            Some(n) => next = format!("&after={n}"),
            None => break,
        }
    }
    assert_eq!(seen, 5);
}

#[test]
fn health_readiness_and_metrics() {
    let d = Deployment::new();
    let srv = d.serve("2023-12-26T10:00:00Z");
    assert_eq!(srv.call("GET", "/healthz", None, None).status, 200);
    assert_eq!(srv.call("GET", "/readyz", None, None).status, 200);
    let t = srv.account("col", &[Role::Collector], &[EL], "TOP SECRET", &["HCS"]);
    let report: Value = serde_json::from_str(tocsin::scenarios::KERMAN_REPORT).unwrap();
    srv.call("POST", "/api/v1/reports", Some(&t), Some(report));
    let admin = srv.account("adm", &[Role::Admin], &["Administration"], "SECRET", &[]);
    let m = srv.call("GET", "/metrics", Some(&admin), None);
    assert_eq!(m.status, 200);
    let text = m.body.as_str().unwrap().to_owned();
    for want in [
        "tocsin_http_requests_total{method=\"POST\",route=\"/api/v1/reports\",status=\"201\"} 1",
        "tocsin_http_request_duration_seconds_bucket",
        "tocsin_cases{state=\"awaiting_determination\"} 1",
        "tocsin_overdue_steps",
    ] {
        assert!(text.contains(want), "missing {want} in\n{text}");
    }
}

#[test]
fn the_committed_openapi_document_is_the_generated_one() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
    let generated = serde_json::to_string_pretty(&tocsin_server::openapi::spec()).unwrap() + "\n";
    if std::env::var_os("TOCSIN_UPDATE_OPENAPI").is_some() {
        std::fs::write(path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/openapi.json is stale: regenerate it with `TOCSIN_UPDATE_OPENAPI=1 cargo test -p tocsin --test it openapi`"
    );
    // And the server serves the same document.
    let d = Deployment::new();
    let srv = d.serve("2023-12-26T10:00:00Z");
    let served = srv.call("GET", "/openapi.json", None, None).body;
    assert_eq!(served, tocsin_server::openapi::spec());
    // Every route is in it, with its permission.
    for op in tocsin_server::router::ops() {
        let m = op.method.as_str().to_ascii_lowercase();
        let entry = &served["paths"][op.path][&m];
        assert_eq!(entry["operationId"], op.id, "{} {}", op.method, op.path);
    }
}

/// `template` with `{}` replaced by "the leaf contains the bytes ?1", in
/// the backend's SQL.
/// `template` with `{}` replaced by a test that a ledger row holds `?1`,
/// in its leaf or in the body kept beside a version-2 leaf.
fn contains_sql(d: &Deployment, template: &str) -> String {
    let test = match d.backend {
        crate::support::Backend::Sqlite => "(instr(leaf, ?1) > 0 OR instr(content_body, ?1) > 0)",
        crate::support::Backend::Postgres => {
            "(position(?1 in leaf) > 0 OR position(?1 in content_body) > 0)"
        }
    };
    template.replace("{}", test)
}

#[test]
fn cases_are_numbered_by_the_year_they_open_in() {
    let d = Deployment::new();
    let srv = d.serve("2023-12-30T10:00:00Z");
    let t = srv.account(
        "num",
        &[Role::Collector, Role::Analyst],
        &[EL],
        "TOP SECRET",
        &["HCS"],
    );
    let report: Value = serde_json::from_str(tocsin::scenarios::KERMAN_REPORT).unwrap();
    let submit = |srv: &Server| {
        let a = srv.call("POST", "/api/v1/reports", Some(&t), Some(report.clone()));
        assert_eq!(a.status, 201, "{:?}", a.body);
        a.body
    };
    let first = submit(&srv);
    let second = submit(&srv);
    srv.set_now("2024-01-02T09:00:00Z");
    let third = submit(&srv);
    assert_eq!(first["number"], "2023-0001");
    assert_eq!(second["number"], "2023-0002");
    assert_eq!(third["number"], "2024-0001");
    // Every case route takes the number as well as the id.
    let a = srv.call("GET", "/api/v1/cases/2023-0002", Some(&t), None);
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["id"], second["case_id"]);
    assert_eq!(a.body["number"], "2023-0002");
    let a = srv.call(
        "POST",
        "/api/v1/cases/2024-0001/determinations",
        Some(&t),
        Some(json!({})),
    );
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["case_id"], third["case_id"]);
    // Lists show numbers; a number finds its case.
    let list = srv.call("GET", "/api/v1/cases", Some(&t), None);
    let numbers: Vec<&str> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["number"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, ["2024-0001", "2023-0002", "2023-0001"]);
    let found = srv.call("GET", "/api/v1/cases?prefix=2023-0001", Some(&t), None);
    assert_eq!(found.body["items"][0]["id"], first["case_id"]);
    // A report joins a case named by its number.
    let a = srv.call(
        "POST",
        "/api/v1/reports?case=2023-0001",
        Some(&t),
        Some(report.clone()),
    );
    assert_eq!(a.status, 201, "{:?}", a.body);
    assert_eq!(a.body["case_id"], first["case_id"]);
    assert_eq!(a.body["new_case"], false);
    // The CLI takes numbers, and lists the cases an ambiguous prefix matches.
    let show = srv
        .cli(&d, &t)
        .args(["case", "show", "2023-0002"])
        .output()
        .unwrap();
    assert!(show.status.success(), "{}", crate::support::stderr(&show));
    let out = crate::support::stdout(&show);
    assert!(
        out.starts_with(&format!(
            "case 2023-0002  {}",
            second["case_id"].as_str().unwrap()
        )),
        "{out}"
    );
    let common = common_prefix(&[
        first["case_id"].as_str().unwrap(),
        second["case_id"].as_str().unwrap(),
        third["case_id"].as_str().unwrap(),
    ]);
    assert!(
        common.len() >= 4,
        "ids minted together share a prefix: {common}"
    );
    let show = srv
        .cli(&d, &t)
        .args(["case", "show", &common])
        .output()
        .unwrap();
    assert!(!show.status.success());
    let err = crate::support::stderr(&show);
    assert!(err.contains("matches 3 cases"), "{err}");
    for n in ["2023-0001", "2023-0002", "2024-0001"] {
        assert!(err.contains(n), "{err}");
    }
    // A rebuild gives every case the number it has.
    let before = srv.call("GET", "/api/v1/cases", Some(&t), None).body;
    drop(srv);
    let out = d.run(&["admin", "rebuild"]);
    assert!(out.status.success(), "{}", crate::support::stdout(&out));
    assert!(
        crate::support::stdout(&out).contains("identical"),
        "{}",
        crate::support::stdout(&out)
    );
    let srv = d.serve("2024-01-02T10:00:00Z");
    let after = srv.call("GET", "/api/v1/cases", Some(&t), None).body;
    assert_eq!(before["items"], after["items"]);
}

/// The longest common start of `ids`.
fn common_prefix(ids: &[&str]) -> String {
    let first = ids[0];
    let n = (0..first.len())
        .take_while(|&i| {
            ids.iter()
                .all(|s| s.as_bytes().get(i) == first.as_bytes().get(i))
        })
        .count();
    first[..n].to_owned()
}
