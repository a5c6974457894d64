//! Who may do what, and who may see what.
//!
//! * [`Account`]: a person with roles, a clearance level, compartments and
//!   membership of elements. Accounts are made and changed by events on the
//!   accounts stream (see [`AccountEvent`] variants of [`crate::Event`]).
//! * [`Permission`]: what a request needs; [`Permission::roles`] is the one
//!   table of which role grants it.
//! * [`ClearanceLevels`]: the deployment's ordered list of levels.
//! * [`visibility`]: whether an account may see a case with a given
//!   [`Marking`], may not, or may not even learn that it exists.
//!
//! Pure: the service supplies the account, the levels and the marking.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::actor::{Actor, Role};
use crate::text::{ActorName, ElementName, Label, Name, TextError};
use crate::time::Timestamp;

/// What a reader needs to see a case: every level its reports carry (the
/// reader's clearance must reach each), every compartment, membership of
/// one of its elements; and whether its very existence is restricted.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Marking {
    pub levels: BTreeSet<crate::text::Label>,
    pub compartments: BTreeSet<crate::text::Label>,
    pub elements: BTreeSet<ElementName>,
    pub existence_restricted: bool,
}

/// The deployment's clearance levels, lowest first. Non-empty, no repeats.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(try_from = "Vec<Label>", into = "Vec<Label>")]
pub struct ClearanceLevels(Vec<Label>);

/// A list of levels that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LevelsError {
    #[error("the list of clearance levels is empty")]
    Empty,
    #[error("clearance level '{0}' appears twice")]
    Repeated(String),
}

impl TryFrom<Vec<Label>> for ClearanceLevels {
    type Error = LevelsError;
    fn try_from(v: Vec<Label>) -> Result<Self, LevelsError> {
        ClearanceLevels::new(v)
    }
}

impl From<ClearanceLevels> for Vec<Label> {
    fn from(l: ClearanceLevels) -> Vec<Label> {
        l.0
    }
}

impl Default for ClearanceLevels {
    fn default() -> Self {
        Self(
            ["UNCLASSIFIED", "CONFIDENTIAL", "SECRET", "TOP SECRET"]
                .into_iter()
                .filter_map(|s| Label::new(s).ok())
                .collect(),
        )
    }
}

impl ClearanceLevels {
    pub fn new(levels: Vec<Label>) -> Result<Self, LevelsError> {
        if levels.is_empty() {
            return Err(LevelsError::Empty);
        }
        let mut seen = BTreeSet::new();
        for l in &levels {
            if !seen.insert(l.as_str()) {
                return Err(LevelsError::Repeated(l.to_string()));
            }
        }
        Ok(Self(levels))
    }

    pub fn levels(&self) -> &[Label] {
        &self.0
    }

    /// The lowest level (what a report without a classification carries).
    pub fn lowest(&self) -> &Label {
        &self.0[0]
    }

    /// 0 for the lowest level; `None` if `level` is not in the list.
    pub fn rank(&self, level: &Label) -> Option<usize> {
        self.0.iter().position(|l| l == level)
    }

    pub fn contains(&self, level: &Label) -> bool {
        self.rank(level).is_some()
    }

    /// Every level at or below `level` (what a holder of `level` may read).
    pub fn at_or_below(&self, level: &Label) -> &[Label] {
        match self.rank(level) {
            Some(r) => &self.0[..=r],
            None => &[],
        }
    }

    /// Checks a level against the list, for a clear error at the edge.
    pub fn check(&self, level: &Label) -> Result<(), UnknownLevel> {
        if self.contains(level) {
            Ok(())
        } else {
            Err(UnknownLevel {
                level: level.to_string(),
                known: self.0.iter().map(|l| l.to_string()).collect(),
            })
        }
    }
}

/// A clearance level that is not in the deployment's list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{level}' is not a clearance level of this deployment; the levels are: {}", known.join(", "))]
pub struct UnknownLevel {
    pub level: String,
    pub known: Vec<String>,
}

/// What an admin sets on an account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountSpec {
    /// How the person is shown ("Kim Analyst").
    pub display_name: Name,
    /// The elements (organisations) the person belongs to.
    pub elements: BTreeSet<ElementName>,
    pub roles: BTreeSet<Role>,
    /// A level from the deployment's clearance levels.
    pub clearance: Label,
    #[serde(default)]
    pub compartments: BTreeSet<Label>,
}

/// An account as it stands (the fold of its events).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Account {
    /// The login name; also the name on every event the person causes.
    pub name: ActorName,
    #[serde(flatten)]
    pub spec: AccountSpec,
    pub disabled: bool,
    pub created_at: Timestamp,
    /// Counts password changes and disablings. A session or token carries
    /// the epoch it was issued in and is valid only while it is current,
    /// so one change ends every earlier credential at once.
    #[serde(default)]
    pub credential_epoch: u64,
}

impl Account {
    /// The actor this account acts as, with the roles it holds (narrowed
    /// to `scope` for an API token).
    pub fn actor(&self, scope: Option<&BTreeSet<Role>>) -> Actor {
        let roles = self
            .spec
            .roles
            .iter()
            .copied()
            .filter(|r| scope.is_none_or(|s| s.contains(r)));
        Actor::new(self.name.clone(), roles)
    }

    pub fn has(&self, role: Role) -> bool {
        self.spec.roles.contains(&role)
    }
}

/// What a request needs. Every HTTP route names one of these (or is public),
/// and [`Permission::roles`] says which roles grant it.
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
pub enum Permission {
    /// Submit threat reports.
    SubmitReport,
    /// Read cases (subject to clearance, compartments and elements).
    ReadCase,
    /// Assess facts, determine, re-assess, hand off, choose a route, draft
    /// and check warnings, request waivers: the analyst's work.
    Analyse,
    /// Approve or reject waivers and warnings, decide on a public advisory.
    Approve,
    /// Record deliveries, responses and outcomes.
    Deliver,
    /// Read the ledger: verification, checkpoints, proofs, the access log.
    Audit,
    /// Manage accounts, elements, tokens and clearance levels.
    ManageAccounts,
    /// Manage reference data and registries; run the clock.
    Operate,
    /// Screen names against registries.
    Screen,
    /// Apply the clock now: an operator to every case, an analyst to the
    /// cases they may see (the service narrows it).
    Sweep,
    /// Resolve disputes between elements.
    Arbitrate,
    /// Keep the records: retention schedules, legal holds, disposal,
    /// the oversight export.
    ManageRecords,
}

impl Permission {
    pub const ALL: [Permission; 12] = [
        Permission::SubmitReport,
        Permission::ReadCase,
        Permission::Analyse,
        Permission::Approve,
        Permission::Deliver,
        Permission::Audit,
        Permission::ManageAccounts,
        Permission::Operate,
        Permission::Screen,
        Permission::Sweep,
        Permission::Arbitrate,
        Permission::ManageRecords,
    ];

    /// The roles that grant this permission. This is the whole role table.
    pub fn roles(self) -> &'static [Role] {
        use Role::*;
        match self {
            Permission::SubmitReport => &[Collector, Analyst],
            Permission::ReadCase => &[
                Collector,
                Analyst,
                Approver,
                DeliveryOfficer,
                Auditor,
                Arbiter,
                RecordsOfficer,
            ],
            Permission::Analyse => &[Analyst],
            Permission::Approve => &[Approver],
            Permission::Deliver => &[DeliveryOfficer, Analyst],
            Permission::Audit => &[Auditor, Admin],
            Permission::ManageAccounts => &[Admin],
            Permission::Operate => &[Admin],
            Permission::Screen => &[Analyst, Collector, Approver],
            Permission::Sweep => &[Analyst, Admin],
            Permission::Arbitrate => &[Arbiter],
            Permission::ManageRecords => &[RecordsOfficer],
        }
    }

    pub fn granted_by(self, roles: &BTreeSet<Role>) -> bool {
        self.roles().iter().any(|r| roles.contains(r))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::SubmitReport => "submit_report",
            Permission::ReadCase => "read_case",
            Permission::Analyse => "analyse",
            Permission::Approve => "approve",
            Permission::Deliver => "deliver",
            Permission::Audit => "audit",
            Permission::ManageAccounts => "manage_accounts",
            Permission::Operate => "operate",
            Permission::Screen => "screen",
            Permission::Sweep => "sweep",
            Permission::Arbitrate => "arbitrate",
            Permission::ManageRecords => "manage_records",
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// May an account see a case?
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Visibility {
    Visible,
    /// Not readable, but its existence is not secret.
    Forbidden,
    /// Not readable, and even its existence is restricted: answer as if it
    /// did not exist.
    Hidden,
}

/// Auditors, arbiters and records officers work across elements: the
/// element test of [`visibility`] does not apply to them (clearance and
/// compartments do).
pub fn oversees_every_element(roles: &BTreeSet<Role>) -> bool {
    roles.contains(&Role::Auditor)
        || roles.contains(&Role::Arbiter)
        || roles.contains(&Role::RecordsOfficer)
}

/// Whether `reader` (acting with `roles`) may see a case marked `marking`:
/// the reader's clearance must reach every level of the case, the reader
/// must hold every compartment, and must belong to an element the case is
/// shared with (auditors, who oversee every element, are exempt from the
/// element test only). An unknown level on the case admits nobody.
pub fn visibility(
    reader: &Account,
    roles: &BTreeSet<Role>,
    levels: &ClearanceLevels,
    marking: &Marking,
) -> Visibility {
    let rank = levels.rank(&reader.spec.clearance);
    let cleared = marking
        .levels
        .iter()
        .all(|l| matches!((rank, levels.rank(l)), (Some(r), Some(n)) if n <= r));
    let compartments = marking.compartments.is_subset(&reader.spec.compartments);
    let element = oversees_every_element(roles)
        || marking
            .elements
            .iter()
            .any(|e| reader.spec.elements.contains(e));
    if cleared && compartments && element && Permission::ReadCase.granted_by(roles) {
        Visibility::Visible
    } else if marking.existence_restricted {
        Visibility::Hidden
    } else {
        Visibility::Forbidden
    }
}

/// A password as typed: 12 to 1024 characters. Never stored, never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 12;

    pub fn new(s: impl Into<String>) -> Result<Self, TextError> {
        let s: String = s.into();
        let n = s.chars().count();
        if n < Self::MIN_CHARS {
            return Err(TextError::Invalid(
                "a password needs at least 12 characters",
            ));
        }
        if n > 1024 {
            return Err(TextError::TooLong { len: n, max: 1024 });
        }
        Ok(Self(s))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// An API token as recorded (its secret is never recorded, only its SHA-256).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TokenInfo {
    pub token_id: crate::ids::TokenId,
    /// The account the token acts as.
    pub account: ActorName,
    /// What the token is for ("intake from the SOC").
    pub label: Name,
    /// The roles the token may use (a subset of the account's).
    pub roles: BTreeSet<Role>,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
    /// Hex SHA-256 of the secret.
    pub secret_sha256: String,
    /// The account's credential epoch when the token was issued.
    #[serde(default)]
    pub epoch: u64,
    /// Who issued it, when another account did (an admin): such a token
    /// never takes a step of a two-person rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_by: Option<ActorName>,
    #[serde(default)]
    pub revoked: bool,
}

impl TokenInfo {
    /// Usable at `now`, by this account as it stands.
    pub fn usable(&self, now: Timestamp, account: &Account) -> bool {
        !self.revoked
            && now < self.expires_at
            && !account.disabled
            && self.epoch == account.credential_epoch
    }
}

/// An element (organisation) as registered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ElementInfo {
    pub name: ElementName,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<crate::text::Note>,
    pub registered_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(s: &str) -> Label {
        Label::new(s).unwrap()
    }

    fn account(clearance: &str, comps: &[&str], els: &[&str], roles: &[Role]) -> Account {
        let t: Timestamp = "2024-01-01T00:00:00Z".parse().unwrap();
        Account {
            name: ActorName::new("reader").unwrap(),
            spec: AccountSpec {
                display_name: Name::new("Reader").unwrap(),
                elements: els.iter().map(|e| ElementName::new(*e).unwrap()).collect(),
                roles: roles.iter().copied().collect(),
                clearance: label(clearance),
                compartments: comps.iter().map(|c| label(c)).collect(),
            },
            disabled: false,
            created_at: t,
            credential_epoch: 0,
        }
    }

    fn marking(levels: &[&str], comps: &[&str], els: &[&str], restricted: bool) -> Marking {
        Marking {
            levels: levels.iter().map(|l| label(l)).collect(),
            compartments: comps.iter().map(|c| label(c)).collect(),
            elements: els.iter().map(|e| ElementName::new(*e).unwrap()).collect(),
            existence_restricted: restricted,
        }
    }

    #[test]
    fn levels_are_ordered_and_checked() {
        let l = ClearanceLevels::default();
        assert_eq!(l.rank(&label("SECRET")), Some(2));
        assert_eq!(l.at_or_below(&label("CONFIDENTIAL")).len(), 2);
        assert!(
            l.check(&label("COSMIC"))
                .unwrap_err()
                .to_string()
                .contains("SECRET")
        );
        assert_eq!(ClearanceLevels::new(vec![]), Err(LevelsError::Empty));
        assert!(matches!(
            ClearanceLevels::new(vec![label("A"), label("A")]),
            Err(LevelsError::Repeated(_))
        ));
    }

    #[test]
    fn visibility_needs_level_compartments_and_element() {
        let levels = ClearanceLevels::default();
        let m = marking(&["SECRET"], &["HCS"], &["ct"], false);
        let ok = account("TOP SECRET", &["HCS"], &["ct"], &[Role::Analyst]);
        let roles = ok.spec.roles.clone();
        assert_eq!(visibility(&ok, &roles, &levels, &m), Visibility::Visible);
        let low = account("CONFIDENTIAL", &["HCS"], &["ct"], &[Role::Analyst]);
        assert_eq!(visibility(&low, &roles, &levels, &m), Visibility::Forbidden);
        let nocomp = account("SECRET", &[], &["ct"], &[Role::Analyst]);
        assert_eq!(
            visibility(&nocomp, &roles, &levels, &m),
            Visibility::Forbidden
        );
        let other = account("SECRET", &["HCS"], &["fbi"], &[Role::Analyst]);
        assert_eq!(
            visibility(&other, &roles, &levels, &m),
            Visibility::Forbidden
        );
        // Auditors oversee every element, but clearance and compartments still hold.
        let aud_roles = BTreeSet::from([Role::Auditor]);
        let aud = account("SECRET", &["HCS"], &["oversight"], &[Role::Auditor]);
        assert_eq!(
            visibility(&aud, &aud_roles, &levels, &m),
            Visibility::Visible
        );
        let aud_low = account("CONFIDENTIAL", &["HCS"], &["oversight"], &[Role::Auditor]);
        assert_eq!(
            visibility(&aud_low, &aud_roles, &levels, &m),
            Visibility::Forbidden
        );
        // Admins hold no case-reading role.
        let admin_roles = BTreeSet::from([Role::Admin]);
        let admin = account("TOP SECRET", &["HCS"], &["ct"], &[Role::Admin]);
        assert_eq!(
            visibility(&admin, &admin_roles, &levels, &m),
            Visibility::Forbidden
        );
        // Restricted existence turns every refusal into "no such case".
        let hidden = marking(&["SECRET"], &["HCS"], &["ct"], true);
        assert_eq!(
            visibility(&low, &roles, &levels, &hidden),
            Visibility::Hidden
        );
        assert_eq!(
            visibility(&ok, &roles, &levels, &hidden),
            Visibility::Visible
        );
        // A level the deployment does not know admits nobody.
        let odd = marking(&["COSMIC"], &[], &["ct"], false);
        assert_eq!(
            visibility(&ok, &roles, &levels, &odd),
            Visibility::Forbidden
        );
    }

    #[test]
    fn every_permission_is_granted_by_some_role() {
        for p in Permission::ALL {
            assert!(!p.roles().is_empty(), "{p} is granted by no role");
        }
        // Admins manage; they do not read case content.
        assert!(!Permission::ReadCase.granted_by(&BTreeSet::from([Role::Admin])));
    }

    #[test]
    fn token_scope_narrows_roles() {
        let a = account("SECRET", &[], &["ct"], &[Role::Analyst, Role::Approver]);
        let scope = BTreeSet::from([Role::Analyst, Role::Admin]);
        assert_eq!(a.actor(Some(&scope)).roles, BTreeSet::from([Role::Analyst]));
    }

    #[test]
    fn passwords_have_a_minimum_and_never_print() {
        assert!(Password::new("short").is_err());
        let p = Password::new("correct horse battery").unwrap();
        assert_eq!(format!("{p:?}"), "Password(***)");
    }
}
