//! Reference data (the relations between states, the recipients
//! directory), route planning over it, and the notice targets escalations
//! are sent to.
//!
//! Changes to reference data are events on the reference stream with the
//! derived documents in the same transaction (rebuilt from the ledger; see
//! [`crate::projection`]). Until an organisation sets its own, the shipped
//! defaults apply (a US deployment: Iran through Switzerland, North Korea
//! through Sweden). Changing reference data needs the `operate`
//! permission; planning a route, `analyse`.

use tocsin_domain::access::Permission;
use tocsin_domain::case::{Case, Command};
use tocsin_domain::delivery::{Party, PartyKind};
use tocsin_domain::event::Event;
use tocsin_domain::notice::NoticeTarget;
use tocsin_domain::reference::{Directory, Relations};
use tocsin_domain::routing::{RoutePlan, RoutingFacts, plan};
use tocsin_domain::text::{Label, Name, Reason, bidi_control};
use tocsin_domain::warning::RouteFor;
use tocsin_domain::warning_set::{self, RoutePlanView};
use tocsin_domain::{ActorName, CaseRef};
use tocsin_store::{DocExpect, DocKind, DocWrite, NewEvents, StreamId};

use crate::access::{Principal, Visible};
use crate::command::{Executed, envelopes};
use crate::error::invalid;
use crate::projection::{DIRECTORY_KEY, RELATIONS_KEY, TARGET_PREFIX, reference_doc};
use crate::{Service, ServiceError};

fn secret_key(name: &str) -> String {
    format!("webhook-secret/{name}")
}

impl Service {
    async fn reference_event(
        &self,
        by: &ActorName,
        event: Event,
        extra: Vec<DocWrite>,
    ) -> Result<(), ServiceError> {
        let mut docs = extra;
        if let Some((kind, key, body)) = reference_doc(&event) {
            docs.push(DocWrite {
                kind,
                key,
                expect: DocExpect::Any,
                body,
            });
        }
        self.store
            .append(NewEvents {
                stream: StreamId::Reference,
                expected_version: None,
                // Not a case or the access stream: every leaf is version 1.
                salts: Vec::new(),
                events: envelopes(by, self.now(), vec![event]),
                summary: None,
                docs,
            })
            .await?;
        Ok(())
    }

    /// The relations between our state and the others.
    pub async fn relations(&self) -> Result<Relations, ServiceError> {
        match self
            .store
            .get_doc(DocKind::Reference, RELATIONS_KEY)
            .await?
        {
            Some(d) => Ok(d.parse()?),
            None => Ok(Relations::us_default()),
        }
    }

    /// Replaces the relations (recorded in the ledger).
    pub async fn set_relations(
        &self,
        p: &Principal,
        relations: Relations,
    ) -> Result<Relations, ServiceError> {
        self.authorize(p, Permission::Operate, "set_relations")
            .await?;
        self.reference_event(p.name(), Event::RelationsReplaced { relations }, vec![])
            .await?;
        self.relations().await
    }

    /// The recipients directory.
    pub async fn directory(&self) -> Result<Directory, ServiceError> {
        match self
            .store
            .get_doc(DocKind::Reference, DIRECTORY_KEY)
            .await?
        {
            Some(d) => Ok(d.parse()?),
            None => Ok(Directory::builtin()),
        }
    }

    /// Replaces the recipients directory (recorded in the ledger).
    pub async fn set_directory(
        &self,
        p: &Principal,
        directory: Directory,
    ) -> Result<Directory, ServiceError> {
        self.authorize(p, Permission::Operate, "set_directory")
            .await?;
        printable(&directory)?;
        self.reference_event(p.name(), Event::DirectoryReplaced { directory }, vec![])
            .await?;
        self.directory().await
    }

    /// Ranked route candidates for a case, with why, and what was excluded.
    pub async fn route_plan(
        &self,
        p: &Principal,
        reference: impl Into<CaseRef>,
    ) -> Result<RoutePlanView, ServiceError> {
        self.authorize(p, Permission::Analyse, "route_plan").await?;
        let case = self.case(p, reference, "route_plan").await?;
        let plan = self.plan_for(&case).await?;
        let warning_set = warning_set::propose(&plan, &self.policy.policy.warnings);
        Ok(RoutePlanView { plan, warning_set })
    }

    async fn plan_for(&self, case: &Case) -> Result<RoutePlan, ServiceError> {
        let relations = self.relations().await?;
        let directory = self.directory().await?;
        let us = Party {
            name: Name::new(case.lead_element.as_str()).map_err(|e| invalid(e.to_string()))?,
            kind: PartyKind::OwnElement,
            country: Some(relations.our_state()),
        };
        plan(&RoutingFacts::from_case(case), &us, &relations, &directory)
            .map_err(|e| invalid(format!("route planning: {e}")))
    }

    /// Chooses candidate `rank` of the case's route plan; the others are
    /// recorded as the alternatives considered.
    pub async fn choose_candidate(
        &self,
        p: &Principal,
        case: &Visible<Case>,
        rank: u32,
        rationale: Option<Reason>,
        target: RouteFor,
    ) -> Result<Executed, ServiceError> {
        self.authorize(p, Permission::Analyse, "choose_candidate")
            .await?;
        let plan = self.plan_for(case).await?;
        let chosen = plan
            .candidates
            .iter()
            .find(|c| c.rank == rank)
            .ok_or_else(|| {
                ServiceError::invalid(
                    "candidate",
                    format_args!(
                        "the plan has {} candidate(s); there is no candidate {rank}",
                        plan.candidates.len()
                    ),
                )
            })?;
        let route = chosen.route.clone();
        let rationale = rationale.unwrap_or_else(|| chosen.reason.clone());
        let alternatives = plan.alternatives(&chosen.route);
        let cmd = match target {
            RouteFor::NewWarning => Command::AddWarning {
                route,
                rationale,
                alternatives,
            },
            RouteFor::Only | RouteFor::Warning(_) => Command::ChooseRoute {
                warning: match target {
                    RouteFor::Warning(n) => Some(n),
                    _ => None,
                },
                route,
                rationale,
                alternatives,
            },
        };
        self.execute(p, case, cmd).await
    }

    /// Where escalation notices go.
    pub async fn notice_targets(&self) -> Result<Vec<NoticeTarget>, ServiceError> {
        let mut out = Vec::new();
        let mut after = Some(TARGET_PREFIX.to_owned());
        loop {
            let page = self.store.list_docs(DocKind::Reference, after, 200).await?;
            let n = page.len();
            for d in &page {
                if !d.key.starts_with(TARGET_PREFIX) {
                    return Ok(out);
                }
                out.push(d.parse()?);
            }
            if n < 200 {
                return Ok(out);
            }
            after = page.last().map(|d| d.key.clone());
        }
    }

    /// Where escalation notices go, for an operator.
    pub async fn list_notice_targets(
        &self,
        p: &Principal,
    ) -> Result<Vec<NoticeTarget>, ServiceError> {
        self.authorize(p, Permission::Operate, "list_notification_targets")
            .await?;
        self.notice_targets().await
    }

    /// Adds or changes a target; a webhook's secret (for the HMAC-SHA256
    /// signature) is kept beside the ledger, never in it.
    pub async fn set_notice_target(
        &self,
        p: &Principal,
        mut target: NoticeTarget,
        secret: Option<String>,
    ) -> Result<NoticeTarget, ServiceError> {
        self.authorize(p, Permission::Operate, "set_notification_target")
            .await?;
        if let tocsin_domain::notice::NoticeChannel::Email { to } = &target.channel
            && to.is_empty()
        {
            return Err(ServiceError::invalid(
                "channel.to",
                "give at least one address",
            ));
        }
        let key = secret_key(target.name.as_str());
        let extra = match &secret {
            Some(s) => {
                if s.len() < 16 {
                    return Err(invalid("a webhook secret needs at least 16 characters"));
                }
                vec![DocWrite::put(DocKind::Credential, key, DocExpect::Any, &s)]
            }
            None => vec![DocWrite::delete(DocKind::Credential, key, DocExpect::Any)],
        };
        target.signed = secret.is_some();
        self.reference_event(
            p.name(),
            Event::NoticeTargetSet {
                target: target.clone(),
            },
            extra,
        )
        .await?;
        Ok(target)
    }

    /// Removes a target (its secret with it).
    pub async fn remove_notice_target(
        &self,
        p: &Principal,
        name: Label,
    ) -> Result<(), ServiceError> {
        self.authorize(p, Permission::Operate, "remove_notification_target")
            .await?;
        if !self.notice_targets().await?.iter().any(|t| t.name == name) {
            return Err(ServiceError::NotFound(format!(
                "there is no notification target '{name}'"
            )));
        }
        let key = secret_key(name.as_str());
        self.reference_event(
            p.name(),
            Event::NoticeTargetRemoved { name },
            vec![DocWrite::delete(DocKind::Credential, key, DocExpect::Any)],
        )
        .await
    }

    /// A webhook target's signing secret (for the sender, inside the server).
    pub async fn webhook_secret(&self, name: &str) -> Result<Option<String>, ServiceError> {
        match self
            .store
            .get_doc(DocKind::Credential, &secret_key(name))
            .await?
        {
            Some(d) => Ok(Some(d.parse()?)),
            None => Ok(None),
        }
    }
}

/// Every text of a directory prints as it is stored, and every name can be
/// a CAP address: no direction controls anywhere, no double quote in a
/// name (a CAP address cannot carry one).
fn printable(directory: &Directory) -> Result<(), ServiceError> {
    for (i, e) in directory.entries().iter().enumerate() {
        let field = |f: &str| format!("recipient[{i}].{f}");
        if e.name.as_str().contains('"') {
            return Err(ServiceError::invalid(
                &field("name"),
                format_args!(
                    "'{}' contains a double quote, which a CAP address cannot carry",
                    e.name
                ),
            ));
        }
        let texts = std::iter::once(("name", e.name.as_str()))
            .chain(e.locality.iter().map(|l| ("locality", l.as_str())))
            .chain(e.sites.iter().map(|s| ("sites", s.as_str())))
            .chain(e.notes.iter().map(|n| ("notes", n.as_str())))
            .chain(e.contacts.iter().map(|c| ("contact", c.address.as_str())));
        for (f, text) in texts {
            if let Some(c) = bidi_control(text) {
                return Err(ServiceError::invalid(
                    &field(f),
                    format_args!(
                        "contains U+{:04X}, a direction control that makes printed text read differently from what is stored",
                        c as u32
                    ),
                ));
            }
        }
    }
    Ok(())
}
