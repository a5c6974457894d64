//! A case as a STIX 2.1 bundle, for partners who run threat-intelligence
//! platforms. The format is in `tocsin-export` (pure); this module gives it
//! a case the caller may see and the deployment's sanitiser: every
//! free-text string that leaves is checked as a warning text is (the
//! case's protected terms, the policy's rules, the report-number formats
//! of every case), and what it finds is withheld.

use serde_json::Value;
use tocsin_domain::access::Permission;
use tocsin_domain::case::Case;
use tocsin_export::stix::{StixError, StixExport, case_bundle};

use crate::access::{Principal, Visible};
use crate::{Service, ServiceError};

impl Service {
    /// The case as a STIX 2.1 bundle. It restates the reports: the read
    /// is recorded.
    pub async fn case_stix(
        &self,
        p: &Principal,
        case: &Visible<Case>,
    ) -> Result<Value, ServiceError> {
        self.authorize(p, Permission::ReadCase, "case_stix").await?;
        if case.reports.is_empty() && !case.disposed.is_empty() {
            return Err(ServiceError::WrongState(
                "the case's reports were disposed of: a STIX bundle restates a report, and none is left".into(),
            ));
        }
        let formats = self.report_formats().await?;
        let withhold = |text: &str| {
            case.check_warning_text(text, &self.policy, &formats)
                .iter()
                .map(|f| f.span())
                .collect()
        };
        let producer = format!("tocsin deployment {}", self.deployment_id());
        let bundle = case_bundle(
            case,
            &StixExport {
                producer: &producer,
                deployment_id: self.deployment_id(),
                withhold: &withhold,
            },
        )
        .map_err(|e| match e {
            StixError::ApprovedTextLeaks { .. } => ServiceError::invalid("case", e),
            StixError::Internal(_) => ServiceError::internal("cannot export the case as STIX", e),
        })?;
        self.record_read(p, case.id, vec!["stix_export".into()])
            .await?;
        Ok(bundle)
    }
}
