//! The contract of version-2 leaves: an event of a record class, handed
//! in with a salt, is appended as a leaf committing to its salt and body,
//! the two kept beside the leaf; it reads back, verifies, copies and
//! survives reopening. Editing the body, the salt or the commitment is
//! found by `verify`: each backend's own tests edit them with its SQL
//! ([`v2_ledger`], [`verify_failure`]).

use super::*;
use crate::audit::VerifyReport;
use crate::leaf::{LEAF_VERSION, LEAF_VERSION_2, Salt, encode_body};

/// A read of restricted content (an access-log record), on any stream.
pub fn content_read(n: u128) -> EventEnvelope {
    EventEnvelope {
        recorded_at: "2024-01-01T00:00:00Z".parse().unwrap(),
        actor: ActorName::new("reader").unwrap(),
        event: Event::ContentRead {
            case_id: CaseId::from_uuid(tocsin_domain::ids::Uuid::from_u128(n)),
            parts: vec![format!("narrative {n}")],
        },
    }
}

/// A refused attempt (an access-log record).
pub fn refused(n: u64) -> EventEnvelope {
    EventEnvelope {
        recorded_at: "2024-01-01T00:00:00Z".parse().unwrap(),
        actor: ActorName::new("mallory").unwrap(),
        event: Event::AccessRefused {
            action: "case.read".into(),
            target: Some(format!("case {n}")),
            reason: "not cleared".into(),
        },
    }
}

/// Salt `n` (a test's; the service draws real ones from the OS).
pub fn salt(n: u8) -> Salt {
    Salt([n; 32])
}

/// What [`v2_ledger`] wrote: positions of its version-2 leaves.
pub struct V2Ledger {
    /// On case 1: the structural event's (version 1) and the record's.
    pub case_v1: u64,
    pub case_v2: u64,
    /// On the access stream.
    pub access_v2: u64,
    /// The events, by stream, as appended.
    pub case_events: Vec<EventEnvelope>,
    pub access_events: Vec<EventEnvelope>,
}

/// Appends, on case 1, a structural event (version 1) and a record
/// (version 2), and on the access stream a refusal (version 2), all with
/// salts; then a record with no salt (version 1).
pub async fn v2_ledger(s: &dyn Store) -> V2Ledger {
    let case_events = vec![event(0), content_read(1), content_read(2)];
    let mut b =
        NewEvents::new(case(1), 0, case_events[..2].to_vec()).salted(vec![salt(1), salt(2)]);
    b.summary = Some(summary(case(1), &["secret"], &[], &["cia"]));
    let a = s.append(b).await.unwrap();
    let access_events = vec![refused(1)];
    let mut b = NewEvents::new(StreamId::Access, 0, access_events.clone()).salted(vec![salt(3)]);
    b.expected_version = None;
    let c = s.append(b).await.unwrap();
    // A caller that hands in no salt gets version 1.
    s.append(NewEvents::new(case(1), 2, case_events[2..].to_vec()))
        .await
        .unwrap();
    V2Ledger {
        case_v1: a.first_position,
        case_v2: a.first_position + 1,
        access_v2: c.first_position,
        case_events,
        access_events,
    }
}

/// The deep verification of `store`: its report, or the failure's text.
pub async fn verify_report<S: Store + Clone>(store: &S) -> Result<VerifyReport, String> {
    verify_report_with(store, false).await
}

/// As [`verify_report`], accepting disposed leaves or not.
pub async fn verify_report_with<S: Store + Clone>(
    store: &S,
    accept_disposed: bool,
) -> Result<VerifyReport, String> {
    let opts = VerifyOptions {
        verifier: signer().verifier(),
        since: None,
        deep: true,
        progress: None,
        accept_disposed,
    };
    verify(Arc::new(store.clone()), &opts)
        .await
        .unwrap()
        .map_err(|f| f.to_string())
}

/// The failure `verify` finds; panics if it passes.
pub async fn verify_failure<S: Store + Clone>(store: &S) -> String {
    match verify_report(store).await {
        Ok(r) => panic!("verify passed a tampered ledger of {} leaves", r.size),
        Err(f) => f,
    }
}

pub async fn version_2_leaves_read_back_verify_and_copy<F: Fixture>() {
    let f = F::new().await;
    let s = f.create(MAIN).await;
    let w = v2_ledger(&s).await;
    let stream = |s: &F::Store, id: StreamId| {
        let s = s.clone();
        async move {
            s.read_stream(&id)
                .await
                .unwrap()
                .into_iter()
                .map(|e| (e.position, e.seq, e.envelope))
                .collect::<Vec<_>>()
        }
    };
    let want_case: Vec<_> = [w.case_v1, w.case_v2, 3]
        .into_iter()
        .zip(1..)
        .zip(w.case_events.iter().cloned())
        .map(|((p, q), e)| (p, q, e))
        .collect();
    assert_eq!(stream(&s, case(1)).await, want_case);
    assert_eq!(
        stream(&s, StreamId::Access).await,
        [(w.access_v2, 1, w.access_events[0].clone())]
    );
    // The leaves: version by version, the content beside version 2 only.
    let page = s.read_leaves(0, 10).await.unwrap();
    let rows: Vec<_> = page.iter().collect();
    assert_eq!(rows.len(), 4);
    let versions: Vec<u8> = rows.iter().map(|r| r.leaf[0]).collect();
    assert_eq!(
        versions,
        [LEAF_VERSION, LEAF_VERSION_2, LEAF_VERSION_2, LEAF_VERSION]
    );
    let kept = |i: usize| rows[i].content.map(|c| (c.salt.to_vec(), c.body.to_vec()));
    assert_eq!(kept(0), None);
    assert_eq!(
        kept(1),
        Some((salt(2).0.to_vec(), encode_body(&w.case_events[1])))
    );
    assert_eq!(
        kept(2),
        Some((salt(3).0.to_vec(), encode_body(&w.access_events[0])))
    );
    assert_eq!(kept(3), None);
    // Not a byte of the body in the leaf.
    let body = encode_body(&w.case_events[1]);
    assert!(rows[1].leaf.len() < body.len());
    let r = verify_report(&s).await.unwrap();
    assert_eq!((r.size, r.disposed), (4, 0));
    // Reopened, and copied into another store, the same.
    let before = s.read_leaves(0, 10).await.unwrap();
    f.close(s).await;
    let s = f.open(MAIN, Some(signer())).await.unwrap();
    assert_eq!(s.read_leaves(0, 10).await.unwrap(), before);
    assert_eq!(stream(&s, case(1)).await, want_case);
    let b = f.create("copy").await;
    crate::copy(&s, &b, None).await.unwrap();
    assert_eq!(b.read_leaves(0, 10).await.unwrap(), before);
    assert_eq!(stream(&b, case(1)).await, want_case);
    assert_eq!(verify_report(&b).await.unwrap().size, 4);
}

pub async fn a_batch_with_salts_not_one_per_event_writes_nothing<F: Fixture>() {
    let f = F::new().await;
    let s = f.create(MAIN).await;
    let b =
        NewEvents::new(case(1), 0, vec![content_read(1), content_read(2)]).salted(vec![salt(1)]);
    s.append(b).await.unwrap_err();
    assert_eq!(s.ledger_head().await.unwrap().size, 0);
    assert!(s.read_stream(&case(1)).await.unwrap().is_empty());
}

/// A fixture whose ledger rows a test can edit, as someone with access to
/// the database could (each backend with its own SQL).
#[async_trait]
pub trait EditLedger: Fixture {
    /// Sets `column` of the ledger row at `position` of store `name`.
    async fn set_ledger_column(
        &self,
        name: &str,
        position: u64,
        column: &str,
        value: Option<Vec<u8>>,
    );
}

/// `bytes` with one byte changed at `at` (counted from the end when
/// negative).
fn flipped(bytes: &[u8], at: isize) -> Vec<u8> {
    let mut b = bytes.to_vec();
    let i = if at < 0 {
        b.len() - at.unsigned_abs()
    } else {
        at as usize
    };
    b[i] ^= 0x01;
    b
}

pub async fn every_edit_of_a_version_2_leaf_is_found<F: EditLedger>() {
    let f = F::new().await;
    // (column, what it becomes, on the case's record or the access stream's)
    type Edit = fn(crate::LeafRow<'_>) -> Vec<u8>;
    let edits: [(&str, &str, Edit, bool); 5] = [
        (
            "content_body",
            "body",
            |r| flipped(r.content.unwrap().body, 20),
            true,
        ),
        (
            "content_body",
            "body",
            |r| flipped(r.content.unwrap().body, -3),
            false,
        ),
        (
            "content_salt",
            "salt",
            |r| flipped(r.content.unwrap().salt, 0),
            true,
        ),
        ("leaf", "commitment", |r| flipped(r.leaf, -1), true),
        ("leaf", "commitment", |r| flipped(r.leaf, -32), false),
    ];
    for (i, (column, what, edit, on_case)) in edits.into_iter().enumerate() {
        let name = format!("tamper{i}");
        let s = f.create(&name).await;
        let w = v2_ledger(&s).await;
        assert_eq!(verify_report(&s).await.unwrap().size, 4);
        let at = if on_case { w.case_v2 } else { w.access_v2 };
        let page = s.read_leaves(at, 1).await.unwrap();
        let row = page.get(0).unwrap();
        f.set_ledger_column(&name, at, column, Some(edit(row)))
            .await;
        let failure = verify_failure(&s).await;
        assert!(
            failure.contains(&format!("position {at}")) || failure.contains(&format!("leaf {at}")),
            "an edited {what} at {at}: {failure}"
        );
        f.close(s).await;
    }
}

pub async fn a_disposed_version_2_leaf_verifies_and_reads_as_disposed<F: EditLedger>() {
    let f = F::new().await;
    let s = f.create(MAIN).await;
    let w = v2_ledger(&s).await;
    for column in ["content_salt", "content_body"] {
        f.set_ledger_column(MAIN, w.case_v2, column, None).await;
    }
    // tocsin disposes of nothing yet: content gone is content destroyed
    // outside it, and verification fails at its position.
    let failure = verify_report(&s).await.unwrap_err();
    assert!(
        failure.contains(&format!("position {}", w.case_v2))
            && failure.contains("no disposal accounts for it"),
        "{failure}"
    );
    // Accepted as disposed, it verifies by its commitment.
    let r = verify_report_with(&s, true).await.unwrap();
    assert_eq!((r.size, r.disposed), (4, 1));
    let page = s.read_leaves(0, 10).await.unwrap();
    assert_eq!(page.get(w.case_v2 as usize).unwrap().content, None);
    match s.read_stream(&case(1)).await {
        Err(crate::StoreError::Disposed { position }) => assert_eq!(position, w.case_v2),
        other => panic!("a disposed event read as {other:?}"),
    }
    assert_eq!(s.read_stream(&StreamId::Access).await.unwrap().len(), 1);
    // Its commitment is still what the tree holds: an edit is found.
    let leaf = flipped(page.get(w.case_v2 as usize).unwrap().leaf, -1);
    f.set_ledger_column(MAIN, w.case_v2, "leaf", Some(leaf))
        .await;
    let failure = verify_report_with(&s, true).await.unwrap_err();
    assert!(
        !failure.contains("no disposal accounts for it"),
        "{failure}"
    );
    // A salt kept without its body is damage, named with its position.
    let s2 = f.create("half").await;
    let w = v2_ledger(&s2).await;
    f.set_ledger_column("half", w.access_v2, "content_body", None)
        .await;
    let e = s2.read_leaves(0, 10).await.unwrap_err();
    assert!(
        e.to_string().contains(&format!("position {}", w.access_v2)),
        "{e}"
    );
}
