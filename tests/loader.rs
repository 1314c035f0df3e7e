//! placeholder
#[test]
fn nested_build_works() {
    hark_tests::ensure_built();
    assert!(hark_tests::hark_bin().exists());
}
