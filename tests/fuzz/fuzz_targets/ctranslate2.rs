//! libFuzzer entry for the `ctranslate2` target (`hark_tests::fuzz::ctranslate2`).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| hark_tests::fuzz::ctranslate2(data));
