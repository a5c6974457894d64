//! Fuzz target `records_toml`: the body is `tocsin_fuzzing::records_toml`,
//! so that `cargo test -p tocsin-fuzzing` replays saved inputs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tocsin_fuzzing::records_toml(data));
