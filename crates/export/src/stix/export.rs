//! A case as a STIX 2.1 bundle: the report, the intended victims, the
//! threat actor and the place (with `targets` relationships), the
//! recipients and intermediaries of its warnings, and the duty-to-warn
//! record in tocsin's own property extension on the report.
//!
//! Everything comes from a case the caller may see (the service passes only
//! that). Sources and methods never leave: a report's source, its external
//! reference, its secret terms and what it was derived from are dropped,
//! and every free-text string that leaves passes the sanitiser the caller
//! gives ([`StixExport::withhold`]); what it finds is replaced by
//! `[withheld]`. An approved warning text is the one exception, because its
//! hash must stay its hash: it passed the sanitiser when it was approved,
//! and a finding now refuses the export instead.
//!
//! Ids are derived from the case id and the object's role (a UUID of
//! version 4 layout made from a SHA-256), so exporting the same case twice
//! names the same objects, and `modified` moves on when the case does.

use std::collections::BTreeMap;
use std::ops::Range;

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use tocsin_domain::Timestamp;
use tocsin_domain::case::Case;
use tocsin_domain::delivery::{Party, PartyKind};
use tocsin_domain::report::{ActorKind, TargetKind, ThreatReport, Tlp};

use super::region::region_of;
use super::tlp::marking_id;
use super::{EXTENSION_ID, StixError, extension_definition, project_identity};

/// What replaces a span the sanitiser finds.
pub const WITHHELD: &str = "[withheld]";

/// Who exports, and how free text is sanitised.
pub struct StixExport<'a> {
    /// The deployment's name, the producer identity's name.
    pub producer: &'a str,
    /// A stable id of the deployment (the producer identity's id is made from it).
    pub deployment_id: &'a str,
    /// The byte spans of `text` that must not leave (the deployment's
    /// sanitiser with the case's protected terms).
    pub withhold: &'a dyn Fn(&str) -> Vec<Range<usize>>,
}

/// The STIX 2.1 timestamp form: UTC, milliseconds, `Z`.
pub fn stix_time(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// A STIX id for `kind`, derived from `seed` (the same seed, the same id).
pub fn derived_id(kind: &str, seed: &str) -> String {
    let digest = Sha256::digest(format!("tocsin-stix/{kind}/{seed}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    let uuid = uuid::Builder::from_random_bytes(bytes).into_uuid();
    format!("{kind}--{uuid}")
}

/// `text` with every span the sanitiser finds replaced by [`WITHHELD`].
fn sanitised(e: &StixExport<'_>, text: &str) -> String {
    let mut spans = (e.withhold)(text);
    spans.retain(|r| {
        r.start < r.end
            && r.end <= text.len()
            && text.is_char_boundary(r.start)
            && text.is_char_boundary(r.end)
    });
    if spans.is_empty() {
        return text.to_owned();
    }
    spans.sort_by_key(|r| r.start);
    let mut out = String::with_capacity(text.len());
    // `at`: the end of the text consumed; `open`: whether it ends in a
    // withheld span (a span that overlaps or touches it extends it).
    let (mut at, mut open) = (0, false);
    for r in spans {
        if open && r.start <= at {
            at = at.max(r.end);
            continue;
        }
        out.push_str(&text[at..r.start]);
        out.push_str(WITHHELD);
        (at, open) = (r.end, true);
    }
    out.push_str(&text[at..]);
    out
}

/// `v` without nulls and empty arrays or objects, which STIX forbids
/// (an absent property says the same).
fn pruned(v: Value) -> Option<Value> {
    match v {
        Value::Null => None,
        Value::Array(a) => {
            let a: Vec<Value> = a.into_iter().filter_map(pruned).collect();
            (!a.is_empty()).then_some(Value::Array(a))
        }
        Value::Object(o) => {
            let o: Map<String, Value> = o
                .into_iter()
                .filter_map(|(k, v)| pruned(v).map(|v| (k, v)))
                .collect();
            (!o.is_empty()).then_some(Value::Object(o))
        }
        other => Some(other),
    }
}

/// Every string in `v` sanitised, in place.
fn sanitise_all(e: &StixExport<'_>, v: &mut Value) {
    match v {
        Value::String(s) => *s = sanitised(e, s),
        Value::Array(a) => a.iter_mut().for_each(|x| sanitise_all(e, x)),
        Value::Object(o) => o.values_mut().for_each(|x| sanitise_all(e, x)),
        _ => {}
    }
}

fn to_value<T: serde::Serialize>(what: &'static str, t: &T) -> Result<Value, StixError> {
    serde_json::to_value(t).map_err(|err| StixError::Internal(format!("{what}: {err}")))
}

/// A report as it may leave: without its source, external reference,
/// secret terms or the report it was derived from.
fn shareable_report(r: &ThreatReport) -> Result<Value, StixError> {
    let mut v = to_value("report", r)?;
    if let Some(o) = v.as_object_mut() {
        for k in [
            "source",
            "external_reference",
            "secret_terms",
            "derived_from",
        ] {
            o.remove(k);
        }
    }
    Ok(v)
}

/// A vocabulary value as STIX spells it (`organizational_gain` →
/// `organizational-gain`).
fn kebab(s: &str) -> String {
    s.replace('_', "-")
}

fn actor_type(k: ActorKind) -> &'static str {
    match k {
        ActorKind::State => "nation-state",
        ActorKind::TerroristGroup => "terrorist",
        ActorKind::CriminalGroup => "crime-syndicate",
        ActorKind::Individual => "lone-wolf",
        ActorKind::Unknown => "unknown",
    }
}

fn victim_class(k: TargetKind) -> &'static str {
    match k {
        TargetKind::Person => "individual",
        TargetKind::Group | TargetKind::Gathering => "group",
        TargetKind::Organisation => "organization",
        TargetKind::Place => "unknown",
    }
}

fn party_class(k: PartyKind) -> &'static str {
    match k {
        PartyKind::Victim => "individual",
        _ => "organization",
    }
}

/// The objects made so far, by id, in a stable order.
struct Objects {
    sdo: BTreeMap<String, Value>,
    order: Vec<String>,
}

impl Objects {
    fn add(&mut self, o: Value) -> String {
        let id = o["id"].as_str().unwrap_or_default().to_owned();
        if !self.sdo.contains_key(&id) {
            self.order.push(id.clone());
            self.sdo.insert(id.clone(), o);
        }
        id
    }
}

/// The common properties of an object tocsin makes.
fn base(
    kind: &str,
    id: String,
    producer: &str,
    created: &str,
    modified: &str,
    tlp: Tlp,
) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("type".into(), json!(kind));
    m.insert("spec_version".into(), json!("2.1"));
    m.insert("id".into(), json!(id));
    m.insert("created_by_ref".into(), json!(producer));
    m.insert("created".into(), json!(created));
    m.insert("modified".into(), json!(modified));
    m.insert("object_marking_refs".into(), json!([marking_id(tlp)]));
    m
}

/// The case as a STIX 2.1 bundle (a JSON value; serialise it as is).
pub fn case_bundle(case: &Case, e: &StixExport<'_>) -> Result<Value, StixError> {
    let Some(first) = case.reports.first() else {
        return Err(StixError::Internal("a case without a report".to_owned()));
    };
    let tlp = case
        .reports
        .iter()
        .map(|r| r.report.handling.tlp)
        .min()
        .unwrap_or(Tlp::Red);
    let created = stix_time(case.opened_at);
    let modified = stix_time(
        case.timeline
            .iter()
            .map(|t| t.at)
            .max()
            .unwrap_or(case.opened_at)
            .max(case.opened_at),
    );
    let seed = case.id.to_string();
    let producer_id = derived_id("identity", &format!("producer/{}", e.deployment_id));
    let mut objects = Objects {
        sdo: BTreeMap::new(),
        order: vec![],
    };
    let mut producer = Map::new();
    producer.insert("type".into(), json!("identity"));
    producer.insert("spec_version".into(), json!("2.1"));
    producer.insert("id".into(), json!(producer_id));
    producer.insert("created_by_ref".into(), json!(producer_id));
    producer.insert("created".into(), json!(created));
    producer.insert("modified".into(), json!(created));
    producer.insert("name".into(), json!(sanitised(e, e.producer)));
    producer.insert(
        "description".into(),
        json!("The tocsin deployment that exported this bundle."),
    );
    producer.insert("identity_class".into(), json!("organization"));
    producer.insert(
        "object_marking_refs".into(),
        json!([marking_id(Tlp::Clear)]),
    );
    objects.add(Value::Object(producer));

    let mk = |kind: &str, role: &str| derived_id(kind, &format!("{seed}/{role}"));
    let new =
        |kind: &str, role: &str| base(kind, mk(kind, role), &producer_id, &created, &modified, tlp);
    let mut refs: Vec<String> = Vec::new();
    let mut relationships: Vec<Value> = Vec::new();
    let mut record_reports = Vec::new();
    for (ri, entry) in case.reports.iter().enumerate() {
        let r = &entry.report;
        let mut victims = Vec::new();
        for (vi, v) in r.target.victims.iter().enumerate() {
            let mut o = new("identity", &format!("report/{ri}/victim/{vi}"));
            o.insert("name".into(), json!(sanitised(e, v.label())));
            let mut about = format!("Intended victim ({})", r.target.kind.as_str());
            if let Some(n) = &v.nationality {
                about.push_str(&format!("; nationality {n}"));
            }
            if let (Some(_), Some(d)) = (&v.name, &v.description) {
                about.push_str(&format!(": {}", sanitised(e, d.as_str())));
            }
            o.insert("description".into(), json!(about));
            o.insert("identity_class".into(), json!(victim_class(r.target.kind)));
            victims.push(objects.add(Value::Object(o)));
        }
        let place = match &r.location {
            Some(l) => {
                let mut o = new("location", &format!("report/{ri}/location"));
                o.insert("name".into(), json!(sanitised(e, l.description.as_str())));
                o.insert("country".into(), json!(l.country.to_string()));
                if let Some(region) = region_of(l.country.as_str()) {
                    o.insert("region".into(), json!(region));
                }
                if let Some(c) = &l.locality {
                    o.insert("city".into(), json!(sanitised(e, c.as_str())));
                }
                if let Some(p) = &l.point {
                    o.insert("latitude".into(), json!(p.latitude()));
                    o.insert("longitude".into(), json!(p.longitude()));
                    if let Some(km) = p.radius_km() {
                        o.insert("precision".into(), json!(km * 1000.0));
                    }
                }
                Some(objects.add(Value::Object(o)))
            }
            None => None,
        };
        if let Some(a) = &r.threat_actor {
            let mut o = new("threat-actor", &format!("actor/{}", a.name.as_str()));
            o.insert("name".into(), json!(sanitised(e, a.name.as_str())));
            o.insert(
                "description".into(),
                json!(format!("The threat actor of case {}.", case_label(case))),
            );
            o.insert("threat_actor_types".into(), json!([actor_type(a.kind)]));
            let p = &a.profile;
            if !p.roles.is_empty() {
                let roles: Vec<String> = p.roles.iter().map(|r| kebab(r.as_str())).collect();
                o.insert("roles".into(), json!(roles));
            }
            if let Some(x) = p.sophistication {
                o.insert("sophistication".into(), json!(kebab(x.as_str())));
            }
            if let Some(x) = p.resource_level {
                o.insert("resource_level".into(), json!(kebab(x.as_str())));
            }
            if let Some(x) = p.primary_motivation {
                o.insert("primary_motivation".into(), json!(kebab(x.as_str())));
            }
            let actor = objects.add(Value::Object(o));
            for target in victims.iter().chain(place.iter()) {
                let role = format!("targets/{actor}/{target}");
                let mut rel = new("relationship", &role);
                rel.insert("relationship_type".into(), json!("targets"));
                rel.insert("source_ref".into(), json!(actor));
                rel.insert("target_ref".into(), json!(target));
                let id = rel["id"].as_str().unwrap_or_default().to_owned();
                if !refs.contains(&id) {
                    refs.push(id);
                    relationships.push(Value::Object(rel));
                }
            }
        }
        let mut shared = shareable_report(r)?;
        shared["report_id"] = json!(entry.id.to_string());
        shared["victim_refs"] = json!(victims);
        if let Some(p) = &place {
            shared["location_ref"] = json!(p);
        }
        record_reports.push(shared);
    }

    // The warnings: recipients and intermediaries, the approved text.
    let mut warnings = Vec::new();
    for w in &case.warnings {
        let mut out = Map::new();
        out.insert("number".into(), json!(w.number.get()));
        out.insert("required".into(), json!(w.required));
        out.insert("status".into(), json!(w.status.as_str()));
        if let Some(route) = &w.route {
            let mut party_ref = |p: &Party| {
                let mut o = new(
                    "identity",
                    &format!("party/{}/{:?}", p.name.as_str(), p.kind),
                );
                o.insert("name".into(), json!(sanitised(e, p.name.as_str())));
                let mut about = format!("{:?}", p.kind).to_lowercase();
                if let Some(c) = &p.country {
                    about.push_str(&format!(" ({c})"));
                }
                o.insert("description".into(), json!(about));
                o.insert("identity_class".into(), json!(party_class(p.kind)));
                objects.add(Value::Object(o))
            };
            out.insert(
                "recipient_ref".into(),
                json!(party_ref(route.route.recipient())),
            );
            let mut via = Vec::new();
            for h in route.route.hops().iter().skip(1) {
                if h.from.kind != PartyKind::OwnElement {
                    via.push(party_ref(&h.from));
                }
            }
            out.insert("intermediary_refs".into(), json!(via));
            out.insert("route".into(), to_value("route", &route.route)?);
            out.insert("route_rationale".into(), json!(route.rationale.as_str()));
        }
        if let Some(a) = w.approved() {
            let findings = (e.withhold)(a.text.as_str());
            if !findings.is_empty() {
                return Err(StixError::ApprovedTextLeaks {
                    warning: w.number.get(),
                    version: a.version,
                });
            }
            out.insert(
                "approved".into(),
                json!({
                    "version": a.version,
                    "text": a.text.as_str(),
                    "sha256": a.sha256,
                    "language": a.language,
                    "approved_by": a.approved_by,
                    "approved_at": a.approved_at.map(stix_time),
                }),
            );
        }
        let mut rest = json!({
            "deliveries": to_value("deliveries", &w.deliveries)?,
            "responses": to_value("responses", &w.responses)?,
        });
        sanitise_all(e, &mut rest);
        if let Value::Object(m) = rest {
            out.extend(m);
        }
        warnings.push(Value::Object(out));
    }

    let mut record = json!({
        "case_number": case.number.map(|n| n.to_string()),
        "state": case.state,
        "title": case.title.as_str(),
        "reports": record_reports,
        "determinations": to_value("determinations", &case.determinations)?,
        "waivers": to_value("waivers", &case.waivers)?,
        "outcome": to_value("outcome", &case.outcome)?,
    });
    sanitise_all(e, &mut record);
    // A report's handling is its marking, not free text: it travels as it
    // is, so the recipient marks the report as its producer did (the
    // sanitiser withholds marking words from text).
    for (ri, entry) in case.reports.iter().enumerate() {
        if let Some(r) = record["reports"].get_mut(ri) {
            r["handling"] = to_value("handling", &entry.report.handling)?;
        }
    }
    let Value::Object(mut record) = record else {
        return Err(StixError::Internal(
            "the record is not an object".to_owned(),
        ));
    };
    record.insert("warnings".into(), json!(warnings));
    let Some(Value::Object(mut record)) = pruned(Value::Object(record)) else {
        return Err(StixError::Internal("the record is empty".to_owned()));
    };
    record.insert("extension_type".into(), json!("property-extension"));

    let mut report = new("report", "report");
    report.insert("name".into(), json!(sanitised(e, case.title.as_str())));
    report.insert(
        "description".into(),
        json!(sanitised(e, first.report.narrative.as_str())),
    );
    report.insert("report_types".into(), json!(["threat-report"]));
    report.insert("published".into(), json!(created));
    let mut object_refs: Vec<String> = objects.order.iter().skip(1).cloned().collect();
    object_refs.extend(refs);
    report.insert("object_refs".into(), json!(object_refs));
    if let Some(n) = case.number {
        report.insert(
            "external_references".into(),
            json!([{"source_name": "tocsin", "external_id": n.to_string()}]),
        );
    }
    report.insert(
        "extensions".into(),
        json!({ EXTENSION_ID: Value::Object(record) }),
    );

    let mut all = vec![project_identity(), extension_definition()];
    all.extend(objects.order.iter().filter_map(|id| objects.sdo.remove(id)));
    all.extend(relationships);
    all.push(Value::Object(report));
    Ok(json!({
        "type": "bundle",
        "id": derived_id("bundle", &format!("{seed}/{modified}")),
        "objects": all,
    }))
}

fn case_label(case: &Case) -> String {
    case.number
        .map(|n| n.to_string())
        .unwrap_or_else(|| case.id.to_string())
}

#[cfg(test)]
pub(crate) mod tests_support {
    pub(crate) use super::tests::kerman;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stix::tlp::check_markings;
    use tocsin_domain::actor::Actor;
    use tocsin_domain::case::{Case, Ctx, OpenCase};
    use tocsin_domain::event::RecordedEvent;
    use tocsin_domain::ids::{CaseId, ReportId};
    use tocsin_domain::policy::LoadedPolicy;
    use tocsin_domain::report::parse_report;
    use tocsin_domain::text::ActorName;

    const KERMAN: &str = include_str!("../../../tocsin/scenarios/kerman-report.json");

    pub(crate) fn kerman() -> Case {
        let report = parse_report(KERMAN).unwrap();
        let policy = LoadedPolicy::builtin();
        let actor = Actor::with_all_roles(ActorName::new("analyst.kim").unwrap());
        let ctx = Ctx {
            actor: &actor,
            now: report.received_at,
            policy: &policy,
            report_formats: &[],
        };
        let events = Case::open(
            OpenCase {
                case_id: CaseId::from_uuid(uuid::Uuid::from_u128(1)),
                report_id: ReportId::from_uuid(uuid::Uuid::from_u128(100)),
                report,
                owner: None,
            },
            ctx,
        )
        .unwrap();
        let recorded: Vec<RecordedEvent> = events
            .into_iter()
            .enumerate()
            .map(|(i, event)| RecordedEvent {
                seq: i as u64 + 1,
                recorded_at: ctx.now,
                actor: actor.name.clone(),
                event,
            })
            .collect();
        Case::from_events(&recorded).unwrap()
    }

    fn nothing(_: &str) -> Vec<Range<usize>> {
        vec![]
    }

    fn export(case: &Case, withhold: &dyn Fn(&str) -> Vec<Range<usize>>) -> Value {
        case_bundle(
            case,
            &StixExport {
                producer: "Test deployment",
                deployment_id: "test",
                withhold,
            },
        )
        .unwrap()
    }

    fn of_type<'a>(b: &'a Value, t: &str) -> Vec<&'a Value> {
        b["objects"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["type"] == t)
            .collect()
    }

    #[test]
    fn kerman_has_its_report_actor_victims_place_and_targets() {
        let b = export(&kerman(), &nothing);
        let report = of_type(&b, "report")[0];
        assert_eq!(report["report_types"], json!(["threat-report"]));
        let actors = of_type(&b, "threat-actor");
        assert_eq!(actors[0]["name"], "ISIS-Khorasan");
        assert_eq!(actors[0]["threat_actor_types"], json!(["terrorist"]));
        assert_eq!(actors[0]["roles"], json!(["agent", "director"]));
        assert_eq!(actors[0]["primary_motivation"], "ideology");
        let place = of_type(&b, "location")[0];
        assert_eq!(place["country"], "IR");
        assert_eq!(place["region"], "southern-asia");
        let rels = of_type(&b, "relationship");
        assert!(rels.iter().all(|r| r["relationship_type"] == "targets"));
        assert!(rels.iter().any(|r| r["target_ref"] == place["id"]));
        // Every reference resolves, and the report lists every object.
        let ids: Vec<&str> = b["objects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["id"].as_str().unwrap())
            .collect();
        for r in report["object_refs"].as_array().unwrap() {
            assert!(ids.contains(&r.as_str().unwrap()), "{r}");
        }
        assert_eq!(check_markings(&b), vec![]);
        // TLP:RED, the report's handling.
        assert_eq!(
            report["object_marking_refs"],
            json!(["marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"])
        );
    }

    #[test]
    fn sources_and_methods_never_leave() {
        let b = export(&kerman(), &nothing);
        let text = b.to_string();
        // The report's source id and external reference are dropped.
        assert!(!text.contains("CS-4471"), "{text}");
        assert!(!text.contains("TD-314"), "{text}");
        // And what the sanitiser finds in free text is withheld.
        let b = export(&kerman(), &|t: &str| {
            t.match_indices("Soleimani")
                .map(|(i, m)| i..i + m.len())
                .collect()
        });
        let text = b.to_string();
        assert!(!text.contains("Soleimani"), "{text}");
        assert!(text.contains(WITHHELD));
    }

    #[test]
    fn the_same_case_gives_the_same_bundle() {
        let a = export(&kerman(), &nothing);
        let b = export(&kerman(), &nothing);
        assert_eq!(a, b);
        let report = of_type(&a, "report")[0];
        assert!(report["id"].as_str().unwrap().starts_with("report--"));
        assert_eq!(report["created"], "2023-12-26T09:00:00.000Z");
    }

    #[test]
    fn the_record_has_no_empty_lists() {
        let b = export(&kerman(), &nothing);
        fn walk(v: &Value) {
            match v {
                Value::Array(a) => {
                    assert!(!a.is_empty());
                    a.iter().for_each(walk)
                }
                Value::Object(o) => o.values().for_each(walk),
                Value::Null => panic!("a null"),
                _ => {}
            }
        }
        walk(&b);
    }

    #[test]
    fn derived_ids_have_the_uuid_v4_layout() {
        let id = derived_id("identity", "x");
        let uuid = uuid::Uuid::parse_str(id.strip_prefix("identity--").unwrap()).unwrap();
        assert_eq!(uuid.get_version_num(), 4);
        assert_ne!(id, derived_id("identity", "y"));
    }

    #[test]
    fn withheld_spans_are_replaced_whole() {
        let e = StixExport {
            producer: "p",
            deployment_id: "d",
            withhold: &|_: &str| vec![0..2, 1..4, 100..200, 6..7],
        };
        assert_eq!(sanitised(&e, "abcdefgh"), "[withheld]ef[withheld]h");
    }
}
