//! libFuzzer entry for the `ron` target (`hark_tests::fuzz::ron`).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| hark_tests::fuzz::ron(data));
