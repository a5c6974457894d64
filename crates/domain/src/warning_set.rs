//! Which recipients to warn together. The route planner
//! ([`crate::routing`]) ranks candidate routes; a case often needs more
//! than one of them: the victim *and* the service that protects them, the
//! host state's service *and* the company's security lead. This module
//! reads a [`RoutePlan`] and the policy's [`WarningRules`] and proposes a
//! *set*: the best-ranked candidate for each role that the plan can reach,
//! each marked required or optional by the policy. It proposes; an analyst
//! chooses (`tocsin route choose --candidate N`, then `--new-warning` for
//! each further recipient).

use serde::{Deserialize, Serialize};

use crate::delivery::{Party, PartyKind};
use crate::policy::WarningRules;
use crate::routing::RoutePlan;

/// The part a recipient plays in warning the victim.
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
pub enum RecipientRole {
    /// The intended victim in person.
    Victim,
    /// A state's service or police that can protect the victim.
    StateProtector,
    /// Those who protect the victim privately: a company's or a venue's
    /// security, a school.
    PrivateProtector,
}

impl RecipientRole {
    /// The role of a recipient of this kind, if it protects or is the victim
    /// (relays, embassies and our own elements play none).
    pub fn of(kind: PartyKind) -> Option<Self> {
        match kind {
            PartyKind::Victim => Some(Self::Victim),
            PartyKind::SecurityService | PartyKind::Police => Some(Self::StateProtector),
            PartyKind::CompanySecurity | PartyKind::VenueSecurity | PartyKind::School => {
                Some(Self::PrivateProtector)
            }
            PartyKind::OwnElement
            | PartyKind::ProtectingPower
            | PartyKind::Embassy
            | PartyKind::ForeignMinistry
            | PartyKind::Other => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Victim => "victim",
            Self::StateProtector => "state protector",
            Self::PrivateProtector => "private protector",
        }
    }
}

/// One warning of the proposed set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ProposedWarning {
    /// The rank of its candidate in the plan (`--candidate N`).
    pub candidate: u32,
    pub recipient: Party,
    pub role: RecipientRole,
    /// Whether the policy requires it before the case counts as warned.
    pub required: bool,
}

/// The recipients to warn together: one per role the plan reaches, best
/// candidate first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WarningSet {
    pub warnings: Vec<ProposedWarning>,
}

/// The set of warnings `plan` makes possible: for each role (the victim, a
/// state protector, a private protector), its best-ranked candidate. The
/// order follows the plan's ranking, so the first is what `--candidate`
/// without `--new-warning` would choose for W1.
pub fn propose(plan: &RoutePlan, rules: &WarningRules) -> WarningSet {
    let mut warnings: Vec<ProposedWarning> = Vec::new();
    for c in &plan.candidates {
        let recipient = c.route.recipient();
        let Some(role) = RecipientRole::of(recipient.kind) else {
            continue;
        };
        if warnings.iter().any(|w| w.role == role) {
            continue;
        }
        warnings.push(ProposedWarning {
            candidate: c.rank,
            recipient: recipient.clone(),
            role,
            required: rules.requires(recipient.kind),
        });
    }
    WarningSet { warnings }
}

/// A route plan with the set of warnings it proposes: what `route plan`
/// answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RoutePlanView {
    #[serde(flatten)]
    pub plan: RoutePlan,
    pub warning_set: WarningSet,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::{Channel, Hop, Route};
    use crate::geo::CountryCode;
    use crate::report::NonEmptyVec;
    use crate::routing::{Approach, Candidate};
    use crate::text::{Name, Reason};

    fn party(name: &str, kind: PartyKind) -> Party {
        Party {
            name: Name::new(name).unwrap(),
            kind,
            country: Some(CountryCode::new("FR").unwrap()),
        }
    }

    fn candidate(rank: u32, to: Party) -> Candidate {
        let us = party("Our element", PartyKind::OwnElement);
        Candidate {
            rank,
            score: 100 - rank,
            approach: Approach::Liaison,
            route: Route::new(
                to.clone(),
                NonEmptyVec::one(Hop {
                    from: us,
                    to,
                    channel: Channel::ServiceLiaison,
                }),
            )
            .unwrap(),
            reason: Reason::new("because").unwrap(),
            recipient_id: None,
        }
    }

    #[test]
    fn proposes_the_best_candidate_per_role() {
        let plan = RoutePlan {
            candidates: vec![
                candidate(1, party("DGSI", PartyKind::SecurityService)),
                candidate(2, party("Police nationale", PartyKind::Police)),
                candidate(3, party("Acme security lead", PartyKind::CompanySecurity)),
                candidate(4, party("Embassy", PartyKind::Embassy)),
            ],
            excluded: vec![],
            notes: vec![],
        };
        let set = propose(&plan, &WarningRules::default());
        let got: Vec<_> = set
            .warnings
            .iter()
            .map(|w| (w.candidate, w.role, w.required))
            .collect();
        assert_eq!(
            got,
            vec![
                (1, RecipientRole::StateProtector, true),
                (3, RecipientRole::PrivateProtector, true),
            ]
        );
        // The view keeps the plan's fields where they were.
        let json = serde_json::to_value(RoutePlanView {
            plan: plan.clone(),
            warning_set: set,
        })
        .unwrap();
        assert!(json.get("candidates").is_some() && json.get("warning_set").is_some());
    }
}
