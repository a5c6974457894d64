//! Fuzz target `taxii_query`: the body is `tocsin_fuzzing::taxii_query`, so that
//! `cargo test -p tocsin-fuzzing` replays saved inputs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tocsin_fuzzing::taxii_query(data));
