//! libFuzzer entry for the `wav` target (`hark_tests::fuzz::wav`).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| hark_tests::fuzz::wav(data));
