//! An approved warning as the recipient gets it: a printable letter, or an
//! OASIS CAP 1.2 alert. The formats are in `tocsin-export` (pure); this
//! module gathers what they need from a case the caller may see.

use tocsin_domain::Timestamp;
use tocsin_domain::access::Permission;
use tocsin_domain::case::{Case, RouteEntry, Warning, WarningNumber};
use tocsin_domain::delivery::{LanguageTag, Party};
use tocsin_domain::text::{Name, Note};
use tocsin_domain::time::TimeZoneName;
use tocsin_export::cap::{self, CapAddress, CapId, Scope};
use tocsin_export::{ApprovedWarning, Letter, letter};

use crate::access::{Principal, Visible};
use crate::cases::{warning_of, warning_version};
use crate::{Service, ServiceError};

/// Who a CAP alert is for.
#[derive(Clone, Debug, Default)]
pub enum CapScope {
    /// Addressed to the route's recipient (the default).
    #[default]
    Private,
    /// For a restricted audience, described by `restriction` (default: the
    /// recipient only, not for public release).
    Restricted { restriction: Option<Note> },
}

fn export_error(e: tocsin_export::ExportError) -> ServiceError {
    use tocsin_export::ExportError::*;
    match e {
        // What the recorded route names cannot be written as CAP: say so
        // (never a 500).
        CapAddress(_) | CapId(_) | NotXml { .. } | NoAddresses => ServiceError::invalid("route", e),
        _ => ServiceError::internal("cannot export the warning", e),
    }
}

impl Service {
    /// The approved version `version` of warning `warning` (or of the
    /// case's only one) as a printable letter.
    pub async fn warning_letter(
        &self,
        p: &Principal,
        case: &Visible<Case>,
        warning: Option<WarningNumber>,
        version: u32,
    ) -> Result<String, ServiceError> {
        self.authorize(p, Permission::ReadCase, "warning_letter")
            .await?;
        let (w, route, of) = approved(case, warning, version)?;
        let (date, zone) = sent_and_zone(case, of, w.version());
        let hops = route.route.hops();
        let via: Vec<Party> = hops.iter().skip(1).map(|h| h.from.clone()).collect();
        Ok(letter(&Letter {
            sender: &hops[0].from,
            recipient: route.route.recipient(),
            via: &via,
            date,
            time_zone: &zone,
            warning: &w,
        }))
    }

    /// The approved version `version` of warning `warning` (or of the
    /// case's only one) as an OASIS CAP 1.2 alert.
    pub async fn warning_cap(
        &self,
        p: &Principal,
        case: &Visible<Case>,
        warning: Option<WarningNumber>,
        version: u32,
        scope: CapScope,
    ) -> Result<String, ServiceError> {
        self.authorize(p, Permission::ReadCase, "warning_cap")
            .await?;
        let (w, route, of) = approved(case, warning, version)?;
        let (sent, zone) = sent_and_zone(case, of, w.version());
        let recipient = route.route.recipient();
        let scope = match scope {
            CapScope::Private => Scope::Private {
                addresses: vec![CapAddress::for_party(recipient).map_err(export_error)?],
            },
            CapScope::Restricted { restriction } => Scope::Restricted {
                restriction: match restriction {
                    Some(r) => r,
                    None => Note::new(format!(
                        "For {} only. Not for public release.",
                        recipient.name
                    ))
                    .map_err(|e| ServiceError::internal("the default CAP restriction", e))?,
                },
            },
        };
        let facts = case.facts(&self.policy);
        // Warning 1 keeps the identifier it always had.
        let identifier = if of.number.is_first() {
            format!("tocsin-{}-warning-{}", case.id, w.version())
        } else {
            format!(
                "tocsin-{}-warning-{}-{}",
                case.id,
                of.number.get(),
                w.version()
            )
        };
        let identifier = CapId::new(identifier).map_err(export_error)?;
        let sender =
            CapId::new(format!("tocsin-{}", self.deployment_id())).map_err(export_error)?;
        let language = warning_version(case, Some(of.number), w.version())
            .map(|x| x.language.clone())
            .unwrap_or_else(|_| LanguageTag::english());
        let event = Name::new("Threat to life")
            .map_err(|e| ServiceError::internal("the CAP event name", e))?;
        let target_kind = case
            .reports
            .first()
            .map(|r| r.report.target.kind)
            .ok_or_else(|| ServiceError::internal("a case without a report", "no report"))?;
        let location = case.reports.iter().find_map(|r| r.report.location.as_ref());
        cap::alert(&cap::Alert {
            identifier: &identifier,
            sender: &sender,
            sent,
            sent_time_zone: &zone,
            scope,
            warning: &w,
            language: &language,
            event: &event,
            sender_name: None,
            headline: None,
            assessment: cap::Assessment {
                harm_types: &facts.harm_types,
                target_kind,
                credibility: facts.grade.credibility,
                window: facts.window.as_ref(),
            },
            location,
        })
        .map_err(export_error)
    }
}

/// The approved warning of that version, the route it goes by and its
/// warning.
fn approved(
    case: &Case,
    warning: Option<WarningNumber>,
    version: u32,
) -> Result<(ApprovedWarning, &RouteEntry, &Warning), ServiceError> {
    let of = warning_of(case, warning)?;
    let w = warning_version(case, Some(of.number), version)?;
    let a = ApprovedWarning::from_version(w)
        .map_err(|e| {
            ServiceError::WrongState(format!("warning version {version} cannot be exported: {e}"))
        })?
        .of_warning(of.number);
    let route = of.route.as_ref().ok_or_else(|| {
        ServiceError::WrongState(format!(
            "choose a route for {} before exporting it",
            of.number
        ))
    })?;
    Ok((a, route, of))
}

/// When the warning was first passed on, and the recipient's time zone.
fn sent_and_zone(case: &Case, of: &Warning, version: u32) -> (Timestamp, TimeZoneName) {
    let of_version = || {
        of.deliveries
            .iter()
            .filter(move |d| d.delivery.warning_version == version)
    };
    let first = of_version().min_by_key(|d| d.delivery.at);
    let last_hop = of_version().max_by_key(|d| d.delivery.hop);
    let zone = last_hop
        .map(|d| d.delivery.time_zone.clone())
        .or_else(|| case.window().map(|w| w.time_zone().clone()))
        .unwrap_or_else(TimeZoneName::utc);
    let sent = first
        .map(|d| d.delivery.at)
        .or_else(|| of.version(version).and_then(|w| w.approved_at))
        .unwrap_or(case.opened_at);
    (sent, zone)
}
