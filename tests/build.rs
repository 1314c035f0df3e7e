//! Links the test binaries with several plugin libraries in them.
//!
//! Every plugin crate exports its root module under the one symbol name
//! abi_stable's loader looks for (`export_plugin!`). A test binary that
//! links two plugins as Rust libraries (`hark-plugin-audio` for the WAV
//! reader's fuzz target, `-vision` and `-c` for theirs) gets that symbol
//! twice whenever the linker pulls in the objects around it, which
//! depends on how rustc split the crates into codegen units. Nothing in a
//! test binary looks the symbol up, so either copy will do.

fn main() {
    println!("cargo:rustc-link-arg=-Wl,--allow-multiple-definition");
}
