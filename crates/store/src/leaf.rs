//! The ledger leaf formats, versions 1 and 2.
//!
//! A leaf is the deterministic encoding of one event with its place:
//!
//! ```text
//! byte  0       format version (1 or 2)
//! bytes 1..9    ledger position, u64 big-endian
//! bytes 9..17   sequence within the stream, u64 big-endian
//! bytes 17..19  length L of the stream id, u16 big-endian
//! bytes 19..19+L  stream id, UTF-8 ("case/<uuid>" or "system")
//! version 1: the rest is the event envelope as compact JSON (serde field order)
//! version 2: the rest is exactly 32 bytes, the commitment
//!            SHA-256(COMMITMENT_TAG || salt || body), where body is the
//!            envelope's JSON as in version 1 and salt 32 random bytes
//! ```
//!
//! The position and sequence are inside the hashed bytes, so moving or
//! swapping leaves is detected without parsing the JSON; the JSON encoding
//! is deterministic because every type serialises its fields in declaration
//! order and maps are ordered. A new format gets a new version byte; old
//! leaves keep theirs forever.
//!
//! A version-2 leaf does not hold its event: the salt and the body are
//! kept beside it (see [`crate::LeafRow::content`]), so the content can be
//! destroyed (disposal) while the leaf, and so the Merkle tree and every
//! checkpoint, stay as they were. With its content present, a version-2
//! leaf is verified by recomputing the commitment ([`verify_present`]);
//! disposed, by its hash alone ([`verify_disposed`]): the commitment is
//! inside the hashed leaf, so it cannot be changed to hide an edit. The
//! salt keeps a disposed record's content from being confirmed by
//! guessing it and hashing the guess.

use crate::model::{EventEnvelope, StreamId};

/// A leaf that holds its event (every event but a record handed in with a
/// salt: see [`committed_event`]).
pub const LEAF_VERSION: u8 = 1;
/// A leaf that commits to its event, kept beside it.
pub const LEAF_VERSION_2: u8 = 2;
const HEADER_FIXED: usize = 19;
/// The length of a version-2 leaf's commitment, and of its salt.
pub const COMMITMENT_LEN: usize = 32;
pub const SALT_LEN: usize = 32;
/// What a commitment's hash starts with: no other hash tocsin computes
/// starts with these bytes (RFC 9162's leaf and node hashes start with
/// 0x00 and 0x01), so a commitment is never another hash's preimage.
pub const COMMITMENT_TAG: &[u8] = b"tocsin/leaf/v2/commitment\0";

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
    #[error(
        "a version-2 leaf ends in a 32-byte commitment; this one has {0} bytes after its header"
    )]
    Commitment(usize),
    #[error("a version-2 leaf holds a commitment, not its event: the body is kept beside it")]
    Committed,
    #[error("a version-1 leaf holds its event, yet content is kept beside it")]
    Beside,
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
    put_header(&mut out, LEAF_VERSION, position, &sid, seq);
    out.extend_from_slice(body);
    out
}

/// A whole leaf of one event, built in one buffer: the same bytes as
/// `encode(position, stream, seq, &encode_body(env))` for the stream whose
/// text form is `stream`, without the intermediate body and stream id.
pub fn encode_event(position: u64, stream: &str, seq: u64, env: &EventEnvelope) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_FIXED + stream.len() + BODY_GUESS);
    put_header(&mut out, LEAF_VERSION, position, stream, seq);
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

fn put_header(out: &mut Vec<u8>, version: u8, position: u64, stream: &str, seq: u64) {
    out.push(version);
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

/// What follows a leaf's header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sealed<'a> {
    /// Version 1: the event's JSON, in the leaf.
    Body(&'a [u8]),
    /// Version 2: the commitment to the salt and body kept beside the leaf.
    Commitment(&'a [u8; COMMITMENT_LEN]),
}

/// Reads a leaf of either version without allocating: its header, and its
/// body (version 1) or its commitment (version 2).
pub fn peek(leaf: &[u8]) -> Result<(LeafHeaderRef<'_>, Sealed<'_>), LeafError> {
    if leaf.len() < HEADER_FIXED {
        return Err(LeafError::Short(leaf.len()));
    }
    let version = leaf[0];
    if version != LEAF_VERSION && version != LEAF_VERSION_2 {
        return Err(LeafError::Version(version));
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
    let rest = &leaf[HEADER_FIXED + len..];
    let sealed = if version == LEAF_VERSION {
        Sealed::Body(rest)
    } else {
        Sealed::Commitment(
            rest.try_into()
                .map_err(|_| LeafError::Commitment(rest.len()))?,
        )
    };
    Ok((
        LeafHeaderRef {
            version,
            position: u64::from_be_bytes(pos),
            seq: u64::from_be_bytes(seq),
            stream,
        },
        sealed,
    ))
}

/// Reads the header of a version-1 leaf without allocating; returns it
/// with the body bytes. A version-2 leaf is [`LeafError::Committed`]: its
/// body is not in it (read it with [`peek`]).
pub fn peek_header(leaf: &[u8]) -> Result<(LeafHeaderRef<'_>, &[u8]), LeafError> {
    match peek(leaf)? {
        (h, Sealed::Body(body)) => Ok((h, body)),
        (_, Sealed::Commitment(_)) => Err(LeafError::Committed),
    }
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

/// The random salt of a version-2 leaf (the caller draws it: nothing
/// here is random).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Salt(pub [u8; SALT_LEN]);

impl std::fmt::Debug for Salt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A salt is as sensitive as the content it protects.
        f.write_str("Salt(..)")
    }
}

impl TryFrom<&[u8]> for Salt {
    type Error = CommitError;
    fn try_from(b: &[u8]) -> Result<Self, CommitError> {
        b.try_into()
            .map(Salt)
            .map_err(|_| CommitError::SaltLength(b.len()))
    }
}

/// `SHA-256(COMMITMENT_TAG || salt || body)`.
pub fn commitment(salt: &Salt, body: &[u8]) -> [u8; COMMITMENT_LEN] {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(COMMITMENT_TAG);
    h.update(salt.0);
    h.update(body);
    h.finalize().into()
}

/// A whole version-2 leaf from its parts: the header and the commitment to
/// `salt` and `body` (the body and the salt are kept beside it).
pub fn encode_v2(position: u64, stream: &StreamId, seq: u64, salt: &Salt, body: &[u8]) -> Vec<u8> {
    let sid = stream.to_string();
    let mut out = Vec::with_capacity(HEADER_FIXED + sid.len() + COMMITMENT_LEN);
    put_header(&mut out, LEAF_VERSION_2, position, &sid, seq);
    out.extend_from_slice(&commitment(salt, body));
    out
}

/// Why a version-2 leaf does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommitError {
    #[error("the leaf cannot be read: {0}")]
    Leaf(#[from] LeafError),
    #[error("the leaf is version {0}, not a version-2 leaf with a commitment")]
    NotCommitted(u8),
    #[error("the salt kept beside the leaf is {0} bytes, not 32")]
    SaltLength(usize),
    #[error(
        "the content kept beside the leaf does not match its commitment (the event or its salt was changed)"
    )]
    Content,
    #[error("the leaf is not the one its hash names (the leaf or its commitment was changed)")]
    Hash,
}

/// The header and commitment of a version-2 leaf.
fn committed(leaf: &[u8]) -> Result<(LeafHeaderRef<'_>, &[u8; COMMITMENT_LEN]), CommitError> {
    match peek(leaf)? {
        (h, Sealed::Commitment(c)) => Ok((h, c)),
        (h, Sealed::Body(_)) => Err(CommitError::NotCommitted(h.version)),
    }
}

/// Verifies a version-2 leaf against the salt and body kept beside it:
/// the commitment recomputed from them is the leaf's.
pub fn verify_present(leaf: &[u8], salt: &[u8], body: &[u8]) -> Result<(), CommitError> {
    let (_, c) = committed(leaf)?;
    let salt = Salt::try_from(salt)?;
    if commitment(&salt, body) != *c {
        return Err(CommitError::Content);
    }
    Ok(())
}

/// Verifies a disposed version-2 leaf by its commitment alone: it is a
/// well-formed version-2 leaf and its RFC 9162 leaf hash is `leaf_hash`
/// (the stored one, or the one an inclusion proof proves). Its content is
/// gone; what it committed to is fixed by the tree.
pub fn verify_disposed(leaf: &[u8], leaf_hash: &[u8]) -> Result<(), CommitError> {
    committed(leaf)?;
    if tocsin_ledger::leaf_hash(leaf).as_bytes() != leaf_hash {
        return Err(CommitError::Hash);
    }
    Ok(())
}

/// Whether an event is appended as a version-2 leaf (given a salt): an
/// event of a record class ([`tocsin_domain::event::Event::record_class`])
/// on a case, the access or the exchange stream (a partner's report
/// waiting for assessment), whatever the schedules say today, so a
/// schedule adopted later can still reach it. Structural events stay
/// version 1: there is nothing in them to dispose of.
pub fn committed_event(stream: &StreamId, env: &EventEnvelope) -> bool {
    matches!(
        stream,
        StreamId::Case(_) | StreamId::Access | StreamId::Exchange
    ) && env.event.record_class().is_some()
}

/// An event read back from a ledger row: its content, or the fact that it
/// was disposed of.
// Returned by value and unpacked at once; boxing would cost an allocation
// per event read.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Content {
    Event(EventEnvelope),
    /// A version-2 leaf whose salt and body are gone.
    Disposed,
}

/// Reads the event of a stored ledger row of either version: a version-1
/// leaf holds its JSON (`body` must be `None`); a version-2 leaf's is the
/// `body` kept beside it, or, with none, the event was disposed of. The
/// commitment is not checked here (`audit verify` checks it), as a
/// version-1 leaf's hash is not checked on a read.
pub fn decode_stored<'a>(
    leaf: &'a [u8],
    body: Option<&[u8]>,
) -> Result<(LeafHeaderRef<'a>, Content), LeafError> {
    let parse = |json: &[u8]| {
        serde_json::from_slice::<EventEnvelope>(json)
            .map(Content::Event)
            .map_err(|e| LeafError::Body(e.to_string()))
    };
    match (peek(leaf)?, body) {
        ((h, Sealed::Body(json)), None) => Ok((h, parse(json)?)),
        ((_, Sealed::Body(_)), Some(_)) => Err(LeafError::Beside),
        ((h, Sealed::Commitment(_)), Some(json)) => Ok((h, parse(json)?)),
        ((h, Sealed::Commitment(_)), None) => Ok((h, Content::Disposed)),
    }
}

/// The event of the stored row at `position` for `read_stream`
/// ([`decode_stored`]): damage is [`crate::StoreError::Corrupt`]; `None`
/// for a disposed event (the reader shows its placeholder,
/// [`crate::disposed::resolve`]).
pub fn stored_event(
    position: u64,
    leaf: &[u8],
    body: Option<&[u8]>,
) -> Result<Option<EventEnvelope>, crate::StoreError> {
    match decode_stored(leaf, body) {
        Ok((_, Content::Event(env))) => Ok(Some(env)),
        Ok((_, Content::Disposed)) => Ok(None),
        Err(e) => Err(crate::StoreError::Corrupt(format!(
            "ledger position {position}: {e}"
        ))),
    }
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
