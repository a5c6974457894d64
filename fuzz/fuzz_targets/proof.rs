//! Fuzz target `proof`: the body is `tocsin_fuzzing::proof`, so that
//! `cargo test -p tocsin-fuzzing` replays saved inputs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tocsin_fuzzing::proof(data));
