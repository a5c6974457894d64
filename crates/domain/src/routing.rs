//! Route planning: who could receive the warning, and how it gets there
//! (DOMAIN.md section 4).
//!
//! [`plan`] takes the facts of a case that matter for routing
//! ([`RoutingFacts`], built from a [`Case`] by [`RoutingFacts::from_case`]),
//! the element that will send the warning, the [`Relations`] table and the
//! [`Directory`], and returns a [`RoutePlan`]: ranked [`Candidate`] routes,
//! each with a reason, and the routes it considered and [`Excluded`], each
//! with why. The analyst chooses one (`Command::ChooseRoute`); the others
//! become the recorded alternatives ([`RoutePlan::alternatives`]).
//!
//! The options, with their scores ([`score`]):
//!
//! * the victim directly (a person, a group, an organisation), where they
//!   are: their recorded whereabouts ([`Victim::whereabouts`]) when the
//!   report gives them, else where the threat is expected;
//! * consular: our embassy's security officer, for our nationals abroad;
//! * domestic law enforcement for victims in our own state (the FBI in the
//!   United States), which then warns the victim in person;
//! * the protector: the host state's security service, police or foreign
//!   ministry, a venue's, company's or school's security;
//! * by service-to-service liaison where the host state has liaison-only
//!   relations with us;
//! * through the protecting power where there are no relations: two hops,
//!   us → the protecting power's section → the host state's organ.
//!
//! **Our own offices are never a relay.** The directory marks which of its
//! entries are ours (`own_office`); no route passes through one, or ends at
//! one, and when one of them is domestic law enforcement we are: the route
//! to a victim at home is one hop from the sending element.
//!
//! **The threat actor is never the protector.** When a case's threat actor
//! is a state (or one of its organs), no candidate delivers to, or relays
//! through, an organ of that state; such routes are listed as excluded with
//! the reason. When the state behind the threat is not identified, no organ
//! of a foreign state is proposed until it is.
//!
//! Pure: no IO, no clock; the same inputs always give the same plan.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::case::Case;
use crate::delivery::{Channel, Hop, Party, PartyKind, Route, RouteAlternative, RouteError};
use crate::geo::{CountryCode, Location};
use crate::reference::{Directory, RecipientEntry, RecipientId, Relation, Relations};
use crate::report::{ActorKind, NonEmptyVec, TargetKind, ThreatActor, ThreatReport, Victim};
use crate::text::{Name, Note, Reason};

/// The scores [`plan`] gives each option (higher is better). They encode
/// DOMAIN.md section 4: warn those who can act soonest, prefer domestic
/// law enforcement for victims at home, and every relay costs time and is
/// one more place where a warning can be lost.
pub mod score {
    /// Domestic law enforcement warns a victim in our own state.
    pub const DOMESTIC_LAW_ENFORCEMENT: u32 = 95;
    /// The host state's security service: protects the victims and can act at once.
    pub const HOST_SECURITY_SERVICE: u32 = 90;
    /// The host state's police.
    pub const HOST_POLICE: u32 = 85;
    /// Our consular or embassy security officer, for our nationals abroad.
    pub const CONSULAR: u32 = 85;
    /// The victim directly, abroad.
    pub const VICTIM_ABROAD: u32 = 80;
    /// The security of a venue, company or school named in the case.
    pub const SITE_PROTECTOR: u32 = 75;
    /// The host state's foreign ministry (it must pass the warning on).
    pub const HOST_FOREIGN_MINISTRY: u32 = 70;
    /// The host state's embassy accredited to us (it must pass the warning on).
    pub const HOST_EMBASSY: u32 = 65;
    /// The victim directly, in our own state (domestic law enforcement is preferred).
    pub const VICTIM_AT_HOME: u32 = 70;
    /// The victim directly, whereabouts not recorded.
    pub const VICTIM_WHEREABOUTS_UNKNOWN: u32 = 60;
    /// Subtracted for every hop after the first.
    pub const PER_RELAY: u32 = 5;
    /// Subtracted when the protecting power's own ministry or embassy relays
    /// because its section for the host state is not in the directory.
    pub const PROTECTING_POWER_FALLBACK: u32 = 5;
}

/// What [`plan`] needs to know about a case.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RoutingFacts {
    /// What the threat is aimed at.
    pub target_kind: TargetKind,
    /// The intended victims (all reports).
    pub victims: Vec<Victim>,
    /// Where the threat is expected (all reports; the first is the main one).
    pub locations: Vec<Location>,
    /// Who threatens (all reports).
    pub threat_actors: Vec<ThreatActor>,
}

fn push_unique<T: PartialEq + Clone>(v: &mut Vec<T>, t: &T) {
    if !v.contains(t) {
        v.push(t.clone());
    }
}

impl RoutingFacts {
    /// The facts of one report.
    pub fn from_report(r: &ThreatReport) -> Self {
        Self::from_reports(std::iter::once(r))
    }

    /// The facts of a case: the target kind of the report that opened it;
    /// the victims, locations and threat actors of all its reports, without
    /// duplicates, in the order they arrived.
    pub fn from_case(case: &Case) -> Self {
        Self::from_reports(case.reports.iter().map(|r| &r.report))
    }

    fn from_reports<'a>(mut reports: impl Iterator<Item = &'a ThreatReport>) -> Self {
        let first = reports
            .next()
            .expect("a case always has its opening report");
        let mut facts = RoutingFacts {
            target_kind: first.target.kind,
            victims: vec![],
            locations: vec![],
            threat_actors: vec![],
        };
        for r in std::iter::once(first).chain(reports) {
            for v in r.target.victims.iter() {
                push_unique(&mut facts.victims, v);
            }
            if let Some(l) = &r.location {
                push_unique(&mut facts.locations, l);
            }
            if let Some(a) = &r.threat_actor {
                push_unique(&mut facts.threat_actors, a);
            }
        }
        facts
    }

    /// The states where the threat is expected, in order, without duplicates.
    pub fn host_countries(&self) -> Vec<CountryCode> {
        let mut out = Vec::new();
        for l in &self.locations {
            push_unique(&mut out, &l.country);
        }
        out
    }

    /// The states behind the threat (threat actors of kind `state` with a country).
    pub fn threat_states(&self) -> BTreeSet<CountryCode> {
        self.threat_actors
            .iter()
            .filter(|a| a.kind == ActorKind::State)
            .filter_map(|a| a.country)
            .collect()
    }

    /// A threat actor that is a state, but which state is not recorded.
    pub fn unidentified_state_actor(&self) -> Option<&ThreatActor> {
        self.threat_actors
            .iter()
            .find(|a| a.kind == ActorKind::State && a.country.is_none())
    }

    fn targets_people_directly(&self) -> bool {
        matches!(
            self.target_kind,
            TargetKind::Person | TargetKind::Group | TargetKind::Organisation
        )
    }

    /// Text a site protector's sites are matched against.
    fn site_text(&self) -> String {
        let mut s = String::new();
        for l in &self.locations {
            s.push_str(l.description.as_str());
            s.push('\n');
            if let Some(loc) = &l.locality {
                s.push_str(loc.as_str());
                s.push('\n');
            }
        }
        for v in &self.victims {
            s.push_str(v.label());
            s.push('\n');
        }
        s
    }
}

/// What kind of option a candidate is.
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
pub enum Approach {
    /// Straight to the intended victim.
    VictimDirect,
    /// Our consular or embassy security officer, for our nationals abroad.
    Consular,
    /// Domestic law enforcement, for victims in our own state.
    DomesticLawEnforcement,
    /// Those responsible for protecting the victims (a host state's organ, venue security...).
    Protector,
    /// Service-to-service liaison where only liaison relations exist.
    Liaison,
    /// Through the protecting power where there are no relations.
    ProtectingPower,
}

impl Approach {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::VictimDirect => "victim_direct",
            Self::Consular => "consular",
            Self::DomesticLawEnforcement => "domestic_law_enforcement",
            Self::Protector => "protector",
            Self::Liaison => "liaison",
            Self::ProtectingPower => "protecting_power",
        }
    }
}

/// A proposed route with its rank, score and the reason for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Candidate {
    /// 1 = best.
    pub rank: u32,
    /// See [`score`].
    pub score: u32,
    pub approach: Approach,
    pub route: Route,
    /// One or two sentences: who receives it, why them, why this way.
    pub reason: Reason,
    /// The recipient's directory entry, when the recipient comes from the directory.
    pub recipient_id: Option<RecipientId>,
}

/// Why a route was considered and not proposed.
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
pub enum ExclusionCause {
    /// It delivers to, or relays through, an organ of the state behind the threat.
    ThreatActorState,
    /// The threat actor is a state whose country is not recorded, and the
    /// route reaches an organ of a foreign state.
    UnidentifiedStateActor,
    /// No relations with the host state: only the protecting power can carry it.
    NoRelations,
    /// Liaison-only relations: no diplomatic note can be passed.
    LiaisonOnly,
}

impl ExclusionCause {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ThreatActorState => "threat_actor_state",
            Self::UnidentifiedStateActor => "unidentified_state_actor",
            Self::NoRelations => "no_relations",
            Self::LiaisonOnly => "liaison_only",
        }
    }
}

/// A route considered and not proposed, with why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Excluded {
    pub route: Route,
    pub cause: ExclusionCause,
    pub reason: Note,
}

/// The planner's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RoutePlan {
    /// Best first; ranks are 1, 2, 3... and scores never increase.
    pub candidates: Vec<Candidate>,
    /// Routes considered and ruled out, each with why.
    pub excluded: Vec<Excluded>,
    /// Gaps in the reference data and things to decide besides the route
    /// (a public advisory when the victims cannot be reached one by one).
    pub notes: Vec<String>,
}

impl RoutePlan {
    /// The top-ranked candidate.
    pub fn best(&self) -> Option<&Candidate> {
        self.candidates.first()
    }

    /// Every candidate and excluded route other than `chosen`, as the
    /// alternatives `Command::ChooseRoute` records, each with why it was not
    /// chosen.
    pub fn alternatives(&self, chosen: &Route) -> Vec<RouteAlternative> {
        let mut out = Vec::new();
        for c in &self.candidates {
            if &c.route != chosen {
                out.push(RouteAlternative {
                    route: c.route.clone(),
                    reason: note(format!(
                        "Candidate ranked {} (score {}), not chosen: {}",
                        c.rank, c.score, c.reason
                    )),
                });
            }
        }
        for e in &self.excluded {
            if &e.route != chosen {
                out.push(RouteAlternative {
                    route: e.route.clone(),
                    reason: note(format!("Excluded: {}", e.reason)),
                });
            }
        }
        out
    }
}

/// Why [`plan`] could not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoutingError {
    #[error("the sending element must be one of our own elements (kind own_element), not '{0}'")]
    NotOurElement(String),
    #[error(transparent)]
    Route(#[from] RouteError),
}

fn note(s: String) -> Note {
    // Generated sentences are never blank; names in them are bounded (300 characters).
    let s: String = s.chars().take(Note::MAX_CHARS).collect();
    Note::new(s).unwrap_or_else(|_| unreachable!("generated routing sentences are never blank"))
}

fn reason(s: String) -> Reason {
    let s: String = s.chars().take(Reason::MAX_CHARS).collect();
    Reason::new(s).unwrap_or_else(|_| unreachable!("generated routing sentences are never blank"))
}

/// The party for a victim: the name, or the first line of the description.
fn victim_party(v: &Victim, country: Option<CountryCode>) -> Party {
    let label = v.label().lines().next().unwrap_or("").trim();
    let label: String = label.chars().take(Name::MAX_CHARS).collect();
    let name = Name::new(label).unwrap_or_else(|_| {
        Name::new("The intended victim").unwrap_or_else(|_| unreachable!("literal"))
    });
    Party {
        name,
        kind: PartyKind::Victim,
        country,
    }
}

struct Proposal {
    score: u32,
    approach: Approach,
    route: Route,
    reason: String,
    recipient_id: Option<RecipientId>,
}

struct Planner<'a> {
    facts: &'a RoutingFacts,
    us: &'a Party,
    ours: CountryCode,
    relations: &'a Relations,
    directory: &'a Directory,
    threat_states: BTreeSet<CountryCode>,
    proposals: Vec<Proposal>,
    excluded: Vec<Excluded>,
    notes: Vec<String>,
}

impl<'a> Planner<'a> {
    /// A route from us through `legs` (receiver, channel).
    fn route(&self, legs: Vec<(Party, Channel)>) -> Result<Route, RouteError> {
        let mut hops = Vec::with_capacity(legs.len());
        let mut from = self.us.clone();
        for (to, channel) in legs {
            hops.push(Hop {
                from: from.clone(),
                to: to.clone(),
                channel,
            });
            from = to;
        }
        let hops = NonEmptyVec::new(hops).map_err(|_| RouteError::NotOurs(String::new()))?;
        Route::new(from, hops)
    }

    /// Why `route` must not be proposed because of who threatens, if it must not.
    /// An organ of a state behind the threat anywhere on the route is the
    /// most specific reason, so every hop is looked at for it first.
    fn threat_actor_exclusion(&self, route: &Route) -> Option<(ExclusionCause, String)> {
        for hop in route.hops() {
            let to = &hop.to;
            if !to.kind.is_state_organ() {
                continue;
            }
            if let Some(country) = to.country
                && self.threat_states.contains(&country)
            {
                let actors: Vec<&str> = self
                    .facts
                    .threat_actors
                    .iter()
                    .filter(|a| a.kind == ActorKind::State && a.country == Some(country))
                    .map(|a| a.name.as_str())
                    .collect();
                return Some((
                    ExclusionCause::ThreatActorState,
                    format!(
                        "{} is an organ of {}, the state behind the threat ({}): the threat actor is never the protector, nor a relay.",
                        to.name,
                        country.name(),
                        actors.join(", ")
                    ),
                ));
            }
        }
        for hop in route.hops() {
            let to = &hop.to;
            if !to.kind.is_state_organ() {
                continue;
            }
            let Some(country) = to.country else {
                if !self.threat_states.is_empty() || self.facts.unidentified_state_actor().is_some()
                {
                    return Some((
                        ExclusionCause::UnidentifiedStateActor,
                        format!(
                            "{} is an organ of a state that is not recorded, and a state is behind the threat: the threat actor is never the protector.",
                            to.name
                        ),
                    ));
                }
                continue;
            };
            if country != self.ours
                && let Some(a) = self.facts.unidentified_state_actor()
            {
                return Some((
                    ExclusionCause::UnidentifiedStateActor,
                    format!(
                        "{} is an organ of {}, and the threat actor ({}) is a state whose country is not recorded: no foreign state organ is proposed until it is.",
                        to.name,
                        country.name(),
                        a.name
                    ),
                ));
            }
        }
        None
    }

    fn propose(
        &mut self,
        score: u32,
        approach: Approach,
        route: Route,
        reason: String,
        recipient_id: Option<RecipientId>,
    ) {
        if let Some((cause, why)) = self.threat_actor_exclusion(&route) {
            self.exclude(route, cause, why);
            return;
        }
        if self.proposals.iter().any(|p| p.route == route) || self.reaches_ours(&route) {
            return;
        }
        self.proposals.push(Proposal {
            score,
            approach,
            route,
            reason,
            recipient_id,
        });
    }

    /// Whether a hop of `route` ends at one of our own offices (or at us):
    /// they are never a relay nor a recipient. The planner never builds
    /// such a route; this is the last guard.
    fn reaches_ours(&self, route: &Route) -> bool {
        route.hops().iter().any(|h| {
            h.to.kind == PartyKind::OwnElement
                || h.to
                    .name
                    .as_str()
                    .eq_ignore_ascii_case(self.us.name.as_str())
                || self
                    .directory
                    .own_offices()
                    .any(|o| o.name.as_str().eq_ignore_ascii_case(h.to.name.as_str()))
        })
    }

    fn exclude(&mut self, route: Route, cause: ExclusionCause, why: String) {
        // The threat actor outranks every other reason to exclude.
        let (cause, why) = self.threat_actor_exclusion(&route).unwrap_or((cause, why));
        if self.excluded.iter().any(|e| e.route == route) {
            return;
        }
        self.excluded.push(Excluded {
            route,
            cause,
            reason: note(why),
        });
    }

    fn relays(route: &Route) -> u32 {
        route.hops().len() as u32 - 1
    }

    fn domestic_law_enforcement(&self) -> Vec<&'a RecipientEntry> {
        let directory: &'a Directory = self.directory;
        directory
            .in_country(self.ours)
            .filter(|e| matches!(e.kind, PartyKind::Police | PartyKind::SecurityService))
            .collect()
    }

    /// Whether `e` is one of our own offices: marked `own_office` in the
    /// directory, or the sending element itself (by name, for a directory
    /// that marks none). Such an entry is never a relay nor a recipient.
    fn is_ours(&self, e: &RecipientEntry) -> bool {
        e.own_office || e.name.as_str().eq_ignore_ascii_case(self.us.name.as_str())
    }

    /// Entries of the directory that may be a relay or a recipient (not ours).
    fn others(&self) -> impl Iterator<Item = &'a RecipientEntry> + '_ {
        let directory: &'a Directory = self.directory;
        directory.entries().iter().filter(|e| !self.is_ours(e))
    }

    /// "X is in Y", with the victim's recorded whereabouts and, when they
    /// are elsewhere, where the threat is expected: the start of every
    /// reason for warning a victim.
    fn victim_is_in(
        victim: &Party,
        v: &Victim,
        country: CountryCode,
        threat_at: Option<CountryCode>,
    ) -> String {
        match (&v.whereabouts, threat_at) {
            (Some(w), Some(t)) if t != w.country => format!(
                "{} is in {w} (their recorded whereabouts), away from where the threat is expected ({}), and is warned where they are",
                victim.name,
                t.name()
            ),
            (Some(w), _) => format!("{} is in {w} (their recorded whereabouts)", victim.name),
            (None, _) => format!("{} is in {}", victim.name, country.name()),
        }
    }

    /// The victim directly, or through domestic law enforcement or our
    /// consul, where they are: their recorded whereabouts, else where the
    /// threat is expected, else their nationality.
    fn victims(&mut self) -> Result<(), RouteError> {
        if !self.facts.targets_people_directly() {
            return Ok(());
        }
        let threat_at = self.facts.host_countries().first().copied();
        for v in self.facts.victims.clone() {
            let country = v
                .whereabouts
                .as_ref()
                .map(|w| w.country)
                .or(threat_at)
                .or(v.nationality);
            let victim = victim_party(&v, country);
            if let (Some(w), Some(t)) = (&v.whereabouts, threat_at)
                && w.country != t
            {
                let gap = format!(
                    "{} is in {}, away from where the threat is expected ({}): they are warned where they are, and the protectors where the threat is.",
                    victim.name,
                    w.country.name(),
                    t.name()
                );
                if !self.notes.contains(&gap) {
                    self.notes.push(gap);
                }
            }
            match country {
                Some(c) if c == self.ours => {
                    let is_in = Self::victim_is_in(&victim, &v, c, threat_at);
                    self.victim_at_home(&victim, &is_in)?;
                }
                Some(c) => {
                    let is_in = Self::victim_is_in(&victim, &v, c, threat_at);
                    if v.nationality == Some(self.ours) {
                        let route = self.route(vec![(victim.clone(), Channel::Consular)])?;
                        let why = format!(
                            "{is_in}; a national of {}: our consular or embassy security officer warns them.",
                            self.ours.name()
                        );
                        self.propose(score::CONSULAR, Approach::Consular, route, why, None);
                    }
                    let route = self.route(vec![(victim.clone(), Channel::Direct)])?;
                    let why = format!(
                        "Warn {} directly (in person, by phone or written notice) in {}.",
                        victim.name,
                        c.name()
                    );
                    self.propose(
                        score::VICTIM_ABROAD,
                        Approach::VictimDirect,
                        route,
                        why,
                        None,
                    );
                }
                None => {
                    let route = self.route(vec![(victim.clone(), Channel::Direct)])?;
                    let why = format!(
                        "Warn {} directly; where they are is not recorded, so no protector can be named.",
                        victim.name
                    );
                    self.propose(
                        score::VICTIM_WHEREABOUTS_UNKNOWN,
                        Approach::VictimDirect,
                        route,
                        why,
                        None,
                    );
                }
            }
        }
        Ok(())
    }

    /// A victim in our own state: through domestic law enforcement (in one
    /// hop when it is one of our own offices: then we are it), or directly.
    fn victim_at_home(&mut self, victim: &Party, is_in: &str) -> Result<(), RouteError> {
        let (ours, others): (Vec<&RecipientEntry>, Vec<&RecipientEntry>) = self
            .domestic_law_enforcement()
            .into_iter()
            .partition(|e| self.is_ours(e));
        if let Some(first) = ours.first() {
            let names: Vec<&str> = ours.iter().map(|e| e.name.as_str()).collect();
            let route = self.route(vec![(victim.clone(), Channel::LawEnforcement)])?;
            let why = format!(
                "{is_in}: we are domestic law enforcement there ({}, our own), so we warn them ourselves, in person where possible, with no relay.",
                names.join(", ")
            );
            self.propose(
                score::DOMESTIC_LAW_ENFORCEMENT,
                Approach::DomesticLawEnforcement,
                route,
                why,
                Some(first.id.clone()),
            );
        }
        for le in others {
            let route = self.route(vec![
                (le.party(), Channel::LawEnforcement),
                (victim.clone(), Channel::Direct),
            ])?;
            let why = format!(
                "{is_in}: domestic law enforcement ({}) warns victims in our own state, in person where possible.",
                le.name
            );
            let s = score::DOMESTIC_LAW_ENFORCEMENT - score::PER_RELAY * Self::relays(&route);
            self.propose(
                s,
                Approach::DomesticLawEnforcement,
                route,
                why,
                Some(le.id.clone()),
            );
        }
        let route = self.route(vec![(victim.clone(), Channel::Direct)])?;
        let why = format!(
            "Warn {} directly; for a victim in our own state domestic law enforcement is preferred.",
            victim.name
        );
        self.propose(
            score::VICTIM_AT_HOME,
            Approach::VictimDirect,
            route,
            why,
            None,
        );
        Ok(())
    }

    /// Domestic law enforcement as the protector of a place, gathering or organisation at home.
    fn domestic_protectors(&mut self) -> Result<(), RouteError> {
        if matches!(
            self.facts.target_kind,
            TargetKind::Person | TargetKind::Group
        ) {
            return Ok(()); // covered by warning the victim through law enforcement
        }
        for le in self.domestic_law_enforcement() {
            if self.is_ours(le) {
                let ourselves = format!(
                    "The threat is in {}, and we are its domestic law enforcement ({}): protect the target ourselves.",
                    self.ours.name(),
                    le.name
                );
                if !self.notes.contains(&ourselves) {
                    self.notes.push(ourselves);
                }
                continue;
            }
            let route = self.route(vec![(le.party(), Channel::LawEnforcement)])?;
            let why = format!(
                "The threat is in {}: domestic law enforcement ({}) protects the target.",
                self.ours.name(),
                le.name
            );
            self.propose(
                score::DOMESTIC_LAW_ENFORCEMENT,
                Approach::DomesticLawEnforcement,
                route,
                why,
                Some(le.id.clone()),
            );
        }
        Ok(())
    }

    /// The host state's organs, as the relation with it allows.
    fn host_protectors(&mut self, host: CountryCode) -> Result<(), RouteError> {
        let relation = self.relations.relation(host);
        let organs: Vec<RecipientEntry> = self
            .others()
            .filter(|e| e.country == host)
            .filter(|e| {
                matches!(
                    e.kind,
                    PartyKind::SecurityService
                        | PartyKind::Police
                        | PartyKind::ForeignMinistry
                        | PartyKind::Embassy
                )
            })
            .cloned()
            .collect();
        if organs.is_empty() {
            self.notes.push(format!(
                "No security service, police or foreign ministry of {} is in the recipients directory: add one to warn the host state.",
                host.name()
            ));
        }
        for e in &organs {
            let (base, direct_channel, what) = match e.kind {
                PartyKind::SecurityService => (
                    score::HOST_SECURITY_SERVICE,
                    Channel::ServiceLiaison,
                    "security service",
                ),
                PartyKind::Police => (score::HOST_POLICE, Channel::ServiceLiaison, "police"),
                PartyKind::ForeignMinistry => (
                    score::HOST_FOREIGN_MINISTRY,
                    Channel::DiplomaticNote,
                    "foreign ministry",
                ),
                _ => (score::HOST_EMBASSY, Channel::DiplomaticNote, "embassy"),
            };
            let protects = if matches!(e.kind, PartyKind::SecurityService | PartyKind::Police) {
                format!(
                    "{}'s {} ({}) protects the victims there",
                    host.name(),
                    what,
                    e.name
                )
            } else {
                format!(
                    "{}'s {} ({}) passes the warning to those who protect the victims",
                    host.name(),
                    what,
                    e.name
                )
            };
            let direct = self.route(vec![(e.party(), direct_channel)])?;
            match relation {
                Relation::Direct => {
                    let how = if direct_channel == Channel::ServiceLiaison {
                        "service-to-service liaison"
                    } else {
                        "a diplomatic note"
                    };
                    let why = format!(
                        "The threat is in {}. {protects}; we have direct relations, so the warning goes by {how}.",
                        host.name()
                    );
                    self.propose(base, Approach::Protector, direct, why, Some(e.id.clone()));
                }
                Relation::LiaisonOnly => {
                    if direct_channel == Channel::ServiceLiaison {
                        let why = format!(
                            "The threat is in {}. {protects}; only service-to-service liaison exists with {}, so the warning goes that way.",
                            host.name(),
                            host.name()
                        );
                        self.propose(base, Approach::Liaison, direct, why, Some(e.id.clone()));
                    } else {
                        let why = format!(
                            "Only service-to-service liaison exists with {}: no diplomatic note can be passed to {}.",
                            host.name(),
                            e.name
                        );
                        self.exclude(direct, ExclusionCause::LiaisonOnly, why);
                    }
                }
                Relation::NoRelations { protecting_power } => {
                    let why = format!(
                        "There are no relations between us ({}) and {}: a direct warning to {} is not possible; it goes through the protecting power, {}.",
                        self.ours.name(),
                        host.name(),
                        e.name,
                        protecting_power.name()
                    );
                    self.exclude(direct, ExclusionCause::NoRelations, why);
                    self.via_protecting_power(host, protecting_power, e, base, &protects)?;
                }
            }
        }
        Ok(())
    }

    fn via_protecting_power(
        &mut self,
        host: CountryCode,
        pp: CountryCode,
        organ: &RecipientEntry,
        base: u32,
        protects: &str,
    ) -> Result<(), RouteError> {
        let section = self
            .directory
            .protecting_power_section(pp, self.ours, host)
            .filter(|s| !self.is_ours(s))
            .cloned();
        let its_ministry = self
            .others()
            .filter(|e| e.country == pp)
            .find(|e| matches!(e.kind, PartyKind::ForeignMinistry | PartyKind::Embassy))
            .cloned();
        let (relay, fallback) = match section {
            Some(s) => (s, false),
            None => match its_ministry {
                Some(e) => (e, true),
                None => {
                    let gap = format!(
                        "There are no relations with {}, and the protecting power {} has no entry in the recipients directory: add its section representing us in {} to warn {}.",
                        host.name(),
                        pp.name(),
                        host.name(),
                        host.name()
                    );
                    if !self.notes.contains(&gap) {
                        self.notes.push(gap);
                    }
                    return Ok(());
                }
            },
        };
        let route = self.route(vec![
            (relay.party(), Channel::DiplomaticNote),
            (organ.party(), Channel::ProtectingPower),
        ])?;
        let mut s = base - score::PER_RELAY * Self::relays(&route);
        let mut why = format!(
            "The threat is in {}. {protects}. There are no relations between us ({}) and {}, so the warning goes through the protecting power, {}: a diplomatic note to {}, which passes it on ({} hops).",
            host.name(),
            self.ours.name(),
            host.name(),
            pp.name(),
            relay.name,
            route.hops().len()
        );
        if fallback {
            s -= score::PROTECTING_POWER_FALLBACK;
            why.push_str(&format!(
                " The protecting power's section in {} is not in the directory, so its {} relays.",
                host.name(),
                if relay.kind == PartyKind::Embassy {
                    "embassy"
                } else {
                    "foreign ministry"
                }
            ));
        }
        self.propose(
            s,
            Approach::ProtectingPower,
            route,
            why,
            Some(organ.id.clone()),
        );
        Ok(())
    }

    /// Venue, company or school security whose sites are named in the case.
    fn site_protectors(&mut self) -> Result<(), RouteError> {
        let text = self.facts.site_text();
        let sites: Vec<RecipientEntry> = self
            .others()
            .filter(|e| {
                matches!(
                    e.kind,
                    PartyKind::VenueSecurity
                        | PartyKind::CompanySecurity
                        | PartyKind::School
                        | PartyKind::Other
                )
            })
            .filter(|e| e.protects_site_in(&text))
            .cloned()
            .collect();
        for e in sites {
            let channel = match e.kind {
                PartyKind::VenueSecurity | PartyKind::CompanySecurity => {
                    Channel::PrivateSectorLiaison
                }
                _ => Channel::Direct,
            };
            let route = self.route(vec![(e.party(), channel)])?;
            let why = format!(
                "{} is responsible for the security of a place or organisation named in the case.",
                e.name
            );
            self.propose(
                score::SITE_PROTECTOR,
                Approach::Protector,
                route,
                why,
                Some(e.id.clone()),
            );
        }
        Ok(())
    }
}

/// Plans the routes a warning could take from `us` (one of our own
/// elements) to those who can act on it.
///
/// Our own offices (directory entries marked `own_office`, and the entry
/// named like `us` if any) are never a relay nor a recipient: every route
/// starts at `us` and reaches only others. When one of them is domestic law
/// enforcement (police or security service of our own state), we *are*
/// that law enforcement: a victim at home is then warned in one hop.
pub fn plan(
    facts: &RoutingFacts,
    us: &Party,
    relations: &Relations,
    directory: &Directory,
) -> Result<RoutePlan, RoutingError> {
    if us.kind != PartyKind::OwnElement {
        return Err(RoutingError::NotOurElement(us.name.to_string()));
    }
    let mut p = Planner {
        facts,
        us,
        ours: relations.our_state(),
        relations,
        directory,
        threat_states: facts.threat_states(),
        proposals: vec![],
        excluded: vec![],
        notes: vec![],
    };
    p.victims()?;
    let hosts = facts.host_countries();
    for host in &hosts {
        if *host == p.ours {
            p.domestic_protectors()?;
        } else {
            p.host_protectors(*host)?;
        }
    }
    p.site_protectors()?;
    if hosts.is_empty() {
        p.notes.push(
            "Where the threat is expected is not recorded: no host state's protector can be named."
                .to_owned(),
        );
    }
    if matches!(facts.target_kind, TargetKind::Place | TargetKind::Gathering) {
        p.notes.push(
            "The people at risk cannot be reached one by one: consider a public advisory as well (no double standard); it is decided and recorded on its own."
                .to_owned(),
        );
    }
    if let Some(a) = facts.unidentified_state_actor() {
        p.notes.push(format!(
            "The threat actor ({}) is a state whose country is not recorded: record it, so that its organs can be told apart from the protectors.",
            a.name
        ));
    }
    let mut proposals = p.proposals;
    proposals.sort_by(|a, b| {
        b.score
            .cmp(&a.score)
            .then(a.route.hops().len().cmp(&b.route.hops().len()))
            .then_with(|| a.route.describe().cmp(&b.route.describe()))
    });
    let candidates = proposals
        .into_iter()
        .enumerate()
        .map(|(i, pr)| Candidate {
            rank: i as u32 + 1,
            score: pr.score,
            approach: pr.approach,
            route: pr.route,
            reason: reason(pr.reason),
            recipient_id: pr.recipient_id,
        })
        .collect();
    Ok(RoutePlan {
        candidates,
        excluded: p.excluded,
        notes: p.notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;
    use crate::geo::Whereabouts;
    use crate::text::Note;
    use proptest::prelude::*;

    fn cc(s: &str) -> CountryCode {
        CountryCode::new(s).unwrap()
    }

    fn own(name: &str) -> Party {
        Party {
            name: Name::new(name).unwrap(),
            kind: PartyKind::OwnElement,
            country: Some(cc("US")),
        }
    }

    fn plan_for(json: &str, us: &str) -> RoutePlan {
        let case = fixtures::case_of(&[fixtures::report(json)]);
        plan(
            &RoutingFacts::from_case(&case),
            &own(us),
            &Relations::us_default(),
            &Directory::builtin(),
        )
        .unwrap()
    }

    #[test]
    fn kerman_goes_through_switzerland_first() {
        let p = plan_for(fixtures::KERMAN, "US Department of State");
        let best = p.best().unwrap();
        assert_eq!(best.rank, 1);
        assert_eq!(best.approach, Approach::ProtectingPower);
        let hops = best.route.hops();
        assert_eq!(hops.len(), 2);
        assert_eq!(hops[0].from.name.as_str(), "US Department of State");
        assert_eq!(hops[0].channel, Channel::DiplomaticNote);
        assert_eq!(hops[0].to.kind, PartyKind::ProtectingPower);
        assert_eq!(hops[0].to.country, Some(cc("CH")));
        assert_eq!(hops[1].channel, Channel::ProtectingPower);
        assert_eq!(
            best.route.recipient().name.as_str(),
            "Government of Iran, Ministry of Intelligence"
        );
        assert_eq!(best.route.recipient().country, Some(cc("IR")));
        assert!(
            best.reason.as_str().contains("Switzerland"),
            "{}",
            best.reason
        );
        assert!(
            best.reason.as_str().contains("no relations"),
            "{}",
            best.reason
        );
        assert_eq!(best.recipient_id.as_ref().unwrap().as_str(), "ir-mois");
        // The foreign ministry through Switzerland is second.
        assert_eq!(p.candidates.len(), 2);
        assert_eq!(
            p.candidates[1].route.recipient().kind,
            PartyKind::ForeignMinistry
        );
        assert!(p.candidates[1].score < best.score);
        // Direct to Iran is excluded for no relations.
        let direct: Vec<&Excluded> = p
            .excluded
            .iter()
            .filter(|e| e.route.hops().len() == 1 && e.route.recipient().country == Some(cc("IR")))
            .collect();
        assert_eq!(direct.len(), 2, "{:#?}", p.excluded);
        assert!(
            direct
                .iter()
                .all(|e| e.cause == ExclusionCause::NoRelations)
        );
        assert!(direct[0].reason.as_str().contains("no relations"));
        // A gathering: no victim-direct route, and the public advisory is noted.
        assert!(
            p.candidates
                .iter()
                .all(|c| c.approach != Approach::VictimDirect)
        );
        assert!(p.notes.iter().any(|n| n.contains("public advisory")));
        // The route the scenario records is exactly the top candidate.
        let alts = p.alternatives(&best.route);
        assert_eq!(alts.len(), 1 + 2);
        assert!(alts.iter().all(|a| a.route != best.route));
    }

    #[test]
    fn crocus_goes_by_service_liaison_to_the_fsb() {
        let case = fixtures::case_of(&[
            fixtures::report(fixtures::CROCUS),
            fixtures::report(fixtures::CROCUS_SYNAGOGUE),
        ]);
        let facts = RoutingFacts::from_case(&case);
        assert_eq!(facts.locations.len(), 2);
        assert_eq!(facts.victims.len(), 2);
        assert_eq!(facts.threat_actors.len(), 1);
        let p = plan(
            &facts,
            &own("CIA Moscow Station"),
            &Relations::us_default(),
            &Directory::builtin(),
        )
        .unwrap();
        let best = p.best().unwrap();
        assert_eq!(best.route.hops().len(), 1);
        assert_eq!(best.route.hops()[0].channel, Channel::ServiceLiaison);
        assert_eq!(
            best.route.recipient().name.as_str(),
            "Federal Security Service (FSB)"
        );
        assert!(best.reason.as_str().contains("liaison"), "{}", best.reason);
        assert_eq!(
            p.candidates[1].route.hops()[0].channel,
            Channel::DiplomaticNote
        );
        assert!(p.excluded.is_empty(), "{:#?}", p.excluded);
    }

    fn edge3_plan(us: &str) -> RoutePlan {
        plan_for(fixtures::EDGE3, us)
    }

    fn touches(route: &Route, country: CountryCode) -> bool {
        route
            .hops()
            .iter()
            .any(|h| h.to.kind.is_state_organ() && h.to.country == Some(country))
    }

    #[test]
    fn edge3_the_victim_directly_through_the_fbi() {
        // An intelligence element: the FBI warns her, in person.
        let p = edge3_plan("Office of the Director of National Intelligence");
        let best = p.best().unwrap();
        assert_eq!(best.approach, Approach::DomesticLawEnforcement);
        let hops = best.route.hops();
        assert_eq!(hops.len(), 2);
        assert_eq!(
            hops[0].to.name.as_str(),
            "Federal Bureau of Investigation (FBI)"
        );
        assert_eq!(hops[0].channel, Channel::LawEnforcement);
        assert_eq!(hops[1].to.kind, PartyKind::Victim);
        assert_eq!(hops[1].channel, Channel::Direct);
        assert_eq!(
            best.route.recipient().name.as_str(),
            "Dissident journalist (name withheld)"
        );
        assert_eq!(p.candidates[1].approach, Approach::VictimDirect);
        // The plotting state is never proposed, nor even considered.
        for c in &p.candidates {
            assert!(!touches(&c.route, cc("IR")), "{}", c.route.describe());
            assert!(
                c.route
                    .hops()
                    .iter()
                    .all(|h| h.to.country != Some(cc("IR")))
            );
        }
        assert!(p.excluded.is_empty(), "{:#?}", p.excluded);

        // The FBI itself is the sending element: one hop, in person.
        let p = edge3_plan("Federal Bureau of Investigation (FBI)");
        let best = p.best().unwrap();
        assert_eq!(best.route.hops().len(), 1);
        assert_eq!(best.route.hops()[0].channel, Channel::LawEnforcement);
        assert_eq!(best.route.recipient().kind, PartyKind::Victim);
        assert_eq!(best.score, score::DOMESTIC_LAW_ENFORCEMENT);
    }

    fn facts(
        kind: TargetKind,
        host: Option<&str>,
        actor: Option<(ActorKind, Option<&str>)>,
    ) -> RoutingFacts {
        RoutingFacts {
            target_kind: kind,
            victims: vec![Victim::described(Note::new("People at risk").unwrap())],
            locations: host
                .map(|h| Location {
                    description: Name::new("A place").unwrap(),
                    country: cc(h),
                    locality: None,
                    point: None,
                })
                .into_iter()
                .collect(),
            threat_actors: actor
                .map(|(k, c)| ThreatActor {
                    name: Name::new("The plotters").unwrap(),
                    kind: k,
                    country: c.map(cc),
                    profile: Default::default(),
                })
                .into_iter()
                .collect(),
        }
    }

    fn extra_directory() -> Directory {
        let mut entries = Directory::builtin().entries().to_vec();
        let more = Directory::from_toml(
            r#"
[[recipient]]
id = "fr-dgsi"
name = "DGSI"
kind = "security_service"
country = "FR"
[[recipient.contact]]
channel = "service_liaison"
address = "liaison"

[[recipient]]
id = "fr-police"
name = "Police nationale"
kind = "police"
country = "FR"
[[recipient.contact]]
channel = "service_liaison"
address = "liaison"

[[recipient]]
id = "crocus-security"
name = "Crocus City Hall security"
kind = "venue_security"
country = "RU"
sites = ["Crocus City Hall"]
[[recipient.contact]]
channel = "private_sector_liaison"
address = "venue security office"

[[recipient]]
id = "ir-embassy-none"
name = "Swiss Foreign Ministry"
kind = "foreign_ministry"
country = "CH"
[[recipient.contact]]
channel = "diplomatic_note"
address = "Bern"
"#,
        )
        .unwrap();
        entries.extend(more.entries().iter().cloned());
        Directory::new(entries).unwrap()
    }

    #[test]
    fn a_state_plotting_at_home_is_never_the_protector() {
        // Iran's service plots against a dissident in Iran.
        let f = facts(
            TargetKind::Person,
            Some("IR"),
            Some((ActorKind::State, Some("IR"))),
        );
        let p = plan(
            &f,
            &own("US Department of State"),
            &Relations::us_default(),
            &Directory::builtin(),
        )
        .unwrap();
        let best = p.best().unwrap();
        assert_eq!(best.approach, Approach::VictimDirect);
        assert!(p.candidates.iter().all(|c| !touches(&c.route, cc("IR"))));
        let by_actor: Vec<&Excluded> = p
            .excluded
            .iter()
            .filter(|e| e.cause == ExclusionCause::ThreatActorState)
            .collect();
        // Both Iranian organs, directly and through Switzerland (the threat actor outranks "no relations").
        assert_eq!(by_actor.len(), 4, "{:#?}", p.excluded);
        assert!(by_actor[0].reason.as_str().contains("never the protector"));
        assert!(by_actor[0].reason.as_str().contains("The plotters"));
    }

    #[test]
    fn an_unidentified_state_actor_keeps_foreign_organs_out() {
        let f = facts(
            TargetKind::Place,
            Some("FR"),
            Some((ActorKind::State, None)),
        );
        let p = plan(
            &f,
            &own("US Department of State"),
            &Relations::us_default(),
            &extra_directory(),
        )
        .unwrap();
        assert!(p.candidates.is_empty(), "{:#?}", p.candidates);
        assert_eq!(p.excluded.len(), 2);
        assert!(
            p.excluded
                .iter()
                .all(|e| e.cause == ExclusionCause::UnidentifiedStateActor)
        );
        assert!(p.notes.iter().any(|n| n.contains("not recorded")));
        // At home, our own law enforcement is still proposed.
        let f = facts(
            TargetKind::Place,
            Some("US"),
            Some((ActorKind::State, None)),
        );
        let p = plan(
            &f,
            &own("US Department of State"),
            &Relations::us_default(),
            &Directory::builtin(),
        )
        .unwrap();
        assert_eq!(p.best().unwrap().approach, Approach::DomesticLawEnforcement);
    }

    #[test]
    fn liaison_only_relations_allow_no_diplomatic_note() {
        let rel = Relations::from_toml(
            "our_state = \"US\"\n[countries.RU]\nrelation = \"liaison_only\"\n",
        )
        .unwrap();
        let f = facts(TargetKind::Gathering, Some("RU"), None);
        let p = plan(&f, &own("CIA Moscow Station"), &rel, &Directory::builtin()).unwrap();
        assert_eq!(p.candidates.len(), 1);
        assert_eq!(p.candidates[0].approach, Approach::Liaison);
        assert_eq!(p.excluded.len(), 1);
        assert_eq!(p.excluded[0].cause, ExclusionCause::LiaisonOnly);
        assert_eq!(
            p.excluded[0].route.recipient().kind,
            PartyKind::ForeignMinistry
        );
    }

    #[test]
    fn nationals_abroad_sites_and_gaps() {
        // A US national in France: consular first among victim routes; French organs protect.
        let mut f = facts(TargetKind::Person, Some("FR"), None);
        f.victims[0].nationality = Some(cc("US"));
        let p = plan(
            &f,
            &own("US Embassy Paris"),
            &Relations::us_default(),
            &extra_directory(),
        )
        .unwrap();
        let approaches: Vec<Approach> = p.candidates.iter().map(|c| c.approach).collect();
        assert_eq!(
            approaches,
            vec![
                Approach::Protector,
                Approach::Consular,
                Approach::Protector,
                Approach::VictimDirect
            ],
            "{:#?}",
            p.candidates
        );
        assert_eq!(p.candidates[0].route.recipient().name.as_str(), "DGSI");
        // A named venue brings its security team in.
        let case = fixtures::case_of(&[fixtures::report(fixtures::CROCUS)]);
        let p = plan(
            &RoutingFacts::from_case(&case),
            &own("CIA Moscow Station"),
            &Relations::us_default(),
            &extra_directory(),
        )
        .unwrap();
        let venue = p
            .candidates
            .iter()
            .find(|c| c.route.recipient().kind == PartyKind::VenueSecurity)
            .unwrap();
        assert_eq!(venue.route.hops()[0].channel, Channel::PrivateSectorLiaison);
        // A host with nobody in the directory is a noted gap.
        let p = plan(
            &facts(TargetKind::Place, Some("BR"), None),
            &own("US Department of State"),
            &Relations::us_default(),
            &Directory::builtin(),
        )
        .unwrap();
        assert!(p.candidates.is_empty());
        assert!(p.notes.iter().any(|n| n.contains("No security service")));
        // North Korea without Sweden's section: the gap is named.
        let no_se = Directory::new(
            Directory::builtin()
                .entries()
                .iter()
                .filter(|e| e.country != cc("SE"))
                .cloned()
                .collect(),
        )
        .unwrap();
        let p = plan(
            &facts(TargetKind::Place, Some("KP"), None),
            &own("US Department of State"),
            &Relations::us_default(),
            &no_se,
        )
        .unwrap();
        assert!(p.candidates.is_empty());
        assert!(
            p.notes.iter().any(|n| n.contains("Sweden")),
            "{:?}",
            p.notes
        );
        // With Sweden's section: two hops through Pyongyang.
        let p = plan(
            &facts(TargetKind::Place, Some("KP"), None),
            &own("US Department of State"),
            &Relations::us_default(),
            &Directory::builtin(),
        )
        .unwrap();
        let best = p.best().unwrap();
        assert_eq!(
            best.route.hops()[0].to.name.as_str(),
            "Embassy of Sweden in Pyongyang"
        );
    }

    #[test]
    fn protecting_power_fallback_to_its_foreign_ministry() {
        let no_fis = Directory::new(
            extra_directory()
                .entries()
                .iter()
                .filter(|e| e.id.as_str() != "ch-fis-tehran")
                .cloned()
                .collect(),
        )
        .unwrap();
        let case = fixtures::case_of(&[fixtures::report(fixtures::KERMAN)]);
        let p = plan(
            &RoutingFacts::from_case(&case),
            &own("US Department of State"),
            &Relations::us_default(),
            &no_fis,
        )
        .unwrap();
        let best = p.best().unwrap();
        assert_eq!(
            best.route.hops()[0].to.name.as_str(),
            "Swiss Foreign Ministry"
        );
        assert_eq!(
            best.score,
            score::HOST_SECURITY_SERVICE - score::PER_RELAY - score::PROTECTING_POWER_FALLBACK
        );
        assert!(best.reason.as_str().contains("not in the directory"));
    }

    #[test]
    fn the_sender_must_be_ours() {
        let f = facts(TargetKind::Place, Some("FR"), None);
        let mut them = own("Someone else");
        them.kind = PartyKind::Embassy;
        assert!(matches!(
            plan(&f, &them, &Relations::us_default(), &Directory::builtin()),
            Err(RoutingError::NotOurElement(_))
        ));
    }

    #[test]
    fn plans_are_deterministic() {
        let case = fixtures::case_of(&[fixtures::report(fixtures::KERMAN)]);
        let f = RoutingFacts::from_case(&case);
        let a = plan(&f, &own("X"), &Relations::us_default(), &extra_directory()).unwrap();
        let b = plan(&f, &own("X"), &Relations::us_default(), &extra_directory()).unwrap();
        assert_eq!(a, b);
    }

    /// The shipped directory with the entries `own` marked as our own
    /// offices, plus the FBI's New York field office (ours too).
    fn with_own_offices(own: &[&str]) -> Directory {
        let mut entries: Vec<RecipientEntry> = extra_directory()
            .entries()
            .iter()
            .cloned()
            .map(|mut e| {
                e.own_office = own.contains(&e.id.as_str());
                e
            })
            .collect();
        let field = Directory::from_toml(
            r#"
[[recipient]]
id = "us-fbi-nyfo"
name = "FBI New York Field Office"
kind = "police"
own_office = true
country = "US"
locality = "New York"
[[recipient.contact]]
channel = "law_enforcement"
address = "26 Federal Plaza, New York"
"#,
        )
        .unwrap();
        entries.extend(field.entries().iter().cloned());
        Directory::new(entries).unwrap()
    }

    /// A journalist who lives in the United States, threatened at a
    /// consulate abroad by the state that runs it.
    fn consulate_facts() -> RoutingFacts {
        let mut f = facts(
            TargetKind::Person,
            Some("TR"),
            Some((ActorKind::State, Some("SA"))),
        );
        f.victims = vec![Victim {
            name: Some(Name::new("Dissident journalist (name withheld)").unwrap()),
            description: None,
            nationality: Some(cc("SA")),
            whereabouts: Some(Whereabouts {
                country: cc("US"),
                place: Some(Name::new("Fairfax, Virginia").unwrap()),
            }),
        }];
        f
    }

    #[test]
    fn a_victim_at_home_threatened_abroad_is_warned_here() {
        let f = consulate_facts();
        let p = plan(
            &f,
            &own("Office of the Director of National Intelligence"),
            &Relations::us_default(),
            &extra_directory(),
        )
        .unwrap();
        let best = p.best().unwrap();
        assert_eq!(best.approach, Approach::DomesticLawEnforcement, "{p:#?}");
        assert_eq!(
            best.route.hops()[0].to.name.as_str(),
            "Federal Bureau of Investigation (FBI)"
        );
        assert_eq!(best.route.recipient().kind, PartyKind::Victim);
        assert_eq!(best.route.recipient().country, Some(cc("US")));
        let why = best.reason.as_str();
        assert!(why.contains("Fairfax, Virginia, United States"), "{why}");
        assert!(why.contains("recorded whereabouts"), "{why}");
        assert!(why.contains("Türkiye"), "{why}");
        // Nobody is warned "in the country of the threat" as if the victim were there.
        assert!(
            p.candidates
                .iter()
                .filter(|c| c.route.recipient().kind == PartyKind::Victim)
                .all(|c| c.route.recipient().country == Some(cc("US")))
        );
        assert!(p.notes.iter().any(|n| n.contains("warned where they are")));
        // The shipped scenario says the same.
        let p = plan_for(
            fixtures::EDGE7,
            "Office of the Director of National Intelligence",
        );
        assert_eq!(p.best().unwrap().approach, Approach::DomesticLawEnforcement);
        assert_eq!(p.best().unwrap().route.recipient().country, Some(cc("US")));
        // Without whereabouts, the victim is taken to be where the threat is.
        let mut f = consulate_facts();
        f.victims[0].whereabouts = None;
        let p = plan(
            &f,
            &own("Office of the Director of National Intelligence"),
            &Relations::us_default(),
            &extra_directory(),
        )
        .unwrap();
        assert!(
            p.candidates
                .iter()
                .all(|c| c.approach != Approach::DomesticLawEnforcement)
        );
        // Our own domestic service sends it in one hop.
        let p = plan(
            &consulate_facts(),
            &own("FBI Washington Field Office"),
            &Relations::us_default(),
            &with_own_offices(&["us-fbi"]),
        )
        .unwrap();
        let best = p.best().unwrap();
        assert_eq!(best.route.hops().len(), 1);
        assert_eq!(best.route.hops()[0].channel, Channel::LawEnforcement);
        assert!(best.reason.as_str().contains("our own"), "{}", best.reason);
    }

    #[test]
    fn a_field_office_routes_in_one_hop() {
        // The FBI's headquarters and its New York field office are ours.
        let dir = with_own_offices(&["us-fbi"]);
        let p = plan_with(fixtures::EDGE3, "FBI New York Field Office", &dir);
        let best = p.best().unwrap();
        assert_eq!(best.approach, Approach::DomesticLawEnforcement);
        assert_eq!(best.route.hops().len(), 1, "{}", best.route.describe());
        let hop = &best.route.hops()[0];
        assert_eq!(hop.from.name.as_str(), "FBI New York Field Office");
        assert_eq!(hop.from.kind, PartyKind::OwnElement);
        assert_eq!(hop.channel, Channel::LawEnforcement);
        assert_eq!(hop.to.kind, PartyKind::Victim);
        assert_eq!(best.score, score::DOMESTIC_LAW_ENFORCEMENT);
        // Headquarters is never a relay, nor is any other office of ours.
        let ours: Vec<&str> = dir.own_offices().map(|e| e.name.as_str()).collect();
        assert_eq!(ours.len(), 2);
        for c in &p.candidates {
            for h in c.route.hops() {
                assert!(
                    !ours.contains(&h.to.name.as_str()),
                    "{}",
                    c.route.describe()
                );
            }
        }
        // A field office the directory does not list is ours all the same:
        // every element of the deployment is.
        let p = plan_with(fixtures::EDGE3, "FBI Miami Field Office", &dir);
        assert_eq!(p.best().unwrap().route.hops().len(), 1);
        // Before the directory marks them (today's default), headquarters is a relay.
        let p = plan_with(
            fixtures::EDGE3,
            "FBI New York Field Office",
            &extra_directory(),
        );
        assert_eq!(p.best().unwrap().route.hops().len(), 2);
    }

    fn plan_with(json: &str, us: &str, dir: &Directory) -> RoutePlan {
        let case = fixtures::case_of(&[fixtures::report(json)]);
        plan(
            &RoutingFacts::from_case(&case),
            &own(us),
            &Relations::us_default(),
            dir,
        )
        .unwrap()
    }

    /// A directory with any of its entries marked ours (never a protecting
    /// power, which the directory refuses).
    fn arb_own_directory() -> impl Strategy<Value = Directory> {
        let ids: Vec<String> = with_own_offices(&[])
            .entries()
            .iter()
            .filter(|e| e.kind != PartyKind::ProtectingPower)
            .map(|e| e.id.to_string())
            .collect();
        proptest::sample::subsequence(ids.clone(), 0..=ids.len()).prop_map(|own| {
            let own: Vec<&str> = own.iter().map(String::as_str).collect();
            with_own_offices(&own)
        })
    }

    const COUNTRIES: &[&str] = &["US", "IR", "RU", "KP", "FR", "CH", "SE"];

    fn arb_kind() -> impl Strategy<Value = TargetKind> {
        prop_oneof![
            Just(TargetKind::Person),
            Just(TargetKind::Group),
            Just(TargetKind::Organisation),
            Just(TargetKind::Place),
            Just(TargetKind::Gathering),
        ]
    }

    fn arb_actor_kind() -> impl Strategy<Value = ActorKind> {
        prop_oneof![
            Just(ActorKind::State),
            Just(ActorKind::TerroristGroup),
            Just(ActorKind::CriminalGroup),
            Just(ActorKind::Individual),
            Just(ActorKind::Unknown),
        ]
    }

    fn arb_facts() -> impl Strategy<Value = RoutingFacts> {
        (
            arb_kind(),
            proptest::collection::vec(proptest::sample::select(COUNTRIES), 0..3),
            proptest::collection::vec(
                (
                    arb_actor_kind(),
                    proptest::option::of(proptest::sample::select(COUNTRIES)),
                ),
                0..3,
            ),
            proptest::option::of(proptest::sample::select(COUNTRIES)),
            proptest::option::of(proptest::sample::select(COUNTRIES)),
        )
            .prop_map(
                |(kind, hosts, actors, nationality, whereabouts)| RoutingFacts {
                    target_kind: kind,
                    victims: vec![Victim {
                        name: Some(Name::new("A. Person").unwrap()),
                        description: None,
                        nationality: nationality.map(cc),
                        whereabouts: whereabouts.map(|w| Whereabouts {
                            country: cc(w),
                            place: None,
                        }),
                    }],
                    locations: hosts
                        .iter()
                        .map(|h| Location {
                            description: Name::new("Crocus City Hall").unwrap(),
                            country: cc(h),
                            locality: None,
                            point: None,
                        })
                        .collect(),
                    threat_actors: actors
                        .iter()
                        .enumerate()
                        .map(|(i, (k, c))| ThreatActor {
                            name: Name::new(format!("Actor {i}")).unwrap(),
                            kind: *k,
                            country: c.map(cc),
                            profile: Default::default(),
                        })
                        .collect(),
                },
            )
    }

    proptest! {
        /// The threat actor is never the protector: no candidate delivers to,
        /// or relays through, an organ of a state behind the threat; with an
        /// unidentified state actor, no foreign organ at all. Every such route
        /// that was considered is excluded with the reason.
        #[test]
        fn threat_actor_is_never_the_protector(f in arb_facts(), us_name in "[A-Z][a-z]{2,10}") {
            let dir = extra_directory();
            let rel = Relations::us_default();
            let p = plan(&f, &own(&us_name), &rel, &dir).unwrap();
            let states = f.threat_states();
            let unidentified = f.unidentified_state_actor().is_some();
            for c in &p.candidates {
                prop_assert_eq!(c.route.hops()[0].from.kind, PartyKind::OwnElement);
                for h in c.route.hops() {
                    if h.to.kind.is_state_organ() {
                        let country = h.to.country.unwrap();
                        prop_assert!(!states.contains(&country), "{}", c.route.describe());
                        if unidentified {
                            prop_assert_eq!(country, rel.our_state(), "{}", c.route.describe());
                        }
                    }
                }
            }
            for e in &p.excluded {
                let hostile = e.route.hops().iter().any(|h| {
                    h.to.kind.is_state_organ() && states.contains(&h.to.country.unwrap())
                });
                if hostile {
                    prop_assert_eq!(e.cause, ExclusionCause::ThreatActorState);
                    prop_assert!(e.reason.as_str().contains("never the protector"));
                }
            }
            // Ranked 1..n, scores never increase.
            for (i, c) in p.candidates.iter().enumerate() {
                prop_assert_eq!(c.rank as usize, i + 1);
                if i > 0 {
                    prop_assert!(p.candidates[i - 1].score >= c.score);
                }
            }
        }

        /// Our own offices are never a relay nor a recipient: every
        /// candidate's first hop starts at the sending element (one of our
        /// own), and no hop ends at an office the directory marks ours, nor
        /// at the sender. When one of our offices is domestic law
        /// enforcement, a victim at home is warned in one hop.
        #[test]
        fn our_own_offices_are_never_relays(
            f in arb_facts(),
            dir in arb_own_directory(),
            us_name in prop_oneof![
                Just("FBI New York Field Office".to_owned()),
                Just("Federal Bureau of Investigation (FBI)".to_owned()),
                "[A-Z][a-z]{2,10}",
            ],
        ) {
            let rel = Relations::us_default();
            let us = own(&us_name);
            let p = plan(&f, &us, &rel, &dir).unwrap();
            let ours: Vec<&str> = dir.own_offices().map(|e| e.name.as_str()).collect();
            for c in &p.candidates {
                prop_assert_eq!(&c.route.hops()[0].from, &us);
                for h in c.route.hops() {
                    prop_assert!(h.to.kind != PartyKind::OwnElement, "{}", c.route.describe());
                    prop_assert!(!ours.contains(&h.to.name.as_str()), "{}", c.route.describe());
                    prop_assert!(h.to.name != us.name, "{}", c.route.describe());
                }
            }
            let own_le = dir.own_offices().any(|e| {
                e.country == rel.our_state()
                    && matches!(e.kind, PartyKind::Police | PartyKind::SecurityService)
            });
            let at_home = f.victims[0].whereabouts.as_ref().map(|w| w.country)
                .or(f.host_countries().first().copied())
                .or(f.victims[0].nationality)
                == Some(rel.our_state());
            if own_le && at_home && f.targets_people_directly() {
                prop_assert!(p.candidates.iter().any(|c| {
                    c.approach == Approach::DomesticLawEnforcement
                        && c.route.hops().len() == 1
                        && c.route.recipient().kind == PartyKind::Victim
                }), "{:#?}", p.candidates);
            }
        }

        /// A victim whose recorded whereabouts are in our state is offered
        /// our domestic channel, wherever the threat is expected.
        #[test]
        fn a_victim_here_is_offered_the_domestic_channel(f in arb_facts()) {
            let rel = Relations::us_default();
            let p = plan(&f, &own("Some Element"), &rel, &extra_directory()).unwrap();
            let here = f.victims[0].whereabouts.as_ref().map(|w| w.country) == Some(rel.our_state());
            // (Unless our own state is behind the threat: then its organs never protect.)
            let ours_behind = f.threat_states().contains(&rel.our_state());
            if here && f.targets_people_directly() && !ours_behind {
                prop_assert!(p.candidates.iter().any(|c| {
                    c.approach == Approach::DomesticLawEnforcement
                        && c.route.recipient().kind == PartyKind::Victim
                        && c.reason.as_str().contains("recorded whereabouts")
                }), "{:#?}", p.candidates);
            }
        }

        /// Where a state organ of the host protects and that state is not
        /// behind the threat, the plan reaches it (the exclusion is not
        /// over-broad).
        #[test]
        fn host_protectors_are_kept_when_innocent(kind in arb_kind()) {
            let f = facts(kind, Some("FR"), Some((ActorKind::State, Some("IR"))));
            let p = plan(&f, &own("US Embassy Paris"), &Relations::us_default(), &extra_directory()).unwrap();
            prop_assert!(p.candidates.iter().any(|c| c.route.recipient().name.as_str() == "DGSI"));
            prop_assert!(p.excluded.is_empty());
        }
    }
}
