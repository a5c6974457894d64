//! The case's deadlines as the case page shows them: each with its time
//! and, read at the time the page is drawn, a countdown ("in 3h 20m") or
//! how late it is ("overdue by 2d 3h"), or when it was met. The policy's
//! three steps (decide, approve, deliver), each warning's follow-up and
//! each open dispute's arbitration come from the case's fold; nothing here
//! decides anything.

use tocsin_domain::Timestamp;
use tocsin_domain::case::{Case, CaseState};

use super::show::{countdown, when};

/// One deadline.
pub(crate) struct Due {
    pub what: String,
    pub at: String,
    due: Timestamp,
    /// When it was met (the step done), in words; `None` while it runs.
    pub met: Option<String>,
    /// A closed case runs no countdown.
    closed: bool,
}

impl Due {
    /// The countdown at `now` (the page's time, RFC 3339), or "" when the
    /// deadline was met or the case is closed.
    pub fn left(&self, now: &str) -> String {
        match now.parse::<Timestamp>() {
            Ok(now) if self.running() => countdown(self.due, now).0,
            _ => String::new(),
        }
    }

    /// Whether it has passed with its step not done.
    pub fn overdue(&self, now: &str) -> bool {
        now.parse::<Timestamp>()
            .is_ok_and(|now| self.running() && countdown(self.due, now).1)
    }

    fn running(&self) -> bool {
        self.met.is_none() && !self.closed
    }
}

pub(crate) fn of(case: &Case) -> Vec<Due> {
    let closed = case.state == CaseState::Closed;
    let mut out = Vec::new();
    let mut push = |what: String, due: Timestamp, met: Option<String>| {
        out.push(Due {
            what,
            at: when(due),
            due,
            met,
            closed,
        })
    };
    if let Some(d) = &case.deadlines {
        // Once a determination finds no duty standing, nobody is warned.
        let no_duty = case.determination().is_some() && !case.measures.duty;
        let decided = case
            .measures
            .decided_at
            .or_else(|| case.determination().map(|d| d.at));
        push(
            "decide".into(),
            d.decide_by,
            decided.map(|t| format!("decided {}", when(t))),
        );
        let approved = case
            .warnings
            .iter()
            .flat_map(|w| w.versions.iter())
            .filter_map(|v| v.approved_at)
            .min();
        let none_due = || no_duty.then(|| "no duty stands".to_owned());
        push(
            "approve the warning".into(),
            d.approve_by,
            approved
                .map(|t| format!("approved {}", when(t)))
                .or_else(none_due),
        );
        push(
            "deliver the warning".into(),
            d.deliver_by,
            case.measures
                .warned_at
                .map(|t| format!("warned {}", when(t)))
                .or_else(none_due),
        );
    }
    for w in &case.warnings {
        if let Some(f) = w.follow_up_by {
            let answered = w
                .responses
                .last()
                .map(|r| format!("answered {}", when(r.response.at)));
            push(format!("{}: follow up", w.number), f, answered);
        }
    }
    for d in &case.across.disputes {
        let resolved = d
            .resolution
            .as_ref()
            .map(|r| format!("resolved {}", when(r.at)));
        push(
            format!("arbitrate the dispute on {}", d.subject.describe()),
            d.due,
            resolved,
        );
    }
    out
}
