//! Corroboration over the real server (issue 10, item 6): a light
//! paraphrase submitted by a second element is found to be derived and does
//! not add a source; three elements repeating one informant's claim (one
//! origin) are one source in the credible rule's trace and in `tocsin case
//! show`.

use serde_json::{Value, json};
use tocsin_domain::Role;

use crate::support::{Deployment, stdout};

const EL: &str = "Counterterrorism Collection Element";
const PARTNER: &str = "Partner Liaison Element";
const THIRD: &str = "Regional Analysis Element";

const ORIGINAL: &str = "A source with direct access to an Islamic State Khorasan cell reports that two members plan to attack the crowd at the memorial ceremony for Qassem Soleimani at the Kerman cemetery on 3 January. The attackers intend to wear explosive vests under winter coats and to approach along the road from the city centre, where pilgrims queue before the security checkpoint. The cell leader told the source the devices were prepared in Sistan-Baluchestan and moved to Kerman by car in late December.";

const LIGHT: &str = "A source with direct access to a cell of Islamic State Khorasan says that two of its members intend to attack the crowd at the Qassem Soleimani memorial ceremony at the cemetery in Kerman on 3 January. They plan to wear explosive vests beneath their winter coats and to come along the road from the centre of the city, where pilgrims wait in line before the security checkpoint. According to the cell leader, the devices were made in Sistan-Baluchestan and driven to Kerman in late December.";

const INDEPENDENT: &str = "A border official reports that on 27 December two men with forged Pakistani passports crossed at Mirjaveh in a pickup carrying gas cylinders and nails, declared as building supplies. Both gave an address in Kerman. The official noted that the crowds for the Soleimani anniversary on 3 January make Kerman hard to police that week.";

fn report(element: &str, narrative: &str, origin: Option<&str>) -> Value {
    let mut r: Value = serde_json::from_str(tocsin::scenarios::KERMAN_REPORT).unwrap();
    r["originating_element"] = json!(element);
    r["narrative"] = json!(narrative);
    if let Some(o) = origin {
        r["origin"] = json!(o);
    }
    r
}

/// The credible rule's inputs of the case's latest determination, by name.
fn credible_inputs(case: &Value) -> Vec<(String, String)> {
    let trace =
        &case["determinations"].as_array().unwrap().last().unwrap()["determination"]["trace"];
    let credible = trace
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == "credible")
        .unwrap_or_else(|| panic!("no credible rule in {trace}"));
    credible["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["name"].as_str().unwrap().to_owned(),
                i["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn input<'a>(inputs: &'a [(String, String)], name: &str) -> &'a str {
    &inputs
        .iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no {name} in {inputs:?}"))
        .1
}

#[test]
fn a_light_paraphrase_from_a_second_element_is_derived_and_counts_once() {
    let d = Deployment::new();
    let srv = d.serve("2023-12-26T10:00:00Z");
    let roles = [Role::Collector, Role::Analyst];
    let own = srv.account("col.own", &roles, &[EL], "TOP SECRET", &["HCS"]);
    // The partner's liaison officer works on our cases too.
    let partner = srv.account(
        "col.partner",
        &roles,
        &[PARTNER, EL],
        "TOP SECRET",
        &["HCS"],
    );
    let a = srv.call(
        "POST",
        "/api/v1/reports",
        Some(&own),
        Some(report(EL, ORIGINAL, None)),
    );
    assert_eq!(a.status, 201, "{:?}", a.body);
    let case = a.body["case_id"].as_str().unwrap().to_owned();
    let join = format!("/api/v1/reports?case={case}");
    let a = srv.call(
        "POST",
        &join,
        Some(&partner),
        Some(report(PARTNER, LIGHT, None)),
    );
    assert_eq!(a.status, 201, "{:?}", a.body);
    let c = srv
        .call("GET", &format!("/api/v1/cases/{case}"), Some(&own), None)
        .body;
    let reports = c["reports"].as_array().unwrap();
    let ind = &reports[1]["independence"];
    assert_eq!(ind["kind"], "derived", "{ind}");
    assert_eq!(ind["of"], reports[0]["id"], "{ind}");
    assert_eq!(ind["basis"]["kind"], "shared_text", "{ind}");
    // A report on the same event from different facts is a second source.
    let a = srv.call(
        "POST",
        &join,
        Some(&partner),
        Some(report(PARTNER, INDEPENDENT, None)),
    );
    assert_eq!(a.status, 201, "{:?}", a.body);
    let c = srv
        .call("GET", &format!("/api/v1/cases/{case}"), Some(&own), None)
        .body;
    assert_eq!(c["reports"][2]["independence"]["kind"], "independent");
    srv.set_now("2023-12-26T14:00:00Z");
    let a = srv.call(
        "POST",
        &format!("/api/v1/cases/{case}/determinations"),
        Some(&own),
        Some(json!({})),
    );
    assert_eq!(a.status, 200, "{:?}", a.body);
    let c = srv
        .call("GET", &format!("/api/v1/cases/{case}"), Some(&own), None)
        .body;
    let inputs = credible_inputs(&c);
    assert_eq!(input(&inputs, "independent_sources"), "2");
    let sources = input(&inputs, "sources");
    assert!(
        sources.starts_with("source 1: reports 1, 2 (report 2 repeats report 1: shared text: "),
        "{sources}"
    );
    assert!(sources.ends_with("; source 2: report 3"), "{sources}");
}

#[test]
fn three_elements_forwarding_one_informants_claim_are_one_source_in_the_rule_trace() {
    let d = Deployment::new();
    let srv = d.serve("2023-12-26T10:00:00Z");
    let roles = [Role::Collector, Role::Analyst];
    let own = srv.account("col.own", &roles, &[EL], "TOP SECRET", &["HCS"]);
    let partner = srv.account(
        "col.partner",
        &roles,
        &[PARTNER, EL],
        "TOP SECRET",
        &["HCS"],
    );
    let third = srv.account("col.third", &roles, &[THIRD, EL], "TOP SECRET", &["HCS"]);
    // Three re-tellings of one informant's claim, in words of their own.
    let a = srv.call(
        "POST",
        "/api/v1/reports",
        Some(&own),
        Some(report(
            EL,
            "An informant says ISIS-K bombers will mix with the crowd at the Soleimani commemoration in Kerman on 3 January.",
            Some("Informant at the Zahedan crossing, 2023-12-20"),
        )),
    );
    assert_eq!(a.status, 201, "{:?}", a.body);
    let case = a.body["case_id"].as_str().unwrap().to_owned();
    let join = format!("/api/v1/reports?case={case}");
    for (token, element, text, origin) in [
        (
            &partner,
            PARTNER,
            "FWD: Per our partner service, suicide attackers are expected at the anniversary gathering at the Martyrs' Cemetery early in January.",
            "informant at the Zahedan crossing 2023-12-20",
        ),
        (
            &third,
            THIRD,
            "Liaison reporting relays a claim that Khorasan Province militants intend a mass-casualty strike on mourners in south-eastern Iran.",
            "INFORMANT AT THE ZAHEDAN CROSSING (2023/12/20)",
        ),
    ] {
        let a = srv.call(
            "POST",
            &join,
            Some(token),
            Some(report(element, text, Some(origin))),
        );
        assert_eq!(a.status, 201, "{:?}", a.body);
    }
    srv.set_now("2023-12-26T14:00:00Z");
    let a = srv.call(
        "POST",
        &format!("/api/v1/cases/{case}/determinations"),
        Some(&own),
        Some(json!({})),
    );
    assert_eq!(a.status, 200, "{:?}", a.body);
    let c = srv
        .call("GET", &format!("/api/v1/cases/{case}"), Some(&own), None)
        .body;
    for r in &c["reports"].as_array().unwrap()[1..] {
        assert_eq!(r["independence"]["basis"]["kind"], "same_origin", "{r}");
    }
    let inputs = credible_inputs(&c);
    assert_eq!(input(&inputs, "independent_sources"), "1");
    let sources = input(&inputs, "sources");
    assert_eq!(
        sources,
        "source 1: reports 1, 2, 3 (report 2 repeats report 1: same origin \"Informant at the Zahedan crossing, 2023-12-20\"; report 3 repeats report 1: same origin \"Informant at the Zahedan crossing, 2023-12-20\")"
    );
    // `tocsin case show` says the same.
    let out = srv
        .cli(&d, &own)
        .args(["case", "show", &case])
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("1 independent source(s)"), "{text}");
    assert!(text.contains("  source 1: reports 1, 2, 3 ("), "{text}");
    assert!(
        text.contains("      origin: INFORMANT AT THE ZAHEDAN CROSSING (2023/12/20)"),
        "{text}"
    );
}

#[test]
fn an_analyst_marks_a_report_derived_or_independent_after_intake() {
    let d = Deployment::new();
    let srv = d.serve("2023-12-26T10:00:00Z");
    let roles = [Role::Collector, Role::Analyst];
    let kim = srv.account("kim", &roles, &[EL], "TOP SECRET", &["HCS"]);
    let col = srv.account("col", &[Role::Collector], &[EL], "TOP SECRET", &["HCS"]);
    let a = srv.call(
        "POST",
        "/api/v1/reports",
        Some(&kim),
        Some(report(EL, ORIGINAL, None)),
    );
    assert_eq!(a.status, 201, "{:?}", a.body);
    let case = a.body["case_id"].as_str().unwrap().to_owned();
    // The border official's report, which the detector finds independent.
    let a = srv.call(
        "POST",
        &format!("/api/v1/reports?case={case}"),
        Some(&kim),
        Some(report(EL, INDEPENDENT, None)),
    );
    assert_eq!(a.status, 201, "{:?}", a.body);
    srv.set_now("2023-12-26T14:00:00Z");
    srv.ok(
        &kim,
        "POST",
        &format!("/api/v1/cases/{case}/determinations"),
        Some(json!({})),
    );
    let get = || srv.ok(&kim, "GET", &format!("/api/v1/cases/{case}"), None);
    let c = get();
    let first = c["reports"][0]["id"].as_str().unwrap().to_owned();
    let second = c["reports"][1]["id"].as_str().unwrap().to_owned();
    assert_eq!(input(&credible_inputs(&c), "independent_sources"), "2");
    let mark = |who: &str, report: &str, body: Value| {
        srv.call(
            "POST",
            &format!("/api/v1/cases/{case}/reports/{report}/independence"),
            Some(who),
            Some(body),
        )
    };
    // A collector may not; an unknown report is not found; a report is
    // never derived from itself.
    let why = "The official's account came from our source's cousin.";
    let a = mark(&col, &second, json!({"derived_of": first, "reason": why}));
    assert_eq!(a.status, 403, "{:?}", a.body);
    let a = mark(&kim, &first, json!({"derived_of": first, "reason": why}));
    assert_eq!(a.status, 422, "{:?}", a.body);
    let a = mark(
        &kim,
        "01a20000-0000-7000-8000-000000000000",
        json!({"reason": why}),
    );
    assert_eq!(a.status, 404, "{:?}", a.body);
    // The analyst learns the second report repeats the first: it is
    // recorded, the count falls, and the case is flagged for re-assessment.
    let a = mark(&kim, &second, json!({"derived_of": first, "reason": why}));
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(
        a.body["events"],
        json!(["independence_marked", "reassessment_flagged"]),
        "{:?}",
        a.body
    );
    let c = get();
    let ind = &c["reports"][1]["independence"];
    assert_eq!(ind["kind"], "derived", "{ind}");
    assert_eq!(ind["basis"]["kind"], "marked", "{ind}");
    assert_eq!(ind["basis"]["reason"], why, "{ind}");
    // The next determination counts one source, and says why.
    srv.ok(
        &kim,
        "POST",
        &format!("/api/v1/cases/{case}/reassessments"),
        Some(json!({"reason": "Sources re-examined."})),
    );
    srv.ok(
        &kim,
        "POST",
        &format!("/api/v1/cases/{case}/determinations"),
        Some(json!({})),
    );
    let inputs = credible_inputs(&get());
    assert_eq!(input(&inputs, "independent_sources"), "1");
    let sources = input(&inputs, "sources");
    assert!(
        sources.contains("report 2 repeats report 1: an analyst marked it so: The official's"),
        "{sources}"
    );
    // Marked independent again, through the CLI, by report numbers.
    let out = d
        .tocsin()
        .env("TOCSIN_SERVER", &srv.url)
        .env("TOCSIN_TOKEN", &kim)
        .args([
            "case",
            "independence",
            &case,
            "--report",
            "2",
            "--independent",
            "--reason",
            "The cousin was never in Mirjaveh.",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", crate::support::stderr(&out));
    assert!(
        stdout(&out).contains("independence_marked"),
        "{}",
        stdout(&out)
    );
    assert_eq!(get()["reports"][1]["independence"]["kind"], "independent");
}

/// Circular reporting across cases: the partner files its paraphrase as a
/// case of its own. Asked about it, the service names the original in our
/// case to a reader who may see both, and to nobody else; an unrelated
/// report of a third case is not named.
#[test]
fn a_paraphrase_in_another_case_is_proposed_to_those_who_may_see_both() {
    let d = Deployment::new();
    let srv = d.serve("2023-12-26T10:00:00Z");
    let roles = [Role::Collector, Role::Analyst];
    let own = srv.account("col.own", &roles, &[EL], "TOP SECRET", &["HCS"]);
    let partner = srv.account("col.partner", &roles, &[PARTNER], "TOP SECRET", &["HCS"]);
    let liaison = srv.account("an.liaison", &roles, &[PARTNER, EL], "TOP SECRET", &["HCS"]);
    let open = |tok: &str, r: Value| {
        let a = srv.call("POST", "/api/v1/reports", Some(tok), Some(r));
        assert_eq!(a.status, 201, "{:?}", a.body);
        a.body["case_id"].as_str().unwrap().to_owned()
    };
    let ours = open(&own, report(EL, ORIGINAL, None));
    let theirs = open(&partner, report(PARTNER, LIGHT, None));
    let _unrelated = open(&own, report(EL, INDEPENDENT, None));
    assert_ne!(ours, theirs);
    let report_of = |tok: &str, case: &str| {
        srv.call("GET", &format!("/api/v1/cases/{case}"), Some(tok), None)
            .body["reports"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (original, paraphrase) = (report_of(&own, &ours), report_of(&partner, &theirs));
    let similar = |tok: &str, case: &str, r: &str| {
        let a = srv.call(
            "GET",
            &format!("/api/v1/cases/{case}/reports/{r}/similar"),
            Some(tok),
            None,
        );
        assert_eq!(a.status, 200, "{:?}", a.body);
        a.body["items"].as_array().unwrap().clone()
    };
    // The liaison sees both cases: each report names the other.
    let found = similar(&liaison, &theirs, &paraphrase);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["case_id"], ours.as_str());
    assert_eq!(found[0]["report_id"], original.as_str());
    assert_eq!(found[0]["report"], 1);
    assert_eq!(found[0]["received"], "before");
    assert!(found[0]["case_number"].is_string(), "{found:?}");
    assert!(found[0]["this_in_other_percent"].as_u64().unwrap() >= 35);
    let back = similar(&liaison, &ours, &original);
    assert_eq!(back.len(), 1, "{back:?}");
    assert_eq!(back[0]["case_id"], theirs.as_str());
    // The partner alone may not see our case: nothing is named to them.
    assert!(similar(&partner, &theirs, &paraphrase).is_empty());
    // A report filed after the index was built is found too.
    let late = open(&partner, report(PARTNER, LIGHT, None));
    let found = similar(&liaison, &ours, &original);
    let cases: Vec<&str> = found
        .iter()
        .map(|f| f["case_id"].as_str().unwrap())
        .collect();
    assert_eq!(cases.len(), 2, "{found:?}");
    assert!(cases.contains(&late.as_str()) && cases.contains(&theirs.as_str()));
    // The CLI says the same in words.
    let out = srv
        .cli(&d, &liaison)
        .args(["case", "similar", &ours, "--report", "1"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", crate::support::stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("after this one: it may repeat this"),
        "{text}"
    );
    assert!(text.contains("a proposal only"), "{text}");
}
