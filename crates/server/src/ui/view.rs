//! What the templates show, as plain text made from the service's answers:
//! a case summary as a row, a case as its page, a rule trace in words,
//! a warning text with the sanitiser's findings marked. No access decision
//! is made here: everything shown was handed out by the service.

use serde::Serialize;
use tocsin_domain::Timestamp;
use tocsin_domain::case::WarningNumber;
use tocsin_domain::case::{Case, CaseState, Lateness, WaiverStatus, Warning};
use tocsin_domain::delivery::WithheldCategory;
use tocsin_domain::event::Independence;
use tocsin_domain::policy::{RuleOutcome, Verdict};
use tocsin_domain::routing::RoutePlan;
use tocsin_domain::sanitise::Finding;
use tocsin_service::LoggedEvent;
use tocsin_store::CaseSummary;

use super::across::AcrossView;
use super::deadlines::Due;
use super::evidence::{FlagView, ScreeningView};

pub(crate) use super::show::{late, when, wire, words};

/// One case in a list.
pub(crate) struct Row {
    /// Its number, or its id when it has none yet.
    pub reference: String,
    pub title: String,
    pub state: String,
    pub owner: String,
    pub next: String,
    pub overdue: bool,
    pub marking: String,
    /// Whether a standing duty was met before the threat's window opened
    /// (empty when no duty stands or the window is still to open).
    pub warned: String,
    /// Late or unwarned: shown as an alert.
    pub warned_late: bool,
}

impl Row {
    pub fn of(c: &CaseSummary, now: Timestamp) -> Row {
        let mut marking = c.levels.join("/");
        if !c.compartments.is_empty() {
            marking = format!("{marking}//{}", c.compartments.join("/"));
        }
        let overdue = c.state != CaseState::Closed && c.next_due.is_some_and(|d| d < now);
        let next = match (&c.next_step, c.next_due) {
            (Some(s), Some(d)) if d < now => {
                format!("{s}: due {}, {} late", when(d), late(now.duration_since(d)))
            }
            (Some(s), Some(d)) => format!("{s} by {}", when(d)),
            (Some(s), None) => s.clone(),
            _ => String::new(),
        };
        let lateness = c.measures.as_ref().and_then(|m| m.lateness(now));
        let warned = match &lateness {
            Some(Lateness::InTime { margin }) => {
                format!("in time, {} before the window", late(*margin))
            }
            Some(Lateness::Late { by }) => format!("late: {} after the window opened", late(*by)),
            Some(Lateness::Unwarned { by }) => {
                format!("NOT WARNED: the window opened {} ago", late(*by))
            }
            None => String::new(),
        };
        Row {
            warned,
            warned_late: lateness.is_some_and(|l| l.is_late()),
            reference: c
                .number
                .map(|n| n.to_string())
                .unwrap_or_else(|| c.id.to_string()),
            title: c.title.clone(),
            state: words(&c.state),
            owner: c.owner.clone(),
            next,
            overdue,
            marking,
        }
    }
}

pub(crate) struct ReportView {
    pub id: String,
    pub title: String,
    pub element: String,
    pub received: String,
    pub narrative: String,
    pub grading: String,
    pub marking: String,
    /// Which report it re-states, and why we think so, when it is derived.
    pub derived: Option<String>,
}

pub(crate) struct RuleView {
    pub rule: String,
    pub question: String,
    /// `pass`, `fail` or `open`.
    pub outcome: &'static str,
    /// The outcome in words a non-lawyer reads.
    pub outcome_words: &'static str,
    pub explanation: String,
    pub inputs: Vec<(String, String)>,
}

pub(crate) struct DeterminationView {
    pub verdict: String,
    pub duty: bool,
    pub by: String,
    pub at: String,
    pub policy: String,
    pub note: String,
    pub trace: Vec<RuleView>,
}

pub(crate) struct VersionView {
    pub warning: u32,
    pub version: u32,
    pub text: String,
    pub sha256: String,
    pub drafted: String,
    pub approved: Option<String>,
}

/// One hop of a warning's route, for the delivery form.
pub(crate) struct HopView {
    pub hop: usize,
    pub from: String,
    pub to: String,
    pub channel: String,
}

pub(crate) struct WarningView {
    pub number: u32,
    pub label: String,
    pub status: String,
    pub required: bool,
    pub route: Option<String>,
    pub rationale: String,
    pub alternatives: Vec<(String, String)>,
    pub versions: Vec<VersionView>,
    /// The latest version, when it awaits approval.
    pub pending: Option<VersionView>,
    pub deliveries: Vec<String>,
    pub responses: Vec<String>,
    pub hops: Vec<HopView>,
    /// The latest approved version: what a delivery passes.
    pub approved_version: Option<u32>,
}

pub(crate) struct WaiverView {
    pub id: String,
    pub ground: String,
    pub reason: String,
    pub legal_review: String,
    pub requested: String,
    pub requested_by: String,
    pub status: String,
    pub pending: bool,
    pub decided: String,
}

pub(crate) struct EventView {
    pub position: u64,
    pub seq: u64,
    pub at: String,
    pub actor: String,
    pub kind: String,
    pub summary: String,
}

/// A case as its page shows it.
pub(crate) struct CaseView {
    pub id: String,
    pub reference: String,
    pub title: String,
    pub state: String,
    pub owner: String,
    pub lead_element: String,
    pub opened: String,
    pub marking: String,
    pub reports: Vec<ReportView>,
    pub independent_sources: u32,
    pub assessments: Vec<String>,
    pub determination: Option<DeterminationView>,
    pub warnings: Vec<WarningView>,
    pub waivers: Vec<WaiverView>,
    /// The public-advisory decisions, in words.
    pub advisories: Vec<String>,
    /// The outcome recorded, in words.
    pub outcome: Option<String>,
    pub closed: bool,
    pub escalations: Vec<String>,
    pub refusals: Vec<String>,
    pub timeline: Vec<EventView>,
    /// The names of the reports screened, and what matched.
    pub screenings: Vec<ScreeningView>,
    /// Victims on a watch list: evidence for a human's W3 assessment.
    pub w3: Vec<FlagView>,
    /// Contributions, disputes and related cases (other elements).
    pub across: AcrossView,
    /// The case's deadlines, with when each was met.
    pub due: Vec<Due>,
    /// The warning the draft form names first: the first still planned,
    /// else the newest.
    pub draft_for: u32,
}

fn outcome(o: RuleOutcome) -> (&'static str, &'static str) {
    match o {
        RuleOutcome::Pass => ("pass", "met"),
        RuleOutcome::Fail => ("fail", "not met"),
        RuleOutcome::Open => ("open", "cannot be judged yet"),
    }
}

fn version_view(w: &Warning, v: &tocsin_domain::case::WarningVersion) -> VersionView {
    VersionView {
        warning: w.number.get(),
        version: v.version,
        text: v.text.as_str().to_owned(),
        sha256: v.sha256.clone(),
        drafted: format!("drafted by {} at {}", v.drafted_by, when(v.drafted_at)),
        approved: v.approved_by.as_ref().map(|by| match v.approved_at {
            Some(at) => format!("approved by {by} at {}", when(at)),
            None => format!("approved by {by}"),
        }),
    }
}

fn warning_view(w: &Warning) -> WarningView {
    let latest = w.versions.last();
    WarningView {
        number: w.number.get(),
        label: w.number.to_string(),
        status: w.status.as_str().to_owned(),
        required: w.required,
        route: w.route.as_ref().map(|r| r.route.describe()),
        rationale: w
            .route
            .as_ref()
            .map(|r| r.rationale.to_string())
            .unwrap_or_default(),
        alternatives: w
            .route
            .as_ref()
            .map(|r| {
                r.alternatives
                    .iter()
                    .map(|a| (a.route.describe(), a.reason.to_string()))
                    .collect()
            })
            .unwrap_or_default(),
        versions: w.versions.iter().map(|v| version_view(w, v)).collect(),
        pending: latest
            .filter(|v| v.approved_by.is_none())
            .map(|v| version_view(w, v)),
        deliveries: w
            .deliveries
            .iter()
            .map(|d| {
                let x = &d.delivery;
                format!(
                    "hop {}: {} v{} from {} to {} ({}), recorded by {} at {}",
                    x.hop,
                    x.status.as_str(),
                    x.warning_version,
                    x.sender,
                    x.receiver,
                    x.channel.as_str(),
                    d.recorded_by,
                    when(d.recorded_at)
                )
            })
            .collect(),
        responses: w
            .responses
            .iter()
            .map(|r| {
                let x = &r.response;
                format!(
                    "{} at {}{}, recorded by {}",
                    x.kind.as_str().replace('_', " "),
                    when(x.at),
                    x.note
                        .as_ref()
                        .map(|n| format!(": {n}"))
                        .unwrap_or_default(),
                    r.recorded_by
                )
            })
            .collect(),
        hops: w
            .route
            .as_ref()
            .map(|r| {
                r.route
                    .hops()
                    .iter()
                    .enumerate()
                    .map(|(i, h)| HopView {
                        hop: i + 1,
                        from: h.from.name.to_string(),
                        to: h.to.name.to_string(),
                        channel: h.channel.as_str().to_owned(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        approved_version: w
            .versions
            .iter()
            .rev()
            .find(|v| v.approved_by.is_some())
            .map(|v| v.version),
    }
}

impl CaseView {
    pub fn of(case: &Case, events: &[LoggedEvent]) -> CaseView {
        let marking = case.marking();
        let mut m: Vec<String> = marking.levels.iter().map(|l| l.to_string()).collect();
        m.extend(marking.compartments.iter().map(|c| c.to_string()));
        if marking.existence_restricted {
            m.push("existence restricted".into());
        }
        let title_of = |id: &tocsin_domain::ReportId| {
            case.reports
                .iter()
                .find(|r| r.id == *id)
                .map(|r| format!("“{}”", r.report.title))
                .unwrap_or_else(|| id.to_string())
        };
        let reports = case
            .reports
            .iter()
            .map(|r| {
                let h = &r.report.handling;
                let mut marking = vec![words(&h.tlp).to_uppercase()];
                marking.extend(h.classification.iter().map(|c| c.to_string()));
                marking.extend(h.compartments.iter().map(|c| c.to_string()));
                ReportView {
                    id: r.id.to_string(),
                    title: r.report.title.to_string(),
                    element: r.report.originating_element.to_string(),
                    received: when(r.report.received_at),
                    narrative: r.report.narrative.to_string(),
                    grading: format!(
                        "{} by {}: {}",
                        r.report.grading.grade, r.report.grading.assessor, r.report.grading.reason
                    ),
                    marking: marking.join(" "),
                    derived: match &r.independence {
                        Independence::Independent => None,
                        Independence::Derived { of, basis, .. } => {
                            Some(format!("re-states {} ({})", title_of(of), basis.describe()))
                        }
                    },
                }
            })
            .collect();
        let determination = case.determination().map(|d| {
            let det = &d.determination;
            DeterminationView {
                verdict: det.verdict.to_string(),
                duty: matches!(det.verdict, Verdict::DutyToWarn),
                by: d.by.to_string(),
                at: when(d.at),
                policy: det.policy.to_string(),
                note: d.note.as_ref().map(|n| n.to_string()).unwrap_or_default(),
                trace: det
                    .trace
                    .iter()
                    .map(|r| {
                        let (o, w) = outcome(r.outcome);
                        RuleView {
                            rule: r.rule.as_str().replace('_', " "),
                            question: r.question.clone(),
                            outcome: o,
                            outcome_words: w,
                            explanation: r.explanation.clone(),
                            inputs: r
                                .inputs
                                .iter()
                                .map(|i| (i.name.replace('_', " "), i.value.clone()))
                                .collect(),
                        }
                    })
                    .collect(),
            }
        });
        let summary_of = |seq: u64| {
            case.timeline
                .iter()
                .find(|t| t.seq == seq)
                .map(|t| t.summary.clone())
                .unwrap_or_default()
        };
        CaseView {
            id: case.id.to_string(),
            reference: case
                .number
                .map(|n| n.to_string())
                .unwrap_or_else(|| case.id.to_string()),
            title: case.title.to_string(),
            state: words(&case.state),
            owner: case.owner.to_string(),
            lead_element: case.lead_element.to_string(),
            opened: when(case.opened_at),
            marking: m.join(" · "),
            reports,
            independent_sources: case.independent_sources(),
            assessments: case
                .assessments
                .iter()
                .map(|a| format!("{} at {}: {}", a.by, when(a.at), a.value.reason))
                .collect(),
            determination,
            warnings: case.warnings.iter().map(warning_view).collect(),
            advisories: case
                .advisories
                .iter()
                .map(|a| {
                    let v = &a.value;
                    let mut s = format!(
                        "{} by {} at {}: {}",
                        words(&v.decision),
                        a.by,
                        when(a.at),
                        v.reason
                    );
                    if let Some(t) = &v.text {
                        s.push_str(&format!(" — “{t}”"));
                    }
                    s
                })
                .collect(),
            outcome: case.outcome.as_ref().map(|o| {
                let v = &o.value;
                let mut s = format!(
                    "{}, recorded by {} at {}",
                    words(&v.outcome),
                    o.by,
                    when(o.at)
                );
                if let Some(at) = v.at {
                    s.push_str(&format!("; it happened {}", when(at)));
                }
                if let Some(n) = &v.note {
                    s.push_str(&format!("; {n}"));
                }
                s
            }),
            closed: case.state == CaseState::Closed,
            waivers: case
                .waivers
                .iter()
                .map(|w| WaiverView {
                    id: w.id.to_string(),
                    ground: w.ground.clone(),
                    reason: w.reason.to_string(),
                    legal_review: w
                        .legal_review
                        .as_ref()
                        .map(|n| n.to_string())
                        .unwrap_or_default(),
                    requested: format!(
                        "requested by {} at {}",
                        w.requested_by,
                        when(w.requested_at)
                    ),
                    requested_by: w.requested_by.to_string(),
                    status: words(&w.status),
                    pending: w.status == WaiverStatus::Pending,
                    decided: match (&w.decided_by, w.decided_at) {
                        (Some(by), Some(at)) => format!(
                            "{} by {by} at {}{}",
                            words(&w.status),
                            when(at),
                            w.decision_reason
                                .as_ref()
                                .map(|r| format!(": {r}"))
                                .unwrap_or_default()
                        ),
                        _ => String::new(),
                    },
                })
                .collect(),
            escalations: case
                .escalations
                .iter()
                .map(|e| {
                    format!(
                        "{} was due {}; escalated {}",
                        e.step.as_str(),
                        when(e.due),
                        when(e.at)
                    )
                })
                .collect(),
            refusals: case
                .refusals
                .iter()
                .map(|r| {
                    format!(
                        "{} by {} at {}: {}",
                        words(&r.action),
                        r.by,
                        when(r.at),
                        r.reason
                    )
                })
                .collect(),
            timeline: events
                .iter()
                .map(|e| EventView {
                    position: e.position,
                    seq: e.seq,
                    at: when(e.recorded_at),
                    actor: e.actor.to_string(),
                    kind: e.event.kind().replace('_', " "),
                    summary: summary_of(e.seq),
                })
                .collect(),
            screenings: super::evidence::screenings(case),
            w3: super::evidence::flags(case),
            across: AcrossView::of(case),
            due: super::deadlines::of(case),
            draft_for: case
                .warnings
                .iter()
                .find(|w| w.status == tocsin_domain::case::WarningStatus::Planned)
                .or(case.warnings.last())
                .map_or(1, |w| w.number.get()),
        }
    }
}

/// A route candidate of the plan, to choose.
pub(crate) struct CandidateView {
    pub rank: u32,
    pub route: String,
    pub reason: String,
}

pub(crate) fn candidates(plan: &RoutePlan) -> Vec<CandidateView> {
    plan.candidates
        .iter()
        .map(|c| CandidateView {
            rank: c.rank,
            route: c.route.describe(),
            reason: c.reason.to_string(),
        })
        .collect()
}

/// A piece of a text, marked when the sanitiser found something in it.
pub(crate) struct Span {
    pub text: String,
    pub finding: Option<String>,
}

/// `text` cut at the findings' byte spans (overlaps and spans that do not
/// fall on characters are shown whole, unmarked).
pub(crate) fn marked(text: &str, findings: &[Finding]) -> Vec<Span> {
    let mut f: Vec<&Finding> = findings.iter().collect();
    f.sort_by_key(|x| (x.start, x.end));
    let mut out = Vec::new();
    let mut at = 0usize;
    for x in f {
        let ok = x.start >= at
            && x.end > x.start
            && x.end <= text.len()
            && text.is_char_boundary(x.start)
            && text.is_char_boundary(x.end);
        if !ok {
            continue;
        }
        if x.start > at {
            out.push(Span {
                text: text[at..x.start].to_owned(),
                finding: None,
            });
        }
        out.push(Span {
            text: text[x.start..x.end].to_owned(),
            finding: Some(x.category.as_str().replace('_', " ")),
        });
        at = x.end;
    }
    if at < text.len() {
        out.push(Span {
            text: text[at..].to_owned(),
            finding: None,
        });
    }
    out
}

/// The choices of an enum for a form: its wire names and their words.
pub(crate) fn choices<T: Serialize>(all: &[T]) -> Vec<(String, String)> {
    all.iter().map(|x| (wire(x), words(x))).collect()
}

/// The categories a draft may say it withheld, with their form values.
pub(crate) fn withheld_categories() -> Vec<(String, String)> {
    use WithheldCategory::*;
    [
        SourceIdentity,
        CollectionMethod,
        ExactTiming,
        ExactLocation,
        ReportNumbers,
        ClassificationMarkings,
        PartnerInformation,
        PerpetratorDetails,
        Other,
    ]
    .iter()
    .map(|c| (c.as_str().to_owned(), c.as_str().replace('_', " ")))
    .collect()
}

/// The warning a form names ("" or absent: the case's only one).
pub(crate) fn warning_number(s: Option<&str>) -> Option<WarningNumber> {
    s.filter(|s| !s.is_empty())
        .and_then(|s| s.trim_start_matches(['W', 'w']).parse().ok())
        .and_then(|n| WarningNumber::new(n).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tocsin_domain::sanitise::FindingCategory;

    fn finding(text: &str, start: usize, end: usize) -> Finding {
        Finding {
            category: FindingCategory::SourceIdentifier,
            start,
            end,
            text: text[start..end].to_owned(),
        }
    }

    fn shown(spans: &[Span]) -> String {
        spans
            .iter()
            .map(|s| match &s.finding {
                Some(_) => format!("[{}]", s.text),
                None => s.text.clone(),
            })
            .collect()
    }

    #[test]
    fn findings_are_marked_where_they_are_and_the_text_is_whole() {
        let t = "Source CS-4471 reports: a bombing at the cemetery.";
        let f = [finding(t, 7, 14)];
        assert_eq!(
            shown(&marked(t, &f)),
            "Source [CS-4471] reports: a bombing at the cemetery."
        );
        // Out of order, at the ends.
        let f = [finding(t, 41, 50), finding(t, 0, 6)];
        assert_eq!(
            shown(&marked(t, &f)),
            "[Source] CS-4471 reports: a bombing at the [cemetery.]"
        );
    }

    #[test]
    fn spans_that_overlap_or_cut_a_character_are_left_unmarked() {
        let t = "Zürich asset NIGHTJAR";
        let overlapping = [finding(t, 0, 8), finding(t, 3, 10)];
        let s = marked(t, &overlapping);
        assert_eq!(s.iter().map(|x| x.text.as_str()).collect::<String>(), t);
        assert_eq!(s.iter().filter(|x| x.finding.is_some()).count(), 1);
        // 'ü' is two bytes: a span ending inside it is not marked.
        let cut = [Finding {
            category: FindingCategory::SourceIdentifier,
            start: 0,
            end: 2,
            text: String::new(),
        }];
        assert_eq!(shown(&marked(t, &cut)), t);
        // A span past the end is not marked either.
        let past = [Finding {
            category: FindingCategory::SourceIdentifier,
            start: 5,
            end: 500,
            text: String::new(),
        }];
        assert_eq!(shown(&marked(t, &past)), t);
    }

    #[test]
    fn a_form_names_a_warning_as_a_number_or_w_n() {
        assert_eq!(warning_number(Some("2")).map(|n| n.get()), Some(2));
        assert_eq!(warning_number(Some("W3")).map(|n| n.get()), Some(3));
        assert_eq!(warning_number(Some("")), None);
        assert_eq!(warning_number(Some("0")), None);
        assert_eq!(warning_number(None), None);
    }
}
