//! Name screening as part of the case record: which registries (protectee
//! directories, watch lists) the names of a report were screened against,
//! what matched, and the flags raised for the W3 assessment.
//!
//! The matching itself (`tocsin-match`) and the registries live outside the
//! domain; these are the facts recorded from it. A watch-list flag is
//! *evidence for a human assessment* of waiver ground W3 ("a reasonable basis
//! to believe the victim is a terrorist..."): folding it never changes the
//! case's state, its determination or its waivers.
//!
//! Scores are kept as integer thousandths (`score_permille`): events are
//! ledger leaves, and integers survive every JSON round trip unchanged.

use serde::{Deserialize, Serialize};

use crate::ids::ReportId;

/// A registry and the exact version a screening used.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistryRef {
    /// The registry's name in this deployment (`ofac`, `un`, `protectees`).
    pub name: String,
    /// `ofac`, `un` or `directory`.
    pub kind: String,
    /// 1 for the first import, +1 at every re-import.
    pub version: u64,
    /// SHA-256 of the registry's canonical content (hex).
    pub sha256: String,
}

impl RegistryRef {
    /// Whether the registry is a watch list (sanctions or terrorism list)
    /// rather than the organisation's own directory.
    pub fn is_watch_list(&self) -> bool {
        self.kind != "directory"
    }
}

impl std::fmt::Display for RegistryRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} v{} (sha256 {}…)",
            self.name,
            self.version,
            &self.sha256[..12.min(self.sha256.len())]
        )
    }
}

/// Whose name was screened.
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
pub enum SubjectRole {
    /// An intended victim of the report.
    Victim,
    /// The report's threat actor.
    ThreatActor,
}

impl SubjectRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Victim => "victim",
            Self::ThreatActor => "threat actor",
        }
    }
}

/// One registry entry that matched a name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScreeningHit {
    /// The registry's name (see [`Screening::registries`] for its version).
    pub registry: String,
    /// The entry's id in the registry (`ofac:36`, `un:6908555`, a directory id).
    pub entry_id: String,
    /// `person`, `entity`, `vessel` or `aircraft`.
    pub entry_kind: String,
    /// The entry's primary name.
    pub listed_name: String,
    /// The name of the entry that matched (an alias, an original-script name).
    pub matched_name: String,
    /// `primary`, `alias`, `weak_alias` or `original_script`.
    pub name_source: String,
    /// Score in thousandths (750 = 0.750).
    pub score_permille: u16,
    /// Which parts of the names matched, and how.
    pub explanation: String,
    /// The sanctions programme or list type, when the list gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program: Option<String>,
    /// Country of the entry, when the list gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

impl ScreeningHit {
    /// The score as a fraction.
    pub fn score(&self) -> f64 {
        f64::from(self.score_permille) / 1000.0
    }
}

/// The names of one subject of a report and what they matched.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScreenedSubject {
    pub role: SubjectRole,
    /// Position of the victim in the report's list (0-based); 0 for the threat actor.
    pub index: u32,
    /// The name as the report gives it.
    pub name: String,
    /// Matches in the directories: who the subject is, if we know them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resolved: Vec<ScreeningHit>,
    /// Matches on the watch lists.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub listed: Vec<ScreeningHit>,
}

/// A registry that could not be used (it is recorded, so that an absent
/// hit is never mistaken for a clean result).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistryUnavailable {
    pub name: String,
    pub reason: String,
}

/// The screening of one report's names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Screening {
    pub report_id: ReportId,
    /// Every registry screened against, with its version and hash.
    pub registries: Vec<RegistryRef>,
    /// Score (thousandths) at or above which a match is recorded.
    pub threshold_permille: u16,
    /// Every named subject, with its matches (possibly none).
    pub subjects: Vec<ScreenedSubject>,
    /// Victims given only by a description (nothing to screen).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unnamed_victims: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unavailable: Vec<RegistryUnavailable>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Screening {
    /// Number of subjects with at least one watch-list match.
    pub fn listed_subjects(&self) -> usize {
        self.subjects
            .iter()
            .filter(|s| !s.listed.is_empty())
            .count()
    }

    /// Number of subjects resolved against a directory.
    pub fn resolved_subjects(&self) -> usize {
        self.subjects
            .iter()
            .filter(|s| !s.resolved.is_empty())
            .count()
    }
}

/// A victim matches a watch list: evidence for the W3 assessment. It is
/// never a waiver and never changes the determination; a person decides.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WatchListFlag {
    pub report_id: ReportId,
    /// The victim's name as the report gives it.
    pub subject: String,
    /// Position of the victim in the report's list (0-based).
    pub victim_index: u32,
    /// The waiver ground this is evidence for (`W3`).
    pub ground: String,
    /// The watch list and the exact version that matched.
    pub registry: RegistryRef,
    /// The matching entry, its names, score and explanation.
    pub hit: ScreeningHit,
}

/// The ground a watch-list match on a victim bears on.
pub const WATCH_LIST_GROUND: &str = "W3";

/// The timeline line of a [`Screening`].
pub fn summary(s: &Screening) -> String {
    let names: Vec<String> = s.registries.iter().map(|r| r.to_string()).collect();
    let mut out = format!(
        "names screened ({} subject(s)) against {}: {} on a watch list, {} resolved in a directory",
        s.subjects.len(),
        if names.is_empty() {
            "no registry".to_owned()
        } else {
            names.join(", ")
        },
        s.listed_subjects(),
        s.resolved_subjects()
    );
    if !s.unavailable.is_empty() {
        out.push_str(&format!(
            "; NOT screened against {}",
            s.unavailable
                .iter()
                .map(|u| format!("{} ({})", u.name, u.reason))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    out
}

/// The timeline line of a [`WatchListFlag`].
pub fn flag_summary(f: &WatchListFlag) -> String {
    format!(
        "watch-list flag for the {} assessment: victim \"{}\" matches {} {} \"{}\" (score {:.3}); not a waiver",
        f.ground,
        f.subject,
        f.registry,
        f.hit.entry_id,
        f.hit.listed_name,
        f.hit.score()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::{CaseState, Command};
    use crate::case_tests::{Harness, actor, report};
    use crate::event::Event;

    fn hit() -> ScreeningHit {
        ScreeningHit {
            registry: "un".into(),
            entry_id: "un:6908555".into(),
            entry_kind: "person".into(),
            listed_name: "A. JOURNALIST".into(),
            matched_name: "A. JOURNALIST".into(),
            name_source: "primary".into(),
            score_permille: 1000,
            explanation: "a ~ a (exact 1.00); journalist ~ journalist (exact 1.00)".into(),
            program: Some("DRC".into()),
            country: None,
        }
    }

    fn un() -> RegistryRef {
        RegistryRef {
            name: "un".into(),
            kind: "un".into(),
            version: 2,
            sha256: "ab".repeat(32),
        }
    }

    fn screening_events(h: &Harness) -> Vec<Event> {
        let report_id = h.case.reports[0].id;
        vec![
            Event::ScreeningRecorded {
                screening: Box::new(Screening {
                    report_id,
                    registries: vec![un()],
                    threshold_permille: 750,
                    subjects: vec![ScreenedSubject {
                        role: SubjectRole::Victim,
                        index: 0,
                        name: "A. Journalist".into(),
                        resolved: vec![],
                        listed: vec![hit()],
                    }],
                    unnamed_victims: 0,
                    unavailable: vec![],
                }),
            },
            Event::WatchListFlagRaised {
                flag: Box::new(WatchListFlag {
                    report_id,
                    subject: "A. Journalist".into(),
                    victim_index: 0,
                    ground: WATCH_LIST_GROUND.into(),
                    registry: un(),
                    hit: hit(),
                }),
            },
        ]
    }

    fn window() -> Option<(&'static str, &'static str)> {
        Some(("2024-01-03T00:00:00Z", "2024-01-05T00:00:00Z"))
    }

    /// The flag is evidence for a person: the determination (verdict and
    /// every rule of the trace), the state and the waivers are the same
    /// with and without it, and no waiver appears by itself.
    #[test]
    fn a_watch_list_flag_never_changes_the_determination() {
        let r = report("They will abduct the journalist.", "B2", window());
        let mut plain = Harness::open(r.clone(), "2024-01-01T12:00:00Z");
        let mut flagged = Harness::open(r, "2024-01-01T12:00:00Z");
        let evs = screening_events(&flagged);
        flagged.record(&actor("system"), evs);
        assert_eq!(flagged.case.state, plain.case.state);
        assert_eq!(flagged.case.watch_list_flags.len(), 1);
        assert_eq!(flagged.case.screenings.len(), 1);
        assert!(flagged.case.waivers.is_empty());

        let d1 = plain.ok("analyst.a", Command::Determine { note: None });
        let d2 = flagged.ok("analyst.a", Command::Determine { note: None });
        assert_eq!(
            d1, d2,
            "same determination events with and without the flag"
        );
        assert_eq!(plain.case.state, CaseState::DutyToWarn);
        assert_eq!(flagged.case.state, plain.case.state);
        assert_eq!(
            flagged.case.determination().map(|d| &d.determination),
            plain.case.determination().map(|d| &d.determination)
        );
        assert!(flagged.case.waivers.is_empty());

        // A flag raised after the determination changes nothing either.
        let before = plain.case.state;
        let evs = screening_events(&plain);
        plain.record(&actor("system"), evs);
        assert_eq!(plain.case.state, before);
        assert_eq!(plain.case.determinations.len(), 1);
    }

    #[test]
    fn summaries_name_the_registry_version_and_the_ground() {
        let h = Harness::open(
            report("They will abduct the journalist.", "B2", window()),
            "2024-01-01T12:00:00Z",
        );
        let evs = screening_events(&h);
        let s = evs[0].summary();
        assert!(s.contains("un v2"), "{s}");
        assert!(s.contains("1 on a watch list"), "{s}");
        let f = evs[1].summary();
        assert!(
            f.contains("W3") && f.contains("un:6908555") && f.contains("not a waiver"),
            "{f}"
        );
        assert_eq!(evs[1].kind(), "watch_list_flag_raised");
        assert!(evs[0].is_case_event() && evs[1].is_case_event());
        // Wire form round-trips exactly (integers only).
        let json = serde_json::to_string(&evs[1]).unwrap();
        let back: Event = serde_json::from_str(&json).unwrap();
        assert_eq!(back, evs[1]);
    }
}
