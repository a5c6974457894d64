//! Recording what happened after approval, from the case page: a hop of
//! delivery, the recipient's response, the outcome, the public advisory. The same commands the
//! API runs, each record built from the form and checked by the domain's
//! own parsing of the wire form.

use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};
use tocsin_domain::case::Command;
use tocsin_domain::delivery::{
    AdvisoryDecision, Channel, Delivery, DeliveryStatus, Medium, Outcome, OutcomeRecord,
    Response as Answer, ResponseKind,
};

use super::CsrfForm;
use super::actions::{after, invalid, run};
use super::view::{choices, warning_number};
use crate::AppState;

/// The choices a delivery form offers: wire name and words of each.
pub(crate) struct DeliveryChoices {
    pub statuses: Vec<(String, String)>,
    pub channels: Vec<(String, String)>,
    pub media: Vec<(String, String)>,
    pub responses: Vec<(String, String)>,
    pub outcomes: Vec<(String, String)>,
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
        responses: {
            use ResponseKind::*;
            choices(&[
                NoResponse,
                Acknowledged,
                RequestedMoreInformation,
                Disputed,
                Dismissed,
                ActionReported,
                ActionObserved,
            ])
        },
        outcomes: {
            use Outcome::*;
            choices(&[Prevented, AttackOccurred, NoEvent, Unknown])
        },
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
    record(v)
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

/// A record of type `T` from form fields, parsed as the wire form is.
fn record<T: serde::de::DeserializeOwned>(v: Value) -> Result<T, tocsin_service::ServiceError> {
    crate::table::parse_json::<T>(v.to_string().as_bytes())
        .map_err(|e| invalid(e.field.as_deref().unwrap_or("form"), e.detail))
}

/// `v` with `key` set to the trimmed text, when there is any.
fn optional(mut v: Value, key: &str, text: &str) -> Value {
    if !text.trim().is_empty() {
        v[key] = Value::String(text.trim().to_owned());
    }
    v
}

#[derive(Deserialize)]
pub(super) struct ResponseForm {
    #[serde(default)]
    warning: String,
    kind: String,
    at: String,
    #[serde(default)]
    note: String,
}

pub(super) async fn record_response(
    State(state): State<AppState>,
    Path(reference): Path<String>,
    c: CsrfForm<ResponseForm>,
) -> Response {
    let f = &c.form;
    let warning = warning_number(Some(&f.warning));
    let v = optional(json!({"kind": f.kind, "at": f.at.trim()}), "note", &f.note);
    let cmd = record::<Answer>(v).map(|response| Command::RecordResponse { warning, response });
    let done = run(&state, &c.viewer, &reference, "record_response", cmd).await;
    after(
        &state,
        &c.viewer,
        &reference,
        "respond",
        done,
        String::new(),
    )
    .await
}

#[derive(Deserialize)]
pub(super) struct OutcomeForm {
    outcome: String,
    #[serde(default)]
    at: String,
    #[serde(default)]
    note: String,
}

pub(super) async fn record_outcome(
    State(state): State<AppState>,
    Path(reference): Path<String>,
    c: CsrfForm<OutcomeForm>,
) -> Response {
    let f = &c.form;
    let v = optional(
        optional(json!({"outcome": f.outcome}), "at", &f.at),
        "note",
        &f.note,
    );
    let cmd = record::<OutcomeRecord>(v).map(|outcome| Command::RecordOutcome { outcome });
    let done = run(&state, &c.viewer, &reference, "record_outcome", cmd).await;
    after(
        &state,
        &c.viewer,
        &reference,
        "outcome",
        done,
        String::new(),
    )
    .await
}

#[derive(Deserialize)]
pub(super) struct AdvisoryForm {
    decision: String,
    reason: String,
    #[serde(default)]
    issued_at: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    issuer: String,
}

/// The "no double standard" decision: whether the public is told too.
pub(super) async fn decide_advisory(
    State(state): State<AppState>,
    Path(reference): Path<String>,
    c: CsrfForm<AdvisoryForm>,
) -> Response {
    let f = &c.form;
    let mut v = json!({"decision": f.decision, "reason": f.reason.trim()});
    for (k, x) in [
        ("issued_at", &f.issued_at),
        ("text", &f.text),
        ("issuer", &f.issuer),
    ] {
        v = optional(v, k, x);
    }
    let cmd =
        record::<AdvisoryDecision>(v).map(|advisory| Command::DecidePublicAdvisory { advisory });
    let done = run(&state, &c.viewer, &reference, "decide_advisory", cmd).await;
    after(
        &state,
        &c.viewer,
        &reference,
        "advisory",
        done,
        String::new(),
    )
    .await
}
