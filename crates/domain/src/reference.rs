//! Reference data for getting a warning there (DOMAIN.md section 4): the
//! relations between our state and every other one, and the directory of
//! recipients (who can receive or relay a warning, and how to reach them).
//!
//! Both are data the organisation maintains, read from TOML. The defaults
//! shipped here are for a United States deployment and match the worked
//! scenarios: Iran through the protecting power Switzerland, North Korea
//! through Sweden, Russia's FSB by service liaison, the FBI for victims in
//! the United States.
//!
//! Like every value in this crate, the types are parsed, not validated: a
//! [`Relations`] never names our own state as a protecting power, a
//! [`Directory`] never holds two entries with one id or a protecting-power
//! section without its mandate.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::delivery::{Channel, Party, PartyKind};
use crate::geo::CountryCode;
use crate::report::NonEmptyVec;
use crate::text::{Name, Note};

/// The relations file shipped for a US deployment.
pub const DEFAULT_RELATIONS_TOML: &str = include_str!("../reference/relations-us.toml");
/// The recipients directory shipped with tocsin (the scenarios' recipients).
pub const DEFAULT_DIRECTORY_TOML: &str = include_str!("../reference/directory-default.toml");

/// A reference-data file that was refused: where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", line.map(|l| format!("line {l}: ")).unwrap_or_default())]
pub struct ReferenceError {
    /// 1-based line of the offending value, when known.
    pub line: Option<usize>,
    pub message: String,
}

fn from_toml<T: serde::de::DeserializeOwned>(source: &str) -> Result<T, ReferenceError> {
    toml::from_str(source).map_err(|e| ReferenceError {
        line: e
            .span()
            .map(|s| source[..s.start.min(source.len())].matches('\n').count() + 1),
        message: e.message().trim().to_owned(),
    })
}

// ---------------------------------------------------------------------------
// Relations
// ---------------------------------------------------------------------------

/// A state's relation with our state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "relation", rename_all = "snake_case", deny_unknown_fields)]
pub enum Relation {
    /// Full relations: embassies, diplomatic notes and service liaison.
    Direct,
    /// No diplomatic relations, but our services talk to theirs
    /// (service-to-service liaison only).
    LiaisonOnly,
    /// No relations at all: messages go through a protecting power, a third
    /// state that represents our interests there.
    NoRelations { protecting_power: CountryCode },
}

impl Relation {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Direct => "direct",
            Self::LiaisonOnly => "liaison_only",
            Self::NoRelations { .. } => "no_relations",
        }
    }
}

impl fmt::Display for Relation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoRelations { protecting_power } => write!(
                f,
                "no relations (protecting power {})",
                protecting_power.name()
            ),
            other => f.write_str(other.as_str()),
        }
    }
}

/// Our state and its relation with every other state (default [`Relation::Direct`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(try_from = "RelationsInput")]
pub struct Relations {
    our_state: CountryCode,
    countries: BTreeMap<CountryCode, Relation>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RelationsInput {
    our_state: CountryCode,
    #[serde(default)]
    countries: BTreeMap<CountryCode, Relation>,
}

/// A relations table that contradicts itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RelationsError {
    #[error("our own state {0} cannot have a relation with itself: remove it from countries")]
    OwnState(CountryCode),
    #[error("{country}: a state cannot be its own protecting power")]
    SelfProtecting { country: CountryCode },
    #[error("{country}: our own state {pp} cannot be the protecting power")]
    OursProtecting {
        country: CountryCode,
        pp: CountryCode,
    },
    #[error(
        "{country}: the protecting power {pp} must have direct relations with us, but its relation is {relation}"
    )]
    ProtectingPowerWithoutRelations {
        country: CountryCode,
        pp: CountryCode,
        relation: &'static str,
    },
}

impl TryFrom<RelationsInput> for Relations {
    type Error = RelationsError;
    fn try_from(r: RelationsInput) -> Result<Self, RelationsError> {
        Relations::new(r.our_state, r.countries)
    }
}

impl Relations {
    /// Checks the table: our state is not in it; every protecting power is a
    /// third state with which we have direct relations.
    pub fn new(
        our_state: CountryCode,
        countries: BTreeMap<CountryCode, Relation>,
    ) -> Result<Self, RelationsError> {
        if countries.contains_key(&our_state) {
            return Err(RelationsError::OwnState(our_state));
        }
        for (country, rel) in &countries {
            if let Relation::NoRelations { protecting_power } = rel {
                let pp = *protecting_power;
                if pp == *country {
                    return Err(RelationsError::SelfProtecting { country: *country });
                }
                if pp == our_state {
                    return Err(RelationsError::OursProtecting {
                        country: *country,
                        pp,
                    });
                }
                let pp_rel = countries.get(&pp).copied().unwrap_or(Relation::Direct);
                if pp_rel != Relation::Direct {
                    return Err(RelationsError::ProtectingPowerWithoutRelations {
                        country: *country,
                        pp,
                        relation: pp_rel.as_str(),
                    });
                }
            }
        }
        Ok(Self {
            our_state,
            countries,
        })
    }

    /// The shipped defaults for a US deployment: Iran through Switzerland,
    /// North Korea through Sweden, direct relations with everyone else.
    pub fn us_default() -> Self {
        match Self::from_toml(DEFAULT_RELATIONS_TOML) {
            Ok(r) => r,
            // The shipped file is checked by a unit test.
            Err(e) => panic!("the shipped relations file is invalid: {e}"),
        }
    }

    /// Reads a relations file (TOML, the shape of `reference/relations-us.toml`).
    pub fn from_toml(source: &str) -> Result<Self, ReferenceError> {
        from_toml(source)
    }

    /// The state this deployment belongs to.
    pub fn our_state(&self) -> CountryCode {
        self.our_state
    }

    /// The relation of `country` with our state; [`Relation::Direct`] when not listed.
    /// For our own state it is `Direct` too (callers treat it as domestic).
    pub fn relation(&self, country: CountryCode) -> Relation {
        self.countries
            .get(&country)
            .copied()
            .unwrap_or(Relation::Direct)
    }

    /// The states listed explicitly, with their relations.
    pub fn listed(&self) -> impl Iterator<Item = (CountryCode, Relation)> + '_ {
        self.countries.iter().map(|(c, r)| (*c, *r))
    }
}

// ---------------------------------------------------------------------------
// The recipients directory
// ---------------------------------------------------------------------------

/// The identifier of a directory entry: lower-case ASCII letters, digits,
/// `.`, `_` and `-`, 1 to 64 characters, starting with a letter or digit
/// (`ir-mois`, `ch-fis-tehran`).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RecipientId(String);

/// A string that is not a recipient id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "'{0}' is not a recipient id (1 to 64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit, e.g. ir-mois)"
)]
pub struct RecipientIdError(pub String);

impl RecipientId {
    pub fn new(s: impl Into<String>) -> Result<Self, RecipientIdError> {
        let s: String = s.into();
        let ok = (1..=64).contains(&s.len())
            && s.as_bytes()[0].is_ascii_alphanumeric()
            && s.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
            });
        if ok {
            Ok(Self(s))
        } else {
            Err(RecipientIdError(s))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl TryFrom<String> for RecipientId {
    type Error = RecipientIdError;
    fn try_from(s: String) -> Result<Self, RecipientIdError> {
        Self::new(s)
    }
}
impl From<RecipientId> for String {
    fn from(v: RecipientId) -> String {
        v.0
    }
}
impl std::str::FromStr for RecipientId {
    type Err = RecipientIdError;
    fn from_str(s: &str) -> Result<Self, RecipientIdError> {
        Self::new(s)
    }
}
impl fmt::Display for RecipientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Debug for RecipientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}
impl schemars::JsonSchema for RecipientId {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "RecipientId".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "string", "pattern": "^[a-z0-9][a-z0-9._-]{0,63}$"})
    }
}

/// One way to reach a recipient: the channel and the address (or a
/// description of how to use it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactChannel {
    pub channel: Channel,
    /// An address, a number, or a description of how the channel is used.
    pub address: Note,
}

/// What a protecting-power section does: whose interests it represents, and
/// in which state (the Swiss Foreign Interests Section in Tehran represents
/// the United States in Iran).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProtectingPowerMandate {
    /// The state whose interests are represented (ours).
    pub represents: CountryCode,
    /// The state where it represents them (the one we have no relations with).
    pub located_in: CountryCode,
}

/// One recipient (or relay) of warnings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(try_from = "RecipientInput")]
pub struct RecipientEntry {
    pub id: RecipientId,
    pub name: Name,
    /// What the recipient is: a security service, the police, an embassy,
    /// a foreign ministry, a protecting-power section, venue security...
    pub kind: PartyKind,
    /// One of our own offices (our headquarters, a field office): never a
    /// relay nor a recipient of a route. Its `kind` says what it does: when
    /// it is domestic law enforcement (police or security service of our
    /// state), we are, and a victim at home is warned in one hop.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub own_office: bool,
    /// The state the recipient belongs to (for an embassy: the sending state).
    pub country: CountryCode,
    /// City or region it covers or sits in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locality: Option<Name>,
    /// Places or organisations this recipient protects (a venue's security
    /// team lists the venue): matched against a case's location and victims.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sites: Vec<Name>,
    /// Present exactly when `kind` is `protecting_power`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protecting_power: Option<ProtectingPowerMandate>,
    /// How to reach it, at least one.
    #[serde(rename = "contact")]
    pub contacts: NonEmptyVec<ContactChannel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<Note>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RecipientInput {
    id: RecipientId,
    name: Name,
    kind: PartyKind,
    #[serde(default)]
    own_office: bool,
    country: CountryCode,
    #[serde(default)]
    locality: Option<Name>,
    #[serde(default)]
    sites: Vec<Name>,
    #[serde(default)]
    protecting_power: Option<ProtectingPowerMandate>,
    #[serde(rename = "contact")]
    contacts: NonEmptyVec<ContactChannel>,
    #[serde(default)]
    notes: Option<Note>,
}

/// A directory entry that contradicts itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecipientError {
    #[error(
        "{id}: kind {kind} cannot be a directory entry (our own elements and victims come from the case)"
    )]
    KindNotListable { id: String, kind: &'static str },
    #[error("{id}: a protecting_power entry needs protecting_power = {{ represents, located_in }}")]
    MandateMissing { id: String },
    #[error("{id}: only a protecting_power entry has a protecting_power mandate")]
    MandateNotAllowed { id: String },
    #[error(
        "{id}: a protecting power represents and sits in states other than its own ({country})"
    )]
    MandateOwnState { id: String, country: CountryCode },
    #[error(
        "{id}: a protecting power is a third state, never one of our own offices: remove own_office"
    )]
    OwnProtectingPower { id: String },
    #[error("two directory entries have the id '{0}'")]
    DuplicateId(String),
}

fn kind_str(k: PartyKind) -> &'static str {
    match k {
        PartyKind::OwnElement => "own_element",
        PartyKind::ProtectingPower => "protecting_power",
        PartyKind::SecurityService => "security_service",
        PartyKind::Police => "police",
        PartyKind::VenueSecurity => "venue_security",
        PartyKind::CompanySecurity => "company_security",
        PartyKind::School => "school",
        PartyKind::Embassy => "embassy",
        PartyKind::ForeignMinistry => "foreign_ministry",
        PartyKind::Victim => "victim",
        PartyKind::Other => "other",
    }
}

impl TryFrom<RecipientInput> for RecipientEntry {
    type Error = RecipientError;
    fn try_from(r: RecipientInput) -> Result<Self, RecipientError> {
        let id = r.id.to_string();
        if matches!(r.kind, PartyKind::OwnElement | PartyKind::Victim) {
            return Err(RecipientError::KindNotListable {
                id,
                kind: kind_str(r.kind),
            });
        }
        match (r.kind == PartyKind::ProtectingPower, &r.protecting_power) {
            (true, None) => return Err(RecipientError::MandateMissing { id }),
            (false, Some(_)) => return Err(RecipientError::MandateNotAllowed { id }),
            (true, Some(m)) if m.represents == r.country || m.located_in == r.country => {
                return Err(RecipientError::MandateOwnState {
                    id,
                    country: r.country,
                });
            }
            _ => {}
        }
        if r.own_office && r.kind == PartyKind::ProtectingPower {
            return Err(RecipientError::OwnProtectingPower { id });
        }
        Ok(RecipientEntry {
            id: r.id,
            name: r.name,
            kind: r.kind,
            own_office: r.own_office,
            country: r.country,
            locality: r.locality,
            sites: r.sites,
            protecting_power: r.protecting_power,
            contacts: r.contacts,
            notes: r.notes,
        })
    }
}

impl RecipientEntry {
    /// The entry as a party of a route.
    pub fn party(&self) -> Party {
        Party {
            name: self.name.clone(),
            kind: self.kind,
            country: Some(self.country),
        }
    }

    /// The address on record for `channel`, if any.
    pub fn contact(&self, channel: Channel) -> Option<&ContactChannel> {
        self.contacts.iter().find(|c| c.channel == channel)
    }

    /// Whether this entry protects a place or organisation named in `text`
    /// (one of its sites occurs in it, ignoring case).
    pub fn protects_site_in(&self, text: &str) -> bool {
        let hay = text.to_lowercase();
        self.sites
            .iter()
            .any(|s| hay.contains(&s.as_str().to_lowercase()))
    }
}

/// The recipients directory: every entry has a unique id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(try_from = "DirectoryInput")]
pub struct Directory {
    #[serde(rename = "recipient")]
    entries: Vec<RecipientEntry>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct DirectoryInput {
    #[serde(default, rename = "recipient")]
    entries: Vec<RecipientEntry>,
}

impl TryFrom<DirectoryInput> for Directory {
    type Error = RecipientError;
    fn try_from(d: DirectoryInput) -> Result<Self, RecipientError> {
        Directory::new(d.entries)
    }
}

impl Directory {
    /// Checks that ids are unique.
    pub fn new(entries: Vec<RecipientEntry>) -> Result<Self, RecipientError> {
        let mut seen = BTreeSet::new();
        for e in &entries {
            if !seen.insert(e.id.as_str()) {
                return Err(RecipientError::DuplicateId(e.id.to_string()));
            }
        }
        Ok(Self { entries })
    }

    /// The directory shipped with tocsin: the recipients of the scenarios.
    pub fn builtin() -> Self {
        match Self::from_toml(DEFAULT_DIRECTORY_TOML) {
            Ok(d) => d,
            // The shipped file is checked by a unit test.
            Err(e) => panic!("the shipped directory is invalid: {e}"),
        }
    }

    /// Reads a directory file (TOML, the shape of `reference/directory-default.toml`).
    pub fn from_toml(source: &str) -> Result<Self, ReferenceError> {
        from_toml(source)
    }

    pub fn entries(&self) -> &[RecipientEntry] {
        &self.entries
    }

    pub fn get(&self, id: &RecipientId) -> Option<&RecipientEntry> {
        self.entries.iter().find(|e| &e.id == id)
    }

    /// Our own offices (entries with `own_office`), in file order.
    pub fn own_offices(&self) -> impl Iterator<Item = &RecipientEntry> {
        self.entries.iter().filter(|e| e.own_office)
    }

    /// Entries belonging to `country`, in file order.
    pub fn in_country(&self, country: CountryCode) -> impl Iterator<Item = &RecipientEntry> {
        self.entries.iter().filter(move |e| e.country == country)
    }

    /// The section of `protecting_power` that represents `ours` in `host`, if listed.
    pub fn protecting_power_section(
        &self,
        protecting_power: CountryCode,
        ours: CountryCode,
        host: CountryCode,
    ) -> Option<&RecipientEntry> {
        self.entries.iter().find(|e| {
            e.country == protecting_power
                && e.protecting_power
                    == Some(ProtectingPowerMandate {
                        represents: ours,
                        located_in: host,
                    })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cc(s: &str) -> CountryCode {
        CountryCode::new(s).unwrap()
    }

    #[test]
    fn shipped_relations_are_valid_and_as_documented() {
        let r = Relations::us_default();
        assert_eq!(r.our_state(), cc("US"));
        assert_eq!(
            r.relation(cc("IR")),
            Relation::NoRelations {
                protecting_power: cc("CH")
            }
        );
        assert_eq!(
            r.relation(cc("KP")),
            Relation::NoRelations {
                protecting_power: cc("SE")
            }
        );
        assert_eq!(r.relation(cc("RU")), Relation::Direct);
        assert_eq!(r.relation(cc("FR")), Relation::Direct);
        assert_eq!(r.listed().count(), 2);
    }

    #[test]
    fn relations_round_trip_through_json_and_toml() {
        let r = Relations::us_default();
        let json = serde_json::to_string(&r).unwrap();
        assert!(json.contains(r#""protecting_power":"CH""#), "{json}");
        let back: Relations = serde_json::from_str(&json).unwrap();
        assert_eq!(back, r);
        let toml_text = toml::to_string(&r).unwrap();
        assert_eq!(Relations::from_toml(&toml_text).unwrap(), r);
    }

    #[test]
    fn bad_relations_are_refused_with_their_reason() {
        let e = Relations::from_toml("our_state = \"US\"\n[countries.US]\nrelation = \"direct\"\n")
            .unwrap_err();
        assert!(e.message.contains("relation with itself"), "{e}");
        let e = Relations::from_toml(
            "our_state = \"US\"\n[countries.IR]\nrelation = \"no_relations\"\nprotecting_power = \"US\"\n",
        )
        .unwrap_err();
        assert!(e.message.contains("cannot be the protecting power"), "{e}");
        let e = Relations::from_toml(
            "our_state = \"US\"\n[countries.IR]\nrelation = \"no_relations\"\nprotecting_power = \"IR\"\n",
        )
        .unwrap_err();
        assert!(e.message.contains("its own protecting power"), "{e}");
        let e = Relations::from_toml(
            "our_state = \"US\"\n[countries.IR]\nrelation = \"no_relations\"\nprotecting_power = \"KP\"\n[countries.KP]\nrelation = \"liaison_only\"\n",
        )
        .unwrap_err();
        assert!(e.message.contains("must have direct relations"), "{e}");
        let e = Relations::from_toml(
            "our_state = \"US\"\n[countries.IR]\nrelation = \"no_relations\"\n",
        )
        .unwrap_err();
        assert!(e.message.contains("protecting_power"), "{e}");
        let e = Relations::from_toml("our_state = \"XX\"\n").unwrap_err();
        assert_eq!(e.line, Some(1), "{e}");
        assert!(e.message.contains("XX"), "{e}");
        let e =
            Relations::from_toml("our_state = \"US\"\n[countries.FR]\nrelation = \"friendly\"\n")
                .unwrap_err();
        assert!(e.message.contains("friendly"), "{e}");
    }

    #[test]
    fn an_organisation_replaces_the_table() {
        let r = Relations::from_toml(
            "our_state = \"GB\"\n[countries.IR]\nrelation = \"liaison_only\"\n",
        )
        .unwrap();
        assert_eq!(r.our_state(), cc("GB"));
        assert_eq!(r.relation(cc("IR")), Relation::LiaisonOnly);
        assert_eq!(r.relation(cc("KP")), Relation::Direct);
    }

    #[test]
    fn shipped_directory_matches_the_scenarios() {
        let d = Directory::builtin();
        let get = |id: &str| d.get(&RecipientId::new(id).unwrap()).unwrap();
        let mois = get("ir-mois");
        assert_eq!(mois.kind, PartyKind::SecurityService);
        assert_eq!(mois.country, cc("IR"));
        let fis = d
            .protecting_power_section(cc("CH"), cc("US"), cc("IR"))
            .unwrap();
        assert_eq!(fis.id.as_str(), "ch-fis-tehran");
        assert_eq!(fis.party().kind, PartyKind::ProtectingPower);
        assert!(fis.contact(Channel::DiplomaticNote).is_some());
        assert!(
            d.protecting_power_section(cc("SE"), cc("US"), cc("KP"))
                .is_some()
        );
        assert!(
            d.protecting_power_section(cc("CH"), cc("GB"), cc("IR"))
                .is_none()
        );
        assert!(get("ru-fsb").contact(Channel::ServiceLiaison).is_some());
        assert_eq!(get("us-fbi").kind, PartyKind::Police);
        assert_eq!(d.in_country(cc("IR")).count(), 2);
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(serde_json::from_str::<Directory>(&json).unwrap(), d);
    }

    const ONE: &str = r#"
[[recipient]]
id = "x"
name = "X"
kind = "KIND"
country = "FR"
[[recipient.contact]]
channel = "direct"
address = "somewhere"
"#;

    fn dir(kind: &str, extra: &str) -> Result<Directory, ReferenceError> {
        let src = ONE
            .replace("KIND", kind)
            .replace("country = \"FR\"", &format!("country = \"FR\"\n{extra}"));
        Directory::from_toml(&src)
    }

    #[test]
    fn bad_directory_entries_are_refused() {
        assert!(dir("police", "").is_ok());
        let e = dir("own_element", "").unwrap_err();
        assert!(e.message.contains("cannot be a directory entry"), "{e}");
        let e = dir("victim", "").unwrap_err();
        assert!(e.message.contains("cannot be a directory entry"), "{e}");
        let e = dir("protecting_power", "").unwrap_err();
        assert!(e.message.contains("needs protecting_power"), "{e}");
        let e = dir(
            "police",
            "protecting_power = { represents = \"US\", located_in = \"IR\" }",
        )
        .unwrap_err();
        assert!(e.message.contains("only a protecting_power entry"), "{e}");
        let e = dir(
            "protecting_power",
            "protecting_power = { represents = \"FR\", located_in = \"IR\" }",
        )
        .unwrap_err();
        assert!(e.message.contains("other than its own"), "{e}");
        assert!(
            dir(
                "protecting_power",
                "protecting_power = { represents = \"US\", located_in = \"IR\" }"
            )
            .is_ok()
        );
        let e = dir("police", "surprise = 1").unwrap_err();
        assert!(e.message.contains("unknown field"), "{e}");
        let two = format!("{ONE}{ONE}").replace("KIND", "police");
        let e = Directory::from_toml(&two).unwrap_err();
        assert!(e.message.contains("two directory entries"), "{e}");
        let none = ONE.replace("KIND", "police").replace(
            "[[recipient.contact]]\nchannel = \"direct\"\naddress = \"somewhere\"\n",
            "contact = []\n",
        );
        let e = Directory::from_toml(&none).unwrap_err();
        assert!(e.message.contains("at least one"), "{e}");
        let e = Directory::from_toml(&ONE.replace("KIND", "police").replace("\"x\"", "\"X Y\""))
            .unwrap_err();
        assert!(e.message.contains("not a recipient id"), "{e}");
    }

    #[test]
    fn own_offices_are_marked_and_old_directories_keep_their_bytes() {
        // No entry of the shipped directory is ours, and none says so.
        let d = Directory::builtin();
        assert_eq!(d.own_offices().count(), 0);
        assert!(!serde_json::to_string(&d).unwrap().contains("own_office"));
        let d = dir("police", "own_office = true").unwrap();
        assert_eq!(d.own_offices().count(), 1);
        let json = serde_json::to_string(&d).unwrap();
        assert!(json.contains(r#""own_office":true"#), "{json}");
        assert_eq!(serde_json::from_str::<Directory>(&json).unwrap(), d);
        let e = dir(
            "protecting_power",
            "own_office = true\nprotecting_power = { represents = \"US\", located_in = \"IR\" }",
        )
        .unwrap_err();
        assert!(e.message.contains("never one of our own offices"), "{e}");
    }

    #[test]
    fn recipient_ids() {
        for ok in ["ir-mois", "a", "ch.fis_tehran-2", "9"] {
            assert!(RecipientId::new(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-a", "A", "a b", "é", &"a".repeat(65)] {
            assert!(RecipientId::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sites_match_ignoring_case() {
        let d = Directory::from_toml(
            &dir("venue_security", "sites = [\"Crocus City Hall\"]")
                .map(|d| toml::to_string(&d).unwrap())
                .unwrap(),
        )
        .unwrap();
        let e = &d.entries()[0];
        assert!(e.protects_site_in("Attack planned at CROCUS CITY HALL tonight"));
        assert!(!e.protects_site_in("Attack planned at the Kremlin"));
    }
}
