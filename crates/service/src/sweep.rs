//! Applying the clock: escalations of overdue steps and re-assessment
//! flags, each recorded once (an escalation is an event folded into its
//! case; the sweep raises only what the fold lacks, through the one
//! load → decide → append loop), with its notices in the same append.

use tocsin_domain::access::Permission;
use tocsin_domain::event::Event;
use tocsin_domain::{ActorName, Case, CaseId};
use tocsin_store::{AccessFilter, CaseQuery};

use crate::access::Principal;
use crate::command::Decision;
use crate::{Service, ServiceError};

/// What a sweep did.
#[derive(Debug, Clone, Default)]
pub struct SweepReport {
    pub cases_checked: u64,
    pub events: Vec<(CaseId, Event)>,
}

impl Service {
    /// Applies the clock now, at someone's request: an operator's sweep
    /// covers every case; an analyst's, the cases they may see (the same
    /// rule as their case list, checked again on each case as folded).
    /// Anyone else is refused, and the refusal recorded.
    pub async fn sweep_now(&self, p: &Principal) -> Result<SweepReport, ServiceError> {
        self.authorize(p, Permission::Sweep, "sweep").await?;
        if p.may(Permission::Operate) {
            return self.sweep().await;
        }
        let filter = self.case_filter(p).await?;
        let levels = self.clearance_levels().await?;
        self.sweep_cases(Some(filter), |case| Service::sees(p, case, &levels))
            .await
    }

    /// Applies the clock to every open case whose time has come (the
    /// server's own job).
    pub async fn sweep(&self) -> Result<SweepReport, ServiceError> {
        self.sweep_cases(None, |_| true).await
    }

    /// Applies the clock to the open cases whose time has come among those
    /// `access` lets through (all, with `None`) and `sees` accepts once folded.
    async fn sweep_cases(
        &self,
        access: Option<AccessFilter>,
        sees: impl Fn(&Case) -> bool,
    ) -> Result<SweepReport, ServiceError> {
        let mut report = SweepReport::default();
        // Only the cases whose time has come (the query tables keep when
        // each next needs the clock), not every open case.
        let mut q = CaseQuery {
            access,
            open_only: true,
            sweep_due_at: Some(self.clock.now()),
            limit: 500,
            ..Default::default()
        };
        let targets = self.notice_targets().await?;
        let system = ActorName::system();
        loop {
            let page = self.store.list_cases(&q).await?;
            for s in &page.items {
                let mut checked = false;
                let done = self
                    .on_case(s.id, &system, |case, now| {
                        // The query table's filter is a copy: the folded case decides.
                        if !sees(case) {
                            return Ok(Decision::Nothing);
                        }
                        checked = true;
                        let due = case.sweep(now, &self.policy);
                        if due.is_empty() {
                            return Ok(Decision::Nothing);
                        }
                        let docs = self.notices_for(&targets, case.id, case.version, &due, now);
                        Ok(Decision::Append { events: due, docs })
                    })
                    .await?;
                if checked {
                    report.cases_checked += 1;
                }
                if let Some(done) = done {
                    report
                        .events
                        .extend(done.events.into_iter().map(|e| (s.id, e)));
                }
            }
            match page.next {
                Some(c) => q.after = Some(c),
                None => break,
            }
        }
        Ok(report)
    }
}
