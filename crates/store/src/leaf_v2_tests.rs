//! Tests of the version-2 leaf (`crate::leaf`) and of how verification
//! checks a row of either version (`crate::audit::check_row`): every
//! single-byte edit is found, a disposed leaf verifies by its commitment
//! alone, a version-1 leaf is untouched. Known answers in
//! `testdata/leaf-v2.json` were computed independently (Python's hashlib).

use tocsin_ledger::{Hash, leaf_hash, root_of};

use crate::audit::{Content, check_row};
use crate::leaf::{
    COMMITMENT_LEN, CommitError, LEAF_VERSION_2, LeafError, Salt, Sealed, commitment, decode,
    encode, encode_body, encode_v2, peek, peek_header, verify_disposed, verify_present,
};
use crate::{EventEnvelope, LeafContent, LeafPage, StreamId};
use tocsin_domain::event::Event;
use tocsin_domain::{ActorName, CaseId};

fn envelope(reason: &str) -> EventEnvelope {
    EventEnvelope {
        recorded_at: "2024-01-01T00:00:00Z".parse().unwrap(),
        actor: ActorName::new("analyst.a").unwrap(),
        event: Event::CaseReopened {
            reason: reason.into(),
        },
    }
}

fn stream() -> StreamId {
    StreamId::Case(CaseId::from_uuid(uuid::Uuid::from_u128(7)))
}

const SALT: Salt = Salt([0x5a; 32]);

/// A row as a backend would read it: position 3, the leaf's hash, and
/// the content beside it or nothing.
fn page(leaf: &[u8], stored_hash: &[u8], content: Option<(&[u8], &[u8])>) -> LeafPage {
    let mut p = LeafPage::default();
    let s = stream().to_string();
    match content {
        Some((salt, body)) => {
            p.push_with_content(3, &s, 2, leaf, stored_hash, LeafContent { salt, body })
        }
        None => p.push(3, &s, 2, leaf, stored_hash),
    }
    p
}

/// `check_row` on a row, with the hash the reader computes from the leaf.
fn check(
    leaf: &[u8],
    stored_hash: &[u8],
    content: Option<(&[u8], &[u8])>,
) -> Result<Content, String> {
    let p = page(leaf, stored_hash, content);
    let row = p.get(0).unwrap();
    check_row(&row, &leaf_hash(row.leaf), true)
}

#[test]
fn a_version_2_leaf_is_the_header_and_a_commitment() {
    let body = encode_body(&envelope("new report"));
    let leaf = encode_v2(3, &stream(), 2, &SALT, &body);
    let v1 = encode(3, &stream(), 2, &body);
    // The same header but the version byte, then the commitment instead of the body.
    let header = v1.len() - body.len();
    assert_eq!(leaf[0], LEAF_VERSION_2);
    assert_eq!(leaf[1..header], v1[1..header]);
    assert_eq!(leaf.len(), header + COMMITMENT_LEN);
    assert_eq!(leaf[header..], commitment(&SALT, &body));
    let (h, sealed) = peek(&leaf).unwrap();
    assert_eq!((h.version, h.position, h.seq), (2, 3, 2));
    assert_eq!(h.stream, stream().to_string());
    assert!(matches!(sealed, Sealed::Commitment(c) if c[..] == leaf[header..]));
    // The readers of version-1 bodies refuse it rather than misread it.
    assert_eq!(peek_header(&leaf).unwrap_err(), LeafError::Committed);
    assert!(decode(&leaf).is_err());
    // A commitment that is not 32 bytes is not a version-2 leaf.
    assert_eq!(
        peek(&leaf[..leaf.len() - 1]).unwrap_err(),
        LeafError::Commitment(31)
    );
    let mut long = leaf.clone();
    long.push(0);
    assert_eq!(peek(&long).unwrap_err(), LeafError::Commitment(33));
    // Another salt, another commitment: the salt is in the hash.
    assert_ne!(
        commitment(&Salt([0x5b; 32]), &body),
        commitment(&SALT, &body)
    );
    assert_eq!(format!("{SALT:?}"), "Salt(..)");
}

#[test]
fn every_single_byte_edit_to_a_version_2_leaf_its_salt_or_its_body_is_found() {
    let body = encode_body(&envelope("new report"));
    let leaf = encode_v2(3, &stream(), 2, &SALT, &body);
    let stored = leaf_hash(&leaf);
    assert_eq!(
        check(&leaf, stored.as_bytes(), Some((&SALT.0, &body))),
        Ok(Content::Beside)
    );
    assert_eq!(verify_present(&leaf, &SALT.0, &body), Ok(()));
    // Leaves of a small ledger around it, for the tree a checkpoint signs.
    let others: Vec<Hash> = (0..5u8).map(|i| leaf_hash(&[i])).collect();
    let root = |l: &[u8]| {
        let mut hs = others.clone();
        hs.insert(3, leaf_hash(l));
        root_of(&hs)
    };
    let signed_root = root(&leaf);
    for i in 0..leaf.len() {
        for flip in [0x01u8, 0x80] {
            let mut bad = leaf.clone();
            bad[i] ^= flip;
            // With its stored hash as it was: the row check finds it.
            assert!(
                check(&bad, stored.as_bytes(), Some((&SALT.0, &body))).is_err(),
                "leaf byte {i}"
            );
            // With its stored hash rewritten too: the tree no longer has
            // the signed root, which verification finds (steps 4 and 5).
            assert_ne!(root(&bad), signed_root, "leaf byte {i}");
            // Disposed, the same edit is found by the commitment alone.
            assert!(
                verify_disposed(&bad, stored.as_bytes()).is_err(),
                "leaf byte {i}"
            );
        }
    }
    for i in 0..SALT.0.len() {
        let mut salt = SALT.0;
        salt[i] ^= 0x01;
        let e = check(&leaf, stored.as_bytes(), Some((&salt, &body))).unwrap_err();
        assert!(
            e.contains("does not match its commitment"),
            "salt byte {i}: {e}"
        );
        assert_eq!(
            verify_present(&leaf, &salt, &body),
            Err(CommitError::Content)
        );
    }
    for i in 0..body.len() {
        let mut b = body.clone();
        b[i] ^= 0x01;
        assert_eq!(
            verify_present(&leaf, &SALT.0, &b),
            Err(CommitError::Content),
            "body byte {i}"
        );
        assert!(check(&leaf, stored.as_bytes(), Some((&SALT.0, &b))).is_err());
    }
    // A byte more or less of salt or body.
    let short = &SALT.0[..31];
    assert_eq!(
        verify_present(&leaf, short, &body),
        Err(CommitError::SaltLength(31))
    );
    let mut longer = body.clone();
    longer.push(b' ');
    assert_eq!(
        verify_present(&leaf, &SALT.0, &longer),
        Err(CommitError::Content)
    );
    assert_eq!(
        verify_present(&leaf, &SALT.0, &body[1..]),
        Err(CommitError::Content)
    );
    // The stored hash edited alone is found too.
    let mut h = *stored.as_bytes();
    h[0] ^= 1;
    assert!(check(&leaf, &h, Some((&SALT.0, &body))).is_err());
}

#[test]
fn a_disposed_leaf_verifies_by_its_commitment_alone() {
    let body = encode_body(&envelope("new report"));
    let leaf = encode_v2(3, &stream(), 2, &SALT, &body);
    let stored = leaf_hash(&leaf);
    // Content and salt destroyed: nothing beside the leaf.
    assert_eq!(check(&leaf, stored.as_bytes(), None), Ok(Content::Disposed));
    assert_eq!(verify_disposed(&leaf, stored.as_bytes()), Ok(()));
    // Its commitment cannot be swapped for another one (to hide an edit
    // of what it committed to): that changes the leaf and its hash.
    let header = leaf.len() - COMMITMENT_LEN;
    let mut swapped = leaf[..header].to_vec();
    swapped.extend_from_slice(&commitment(&SALT, b"{\"an\":\"edited event\"}"));
    assert_eq!(
        verify_disposed(&swapped, stored.as_bytes()),
        Err(CommitError::Hash)
    );
    assert!(check(&swapped, stored.as_bytes(), None).is_err());
    // A version-1 leaf is not a disposed leaf.
    let v1 = encode(3, &stream(), 2, &body);
    assert_eq!(
        verify_disposed(&v1, leaf_hash(&v1).as_bytes()),
        Err(CommitError::NotCommitted(1))
    );
    assert_eq!(
        verify_present(&v1, &SALT.0, &body),
        Err(CommitError::NotCommitted(1))
    );
}

#[test]
fn a_version_1_leaf_is_checked_as_it_always_was() {
    let body = encode_body(&envelope("new report"));
    let leaf = encode(3, &stream(), 2, &body);
    let stored = leaf_hash(&leaf);
    assert_eq!(check(&leaf, stored.as_bytes(), None), Ok(Content::InLeaf));
    let (_, body_read) = peek_header(&leaf).unwrap();
    assert_eq!(body_read, &body[..]);
    for i in 0..leaf.len() {
        let mut bad = leaf.clone();
        bad[i] ^= 0x01;
        assert!(check(&bad, stored.as_bytes(), None).is_err(), "byte {i}");
    }
    // Nothing may be kept beside it: its event is in it.
    let e = check(&leaf, stored.as_bytes(), Some((&SALT.0, &body))).unwrap_err();
    assert!(e.contains("version-1"), "{e}");
    // A body that is not an event is found by the deep check, in either version.
    let junk = encode(3, &stream(), 2, b"{not json");
    assert!(
        check(&junk, leaf_hash(&junk).as_bytes(), None)
            .unwrap_err()
            .contains("not a valid event")
    );
    let junk2 = encode_v2(3, &stream(), 2, &SALT, b"{not json");
    assert!(
        check(
            &junk2,
            leaf_hash(&junk2).as_bytes(),
            Some((&SALT.0, b"{not json"))
        )
        .unwrap_err()
        .contains("not a valid event")
    );
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn known_answers_computed_independently() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/leaf-v2.json");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let vectors = doc["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 4);
    for v in vectors {
        let desc = v["desc"].as_str().unwrap();
        let salt = Salt::try_from(&unhex(v["salt"].as_str().unwrap())[..]).unwrap();
        let body = v["body"].as_str().unwrap().as_bytes();
        let stream: StreamId = v["stream"].as_str().unwrap().parse().unwrap();
        let leaf = encode_v2(
            v["position"].as_u64().unwrap(),
            &stream,
            v["seq"].as_u64().unwrap(),
            &salt,
            body,
        );
        assert_eq!(
            commitment(&salt, body)[..],
            unhex(v["commitment"].as_str().unwrap()),
            "{desc}"
        );
        assert_eq!(leaf, unhex(v["leaf"].as_str().unwrap()), "{desc}");
        let want_hash = unhex(v["leaf_hash"].as_str().unwrap());
        assert_eq!(leaf_hash(&leaf).as_bytes()[..], want_hash, "{desc}");
        assert_eq!(verify_present(&leaf, &salt.0, body), Ok(()), "{desc}");
        assert_eq!(verify_disposed(&leaf, &want_hash), Ok(()), "{desc}");
    }
}
