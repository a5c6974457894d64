//! Reading cases: one case (the read recorded), its events, lists that
//! leave out what the caller may not see, a warning version, the
//! sanitisation check and the warning template.

use tocsin_domain::access::Permission;
use tocsin_domain::case::{Case, CaseState, Warning, WarningNumber, WarningVersion};
use tocsin_domain::event::Event;
use tocsin_domain::ids::CaseIdPrefix;
use tocsin_domain::sanitise::Finding;
use tocsin_domain::template::{Draft, TemplateFacts, TemplateOptions};
use tocsin_domain::text::Name;
use tocsin_domain::{ActorName, CaseNumber, CaseRef, Timestamp};
use tocsin_store::{CaseQuery, CaseSummary, Page, StoredEvent, StreamId};

use crate::access::{Principal, Visible};
use crate::{Service, ServiceError};

/// An event of the ledger with its place.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct LoggedEvent {
    pub position: u64,
    pub seq: u64,
    pub recorded_at: Timestamp,
    pub actor: ActorName,
    pub event: Event,
}

impl From<StoredEvent> for LoggedEvent {
    fn from(e: StoredEvent) -> Self {
        Self {
            position: e.position,
            seq: e.seq,
            recorded_at: e.envelope.recorded_at,
            actor: e.envelope.actor,
            event: e.envelope.event,
        }
    }
}

/// Which cases to list.
#[derive(Clone, Debug, Default)]
pub struct CaseListQuery {
    pub state: Option<CaseState>,
    /// Only cases that are not closed.
    pub open_only: bool,
    /// Only cases flagged for re-assessment.
    pub reassessment_due: bool,
    /// Only cases with an overdue step.
    pub overdue: bool,
    /// Only cases this account owns.
    pub owner: Option<String>,
    /// Only cases whose latest determination is this one.
    pub verdict: Option<tocsin_store::VerdictFilter>,
    /// Only cases shared with this element.
    pub element: Option<String>,
    /// Only cases whose title contains this text.
    pub title_contains: Option<String>,
    /// The cursor of the previous page.
    pub after: Option<String>,
    /// At most this many (1 to 1000).
    pub limit: u32,
}

/// How many cases stand where (every case, for the operator's metrics):
/// the store's gauges, kept with every case row.
pub type CaseCounts = tocsin_store::counts::CaseGauges;

impl Service {
    /// Everything about a case; the read is recorded in the ledger.
    pub async fn read_case(
        &self,
        p: &Principal,
        reference: impl Into<CaseRef>,
    ) -> Result<Visible<Case>, ServiceError> {
        let mut case = self.case(p, reference, "get_case").await?;
        if case.number.is_none() {
            let number = self
                .store
                .case_summary(case.id)
                .await?
                .and_then(|s| s.number);
            case = case.numbered(number);
        }
        let mut parts = vec!["reports".to_owned()];
        if !case.waivers.is_empty() {
            parts.push("waiver_reasons".into());
        }
        if case.warnings.iter().any(|w| !w.versions.is_empty()) {
            parts.push("warning_basis".into());
        }
        if !case.across.contributions.is_empty() {
            parts.push("contributions".into());
        }
        self.record_read(p, case.id, parts).await?;
        let levels = self.clearance_levels().await?;
        Ok(case.contributions_only(|c| {
            crate::contributions::cleared_for(p, &levels, &c.report.handling)
        }))
    }

    /// A case's events in order, with their ledger positions; the read is
    /// recorded.
    pub async fn case_events(
        &self,
        p: &Principal,
        reference: impl Into<CaseRef>,
    ) -> Result<Vec<LoggedEvent>, ServiceError> {
        let case = self.case(p, reference, "case_events").await?;
        self.check_contributions_readable(p, &case, "case_events")
            .await?;
        let events = self.store.read_stream(&StreamId::Case(case.id)).await?;
        self.record_read(p, case.id, vec!["events".into()]).await?;
        Ok(events.into_iter().map(LoggedEvent::from).collect())
    }

    /// A page of the cases `p` may see, newest first.
    pub async fn list_cases(
        &self,
        p: &Principal,
        q: CaseListQuery,
    ) -> Result<Page<CaseSummary>, ServiceError> {
        self.authorize(p, Permission::ReadCase, "list_cases")
            .await?;
        let query = CaseQuery {
            access: Some(self.case_filter(p).await?),
            state: q.state,
            open_only: q.open_only,
            reassessment_due: q.reassessment_due,
            overdue_at: q.overdue.then(|| self.now()),
            sweep_due_at: None,
            owner: q.owner,
            verdict: q.verdict,
            element: q.element,
            title_contains: q.title_contains,
            most_overdue_first: false,
            after: q.after,
            limit: q.limit,
        };
        Ok(self.store.list_cases(&query).await?)
    }

    /// The cases `p` may see whose id starts with `prefix` (at most 100).
    pub async fn find_cases(
        &self,
        p: &Principal,
        prefix: &CaseIdPrefix,
    ) -> Result<Vec<CaseSummary>, ServiceError> {
        self.authorize(p, Permission::ReadCase, "list_cases")
            .await?;
        let ids = self
            .store
            .case_ids_with_prefix(prefix.as_str(), 100)
            .await?;
        let levels = self.clearance_levels().await?;
        let mut out = Vec::new();
        for id in ids {
            let case = self.load(id).await?;
            if Service::sees(p, &case, &levels) {
                let mut s = CaseSummary::of(&case, &self.policy);
                s.number = self.store.case_summary(id).await?.and_then(|s| s.number);
                out.push(s);
            }
        }
        Ok(out)
    }

    /// The case numbered `number`, if `p` may see it (nothing is recorded:
    /// this is a search, as a list is).
    pub async fn find_case_by_number(
        &self,
        p: &Principal,
        number: CaseNumber,
    ) -> Result<Vec<CaseSummary>, ServiceError> {
        self.authorize(p, Permission::ReadCase, "list_cases")
            .await?;
        let Some(id) = self.store.case_by_number(number).await? else {
            return Ok(Vec::new());
        };
        let case = self.load(id).await?;
        let levels = self.clearance_levels().await?;
        if !Service::sees(p, &case, &levels) {
            return Ok(Vec::new());
        }
        let mut s = CaseSummary::of(&case, &self.policy);
        s.number = Some(number);
        Ok(vec![s])
    }

    /// The exact text of a warning version and its hash.
    pub async fn warning(
        &self,
        p: &Principal,
        case: &Visible<Case>,
        warning: Option<WarningNumber>,
        version: u32,
    ) -> Result<WarningVersion, ServiceError> {
        self.authorize(p, Permission::ReadCase, "get_warning")
            .await?;
        warning_version(case, warning, version).cloned()
    }

    /// The formats of every report number the deployment's cases hold
    /// (from the query tables): a warning may carry none of them.
    pub(crate) async fn report_formats(&self) -> Result<Vec<String>, ServiceError> {
        Ok(self.store.report_number_formats().await?)
    }

    /// What the sanitisation check finds in `text` (writes nothing).
    pub async fn check_warning(
        &self,
        p: &Principal,
        case: &Visible<Case>,
        text: &str,
    ) -> Result<Vec<Finding>, ServiceError> {
        self.authorize(p, Permission::Analyse, "check_warning")
            .await?;
        let formats = self.report_formats().await?;
        Ok(case.check_warning_text(text, &self.policy, &formats))
    }

    /// A draft of the warning from the template for the case's target
    /// kind. It restates facts of the reports: the read is recorded.
    pub async fn warning_template(
        &self,
        p: &Principal,
        case: &Visible<Case>,
        sender: Name,
    ) -> Result<Draft, ServiceError> {
        self.authorize(p, Permission::Analyse, "warning_template")
            .await?;
        let facts = TemplateFacts::from_case(case, &self.policy);
        self.record_read(p, case.id, vec!["report_facts".into()])
            .await?;
        Ok(tocsin_domain::template::draft(
            &facts,
            &TemplateOptions { sender },
        ))
    }

    /// How many cases stand in each state, overdue and flagged. Counts
    /// every case whatever its marking, so only an operator may ask (a
    /// reader without that permission would watch hidden cases open).
    pub async fn case_counts(&self, p: &Principal) -> Result<CaseCounts, ServiceError> {
        self.authorize(p, Permission::Operate, "case_counts")
            .await?;
        Ok(self.store.case_gauges(self.now()).await?)
    }
}

/// The warning named (or the only one) of a case.
pub(crate) fn warning_of(
    case: &Case,
    warning: Option<WarningNumber>,
) -> Result<&Warning, ServiceError> {
    let n = case.resolve_warning(warning)?;
    case.warning(n)
        .ok_or_else(|| ServiceError::NotFound(format!("case {} has no warning {n}", case.id)))
}

/// Version `v` of the case's warning `warning` (or of its only one).
pub(crate) fn warning_version(
    case: &Case,
    warning: Option<WarningNumber>,
    v: u32,
) -> Result<&WarningVersion, ServiceError> {
    let w = warning_of(case, warning)?;
    w.version(v).ok_or_else(|| {
        ServiceError::NotFound(format!(
            "case {} has no warning version {v} of {}",
            case.id, w.number
        ))
    })
}
