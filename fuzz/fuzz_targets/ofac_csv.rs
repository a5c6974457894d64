//! Fuzz target `ofac_csv`: the body is `tocsin_fuzzing::ofac_csv`, so that
//! `cargo test -p tocsin-fuzzing` replays saved inputs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tocsin_fuzzing::ofac_csv(data));
