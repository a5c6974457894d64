//! What the case page shows of name screening: for each report, the
//! registries its names were screened against (with their versions), each
//! subject's directory and watch-list matches, the registries that could
//! not be used; and the watch-list flags on victims, shown as evidence for
//! a person's W3 assessment (a flag waives nothing and changes no
//! determination). Made from the case the service handed out.

use tocsin_domain::case::Case;
use tocsin_domain::screening::ScreeningHit;

use super::show::when;

/// One match of a name in a registry, in words.
fn hit(h: &ScreeningHit) -> String {
    let mut s = format!(
        "{} (“{}”, {}) in {} entry {}, score {:.3}: {}",
        h.listed_name,
        h.matched_name,
        h.name_source.replace('_', " "),
        h.registry,
        h.entry_id,
        h.score(),
        h.explanation
    );
    if let Some(p) = &h.program {
        s.push_str(&format!("; programme {p}"));
    }
    if let Some(c) = &h.country {
        s.push_str(&format!("; country {c}"));
    }
    s
}

pub(crate) struct SubjectView {
    /// `victim 1` or `threat actor`.
    pub role: String,
    pub name: String,
    /// Who the directories say the subject is.
    pub resolved: Vec<String>,
    /// Watch-list matches.
    pub listed: Vec<String>,
}

/// The screening of one report's names.
pub(crate) struct ScreeningView {
    pub report: String,
    pub recorded: String,
    pub registries: String,
    pub threshold: String,
    pub subjects: Vec<SubjectView>,
    pub unnamed_victims: u32,
    pub unavailable: Vec<String>,
}

/// A victim on a watch list: evidence for the W3 ground.
pub(crate) struct FlagView {
    pub ground: String,
    pub subject: String,
    pub registry: String,
    pub hit: String,
    pub recorded: String,
}

fn report_title(case: &Case, id: &tocsin_domain::ReportId) -> String {
    case.reports
        .iter()
        .find(|r| r.id == *id)
        .map(|r| format!("“{}”", r.report.title))
        .unwrap_or_else(|| id.to_string())
}

pub(crate) fn screenings(case: &Case) -> Vec<ScreeningView> {
    case.screenings
        .iter()
        .map(|r| {
            let s = &r.value;
            let names: Vec<String> = s.registries.iter().map(|g| g.to_string()).collect();
            ScreeningView {
                report: report_title(case, &s.report_id),
                recorded: format!("by {} at {}", r.by, when(r.at)),
                registries: if names.is_empty() {
                    "no registry".into()
                } else {
                    names.join(", ")
                },
                threshold: format!("{:.3}", f64::from(s.threshold_permille) / 1000.0),
                subjects: s
                    .subjects
                    .iter()
                    .map(|x| SubjectView {
                        role: match x.role {
                            tocsin_domain::screening::SubjectRole::Victim => {
                                format!("victim {}", x.index + 1)
                            }
                            other => other.as_str().to_owned(),
                        },
                        name: x.name.clone(),
                        resolved: x.resolved.iter().map(hit).collect(),
                        listed: x.listed.iter().map(hit).collect(),
                    })
                    .collect(),
                unnamed_victims: s.unnamed_victims,
                unavailable: s
                    .unavailable
                    .iter()
                    .map(|u| format!("{}: {}", u.name, u.reason))
                    .collect(),
            }
        })
        .collect()
}

pub(crate) fn flags(case: &Case) -> Vec<FlagView> {
    case.watch_list_flags
        .iter()
        .map(|r| {
            let f = &r.value;
            FlagView {
                ground: f.ground.clone(),
                subject: format!(
                    "{} (victim {} of {})",
                    f.subject,
                    f.victim_index + 1,
                    report_title(case, &f.report_id)
                ),
                registry: f.registry.to_string(),
                hit: hit(&f.hit),
                recorded: format!("at {}", when(r.at)),
            }
        })
        .collect()
}
