//! Fuzz target `un_xml`: the body is `tocsin_fuzzing::un_xml`, so that
//! `cargo test -p tocsin-fuzzing` replays saved inputs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tocsin_fuzzing::un_xml(data));
