//! What a reader's dashboard shows: the open cases they may see counted by
//! state, the overdue ones (latest first), and what waits for them. Built
//! from the same visible list as [`Service::list_cases`], so a case the
//! reader may not see is in no count. Its charts
//! ([`Service::dashboard_charts`]) come from the store's incremental
//! counters, kept per access marking, summed over the markings the same
//! filter admits: no case is read to draw them.

use jiff::SignedDuration;
use tocsin_domain::Timestamp;
use tocsin_domain::access::Permission;
use tocsin_domain::case::CaseState;
use tocsin_store::counts::{self, ChartCounts};
use tocsin_store::{CaseQuery, CaseSummary};

use crate::access::Principal;
use crate::{Service, ServiceError};

/// How many open cases a dashboard reads at most (the counts say when
/// there were more).
const SCAN_LIMIT: usize = 10_000;

/// How many weeks the chart of cases per week shows.
pub const CHART_WEEKS: usize = 12;

/// A case with a step past its deadline.
#[derive(Clone, Debug)]
pub struct Overdue {
    pub case: CaseSummary,
    /// How late the step is.
    pub late_by: SignedDuration,
}

/// A case waiting for the reader, and what it waits for.
#[derive(Clone, Debug)]
pub struct Waiting {
    pub case: CaseSummary,
    pub what: &'static str,
}

/// A reader's dashboard.
#[derive(Clone, Debug, Default)]
pub struct Dashboard {
    /// Open cases the reader may see, per state (states with none left out).
    pub by_state: Vec<(CaseState, u64)>,
    pub open: u64,
    /// Overdue cases, the latest first.
    pub overdue: Vec<Overdue>,
    pub waiting: Vec<Waiting>,
    /// More open cases than were read: the counts are lower bounds.
    pub truncated: bool,
    pub now: Option<Timestamp>,
}

/// What a case in `state` waits for from `p`, if anything.
fn waits_for(p: &Principal, c: &CaseSummary) -> Option<&'static str> {
    let mine = c.owner == p.name().as_str();
    if mine && c.reassessment_due.is_some() && p.may(Permission::Analyse) {
        return Some("re-assess (flagged)");
    }
    match c.state {
        CaseState::AwaitingDetermination | CaseState::NeedsMoreInformation
            if mine && p.may(Permission::Analyse) =>
        {
            Some("assess and determine")
        }
        CaseState::DutyToWarn if mine && p.may(Permission::Analyse) => {
            Some("choose the route and draft the warning")
        }
        CaseState::WarningDrafted if p.may(Permission::Approve) => {
            Some("approve the warning text (if you did not draft it)")
        }
        CaseState::WaiverPending if p.may(Permission::Approve) => {
            Some("decide the waiver (if you did not request it)")
        }
        CaseState::WarningApproved | CaseState::Delivering if p.may(Permission::Deliver) => {
            Some("record the delivery")
        }
        _ => None,
    }
}

impl Service {
    /// The dashboard of `p`: only cases `p` may see (the list's filter).
    pub async fn dashboard(&self, p: &Principal) -> Result<Dashboard, ServiceError> {
        self.authorize(p, Permission::ReadCase, "dashboard").await?;
        let now = self.now();
        let mut q = CaseQuery {
            access: Some(self.case_filter(p).await?),
            open_only: true,
            limit: 1000,
            ..Default::default()
        };
        let mut d = Dashboard {
            now: Some(now),
            ..Default::default()
        };
        let mut seen = 0usize;
        loop {
            let page = self.store.list_cases(&q).await?;
            for c in page.items {
                seen += 1;
                d.open += 1;
                match d.by_state.iter_mut().find(|(s, _)| *s == c.state) {
                    Some((_, n)) => *n += 1,
                    None => d.by_state.push((c.state, 1)),
                }
                if let Some(what) = waits_for(p, &c) {
                    d.waiting.push(Waiting {
                        case: c.clone(),
                        what,
                    });
                }
                if let Some(due) = c.next_due
                    && due < now
                {
                    let late_by = now.duration_since(due);
                    d.overdue.push(Overdue { case: c, late_by });
                }
            }
            match page.next {
                Some(n) if seen < SCAN_LIMIT => q.after = Some(n),
                Some(_) => {
                    d.truncated = true;
                    break;
                }
                None => break,
            }
        }
        d.by_state
            .sort_by_key(|(s, _)| CaseState::ALL.iter().position(|x| x == s));
        d.overdue.sort_by_key(|o| std::cmp::Reverse(o.late_by));
        Ok(d)
    }

    /// The dashboard's charts for `p`: time to decide, time to warn, and
    /// cases opened per week by determination over the last
    /// [`CHART_WEEKS`] weeks, counting only the cases `p` may see (the
    /// list's filter, applied to each marking's counters).
    pub async fn dashboard_charts(&self, p: &Principal) -> Result<ChartCounts, ServiceError> {
        self.authorize(p, Permission::ReadCase, "dashboard").await?;
        let filter = self.case_filter(p).await?;
        let counters = self.store.case_counters().await?;
        Ok(counts::charts(
            &counters,
            Some(&filter),
            self.now(),
            CHART_WEEKS,
        ))
    }
}
