//! The fuzz targets link `hark-tests`, and through it several plugin
//! libraries, each exporting its root module under the same symbol (see
//! `tests/build.rs`); no fuzz target loads a plugin by that symbol.

fn main() {
    println!("cargo:rustc-link-arg-bins=-Wl,--allow-multiple-definition");
}
