//! libFuzzer entry for the `settings` target (`hark_tests::fuzz::settings`).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| hark_tests::fuzz::settings(data));
