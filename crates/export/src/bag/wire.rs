//! The bag's own files as types: what the writer serialises and the
//! verifier parses (strictly: unknown fields are refused). Hashes are
//! lower-case hex, leaves base64; every ledger position is the leaf's
//! index in the tree.

use serde::{Deserialize, Serialize};

/// `data/scope.json`: what the export answers and what it covers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportScope {
    /// The export's id, as recorded in the ledger.
    pub export_id: String,
    /// The query (a `RecordQuery`, as JSON).
    pub query: serde_json::Value,
    /// The streams the query resolved to (`case/<id>`), sorted.
    pub streams: Vec<String>,
    /// The ledger range scanned: positions `from..to`, `to` the size of
    /// the signed checkpoint in the bag.
    pub range: Range,
    /// The position of the `records_exported` event that recorded this
    /// resolution before the bag was written (exported with its proof).
    pub recorded_at: u64,
    /// When, and by whom (an account name).
    pub exported_at: String,
    pub exported_by: String,
    /// A release copy: redactions applied, originals kept out.
    pub release: bool,
}

/// A range of ledger positions, `from..to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Range {
    pub from: u64,
    pub to: u64,
}

/// Why a record is in the bag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordRole {
    /// A leaf of a stream in scope.
    Record,
    /// A `record_disposed` naming a disposed leaf of the scope.
    Tombstone,
    /// The `records_exported` event recording this export's scope.
    Scope,
}

/// `data/records/N.json`: one exported leaf with its content and proof.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordFile {
    pub position: u64,
    pub stream: String,
    pub seq: u64,
    /// The event's kind (`report_attached`...).
    pub kind: String,
    pub role: RecordRole,
    pub leaf_version: u8,
    pub leaf_hash: String,
    /// The whole leaf, base64. Absent only in a release copy of a
    /// redacted version-1 record (such a leaf holds the original).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leaf: Option<String>,
    /// A version-2 leaf's salt. Absent in a release copy of a redacted
    /// record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salt: Option<String>,
    /// The event envelope's exact JSON text (the bytes the leaf holds or
    /// commits to). Absent in a release copy of a redacted record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// A release copy: the envelope with each redaction in place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub released: Option<serde_json::Value>,
    /// The redactions applied (release copy).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redactions: Vec<RedactionMark>,
    /// The inclusion proof in the checkpoint's tree.
    pub proof: Vec<String>,
}

/// A redaction shown in a release copy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedactionMark {
    /// The field path in the envelope (`event.text`...).
    pub field: String,
    /// The exemption code (`(b)(6)`...).
    pub exemption: String,
    /// How much was removed, in words.
    pub words: usize,
}

/// `data/disposed/N.json`: a leaf of the scope whose content was disposed
/// of, and the tombstone that says so.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisposedFile {
    pub position: u64,
    pub stream: String,
    pub seq: u64,
    pub leaf_hash: String,
    /// The whole version-2 leaf (header and commitment), base64.
    pub leaf: String,
    /// The position of the `record_disposed` naming it (in
    /// `data/records/`).
    pub tombstone: u64,
    pub proof: Vec<String>,
}

/// `data/withheld.json`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WithheldList {
    pub records: Vec<WithheldEntry>,
}

/// A record of the scope withheld in full.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WithheldEntry {
    pub position: u64,
    pub stream: String,
    pub seq: u64,
    pub leaf_hash: String,
    /// The exemption code (`(b)(1)`...).
    pub exemption: String,
    /// Why, in words.
    pub reason: String,
    /// The size withheld, in bytes of the event's JSON (an estimate for
    /// the requester, as FOIA practice lists).
    pub bytes: u64,
    pub proof: Vec<String>,
}
