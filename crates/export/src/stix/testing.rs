//! Hand-made STIX bundles for tests (this crate's and the integration
//! tests'): a partner's good bundle, and a hundred bad ones, each with what
//! is wrong with it. Not part of the API.

use serde_json::{Value, json};

const AMBER_1: &str = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82";

/// A bundle as the `stix2` Python library writes one: a report about a
/// threat actor targeting a person at a place, TLP:AMBER (1.0 id).
pub fn partner_bundle() -> Value {
    let t = "2024-03-01T10:00:00.000Z";
    let producer = "identity--0b7a1a42-5d3f-4b7e-9d3a-111111111111";
    let actor = "threat-actor--0b7a1a42-5d3f-4b7e-9d3a-222222222222";
    let victim = "identity--0b7a1a42-5d3f-4b7e-9d3a-333333333333";
    let place = "location--0b7a1a42-5d3f-4b7e-9d3a-444444444444";
    let r1 = "relationship--0b7a1a42-5d3f-4b7e-9d3a-555555555555";
    let r2 = "relationship--0b7a1a42-5d3f-4b7e-9d3a-666666666666";
    json!({
        "type": "bundle",
        "id": "bundle--0b7a1a42-5d3f-4b7e-9d3a-000000000000",
        "objects": [
            {"type": "identity", "spec_version": "2.1", "id": producer, "created": t, "modified": t,
             "name": "Partner CERT", "identity_class": "organization"},
            {"type": "threat-actor", "spec_version": "2.1", "id": actor, "created": t, "modified": t,
             "created_by_ref": producer, "name": "Example Cell", "threat_actor_types": ["terrorist"]},
            {"type": "identity", "spec_version": "2.1", "id": victim, "created": t, "modified": t,
             "created_by_ref": producer, "name": "Jane Doe", "identity_class": "individual",
             "description": "A journalist"},
            {"type": "location", "spec_version": "2.1", "id": place, "created": t, "modified": t,
             "created_by_ref": producer, "name": "Harbour Hotel", "city": "Valletta", "country": "MT"},
            {"type": "relationship", "spec_version": "2.1", "id": r1, "created": t, "modified": t,
             "created_by_ref": producer, "relationship_type": "targets", "source_ref": actor, "target_ref": victim},
            {"type": "relationship", "spec_version": "2.1", "id": r2, "created": t, "modified": t,
             "created_by_ref": producer, "relationship_type": "targets", "source_ref": actor, "target_ref": place},
            {"type": "report", "spec_version": "2.1",
             "id": "report--0b7a1a42-5d3f-4b7e-9d3a-777777777777", "created": t, "modified": t,
             "created_by_ref": producer, "name": "Plot against a journalist",
             "description": "Example Cell plans to kill the journalist Jane Doe at the Harbour Hotel.",
             "published": t, "report_types": ["threat-report"],
             "object_refs": [actor, victim, place, r1, r2],
             "object_marking_refs": [AMBER_1]}
        ]
    })
}

/// The report object of a bundle made by [`partner_bundle`] (its last).
pub fn report_mut(b: &mut Value) -> &mut Value {
    let last = b["objects"]
        .as_array()
        .map_or(0, |a| a.len().saturating_sub(1));
    &mut b["objects"][last]
}

/// At least a hundred bad bundles (wrong types, missing required
/// properties, dangling references, huge strings, deep nesting), each
/// with a line saying what is wrong.
pub fn bad_bundles() -> Vec<(String, Value)> {
    let good = partner_bundle();
    let mut bad: Vec<(String, Value)> = vec![];
    let mut add = |what: String, v: Value| bad.push((what, v));
    // The bundle itself.
    add("not an object".into(), json!([]));
    add("a string".into(), json!("bundle"));
    for k in ["type", "id", "objects"] {
        let mut b = good.clone();
        b.as_object_mut().unwrap().remove(k);
        add(format!("bundle without {k}"), b);
    }
    for (k, v) in [
        ("type", json!("report")),
        ("type", json!(7)),
        ("id", json!("bundle--nope")),
        ("id", json!("report--0b7a1a42-5d3f-4b7e-9d3a-000000000000")),
        ("objects", json!([])),
        ("objects", json!({})),
        ("objects", json!("x")),
    ] {
        let mut b = good.clone();
        b[k] = v.clone();
        add(format!("bundle {k} = {v}"), b);
    }
    // Every object: each required property removed, or of a wrong type.
    let n = good["objects"].as_array().unwrap().len();
    for i in 0..n {
        let o = good["objects"][i].clone();
        let required: Vec<&str> = match o["type"].as_str().unwrap() {
            "report" => vec![
                "type",
                "id",
                "spec_version",
                "created",
                "modified",
                "name",
                "published",
                "object_refs",
                "description",
                "object_marking_refs",
            ],
            "relationship" => vec![
                "type",
                "id",
                "spec_version",
                "created",
                "modified",
                "relationship_type",
                "source_ref",
                "target_ref",
            ],
            "location" => vec![
                "type",
                "id",
                "spec_version",
                "created",
                "modified",
                "country",
            ],
            _ => vec!["type", "id", "spec_version", "created", "modified", "name"],
        };
        for k in required {
            let mut b = good.clone();
            b["objects"][i].as_object_mut().unwrap().remove(k);
            add(format!("object {i} without {k}"), b);
            let mut b = good.clone();
            b["objects"][i][k] = json!(12);
            add(format!("object {i} with {k} a number"), b);
        }
        let mut b = good.clone();
        b["objects"][i]["spec_version"] = json!("2.0");
        add(format!("object {i} in STIX 2.0"), b);
        let mut b = good.clone();
        b["objects"][i]["created"] = json!("yesterday");
        add(format!("object {i} with a bad time"), b);
        let mut b = good.clone();
        let id = o["id"].as_str().unwrap().replace("--", "--x");
        b["objects"][i]["id"] = json!(id);
        add(format!("object {i} with a bad uuid"), b);
        let mut b = good.clone();
        b["objects"][i]["id"] = json!(format!(
            "campaign--{}",
            o["id"].as_str().unwrap().split_once("--").unwrap().1
        ));
        add(format!("object {i} whose id names another type"), b);
        let mut b = good.clone();
        b["objects"][i]["type"] = json!("Not A Type");
        add(format!("object {i} with a bad type"), b);
    }
    // Dangling references.
    for k in ["created_by_ref", "object_marking_refs"] {
        let mut b = good.clone();
        let r = report_mut(&mut b);
        let dangling = json!("identity--0b7a1a42-5d3f-4b7e-9d3a-999999999999");
        r[k] = if k.ends_with('s') {
            json!([dangling])
        } else {
            dangling
        };
        add(format!("dangling {k}"), b);
    }
    let mut b = good.clone();
    report_mut(&mut b)["object_refs"] = json!(["identity--0b7a1a42-5d3f-4b7e-9d3a-999999999999"]);
    add("dangling object_refs".into(), b);
    let mut b = good.clone();
    b["objects"][4]["target_ref"] = json!("identity--0b7a1a42-5d3f-4b7e-9d3a-999999999999");
    add("dangling target_ref".into(), b);
    // Content tocsin needs: no victim, no TLP, no report.
    let mut b = good.clone();
    report_mut(&mut b)["object_refs"] =
        json!(["threat-actor--0b7a1a42-5d3f-4b7e-9d3a-222222222222"]);
    add("no victim".into(), b);
    let mut b = good.clone();
    report_mut(&mut b)["object_marking_refs"] = json!([]);
    add("no TLP".into(), b);
    let mut b = good.clone();
    b["objects"].as_array_mut().unwrap().pop();
    add("no report".into(), b);
    let mut b = good.clone();
    report_mut(&mut b)["name"] = json!("");
    add("empty name".into(), b);
    let mut b = good.clone();
    report_mut(&mut b)["name"] = json!("x".repeat(5000));
    add("a title too long for a threat report".into(), b);
    // Huge strings and deep nesting.
    let mut b = good.clone();
    report_mut(&mut b)["description"] = json!("x".repeat(200_000));
    add("a huge string".into(), b);
    let mut deep = json!(1);
    for _ in 0..40 {
        deep = json!([deep]);
    }
    let mut b = good.clone();
    report_mut(&mut b)["x_deep"] = deep;
    add("deep nesting".into(), b);
    let mut b = good.clone();
    b["objects"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "bundle", "id": "bundle--0b7a1a42-5d3f-4b7e-9d3a-000000000001"}));
    add("a bundle inside".into(), b);
    let mut b = good.clone();
    b["objects"].as_array_mut().unwrap().push(json!(5));
    add("an object that is a number".into(), b);
    bad
}
