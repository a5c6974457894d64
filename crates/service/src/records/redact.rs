//! Redactions for release through the service: a records officer
//! requests one (a record's position, a field of its event, an exemption
//! code of `tocsin_domain::redaction::Exemptions`), a second records
//! officer approves it (the domain refuses the requester; the service
//! also refuses a credential lineage, `check_second_person`). Both are
//! records-stream events appended through `on_records`. The release copy
//! of an export applies the approved ones (`export.rs`); one awaiting
//! approval blocks it.

use serde::{Deserialize, Serialize};
use tocsin_domain::access::Permission;
use tocsin_domain::event::Event;
use tocsin_domain::ids::RedactionId;
use tocsin_domain::redaction::{Redaction, RedactionError, TextSpan, check_request, spans_of};
use tocsin_domain::text::Reason;

use tocsin_store::StreamId;
use tocsin_store::leaf::{Content, decode_stored};

use crate::access::Principal;
use crate::{Service, ServiceError};

/// A redaction as the faces show it.
#[derive(Clone, Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RedactionView {
    pub redaction_id: String,
    pub position: u64,
    /// An RFC 6901 JSON pointer into the event envelope.
    pub field: String,
    /// The runs of the field's text redacted (characters); empty: the
    /// whole field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spans: Vec<TextSpan>,
    pub exemption: String,
    pub requested_by: String,
    /// `None`: awaiting a second records officer.
    pub approved_by: Option<String>,
}

impl From<&Redaction> for RedactionView {
    fn from(r: &Redaction) -> Self {
        Self {
            redaction_id: r.id.to_string(),
            position: r.position,
            field: r.field.clone(),
            spans: r.spans.clone(),
            exemption: r.exemption.clone(),
            requested_by: r.requested_by.to_string(),
            approved_by: r.approved_by.as_ref().map(ToString::to_string),
        }
    }
}

fn refused(e: RedactionError) -> ServiceError {
    match e {
        RedactionError::NoSuchRedaction(_) => ServiceError::NotFound(e.to_string()),
        RedactionError::SamePerson(..) => ServiceError::Forbidden(e.to_string()),
        RedactionError::AlreadyApproved(_) => ServiceError::WrongState(e.to_string()),
        RedactionError::UnknownExemption(_) => ServiceError::invalid("exemption", e),
        RedactionError::Field(_) | RedactionError::Exemptions(_) => {
            ServiceError::invalid("field", e)
        }
    }
}

impl Service {
    /// Requests a redaction of `field` of the record at `position`: the
    /// whole field, or, with `text`, every occurrence of that text in it
    /// (recorded as spans, never as the text).
    pub async fn request_redaction(
        &self,
        p: &Principal,
        position: u64,
        field: String,
        text: Option<String>,
        exemption: String,
        reason: Reason,
    ) -> Result<RedactionView, ServiceError> {
        self.authorize(p, Permission::ManageRecords, "request_redaction")
            .await?;
        let state = self.records_state().await?;
        check_request(&state.exemptions, &field, &exemption).map_err(refused)?;
        let size = self.store.ledger_head().await?.size;
        if position >= size {
            return Err(ServiceError::invalid(
                "position",
                format!("the ledger has {size} positions"),
            ));
        }
        let spans = match text {
            Some(text) => self.spans_in_record(p, position, &field, &text).await?,
            None => Vec::new(),
        };
        let redaction_id = RedactionId::from_uuid(crate::new_uuid());
        let event = Event::RedactionRequested {
            redaction_id,
            position,
            field: field.clone(),
            spans: spans.clone(),
            exemption: exemption.clone(),
            reason,
        };
        // The codes in force when it is appended (a list adopted since is
        // the one that counts).
        self.on_records(p.name(), |state| {
            check_request(&state.exemptions, &field, &exemption).map_err(refused)?;
            Ok((vec![event.clone()], ()))
        })
        .await?;
        Ok(RedactionView {
            redaction_id: redaction_id.to_string(),
            position,
            field,
            spans,
            exemption,
            requested_by: p.name().to_string(),
            approved_by: None,
        })
    }

    /// Where `text` occurs in `field` of the record at `position`, which
    /// `p` must be able to see (a case they may not see answers as a
    /// record that does not exist).
    async fn spans_in_record(
        &self,
        p: &Principal,
        position: u64,
        field: &str,
        text: &str,
    ) -> Result<Vec<TextSpan>, ServiceError> {
        if text.trim().is_empty() {
            return Err(ServiceError::invalid("text", "the text to redact is empty"));
        }
        let page = self.store.read_leaves(position, 1).await?;
        let row = page
            .get(0)
            .ok_or_else(|| ServiceError::invalid("position", "no record at that position"))?;
        if let Ok(StreamId::Case(id)) = row.stream.parse::<StreamId>() {
            self.case(p, id, "request_redaction").await?;
        }
        let missing = || {
            ServiceError::invalid(
                "text",
                format!("the text does not occur in {field} of the record at position {position}"),
            )
        };
        let env = match decode_stored(row.leaf, row.content.map(|c| c.body))
            .map_err(|e| ServiceError::internal("a ledger row that does not decode", e))?
        {
            (_, Content::Event(env)) => env,
            (_, Content::Disposed) => {
                return Err(ServiceError::WrongState(format!(
                    "the record at position {position} was disposed of"
                )));
            }
        };
        let v = serde_json::to_value(&env)
            .map_err(|e| ServiceError::internal("an event that does not serialise", e))?;
        let value = v
            .pointer(field)
            .and_then(|v| v.as_str())
            .ok_or_else(missing)?;
        let spans = spans_of(value, text);
        if spans.is_empty() {
            return Err(missing());
        }
        Ok(spans)
    }

    /// Approves another officer's redaction.
    pub async fn approve_redaction(
        &self,
        p: &Principal,
        id: RedactionId,
    ) -> Result<RedactionView, ServiceError> {
        self.authorize(p, Permission::ManageRecords, "approve_redaction")
            .await?;
        let requester = {
            let state = self.records_state().await?;
            let r = state
                .redactions
                .check_approve(id, p.name())
                .map_err(refused)?;
            r.requested_by.clone()
        };
        self.check_second_person(p, &requester, "approve_redaction")
            .await?;
        self.on_records(p.name(), |state| {
            let r = state
                .redactions
                .check_approve(id, p.name())
                .map_err(refused)?;
            let mut view = RedactionView::from(r);
            view.approved_by = Some(p.name().to_string());
            Ok((vec![Event::RedactionApproved { redaction_id: id }], view))
        })
        .await
    }

    /// Every redaction, pending and approved.
    pub async fn redactions(&self, p: &Principal) -> Result<Vec<RedactionView>, ServiceError> {
        self.authorize(p, Permission::ManageRecords, "list_redactions")
            .await?;
        let state = self.records_state().await?;
        Ok(state
            .redactions
            .all
            .values()
            .map(RedactionView::from)
            .collect())
    }
}
