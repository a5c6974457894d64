//! TLP markings in STIX 2.1: the TLP 2.0 marking definitions with the ids
//! FIRST and OASIS published (cti-stix-common-objects, `tlp-2.0`), the
//! TLP 1.0 ids STIX 2.1 predefines (accepted on input, WHITE read as
//! CLEAR), and a check that every TLP marking in a bundle uses the
//! published id for its level.
//!
//! The reference validator does not check these ids, and the peers' trackers
//! show what a wrong one costs: a bundle the other side silently drops.

use serde_json::{Value, json};
use tocsin_domain::report::Tlp;

/// The extension every TLP 2.0 marking definition carries.
pub const TLP_2_EXTENSION: &str = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";

/// The `created` of every published TLP 2.0 marking definition.
pub const TLP_2_CREATED: &str = "2022-10-01T00:00:00.000Z";

/// One TLP level as STIX knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TlpMarking {
    pub tlp: Tlp,
    /// The published marking definition id.
    pub id: &'static str,
    /// The value of the extension's `tlp_2_0` property (TLP 2.0), or of
    /// `definition.tlp` (TLP 1.0).
    pub value: &'static str,
    /// TLP 2.0 (`true`) or the TLP 1.0 definitions STIX 2.1 predefines.
    pub version_2: bool,
}

/// Every marking definition tocsin knows: TLP 2.0 first, then TLP 1.0.
pub const MARKINGS: &[TlpMarking] = &[
    TlpMarking {
        tlp: Tlp::Clear,
        id: "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
        value: "clear",
        version_2: true,
    },
    TlpMarking {
        tlp: Tlp::Green,
        id: "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
        value: "green",
        version_2: true,
    },
    TlpMarking {
        tlp: Tlp::Amber,
        id: "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
        value: "amber",
        version_2: true,
    },
    TlpMarking {
        tlp: Tlp::AmberStrict,
        id: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
        value: "amber+strict",
        version_2: true,
    },
    TlpMarking {
        tlp: Tlp::Red,
        id: "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
        value: "red",
        version_2: true,
    },
    TlpMarking {
        tlp: Tlp::Clear,
        id: "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
        value: "white",
        version_2: false,
    },
    TlpMarking {
        tlp: Tlp::Green,
        id: "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
        value: "green",
        version_2: false,
    },
    TlpMarking {
        tlp: Tlp::Amber,
        id: "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
        value: "amber",
        version_2: false,
    },
    TlpMarking {
        tlp: Tlp::Red,
        id: "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
        value: "red",
        version_2: false,
    },
];

/// The TLP 2.0 marking definition id of a level (what tocsin writes).
pub fn marking_id(tlp: Tlp) -> &'static str {
    MARKINGS
        .iter()
        .find(|m| m.version_2 && m.tlp == tlp)
        .map(|m| m.id)
        .unwrap_or(MARKINGS[4].id)
}

/// The level a marking definition id stands for: a TLP 2.0 id, or a TLP
/// 1.0 one (WHITE is CLEAR). `None` for any other marking.
pub fn tlp_of(id: &str) -> Option<Tlp> {
    MARKINGS.iter().find(|m| m.id == id).map(|m| m.tlp)
}

/// The published TLP 2.0 marking definition object of a level, exactly.
pub fn marking_definition(tlp: Tlp) -> Value {
    let m = MARKINGS
        .iter()
        .find(|m| m.version_2 && m.tlp == tlp)
        .unwrap_or(&MARKINGS[4]);
    json!({
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": m.id,
        "created": TLP_2_CREATED,
        "name": tlp.as_str(),
        "extensions": {
            TLP_2_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": m.value}
        }
    })
}

/// A TLP marking that does not match the published definitions.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{object}: {path}: {reason}")]
pub struct MarkingProblem {
    /// The id of the object where it was found.
    pub object: String,
    /// Where in the object (`object_marking_refs[0]`, `extensions`).
    pub path: String,
    pub reason: String,
}

/// Checks every TLP marking of a bundle against the published table:
///
/// * a `marking-definition` that says it is TLP (a `TLP:` name, the TLP 2.0
///   extension, or a TLP 1.0 `definition`) must have the published id of
///   its level, and that level's value;
/// * every `object_marking_refs` entry and granular `marking_ref` that is
///   not a marking definition in the bundle must be a published TLP id
///   (an unknown reference cannot be checked and is reported).
pub fn check_markings(bundle: &Value) -> Vec<MarkingProblem> {
    let mut problems = Vec::new();
    let objects = bundle
        .get("objects")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let mut defined: Vec<&str> = Vec::new();
    for o in objects {
        if o.get("type").and_then(Value::as_str) != Some("marking-definition") {
            continue;
        }
        let id = o.get("id").and_then(Value::as_str).unwrap_or("");
        defined.push(id);
        if let Some(p) = check_definition(o, id) {
            problems.push(p);
        }
    }
    for o in objects {
        let id = o.get("id").and_then(Value::as_str).unwrap_or("(no id)");
        if let Some(refs) = o.get("object_marking_refs").and_then(Value::as_array) {
            for (i, r) in refs.iter().enumerate() {
                check_ref(
                    r,
                    &defined,
                    id,
                    format!("object_marking_refs[{i}]"),
                    &mut problems,
                );
            }
        }
        if let Some(gm) = o.get("granular_markings").and_then(Value::as_array) {
            for (i, g) in gm.iter().enumerate() {
                if let Some(r) = g.get("marking_ref") {
                    check_ref(
                        r,
                        &defined,
                        id,
                        format!("granular_markings[{i}].marking_ref"),
                        &mut problems,
                    );
                }
            }
        }
    }
    problems
}

fn check_ref(
    r: &Value,
    defined: &[&str],
    object: &str,
    path: String,
    problems: &mut Vec<MarkingProblem>,
) {
    let Some(r) = r.as_str() else {
        problems.push(MarkingProblem {
            object: object.to_owned(),
            path,
            reason: "a marking reference must be a string".to_owned(),
        });
        return;
    };
    if tlp_of(r).is_none() && !defined.contains(&r) {
        problems.push(MarkingProblem {
            object: object.to_owned(),
            path,
            reason: format!(
                "{r} is neither a published TLP marking definition nor defined in the bundle"
            ),
        });
    }
}

/// What a marking definition claims to be, if TLP: (level name, where it
/// says so).
fn claimed_tlp(o: &Value) -> Option<(String, bool)> {
    if let Some(v) = o
        .get("extensions")
        .and_then(|e| e.get(TLP_2_EXTENSION))
        .and_then(|e| e.get("tlp_2_0"))
    {
        return Some((v.as_str().unwrap_or("").to_ascii_lowercase(), true));
    }
    if let Some(v) = o.get("definition").and_then(|d| d.get("tlp")) {
        return Some((v.as_str().unwrap_or("").to_ascii_lowercase(), false));
    }
    let name = o.get("name").and_then(Value::as_str)?;
    let level = name.strip_prefix("TLP:")?;
    Some((level.to_ascii_lowercase(), true))
}

fn check_definition(o: &Value, id: &str) -> Option<MarkingProblem> {
    let (value, version_2) = claimed_tlp(o)?;
    let problem = |reason: String| MarkingProblem {
        object: id.to_owned(),
        path: "id".to_owned(),
        reason,
    };
    let expected = MARKINGS
        .iter()
        .find(|m| m.value == value && m.version_2 == version_2)
        .or_else(|| MARKINGS.iter().find(|m| m.value == value));
    match expected {
        None => Some(problem(format!("TLP level '{value}' is not a TLP level"))),
        Some(m) if m.id != id => Some(problem(format!(
            "TLP:{} must have the published id {}",
            value.to_ascii_uppercase(),
            m.id
        ))),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_level_has_its_published_tlp_2_id() {
        assert_eq!(
            marking_id(Tlp::AmberStrict),
            "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"
        );
        assert_eq!(
            marking_id(Tlp::Clear),
            "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"
        );
        for tlp in [
            Tlp::Clear,
            Tlp::Green,
            Tlp::Amber,
            Tlp::AmberStrict,
            Tlp::Red,
        ] {
            assert_eq!(tlp_of(marking_id(tlp)), Some(tlp));
            let bundle = json!({"objects": [marking_definition(tlp)]});
            assert_eq!(check_markings(&bundle), vec![]);
        }
    }

    #[test]
    fn tlp_1_white_reads_as_clear() {
        assert_eq!(
            tlp_of("marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"),
            Some(Tlp::Clear)
        );
        assert_eq!(
            tlp_of("marking-definition--00000000-0000-4000-8000-000000000000"),
            None
        );
    }

    #[test]
    fn a_wrong_amber_strict_id_is_caught() {
        // An id one peer ships for AMBER+STRICT, which is not the published one.
        let mut m = marking_definition(Tlp::AmberStrict);
        m["id"] = json!("marking-definition--826578e1-40a3-4b26-bf02-f8e3c5d7f8a8");
        let r = json!({"type": "report", "id": "report--1",
            "object_marking_refs": ["marking-definition--826578e1-40a3-4b26-bf02-f8e3c5d7f8a8"]});
        let problems = check_markings(&json!({"objects": [m, r]}));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].reason.contains("939a9414"), "{}", problems[0]);
    }

    #[test]
    fn an_unknown_reference_is_reported() {
        let r = json!({"type": "report", "id": "report--1",
            "object_marking_refs": ["marking-definition--826578e1-40a3-4b26-bf02-f8e3c5d7f8a8"]});
        let problems = check_markings(&json!({"objects": [r]}));
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].path, "object_marking_refs[0]");
    }
}
