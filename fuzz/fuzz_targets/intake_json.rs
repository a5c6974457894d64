//! Fuzz target `intake_json`: the body is `tocsin_fuzzing::intake_json`, so that
//! `cargo test -p tocsin-fuzzing` replays saved inputs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tocsin_fuzzing::intake_json(data));
