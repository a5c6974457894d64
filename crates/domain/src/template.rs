//! Warning templates: a first draft of the warning text from the facts of a
//! case (DOMAIN.md section 5): what is threatened, where, when as far as
//! known, and what to do, in the words of the target kind.
//!
//! The draft states the threat, never its basis: the perpetrator is named
//! only by kind ("a terrorist group"), times only by date, and nothing of
//! the source, method, report numbers or markings is used. It is a starting
//! point for the analyst, who edits it and records it with
//! `Command::DraftWarning`; [`draft_for_case`] refuses a draft the
//! sanitiser would flag (a fact of the case can itself carry a protected
//! term).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::case::Case;
use crate::delivery::{WarningText, Withheld, WithheldCategory};
use crate::geo::Location;
use crate::policy::LoadedPolicy;
use crate::report::{ActorKind, HarmType, HarmTypes, TargetKind, Victim};
use crate::sanitise::Finding;
use crate::text::Name;
use crate::time::ThreatWindow;

/// What a template needs to know about a case.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TemplateFacts {
    pub target_kind: TargetKind,
    pub harm_types: HarmTypes,
    pub victims: Vec<Victim>,
    /// The main location (of the report that opened the case).
    pub location: Option<Location>,
    /// The threat window in force.
    pub window: Option<ThreatWindow>,
    /// The kind of the threat actor, if known; its name is never used.
    pub actor_kind: Option<ActorKind>,
    /// What the basis holds that the template leaves out.
    pub withheld: Withheld,
}

impl TemplateFacts {
    /// The facts of a case: harm types and window as the policy sees them
    /// (assessment first), target kind, location and actor of the opening
    /// report, the victims of all reports.
    pub fn from_case(case: &Case, policy: &LoadedPolicy) -> Self {
        let first = &case.reports[0].report;
        let mut victims: Vec<Victim> = Vec::new();
        let mut withheld: Withheld = BTreeSet::new();
        withheld.insert(WithheldCategory::CollectionMethod);
        for r in &case.reports {
            for v in r.report.target.victims.iter() {
                if !victims.contains(v) {
                    victims.push(v.clone());
                }
            }
            if r.report.source.is_some() {
                withheld.insert(WithheldCategory::SourceIdentity);
            }
            if r.report.external_reference.is_some() {
                withheld.insert(WithheldCategory::ReportNumbers);
            }
            if r.report.handling.classification.is_some() {
                withheld.insert(WithheldCategory::ClassificationMarkings);
            }
            if r.report.threat_actor.is_some() {
                withheld.insert(WithheldCategory::PerpetratorDetails);
            }
        }
        TemplateFacts {
            target_kind: first.target.kind,
            harm_types: case.facts(policy).harm_types,
            victims,
            location: first.location.clone(),
            window: case.window(),
            actor_kind: first.threat_actor.as_ref().map(|a| a.kind),
            withheld,
        }
    }
}

/// How the draft speaks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateOptions {
    /// Who speaks in the text ("The United States").
    pub sender: Name,
}

/// A drafted warning and the categories it withholds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Draft {
    pub target_kind: TargetKind,
    pub text: WarningText,
    pub withheld: Withheld,
}

/// A draft the sanitiser flags (a fact of the case carries a protected term).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the drafted text would reveal: {}", findings.iter().map(|f| f.to_string()).collect::<Vec<_>>().join("; "))]
pub struct TemplateError {
    pub findings: Vec<Finding>,
    /// The draft, to edit by hand.
    pub draft: Draft,
}

/// The most severe harm threatened: (verb phrase, noun phrase).
fn harm_words(h: &HarmTypes) -> (&'static str, &'static str) {
    let s = h.set();
    if s.contains(&HarmType::IntentionalKilling) {
        ("to kill", "a deadly attack")
    } else if s.contains(&HarmType::Kidnapping) {
        ("to abduct", "an abduction")
    } else if s.contains(&HarmType::SeriousBodilyInjury) {
        ("to seriously injure", "a violent attack")
    } else {
        ("to harm", "an attack")
    }
}

fn actor_words(k: Option<ActorKind>) -> &'static str {
    match k {
        Some(ActorKind::TerroristGroup) => "a terrorist group",
        Some(ActorKind::State) => "agents of a foreign state",
        Some(ActorKind::CriminalGroup) => "a criminal group",
        Some(ActorKind::Individual) => "an individual",
        Some(ActorKind::Unknown) | None => "attackers",
    }
}

fn plans(k: Option<ActorKind>) -> &'static str {
    match k {
        Some(ActorKind::TerroristGroup | ActorKind::CriminalGroup | ActorKind::Individual) => {
            "plans"
        }
        _ => "plan",
    }
}

fn where_words(l: Option<&Location>) -> String {
    let Some(l) = l else {
        return String::new();
    };
    let mut parts = vec![l.description.as_str().to_owned()];
    if let Some(loc) = &l.locality
        && !l.description.as_str().contains(loc.as_str())
    {
        parts.push(loc.as_str().to_owned());
    }
    parts.push(l.country.name().to_owned());
    format!(" at {}", parts.join(", "))
}

fn when_words(w: Option<&ThreatWindow>) -> String {
    let Some(w) = w else {
        return ", at a time not yet known".to_owned();
    };
    let tz = w.time_zone().zone();
    let start = w.not_before().to_zoned(tz.clone());
    let mut end = w.not_after().to_zoned(tz);
    // A window ending at midnight ends on the day before.
    if end.hour() == 0 && end.minute() == 0 && end.second() == 0 && end.date() > start.date() {
        end = end.yesterday().unwrap_or(end);
    }
    let day = |z: &jiff::Zoned| z.strftime("%-d %B %Y").to_string();
    if start.date() == end.date() {
        format!(" on {}", day(&start))
    } else {
        format!(" between {} and {}", day(&start), day(&end))
    }
}

fn victims_words(v: &[Victim]) -> String {
    let labels: Vec<String> = v
        .iter()
        .map(|v| {
            let l = v.label().lines().next().unwrap_or("").trim();
            let mut c = l.chars();
            // "Civilians attending..." reads as "civilians attending..." mid-sentence.
            match (c.next(), c.next()) {
                (Some(a), Some(b)) if a.is_uppercase() && b.is_lowercase() => {
                    a.to_lowercase().chain(l.chars().skip(1)).collect()
                }
                _ => l.to_owned(),
            }
        })
        .filter(|l| !l.is_empty())
        .collect();
    match labels.len() {
        0 => "the people at risk".to_owned(),
        1 => labels[0].clone(),
        _ => {
            let (last, rest) = labels.split_last().unwrap_or((&labels[0], &[]));
            format!("{} and {}", rest.join(", "), last)
        }
    }
}

/// What the recipient should do, per target kind.
pub fn what_to_do(kind: TargetKind) -> &'static str {
    match kind {
        TargetKind::Person => {
            "Take immediate steps to protect the person: vary routines and routes, avoid the place named, and report anything suspicious to the police at once."
        }
        TargetKind::Group => {
            "Take immediate steps to protect the group: vary routines, avoid gathering at the place named, and report anything suspicious to the police at once."
        }
        TargetKind::Organisation => {
            "Review the security of the organisation's premises and staff, restrict access, and brief those responsible for its security."
        }
        TargetKind::Place => {
            "Increase security at the site and its approaches, screen visitors and vehicles, and prepare to evacuate."
        }
        TargetKind::Gathering => {
            "Increase security at the event and its approaches, screen attendees, and consider postponing or moving it."
        }
    }
}

/// The draft for the facts' target kind.
pub fn draft(facts: &TemplateFacts, opts: &TemplateOptions) -> Draft {
    let (verb, noun) = harm_words(&facts.harm_types);
    let actor = actor_words(facts.actor_kind);
    let plan = plans(facts.actor_kind);
    let victims = victims_words(&facts.victims);
    let where_ = where_words(facts.location.as_ref());
    let when = when_words(facts.window.as_ref());
    let threat = match facts.target_kind {
        TargetKind::Person | TargetKind::Group => {
            format!("{actor} {plan} {verb} {victims}{where_}{when}")
        }
        TargetKind::Organisation => {
            format!("{actor} {plan} {noun} against {victims}{where_}{when}")
        }
        TargetKind::Place => format!("{actor} {plan} {noun} on {victims}{where_}{when}"),
        TargetKind::Gathering => format!("{actor} {plan} {noun} on {victims}{where_}{when}"),
    };
    let text = format!(
        "{} has information indicating that {threat}. {} We share this under our duty to warn, so that you can take protective measures.",
        opts.sender,
        what_to_do(facts.target_kind)
    );
    let text: String = text.chars().take(WarningText::MAX_CHARS).collect();
    Draft {
        target_kind: facts.target_kind,
        text: WarningText::new(text)
            .unwrap_or_else(|_| unreachable!("a drafted warning is never blank")),
        withheld: facts.withheld.clone(),
    }
}

/// The draft for a case, checked by the sanitiser with the case's protected
/// terms under `policy`.
pub fn draft_for_case(
    case: &Case,
    policy: &LoadedPolicy,
    opts: &TemplateOptions,
) -> Result<Draft, Box<TemplateError>> {
    let d = draft(&TemplateFacts::from_case(case, policy), opts);
    let findings = case.check_warning_text(d.text.as_str(), policy, &[]);
    if findings.is_empty() {
        Ok(d)
    } else {
        Err(Box::new(TemplateError { findings, draft: d }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;

    fn opts() -> TemplateOptions {
        TemplateOptions {
            sender: Name::new("The United States").unwrap(),
        }
    }

    const KINDS: [TargetKind; 5] = [
        TargetKind::Person,
        TargetKind::Group,
        TargetKind::Organisation,
        TargetKind::Place,
        TargetKind::Gathering,
    ];

    /// Every template, on every scenario case, passes the sanitiser with
    /// the case's protected terms.
    #[test]
    fn every_target_kind_passes_the_sanitiser_on_every_scenario() {
        let policy = LoadedPolicy::builtin();
        for (name, json) in fixtures::ALL {
            for kind in KINDS {
                let mut r = fixtures::report(json);
                r.target.kind = kind;
                let mut reports = vec![r];
                if *name == "crocus" {
                    reports.push(fixtures::report(fixtures::CROCUS_SYNAGOGUE));
                }
                let case = fixtures::case_of(&reports);
                let d = draft_for_case(&case, &policy, &opts())
                    .unwrap_or_else(|e| panic!("{name} as {}: {e}", kind.as_str()));
                assert_eq!(d.target_kind, kind);
                assert!(d.text.as_str().contains(what_to_do(kind)));
                // Nothing of the basis.
                for r in &case.reports {
                    for t in r.report.protected_terms() {
                        assert!(!d.text.as_str().contains(t.as_str()), "{name}: {}", d.text);
                    }
                    if let Some(a) = &r.report.threat_actor {
                        assert!(!d.text.as_str().contains(a.name.as_str()), "{}", d.text);
                    }
                }
            }
        }
    }

    #[test]
    fn kerman_draft_says_what_where_when_and_what_to_do() {
        let policy = LoadedPolicy::builtin();
        let case = fixtures::case_of(&[fixtures::report(fixtures::KERMAN)]);
        let d = draft_for_case(&case, &policy, &opts()).unwrap();
        assert_eq!(
            d.text.as_str(),
            "The United States has information indicating that a terrorist group plans a deadly attack on \
civilians attending the commemoration at the Kerman Martyrs' Cemetery at Kerman Martyrs' Cemetery, \
Soleimani memorial, Iran on 3 January 2024. Increase security at the event and its approaches, \
screen attendees, and consider postponing or moving it. We share this under our duty to warn, so \
that you can take protective measures."
        );
        assert!(d.withheld.contains(&WithheldCategory::SourceIdentity));
        assert!(d.withheld.contains(&WithheldCategory::ReportNumbers));
        assert!(
            d.withheld
                .contains(&WithheldCategory::ClassificationMarkings)
        );
        assert!(d.withheld.contains(&WithheldCategory::PerpetratorDetails));
    }

    #[test]
    fn edge3_draft_for_a_person() {
        let policy = LoadedPolicy::builtin();
        let case = fixtures::case_of(&[fixtures::report(fixtures::EDGE3)]);
        let d = draft_for_case(&case, &policy, &opts()).unwrap();
        let t = d.text.as_str();
        assert!(
            t.contains("agents of a foreign state plan to abduct"),
            "{t}"
        );
        assert!(t.contains("Brooklyn, New York, United States"), "{t}");
        assert!(t.contains("between 5 June 2021 and 30 August 2021"), "{t}");
        assert!(!d.withheld.contains(&WithheldCategory::ReportNumbers));
    }

    #[test]
    fn a_fact_carrying_a_protected_term_is_refused() {
        let policy = LoadedPolicy::builtin();
        let mut r = fixtures::report(fixtures::KERMAN);
        r.location.as_mut().unwrap().description = Name::new("The NIGHTJAR safe house").unwrap();
        let case = fixtures::case_of(&[r]);
        let e = draft_for_case(&case, &policy, &opts()).unwrap_err();
        assert_eq!(e.findings[0].text, "NIGHTJAR");
        assert!(e.draft.text.as_str().contains("NIGHTJAR"));
    }

    #[test]
    fn without_window_or_place() {
        let policy = LoadedPolicy::builtin();
        let mut r = fixtures::report(fixtures::EDGE6);
        r.window = None;
        r.location = None;
        let case = fixtures::case_of(&[r]);
        let d = draft_for_case(&case, &policy, &opts()).unwrap();
        assert!(
            d.text.as_str().contains("at a time not yet known"),
            "{}",
            d.text
        );
        assert!(
            d.text.as_str().contains("a criminal group plans to kill"),
            "{}",
            d.text
        );
    }
}
