//! The ledger leaf format, version 1.
//!
//! A leaf is the deterministic encoding of one event with its place:
//!
//! ```text
//! byte  0       format version (1)
//! bytes 1..9    ledger position, u64 big-endian
//! bytes 9..17   sequence within the stream, u64 big-endian
//! bytes 17..19  length L of the stream id, u16 big-endian
//! bytes 19..19+L  stream id, UTF-8 ("case/<uuid>" or "system")
//! the rest      the event envelope as compact JSON (serde field order)
//! ```
//!
//! The position and sequence are inside the hashed bytes, so moving or
//! swapping leaves is detected without parsing the JSON; the JSON encoding
//! is deterministic because every type serialises its fields in declaration
//! order and maps are ordered. A new format gets a new version byte; old
//! leaves keep theirs forever.

use crate::model::{EventEnvelope, StreamId};

pub const LEAF_VERSION: u8 = 1;
const HEADER_FIXED: usize = 19;

/// What the header of a leaf says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeafHeader {
    pub version: u8,
    pub position: u64,
    pub seq: u64,
    pub stream: String,
}

/// A leaf that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeafError {
    #[error("leaf is {0} bytes, shorter than a header")]
    Short(usize),
    #[error("leaf format version {0} is unknown")]
    Version(u8),
    #[error("stream id is not UTF-8")]
    StreamUtf8,
    #[error("event body is not a valid event: {0}")]
    Body(String),
}

/// Encodes the body (JSON) of an envelope once; the header is added at append time.
pub fn encode_body(env: &EventEnvelope) -> Vec<u8> {
    // Serialising our own types to a Vec cannot fail (no maps with non-string keys).
    serde_json::to_vec(env).unwrap_or_default()
}

/// A whole leaf from its parts.
pub fn encode(position: u64, stream: &StreamId, seq: u64, body: &[u8]) -> Vec<u8> {
    let sid = stream.to_string();
    let mut out = Vec::with_capacity(HEADER_FIXED + sid.len() + body.len());
    put_header(&mut out, position, &sid, seq);
    out.extend_from_slice(body);
    out
}

/// A whole leaf of one event, built in one buffer: the same bytes as
/// `encode(position, stream, seq, &encode_body(env))` for the stream whose
/// text form is `stream`, without the intermediate body and stream id.
pub fn encode_event(position: u64, stream: &str, seq: u64, env: &EventEnvelope) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_FIXED + stream.len() + BODY_GUESS);
    put_header(&mut out, position, stream, seq);
    let header = out.len();
    // As in `encode_body`: our own types always serialise; were one not
    // to, the body would be empty there too.
    if serde_json::to_writer(&mut out, env).is_err() {
        out.truncate(header);
    }
    out
}

/// A first guess at the size of an event's JSON, so that most leaves are
/// built without growing their buffer.
const BODY_GUESS: usize = 256;

fn put_header(out: &mut Vec<u8>, position: u64, stream: &str, seq: u64) {
    out.push(LEAF_VERSION);
    out.extend_from_slice(&position.to_be_bytes());
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&(stream.len() as u16).to_be_bytes());
    out.extend_from_slice(stream.as_bytes());
}

/// The header of a leaf, borrowed from the leaf bytes (no allocation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeafHeaderRef<'a> {
    pub version: u8,
    pub position: u64,
    pub seq: u64,
    pub stream: &'a str,
}

/// Reads the header without allocating; returns it with the body bytes.
pub fn peek_header(leaf: &[u8]) -> Result<(LeafHeaderRef<'_>, &[u8]), LeafError> {
    if leaf.len() < HEADER_FIXED {
        return Err(LeafError::Short(leaf.len()));
    }
    if leaf[0] != LEAF_VERSION {
        return Err(LeafError::Version(leaf[0]));
    }
    let mut pos = [0u8; 8];
    pos.copy_from_slice(&leaf[1..9]);
    let mut seq = [0u8; 8];
    seq.copy_from_slice(&leaf[9..17]);
    let len = u16::from_be_bytes([leaf[17], leaf[18]]) as usize;
    if leaf.len() < HEADER_FIXED + len {
        return Err(LeafError::Short(leaf.len()));
    }
    let stream = std::str::from_utf8(&leaf[HEADER_FIXED..HEADER_FIXED + len])
        .map_err(|_| LeafError::StreamUtf8)?;
    Ok((
        LeafHeaderRef {
            version: leaf[0],
            position: u64::from_be_bytes(pos),
            seq: u64::from_be_bytes(seq),
            stream,
        },
        &leaf[HEADER_FIXED + len..],
    ))
}

/// Reads the header and returns it with the body bytes.
pub fn decode_header(leaf: &[u8]) -> Result<(LeafHeader, &[u8]), LeafError> {
    let (h, body) = peek_header(leaf)?;
    Ok((
        LeafHeader {
            version: h.version,
            position: h.position,
            seq: h.seq,
            stream: h.stream.to_owned(),
        },
        body,
    ))
}

/// Reads a whole leaf.
pub fn decode(leaf: &[u8]) -> Result<(LeafHeader, EventEnvelope), LeafError> {
    let (h, body) = decode_header(leaf)?;
    let env: EventEnvelope =
        serde_json::from_slice(body).map_err(|e| LeafError::Body(e.to_string()))?;
    Ok((h, env))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tocsin_domain::event::{Event, ReassessmentReason};
    use tocsin_domain::{ActorName, CaseId};

    #[test]
    fn round_trip() {
        let env = EventEnvelope {
            recorded_at: "2024-01-01T00:00:00Z".parse().unwrap(),
            actor: ActorName::new("analyst.a").unwrap(),
            event: Event::ReassessmentFlagged {
                reason: ReassessmentReason::WindowLapsed,
                detail: "x".into(),
            },
        };
        let stream = StreamId::Case(CaseId::from_uuid(tocsin_domain_uuid()));
        let leaf = encode(42, &stream, 7, &encode_body(&env));
        let (h, back) = decode(&leaf).unwrap();
        assert_eq!(h.position, 42);
        assert_eq!(h.seq, 7);
        assert_eq!(h.stream, stream.to_string());
        assert_eq!(back, env);
        assert_eq!(
            encode(42, &stream, 7, &encode_body(&back)),
            leaf,
            "deterministic"
        );
        assert_eq!(
            encode_event(42, &stream.to_string(), 7, &env),
            leaf,
            "one buffer, the same bytes"
        );
        let mut bad = leaf.clone();
        bad[0] = 9;
        assert_eq!(decode(&bad).unwrap_err(), LeafError::Version(9));
        assert!(matches!(decode(&leaf[..10]), Err(LeafError::Short(10))));
    }

    fn tocsin_domain_uuid() -> uuid_like::Uuid {
        uuid_like::Uuid::from_u128(7)
    }
    mod uuid_like {
        pub use ::uuid::Uuid;
    }
}
