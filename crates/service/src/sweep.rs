//! Applying the clock: escalations of overdue steps and re-assessment
//! flags, each recorded once (an escalation is an event folded into its
//! case; the sweep raises only what the fold lacks, through the one
//! load → decide → append loop), with its notices in the same append.

use tocsin_domain::access::Permission;
use tocsin_domain::event::Event;
use tocsin_domain::{ActorName, CaseId};
use tocsin_store::CaseQuery;

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
    /// Applies the clock now, at an operator's request.
    pub async fn sweep_now(&self, p: &Principal) -> Result<SweepReport, ServiceError> {
        self.authorize(p, Permission::Operate, "sweep").await?;
        self.sweep().await
    }

    /// Applies the clock to every open case whose time has come (the
    /// server's own job).
    pub async fn sweep(&self) -> Result<SweepReport, ServiceError> {
        let mut report = SweepReport::default();
        // Only the cases whose time has come (the query tables keep when
        // each next needs the clock), not every open case.
        let mut q = CaseQuery {
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
                report.cases_checked += 1;
                let done = self
                    .on_case(s.id, &system, |case, now| {
                        let due = case.sweep(now, &self.policy);
                        if due.is_empty() {
                            return Ok(Decision::Nothing);
                        }
                        let docs = self.notices_for(&targets, case.id, case.version, &due, now);
                        Ok(Decision::Append { events: due, docs })
                    })
                    .await?;
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
