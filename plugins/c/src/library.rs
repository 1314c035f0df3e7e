//! Loading C libraries: once per process (a library is never unloaded,
//! as nodes may still point into it), checked before any of its kinds is
//! used.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::Mutex,
};

use crate::ffi::{self, HarkKind, HarkPlugin};

/// A loaded library and its description.
pub struct CLibrary {
    pub path: PathBuf,
    pub name: String,
    plugin: &'static HarkPlugin,
}

// SAFETY: the description is static, immutable data of a library that is
// never unloaded.
unsafe impl Send for CLibrary {}
unsafe impl Sync for CLibrary {}

impl CLibrary {
    /// The library's kinds.
    pub fn kinds(&self) -> &'static [HarkKind] {
        if self.plugin.kind_count == 0 || self.plugin.kinds.is_null() {
            return &[];
        }
        // SAFETY: `kinds` points to `kind_count` static entries (checked
        // non-null above; the header requires the rest).
        unsafe { std::slice::from_raw_parts(self.plugin.kinds, self.plugin.kind_count) }
    }

    /// The kind called `name`, or why there is none.
    pub fn kind(&self, name: &str) -> Result<&'static HarkKind, String> {
        let kinds = self.kinds();
        // SAFETY: names and summaries are static C strings (header contract).
        let text = |ptr| unsafe { ffi::text(ptr) };
        if let Some(kind) = kinds.iter().find(|k| text(k.name) == name) {
            return Ok(kind);
        }
        let offered: Vec<String> = kinds
            .iter()
            .map(|k| {
                let role = ffi::role_name(k.role);
                match text(k.summary) {
                    summary if summary.is_empty() => format!("`{}` ({role})", text(k.name)),
                    summary => format!("`{}` ({role}: {summary})", text(k.name)),
                }
            })
            .collect();
        Err(format!(
            "{} has no node kind `{name}`; it offers {}",
            self.path.display(),
            if offered.is_empty() {
                "none".to_string()
            } else {
                offered.join(", ")
            }
        ))
    }
}

/// Loads the library at `path` (relative to the working directory), or
/// returns the copy already loaded.
pub fn load(path: &Path) -> Result<&'static CLibrary, String> {
    static LOADED: Mutex<Option<HashMap<PathBuf, &'static CLibrary>>> = Mutex::new(None);

    let canonical = path
        .canonicalize()
        .map_err(|e| format!("cannot open the C library {}: {e}", path.display()))?;
    let mut loaded = LOADED.lock().unwrap_or_else(|e| e.into_inner());
    let loaded = loaded.get_or_insert_with(HashMap::new);
    if let Some(library) = loaded.get(&canonical) {
        return Ok(library);
    }
    let library = open(&canonical)?;
    let library: &'static CLibrary = Box::leak(Box::new(library));
    loaded.insert(canonical, library);
    Ok(library)
}

fn open(path: &Path) -> Result<CLibrary, String> {
    let shown = path.display();
    // SAFETY: loading a library runs its initialisers; that is what the
    // pipeline asked for.
    let lib = unsafe { libloading::Library::new(path) }
        .map_err(|e| format!("cannot load the C library {shown}: {e}"))?;
    // SAFETY: the symbol's type is the header's `hark_plugin_entry_fn`.
    let entry: libloading::Symbol<ffi::EntryFn> =
        unsafe { lib.get(ffi::ENTRY_SYMBOL) }.map_err(|_| {
            format!("{shown} is not a Hark C plugin: it does not export `hark_plugin_entry`")
        })?;
    // SAFETY: calling the library's entry point, as the header defines it.
    let plugin = unsafe { entry() };
    if plugin.is_null() {
        return Err(format!("{shown}: hark_plugin_entry returned NULL"));
    }
    // The library stays loaded for the life of the process, so its static
    // description does too.
    std::mem::forget(lib);
    // SAFETY: non-null, static (header contract).
    let plugin: &'static HarkPlugin = unsafe { &*plugin };
    let (major, minor) = (plugin.abi_version >> 16, plugin.abi_version & 0xffff);
    if major != ffi::ABI_VERSION >> 16 {
        return Err(format!(
            "{shown} was built for Hark C ABI {major}.{minor}, this host speaks {}.x; \
             rebuild it against this hark's sdk/c/hark_plugin.h",
            ffi::ABI_VERSION >> 16
        ));
    }
    // SAFETY: static C string (header contract).
    let name = unsafe { ffi::text(plugin.name) }.into_owned();
    Ok(CLibrary {
        path: path.to_path_buf(),
        name,
        plugin,
    })
}
