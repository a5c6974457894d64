//! Failpoints: named places where a test can make tocsin fail on purpose
//! (the `fail` crate), compiled in only with the cargo feature
//! `failpoints`. A release build carries none: without the feature,
//! [`fault!`](crate::fault) expands to nothing that runs.
//!
//! A point fires only in the deployment a [`Scenario`] names (its
//! `deployment_id`), so tests running beside it in the same process (as
//! `cargo test` runs them, on threads) never hit it; scenarios are one at
//! a time (`fail`'s registry is global). The points, by name:
//!
//! * `store::append` — one append of a group fails before it writes
//!   anything (the others of the group go on);
//! * `store::docs::write` — a document write fails (alone, or riding with
//!   an append, which then fails whole);
//! * `ledger::checkpoint::sign` — signing the group's checkpoint fails;
//! * `store::commit` — the group's commit fails and nothing of it is kept
//!   (as when the fsync of a commit fails);
//! * `store::sqlite::page_limit` — armed with `return(N)`, the SQLite
//!   writer sets `PRAGMA max_page_count = N` before its next group (a
//!   database that is full without a full disk);
//! * `jobs::notice::send` — sending an escalation notice fails (as an
//!   unreachable webhook does); it is retried.

pub use fail;

use std::sync::Mutex;

use crate::StoreError;

/// Every failpoint, by name (the `failpoints` sweep walks them).
pub const POINTS: &[&str] = &[
    "store::append",
    "store::docs::write",
    "ledger::checkpoint::sign",
    "store::commit",
    "jobs::notice::send",
];

/// The deployment whose failpoints fire (none: no point fires).
static ARMED_IN: Mutex<Option<String>> = Mutex::new(None);

/// Whether the failpoints of `deployment` may fire now.
pub fn armed_in(deployment: &str) -> bool {
    ARMED_IN
        .lock()
        .map(|d| d.as_deref() == Some(deployment))
        .unwrap_or(false)
}

/// The error an armed point returns: a backend failure whose source
/// names the point (for the log; an answer never shows it).
pub fn injected(point: &'static str) -> StoreError {
    StoreError::backend("the database failed", Injected(point))
}

/// A failure a failpoint made.
#[derive(Debug, thiserror::Error)]
#[error("injected fault at {0}")]
pub struct Injected(pub &'static str);

/// A test's hold on the failpoints: they fire in one deployment, as
/// configured, until it is dropped (which disarms them all).
pub struct Scenario {
    _fail: fail::FailScenario<'static>,
}

impl Scenario {
    /// Waits for any other scenario to end, then arms nothing yet, for
    /// the deployment `deployment_id`.
    pub fn in_deployment(deployment_id: &str) -> Scenario {
        let f = fail::FailScenario::setup();
        if let Ok(mut d) = ARMED_IN.lock() {
            *d = Some(deployment_id.to_owned());
        }
        Scenario { _fail: f }
    }

    /// Configures `point` with `fail`'s actions (`"3*off->1*return->off"`
    /// fails the fourth call only).
    pub fn arm(&self, point: &str, actions: &str) {
        if let Err(e) = fail::cfg(point, actions) {
            panic!("failpoint {point}: bad actions {actions:?}: {e}");
        }
    }

    /// Turns `point` off.
    pub fn disarm(&self, point: &str) {
        fail::remove(point);
    }
}

impl Drop for Scenario {
    fn drop(&mut self) {
        if let Ok(mut d) = ARMED_IN.lock() {
            *d = None;
        }
    }
}

/// A failpoint named `$name` in the deployment `$deployment` (a `&str`):
/// when armed to `return`, the enclosing function returns `$fail(arg)`.
#[macro_export]
macro_rules! fault {
    ($name:literal, $deployment:expr, $fail:expr) => {
        $crate::faults::fail::fail_point!($name, $crate::faults::armed_in($deployment), $fail)
    };
}
