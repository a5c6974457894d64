//! Recording a hop of delivery from the case page: the same
//! `record_delivery` command the API runs, its record built from the form
//! and checked by the domain's own parsing of a delivery (the wire form).

use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};
use tocsin_domain::case::Command;
use tocsin_domain::delivery::{Channel, Delivery, DeliveryStatus, Medium};

use super::CsrfForm;
use super::actions::{after, invalid, run};
use super::view::{choices, warning_number};
use crate::AppState;

/// The choices a delivery form offers: wire name and words of each.
pub(crate) struct DeliveryChoices {
    pub statuses: Vec<(String, String)>,
    pub channels: Vec<(String, String)>,
    pub media: Vec<(String, String)>,
}

pub(crate) fn delivery_choices() -> DeliveryChoices {
    use Channel::*;
    use DeliveryStatus::*;
    use Medium::*;
    DeliveryChoices {
        statuses: choices(&[Sent, Relayed, Received, Failed]),
        channels: choices(&[
            Direct,
            LawEnforcement,
            Consular,
            PrivateSectorLiaison,
            ServiceLiaison,
            DiplomaticNote,
            ProtectingPower,
        ]),
        media: choices(&[Written, Oral, Phone, InPerson, Electronic]),
    }
}

#[derive(Deserialize)]
pub(super) struct DeliveryForm {
    #[serde(default)]
    warning: String,
    version: String,
    hop: String,
    status: String,
    sender: String,
    receiver: String,
    channel: String,
    medium: String,
    at: String,
    time_zone: String,
    #[serde(default)]
    failure: String,
    #[serde(default)]
    attempt: String,
}

/// A number from a form field.
fn number(field: &str, s: &str) -> Result<u32, tocsin_service::ServiceError> {
    s.trim()
        .parse()
        .map_err(|_| invalid(field, format_args!("“{s}” is not a number")))
}

fn delivery(f: &DeliveryForm) -> Result<Delivery, tocsin_service::ServiceError> {
    let mut v = json!({
        "warning_version": number("version", &f.version)?,
        "hop": number("hop", &f.hop)?,
        "status": f.status,
        "sender": f.sender.trim(),
        "receiver": f.receiver.trim(),
        "channel": f.channel,
        "medium": f.medium,
        "at": f.at.trim(),
        "time_zone": f.time_zone.trim(),
        "language": "en",
        "attempt": if f.attempt.trim().is_empty() { 1 } else { number("attempt", &f.attempt)? },
    });
    if !f.failure.trim().is_empty() {
        v["failure"] = Value::String(f.failure.trim().to_owned());
    }
    crate::table::parse_json::<Delivery>(v.to_string().as_bytes())
        .map_err(|e| invalid(e.field.as_deref().unwrap_or("delivery"), e.detail))
}

pub(super) async fn record_delivery(
    State(state): State<AppState>,
    Path(reference): Path<String>,
    c: CsrfForm<DeliveryForm>,
) -> Response {
    let warning = warning_number(Some(&c.form.warning));
    let cmd = delivery(&c.form).map(|delivery| Command::RecordDelivery { warning, delivery });
    let done = run(&state, &c.viewer, &reference, "record_delivery", cmd).await;
    after(
        &state,
        &c.viewer,
        &reference,
        "deliver",
        done,
        String::new(),
    )
    .await
}
