//! TAXII 2.1 exchange with partners, as the ledger records it (events
//! of the exchange stream): a collection an admin configures, the objects
//! added to one (with the date added and the tocsin marking they are
//! served under), and the cursor a pull from a partner's collection keeps.
//!
//! Pure: the service supplies the time, the ids, the objects and the
//! reader; the TAXII wire format is in `tocsin-export`'s `taxii`.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::access::Marking;
use crate::actor::Role;
use crate::ids::CaseId;
use crate::text::{ElementName, Label, Name, Note, Title};
use crate::time::Timestamp;

/// Who may read, or write, a collection: a holder of one of `roles` who,
/// when `elements` lists any, belongs to one of them. No role admits
/// nobody.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Audience {
    pub roles: BTreeSet<Role>,
    #[serde(default)]
    pub elements: BTreeSet<ElementName>,
}

impl Audience {
    /// Whether an account with `roles` (those its credential may use) in
    /// `elements` belongs to the audience.
    pub fn admits(&self, roles: &BTreeSet<Role>, elements: &BTreeSet<ElementName>) -> bool {
        self.roles.iter().any(|r| roles.contains(r))
            && (self.elements.is_empty() || self.elements.iter().any(|e| elements.contains(e)))
    }
}

/// The tocsin marking an object is served under: a reader's clearance
/// must reach every level, the reader must hold every compartment and
/// belong to one of the elements (the case visibility rule,
/// [`crate::access::visibility`]). An object a reader may not see is
/// answered as one that does not exist.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ObjectMarking {
    pub levels: BTreeSet<Label>,
    #[serde(default)]
    pub compartments: BTreeSet<Label>,
    pub elements: BTreeSet<ElementName>,
}

impl ObjectMarking {
    /// The marking the visibility rule reads; an object's existence is
    /// always restricted.
    pub fn as_marking(&self) -> Marking {
        Marking {
            levels: self.levels.clone(),
            compartments: self.compartments.clone(),
            elements: self.elements.clone(),
            existence_restricted: true,
        }
    }
}

impl From<&Marking> for ObjectMarking {
    fn from(m: &Marking) -> Self {
        ObjectMarking {
            levels: m.levels.clone(),
            compartments: m.compartments.clone(),
            elements: m.elements.clone(),
        }
    }
}

/// A TAXII collection as an admin configured it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaxiiCollection {
    pub id: Uuid,
    pub title: Title,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Note>,
    pub readers: Audience,
    pub writers: Audience,
    /// The marking of objects added by `POST objects` (a published case's
    /// objects carry the case's).
    pub marking: ObjectMarking,
}

/// How objects came into a collection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "via", rename_all = "snake_case", deny_unknown_fields)]
pub enum AdditionSource {
    /// A TAXII `POST objects`; its status resource is `status_id`.
    Post {
        status_id: Uuid,
        /// Objects refused (not added), with why.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        failures: Vec<ObjectOutcome>,
        /// What is worth saying about objects that succeeded: already in
        /// the collection (not added again), imported as a threat report.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        notes: Vec<ObjectOutcome>,
        /// How many objects the request carried.
        total: u64,
    },
    /// `tocsin taxii publish`: a case's bundle as the publisher saw it.
    Published { case_id: CaseId },
}

/// One object of a `POST objects` that was not added, with why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ObjectOutcome {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    pub message: Name,
}

/// Objects added to a collection at once: they share `date_added`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaxiiAddition {
    pub collection: Uuid,
    pub date_added: Timestamp,
    pub marking: ObjectMarking,
    /// The STIX objects as received (or exported), in order.
    pub objects: Vec<serde_json::Value>,
    pub source: AdditionSource,
}

/// Where a pull from a partner's collection stopped: the next pull asks
/// for objects added after `added_after`, or resumes at `next` when a
/// pull stopped between pages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PullCursor {
    /// The partner's TAXII API root (`https://host/taxii2/api/`).
    pub server: String,
    pub collection: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub added_after: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set<T: Ord>(v: impl IntoIterator<Item = T>) -> BTreeSet<T> {
        v.into_iter().collect()
    }

    #[test]
    fn an_audience_needs_a_role_and_one_of_its_elements() {
        let e = |s: &str| ElementName::new(s).unwrap();
        let a = Audience {
            roles: set([Role::Analyst]),
            elements: set([e("A")]),
        };
        assert!(a.admits(&set([Role::Analyst]), &set([e("A"), e("B")])));
        assert!(!a.admits(&set([Role::Analyst]), &set([e("B")])));
        assert!(!a.admits(&set([Role::Collector]), &set([e("A")])));
        let open = Audience {
            roles: set([Role::Analyst]),
            elements: BTreeSet::new(),
        };
        assert!(open.admits(&set([Role::Analyst]), &BTreeSet::new()));
        assert!(!Audience::default().admits(&set([Role::Analyst]), &set([e("A")])));
    }
}
