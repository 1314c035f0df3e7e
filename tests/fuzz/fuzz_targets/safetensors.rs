//! libFuzzer entry for the `safetensors` target (`hark_tests::fuzz::safetensors`).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| hark_tests::fuzz::safetensors(data));
