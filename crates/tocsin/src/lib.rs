//! # tocsin
//!
//! The `tocsin` binary's library: the command-line interface, the demo and
//! the worked scenarios. The logic lives in the crates below it:
//! `tocsin-domain` (types, policy engine, state machine), `tocsin-ledger`
//! (Merkle log), `tocsin-store`, `tocsin-store-sqlite` and
//! `tocsin-store-postgres` (persistence) and
//! `tocsin-service` (running commands).

pub mod app;
pub mod cli;
pub mod client;
pub mod demo;
pub mod example;
pub mod ops;
pub mod out;
pub mod render;
pub mod scenarios;
