//! The `hark` binary: see [`hark::cli`].

fn main() {
    std::process::exit(hark::cli::main());
}
