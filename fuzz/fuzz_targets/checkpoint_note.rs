//! Fuzz target `checkpoint_note`: the body is `tocsin_fuzzing::checkpoint_note`, so that
//! `cargo test -p tocsin-fuzzing` replays saved inputs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tocsin_fuzzing::checkpoint_note(data));
