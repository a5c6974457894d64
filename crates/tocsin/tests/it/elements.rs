//! Cases across elements (issue 10, item 5) over the real server: a
//! contribution from another element accepted and another declined, the
//! contributor told only the status; two cases merged by the lead analysts
//! of both; a dispute escalated to an arbiter and resolved. With the
//! refusals: a contributor cannot read the case, one analyst alone cannot
//! merge cases of two lead elements, a non-arbiter cannot resolve.

use serde_json::{Value, json};
use tocsin_domain::Role;

use crate::support::{Deployment, Server};

const EL: &str = "Counterterrorism Collection Element";
const PARTNER: &str = "Partner Liaison Element";
const ARBITRATION: &str = "Arbitration Office";

const OTHER_FACTS: &str = "A border official reports that on 27 December two men with forged Pakistani passports crossed at Mirjaveh in a pickup carrying gas cylinders and nails, declared as building supplies. Both gave an address in Kerman.";

fn report(element: &str, narrative: Option<&str>) -> Value {
    let mut r: Value = serde_json::from_str(tocsin::scenarios::KERMAN_REPORT).unwrap();
    r["originating_element"] = json!(element);
    if let Some(n) = narrative {
        r["narrative"] = json!(n);
    }
    r
}

/// Opens a case with `report` as `token`: its id and number.
fn open(srv: &Server, token: &str, report: Value) -> (String, String) {
    let a = srv.ok(token, "POST", "/api/v1/reports", Some(report));
    (
        a["case_id"].as_str().unwrap().to_owned(),
        a["number"].as_str().unwrap().to_owned(),
    )
}

fn case(srv: &Server, token: &str, case: &str) -> Value {
    srv.ok(token, "GET", &format!("/api/v1/cases/{case}"), None)
}

fn status(srv: &Server, token: &str, case: &str, id: &str) -> Value {
    srv.ok(
        token,
        "GET",
        &format!("/api/v1/contributions/{id}?case={case}"),
        None,
    )
}

fn contribute(srv: &Server, token: &str, case: &str, report: Value) -> Value {
    let a = srv.call(
        "POST",
        "/api/v1/contributions",
        Some(token),
        Some(json!({ "case": case, "report": report })),
    );
    assert_eq!(a.status, 202, "{:?}", a.body);
    a.body
}

#[test]
fn a_contribution_from_another_element_is_accepted_and_another_is_declined() {
    let d = Deployment::new();
    let srv = d.serve("2023-12-26T10:00:00Z");
    let lead = srv.account(
        "lead",
        &[Role::Collector, Role::Analyst],
        &[EL],
        "TOP SECRET",
        &["HCS"],
    );
    let contributor = srv.account(
        "contributor",
        &[Role::Collector],
        &[PARTNER],
        "TOP SECRET",
        &["HCS"],
    );
    let (id, number) = open(&srv, &lead, report(EL, None));

    // The contributor knows the number from outside, and cannot read the case.
    let first = contribute(
        &srv,
        &contributor,
        &number,
        report(PARTNER, Some(OTHER_FACTS)),
    );
    assert_eq!(first["status"], "pending");
    let keys: Vec<&String> = first.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["contribution_id", "status"], "{first}");
    let c1 = first["contribution_id"].as_str().unwrap().to_owned();
    for path in [
        format!("/api/v1/cases/{number}"),
        format!("/api/v1/cases/{id}/events"),
        format!("/api/v1/cases/{id}/contributions"),
    ] {
        let a = srv.call("GET", &path, Some(&contributor), None);
        assert_eq!(a.status, 403, "{path}: {:?}", a.body);
    }
    assert_eq!(
        status(&srv, &contributor, &number, &c1)["status"],
        "pending"
    );

    // The lead element sees it pending, on the case and in the list.
    let c = case(&srv, &lead, &id);
    assert_eq!(c["across"]["contributions"][0]["status"], "pending");
    assert_eq!(c["reports"].as_array().unwrap().len(), 1);
    let list = srv.ok(
        &lead,
        "GET",
        &format!("/api/v1/cases/{id}/contributions"),
        None,
    );
    assert_eq!(list["items"][0]["id"], c1.as_str());
    assert_eq!(list["items"][0]["submitted_by"], "contributor");

    // The contributor cannot decide its own contribution.
    let a = srv.call(
        "POST",
        &format!("/api/v1/cases/{id}/contributions/{c1}/acceptance"),
        Some(&contributor),
        Some(json!({})),
    );
    assert_eq!(a.status, 403, "{:?}", a.body);

    // Accepted: the report is attached (its independence checked), and the
    // case is still not shared with the contributor's element.
    let a = srv.ok(
        &lead,
        "POST",
        &format!("/api/v1/cases/{id}/contributions/{c1}/acceptance"),
        Some(json!({})),
    );
    let events: Vec<&str> = a["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert_eq!(&events[..2], ["contribution_accepted", "report_attached"]);
    let c = case(&srv, &lead, &id);
    let reports = c["reports"].as_array().unwrap();
    assert_eq!(reports.len(), 2);
    assert_eq!(reports[1]["independence"]["kind"], "independent");
    assert_eq!(c["shared_with"], json!([EL]));
    assert_eq!(
        status(&srv, &contributor, &number, &c1)["status"],
        "accepted"
    );
    let a = srv.call(
        "GET",
        &format!("/api/v1/cases/{id}"),
        Some(&contributor),
        None,
    );
    assert_eq!(a.status, 403, "{:?}", a.body);

    // Declined, with a reason the contributor is not told.
    let second = contribute(&srv, &contributor, &number, report(PARTNER, None));
    let c2 = second["contribution_id"].as_str().unwrap().to_owned();
    srv.ok(
        &lead,
        "POST",
        &format!("/api/v1/cases/{id}/contributions/{c2}/decline"),
        Some(json!({ "reason": "repeats the report that opened the case" })),
    );
    let s = status(&srv, &contributor, &number, &c2);
    assert_eq!(s, json!({ "contribution_id": c2, "status": "declined" }));
    let c = case(&srv, &lead, &id);
    assert_eq!(c["reports"].as_array().unwrap().len(), 2);
    assert_eq!(c["across"]["contributions"][1]["status"], "declined");
    assert_eq!(
        c["across"]["contributions"][1]["reason"],
        "repeats the report that opened the case"
    );
    // Someone else asking about the contribution learns nothing from it.
    let other = srv.account(
        "other",
        &[Role::Collector],
        &[PARTNER],
        "TOP SECRET",
        &["HCS"],
    );
    assert_eq!(status(&srv, &other, &number, &c2)["status"], "pending");
}

#[test]
fn a_contribution_to_a_restricted_case_answers_as_one_to_a_missing_case() {
    let d = Deployment::new();
    let srv = d.serve("2023-12-26T10:00:00Z");
    let lead = srv.account(
        "lead",
        &[Role::Collector, Role::Analyst],
        &[EL],
        "TOP SECRET",
        &["HCS"],
    );
    let contributor = srv.account(
        "contributor",
        &[Role::Collector],
        &[PARTNER],
        "TOP SECRET",
        &["HCS"],
    );
    let mut r = report(EL, None);
    r["handling"]["existence_restricted"] = json!(true);
    let (id, number) = open(&srv, &lead, r);
    let missing = "2023-0099";
    let hidden = contribute(&srv, &contributor, &number, report(PARTNER, None));
    let none = contribute(&srv, &contributor, missing, report(PARTNER, None));
    let strip = |v: &Value| {
        let mut v = v.clone();
        v["contribution_id"] = json!("ID");
        v
    };
    assert_eq!(strip(&hidden), strip(&none));
    let hs = status(
        &srv,
        &contributor,
        &number,
        hidden["contribution_id"].as_str().unwrap(),
    );
    let ns = status(
        &srv,
        &contributor,
        missing,
        none["contribution_id"].as_str().unwrap(),
    );
    assert_eq!(strip(&hs), strip(&ns));
    assert_eq!(hs["status"], "pending");
    // The lead element has it; the one to nothing is a recorded refusal.
    let c = case(&srv, &lead, &id);
    assert_eq!(c["across"]["contributions"].as_array().unwrap().len(), 1);
}

#[test]
fn two_cases_are_merged_by_the_lead_analysts_of_both() {
    let d = Deployment::new();
    let srv = d.serve("2023-12-26T10:00:00Z");
    let roles = [Role::Collector, Role::Analyst];
    let ours = srv.account("ours", &roles, &[EL], "TOP SECRET", &["HCS"]);
    let theirs = srv.account("theirs", &roles, &[PARTNER], "TOP SECRET", &["HCS"]);
    // A liaison officer of both elements, who sees both cases.
    let dual = srv.account("dual", &roles, &[EL, PARTNER], "TOP SECRET", &["HCS"]);
    let (into, into_no) = open(&srv, &ours, report(EL, None));
    let (absorbed, absorbed_no) = open(&srv, &theirs, report(PARTNER, Some(OTHER_FACTS)));
    let merge = json!({ "absorbed": absorbed_no, "into": into_no });

    // One analyst alone, even of both elements, only ever proposes.
    for _ in 0..2 {
        let a = srv.ok(&dual, "POST", "/api/v1/case-merges", Some(merge.clone()));
        assert_eq!(a["status"], "proposed");
    }
    assert_eq!(
        case(&srv, &theirs, &absorbed)["state"],
        "awaiting_determination"
    );
    // The liaison officer's proposals stand for the partner's lead element;
    // our lead, who cannot see the other case, confirms: the merge is made.
    let a = srv.call(
        "GET",
        &format!("/api/v1/cases/{absorbed}"),
        Some(&ours),
        None,
    );
    assert_eq!(a.status, 403);
    let a = srv.ok(&ours, "POST", "/api/v1/case-merges", Some(merge.clone()));
    assert_eq!(a["status"], "merged");
    // Asked again, by their lead, nothing more happens.
    let a = srv.call(
        "POST",
        "/api/v1/case-merges",
        Some(&theirs),
        Some(merge.clone()),
    );
    assert_eq!(a.status, 409, "{:?}", a.body);

    let survivor = case(&srv, &ours, &into);
    assert_eq!(survivor["reports"].as_array().unwrap().len(), 2);
    assert_eq!(
        survivor["across"]["related"][0]["case_id"],
        absorbed.as_str()
    );
    assert_eq!(survivor["across"]["related"][0]["as"], "merged_from");
    assert_eq!(survivor["shared_with"], json!([EL, PARTNER]));
    assert_eq!(survivor["owner"], "ours", "a merge changes no owner");
    let gone = case(&srv, &theirs, &absorbed);
    assert_eq!(gone["state"], "closed");
    assert_eq!(gone["owner"], "theirs");
    assert_eq!(gone["across"]["related"][0]["as"], "merged_into");
    // Both ledger streams record it.
    let kinds = |token: &str, c: &str| -> Vec<String> {
        srv.ok(token, "GET", &format!("/api/v1/cases/{c}/events"), None)["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["event"]["type"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(kinds(&ours, &into).contains(&"cases_merged".to_owned()));
    let k = kinds(&theirs, &absorbed);
    assert_eq!(&k[k.len() - 2..], ["cases_merged", "case_closed"]);
    let events = srv.ok(
        &theirs,
        "GET",
        &format!("/api/v1/cases/{absorbed}/events"),
        None,
    );
    let last = events["items"].as_array().unwrap().last().unwrap();
    assert_eq!(
        last["event"]["grounds"],
        json!({ "kind": "merged", "into": into })
    );
}

#[test]
fn a_dispute_is_escalated_to_an_arbiter_and_resolved() {
    let d = Deployment::new();
    let srv = d.serve("2023-12-26T10:00:00Z");
    let roles = [Role::Collector, Role::Analyst];
    let lead = srv.account("lead", &roles, &[EL], "TOP SECRET", &["HCS"]);
    let liaison = srv.account("liaison", &roles, &[PARTNER, EL], "TOP SECRET", &["HCS"]);
    let partner = srv.account("partner", &roles, &[PARTNER], "TOP SECRET", &["HCS"]);
    let outsider = srv.account(
        "outsider",
        &roles,
        &["Regional Analysis Element"],
        "TOP SECRET",
        &["HCS"],
    );
    let arbiter = srv.account(
        "arbiter",
        &[Role::Arbiter],
        &[ARBITRATION],
        "TOP SECRET",
        &["HCS"],
    );
    let admin = srv.account("admin", &[Role::Admin], &[EL], "TOP SECRET", &["HCS"]);
    let (id, _) = open(&srv, &lead, report(EL, None));
    // A partner report joins: the case is shared with the partner element.
    srv.ok(
        &liaison,
        "POST",
        &format!("/api/v1/reports?case={id}"),
        Some(report(PARTNER, Some(OTHER_FACTS))),
    );
    let body = json!({
        "subject": { "kind": "warn" },
        "statement": "our reporting says the plot is abandoned: no warning"
    });
    let a = srv.call(
        "POST",
        &format!("/api/v1/cases/{id}/disputes"),
        Some(&outsider),
        Some(body.clone()),
    );
    assert_eq!(a.status, 403, "{:?}", a.body);
    let a = srv.ok(
        &partner,
        "POST",
        &format!("/api/v1/cases/{id}/disputes"),
        Some(body),
    );
    let dispute = a["dispute_id"].as_str().unwrap().to_owned();
    let c = case(&srv, &lead, &id);
    assert_eq!(c["across"]["disputes"][0]["raised_by"], "partner");
    assert_eq!(c["across"]["disputes"][0]["due"], "2023-12-28T10:00:00Z");

    // Overdue, it is escalated as the other overdue steps are.
    srv.set_now("2023-12-28T11:00:00Z");
    srv.ok(&admin, "POST", "/api/v1/sweep", Some(json!({})));
    let c = case(&srv, &lead, &id);
    let escalated: Vec<&Value> = c["escalations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["step"] == "arbitrate")
        .collect();
    assert_eq!(escalated.len(), 1, "{}", c["escalations"]);
    assert_eq!(escalated[0]["due"], "2023-12-28T10:00:00Z");

    // Only an arbiter resolves it (an admin is not one).
    let path = format!("/api/v1/cases/{id}/disputes/{dispute}/resolution");
    let ruling = json!({ "reason": "the threat stands on the lead element's reporting: warn" });
    for token in [&lead, &partner, &admin] {
        let a = srv.call("POST", &path, Some(token), Some(ruling.clone()));
        assert_eq!(a.status, 403, "{:?}", a.body);
    }
    let open_disputes = srv.ok(&arbiter, "GET", "/api/v1/disputes", None);
    assert_eq!(open_disputes["items"][0]["dispute_id"], dispute.as_str());
    srv.ok(&arbiter, "POST", &path, Some(ruling));
    let c = case(&srv, &lead, &id);
    let d0 = &c["across"]["disputes"][0];
    assert_eq!(d0["resolution"]["by"], "arbiter");
    assert_eq!(
        d0["resolution"]["value"],
        "the threat stands on the lead element's reporting: warn"
    );
    let open_disputes = srv.ok(&arbiter, "GET", "/api/v1/disputes", None);
    assert_eq!(open_disputes["items"], json!([]));
}

#[test]
fn the_cli_submits_decides_merges_and_disputes() {
    let d = Deployment::new();
    let srv = d.serve("2023-12-26T10:00:00Z");
    let roles = [Role::Collector, Role::Analyst];
    let lead = srv.account("lead", &roles, &[EL], "TOP SECRET", &["HCS"]);
    let contributor = srv.account(
        "contributor",
        &[Role::Collector],
        &[PARTNER],
        "TOP SECRET",
        &["HCS"],
    );
    let (_, number) = open(&srv, &lead, report(EL, None));
    let (_, other) = open(&srv, &lead, report(EL, Some(OTHER_FACTS)));
    let run = |token: &str, args: &[&str]| -> String {
        let out = srv.cli(&d, token).args(args).output().unwrap();
        let text = crate::support::stdout(&out);
        assert!(
            out.status.success(),
            "{args:?}: {text}{}",
            crate::support::stderr(&out)
        );
        text
    };
    let file = d.file(
        "contribution.json",
        &report(PARTNER, Some(OTHER_FACTS)).to_string(),
    );
    let text = run(
        &contributor,
        &["contribution", "submit", &number, file.to_str().unwrap()],
    );
    assert!(text.ends_with(": pending\n"), "{text}");
    let id = text
        .trim()
        .strip_prefix("contribution ")
        .unwrap()
        .split(':')
        .next()
        .unwrap()
        .to_owned();
    let text = run(&lead, &["contribution", "list", &number]);
    assert!(text.contains(&format!("{id}  pending")), "{text}");
    let text = run(&lead, &["case", "show", &number]);
    assert!(
        text.contains(&format!("CONTRIBUTION   {id} from contributor")),
        "{text}"
    );
    run(&lead, &["contribution", "accept", &number, &id]);
    let text = run(&contributor, &["contribution", "status", &number, &id]);
    assert_eq!(text, format!("contribution {id}: accepted\n"));
    // Two cases of one lead element: its analyst merges them at once.
    let text = run(&lead, &["case", "merge", &other, "--into", &number]);
    assert_eq!(text, "merged\n");
    let text = run(&lead, &["case", "show", &number]);
    assert!(text.contains("related        merged from case"), "{text}");
    let text = run(
        &lead,
        &[
            "dispute",
            "raise",
            &number,
            "--about",
            "recipient",
            "--statement",
            "warn the host service too",
        ],
    );
    assert!(text.contains("\ndispute "), "{text}");
    let text = run(&lead, &["case", "show", &number]);
    assert!(text.contains("DISPUTE        "), "{text}");
    assert!(text.contains("about whom to warn"), "{text}");
}

#[test]
fn two_cases_are_linked_both_ways_when_both_lead_elements_ask() {
    let d = Deployment::new();
    let srv = d.serve("2023-12-26T10:00:00Z");
    let roles = [Role::Collector, Role::Analyst];
    let ours = srv.account("ours", &roles, &[EL], "TOP SECRET", &["HCS"]);
    let theirs = srv.account("theirs", &roles, &[PARTNER], "TOP SECRET", &["HCS"]);
    let (a, a_no) = open(&srv, &ours, report(EL, None));
    let (b, b_no) = open(&srv, &theirs, report(PARTNER, Some(OTHER_FACTS)));
    // Neither may name a case it does not lead as its own.
    let r = srv.call(
        "POST",
        "/api/v1/case-links",
        Some(&ours),
        Some(json!({ "case": b_no, "with": "2023-0099" })),
    );
    assert_eq!(r.status, 403, "{:?}", r.body);
    let r = srv.ok(
        &ours,
        "POST",
        "/api/v1/case-links",
        Some(json!({ "case": a_no, "with": b_no })),
    );
    assert_eq!(r["status"], "proposed");
    let r = srv.ok(
        &theirs,
        "POST",
        "/api/v1/case-links",
        Some(json!({ "case": b_no, "with": a_no })),
    );
    assert_eq!(r["status"], "linked");
    let ca = case(&srv, &ours, &a);
    let cb = case(&srv, &theirs, &b);
    assert_eq!(ca["across"]["related"][0]["case_id"], b.as_str());
    assert_eq!(ca["across"]["related"][0]["as"], "linked_with");
    assert_eq!(cb["across"]["related"][0]["case_id"], a.as_str());
    // A link shares nothing and closes nothing.
    assert_eq!(ca["shared_with"], json!([EL]));
    assert_eq!(cb["state"], "awaiting_determination");
}

#[test]
fn a_contribution_marked_beyond_a_reader_is_kept_from_that_reader() {
    let d = Deployment::new();
    let srv = d.serve("2023-12-26T10:00:00Z");
    let roles = [Role::Collector, Role::Analyst];
    let lead = srv.account("lead", &roles, &[EL], "TOP SECRET", &["HCS"]);
    let reader = srv.account("reader", &roles, &[EL], "SECRET", &["HCS"]);
    let contributor = srv.account(
        "contributor",
        &[Role::Collector],
        &[PARTNER],
        "TOP SECRET",
        &["HCS"],
    );
    let (id, number) = open(&srv, &lead, report(EL, None));
    let mut r = report(PARTNER, Some(OTHER_FACTS));
    r["handling"]["classification"] = json!("TOP SECRET");
    let c = contribute(&srv, &contributor, &number, r);
    let c = c["contribution_id"].as_str().unwrap();
    // The lead sees it; a SECRET reader of the case does not, and is
    // refused the events that carry it.
    let list = srv.ok(
        &lead,
        "GET",
        &format!("/api/v1/cases/{id}/contributions"),
        None,
    );
    assert_eq!(list["items"][0]["id"], c);
    let list = srv.ok(
        &reader,
        "GET",
        &format!("/api/v1/cases/{id}/contributions"),
        None,
    );
    assert_eq!(list["items"], json!([]));
    assert_eq!(
        case(&srv, &reader, &id)["across"]["contributions"],
        json!([])
    );
    let a = srv.call(
        "GET",
        &format!("/api/v1/cases/{id}/events"),
        Some(&reader),
        None,
    );
    assert_eq!(a.status, 403, "{:?}", a.body);
    // Nor may the reader accept what it cannot read.
    let a = srv.call(
        "POST",
        &format!("/api/v1/cases/{id}/contributions/{c}/acceptance"),
        Some(&reader),
        Some(json!({})),
    );
    assert_eq!(a.status, 403, "{:?}", a.body);
}
