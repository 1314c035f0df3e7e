//! libFuzzer entry for the `wyoming` target (`hark_tests::fuzz::wyoming`).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| hark_tests::fuzz::wyoming(data));
