//! libFuzzer entry for the `wordpiece` target (`hark_tests::fuzz::wordpiece`).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| hark_tests::fuzz::wordpiece(data));
