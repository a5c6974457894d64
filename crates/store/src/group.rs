//! Group commit, the part both writers share: the jobs callers queue, a
//! group of them being run in one transaction with the outcome of each,
//! and the answer every caller gets once the group committed or failed.
//!
//! A writer takes a [`Group`] of [`Job`]s, runs each (under a savepoint,
//! recording its outcome in its [`Slot`]), seals the group with one
//! checkpoint ([`crate::append::Planner::seal`]), commits, and hands the
//! commit's outcome to [`Group::answer`]: a job that failed on its own is
//! answered with its own error; when the commit fails, every other job is
//! answered with that failure; an append is answered with the tree size
//! and root of the group's checkpoint.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use tocsin_ledger::Hash;
use tokio::sync::oneshot;

use crate::{Appended, CaseSummary, Disposal, Doc, DocWrite, NewEvents, StoreError, StreamId};

/// Where a job's answer goes.
pub type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

/// A write queued for a store's writer.
pub enum Job {
    Append(Box<NewEvents>, Reply<Appended>),
    ReplaceProjections(Vec<CaseSummary>, Vec<Doc>, Reply<()>),
    WriteDocs(Vec<DocWrite>, Reply<Vec<u64>>),
    /// A disposal: an append of tombstones that also removes content.
    Dispose(Box<Disposal>, Reply<Appended>),
}

/// A job of a group: its work and the slot for its outcome.
pub enum Running {
    Append(Box<NewEvents>, Slot<Appended>),
    ReplaceProjections(Vec<CaseSummary>, Vec<Doc>, Slot<()>),
    WriteDocs(Vec<DocWrite>, Slot<Vec<u64>>),
    Dispose(Box<Disposal>, Slot<Appended>),
}

/// The outcome of one job, and where it goes.
pub struct Slot<T> {
    reply: Reply<T>,
    outcome: Option<Result<T, StoreError>>,
}

impl<T> Slot<T> {
    fn new(reply: Reply<T>) -> Self {
        Self {
            reply,
            outcome: None,
        }
    }

    /// Whether the job failed for want of space (`None`: not run yet).
    fn failed_full(&self) -> Option<bool> {
        self.outcome
            .as_ref()
            .map(|o| o.as_ref().is_err_and(StoreError::is_full))
    }

    /// Records what the job produced. Returns whether it succeeded: if
    /// not, the writer undoes its work (rolls back its savepoint, restores
    /// the planner).
    pub fn record(&mut self, outcome: Result<T, StoreError>) -> bool {
        let ok = outcome.is_ok();
        self.outcome = Some(outcome);
        ok
    }

    fn answer(
        self,
        commit: &Result<Option<(u64, Hash)>, Arc<StoreError>>,
        fill: impl FnOnce(&mut T),
    ) {
        let answer = match (self.outcome, commit) {
            (Some(Err(own)), _) => Err(own),
            (_, Err(failed)) if failed.is_full() => Err(StoreError::full(
                "the commit of this write's group failed",
                Arc::clone(failed),
            )),
            (_, Err(failed)) => Err(StoreError::backend(
                "the commit of this write's group failed",
                Arc::clone(failed),
            )),
            (Some(Ok(mut v)), Ok(_)) => {
                fill(&mut v);
                Ok(v)
            }
            (None, Ok(_)) => Err(StoreError::backend("the write was not carried out", NotRun)),
        };
        // A caller that stopped waiting is not an error.
        let _ = self.reply.send(answer);
    }
}

/// A job the writer committed its group without running (a bug in the
/// writer).
#[derive(Debug, thiserror::Error)]
#[error("the writer committed its group without running this job")]
struct NotRun;

/// Whether the store has room: when a write last found it full, until a
/// ledger append commits again. A writer updates it as it answers each
/// group; readiness reads it ([`crate::Store::full_since`]), because a
/// small probe can still fit where a ledger append no longer does.
#[derive(Debug, Default)]
pub struct Space {
    full_since: Mutex<Option<Instant>>,
}

impl Space {
    /// When a write found the store full, if no ledger append committed
    /// since.
    pub fn full_since(&self) -> Option<Instant> {
        self.full_since.lock().ok().and_then(|f| *f)
    }

    fn saw_full(&self) {
        if let Ok(mut f) = self.full_since.lock() {
            f.get_or_insert_with(Instant::now);
        }
    }

    fn appended(&self) {
        if let Ok(mut f) = self.full_since.lock() {
            *f = None;
        }
    }
}

impl Running {
    /// Whether this job failed for want of space.
    fn found_full(&self) -> bool {
        let full = |o: Option<bool>| o == Some(true);
        match self {
            Running::Append(_, s) | Running::Dispose(_, s) => full(s.failed_full()),
            Running::ReplaceProjections(_, _, s) => full(s.failed_full()),
            Running::WriteDocs(_, s) => full(s.failed_full()),
        }
    }
}

/// The jobs a writer runs in one transaction.
#[derive(Default)]
pub struct Group {
    jobs: Vec<Running>,
}

impl Group {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, job: Job) {
        self.jobs.push(match job {
            Job::Append(b, r) => Running::Append(b, Slot::new(r)),
            Job::ReplaceProjections(c, d, r) => Running::ReplaceProjections(c, d, Slot::new(r)),
            Job::WriteDocs(w, r) => Running::WriteDocs(w, Slot::new(r)),
            Job::Dispose(d, r) => Running::Dispose(d, Slot::new(r)),
        });
    }

    pub fn len(&self) -> usize {
        self.jobs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }

    /// The streams the group appends to, sorted, each once: the versions a
    /// writer reads for its [`crate::append::Planner`].
    pub fn streams(&self) -> Vec<StreamId> {
        let mut out: Vec<StreamId> = self
            .jobs
            .iter()
            .filter_map(|j| match j {
                Running::Append(b, _) => Some(b.stream),
                Running::Dispose(d, _) => Some(d.tombstones.stream),
                _ => None,
            })
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The years (UTC) of the cases the group's appends open, sorted, each
    /// once: the case numbers a writer reads for its planner.
    pub fn opening_years(&self) -> Vec<u16> {
        let mut out: Vec<u16> = self
            .jobs
            .iter()
            .filter_map(|j| match j {
                Running::Append(b, _) => b.opens_case_in(),
                _ => None,
            })
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The jobs, in the order they were queued, to run.
    pub fn jobs_mut(&mut self) -> std::slice::IterMut<'_, Running> {
        self.jobs.iter_mut()
    }

    /// Answers every caller. `commit` is the size and root of the
    /// checkpoint the group committed (`None`: the group appended nothing),
    /// or why the commit failed. `space` learns whether the store was
    /// found full, or took a ledger append.
    pub fn answer(self, commit: Result<Option<(u64, Hash)>, StoreError>, space: &Space) {
        match &commit {
            Err(e) if e.is_full() => space.saw_full(),
            _ if self.jobs.iter().any(Running::found_full) => space.saw_full(),
            Ok(Some(_)) => space.appended(),
            _ => {}
        }
        let commit = commit.map_err(Arc::new);
        let head = commit.as_ref().ok().copied().flatten();
        for job in self.jobs {
            match job {
                Running::Append(_, slot) | Running::Dispose(_, slot) => slot.answer(&commit, |a| {
                    if let Some((size, root)) = head {
                        a.tree_size = size;
                        a.root = root;
                    }
                }),
                Running::ReplaceProjections(_, _, slot) => slot.answer(&commit, |_| {}),
                Running::WriteDocs(_, slot) => slot.answer(&commit, |_| {}),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error;

    use super::*;

    fn append(stream: StreamId) -> (Job, oneshot::Receiver<Result<Appended, StoreError>>) {
        let (tx, rx) = oneshot::channel();
        (
            Job::Append(Box::new(NewEvents::new(stream, 0, vec![])), tx),
            rx,
        )
    }

    fn docs() -> (Job, oneshot::Receiver<Result<Vec<u64>, StoreError>>) {
        let (tx, rx) = oneshot::channel();
        (Job::WriteDocs(vec![], tx), rx)
    }

    fn appended(first_position: u64) -> Appended {
        Appended {
            first_position,
            count: 1,
            version: 1,
            tree_size: 0,
            root: Hash::default(),
            case_number: None,
        }
    }

    #[test]
    fn each_job_gets_its_own_outcome_and_appends_the_group_checkpoint() {
        let mut g = Group::new();
        let (j1, mut r1) = append(StreamId::System);
        let (j2, mut r2) = append(StreamId::Accounts);
        let (j3, mut r3) = docs();
        let (j4, mut r4) = append(StreamId::System);
        for j in [j1, j2, j3, j4] {
            g.push(j);
        }
        assert_eq!(g.len(), 4);
        assert_eq!(g.streams(), vec![StreamId::System, StreamId::Accounts]);
        for (i, job) in g.jobs_mut().enumerate() {
            match job {
                Running::Append(_, slot) if i == 1 => {
                    assert!(!slot.record(Err(StoreError::NothingToAppend)));
                }
                Running::Append(_, slot) => assert!(slot.record(Ok(appended(i as u64)))),
                Running::WriteDocs(_, slot) => assert!(slot.record(Ok(vec![1, 0]))),
                Running::ReplaceProjections(..) | Running::Dispose(..) => unreachable!(),
            }
        }
        let root = Hash([7; 32]);
        g.answer(Ok(Some((9, root))), &Space::default());
        let a = r1.try_recv().unwrap().unwrap();
        assert_eq!((a.first_position, a.tree_size, a.root), (0, 9, root));
        assert!(matches!(
            r2.try_recv().unwrap(),
            Err(StoreError::NothingToAppend)
        ));
        assert_eq!(r3.try_recv().unwrap().unwrap(), vec![1, 0]);
        assert_eq!(r4.try_recv().unwrap().unwrap().first_position, 3);
    }

    #[test]
    fn a_failed_commit_fails_every_job_but_keeps_their_own_errors() {
        let mut g = Group::new();
        let (j1, mut r1) = append(StreamId::System);
        let (j2, mut r2) = append(StreamId::System);
        let (j3, mut r3) = docs();
        for j in [j1, j2, j3] {
            g.push(j);
        }
        for (i, job) in g.jobs_mut().enumerate() {
            if let Running::Append(_, slot) = job {
                if i == 0 {
                    slot.record(Ok(appended(0)));
                } else {
                    slot.record(Err(StoreError::Conflict {
                        stream: "system".into(),
                        expected: 0,
                        actual: 1,
                    }));
                }
            }
            // The document write never ran: the commit's failure answers it.
        }
        let cause = StoreError::backend("cannot commit", std::io::Error::other("disk full"));
        g.answer(Err(cause), &Space::default());
        let e = r1.try_recv().unwrap().unwrap_err();
        assert_eq!(e.to_string(), "the commit of this write's group failed");
        let mut chain = Vec::new();
        let mut cause = e.source();
        while let Some(c) = cause {
            chain.push(c.to_string());
            cause = c.source();
        }
        assert_eq!(chain, ["cannot commit", "disk full"]);
        assert!(matches!(
            r2.try_recv().unwrap(),
            Err(StoreError::Conflict { .. })
        ));
        let e = r3.try_recv().unwrap().unwrap_err();
        assert_eq!(e.to_string(), "the commit of this write's group failed");
    }

    #[test]
    fn a_commit_that_found_no_space_answers_every_job_so() {
        let mut g = Group::new();
        let (j1, mut r1) = append(StreamId::System);
        let (j2, mut r2) = docs();
        g.push(j1);
        g.push(j2);
        for job in g.jobs_mut() {
            if let Running::Append(_, slot) = job {
                slot.record(Ok(appended(0)));
            }
        }
        let cause = StoreError::full("cannot commit", std::io::Error::other("disk full"));
        let space = Space::default();
        g.answer(Err(cause), &space);
        assert!(r1.try_recv().unwrap().unwrap_err().is_full());
        assert!(r2.try_recv().unwrap().unwrap_err().is_full());
        assert!(space.full_since().is_some());
        // A group that appends again shows there is room.
        let mut g = Group::new();
        let (j, _r) = append(StreamId::System);
        g.push(j);
        for job in g.jobs_mut() {
            if let Running::Append(_, slot) = job {
                slot.record(Ok(appended(0)));
            }
        }
        g.answer(Ok(Some((1, Hash::default()))), &space);
        assert!(space.full_since().is_none());
    }

    #[test]
    fn a_job_the_writer_skipped_is_not_answered_with_success() {
        let mut g = Group::new();
        let (j, mut r) = docs();
        g.push(j);
        g.answer(Ok(None), &Space::default());
        let e = r.try_recv().unwrap().unwrap_err();
        assert_eq!(
            e.source().map(|s| s.to_string()).as_deref(),
            Some("the writer committed its group without running this job")
        );
    }
}
