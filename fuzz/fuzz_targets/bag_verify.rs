//! Fuzz target `bag_verify`: the body is `tocsin_fuzzing::bag_verify`, so that
//! `cargo test -p tocsin-fuzzing` replays saved inputs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tocsin_fuzzing::bag_verify(data));
