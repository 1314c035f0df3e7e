//! The OCR test and benchmark link `hark-tests`, and through it other
//! plugin libraries besides this one: each exports its root module under
//! the same symbol (see `tests/build.rs`), which only a loaded plugin
//! library needs. The plugin itself (the cdylib) is linked as usual.

fn main() {
    for kind in ["tests", "benches"] {
        println!("cargo:rustc-link-arg-{kind}=-Wl,--allow-multiple-definition");
    }
}
