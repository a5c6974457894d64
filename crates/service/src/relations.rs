//! Merging and linking two cases about one threat, by the lead elements of
//! both.
//!
//! Each lead analyst asks for the same thing (`merge A into B`, or `link A
//! with B`) naming both cases; the request is recorded as a
//! `relation_proposed` on the case the caller leads and sees (its own).
//! When the other case holds the same proposal from another person, the
//! relation is made: a merge appends to the surviving case first (the
//! merge and the absorbed reports), then to the absorbed one (the merge and
//! its closure, on the grounds that it was merged); a link appends
//! `cases_linked` to both. When both cases have the same lead element and
//! the caller leads both, the relation is made at once. One person never
//! makes a relation between cases of two lead elements alone, even one who
//! belongs to both.
//!
//! The caller may not see the other case: the answer is `proposed`
//! whether it exists, is hidden, or has not proposed the same, so nothing
//! is learnt about it until its lead element agrees.

use serde::{Deserialize, Serialize};
use tocsin_domain::access::{ClearanceLevels, Permission};
use tocsin_domain::case::{Case, Ctx};
use tocsin_domain::elements::{self, Relation};
use tocsin_domain::{CaseId, CaseRef};

use crate::access::Principal;
use crate::command::Decision;
use crate::contributions::refused;
use crate::{Service, ServiceError};

/// Where a merge or a link stands after a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RelationStatus {
    /// Recorded on the caller's case; the other case's lead element must
    /// ask for the same.
    Proposed,
    Merged,
    Linked,
}

impl Service {
    /// Merges the case `absorbed` into the case `into` (see the module's
    /// docs): one of them must be the caller's own.
    pub async fn merge_cases(
        &self,
        p: &Principal,
        absorbed: CaseRef,
        into: CaseRef,
    ) -> Result<RelationStatus, ServiceError> {
        self.relate(p, absorbed, into, true).await
    }

    /// Links two cases (see the module's docs): `case` or `with` must be
    /// the caller's own.
    pub async fn link_cases(
        &self,
        p: &Principal,
        case: CaseRef,
        with: CaseRef,
    ) -> Result<RelationStatus, ServiceError> {
        self.relate(p, case, with, false).await
    }

    async fn resolve(&self, r: &CaseRef) -> Result<Option<CaseId>, ServiceError> {
        Ok(match r {
            CaseRef::Id(id) => Some(*id),
            CaseRef::Number(n) => self.store.case_by_number(*n).await?,
        })
    }

    async fn load_ref(&self, r: &CaseRef) -> Result<Option<Case>, ServiceError> {
        let Some(id) = self.resolve(r).await? else {
            return Ok(None);
        };
        match self.load(id).await {
            Ok(c) => Ok(Some(c)),
            Err(ServiceError::CaseNotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn leads(p: &Principal, case: &Case, levels: &ClearanceLevels) -> bool {
        Service::sees(p, case, levels) && p.account().spec.elements.contains(&case.lead_element)
    }

    async fn relate(
        &self,
        p: &Principal,
        a: CaseRef,
        b: CaseRef,
        merge: bool,
    ) -> Result<RelationStatus, ServiceError> {
        let action = if merge { "merge_cases" } else { "link_cases" };
        self.authorize(p, Permission::Analyse, action).await?;
        let levels = self.clearance_levels().await?;
        let case_a = self.load_ref(&a).await?;
        let case_b = self.load_ref(&b).await?;
        let (own, other, other_ref) = match (&case_a, &case_b) {
            (Some(c), _) if Self::leads(p, c, &levels) => (c, case_b.as_ref(), &b),
            (_, Some(c)) if Self::leads(p, c, &levels) => (c, case_a.as_ref(), &a),
            _ => {
                // Neither is the caller's own: answered as a command on
                // the first would be (404, 403, or not of its lead element).
                let visible = self.case(p, a, action).await?;
                let b = &b;
                self.check_lead(p, &visible, action).await?;
                return Err(ServiceError::Forbidden(format!(
                    "you lead neither case {a} nor case {b}"
                )));
            }
        };
        if other.is_some_and(|o| o.id == own.id) {
            return Err(refused(elements::ElementsError::SameCase));
        }
        let relation = if merge {
            Relation::Merge {
                absorbed: a,
                into: b,
            }
        } else {
            Relation::Link { with: *other_ref }
        };
        let confirmed = match other {
            Some(o) if Self::leads(p, o, &levels) && o.lead_element == own.lead_element => true,
            Some(o) => self.proposed_by_other(p, o, own, merge, &a, &b).await?,
            None => false,
        };
        let own_id = own.id;
        let Some(other) = other.filter(|_| confirmed) else {
            let visible = self.case(p, own_id, action).await?;
            self.on_visible_case(p, &visible, action, |case, _| {
                elements::propose(case, relation.clone())
            })
            .await?;
            return Ok(RelationStatus::Proposed);
        };
        if merge {
            let (into, absorbed) = if case_b.as_ref().is_some_and(|c| c.id == own_id) {
                (own_id, other.id)
            } else {
                (other.id, own_id)
            };
            self.complete_merge(p, into, absorbed).await?;
            Ok(RelationStatus::Merged)
        } else {
            for (case, with) in [(own_id, other.id), (other.id, own_id)] {
                self.on_case(case, p.name(), |c, _| {
                    Ok(nothing_if_empty(Decision::Append {
                        events: elements::link(c, with).map_err(refused)?,
                        docs: Vec::new(),
                    }))
                })
                .await?;
            }
            Ok(RelationStatus::Linked)
        }
    }

    /// Whether `other` holds the same proposal, made by someone else.
    async fn proposed_by_other(
        &self,
        p: &Principal,
        other: &Case,
        own: &Case,
        merge: bool,
        a: &CaseRef,
        b: &CaseRef,
    ) -> Result<bool, ServiceError> {
        let (a_id, b_id) = (self.resolve(a).await?, self.resolve(b).await?);
        for proposal in other.across.proposals.iter().filter(|x| &x.by != p.name()) {
            let same = match (&proposal.relation, merge) {
                (Relation::Merge { absorbed, into }, true) => {
                    self.resolve(absorbed).await? == a_id && self.resolve(into).await? == b_id
                }
                (Relation::Link { with }, false) => self.resolve(with).await? == Some(own.id),
                _ => false,
            };
            if same {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The surviving case first (the merge and the absorbed reports), then
    /// the absorbed one (the merge and its closure). The surviving case's
    /// owner must still see it with the absorbed reports' markings.
    async fn complete_merge(
        &self,
        p: &Principal,
        into: CaseId,
        absorbed: CaseId,
    ) -> Result<(), ServiceError> {
        let levels = self.clearance_levels().await?;
        let actor = p.actor();
        let absorbed_case = self.load(absorbed).await?;
        let into_case = self.load(into).await?;
        let mut after = into_case.marking();
        for r in &absorbed_case.reports {
            after = crate::intake::marked(after, &r.report.handling);
        }
        self.keeps_owner(
            &levels,
            &into_case.owner,
            Some(&into_case.marking()),
            &after,
        )
        .await?;
        self.on_case(into, p.name(), |c, now| {
            let ctx = Ctx {
                actor: &actor,
                now,
                policy: &self.policy,
                report_formats: &[],
            };
            Ok(nothing_if_empty(Decision::Append {
                events: elements::merge_into(c, &absorbed_case, ctx).map_err(refused)?,
                docs: Vec::new(),
            }))
        })
        .await?;
        let into_case = self.load(into).await?;
        self.on_case(absorbed, p.name(), |c, _| {
            Ok(Decision::Append {
                events: elements::close_absorbed(c, &into_case).map_err(refused)?,
                docs: Vec::new(),
            })
        })
        .await?;
        Ok(())
    }
}

fn nothing_if_empty(d: Decision) -> Decision {
    match d {
        Decision::Append { events, .. } if events.is_empty() => Decision::Nothing,
        d => d,
    }
}
