//! Separation of duties for administrators (issue 11, item 2): an admin
//! never holds a usable credential of another account, and the two people
//! of a two-person rule are two people.

use serde_json::{Value, json};
use sha2::Digest;
use tocsin_domain::{LoadedPolicy, Role};

use crate::support::{Deployment, Server};

const EL: &str = "Counterterrorism Collection Element";

fn kerman() -> Value {
    serde_json::from_str(tocsin::scenarios::KERMAN_REPORT).unwrap()
}

/// A login session: its cookie and CSRF token, and the login's answer.
pub(crate) struct Session {
    cookie: String,
    csrf: String,
    answer: Value,
}

impl Session {
    pub(crate) fn headers(&self) -> [(&str, &str); 2] {
        [("cookie", &self.cookie), ("x-csrf-token", &self.csrf)]
    }
}

/// Logs in with a password; fails the test unless it works.
#[track_caller]
pub(crate) fn login(srv: &Server, name: &str, password: &str) -> Session {
    let a = srv.call(
        "POST",
        "/api/v1/session",
        None,
        Some(json!({"name": name, "password": password})),
    );
    assert_eq!(a.status, 200, "login of {name}: {:?}", a.body);
    let cookie = a.headers["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let csrf = a.body["csrf_token"].as_str().unwrap().to_owned();
    Session {
        cookie,
        csrf,
        answer: a.body,
    }
}

/// The person redeems a one-time secret: logs in with it and sets `new`.
#[track_caller]
pub(crate) fn enrol(srv: &Server, name: &str, secret: &str, new: &str) {
    let s = login(srv, name, secret);
    assert_eq!(s.answer["password_change_required"], true, "{:?}", s.answer);
    let a = srv.call_with(
        "PUT",
        "/api/v1/me/password",
        None,
        Some(json!({"current": secret, "new": new})),
        &s.headers(),
    );
    assert_eq!(a.status, 204, "{:?}", a.body);
}

/// A one-time enrolment secret the admin issues for `name`.
#[track_caller]
pub(crate) fn enrolment(srv: &Server, admin: &str, name: &str) -> String {
    srv.ok(
        admin,
        "POST",
        &format!("/api/v1/accounts/{name}/enrolment"),
        None,
    )["secret"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn an_admin_cannot_obtain_a_usable_credential_of_another_account() {
    let d = Deployment::new();
    let srv = d.serve("2023-12-26T10:00:00Z");
    let admin = srv.account("adm", &[Role::Admin], &["Administration"], "SECRET", &[]);
    let col = srv.account("col", &[Role::Collector], &[EL], "TOP SECRET", &["HCS"]);
    srv.account("kim", &[Role::Analyst], &[EL], "TOP SECRET", &["HCS"]);
    let case = srv.ok(&col, "POST", "/api/v1/reports", Some(kerman()))["case_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let refused = |a: &crate::support::Answer, what: &str, kind: &str| {
        assert_eq!(a.status, 403, "{what}: {:?}", a.body);
        assert_eq!(
            a.body["type"],
            format!("https://tocsin.dev/problems/{kind}"),
            "{what}: {:?}",
            a.body
        );
    };

    // A token for another account: refused, and the refusal is recorded.
    let before = d.ledger_size();
    let a = srv.call(
        "POST",
        "/api/v1/tokens",
        Some(&admin),
        Some(json!({"account": "kim", "label": "mine now", "roles": ["analyst"]})),
    );
    refused(
        &a,
        "an admin issued a token for another account",
        "forbidden",
    );
    assert!(d.ledger_size() > before, "the refusal is not in the ledger");
    // Its own token, it may.
    srv.ok(
        &admin,
        "POST",
        "/api/v1/tokens",
        Some(json!({"account": "adm", "label": "own", "roles": ["admin"]})),
    );

    // A password the admin sets is a one-time secret: the session it opens
    // may only set a password of one's own.
    let a = srv.call(
        "PUT",
        "/api/v1/accounts/kim/password",
        Some(&admin),
        Some(json!({"password": "the admin chose this one"})),
    );
    assert_eq!(a.status, 204, "{:?}", a.body);
    let s = login(&srv, "kim", "the admin chose this one");
    assert_eq!(s.answer["password_change_required"], true, "{:?}", s.answer);
    let h = s.headers();
    let attempts = [
        ("GET", "/api/v1/cases".to_owned(), None),
        ("GET", format!("/api/v1/cases/{case}"), None),
        (
            "POST",
            format!("/api/v1/cases/{case}/determinations"),
            Some(json!({})),
        ),
        (
            "POST",
            "/api/v1/me/tokens".to_owned(),
            Some(json!({"label": "laundered"})),
        ),
    ];
    for (method, path, body) in attempts {
        let a = srv.call_with(method, &path, None, body, &h);
        refused(
            &a,
            &format!("{method} {path} with a one-time secret"),
            "password-change-required",
        );
    }
    let me = srv.call_with("GET", "/api/v1/me", None, None, &h);
    assert_eq!(me.status, 200, "{:?}", me.body);
    assert_eq!(me.body["password_change_required"], true);
    assert_eq!(me.body["roles"], json!([]));

    // A generated enrolment secret ends the one before, and every session.
    let secret = enrolment(&srv, &admin, "kim");
    let a = srv.call_with("GET", "/api/v1/me", None, None, &h);
    assert_eq!(a.status, 401, "the old session lives on: {:?}", a.body);
    let a = srv.call(
        "POST",
        "/api/v1/session",
        None,
        Some(json!({"name": "kim", "password": "the admin chose this one"})),
    );
    assert_eq!(a.status, 401, "the replaced secret still works");

    // It expires: after three days it answers as a wrong password.
    srv.set_now("2023-12-29T10:00:01Z");
    let a = srv.call(
        "POST",
        "/api/v1/session",
        None,
        Some(json!({"name": "kim", "password": secret})),
    );
    assert_eq!(a.status, 401, "an expired enrolment secret logged in");

    // Redeemed in time, it is good once: then the person's own password
    // works, and the secret no longer does.
    let secret = enrolment(&srv, &admin, "kim");
    enrol(&srv, "kim", &secret, "kim chose this one");
    let a = srv.call(
        "POST",
        "/api/v1/session",
        None,
        Some(json!({"name": "kim", "password": secret})),
    );
    assert_eq!(a.status, 401, "an enrolment secret worked twice");
    let s = login(&srv, "kim", "kim chose this one");
    assert!(s.answer.get("password_change_required").is_none());
    let a = srv.call_with(
        "GET",
        &format!("/api/v1/cases/{case}"),
        None,
        None,
        &s.headers(),
    );
    assert_eq!(a.status, 200, "{:?}", a.body);
}

#[test]
fn an_admin_holds_no_case_role_unless_the_policy_allows_it() {
    let d = Deployment::new();
    let srv = d.serve("2023-12-26T10:00:00Z");
    let adm = srv.account("adm", &[Role::Admin], &["Administration"], "SECRET", &[]);
    let body = |roles: Value| {
        json!({
            "name": "adm.two",
            "display_name": "adm.two",
            "elements": ["Administration"],
            "roles": roles,
            "clearance": "SECRET",
            "compartments": [],
        })
    };
    let a = srv.call(
        "POST",
        "/api/v1/accounts",
        Some(&adm),
        Some(body(json!(["admin", "approver"]))),
    );
    assert_eq!(a.status, 422, "an admin with a case role: {:?}", a.body);
    assert!(
        a.body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("admins_hold_case_roles"),
        "{:?}",
        a.body
    );
    srv.ok(
        &adm,
        "POST",
        "/api/v1/accounts",
        Some(body(json!(["admin"]))),
    );
    let a = srv.call(
        "PUT",
        "/api/v1/accounts/adm.two",
        Some(&adm),
        Some(json!({
            "display_name": "adm.two",
            "elements": ["Administration"],
            "roles": ["admin", "auditor"],
            "clearance": "SECRET",
            "compartments": [],
        })),
    );
    assert_eq!(a.status, 422, "an admin given a case role: {:?}", a.body);
}

/// The built-in policy, with admins allowed case roles.
pub(crate) fn admins_with_case_roles() -> LoadedPolicy {
    let text = format!(
        "{}\n[accounts]\nadmins_hold_case_roles = true\n",
        tocsin_domain::policy::DEFAULT_POLICY_TOML
    );
    LoadedPolicy::parse(&text, "test").expect("policy")
}

#[test]
fn an_admin_cannot_take_either_half_of_a_two_person_rule_through_a_credential_it_minted() {
    let d = Deployment::new();
    let srv = d.serve_under(
        "2023-12-26T10:00:00Z",
        tocsin_server::ServerConfig {
            jobs: None,
            ..Default::default()
        },
        admins_with_case_roles(),
    );
    // Under a policy that lets an admin hold case roles (the worst case):
    // the admin, and people it enrolled: the analyst kim and the approver
    // lee.
    let adm = srv.account(
        "adm",
        &[Role::Admin, Role::Analyst, Role::Approver],
        &["Administration", EL],
        "TOP SECRET",
        &["HCS"],
    );
    let col = srv.account("col", &[Role::Collector], &[EL], "TOP SECRET", &["HCS"]);
    srv.account("kim", &[Role::Analyst], &[EL], "TOP SECRET", &["HCS"]);
    srv.account("lee", &[Role::Approver], &[EL], "TOP SECRET", &["HCS"]);
    let kim_secret = enrolment(&srv, &adm, "kim");
    enrol(&srv, "kim", &kim_secret, "kim chose this one");
    let lee_secret = enrolment(&srv, &adm, "lee");
    enrol(&srv, "lee", &lee_secret, "lee chose this one");
    let case = srv.ok(&col, "POST", "/api/v1/reports", Some(kerman()))["case_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let c = |p: &str| format!("/api/v1/cases/{case}{p}");
    srv.set_now("2023-12-26T14:00:00Z");
    let kim = login(&srv, "kim", "kim chose this one");
    let lee = login(&srv, "lee", "lee chose this one");
    srv.ok(&adm, "POST", &c("/determinations"), Some(json!({})));
    let two_person_refusal = |a: &crate::support::Answer, what: &str| {
        assert_eq!(a.status, 403, "{what}: {:?}", a.body);
        let detail = a.body["detail"].as_str().unwrap_or_default();
        assert!(detail.contains("one-time secret"), "{what}: {detail}");
    };

    // Second half: kim (whose credential descends from the admin's secret)
    // asks for a waiver; the admin cannot decide it.
    let waiver = json!({"ground": "W4", "reason": "Warning would expose the source."});
    let w = srv.call_with("POST", &c("/waivers"), None, Some(waiver), &kim.headers());
    assert_eq!(w.status, 200, "{:?}", w.body);
    let waiver_id = w.body["waiver_id"].as_str().unwrap().to_owned();
    let approval = c(&format!("/waivers/{waiver_id}/approval"));
    let body = json!({"reason": "Sources first."});
    let before = d.ledger_size();
    let a = srv.call("POST", &approval, Some(&adm), Some(body.clone()));
    two_person_refusal(&a, "the admin approved a waiver kim asked for");
    assert!(d.ledger_size() > before, "the refusal is not in the ledger");
    let rejection = c(&format!("/waivers/{waiver_id}/rejection"));
    let a = srv.call("POST", &rejection, Some(&adm), Some(body.clone()));
    two_person_refusal(&a, "the admin rejected a waiver kim asked for");
    // The approver lee is another person: lee may reject it.
    let a = srv.call_with("POST", &rejection, None, Some(body), &lee.headers());
    assert_eq!(a.status, 200, "{:?}", a.body);

    // First half: the admin drafts a warning; lee (whose credential
    // descends from the admin's secret) cannot approve it.
    srv.ok(
        &adm,
        "POST",
        &c("/warnings"),
        Some(json!({"text": tocsin::scenarios::KERMAN_WARNING, "withheld": ["source_identity"]})),
    );
    let sha = hex::encode(sha2::Sha256::digest(
        tocsin::scenarios::KERMAN_WARNING.as_bytes(),
    ));
    let a = srv.call_with(
        "POST",
        &c("/warnings/1/approval"),
        None,
        Some(json!({"sha256": sha})),
        &lee.headers(),
    );
    two_person_refusal(&a, "lee approved the warning the admin drafted");
}
