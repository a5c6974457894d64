//! Integration tests of tocsin: the real binary and the real SQLite store,
//! each test with a fresh database in its own temporary directory.
//! (One test binary on purpose: it keeps CI link times down.)

mod api;
mod cli;
mod crash;
mod delivery;
mod rebuild;
mod scenarios;
mod screening;
mod support;
mod tamper;
