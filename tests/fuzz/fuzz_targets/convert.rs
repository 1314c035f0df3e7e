//! libFuzzer entry for the `convert` target (`hark_tests::fuzz::convert`).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| hark_tests::fuzz::convert(data));
