//! The plugin search path.

use std::path::{Path, PathBuf};

/// Where a search directory came from, for `hark plugins` and errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// `--plugin-path`.
    CommandLine,
    /// `HARK_PLUGIN_PATH`.
    Environment,
    /// The directory of the `hark` binary.
    BesideBinary,
}

/// One directory of the search path.
#[derive(Debug, Clone)]
pub struct SearchDir {
    /// The directory.
    pub path: PathBuf,
    /// Where it came from.
    pub origin: Origin,
    /// Only consider files whose name contains `hark_plugin_` (for the
    /// binary's own directory, which also holds other build outputs).
    pub hark_named_only: bool,
}

/// Directories to search, in order.
#[derive(Debug, Clone, Default)]
pub struct SearchPath {
    /// The directories.
    pub dirs: Vec<SearchDir>,
}

const LIBRARY_EXTENSIONS: [&str; 3] = ["so", "dylib", "dll"];

impl SearchPath {
    /// `cli` directories, then `HARK_PLUGIN_PATH`, then beside the binary.
    pub fn new(cli: &[PathBuf]) -> SearchPath {
        let mut dirs = Vec::new();
        for entry in cli {
            // `--plugin-path a:b` works like the environment variable.
            for path in std::env::split_paths(entry) {
                dirs.push(SearchDir {
                    path,
                    origin: Origin::CommandLine,
                    hark_named_only: false,
                });
            }
        }
        if let Some(var) = std::env::var_os("HARK_PLUGIN_PATH") {
            for path in std::env::split_paths(&var).filter(|p| !p.as_os_str().is_empty()) {
                dirs.push(SearchDir {
                    path,
                    origin: Origin::Environment,
                    hark_named_only: false,
                });
            }
        }
        if let Some(exe_dir) = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(Path::to_path_buf))
        {
            dirs.push(SearchDir {
                path: exe_dir.join("plugins"),
                origin: Origin::BesideBinary,
                hark_named_only: false,
            });
            dirs.push(SearchDir {
                path: exe_dir,
                origin: Origin::BesideBinary,
                hark_named_only: true,
            });
        }
        SearchPath { dirs }
    }

    /// Only the given directories (for tests and tools).
    pub fn only(dirs: &[PathBuf]) -> SearchPath {
        SearchPath {
            dirs: dirs
                .iter()
                .map(|path| SearchDir {
                    path: path.clone(),
                    origin: Origin::CommandLine,
                    hark_named_only: false,
                })
                .collect(),
        }
    }

    /// Candidate files in search order, sorted by name within a directory,
    /// each with whether it has a shared-library extension.
    pub(crate) fn candidates(&self) -> Vec<(PathBuf, bool)> {
        let mut out = Vec::new();
        for dir in &self.dirs {
            let Ok(entries) = std::fs::read_dir(&dir.path) else {
                continue;
            };
            let mut files: Vec<PathBuf> = entries
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect();
            files.sort();
            for path in files {
                let name = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default();
                let is_library = is_library_name(name);
                if dir.hark_named_only && !(is_library && name.contains("hark_plugin_")) {
                    continue;
                }
                out.push((path, is_library));
            }
        }
        out
    }
}

/// `libfoo.so`, `libfoo.so.1`, `foo.dylib`, `foo.dll`.
fn is_library_name(name: &str) -> bool {
    name.split('.')
        .skip(1)
        .any(|part| LIBRARY_EXTENSIONS.contains(&part))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_library_names() {
        assert!(is_library_name("libhark_plugin_audio.so"));
        assert!(is_library_name("libfoo.so.1"));
        assert!(is_library_name("foo.dll"));
        assert!(!is_library_name("README.md"));
        assert!(!is_library_name("so"));
    }
}
