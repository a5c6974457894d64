//! Integration tests of tocsin: the real binary and the real store, each
//! test with a fresh deployment of its own. The backend is
//! `TOCSIN_TEST_BACKEND` (`sqlite`, the default, or `postgres`: see
//! `support.rs`); `scripts/test` runs this suite once on each.
//! (One test binary on purpose: it keeps CI link times down.)

mod admin;
mod api;
mod backup;
mod browser;
mod cli;
mod concurrency;
mod corroboration;
mod crash;
mod deep;
mod delivery;
mod disposal;
mod door;
mod elements;
mod faults;
mod hardening;
mod migrate;
mod planning;
mod readme;
mod rebuild;
mod records;
mod records_export;
mod scenarios;
mod screening;
mod stix;
mod stix_import;
mod storage_full;
mod support;
mod sweep;
mod tamper;
mod taxii;
mod ui;
mod ui_a11y;
mod ui_admin;
mod warnings;

// The case page and intake in the browser (beside `ui`).
mod ui_case;
