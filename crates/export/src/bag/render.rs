//! A record as readable text (`data/records/N.txt`), derived from its
//! JSON file alone, so the verifier renders it again and compares.

use tocsin_store::EventEnvelope;

use super::wire::{RecordFile, RecordRole};

/// The readable text of an exported record.
pub fn render_text(r: &RecordFile) -> String {
    let mut out = String::new();
    let role = match r.role {
        RecordRole::Record => "Record",
        RecordRole::Tombstone => "Tombstone",
        RecordRole::Scope => "This export's scope, as recorded",
    };
    out.push_str(&format!(
        "{role} at ledger position {} ({}, event {} of the stream)\n",
        r.position, r.stream, r.seq
    ));
    out.push_str(&format!("Kind: {}\n", r.kind));
    let shown = match (&r.body, &r.released) {
        (_, Some(v)) => Some(v.clone()),
        (Some(b), None) => serde_json::from_str::<serde_json::Value>(b).ok(),
        (None, None) => None,
    };
    if let Some(b) = &r.body
        && let Ok(env) = serde_json::from_str::<EventEnvelope>(b)
    {
        out.push_str(&format!("Recorded at: {}\n", env.recorded_at));
        out.push_str(&format!("By: {}\n", env.actor));
        out.push_str(&format!("Summary: {}\n", env.event.summary()));
    }
    for m in &r.redactions {
        out.push_str(&format!(
            "Redacted: {} [{}, {} words]\n",
            m.field, m.exemption, m.words
        ));
    }
    out.push_str(&format!(
        "Leaf: version {}, hash {}\n",
        r.leaf_version, r.leaf_hash
    ));
    if let Some(v) = shown {
        out.push_str("\nEvent:\n");
        out.push_str(&serde_json::to_string_pretty(&v).unwrap_or_default());
        out.push('\n');
    }
    out
}
