//! The ABI as of its first minor version (1.0), frozen: the layout the host
//! checks every plugin against.
//!
//! Why: abi_stable's layout check lets a prefix type in a *library* have
//! more fields than the loader expects (an older host loads a newer
//! plugin), but not fewer. Checked against its own, newer types, a host
//! would refuse every plugin built before its last minor version. So the
//! host checks a plugin against these 1.0 definitions, which every 1.x
//! plugin extends, and then reads the plugin's root module through the
//! current types, whose accessors return `None` for fields a plugin lacks.
//!
//! **Invariant:** these types never change within major version 1. They
//! have the same names, fields and package as the first-minor-version
//! types in the parent module (abi_stable compares names, not module
//! paths), and a test checks that the current types still extend them.
//! Only prefix types that may grow, and the types that contain them, are
//! copied; everything else (messages, descriptors) is shared.

use std::ffi::c_void;

use abi_stable::{
    declare_root_module_statics,
    library::RootModule,
    sabi_types::VersionStrings,
    std_types::{RResult, RStr, RString},
    StableAbi,
};

use crate::{Directory, EmitError, LogLevel, Message, PluginDescriptor, PluginError, SourceStatus};

/// `crate::PluginModule` as of 1.0.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginModuleRef)))]
#[sabi(missing_field(option))]
pub struct PluginModule {
    /// As in 1.0.
    pub describe: extern "C" fn() -> RResult<PluginDescriptor, PluginError>,
    /// As in 1.0.
    pub check_config: extern "C" fn(kind: RStr<'_>, config: RStr<'_>) -> RResult<(), PluginError>,
    /// As in 1.0.
    #[sabi(last_prefix_field)]
    pub create_node: extern "C" fn(
        kind: RStr<'_>,
        config: RStr<'_>,
        host: HostContext,
    ) -> RResult<NodeBox, PluginError>,
}

impl RootModule for PluginModuleRef {
    declare_root_module_statics! {PluginModuleRef}
    const BASE_NAME: &'static str = "hark_plugin";
    const NAME: &'static str = "hark plugin";
    // The ABI version these types are: a module exported through them is
    // a 1.0 module, whatever version of this crate built it.
    const VERSION_STRINGS: VersionStrings = VersionStrings::new("1.0.0");
}

/// `crate::HostVTable` as of 1.0.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = HostVTableRef)))]
#[sabi(missing_field(option))]
pub struct HostVTable {
    /// As in 1.0.
    pub log: unsafe extern "C" fn(env: *const c_void, level: LogLevel, message: RStr<'_>),
    /// As in 1.0.
    pub counter_add: unsafe extern "C" fn(env: *const c_void, name: RStr<'_>, delta: u64),
    /// As in 1.0.
    pub gauge_set: unsafe extern "C" fn(env: *const c_void, name: RStr<'_>, value: f64),
    /// As in 1.0.
    pub directory: unsafe extern "C" fn(env: *const c_void, which: Directory) -> RString,
    /// As in 1.0.
    #[sabi(last_prefix_field)]
    pub node_name: unsafe extern "C" fn(env: *const c_void) -> RString,
}

/// `crate::HostContext` as of 1.0.
#[repr(C)]
#[derive(StableAbi, Clone, Copy)]
pub struct HostContext {
    /// As in 1.0.
    pub env: *const c_void,
    /// As in 1.0.
    pub vtable: HostVTableRef,
}

/// `crate::NodeVTable` as of 1.0.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = NodeVTableRef)))]
#[sabi(missing_field(option))]
pub struct NodeVTable {
    /// As in 1.0.
    pub on_message: unsafe extern "C" fn(
        node: *mut c_void,
        port: u32,
        message: Message,
        out: &mut Emitter,
    ) -> RResult<(), PluginError>,
    /// As in 1.0.
    pub produce: unsafe extern "C" fn(
        node: *mut c_void,
        out: &mut Emitter,
    ) -> RResult<SourceStatus, PluginError>,
    /// As in 1.0.
    pub flush:
        unsafe extern "C" fn(node: *mut c_void, out: &mut Emitter) -> RResult<(), PluginError>,
    /// As in 1.0.
    #[sabi(last_prefix_field)]
    pub shutdown: unsafe extern "C" fn(node: *mut c_void) -> RResult<(), PluginError>,
}

/// `crate::NodeBox` as of 1.0.
#[repr(C)]
#[derive(StableAbi)]
pub struct NodeBox {
    /// As in 1.0.
    pub state: *mut c_void,
    /// As in 1.0.
    pub vtable: NodeVTableRef,
}

/// `crate::EmitterVTable` as of 1.0.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = EmitterVTableRef)))]
#[sabi(missing_field(option))]
pub struct EmitterVTable {
    /// As in 1.0.
    #[sabi(last_prefix_field)]
    pub emit: unsafe extern "C" fn(
        env: *mut c_void,
        port: u32,
        message: Message,
    ) -> RResult<(), EmitError>,
}

/// `crate::Emitter` as of 1.0.
#[repr(C)]
#[derive(StableAbi)]
pub struct Emitter {
    /// As in 1.0.
    pub env: *mut c_void,
    /// As in 1.0.
    pub vtable: EmitterVTableRef,
}

#[cfg(test)]
mod tests {
    use abi_stable::{abi_stability::abi_checking::check_layout_compatibility, StableAbi};

    /// The current types must extend the 1.0 ones: a plugin built today
    /// passes the check every host of major version 1 makes.
    #[test]
    fn current_abi_extends_the_baseline() {
        let result = check_layout_compatibility(
            <super::PluginModuleRef as StableAbi>::LAYOUT,
            <crate::PluginModuleRef as StableAbi>::LAYOUT,
        );
        if let Err(e) = result {
            panic!("plugin-api no longer extends its 1.0 baseline:\n{e}");
        }
    }
}
