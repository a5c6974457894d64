//! A STIX 2.1 bundle read into threat reports: every `report` object of
//! the bundle becomes one [`Imported`] report, or the whole bundle is
//! refused with the object id, the path and the reason ([`ImportError`]).
//! Pure: the caller gives the time of receipt and decides what to write.
//!
//! What is read:
//!
//! * `name` and `description` → the title and the narrative;
//! * the `threat-actor` or `intrusion-set` among the report's objects →
//!   the threat actor (`threat_actor_types` → its kind);
//! * the `identity` and `location` objects a `targets` relationship of the
//!   report points at → the intended victims and the place (without a
//!   `targets`, the report's own identities other than producers);
//! * `created_by_ref` → the producer, which the caller maps to an element;
//! * `object_marking_refs` → the TLP (TLP 2.0 ids, and TLP 1.0 ids with
//!   WHITE read as CLEAR); a report with no TLP marking is refused.
//!
//! What STIX has no place for (harm types, the Admiralty grading, the
//! specificity, the threat window) is read from documented custom
//! properties of the report (`x_tocsin_harm_types`, `x_tocsin_grading`,
//! `x_tocsin_specificity`, `x_tocsin_window`, each in the intake
//! document's form) and otherwise left as `None`: nothing is invented.
//! A bundle tocsin exported carries the whole shared report in its
//! duty-to-warn extension, and is read from there, so a case exported and
//! imported again gives an equal report.

use std::collections::{BTreeMap, BTreeSet};

use serde::de::DeserializeOwned;
use serde_json::Value;
use tocsin_domain::geo::{CountryCode, Location};
use tocsin_domain::grading::{Grading, Specificity};
use tocsin_domain::report::{
    ActorKind, HarmTypes, NonEmptyVec, Target, TargetKind, ThreatActor, ThreatReport, Tlp, Victim,
    parse_report,
};
use tocsin_domain::text::{Name, Narrative, Note, Title};
use tocsin_domain::time::ThreatWindow;

use super::EXTENSION_ID;
use super::tlp::tlp_of;

/// Bounds on what a bundle may hold.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_objects: usize,
    /// Longest string, in bytes.
    pub max_string: usize,
    /// Deepest nesting of arrays and objects.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_objects: 10_000,
            max_string: 100_000,
            max_depth: 24,
        }
    }
}

/// Why a bundle was refused: where, and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}{path}: {reason}", object.as_ref().map(|o| format!("{o}: ")).unwrap_or_default())]
pub struct ImportError {
    /// The STIX id of the object at fault (none for the bundle itself).
    pub object: Option<String>,
    /// The JSON path inside it.
    pub path: String,
    pub reason: String,
}

fn err(object: Option<&str>, path: impl Into<String>, reason: impl Into<String>) -> ImportError {
    ImportError {
        object: object.map(str::to_owned),
        path: path.into(),
        reason: reason.into(),
    }
}

/// One `report` of the bundle as a threat report, with what it lacks.
#[derive(Clone, Debug, PartialEq)]
pub struct Imported {
    /// The report's STIX id and `modified` (or `created`): re-importing
    /// the same pair is the same import.
    pub stix_id: String,
    pub modified: String,
    /// The producer (`created_by_ref`), for the caller's partner table.
    pub created_by: Option<String>,
    pub report: Draft,
}

/// A threat report as far as the bundle says it.
#[derive(Clone, Debug, PartialEq)]
pub enum Draft {
    /// A report tocsin exported, whole, as its exporter shared it.
    Shared(Box<ThreatReport>),
    /// Read from STIX objects: the parts STIX does not carry may be absent.
    Read(Box<ReadReport>),
}

/// What a STIX report says, in tocsin's terms.
#[derive(Clone, Debug, PartialEq)]
pub struct ReadReport {
    pub title: Title,
    pub narrative: Narrative,
    pub target: Target,
    pub threat_actor: Option<ThreatActor>,
    pub tlp: Tlp,
    pub harm_types: Option<HarmTypes>,
    pub grading: Option<Grading>,
    pub specificity: Option<Specificity>,
    pub window: Option<ThreatWindow>,
    /// The place, as text.
    pub place: Option<String>,
    /// The place as a tocsin location, when the STIX location names a
    /// country tocsin knows (its text as the description, its city as the
    /// locality).
    pub location: Option<Location>,
}

impl ReadReport {
    /// The parts an analyst must still give before this is a threat report.
    pub fn missing(&self) -> Vec<&'static str> {
        let mut m = vec![];
        if self.harm_types.is_none() {
            m.push("harm_types");
        }
        if self.grading.is_none() {
            m.push("grading");
        }
        if self.specificity.is_none() {
            m.push("specificity");
        }
        m
    }
}

/// Reads a bundle (JSON text).
pub fn read_bundle(json: &str, limits: Limits) -> Result<Vec<Imported>, ImportError> {
    let v: Value = serde_json::from_str(json)
        .map_err(|e| err(None, ".", format!("not a JSON document: {e}")))?;
    read_bundle_value(&v, limits)
}

/// Reads a bundle already parsed as JSON.
pub fn read_bundle_value(v: &Value, limits: Limits) -> Result<Vec<Imported>, ImportError> {
    check_shape(v, limits, &mut String::from("$"), 0)?;
    let b = v
        .as_object()
        .ok_or_else(|| err(None, "$", "a bundle is a JSON object"))?;
    if b.get("type").and_then(Value::as_str) != Some("bundle") {
        return Err(err(None, "$.type", "must be \"bundle\""));
    }
    let bundle_id = b
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| err(None, "$.id", "a bundle needs an id"))?;
    check_id(None, "$.id", bundle_id, Some("bundle"))?;
    let objects = match b.get("objects") {
        Some(Value::Array(a)) if !a.is_empty() => a,
        Some(Value::Array(_)) | None => {
            return Err(err(None, "$.objects", "the bundle holds no objects"));
        }
        Some(_) => return Err(err(None, "$.objects", "must be an array of objects")),
    };
    if objects.len() > limits.max_objects {
        return Err(err(
            None,
            "$.objects",
            format!(
                "{} objects; at most {} are read",
                objects.len(),
                limits.max_objects
            ),
        ));
    }
    // The latest version of each object.
    let mut by_id: BTreeMap<&str, &serde_json::Map<String, Value>> = BTreeMap::new();
    for (i, o) in objects.iter().enumerate() {
        let path = format!("$.objects[{i}]");
        let o = o
            .as_object()
            .ok_or_else(|| err(None, &path, "must be a JSON object"))?;
        let kind = o
            .get("type")
            .and_then(Value::as_str)
            .ok_or_else(|| err(None, format!("{path}.type"), "every object needs a type"))?;
        let id = o
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| err(None, format!("{path}.id"), "every object needs an id"))?;
        check_id(Some(id), "id", id, Some(kind))?;
        check_common(id, kind, o)?;
        match by_id.get(id) {
            Some(old) if version(old) >= version(o) => {}
            _ => {
                by_id.insert(id, o);
            }
        }
    }
    // Every reference resolves (markings may name a published TLP id).
    for (id, o) in &by_id {
        for (path, r) in refs(o) {
            let known = by_id.contains_key(r.as_str())
                || (path.contains("marking") && tlp_of(&r).is_some());
            if !known {
                return Err(err(
                    Some(id),
                    path,
                    format!("{r} is not in the bundle (a dangling reference)"),
                ));
            }
        }
    }
    let mut out = Vec::new();
    for (id, o) in &by_id {
        if o.get("type").and_then(Value::as_str) == Some("report") {
            out.push(read_report(id, o, &by_id)?);
        }
    }
    if out.is_empty() {
        return Err(err(None, "$.objects", "the bundle holds no report object"));
    }
    Ok(out)
}

/// Sizes, depth and string lengths, before anything is read.
fn check_shape(
    v: &Value,
    limits: Limits,
    path: &mut String,
    depth: usize,
) -> Result<(), ImportError> {
    if depth > limits.max_depth {
        return Err(err(
            None,
            path.clone(),
            format!("nested deeper than {} levels", limits.max_depth),
        ));
    }
    match v {
        Value::String(s) if s.len() > limits.max_string => Err(err(
            None,
            path.clone(),
            format!(
                "a string of {} bytes; at most {} are read",
                s.len(),
                limits.max_string
            ),
        )),
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                check_shape(x, limits, path, depth + 1)?;
                path.truncate(len);
            }
            Ok(())
        }
        Value::Object(o) => {
            for (k, x) in o {
                let len = path.len();
                path.push('.');
                path.push_str(k);
                check_shape(x, limits, path, depth + 1)?;
                path.truncate(len);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// `kind--UUID`, the kind matching the object's type.
fn check_id(
    object: Option<&str>,
    path: &str,
    id: &str,
    kind: Option<&str>,
) -> Result<(), ImportError> {
    let Some((prefix, uuid)) = id.split_once("--") else {
        return Err(err(
            object,
            path,
            format!("'{id}' is not a STIX id (type--UUID)"),
        ));
    };
    if uuid::Uuid::parse_str(uuid).is_err() || uuid.len() != 36 {
        return Err(err(object, path, format!("'{id}': '{uuid}' is not a UUID")));
    }
    if let Some(k) = kind
        && prefix != k
    {
        return Err(err(
            object,
            path,
            format!("the id '{id}' does not name a {k}"),
        ));
    }
    Ok(())
}

/// What every SDO and SRO must have.
fn check_common(
    id: &str,
    kind: &str,
    o: &serde_json::Map<String, Value>,
) -> Result<(), ImportError> {
    if kind == "bundle" {
        return Err(err(Some(id), "type", "a bundle inside a bundle"));
    }
    if !kind
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        || kind.len() < 3
    {
        return Err(err(
            Some(id),
            "type",
            format!("'{kind}' is not a STIX type name"),
        ));
    }
    match o.get("spec_version").and_then(Value::as_str) {
        Some("2.1") => {}
        Some(v) => {
            return Err(err(
                Some(id),
                "spec_version",
                format!("STIX {v} is not supported; tocsin reads STIX 2.1"),
            ));
        }
        None if kind == "marking-definition" => {}
        None => return Err(err(Some(id), "spec_version", "required (\"2.1\")")),
    }
    for field in ["created", "modified"] {
        if kind == "marking-definition" && field == "modified" {
            continue;
        }
        match o.get(field) {
            Some(Value::String(t)) => {
                t.parse::<tocsin_domain::Timestamp>().map_err(|e| {
                    err(
                        Some(id),
                        field,
                        format!("'{t}' is not an RFC 3339 timestamp: {e}"),
                    )
                })?;
            }
            Some(_) => return Err(err(Some(id), field, "must be a timestamp string")),
            None if kind.starts_with("x-") => {}
            None if is_sco(kind) => {}
            None => return Err(err(Some(id), field, "required")),
        }
    }
    // The properties tocsin reads must have their types.
    for k in [
        "name",
        "description",
        "published",
        "country",
        "region",
        "city",
        "street_address",
        "administrative_area",
        "identity_class",
        "relationship_type",
        "created_by_ref",
        "source_ref",
        "target_ref",
    ] {
        if let Some(v) = o.get(k)
            && !v.is_string()
        {
            return Err(err(Some(id), k, "must be a string"));
        }
    }
    for k in [
        "object_refs",
        "object_marking_refs",
        "threat_actor_types",
        "report_types",
    ] {
        match o.get(k) {
            Some(Value::Array(a)) if a.iter().all(Value::is_string) => {}
            Some(_) => return Err(err(Some(id), k, "must be a list of strings")),
            None => {}
        }
    }
    let need = |field: &str| -> Result<(), ImportError> {
        match o.get(field) {
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(()),
            Some(Value::String(_)) => Err(err(Some(id), field, "must not be empty")),
            Some(_) => Err(err(Some(id), field, "must be a string")),
            None => Err(err(Some(id), field, "required")),
        }
    };
    match kind {
        "report" => {
            need("name")?;
            need("published")?;
            match o.get("object_refs") {
                Some(Value::Array(a)) if !a.is_empty() => {}
                _ => {
                    return Err(err(
                        Some(id),
                        "object_refs",
                        "a report needs a non-empty list of the objects it is about",
                    ));
                }
            }
        }
        "identity" | "threat-actor" | "intrusion-set" => need("name")?,
        "location" => {
            let has = |k: &str| o.get(k).is_some();
            if !(has("region") || has("country") || has("latitude") && has("longitude")) {
                return Err(err(
                    Some(id),
                    "region",
                    "a location needs a region, a country, or a latitude and longitude",
                ));
            }
        }
        "relationship" => {
            need("relationship_type")?;
            need("source_ref")?;
            need("target_ref")?;
        }
        _ => {}
    }
    Ok(())
}

/// Cyber-observable objects (which have no created/modified).
fn is_sco(kind: &str) -> bool {
    matches!(
        kind,
        "artifact"
            | "autonomous-system"
            | "directory"
            | "domain-name"
            | "email-addr"
            | "email-message"
            | "file"
            | "ipv4-addr"
            | "ipv6-addr"
            | "mac-addr"
            | "mutex"
            | "network-traffic"
            | "process"
            | "software"
            | "url"
            | "user-account"
            | "windows-registry-key"
            | "x509-certificate"
    )
}

fn version(o: &serde_json::Map<String, Value>) -> String {
    o.get("modified")
        .or_else(|| o.get("created"))
        .and_then(Value::as_str)
        .and_then(|t| t.parse::<tocsin_domain::Timestamp>().ok())
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// Every reference of an object: (path, id).
fn refs(o: &serde_json::Map<String, Value>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (k, v) in o {
        match v {
            Value::String(s) if k.ends_with("_ref") => out.push((k.clone(), s.clone())),
            Value::Array(a) if k.ends_with("_refs") => {
                for (i, x) in a.iter().enumerate() {
                    if let Some(s) = x.as_str() {
                        out.push((format!("{k}[{i}]"), s.to_owned()));
                    }
                }
            }
            _ => {}
        }
    }
    if let Some(Value::Array(gm)) = o.get("granular_markings") {
        for (i, g) in gm.iter().enumerate() {
            if let Some(s) = g.get("marking_ref").and_then(Value::as_str) {
                out.push((format!("granular_markings[{i}].marking_ref"), s.to_owned()));
            }
        }
    }
    out
}

fn text_of<T>(
    id: &str,
    path: &str,
    s: &str,
    make: impl Fn(String) -> Result<T, tocsin_domain::text::TextError>,
) -> Result<T, ImportError> {
    make(s.to_owned()).map_err(|e| err(Some(id), path, e.to_string()))
}

fn custom<T: DeserializeOwned>(
    id: &str,
    o: &serde_json::Map<String, Value>,
    key: &str,
) -> Result<Option<T>, ImportError> {
    match o.get(key) {
        None => Ok(None),
        Some(v) => serde_json::from_value(v.clone())
            .map(Some)
            .map_err(|e| err(Some(id), key, e.to_string())),
    }
}

fn actor_kind(types: Option<&Value>) -> ActorKind {
    let types: Vec<&str> = types
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let has = |t: &str| types.contains(&t);
    if has("nation-state") {
        ActorKind::State
    } else if has("terrorist") {
        ActorKind::TerroristGroup
    } else if has("crime-syndicate") || has("criminal") {
        ActorKind::CriminalGroup
    } else if has("lone-wolf") || has("insider-disgruntled") || has("insider-accidental") {
        ActorKind::Individual
    } else {
        ActorKind::Unknown
    }
}

fn read_report(
    id: &str,
    o: &serde_json::Map<String, Value>,
    all: &BTreeMap<&str, &serde_json::Map<String, Value>>,
) -> Result<Imported, ImportError> {
    let modified = version(o);
    let created_by = o
        .get("created_by_ref")
        .and_then(Value::as_str)
        .map(str::to_owned);
    // A report tocsin exported: the shared report, whole.
    if let Some(record) = o.get("extensions").and_then(|e| e.get(EXTENSION_ID)) {
        let shared = record
            .get("reports")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .ok_or_else(|| {
                err(
                    Some(id),
                    format!("extensions.{EXTENSION_ID}.reports"),
                    "required",
                )
            })?;
        let mut shared = shared.clone();
        if let Some(m) = shared.as_object_mut() {
            for k in ["report_id", "victim_refs", "location_ref"] {
                m.remove(k);
            }
        }
        let report = parse_report(&shared.to_string()).map_err(|e| {
            err(
                Some(id),
                format!("extensions.{EXTENSION_ID}.reports[0].{}", e.path),
                e.message,
            )
        })?;
        return Ok(Imported {
            stix_id: id.to_owned(),
            modified,
            created_by,
            report: Draft::Shared(Box::new(report)),
        });
    }
    let name = o.get("name").and_then(Value::as_str).unwrap_or_default();
    let title = text_of(id, "name", name, Title::new)?;
    let description = o
        .get("description")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            err(
                Some(id),
                "description",
                "required: it becomes the threat report's narrative",
            )
        })?;
    let narrative = text_of(id, "description", description, Narrative::new)?;
    let tlp = o
        .get("object_marking_refs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter_map(tlp_of)
        .min()
        .ok_or_else(|| {
            err(
                Some(id),
                "object_marking_refs",
                "no TLP marking: tocsin will not guess how a report may be shared",
            )
        })?;
    let members: BTreeSet<&str> = o
        .get("object_refs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let kind_of = |r: &str| {
        all.get(r)
            .and_then(|x| x.get("type"))
            .and_then(Value::as_str)
    };
    let actor_id = members
        .iter()
        .find(|r| matches!(kind_of(r), Some("threat-actor" | "intrusion-set")))
        .copied();
    let threat_actor = match actor_id {
        Some(a) => {
            let x = all[a];
            let name = x.get("name").and_then(Value::as_str).unwrap_or_default();
            Some(ThreatActor {
                name: text_of(a, "name", name, Name::new)?,
                kind: actor_kind(x.get("threat_actor_types")),
                country: None,
                profile: Default::default(),
            })
        }
        None => None,
    };
    // What the report's `targets` relationships point at.
    let targeted: Vec<&str> = members
        .iter()
        .filter(|r| kind_of(r) == Some("relationship"))
        .filter_map(|r| all.get(*r))
        .filter(|rel| rel.get("relationship_type").and_then(Value::as_str) == Some("targets"))
        .filter_map(|rel| rel.get("target_ref").and_then(Value::as_str))
        .collect();
    let producers: BTreeSet<&str> = all
        .values()
        .filter_map(|x| x.get("created_by_ref").and_then(Value::as_str))
        .collect();
    let identities: Vec<&str> = if targeted.iter().any(|t| kind_of(t) == Some("identity")) {
        targeted
            .iter()
            .copied()
            .filter(|t| kind_of(t) == Some("identity"))
            .collect()
    } else {
        members
            .iter()
            .copied()
            .filter(|r| kind_of(r) == Some("identity") && !producers.contains(r))
            .collect()
    };
    let mut victims = Vec::new();
    let mut classes = BTreeSet::new();
    for v in &identities {
        let x = all[v];
        let name = x.get("name").and_then(Value::as_str).unwrap_or_default();
        let mut victim = Victim::named(text_of(v, "name", name, Name::new)?);
        if let Some(d) = x.get("description").and_then(Value::as_str) {
            victim.description = Some(text_of(v, "description", d, Note::new)?);
        }
        classes.insert(
            x.get("identity_class")
                .and_then(Value::as_str)
                .unwrap_or("unknown"),
        );
        victims.push(victim);
    }
    let Ok(victims) = NonEmptyVec::new(victims) else {
        return Err(err(
            Some(id),
            "object_refs",
            "no intended victim: the report needs an identity it is about (a 'targets' relationship to it, or the identity among its objects)",
        ));
    };
    let kind = if classes.len() == 1 {
        match classes.iter().next().copied() {
            Some("individual") => TargetKind::Person,
            Some("organization") => TargetKind::Organisation,
            _ => TargetKind::Group,
        }
    } else {
        TargetKind::Group
    };
    let place_obj = targeted
        .iter()
        .chain(members.iter())
        .find(|r| kind_of(r) == Some("location"))
        .map(|r| all[r]);
    let place = place_obj
        .map(|x| {
            let mut parts: Vec<String> = vec![];
            for k in [
                "name",
                "street_address",
                "city",
                "administrative_area",
                "country",
            ] {
                if let Some(s) = x.get(k).and_then(Value::as_str) {
                    parts.push(s.to_owned());
                }
            }
            parts.join(", ")
        })
        .filter(|s| !s.is_empty());
    let location = match (place_obj, &place) {
        (Some(x), Some(text)) => {
            let country = x
                .get("country")
                .and_then(Value::as_str)
                .and_then(|c| CountryCode::new(&c.to_ascii_uppercase()).ok());
            let description = Name::new(text.clone()).ok();
            let locality = x
                .get("city")
                .and_then(Value::as_str)
                .and_then(|c| Name::new(c.to_owned()).ok());
            match (country, description) {
                (Some(country), Some(description)) => Some(Location {
                    description,
                    country,
                    locality,
                    point: None,
                }),
                _ => None,
            }
        }
        _ => None,
    };
    Ok(Imported {
        stix_id: id.to_owned(),
        modified,
        created_by,
        report: Draft::Read(Box::new(ReadReport {
            title,
            narrative,
            target: Target { kind, victims },
            threat_actor,
            tlp,
            harm_types: custom(id, o, "x_tocsin_harm_types")?,
            grading: custom(id, o, "x_tocsin_grading")?,
            specificity: custom(id, o, "x_tocsin_specificity")?,
            window: custom(id, o, "x_tocsin_window")?,
            place,
            location,
        })),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use super::super::testing::{bad_bundles, partner_bundle, report_mut};

    #[test]
    fn a_partner_report_becomes_a_draft_that_needs_assessment() {
        let got = read_bundle_value(&partner_bundle(), Limits::default()).unwrap();
        assert_eq!(got.len(), 1);
        let Draft::Read(r) = &got[0].report else {
            panic!("not read from STIX objects")
        };
        assert_eq!(r.title.as_str(), "Plot against a journalist");
        assert_eq!(r.tlp, Tlp::Amber);
        assert_eq!(r.target.kind, TargetKind::Person);
        assert_eq!(r.target.victims.first().label(), "Jane Doe");
        let actor = r.threat_actor.as_ref().unwrap();
        assert_eq!(
            (actor.name.as_str(), actor.kind),
            ("Example Cell", ActorKind::TerroristGroup)
        );
        assert_eq!(r.place.as_deref(), Some("Harbour Hotel, Valletta, MT"));
        let at = r.location.as_ref().unwrap();
        assert_eq!(
            (
                at.country.as_str(),
                at.locality.as_ref().map(|l| l.as_str())
            ),
            ("MT", Some("Valletta"))
        );
        assert_eq!(r.missing(), vec!["harm_types", "grading", "specificity"]);
        assert_eq!(
            got[0].created_by.as_deref(),
            Some("identity--0b7a1a42-5d3f-4b7e-9d3a-111111111111")
        );
        assert_eq!(got[0].modified, "2024-03-01T10:00:00Z");
    }

    #[test]
    fn custom_properties_supply_what_stix_lacks() {
        let mut b = partner_bundle();
        let report = b["objects"].as_array_mut().unwrap().last_mut().unwrap();
        report["x_tocsin_harm_types"] = json!(["intentional_killing"]);
        report["x_tocsin_grading"] =
            json!({"grade": "B2", "assessor": "partner.analyst", "reason": "Reliable partner."});
        report["x_tocsin_specificity"] =
            json!({"who": "present", "where": "present", "when": "absent", "how": "partial"});
        let got = read_bundle_value(&b, Limits::default()).unwrap();
        let Draft::Read(r) = &got[0].report else {
            panic!()
        };
        assert!(r.missing().is_empty());
        // A custom property in the wrong form is refused, with its path.
        report_mut(&mut b)["x_tocsin_grading"] = json!({"grade": "Z9"});
        let e = read_bundle_value(&b, Limits::default()).unwrap_err();
        assert_eq!(e.path, "x_tocsin_grading");
    }

    #[test]
    fn a_bundle_tocsin_exported_reimports_into_an_equal_report() {
        use crate::stix::{StixExport, case_bundle};
        let case = crate::stix::export::tests_support::kerman();
        let b = case_bundle(
            &case,
            &StixExport {
                producer: "p",
                deployment_id: "d",
                withhold: &|_: &str| vec![],
            },
        )
        .unwrap();
        let got = read_bundle_value(&b, Limits::default()).unwrap();
        let Draft::Shared(r) = &got[0].report else {
            panic!("not read from the extension")
        };
        let mut expected = case.reports[0].report.clone();
        expected.source = None;
        expected.external_reference = None;
        expected.secret_terms.clear();
        expected.derived_from = None;
        assert_eq!(**r, expected);
    }

    /// Hand-made bad bundles: each is refused with a reason, none read.
    #[test]
    fn a_hundred_bad_bundles_are_refused_with_where_and_why() {
        let bad = bad_bundles();
        assert!(bad.len() >= 100, "only {} bad bundles", bad.len());
        for (what, b) in &bad {
            match read_bundle_value(b, Limits::default()) {
                Ok(r) => panic!("{what}: read {} reports", r.len()),
                Err(e) => assert!(!e.reason.is_empty(), "{what}"),
            }
        }
        // And text that is not JSON, or JSON too deep for the parser.
        assert!(read_bundle("{", Limits::default()).is_err());
        assert!(read_bundle(&"[".repeat(100_000), Limits::default()).is_err());
    }
}
