//! The threat report: what one element learned about one threat.
//!
//! This is also the intake format: `tocsin report submit FILE` reads a JSON
//! object of this shape (the JSON Schema under `docs/` is generated from
//! these types). Unknown fields are refused, every value is checked by its
//! type's constructor, and an error names the field that is wrong.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::geo::{CountryCode, Location, Whereabouts};
use crate::grading::{Grading, Specificity};
use crate::ids::ReportId;
use crate::text::{ElementName, Label, Name, Narrative, Note, Origin, SecretTerm, Title};
use crate::time::{ThreatWindow, Timestamp};

/// The kind of harm threatened.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum HarmType {
    /// Deliberate killing of a specific person or group.
    IntentionalKilling,
    /// Substantial risk of death, or serious permanent disfigurement or impairment.
    SeriousBodilyInjury,
    /// Taking a person or group by force or threat of force (includes hostage taking).
    Kidnapping,
    /// Damage to property with no risk to people.
    PropertyDamage,
    /// Intrusion into or disruption of computer systems.
    CyberIntrusion,
    /// Anything else (describe it in the narrative).
    Other,
}

impl HarmType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::IntentionalKilling => "intentional_killing",
            Self::SeriousBodilyInjury => "serious_bodily_injury",
            Self::Kidnapping => "kidnapping",
            Self::PropertyDamage => "property_damage",
            Self::CyberIntrusion => "cyber_intrusion",
            Self::Other => "other",
        }
    }
}

/// What the threat is aimed at.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// One identifiable person.
    Person,
    /// A group of people (a family, a team, a congregation).
    Group,
    /// An institution or business (a company, a school, an embassy).
    Organisation,
    /// A structure or location (a venue, a building, a site).
    Place,
    /// A gathering at a place and time (a ceremony, a concert, a march).
    Gathering,
}

impl TargetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Person => "person",
            Self::Group => "group",
            Self::Organisation => "organisation",
            Self::Place => "place",
            Self::Gathering => "gathering",
        }
    }
}

/// An intended victim: named where known, otherwise described.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(try_from = "VictimInput")]
pub struct Victim {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Name>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Note>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nationality: Option<CountryCode>,
    /// Where the victim is, when that is not where the threat is expected
    /// (the report's `location`): they are warned where they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub whereabouts: Option<Whereabouts>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct VictimInput {
    #[serde(default)]
    name: Option<Name>,
    #[serde(default)]
    description: Option<Note>,
    #[serde(default)]
    nationality: Option<CountryCode>,
    /// Where the victim is (lives, works or is staying), when that is not
    /// where the threat is expected: they are warned where they are.
    #[serde(default)]
    whereabouts: Option<Whereabouts>,
}

/// A victim with neither a name nor a description.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a victim needs a name or a description (or both)")]
pub struct VictimError;

impl TryFrom<VictimInput> for Victim {
    type Error = VictimError;
    fn try_from(v: VictimInput) -> Result<Self, VictimError> {
        if v.name.is_none() && v.description.is_none() {
            return Err(VictimError);
        }
        Ok(Victim {
            name: v.name,
            description: v.description,
            nationality: v.nationality,
            whereabouts: v.whereabouts,
        })
    }
}

impl Victim {
    pub fn named(name: Name) -> Self {
        Self {
            name: Some(name),
            description: None,
            nationality: None,
            whereabouts: None,
        }
    }
    pub fn described(description: Note) -> Self {
        Self {
            name: None,
            description: Some(description),
            nationality: None,
            whereabouts: None,
        }
    }
    /// Name if known, else the description.
    pub fn label(&self) -> &str {
        self.name
            .as_ref()
            .map(|n| n.as_str())
            .or(self.description.as_ref().map(|d| d.as_str()))
            .unwrap_or("")
    }
}

/// The target of the threat.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub kind: TargetKind,
    /// The intended victims, at least one.
    pub victims: NonEmptyVec<Victim>,
}

/// A list with at least one element.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<T>", into = "Vec<T>")]
pub struct NonEmptyVec<T: Clone>(Vec<T>);

/// An empty list where at least one element is required.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must contain at least one element")]
pub struct EmptyList;

impl<T: Clone> NonEmptyVec<T> {
    pub fn new(v: Vec<T>) -> Result<Self, EmptyList> {
        if v.is_empty() {
            Err(EmptyList)
        } else {
            Ok(Self(v))
        }
    }
    pub fn one(t: T) -> Self {
        Self(vec![t])
    }
    pub fn as_slice(&self) -> &[T] {
        &self.0
    }
    pub fn first(&self) -> &T {
        &self.0[0]
    }
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.0.iter()
    }
}
impl<T: Clone> TryFrom<Vec<T>> for NonEmptyVec<T> {
    type Error = EmptyList;
    fn try_from(v: Vec<T>) -> Result<Self, EmptyList> {
        Self::new(v)
    }
}
impl<T: Clone> From<NonEmptyVec<T>> for Vec<T> {
    fn from(v: NonEmptyVec<T>) -> Vec<T> {
        v.0
    }
}
impl<T: Clone + schemars::JsonSchema> schemars::JsonSchema for NonEmptyVec<T> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        format!("NonEmptyList_{}", T::schema_name()).into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let item = g.subschema_for::<T>();
        schemars::json_schema!({
            "type": "array",
            "items": item,
            "minItems": 1,
        })
    }
}

/// A non-empty set of harm types.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<HarmType>", into = "Vec<HarmType>")]
pub struct HarmTypes(BTreeSet<HarmType>);

impl HarmTypes {
    pub fn new(v: impl IntoIterator<Item = HarmType>) -> Result<Self, EmptyList> {
        let s: BTreeSet<HarmType> = v.into_iter().collect();
        if s.is_empty() {
            Err(EmptyList)
        } else {
            Ok(Self(s))
        }
    }
    pub fn set(&self) -> &BTreeSet<HarmType> {
        &self.0
    }
    pub fn union(&self, other: &HarmTypes) -> HarmTypes {
        HarmTypes(self.0.union(&other.0).copied().collect())
    }
    pub fn describe(&self) -> String {
        self.0
            .iter()
            .map(|h| h.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}
impl TryFrom<Vec<HarmType>> for HarmTypes {
    type Error = EmptyList;
    fn try_from(v: Vec<HarmType>) -> Result<Self, EmptyList> {
        Self::new(v)
    }
}
impl From<HarmTypes> for Vec<HarmType> {
    fn from(h: HarmTypes) -> Vec<HarmType> {
        h.0.into_iter().collect()
    }
}
impl schemars::JsonSchema for HarmTypes {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "HarmTypes".into()
    }
    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let item = g.subschema_for::<HarmType>();
        schemars::json_schema!({
            "type": "array",
            "items": item,
            "minItems": 1,
            "uniqueItems": true,
        })
    }
}

/// What kind of actor threatens.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    /// A state or one of its organs (a service, the armed forces).
    State,
    /// A terrorist or insurgent group.
    TerroristGroup,
    /// A criminal organisation.
    CriminalGroup,
    /// One person acting alone.
    Individual,
    /// Not known.
    Unknown,
}

/// Who threatens.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ThreatActor {
    pub name: Name,
    pub kind: ActorKind,
    /// For a state actor, the state; otherwise the actor's base, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<CountryCode>,
    /// What the analyst judges of the actor, where they do.
    #[serde(default, skip_serializing_if = "ActorProfile::is_empty")]
    pub profile: ActorProfile,
}

/// An analyst's judgement of a threat actor, in the vocabularies the
/// threat-intelligence community shares (STIX 2.1's threat-actor
/// properties). Every part is optional: what nobody judged stays unsaid.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ActorProfile {
    /// The roles the actor plays in the threat.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub roles: BTreeSet<ActorRole>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sophistication: Option<Sophistication>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_level: Option<ResourceLevel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_motivation: Option<Motivation>,
}

impl ActorProfile {
    /// Whether nothing is judged.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

macro_rules! vocabulary {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash,
            Serialize, Deserialize, schemars::JsonSchema,
        )]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// The value as written in tocsin's JSON (snake_case).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }
            /// Every value.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];
        }
    };
}

vocabulary! {
    /// The role an actor plays (STIX `threat-actor-role-ov`).
    ActorRole {
        Agent = "agent",
        Director = "director",
        DomainRegistrant = "domain_registrant",
        InfrastructureArchitect = "infrastructure_architect",
        InfrastructureOperator = "infrastructure_operator",
        MalwareAuthor = "malware_author",
        Sponsor = "sponsor",
    }
}

vocabulary! {
    /// How skilled the actor is (STIX `threat-actor-sophistication-ov`).
    Sophistication {
        None = "none",
        Minimal = "minimal",
        Intermediate = "intermediate",
        Advanced = "advanced",
        Expert = "expert",
        Innovator = "innovator",
        Strategic = "strategic",
    }
}

vocabulary! {
    /// The resources the actor can draw on (STIX `attack-resource-level-ov`).
    ResourceLevel {
        Individual = "individual",
        Club = "club",
        Contest = "contest",
        Team = "team",
        Organization = "organization",
        Government = "government",
    }
}

vocabulary! {
    /// Why the actor acts (STIX `attack-motivation-ov`).
    Motivation {
        Accidental = "accidental",
        Coercion = "coercion",
        Dominance = "dominance",
        Ideology = "ideology",
        Notoriety = "notoriety",
        OrganizationalGain = "organizational_gain",
        PersonalGain = "personal_gain",
        PersonalSatisfaction = "personal_satisfaction",
        Revenge = "revenge",
        Unpredictable = "unpredictable",
    }
}

/// TLP 2.0 handling label.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
pub enum Tlp {
    #[serde(rename = "TLP:RED")]
    Red,
    #[serde(rename = "TLP:AMBER+STRICT")]
    AmberStrict,
    #[serde(rename = "TLP:AMBER")]
    Amber,
    #[serde(rename = "TLP:GREEN")]
    Green,
    #[serde(rename = "TLP:CLEAR")]
    Clear,
}

impl Tlp {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Red => "TLP:RED",
            Self::AmberStrict => "TLP:AMBER+STRICT",
            Self::Amber => "TLP:AMBER",
            Self::Green => "TLP:GREEN",
            Self::Clear => "TLP:CLEAR",
        }
    }
}

/// How the report must be handled.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Handling {
    pub tlp: Tlp,
    /// Classification level of the report (from the deployment's list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classification: Option<Label>,
    /// Compartments a reader must hold, all of them.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub compartments: BTreeSet<Label>,
    /// Even the existence of the case is restricted: a reader without access
    /// is told there is no such case.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub existence_restricted: bool,
}

/// Where the information came from. Never shown in a warning.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceRef {
    /// The source's identifier in the originating element's system.
    pub id: SecretTerm,
    /// A description of the source (kept with the report, never released).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Note>,
}

/// A threat report as submitted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ThreatReport {
    /// The element that collected or acquired the information.
    pub originating_element: ElementName,
    /// When the element received the information (RFC 3339 with offset).
    pub received_at: Timestamp,
    /// A short title; the case takes it when the report opens one.
    pub title: Title,
    /// What the information says.
    pub narrative: Narrative,
    /// The harm(s) threatened.
    pub harm_types: HarmTypes,
    pub target: Target,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threat_actor: Option<ThreatActor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// When the threat is expected; absent when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<ThreatWindow>,
    pub grading: Grading,
    pub specificity: Specificity,
    pub handling: Handling,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceRef>,
    /// The originating element's own report number (withheld from warnings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_reference: Option<SecretTerm>,
    /// Other terms that must never appear in a warning (asset names, code words).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secret_terms: Vec<SecretTerm>,
    /// Declares that this report re-states another one (circular reporting):
    /// it then does not count as an independent source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub derived_from: Option<ReportId>,
    /// The first-hand source, or the publication this report repeats (for
    /// example "Wall Street Journal, 2024-01-05"). Reports of one origin
    /// count as one independent source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
}

impl ThreatReport {
    /// Every term from this report that a warning must not contain.
    pub fn protected_terms(&self) -> Vec<&SecretTerm> {
        let mut v: Vec<&SecretTerm> = self.secret_terms.iter().collect();
        if let Some(s) = &self.source {
            v.push(&s.id);
        }
        if let Some(r) = &self.external_reference {
            v.push(r);
        }
        v
    }
}

/// An intake document that could not be read: the JSON path of the field and
/// what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", if path.is_empty() || path == "." { "report" } else { path.as_str() })]
pub struct IntakeError {
    /// JSON path of the offending field, e.g. `window.time_zone` (`.` for the whole document).
    pub path: String,
    pub message: String,
}

/// Parses an intake document (one JSON object).
pub fn parse_report(json: &str) -> Result<ThreatReport, IntakeError> {
    let mut de = serde_json::Deserializer::from_str(json);
    let report: ThreatReport =
        serde_path_to_error::deserialize(&mut de).map_err(|e| IntakeError {
            path: e.path().to_string(),
            message: e.inner().to_string(),
        })?;
    // Anything after the object is an error too.
    de.end().map_err(|e| IntakeError {
        path: ".".to_owned(),
        message: e.to_string(),
    })?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn kerman_json() -> String {
        r#"{
          "originating_element": "Collection Element A",
          "received_at": "2023-12-26T09:00:00Z",
          "title": "ISIS-K plot against Soleimani commemoration, Kerman",
          "narrative": "ISIS-Khorasan operatives plan a mass-casualty bombing at the commemoration of the fourth anniversary of Qassem Soleimani's death at the Kerman cemetery.",
          "harm_types": ["intentional_killing"],
          "target": {"kind": "gathering", "victims": [{"description": "Attendees of the commemoration at the Kerman Martyrs' Cemetery", "nationality": "IR"}]},
          "threat_actor": {"name": "ISIS-Khorasan", "kind": "terrorist_group"},
          "location": {"description": "Kerman Martyrs' Cemetery, Soleimani memorial", "country": "IR", "locality": "Kerman", "point": {"latitude": 30.2839, "longitude": 57.0834, "radius_km": 2.0}},
          "window": {"not_before": "2024-01-03T00:00:00+03:30", "not_after": "2024-01-04T00:00:00+03:30", "time_zone": "Asia/Tehran"},
          "grading": {"grade": "B2", "assessor": "analyst.kim", "reason": "Usually reliable source with direct access; consistent with other reporting."},
          "specificity": {"who": "partial", "where": "present", "when": "partial", "how": "present"},
          "handling": {"tlp": "TLP:RED", "classification": "SECRET", "compartments": ["HCS"]},
          "source": {"id": "CS-4471", "description": "Human source with access to ISIS-K facilitators"},
          "external_reference": "TD-314/00123-23"
        }"#
        .to_owned()
    }

    #[test]
    fn kerman_parses() {
        let r = parse_report(&kerman_json()).unwrap();
        assert_eq!(r.grading.grade.to_string(), "B2");
        assert_eq!(r.protected_terms().len(), 2);
    }

    #[test]
    fn a_victim_may_carry_whereabouts_and_old_victims_keep_their_bytes() {
        // An old report (no whereabouts) serialises to exactly what it was.
        let old = r#"{"description":"Attendees","nationality":"IR"}"#;
        let v: Victim = serde_json::from_str(old).unwrap();
        assert_eq!(v.whereabouts, None);
        assert_eq!(serde_json::to_string(&v).unwrap(), old);
        let r = parse_report(&with(
            "target.victims",
            r#"[{"name": "A journalist", "nationality": "SA", "whereabouts": {"country": "US", "place": "Fairfax, Virginia"}}]"#,
        ))
        .unwrap();
        let w = r.target.victims.first().whereabouts.clone().unwrap();
        assert_eq!(w.country, CountryCode::new("US").unwrap());
        assert_eq!(w.place.unwrap().as_str(), "Fairfax, Virginia");
        // The threat's own location is untouched.
        assert_eq!(r.location.unwrap().country, CountryCode::new("IR").unwrap());
    }

    fn with(field: &str, value: &str) -> String {
        let mut v: serde_json::Value = serde_json::from_str(&kerman_json()).unwrap();
        let mut cur = &mut v;
        let parts: Vec<&str> = field.split('.').collect();
        for p in &parts[..parts.len() - 1] {
            cur = cur.get_mut(*p).unwrap();
        }
        let last = parts[parts.len() - 1];
        if value == "<delete>" {
            cur.as_object_mut().unwrap().remove(last);
        } else {
            cur[last] = serde_json::from_str(value).unwrap();
        }
        v.to_string()
    }

    #[track_caller]
    fn err(json: &str) -> IntakeError {
        parse_report(json).unwrap_err()
    }

    #[test]
    fn errors_name_the_field() {
        let e = err(&with("window.time_zone", "\"Mars/Olympus\""));
        assert_eq!(e.path, "window.time_zone", "{e}");
        assert!(e.message.contains("Mars/Olympus"), "{e}");

        let e = err(&with("window.not_after", "\"2024-01-02T00:00:00Z\""));
        assert_eq!(e.path, "window", "{e}");
        assert!(e.message.contains("before or when it starts"), "{e}");

        let e = err(&with("harm_types", "[\"arson\"]"));
        assert_eq!(e.path, "harm_types[0]", "{e}");
        assert!(e.message.contains("arson"), "{e}");

        let e = err(&with("grading.grade", "\"B9\""));
        assert_eq!(e.path, "grading.grade", "{e}");

        let e = err(&with("title", "<delete>"));
        assert!(e.message.contains("missing field `title`"), "{e}");

        let e = err(&with("surprise", "1"));
        assert!(e.message.contains("unknown field `surprise`"), "{e}");

        let e = err(&with("target.victims", "[{}]"));
        assert_eq!(e.path, "target.victims[0]", "{e}");
        assert!(e.message.contains("name or a description"), "{e}");

        let e = err(&with(
            "target.victims",
            r#"[{"name": "A. Person", "whereabouts": {"country": "Turkey"}}]"#,
        ));
        assert_eq!(e.path, "target.victims[0].whereabouts.country", "{e}");

        let e = err(&with("target.victims", "[]"));
        assert_eq!(e.path, "target.victims", "{e}");

        let e = err(&with("location.country", "\"Iran\""));
        assert_eq!(e.path, "location.country", "{e}");

        let e = err(&with("received_at", "\"yesterday\""));
        assert_eq!(e.path, "received_at", "{e}");

        let e = err("{\"originating_element\": ");
        assert!(e.message.contains("EOF"), "{e}");

        let e = err("[1,2]");
        assert!(e.message.contains("invalid type"), "{e}");
    }
}
