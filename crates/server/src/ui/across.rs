//! What the case page shows of other elements' part in a case:
//! contributions (reports another element sent, pending, accepted or
//! declined), disputes for an arbiter, proposals to merge or link, and the
//! cases this one is merged or linked with. Made from the case the service
//! handed out (which already leaves out contributions the reader is not
//! cleared for).

use tocsin_domain::case::Case;
use tocsin_domain::elements::{ContributionStatus, DisputeSubject, RelatedAs};

use super::show::when;

pub(crate) struct ContributionView {
    pub id: String,
    pub title: String,
    pub narrative: String,
    pub element: String,
    pub sent: String,
    pub status: String,
    pub pending: bool,
    /// Who decided, when, and why it was declined.
    pub decided: String,
}

pub(crate) struct DisputeView {
    pub id: String,
    pub subject: String,
    pub statement: String,
    pub raised: String,
    pub due: String,
    pub open: bool,
    pub resolution: String,
}

pub(crate) struct RelatedView {
    /// The other case's id (a link to its page).
    pub case: String,
    pub how: String,
    pub recorded: String,
}

#[derive(Default)]
pub(crate) struct AcrossView {
    pub contributions: Vec<ContributionView>,
    pub disputes: Vec<DisputeView>,
    pub proposals: Vec<String>,
    pub related: Vec<RelatedView>,
    /// The waivers a dispute may be about: id, ground.
    pub waivers: Vec<(String, String)>,
}

impl AcrossView {
    pub fn of(case: &Case) -> AcrossView {
        let a = &case.across;
        AcrossView {
            contributions: a
                .contributions
                .iter()
                .map(|c| ContributionView {
                    id: c.id.to_string(),
                    title: c.report.title.to_string(),
                    narrative: c.report.narrative.to_string(),
                    element: c.report.originating_element.to_string(),
                    sent: format!("sent by {} at {}", c.submitted_by, when(c.submitted_at)),
                    status: c.status.as_str().to_owned(),
                    pending: c.status == ContributionStatus::Pending,
                    decided: match (&c.decided_by, c.decided_at) {
                        (Some(by), Some(at)) => format!(
                            "{} by {by} at {}{}",
                            c.status.as_str(),
                            when(at),
                            c.reason
                                .as_ref()
                                .map(|r| format!(": {r}"))
                                .unwrap_or_default()
                        ),
                        _ => String::new(),
                    },
                })
                .collect(),
            disputes: a
                .disputes
                .iter()
                .map(|d| DisputeView {
                    id: d.id.to_string(),
                    subject: d.subject.describe(),
                    statement: d.statement.to_string(),
                    raised: format!("raised by {} at {}", d.raised_by, when(d.raised_at)),
                    due: when(d.due),
                    open: d.is_open(),
                    resolution: d
                        .resolution
                        .as_ref()
                        .map(|r| format!("resolved by {} at {}: {}", r.by, when(r.at), r.value))
                        .unwrap_or_default(),
                })
                .collect(),
            proposals: a
                .proposals
                .iter()
                .map(|p| {
                    format!(
                        "{} proposed by {} at {}, waiting for the other case's lead element",
                        p.relation.describe(),
                        p.by,
                        when(p.at)
                    )
                })
                .collect(),
            related: a
                .related
                .iter()
                .map(|r| RelatedView {
                    case: r.case_id.to_string(),
                    how: match r.related_as {
                        RelatedAs::MergedFrom => "merged into this case",
                        RelatedAs::MergedInto => "this case was merged into it",
                        RelatedAs::LinkedWith => "linked: the same threat",
                    }
                    .to_owned(),
                    recorded: format!("by {} at {}", r.by, when(r.at)),
                })
                .collect(),
            waivers: case
                .waivers
                .iter()
                .map(|w| (w.id.to_string(), w.ground.clone()))
                .collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.contributions.is_empty()
            && self.disputes.is_empty()
            && self.proposals.is_empty()
            && self.related.is_empty()
    }
}

/// A dispute's subject from its form value: `warn`, `recipient` or
/// `waiver:<id>`.
pub(crate) fn subject(v: &str) -> Option<DisputeSubject> {
    match v {
        "warn" => Some(DisputeSubject::Warn),
        "recipient" => Some(DisputeSubject::Recipient),
        w => w
            .strip_prefix("waiver:")
            .and_then(|id| id.parse().ok())
            .map(|waiver_id| DisputeSubject::Waiver { waiver_id }),
    }
}
