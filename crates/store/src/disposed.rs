//! Disposal in the store, the same for every backend: what a disposal
//! writes ([`Disposal`]: the tombstones, and the positions they name,
//! whose content is removed in the same transaction), which rows may be
//! disposed of ([`disposable`]), and what a reader gets for a disposed
//! row ([`resolve`]: the placeholder [`Event::DisposedRecord`] built from
//! the tombstone that names it).

use std::collections::{BTreeMap, BTreeSet};

use tocsin_domain::event::Event;

use crate::{CaseSummary, EventEnvelope, NewEvents, StoreError, StoredEvent, StreamId};

/// One disposal, written in one transaction: `tombstones` appended to
/// the records stream (one `record_disposed` per disposed leaf, through
/// the append planner like any append, with its documents), the content
/// (salt and body) of every position they name set to nothing, and the
/// query-table rows of the cases concerned, projected again without it.
#[derive(Clone, Debug)]
pub struct Disposal {
    pub tombstones: NewEvents,
    pub summaries: Vec<CaseSummary>,
}

impl Disposal {
    /// The positions whose content goes, in the tombstones' order; a batch
    /// that is not one `record_disposed` per distinct position on the
    /// records stream is refused before anything is written.
    pub fn positions(&self) -> Result<Vec<u64>, StoreError> {
        let refuse = |position, reason| Err(StoreError::NotDisposable { position, reason });
        if self.tombstones.stream != StreamId::Records {
            return refuse(0, "tombstones are appended to the records stream");
        }
        if self.tombstones.events.is_empty() {
            return Err(StoreError::NothingToAppend);
        }
        let mut seen = BTreeSet::new();
        let mut out = Vec::with_capacity(self.tombstones.events.len());
        for env in &self.tombstones.events {
            let Event::RecordDisposed { position, .. } = &env.event else {
                return refuse(0, "a disposal appends record_disposed tombstones only");
            };
            if !seen.insert(*position) {
                return refuse(*position, "named by two tombstones");
            }
            out.push(*position);
        }
        Ok(out)
    }
}

/// Whether the stored row at `position` may be disposed of: `row` is its
/// leaf and whether content is kept beside it, or `None` when the ledger
/// has no such position. Only a version-2 leaf with its content may.
pub fn disposable(position: u64, row: Option<(&[u8], bool)>) -> Result<(), StoreError> {
    let refuse = |reason| Err(StoreError::NotDisposable { position, reason });
    match row {
        None => refuse("the ledger has no such position"),
        Some((leaf, _)) if leaf.first() != Some(&2) => {
            refuse("not a version-2 leaf: its content is inside the leaf")
        }
        Some((_, false)) => refuse("its content was disposed of already"),
        Some((_, true)) => Ok(()),
    }
}

/// A placeholder is only ever read: an append that carries one is refused.
pub fn refuse_placeholders(batch: &NewEvents) -> Result<(), StoreError> {
    match batch
        .events
        .iter()
        .position(|e| matches!(e.event, Event::DisposedRecord { .. }))
    {
        Some(index) => Err(StoreError::Placeholder { index }),
        None => Ok(()),
    }
}

/// A row of a stream as read: its position, its seq, and its event, or
/// `None` when its content was disposed of.
pub type ReadRow = (u64, u64, Option<EventEnvelope>);

/// The events of `stream` from its rows, each disposed one replaced by
/// its placeholder, built from the `record_disposed` in `records` (the
/// records stream) that names its position: kind, class and schedule
/// from the tombstone, time and actor the tombstone's own (when, and who
/// approved). A disposed row no tombstone names is
/// [`StoreError::Disposed`]: content destroyed outside tocsin.
pub fn resolve(
    stream: StreamId,
    rows: Vec<ReadRow>,
    records: &[StoredEvent],
) -> Result<Vec<StoredEvent>, StoreError> {
    let tombstones: BTreeMap<u64, &StoredEvent> = records
        .iter()
        .filter_map(|t| match &t.envelope.event {
            Event::RecordDisposed { position, .. } => Some((*position, t)),
            _ => None,
        })
        .collect();
    rows.into_iter()
        .map(|(position, seq, envelope)| {
            let envelope = match envelope {
                Some(env) => env,
                None => placeholder(position, tombstones.get(&position).copied())?,
            };
            Ok(StoredEvent {
                position,
                stream,
                seq,
                envelope,
            })
        })
        .collect()
}

fn placeholder(
    position: u64,
    tombstone: Option<&StoredEvent>,
) -> Result<EventEnvelope, StoreError> {
    let Some(t) = tombstone else {
        return Err(StoreError::Disposed { position });
    };
    let Event::RecordDisposed {
        kind,
        class,
        schedule,
        approved_by,
        ..
    } = &t.envelope.event
    else {
        return Err(StoreError::Disposed { position });
    };
    Ok(EventEnvelope {
        recorded_at: t.envelope.recorded_at,
        actor: approved_by.clone(),
        event: Event::DisposedRecord {
            position,
            kind: kind.clone(),
            class: *class,
            schedule: schedule.clone(),
            tombstone: t.position,
        },
    })
}
