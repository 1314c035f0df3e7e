//! libFuzzer entry for the `ocr` target (`hark_tests::fuzz::ocr`).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| hark_tests::fuzz::ocr(data));
