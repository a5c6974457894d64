//! Applying the clock on request: an operator's sweep covers every case,
//! an analyst's the cases they may see; anyone else is refused.

use serde_json::{Value, json};
use tocsin_domain::Role;

use crate::support::{Deployment, stderr, stdout};

#[test]
fn an_analyst_sweeps_the_cases_they_can_see() {
    let d = Deployment::new();
    let srv = d.serve("2023-12-26T10:00:00Z");
    let (a, b) = ("Counterterrorism Collection Element", "Second Element");
    let admin = srv.account(
        "admin",
        &[Role::Admin],
        &["Administration"],
        "UNCLASSIFIED",
        &[],
    );
    let mut cases = Vec::new();
    let mut analysts = Vec::new();
    for (i, el) in [a, b].into_iter().enumerate() {
        let col = srv.account(
            &format!("collector.{i}"),
            &[Role::Collector],
            &[el],
            "TOP SECRET",
            &["HCS"],
        );
        analysts.push(srv.account(
            &format!("analyst.{i}"),
            &[Role::Analyst],
            &[el],
            "TOP SECRET",
            &["HCS"],
        ));
        let mut report: Value = serde_json::from_str(tocsin::scenarios::KERMAN_REPORT).unwrap();
        report["originating_element"] = json!(el);
        let r = srv.ok(&col, "POST", "/api/v1/reports", Some(report));
        cases.push(r["case_id"].as_str().unwrap().to_owned());
    }
    // Past the decide-by time of both cases.
    srv.set_now("2023-12-27T10:00:00Z");
    // The first analyst, through the CLI: only their own element's case.
    let out = srv
        .cli(&d, &analysts[0])
        .args(["--json", "case", "sweep"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let r: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(r["cases_checked"], 1, "{r}");
    let events = r["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{r}");
    assert_eq!(events[0]["case_id"], cases[0].as_str());
    assert_eq!(events[0]["event"]["type"], "escalation_raised");
    // The other case is left for whoever may see it: the operator's sweep.
    let r = srv.ok(&admin, "POST", "/api/v1/sweep", Some(json!({})));
    assert_eq!(r["cases_checked"], 1, "{r}");
    assert_eq!(r["events"][0]["case_id"], cases[1].as_str());
    // The second analyst finds nothing left to do.
    let r = srv.ok(&analysts[1], "POST", "/api/v1/sweep", Some(json!({})));
    assert_eq!(r["cases_checked"], 0, "{r}");
    // A collector may not apply the clock.
    let col = srv.account(
        "collector.x",
        &[Role::Collector],
        &[a],
        "TOP SECRET",
        &["HCS"],
    );
    let refused = srv.call("POST", "/api/v1/sweep", Some(&col), Some(json!({})));
    assert_eq!(refused.status, 403, "{:?}", refused.body);
}
