//! The contract of [`Store::dispose`]: the tombstones and the removal of
//! the content they name commit together, or nothing does; the disposed
//! event reads as its placeholder; `verify` passes, counting it disposed
//! of, because a tombstone names it.

use super::*;
use crate::Disposal;
use tocsin_domain::records::{
    RecordClass, RetentionAction, RetentionPeriod, RetentionSchedule, Trigger,
};
use tocsin_domain::text::Note;

/// The tombstone of the record at `position` (an access-log record).
pub fn tombstone(position: u64) -> EventEnvelope {
    EventEnvelope {
        recorded_at: "2025-01-01T00:00:00Z".parse().unwrap(),
        actor: ActorName::new("records.b").unwrap(),
        event: Event::RecordDisposed {
            position,
            kind: "content_read".into(),
            case_id: None,
            class: RecordClass::AccessLog,
            schedule: RetentionSchedule {
                class: RecordClass::AccessLog,
                trigger: Trigger::RecordMade,
                period: RetentionPeriod::days(30),
                action: RetentionAction::Dispose,
                authority: Note::new("test file plan").unwrap(),
            },
            schedules_sha256: "0".repeat(64),
            eligible_at: "2024-01-31T00:00:00Z".parse().unwrap(),
            batch_id: tocsin_domain::ids::DisposalBatchId::from_uuid(
                tocsin_domain::ids::Uuid::from_u128(9),
            ),
            requested_by: ActorName::new("records.a").unwrap(),
            approved_by: ActorName::new("records.b").unwrap(),
        },
    }
}

/// A disposal of `positions`, appended to the records stream at `version`.
pub fn disposal(version: u64, positions: &[u64]) -> Disposal {
    Disposal {
        tombstones: NewEvents::new(
            StreamId::Records,
            version,
            positions.iter().map(|p| tombstone(*p)).collect(),
        ),
        summaries: vec![],
    }
}

pub async fn a_disposal_removes_the_content_its_tombstones_name_or_nothing<F: Fixture>() {
    let f = F::new().await;
    let s = f.create(MAIN).await;
    let w = v2_ledger(&s).await;
    let size = s.ledger_head().await.unwrap().size;
    // A version-1 leaf cannot be disposed of, and refuses the whole
    // disposal: the version-2 leaf named with it keeps its content.
    for positions in [vec![w.access_v2, w.case_v1], vec![w.access_v2, size + 5]] {
        let e = s.dispose(disposal(0, &positions)).await.unwrap_err();
        assert!(
            matches!(e, crate::StoreError::NotDisposable { position, .. } if position == positions[1]),
            "{e}"
        );
    }
    let e = s
        .dispose(disposal(0, &[w.access_v2, w.access_v2]))
        .await
        .unwrap_err();
    assert!(matches!(e, crate::StoreError::NotDisposable { .. }), "{e}");
    assert_eq!(s.ledger_head().await.unwrap().size, size);
    let page = s.read_leaves(0, 10).await.unwrap();
    assert!(page.get(w.access_v2 as usize).unwrap().content.is_some());

    // Disposed of: the content is gone, the tombstone is appended.
    let a = s
        .dispose(disposal(0, &[w.case_v2, w.access_v2]))
        .await
        .unwrap();
    assert_eq!((a.first_position, a.count), (size, 2));
    let page = s.read_leaves(0, 10).await.unwrap();
    assert_eq!(page.get(w.case_v2 as usize).unwrap().content, None);
    assert_eq!(page.get(w.access_v2 as usize).unwrap().content, None);
    // It reads as its placeholder, never as the content.
    let events = s.read_stream(&case(1)).await.unwrap();
    assert_eq!(events.len(), 3);
    match &events[1].envelope.event {
        Event::DisposedRecord {
            position,
            kind,
            tombstone,
            ..
        } => {
            assert_eq!(
                (*position, kind.as_str(), *tombstone),
                (w.case_v2, "content_read", size)
            );
        }
        other => panic!("a disposed event read as {other:?}"),
    }
    assert_eq!(events[1].envelope.actor.as_str(), "records.b");
    assert_eq!(events[2].envelope, w.case_events[2]);
    // Verification passes: a tombstone names each.
    let r = verify_report(&s).await.unwrap();
    assert_eq!((r.size, r.disposed), (size + 2, 2));
    // Twice is refused.
    let e = s.dispose(disposal(2, &[w.case_v2])).await.unwrap_err();
    assert!(matches!(e, crate::StoreError::NotDisposable { .. }), "{e}");
    // A placeholder is never appended.
    let placeholder = events[1].envelope.clone();
    let e = s
        .append(NewEvents::new(case(1), 3, vec![placeholder]))
        .await
        .unwrap_err();
    assert!(
        matches!(e, crate::StoreError::Placeholder { index: 0 }),
        "{e}"
    );
    // Reopened, the same.
    f.close(s).await;
    let s = f.open(MAIN, Some(signer())).await.unwrap();
    assert_eq!(verify_report(&s).await.unwrap().disposed, 2);
    assert_eq!(s.ledger_head().await.unwrap().size, size + 2);
    f.close(s).await;
}
