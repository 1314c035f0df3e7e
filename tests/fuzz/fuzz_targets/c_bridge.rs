//! libFuzzer entry for the `c_bridge` target (`hark_tests::fuzz::c_bridge`).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| hark_tests::fuzz::c_bridge(data));
