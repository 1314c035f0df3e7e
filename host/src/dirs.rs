//! The directories the host manages for plugins (XDG base directories).
//!
//! Resolved once per process; created lazily, when a plugin asks.

use std::path::PathBuf;

use hark_plugin_api::Directory;

fn env_dir(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

fn home() -> PathBuf {
    env_dir("HOME").unwrap_or_else(std::env::temp_dir)
}

/// The path of `which`, created if missing (errors creating it are left
/// to the plugin, which reports them when it uses the directory).
pub fn directory(which: Directory) -> PathBuf {
    let path = match which {
        Directory::Data => env_dir("XDG_DATA_HOME")
            .unwrap_or_else(|| home().join(".local/share"))
            .join("hark"),
        Directory::Cache => cache_dir(),
        Directory::Config => env_dir("XDG_CONFIG_HOME")
            .unwrap_or_else(|| home().join(".config"))
            .join("hark"),
        Directory::Models => env_dir("HARK_MODELS").unwrap_or_else(|| cache_dir().join("models")),
        Directory::Temp => std::env::temp_dir().join(format!("hark-{}", std::process::id())),
    };
    let _ = std::fs::create_dir_all(&path);
    path
}

fn cache_dir() -> PathBuf {
    env_dir("XDG_CACHE_HOME")
        .unwrap_or_else(|| home().join(".cache"))
        .join("hark")
}
