//! Fuzz target `case_ref`: the body is `tocsin_fuzzing::case_ref`, so that
//! `cargo test -p tocsin-fuzzing` replays saved inputs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tocsin_fuzzing::case_ref(data));
