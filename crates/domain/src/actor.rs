//! Who acts: a named person with roles.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::text::ActorName;

/// What a person may do (DOMAIN.md section 8).
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
pub enum Role {
    /// Submits reports.
    Collector,
    /// Assesses, determines, drafts warnings.
    Analyst,
    /// Senior official: approves waivers and warnings.
    Approver,
    /// Records delivery and responses.
    DeliveryOfficer,
    /// Reads everything, changes nothing.
    Auditor,
    /// Users and reference data; no case content by default.
    Admin,
    /// Resolves disputes between elements; reads the cases of every
    /// element its clearance and compartments admit (as an auditor does).
    /// Never implied by another role.
    Arbiter,
    /// Keeps the records: sets the retention schedules, asks for and
    /// decides legal holds and disposal batches (each a two-person step,
    /// the second person another records officer), exports records for
    /// oversight. Reads the cases its clearance and compartments admit,
    /// as an auditor does. Never implied by another role.
    RecordsOfficer,
}

impl Role {
    pub const ALL: [Role; 8] = [
        Role::Collector,
        Role::Analyst,
        Role::Approver,
        Role::DeliveryOfficer,
        Role::Auditor,
        Role::Admin,
        Role::Arbiter,
        Role::RecordsOfficer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Collector => "collector",
            Role::Analyst => "analyst",
            Role::Approver => "approver",
            Role::DeliveryOfficer => "delivery_officer",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
            Role::Arbiter => "arbiter",
            Role::RecordsOfficer => "records_officer",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A person acting on a case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    pub name: ActorName,
    pub roles: BTreeSet<Role>,
}

impl Actor {
    pub fn new(name: ActorName, roles: impl IntoIterator<Item = Role>) -> Self {
        Self {
            name,
            roles: roles.into_iter().collect(),
        }
    }

    /// An actor holding every role: used by operator tooling (and, until
    /// accounts exist, by the CLI's `--as NAME`).
    pub fn with_all_roles(name: ActorName) -> Self {
        Self::new(name, Role::ALL)
    }

    /// tocsin itself, for events raised by deadline sweeps.
    pub fn system() -> Self {
        Self::new(ActorName::system(), [])
    }

    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}
