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

/// How many overdue cases (the most overdue), and how many cases of each
/// kind waiting for the reader (the newest), a dashboard lists at most.
const LIST_LIMIT: u32 = 100;

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
    /// More overdue cases than listed (the list holds the [`LIST_LIMIT`]
    /// most overdue; the counts by state are whole).
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
    /// The counts by state come from the store's counters of the markings
    /// the filter admits; the overdue cases and what waits for `p` are a
    /// few short list queries (by deadline, by state, by owner), so the
    /// page costs the same at a hundred cases as at a hundred thousand.
    pub async fn dashboard(&self, p: &Principal) -> Result<Dashboard, ServiceError> {
        self.authorize(p, Permission::ReadCase, "dashboard").await?;
        let now = self.now();
        let access = self.case_filter(p).await?;
        let counters = self.store.case_counters().await?;
        let counted = counts::charts(&counters, Some(&access), now, 1);
        let mut d = Dashboard {
            now: Some(now),
            ..Default::default()
        };
        let seen = |s: CaseState| {
            counted
                .by_state
                .iter()
                .any(|(state, n)| *state == s && *n > 0)
        };
        for (state, n) in counted.by_state.iter().copied() {
            if state != CaseState::Closed && n > 0 {
                d.open += n as u64;
                d.by_state.push((state, n as u64));
            }
        }
        let base = CaseQuery {
            access: Some(access),
            open_only: true,
            limit: LIST_LIMIT,
            ..Default::default()
        };
        let mut overdue = self
            .store
            .list_cases(&CaseQuery {
                overdue_at: Some(now),
                most_overdue_first: true,
                limit: LIST_LIMIT + 1,
                ..base.clone()
            })
            .await?
            .items;
        d.truncated = overdue.len() > LIST_LIMIT as usize;
        overdue.truncate(LIST_LIMIT as usize);
        for c in overdue {
            if let Some(due) = c.next_due {
                let late_by = now.duration_since(due);
                d.overdue.push(Overdue { case: c, late_by });
            }
        }
        d.overdue.sort_by_key(|o| std::cmp::Reverse(o.late_by));
        // What may wait for p: their own cases in the analyst's states
        // and flagged ones, and any case in a state p's roles act on.
        let me = Some(p.name().as_str().to_owned());
        let mut asks: Vec<CaseQuery> = vec![];
        // (A query that cannot match is not asked: the counters say so.)
        let flagged = counters.get("reassessment_due").is_some_and(|n| *n > 0);
        if p.may(Permission::Analyse) && flagged {
            asks.push(CaseQuery {
                reassessment_due: true,
                owner: me.clone(),
                ..base.clone()
            });
        }
        if p.may(Permission::Analyse) {
            for s in [
                CaseState::AwaitingDetermination,
                CaseState::NeedsMoreInformation,
                CaseState::DutyToWarn,
            ]
            .into_iter()
            .filter(|s| seen(*s))
            {
                asks.push(CaseQuery {
                    state: Some(s),
                    owner: me.clone(),
                    ..base.clone()
                });
            }
        }
        let others = [
            (Permission::Approve, CaseState::WarningDrafted),
            (Permission::Approve, CaseState::WaiverPending),
            (Permission::Deliver, CaseState::WarningApproved),
            (Permission::Deliver, CaseState::Delivering),
        ];
        for (perm, s) in others {
            if p.may(perm) && seen(s) {
                asks.push(CaseQuery {
                    state: Some(s),
                    ..base.clone()
                });
            }
        }
        for q in asks {
            let page = self.store.list_cases(&q).await?;
            for c in page.items {
                if d.waiting.iter().any(|w| w.case.id == c.id) {
                    continue;
                }
                if let Some(what) = waits_for(p, &c) {
                    d.waiting.push(Waiting { case: c, what });
                }
            }
        }
        d.waiting
            .sort_by_key(|w| std::cmp::Reverse(w.case.number.map(|n| (n.year(), n.seq()))));
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
