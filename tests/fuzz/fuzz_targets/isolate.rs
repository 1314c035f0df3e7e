//! libFuzzer entry for the `isolate` target (`hark_tests::fuzz::isolate`).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| hark_tests::fuzz::isolate(data));
