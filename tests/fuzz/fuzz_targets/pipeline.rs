//! libFuzzer entry for the `pipeline` target (`hark_tests::fuzz::pipeline`).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| hark_tests::fuzz::pipeline(data));
