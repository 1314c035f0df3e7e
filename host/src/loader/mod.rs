//! Finding and loading plugins.
//!
//! The search path is, in order: `--plugin-path` directories, then
//! `HARK_PLUGIN_PATH` (`:`-separated), then the directory of the `hark`
//! binary (its `plugins/` subdirectory, and the `*hark_plugin_*` libraries
//! cargo puts beside it). The first plugin of a given name wins.
//!
//! Every file that cannot be used becomes a [`Rejection`] that says why;
//! loading never aborts the host.
//!
//! **Architecture Invariant:** each library is loaded with `libloading` and
//! its root module obtained through its own `LibHeader`, never with
//! `abi_stable`'s `load_from_*`, which caches one library per root-module
//! type (a second plugin would silently be the first one). Its layout is
//! checked against `hark_plugin_api::baseline` (the ABI's first minor
//! version), so hosts of later minor versions still load older plugins.
//! Libraries are never unloaded: node vtables and strings point into them.

mod abi_error;
mod search;

use std::path::{Path, PathBuf};

use hark_plugin_api::{
    abi_stable::{
        abi_stability::abi_checking::{check_layout_compatibility_with_globals, CheckingGlobals},
        library::{AbiHeaderRef, LibraryError, RootModule, ROOT_MODULE_LOADER_NAME_WITH_NUL},
        std_types::{RBoxError, RStr},
        StableAbi,
    },
    AudioConstraints, ConfigValueKind, HostContext, MessageType, NodeBox, NodeRole, PluginError,
    PluginModuleRef,
};

pub use abi_error::summarize_layout_error;
pub use search::{SearchDir, SearchPath};

/// A loaded, ABI-checked plugin. Cloning is cheap enough for a node
/// thread to own one (libraries are never unloaded, so the module
/// reference stays valid).
#[derive(Clone)]
pub struct Plugin {
    /// The library file.
    pub path: PathBuf,
    /// Name used in pipelines.
    pub name: String,
    /// The plugin's own version.
    pub version: String,
    /// What the plugin is for.
    pub description: String,
    /// The plugin-api version the plugin was built with.
    pub abi_version: String,
    /// Node kinds it offers.
    pub kinds: Vec<KindInfo>,
    module: PluginModuleRef,
}

/// A node kind, copied out of the plugin's descriptor.
#[derive(Debug, Clone)]
pub struct KindInfo {
    /// Kind name.
    pub name: String,
    /// Source, transform or sink.
    pub role: NodeRole,
    /// One sentence.
    pub summary: String,
    /// Input ports by index.
    pub inputs: Vec<PortInfo>,
    /// Output ports by index.
    pub outputs: Vec<PortInfo>,
    /// Configuration fields.
    pub config: Vec<FieldInfo>,
}

/// A port, copied out of a descriptor.
#[derive(Debug, Clone)]
pub struct PortInfo {
    /// Port name.
    pub name: String,
    /// What it carries.
    pub message_type: MessageType,
    /// Inputs: must be linked.
    pub required: bool,
    /// Audio format constraints (0 = any).
    pub audio: AudioConstraints,
    /// One sentence.
    pub doc: String,
}

/// A configuration field, copied out of a descriptor.
#[derive(Debug, Clone)]
pub struct FieldInfo {
    /// Field name.
    pub name: String,
    /// Shape of the value.
    pub kind: ConfigValueKind,
    /// Human-readable type.
    pub type_name: String,
    /// Default as RON text; `None` when required.
    pub default: Option<String>,
    /// One sentence.
    pub doc: String,
}

/// A file on the search path that is not a usable plugin.
#[derive(Debug, Clone)]
pub struct Rejection {
    /// The file.
    pub path: PathBuf,
    /// One line: why it was refused and what to do.
    pub reason: String,
    /// The full underlying error, shown with `--verbose`.
    pub detail: Option<String>,
    /// `false` for files that do not even look like libraries (no `.so`
    /// extension): listed by `hark plugins --rejected`, not warned about.
    pub looks_like_library: bool,
}

/// Every plugin found on a search path, and every file refused.
#[derive(Default)]
pub struct PluginSet {
    /// Usable plugins, in search order.
    pub plugins: Vec<Plugin>,
    /// Refused files, in search order.
    pub rejected: Vec<Rejection>,
    /// The directories searched, in order, with where each came from.
    pub searched: Vec<SearchDir>,
}

impl PluginSet {
    /// Loads every plugin on `search`.
    pub fn load(search: &SearchPath) -> PluginSet {
        let mut set = PluginSet {
            searched: search.dirs.clone(),
            ..PluginSet::default()
        };
        let mut seen = Vec::new();
        for (path, looks_like_library) in search.candidates() {
            let canonical = path.canonicalize().unwrap_or_else(|_| path.clone());
            if seen.contains(&canonical) {
                continue;
            }
            seen.push(canonical);
            if !looks_like_library {
                set.rejected.push(Rejection {
                    path,
                    reason: "not a shared library (no .so/.dylib/.dll extension)".into(),
                    detail: None,
                    looks_like_library,
                });
                continue;
            }
            match load_plugin(&path) {
                Ok(plugin) => {
                    if let Some(first) = set.plugins.iter().find(|p| p.name == plugin.name) {
                        set.rejected.push(Rejection {
                            reason: format!(
                                "plugin name `{}` is already taken by {}, found earlier on the search path",
                                plugin.name,
                                first.path.display()
                            ),
                            path,
                            detail: None,
                            looks_like_library,
                        });
                    } else {
                        set.plugins.push(plugin);
                    }
                }
                Err(rejection) => set.rejected.push(rejection),
            }
        }
        set
    }

    /// The plugin called `name`.
    pub fn get(&self, name: &str) -> Option<&Plugin> {
        self.plugins.iter().find(|p| p.name == name)
    }
}

impl Plugin {
    /// The kind called `name`.
    pub fn kind(&self, name: &str) -> Option<&KindInfo> {
        self.kinds.iter().find(|k| k.name == name)
    }

    /// Loads the plugin library at `path` (ABI-checked as on the search
    /// path): what an isolated node's process does with the library its
    /// host loaded.
    pub fn load_file(path: &Path) -> Result<Plugin, Rejection> {
        load_plugin(path)
    }

    /// A plugin whose root module lives in this process, for unit tests
    /// of the runtime that need real nodes without building a library.
    #[cfg(test)]
    pub(crate) fn in_process(module: PluginModuleRef) -> Plugin {
        let descriptor = (module.describe())().into_result().expect("describe");
        Plugin {
            path: PathBuf::from("(in process)"),
            name: descriptor.name.to_string(),
            version: descriptor.version.to_string(),
            description: descriptor.description.to_string(),
            abi_version: PluginModuleRef::VERSION_STRINGS.to_string(),
            kinds: descriptor.kinds.iter().map(kind_info).collect(),
            module,
        }
    }

    /// Asks the plugin to check a node configuration (RON text).
    pub fn check_config(&self, kind: &str, config: &str) -> Result<(), PluginError> {
        (self.module.check_config())(RStr::from(kind), RStr::from(config)).into_result()
    }

    /// Asks the plugin to create a node.
    pub fn create_node(
        &self,
        kind: &str,
        config: &str,
        host: HostContext,
    ) -> Result<NodeBox, PluginError> {
        (self.module.create_node())(RStr::from(kind), RStr::from(config), host).into_result()
    }
}

fn reject(path: &Path, reason: impl Into<String>, detail: Option<String>) -> Rejection {
    Rejection {
        path: path.to_path_buf(),
        reason: reason.into(),
        detail,
        looks_like_library: true,
    }
}

/// Opens `path`, checks its ABI and reads its descriptor.
fn load_plugin(path: &Path) -> Result<Plugin, Rejection> {
    // SAFETY: loading a library runs its initialisers. That is inherent
    // to plugins: the user chose to put this file on the plugin path.
    let library = unsafe { libloading::Library::new(path) }
        .map_err(|e| reject(path, "not a loadable library", Some(e.to_string())))?;

    // SAFETY: the symbol, when present, is abi_stable's `LibHeader`
    // static; `AbiHeaderRef` is a pointer to its ABI-independent prefix,
    // which `upgrade` validates before reading the rest.
    let header = unsafe {
        library
            .get::<AbiHeaderRef>(ROOT_MODULE_LOADER_NAME_WITH_NUL.as_bytes())
            .map(|symbol| *symbol)
    }
    .map_err(|e| {
        reject(
            path,
            "not a Hark plugin: it exports no abi_stable root module (was it built with `hark_sdk::export_plugin!`?)",
            Some(e.to_string()),
        )
    })?;
    let header = header.upgrade().map_err(|e| {
        reject(
            path,
            "built with an incompatible version of abi_stable (Hark uses abi_stable 0.11); rebuild it against this hark-sdk",
            Some(e.to_string()),
        )
    })?;
    // Never unload: the root module, its vtables and strings live in it.
    std::mem::forget(library);

    let plugin_abi = header.version_strings().to_string();
    // Check the layout against the ABI's first minor version, which every
    // plugin of this major version extends (abi_stable would refuse a
    // plugin with fewer fields than this host's own types: see
    // `hark_plugin_api::baseline`), then read the module through the
    // current types, whose accessors return `None` for missing fields.
    header
        .ensure_layout::<hark_plugin_api::baseline::PluginModuleRef>()
        .map_err(|e| abi_rejection(path, &plugin_abi, e))?;
    // A plugin of this host's minor version or later must also extend the
    // current types: that checks the fields added since 1.0 (the inference
    // core's vtable, ...), which the baseline knows nothing about.
    // Checked with checking state of its own: abi_stable's global state
    // remembers each prefix type's field count from the check above, and a
    // second check of the same library against other types would be judged
    // against that memory instead of the library.
    if abi_minor(&plugin_abi) >= abi_minor(&PluginModuleRef::VERSION_STRINGS.to_string()) {
        if let Some(layout) = header.layout() {
            check_layout_compatibility_with_globals(
                <PluginModuleRef as StableAbi>::LAYOUT,
                layout,
                &CheckingGlobals::new(),
            )
            .map_err(|e| {
                abi_rejection(
                    path,
                    &plugin_abi,
                    LibraryError::AbiInstability(RBoxError::new(e)),
                )
            })?;
        }
    }
    // SAFETY: the layout was checked just above against the 1.0 types, of
    // which `PluginModuleRef` is a compatible extension (a test in
    // plugin-api checks that), and against the current ones where the
    // plugin claims to know them.
    let module = unsafe { header.init_root_module_with_unchecked_layout::<PluginModuleRef>() }
        .map_err(|e| abi_rejection(path, &plugin_abi, e))?;

    let descriptor = (module.describe())()
        .into_result()
        .map_err(|e| reject(path, format!("its describe() failed: {}", e.message), None))?;
    Ok(Plugin {
        path: path.to_path_buf(),
        name: descriptor.name.to_string(),
        version: descriptor.version.to_string(),
        description: descriptor.description.to_string(),
        abi_version: plugin_abi,
        kinds: descriptor.kinds.iter().map(kind_info).collect(),
        module,
    })
}

/// The minor number of an ABI version string (`1.1.0` → 1; 0 if unreadable,
/// which only ever means "check against the baseline alone").
fn abi_minor(version: &str) -> u32 {
    version
        .split('.')
        .nth(1)
        .and_then(|m| m.parse().ok())
        .unwrap_or(0)
}

fn abi_rejection(path: &Path, plugin_abi: &str, error: LibraryError) -> Rejection {
    let host_abi = PluginModuleRef::VERSION_STRINGS.to_string();
    match error {
        LibraryError::IncompatibleVersionNumber { .. } => reject(
            path,
            format!(
                "ABI mismatch: the plugin was built for Hark plugin ABI {plugin_abi}, this host speaks ABI {host_abi}; rebuild the plugin against hark-plugin-api {}.x",
                host_abi.split('.').next().unwrap_or("?")
            ),
            Some(error.to_string()),
        ),
        LibraryError::AbiInstability(_) => {
            let full = error.to_string();
            reject(
                path,
                format!(
                    "ABI mismatch: the plugin claims ABI {plugin_abi} (host: {host_abi}) but its types differ: {}; rebuild the plugin against this host's hark-sdk",
                    summarize_layout_error(&full)
                ),
                Some(full),
            )
        }
        other => reject(path, "its root module could not be initialised", Some(other.to_string())),
    }
}

fn kind_info(k: &hark_plugin_api::NodeKindDescriptor) -> KindInfo {
    let port = |p: &hark_plugin_api::PortDescriptor| PortInfo {
        name: p.name.to_string(),
        message_type: p.message_type,
        required: p.required,
        audio: p.audio,
        doc: p.doc.to_string(),
    };
    KindInfo {
        name: k.name.to_string(),
        role: k.role,
        summary: k.summary.to_string(),
        inputs: k.inputs.iter().map(port).collect(),
        outputs: k.outputs.iter().map(port).collect(),
        config: k
            .config
            .iter()
            .map(|f| FieldInfo {
                name: f.name.to_string(),
                kind: f.kind,
                type_name: f.type_name.to_string(),
                default: (!f.default.is_empty()).then(|| f.default.to_string()),
                doc: f.doc.to_string(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use hark_plugin_api::abi_stable::sabi_types::VersionNumber;

    use super::*;

    #[test]
    fn a_different_major_version_names_both_versions_and_the_fix() {
        let error = LibraryError::IncompatibleVersionNumber {
            library_name: "hark plugin",
            expected_version: VersionNumber {
                major: 1,
                minor: 0,
                patch: 0,
            },
            actual_version: VersionNumber {
                major: 2,
                minor: 1,
                patch: 0,
            },
        };
        let rejection = abi_rejection(Path::new("libx.so"), "2.1.0", error);
        assert_eq!(
            rejection.reason,
            format!(
                "ABI mismatch: the plugin was built for Hark plugin ABI 2.1.0, this host speaks ABI {}; \
                 rebuild the plugin against hark-plugin-api 1.x",
                hark_plugin_api::ABI_VERSION
            )
        );
    }
}
