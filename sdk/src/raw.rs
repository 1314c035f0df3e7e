//! The unsafe glue between the safe traits and the ABI, used by
//! [`crate::export_plugin!`]. Not for direct use.
//!
//! **Invariant:** every function here that is reachable from the host runs
//! plugin code inside `catch_unwind`. An unwinding panic must never reach
//! `abi_stable`'s `extern "C"` frames: it would end the host process.

use std::{
    any::Any,
    ffi::c_void,
    panic::{catch_unwind, AssertUnwindSafe},
    sync::OnceLock,
};

use hark_plugin_api::{
    abi_stable::{
        prefix_type::PrefixTypeTrait,
        std_types::{RErr, ROk, RResult, RStr, RString, RVec},
    },
    Emitter, HostContext, Message, NodeBox, NodeVTable, NodeVTableRef, PluginDescriptor,
    PluginError, PluginErrorKind, SourceStatus,
};

use crate::{
    settings::{default_values, parse_settings},
    Context, Error, Node, NodeKind, Outputs, Produce, Settings,
};

/// Static facts about a plugin, built by `export_plugin!`.
pub struct PluginInfo {
    /// Short name used in pipelines.
    pub name: &'static str,
    /// `CARGO_PKG_VERSION` of the plugin crate.
    pub version: &'static str,
    /// `CARGO_PKG_DESCRIPTION` of the plugin crate.
    pub description: &'static str,
    /// The node kinds.
    pub kinds: &'static [KindEntry],
}

/// Creates a type-erased node from config text and the host context.
type CreateFn = fn(&str, HostContext) -> Result<Box<dyn Node>, PluginError>;

/// One node kind, type-erased.
pub struct KindEntry {
    spec: fn() -> crate::KindSpec,
    descriptor: fn() -> hark_plugin_api::NodeKindDescriptor,
    check: fn(&str) -> Result<(), PluginError>,
    create: CreateFn,
}

impl KindEntry {
    /// The entry for kind `K`.
    pub const fn of<K: NodeKind>() -> Self {
        KindEntry {
            spec: K::spec,
            descriptor: descriptor_of::<K>,
            check: check_of::<K>,
            create: create_of::<K>,
        }
    }
}

fn descriptor_of<K: NodeKind>() -> hark_plugin_api::NodeKindDescriptor {
    let defaults = default_values::<K::Settings>();
    let config: RVec<_> = <K::Settings as Settings>::fields()
        .into_iter()
        .map(|f| {
            let default = defaults
                .iter()
                .find(|(name, _)| name == f.name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            f.into_descriptor(default)
        })
        .collect();
    K::spec().into_descriptor(config)
}

fn parse<K: NodeKind>(config: &str) -> Result<K::Settings, PluginError> {
    parse_settings::<K::Settings>(config).map_err(|issue| {
        let (line, column) = issue.position.unwrap_or((0, 0));
        PluginError {
            kind: PluginErrorKind::InvalidConfig,
            message: issue.message.into(),
            hint: issue.hint.into(),
            line,
            column,
        }
    })
}

fn check_of<K: NodeKind>(config: &str) -> Result<(), PluginError> {
    parse::<K>(config).map(drop)
}

fn create_of<K: NodeKind>(config: &str, host: HostContext) -> Result<Box<dyn Node>, PluginError> {
    let settings = parse::<K>(config)?;
    // SAFETY: `host` was passed to `create_node` by the host.
    let ctx = unsafe { Context::from_raw(host) };
    match K::create(settings, &ctx) {
        Ok(node) => Ok(Box::new(node)),
        Err(e) => Err(e.into_abi()),
    }
}

pub(crate) fn panic_message(payload: Box<dyn Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_string()
    }
}

/// Runs `f`, turning a panic into a [`PluginErrorKind::Panicked`] error.
fn guarded<T>(what: &str, f: impl FnOnce() -> Result<T, PluginError>) -> RResult<T, PluginError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => ROk(v),
        Ok(Err(e)) => RErr(e),
        Err(payload) => RErr(PluginError::new(
            PluginErrorKind::Panicked,
            format!("panicked in {what}: {}", panic_message(payload)),
        )),
    }
}

fn find_kind<'a>(info: &'a PluginInfo, kind: &str) -> Result<&'a KindEntry, PluginError> {
    info.kinds
        .iter()
        .find(|k| (k.spec)().name() == kind)
        .ok_or_else(|| {
            let names = info.kinds.iter().map(|k| (k.spec)().name());
            let mut e = PluginError::new(
                PluginErrorKind::UnknownKind,
                format!("plugin `{}` has no node kind `{kind}`", info.name),
            );
            if let Some(best) = crate::did_you_mean(kind, names) {
                e.hint = RString::from(format!("did you mean `{best}`?"));
            }
            e
        })
}

/// `PluginModule::describe` for `info`.
pub fn describe(info: &PluginInfo) -> RResult<PluginDescriptor, PluginError> {
    guarded("describe", || {
        Ok(PluginDescriptor {
            name: info.name.into(),
            version: info.version.into(),
            description: info.description.into(),
            kinds: info.kinds.iter().map(|k| (k.descriptor)()).collect(),
        })
    })
}

/// `PluginModule::check_config` for `info`.
pub fn check_config(
    info: &PluginInfo,
    kind: RStr<'_>,
    config: RStr<'_>,
) -> RResult<(), PluginError> {
    guarded("check_config", || {
        (find_kind(info, kind.as_str())?.check)(config.as_str())
    })
}

/// `PluginModule::create_node` for `info`.
pub fn create_node(
    info: &PluginInfo,
    kind: RStr<'_>,
    config: RStr<'_>,
    host: HostContext,
) -> RResult<NodeBox, PluginError> {
    match find_kind(info, kind.as_str()) {
        Ok(entry) => entry.create_node(config.as_str(), host),
        Err(e) => RErr(e),
    }
}

impl KindEntry {
    /// Creates a node of this kind behind the sdk's node vtable.
    pub(crate) fn create_node(
        &self,
        config: &str,
        host: HostContext,
    ) -> RResult<NodeBox, PluginError> {
        guarded("create_node", || {
            let node = (self.create)(config, host)?;
            let state = Box::into_raw(Box::new(node)) as *mut c_void;
            Ok(NodeBox {
                state,
                vtable: node_vtable(),
            })
        })
    }
}

/// The one vtable shared by every node built with the sdk.
fn node_vtable() -> NodeVTableRef {
    static VTABLE: OnceLock<NodeVTableRef> = OnceLock::new();
    *VTABLE.get_or_init(|| {
        NodeVTable {
            on_message,
            produce,
            flush,
            shutdown,
        }
        .leak_into_prefix()
    })
}

/// # Safety
///
/// `node` must be a pointer made by `create_node` and not yet shut down,
/// used by one thread at a time.
unsafe fn node_mut<'a>(node: *mut c_void) -> &'a mut Box<dyn Node> {
    // SAFETY: guaranteed by the caller.
    unsafe { &mut *(node as *mut Box<dyn Node>) }
}

fn to_abi(r: Result<(), Error>) -> Result<(), PluginError> {
    r.map_err(Error::into_abi)
}

unsafe extern "C" fn on_message(
    node: *mut c_void,
    port: u32,
    message: Message,
    out: &mut Emitter,
) -> RResult<(), PluginError> {
    // SAFETY: the host passes back the pointer from `create_node`.
    let node = unsafe { node_mut(node) };
    guarded("on_message", || {
        to_abi(node.on_message(port, message, &mut Outputs::from_emitter(out)))
    })
}

unsafe extern "C" fn produce(
    node: *mut c_void,
    out: &mut Emitter,
) -> RResult<SourceStatus, PluginError> {
    // SAFETY: as in `on_message`.
    let node = unsafe { node_mut(node) };
    guarded("produce", || {
        match node.produce(&mut Outputs::from_emitter(out)) {
            Ok(Produce::More) => Ok(SourceStatus::Continue),
            Ok(Produce::Finished) => Ok(SourceStatus::Finished),
            Err(e) => Err(e.into_abi()),
        }
    })
}

unsafe extern "C" fn flush(node: *mut c_void, out: &mut Emitter) -> RResult<(), PluginError> {
    // SAFETY: as in `on_message`.
    let node = unsafe { node_mut(node) };
    guarded("flush", || {
        to_abi(node.flush(&mut Outputs::from_emitter(out)))
    })
}

unsafe extern "C" fn shutdown(node: *mut c_void) -> RResult<(), PluginError> {
    // SAFETY: `node` came from `Box::into_raw` in `create_node`, and the
    // host calls `shutdown` exactly once.
    let mut node = unsafe { Box::from_raw(node as *mut Box<dyn Node>) };
    guarded("shutdown", move || {
        let result = to_abi(node.shutdown());
        drop(node);
        result
    })
}

/// Exports a plugin's root module.
///
/// ```ignore
/// hark_sdk::export_plugin! {
///     name: "audio",
///     kinds: [WavReader, WavWriter, Gain],
/// }
/// ```
///
/// `name` is the plugin's name in pipelines; version and description come
/// from the crate's `Cargo.toml`. Every call into the plugin runs inside
/// `catch_unwind`.
#[macro_export]
macro_rules! export_plugin {
    (name: $name:expr, kinds: [$($kind:ty),* $(,)?] $(,)?) => {
        static __HARK_PLUGIN_INFO: $crate::raw::PluginInfo = $crate::raw::PluginInfo {
            name: $name,
            version: env!("CARGO_PKG_VERSION"),
            description: env!("CARGO_PKG_DESCRIPTION"),
            kinds: &[$($crate::raw::KindEntry::of::<$kind>()),*],
        };

        const _: () = {
            use $crate::__private::abi_stable::{
                library::{LibHeader, RootModuleResult, CheckTypeLayout},
                std_types::{RResult, RStr},
            };
            use $crate::api::{HostContext, NodeBox, PluginDescriptor, PluginError};

            extern "C" fn describe() -> RResult<PluginDescriptor, PluginError> {
                $crate::raw::describe(&__HARK_PLUGIN_INFO)
            }
            extern "C" fn check_config(kind: RStr<'_>, config: RStr<'_>) -> RResult<(), PluginError> {
                $crate::raw::check_config(&__HARK_PLUGIN_INFO, kind, config)
            }
            extern "C" fn create_node(
                kind: RStr<'_>,
                config: RStr<'_>,
                host: HostContext,
            ) -> RResult<NodeBox, PluginError> {
                $crate::raw::create_node(&__HARK_PLUGIN_INFO, kind, config, host)
            }
            fn root_module() -> $crate::__private::PluginModuleRef {
                $crate::__private::PluginModule::new_ref(describe, check_config, create_node)
            }
            extern "C" fn erased_root_module() -> RootModuleResult {
                $crate::__private::abi_stable::library::__call_root_module_loader(root_module)
            }

            // What `#[abi_stable::export_root_module]` generates, spelled out
            // so that plugins need not depend on abi_stable themselves. The
            // symbol name is abi_stable 0.11's ROOT_MODULE_LOADER_NAME (a
            // test in hark-sdk checks it).
            #[export_name = "_1as_0lib_1header_0root_bmodule_bloader"]
            pub static LIB_HEADER: LibHeader = unsafe {
                LibHeader::from_constructor::<$crate::__private::PluginModuleRef>(
                    erased_root_module,
                    CheckTypeLayout::Yes,
                )
            };
        };
    };
}

#[cfg(test)]
mod tests {
    /// `export_plugin!` hard-codes the root module's symbol name; it must
    /// be the one abi_stable looks up.
    #[test]
    fn export_name_matches_abi_stable() {
        let source = include_str!("raw.rs");
        let expected = format!(
            "#[export_name = \"{}\"]",
            hark_plugin_api::abi_stable::library::ROOT_MODULE_LOADER_NAME
        );
        assert!(
            source.contains(&expected),
            "update export_plugin!: {expected}"
        );
    }
}
