//! The contract of [`Store`]: one suite of tests, written once, that every
//! backend runs against itself (cargo feature `testkit`).
//!
//! A backend's test target implements [`Fixture`] (where its stores live,
//! how one is created, reopened and closed, how another process would hold
//! its writers back) and expands [`contract_tests!`](crate::contract_tests)
//! with it, which makes one `#[tokio::test]` per contract test in a module
//! `contract`. Tests of what only one backend has (SQLite's file checks,
//! PostgreSQL's connection errors) stay in that backend's crate; the
//! helpers here ([`batch`], [`summary`], [`verified`]...) serve them too.

mod cases;
mod copy;
mod disposal;
mod docs;
mod leaf_v2;
mod ledger;

pub use cases::*;
pub use copy::*;
pub use disposal::*;
pub use docs::*;
pub use leaf_v2::*;
pub use ledger::*;

use std::sync::Arc;

use async_trait::async_trait;
use tocsin_domain::case::CaseState;
use tocsin_domain::event::{Event, ReassessmentReason};
use tocsin_domain::{ActorName, CaseId, ReportId};
use tocsin_ledger::NoteSigner;

use crate::audit::{VerifyOptions, verify};
use crate::{CaseSummary, EventEnvelope, InitParams, NewEvents, ReportSummary, Store, StreamId};

/// The name of the store a contract test works on.
pub const MAIN: &str = "main";

/// Where a backend's stores live during one test, and what a test does
/// with them that the [`Store`] trait does not offer.
#[async_trait]
pub trait Fixture: Send + Sync + Sized + 'static {
    type Store: Store + Clone;

    /// A fresh place for stores, holding none (a directory, a server).
    async fn new() -> Self;

    /// `tocsin init` of the store called `name` here, for the test
    /// deployment ([`init_params`], [`signer`]).
    async fn create(&self, name: &str) -> Self::Store;

    /// Opens the store `name` again, with the signing key or without.
    async fn open(
        &self,
        name: &str,
        signer: Option<NoteSigner>,
    ) -> Result<Self::Store, crate::StoreError>;

    /// Lets go of a store: what is queued is written, its writer stops.
    async fn close(&self, store: Self::Store);

    /// Makes every writer of store `name` wait, as another process in the
    /// middle of a write would, until the guard is released: whatever is
    /// queued meanwhile is committed in one group.
    async fn hold_writers(&self, name: &str) -> Box<dyn HeldWriters>;
}

/// Writers held back by [`Fixture::hold_writers`].
#[async_trait]
pub trait HeldWriters: Send {
    /// Lets them go on.
    async fn release(self: Box<Self>);
}

/// Expands to one `#[tokio::test]` per contract test, in a module
/// `contract`, each run with a fresh `$fixture` (a [`Fixture`]).
#[macro_export]
macro_rules! contract_tests {
    ($fixture:ty) => {
        mod contract {
            $crate::contract_tests!(@one $fixture;
                a_stale_version_is_a_conflict_and_writes_nothing,
                reopening_continues_the_same_tree,
                unversioned_appends_go_at_the_end,
                the_ledger_holds_exactly_what_was_planned,
                appends_committed_together_leave_the_last_summary_of_each_case,
                in_one_group_a_failed_job_undoes_only_itself,
                documents_compare_and_set_and_go_with_their_append,
                the_access_filter_admits_exactly_what_a_reader_may_see,
                case_lists_page_filter_and_carry_their_reports,
                case_lists_filter_by_determination_element_and_title,
                cases_are_numbered_by_year_in_ledger_order,
                replacing_projections_rebuilds_cases_and_derived_documents,
                version_2_leaves_read_back_verify_and_copy,
                a_batch_with_salts_not_one_per_event_writes_nothing,
                a_disposal_removes_the_content_its_tombstones_name_or_nothing
            );
            $crate::contract_tests!(@threads $fixture;
                concurrent_appends_share_commits_and_conflicts_spoil_nothing,
                copy_moves_a_whole_deployment_in_chunks_and_needs_an_empty_target
            );
        }
    };
    (@one $fixture:ty; $($name:ident),* $(,)?) => {
        $(
            #[::tokio::test]
            async fn $name() {
                $crate::testkit::$name::<$fixture>().await
            }
        )*
    };
    (@threads $fixture:ty; $($name:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                $crate::testkit::$name::<$fixture>().await
            }
        )*
    };
}

// ---------------------------------------------------------------------------
// Helpers, for the contract and for backends' own tests.

/// The test deployment's signing key.
pub fn signer() -> NoteSigner {
    NoteSigner::from_seed("tocsin-test", [3u8; 32]).unwrap()
}

/// The test deployment.
pub fn init_params() -> InitParams {
    InitParams {
        deployment_id: "d".into(),
        origin: "tocsin.test/unit".into(),
        created_at: "2024-01-01T00:00:00Z".into(),
    }
}

/// An event (its detail says `n`).
pub fn event(n: u64) -> EventEnvelope {
    EventEnvelope {
        recorded_at: "2024-01-01T00:00:00Z".parse().unwrap(),
        actor: ActorName::new("a").unwrap(),
        event: Event::ReassessmentFlagged {
            reason: ReassessmentReason::NewInformation,
            detail: format!("event {n}"),
        },
    }
}

/// `n` events for `stream` at version `expected`.
pub fn batch(stream: StreamId, expected: u64, n: usize) -> NewEvents {
    NewEvents::new(stream, expected, (0..n).map(|i| event(i as u64)).collect())
}

/// The stream of case `n`.
pub fn case(n: u128) -> StreamId {
    StreamId::Case(CaseId::from_uuid(tocsin_domain::ids::Uuid::from_u128(n)))
}

/// A summary of the case of `stream` with this access marking.
pub fn summary(stream: StreamId, levels: &[&str], comps: &[&str], els: &[&str]) -> CaseSummary {
    let t: tocsin_domain::Timestamp = "2024-01-01T00:00:00Z".parse().unwrap();
    CaseSummary {
        id: stream.case().unwrap(),
        number: None,
        title: "t".into(),
        state: CaseState::AwaitingDetermination,
        owner: "o".into(),
        lead_element: "e".into(),
        opened_at: t,
        updated_at: t,
        version: 1,
        verdict: None,
        reassessment_due: None,
        next_step: None,
        next_due: None,
        escalations: 0,
        reports: vec![],
        levels: strings(levels),
        compartments: strings(comps),
        elements: strings(els),
        existence_restricted: false,
        sweep_at: None,
        measures: Some(tocsin_domain::case::Measures {
            received_at: Some(t),
            decided_at: Some("2024-01-01T02:00:00Z".parse().unwrap()),
            duty: true,
            time_to_decide: Some(jiff::SignedDuration::from_hours(2)),
            ..Default::default()
        }),
    }
}

/// `s` with the number `year`-`seq`, as the store reads it back.
pub fn numbered(mut s: CaseSummary, year: u16, seq: u32) -> CaseSummary {
    s.number = Some(tocsin_domain::CaseNumber::new(year, seq).unwrap());
    s
}

/// Report `n` of a summary, received at `at`.
pub fn report(n: u128, at: &str) -> ReportSummary {
    ReportSummary {
        id: ReportId::from_uuid(tocsin_domain::ids::Uuid::from_u128(1000 + n)),
        originating_element: format!("el{n}"),
        received_at: at.parse().unwrap(),
        grade: "B2".into(),
        independent: n.is_multiple_of(2),
        // Some reports carry a report number; three formats in all.
        number_format: (n % 10 == 1).then(|| format!(r"TD[\s\-/]*\d{{{}}}", n % 3 + 3)),
    }
}

/// Owned strings.
pub fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Verifies the whole ledger (deeply) and returns its size; panics naming
/// the first failure.
pub async fn verified<S: Store + Clone>(store: &S) -> u64 {
    let opts = VerifyOptions {
        accept_disposed: false,
        verifier: signer().verifier(),
        since: None,
        deep: true,
        progress: None,
    };
    match verify(Arc::new(store.clone()), &opts).await.unwrap() {
        Ok(r) => r.size,
        Err(f) => panic!("{f}"),
    }
}

/// How many checkpoints the store holds: one per commit that appended.
pub async fn commits(store: &dyn Store) -> usize {
    store.read_checkpoints(0, u32::MAX).await.unwrap().len()
}
