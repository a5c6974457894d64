//! Getting the warning there: routes, the warning text, delivery records,
//! responses, outcomes and the public-advisory decision.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::geo::CountryCode;
use crate::report::NonEmptyVec;
use crate::text::{Name, Note, Reason, bounded_text};
use crate::time::{TimeZoneName, Timestamp};

bounded_text!(
    /// The exact text of a warning as it will be delivered.
    WarningText, max = 20_000, multiline = true,
    describe = "The exact text of the warning (at most 20,000 characters)."
);

impl WarningText {
    /// SHA-256 of the exact UTF-8 bytes, lower-case hex.
    pub fn sha256(&self) -> String {
        crate::policy::hex(&Sha256::digest(self.as_str().as_bytes()))
    }
}

/// A language tag (BCP 47 form: `en`, `fa`, `ru`, `en-GB`).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LanguageTag(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a language tag (expected a BCP 47 tag such as en, fa, ru or en-GB)")]
pub struct LanguageError(pub String);

impl LanguageTag {
    pub fn new(s: impl Into<String>) -> Result<Self, LanguageError> {
        let s: String = s.into();
        let mut parts = s.split('-');
        let primary = parts.next().unwrap_or("");
        let ok = (2..=3).contains(&primary.len())
            && primary.bytes().all(|b| b.is_ascii_alphabetic())
            && parts.all(|p| {
                (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric())
            })
            && s.len() <= 35;
        if ok {
            Ok(Self(s))
        } else {
            Err(LanguageError(s))
        }
    }
    pub fn english() -> Self {
        Self("en".to_owned())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl TryFrom<String> for LanguageTag {
    type Error = LanguageError;
    fn try_from(s: String) -> Result<Self, LanguageError> {
        Self::new(s)
    }
}
impl From<LanguageTag> for String {
    fn from(l: LanguageTag) -> String {
        l.0
    }
}
impl std::str::FromStr for LanguageTag {
    type Err = LanguageError;
    fn from_str(s: &str) -> Result<Self, LanguageError> {
        Self::new(s)
    }
}
impl fmt::Display for LanguageTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Debug for LanguageTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}
impl schemars::JsonSchema for LanguageTag {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "LanguageTag".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "string", "pattern": "^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$"})
    }
}

/// What was left out of a warning, by category.
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
pub enum WithheldCategory {
    SourceIdentity,
    CollectionMethod,
    ExactTiming,
    ExactLocation,
    ReportNumbers,
    ClassificationMarkings,
    PartnerInformation,
    PerpetratorDetails,
    Other,
}

impl WithheldCategory {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SourceIdentity => "source_identity",
            Self::CollectionMethod => "collection_method",
            Self::ExactTiming => "exact_timing",
            Self::ExactLocation => "exact_location",
            Self::ReportNumbers => "report_numbers",
            Self::ClassificationMarkings => "classification_markings",
            Self::PartnerInformation => "partner_information",
            Self::PerpetratorDetails => "perpetrator_details",
            Self::Other => "other",
        }
    }
}

/// What kind of party sends, relays or receives a warning.
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
pub enum PartyKind {
    /// One of our own elements.
    OwnElement,
    /// A state relaying for us where there are no relations (protecting power).
    ProtectingPower,
    /// A state's security or intelligence service.
    SecurityService,
    Police,
    VenueSecurity,
    CompanySecurity,
    School,
    Embassy,
    ForeignMinistry,
    /// The intended victim in person.
    Victim,
    Other,
}

impl PartyKind {
    /// Organs of a state: never the recipient when that state is the threat actor.
    pub fn is_state_organ(self) -> bool {
        matches!(
            self,
            Self::SecurityService
                | Self::Police
                | Self::Embassy
                | Self::ForeignMinistry
                | Self::ProtectingPower
        )
    }
}

/// A sender, relay or recipient of a warning.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Party {
    pub name: Name,
    pub kind: PartyKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<CountryCode>,
}

impl fmt::Display for Party {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.country {
            Some(c) => write!(f, "{} ({})", self.name, c),
            None => write!(f, "{}", self.name),
        }
    }
}

/// How a hop carries the warning.
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
pub enum Channel {
    /// Straight to the victim (in person, phone, written notice).
    Direct,
    /// Through domestic law enforcement.
    LawEnforcement,
    /// Consular or embassy security officer, for nationals abroad.
    Consular,
    PrivateSectorLiaison,
    /// Intelligence or security service to its counterpart.
    ServiceLiaison,
    /// A diplomatic note through a chief of mission.
    DiplomaticNote,
    /// Through an intermediary state where there are no relations.
    ProtectingPower,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Direct => "direct",
            Self::LawEnforcement => "law_enforcement",
            Self::Consular => "consular",
            Self::PrivateSectorLiaison => "private_sector_liaison",
            Self::ServiceLiaison => "service_liaison",
            Self::DiplomaticNote => "diplomatic_note",
            Self::ProtectingPower => "protecting_power",
        }
    }
}

/// One leg of a route.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Hop {
    pub from: Party,
    pub to: Party,
    pub channel: Channel,
}

/// A route: a chain of hops from one of our elements to the recipient.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(try_from = "RouteInput")]
pub struct Route {
    recipient: Party,
    hops: NonEmptyVec<Hop>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RouteInput {
    recipient: Party,
    hops: NonEmptyVec<Hop>,
}

/// A route whose hops do not form a chain to the recipient.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    #[error("hop {n} starts at '{from}' but hop {prev} ended at '{to}': hops must form a chain")]
    Broken {
        n: usize,
        prev: usize,
        from: String,
        to: String,
    },
    #[error("the last hop ends at '{last}' but the recipient is '{recipient}'")]
    WrongEnd { last: String, recipient: String },
    #[error("the first hop must start at one of our own elements (kind own_element), not '{0}'")]
    NotOurs(String),
}

impl TryFrom<RouteInput> for Route {
    type Error = RouteError;
    fn try_from(r: RouteInput) -> Result<Self, RouteError> {
        Route::new(r.recipient, r.hops)
    }
}

impl Route {
    pub fn new(recipient: Party, hops: NonEmptyVec<Hop>) -> Result<Self, RouteError> {
        let h = hops.as_slice();
        if h[0].from.kind != PartyKind::OwnElement {
            return Err(RouteError::NotOurs(h[0].from.name.to_string()));
        }
        for i in 1..h.len() {
            if h[i].from != h[i - 1].to {
                return Err(RouteError::Broken {
                    n: i + 1,
                    prev: i,
                    from: h[i].from.to_string(),
                    to: h[i - 1].to.to_string(),
                });
            }
        }
        let last = &h[h.len() - 1].to;
        if *last != recipient {
            return Err(RouteError::WrongEnd {
                last: last.to_string(),
                recipient: recipient.to_string(),
            });
        }
        Ok(Self { recipient, hops })
    }
    pub fn recipient(&self) -> &Party {
        &self.recipient
    }
    pub fn hops(&self) -> &[Hop] {
        self.hops.as_slice()
    }
    pub fn describe(&self) -> String {
        let mut s = self.hops()[0].from.to_string();
        for h in self.hops() {
            s.push_str(&format!(" —[{}]→ {}", h.channel.as_str(), h.to));
        }
        s
    }
}

/// A route considered and not chosen, with why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteAlternative {
    pub route: Route,
    pub reason: Note,
}

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
pub enum DeliveryStatus {
    Sent,
    /// An intermediary passed it on.
    Relayed,
    Received,
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Relayed => "relayed",
            Self::Received => "received",
            Self::Failed => "failed",
        }
    }
}

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
pub enum Medium {
    Written,
    Oral,
    Phone,
    InPerson,
    Electronic,
}

impl Medium {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Written => "written",
            Self::Oral => "oral",
            Self::Phone => "phone",
            Self::InPerson => "in_person",
            Self::Electronic => "electronic",
        }
    }
}

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
pub enum ProofKind {
    Acknowledgement,
    Signature,
    ReadBack,
    Receipt,
}

/// Evidence that a hop arrived.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Proof {
    pub kind: ProofKind,
    /// Where the evidence is kept, or what it says.
    pub reference: Note,
}

/// One record of a hop: sent, relayed, received or failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(try_from = "DeliveryInput")]
pub struct Delivery {
    /// The approved warning version that was passed.
    pub warning_version: u32,
    /// Which hop of the route (1 = first).
    pub hop: u32,
    pub status: DeliveryStatus,
    /// Who passed it (person or office).
    pub sender: Name,
    /// Who took it (person, role, organisation).
    pub receiver: Name,
    pub channel: Channel,
    pub medium: Medium,
    pub at: Timestamp,
    /// The recipient's time zone, to state the time as they knew it.
    pub time_zone: TimeZoneName,
    pub language: LanguageTag,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<Proof>,
    /// Why it failed (only with status failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Note>,
    /// 1 for the first attempt on this hop, 2 for the first retry...
    pub attempt: u32,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct DeliveryInput {
    warning_version: u32,
    hop: u32,
    status: DeliveryStatus,
    sender: Name,
    receiver: Name,
    channel: Channel,
    medium: Medium,
    at: Timestamp,
    time_zone: TimeZoneName,
    language: LanguageTag,
    #[serde(default)]
    proof: Option<Proof>,
    #[serde(default)]
    failure: Option<Note>,
    #[serde(default = "one")]
    attempt: u32,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    #[error("a failed delivery needs a failure reason")]
    FailureWithoutReason,
    #[error("only a failed delivery has a failure reason")]
    ReasonWithoutFailure,
    #[error("hop, warning_version and attempt count from 1")]
    Zero,
}

impl TryFrom<DeliveryInput> for Delivery {
    type Error = DeliveryError;
    fn try_from(d: DeliveryInput) -> Result<Self, DeliveryError> {
        if d.hop == 0 || d.warning_version == 0 || d.attempt == 0 {
            return Err(DeliveryError::Zero);
        }
        match (d.status, &d.failure) {
            (DeliveryStatus::Failed, None) => return Err(DeliveryError::FailureWithoutReason),
            (s, Some(_)) if s != DeliveryStatus::Failed => {
                return Err(DeliveryError::ReasonWithoutFailure);
            }
            _ => {}
        }
        Ok(Delivery {
            warning_version: d.warning_version,
            hop: d.hop,
            status: d.status,
            sender: d.sender,
            receiver: d.receiver,
            channel: d.channel,
            medium: d.medium,
            at: d.at,
            time_zone: d.time_zone,
            language: d.language,
            proof: d.proof,
            failure: d.failure,
            attempt: d.attempt,
        })
    }
}

impl Delivery {
    /// Builds a delivery record, checking it like the wire form.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        warning_version: u32,
        hop: u32,
        status: DeliveryStatus,
        sender: Name,
        receiver: Name,
        channel: Channel,
        medium: Medium,
        at: Timestamp,
        time_zone: TimeZoneName,
        language: LanguageTag,
        proof: Option<Proof>,
        failure: Option<Note>,
        attempt: u32,
    ) -> Result<Self, DeliveryError> {
        DeliveryInput {
            warning_version,
            hop,
            status,
            sender,
            receiver,
            channel,
            medium,
            at,
            time_zone,
            language,
            proof,
            failure,
            attempt,
        }
        .try_into()
    }
}

/// How the recipient reacted.
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
pub enum ResponseKind {
    NoResponse,
    Acknowledged,
    RequestedMoreInformation,
    Disputed,
    Dismissed,
    ActionReported,
    ActionObserved,
}

impl ResponseKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoResponse => "no_response",
            Self::Acknowledged => "acknowledged",
            Self::RequestedMoreInformation => "requested_more_information",
            Self::Disputed => "disputed",
            Self::Dismissed => "dismissed",
            Self::ActionReported => "action_reported",
            Self::ActionObserved => "action_observed",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Response {
    pub kind: ResponseKind,
    /// When the response was given or observed.
    pub at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<Note>,
}

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
pub enum Outcome {
    Prevented,
    AttackOccurred,
    NoEvent,
    Unknown,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Prevented => "prevented",
            Self::AttackOccurred => "attack_occurred",
            Self::NoEvent => "no_event",
            Self::Unknown => "unknown",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OutcomeRecord {
    pub outcome: Outcome,
    /// When it happened, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<Note>,
}

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
pub enum AdvisoryChoice {
    Issued,
    NotIssued,
}

/// The "no double standard" decision: whether the public is told too.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(try_from = "AdvisoryInput")]
pub struct AdvisoryDecision {
    pub decision: AdvisoryChoice,
    pub reason: Reason,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_at: Option<Timestamp>,
    /// The text of the advisory as published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<Note>,
    /// Who published it (an embassy, a press office).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<Name>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct AdvisoryInput {
    decision: AdvisoryChoice,
    reason: Reason,
    #[serde(default)]
    issued_at: Option<Timestamp>,
    #[serde(default)]
    text: Option<Note>,
    #[serde(default)]
    issuer: Option<Name>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdvisoryError {
    #[error("an issued advisory needs issued_at")]
    IssuedWithoutTime,
    #[error("an advisory that was not issued has no issued_at, text or issuer")]
    DetailsWithoutIssue,
}

impl TryFrom<AdvisoryInput> for AdvisoryDecision {
    type Error = AdvisoryError;
    fn try_from(a: AdvisoryInput) -> Result<Self, AdvisoryError> {
        AdvisoryDecision::new(a.decision, a.reason, a.issued_at, a.text, a.issuer)
    }
}

impl AdvisoryDecision {
    pub fn new(
        decision: AdvisoryChoice,
        reason: Reason,
        issued_at: Option<Timestamp>,
        text: Option<Note>,
        issuer: Option<Name>,
    ) -> Result<Self, AdvisoryError> {
        match decision {
            AdvisoryChoice::Issued if issued_at.is_none() => {
                return Err(AdvisoryError::IssuedWithoutTime);
            }
            AdvisoryChoice::NotIssued
                if issued_at.is_some() || text.is_some() || issuer.is_some() =>
            {
                return Err(AdvisoryError::DetailsWithoutIssue);
            }
            _ => {}
        }
        Ok(Self {
            decision,
            reason,
            issued_at,
            text,
            issuer,
        })
    }
}

/// Categories a warning withheld.
pub type Withheld = BTreeSet<WithheldCategory>;

#[cfg(test)]
mod tests {
    use super::*;

    fn party(name: &str, kind: PartyKind, c: &str) -> Party {
        Party {
            name: Name::new(name).unwrap(),
            kind,
            country: Some(CountryCode::new(c).unwrap()),
        }
    }

    #[test]
    fn routes_must_chain_to_the_recipient() {
        let us = party("US Government", PartyKind::OwnElement, "US");
        let ch = party("Swiss Foreign Ministry", PartyKind::ProtectingPower, "CH");
        let ir = party(
            "Iranian Ministry of Intelligence",
            PartyKind::SecurityService,
            "IR",
        );
        let hops = NonEmptyVec::new(vec![
            Hop {
                from: us.clone(),
                to: ch.clone(),
                channel: Channel::DiplomaticNote,
            },
            Hop {
                from: ch.clone(),
                to: ir.clone(),
                channel: Channel::ProtectingPower,
            },
        ])
        .unwrap();
        let r = Route::new(ir.clone(), hops.clone()).unwrap();
        assert_eq!(r.hops().len(), 2);
        assert!(r.describe().contains("Swiss"));
        assert!(matches!(
            Route::new(ch.clone(), hops),
            Err(RouteError::WrongEnd { .. })
        ));
        let broken = NonEmptyVec::new(vec![
            Hop {
                from: us.clone(),
                to: ch.clone(),
                channel: Channel::DiplomaticNote,
            },
            Hop {
                from: us.clone(),
                to: ir.clone(),
                channel: Channel::ProtectingPower,
            },
        ])
        .unwrap();
        assert!(matches!(
            Route::new(ir, broken),
            Err(RouteError::Broken { n: 2, .. })
        ));
    }

    #[test]
    fn text_hash_is_of_exact_bytes() {
        let a = WarningText::new("Threat to the event.").unwrap();
        let b = WarningText::new("Threat to the event. ").unwrap();
        assert_ne!(a.sha256(), b.sha256());
        assert_eq!(a.sha256().len(), 64);
    }

    #[test]
    fn language_tags() {
        for ok in ["en", "fa", "ru", "en-GB", "zh-Hant-TW"] {
            assert!(LanguageTag::new(ok).is_ok(), "{ok}");
        }
        for bad in ["", "e", "english", "en_GB", "en-", "1a"] {
            assert!(LanguageTag::new(bad).is_err(), "{bad}");
        }
    }
}
