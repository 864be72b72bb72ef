//! libFuzzer entry point for [`aether_fuzz::json_patch`]; the logic lives in the library so that
//! `tests/replay.rs` runs every corpus file and reproducer through the same function on stable.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| aether_fuzz::json_patch(data));
