//! Fuzz target `stix_bundle`: the body is `tocsin_fuzzing::stix_bundle`, so that
//! `cargo test -p tocsin-fuzzing` replays saved inputs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tocsin_fuzzing::stix_bundle(data));
