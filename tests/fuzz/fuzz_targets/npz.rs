//! libFuzzer entry for the `npz` target (`hark_tests::fuzz::npz`).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| hark_tests::fuzz::npz(data));
