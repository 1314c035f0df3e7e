//! The stable ABI between the Hark host and its plugins.
//!
//! A Hark plugin is a dynamic library (`cdylib`) that exports one
//! [`PluginModuleRef`] through `abi_stable`. The host loads it, checks that
//! its ABI version and the layout of every type reachable from the module
//! match its own, and only then calls into it.
//!
//! # Brief overview
//!
//! - [`PluginModule`]: the root module: `describe`, `check_config`,
//!   `create_node`.
//! - [`PluginDescriptor`] / [`NodeKindDescriptor`] / [`PortDescriptor`] /
//!   [`ConfigFieldDescriptor`]: what a plugin offers, shown by
//!   `hark plugins` and used by `hark check`.
//! - [`NodeBox`] + [`NodeVTable`]: one running node, driven by the host.
//! - [`Message`]: what flows between nodes (audio, text, intents, images,
//!   control events, structured values).
//! - [`Emitter`]: how a node sends messages to its output ports.
//! - [`HostContext`]: what the host lends a node (logging, metrics,
//!   directories) and, since 1.1, the shared inference core
//!   ([`InferenceVTable`]: quantized kernels, models, weight files).
//!
//! # Usage
//!
//! Plugin authors depend on `hark-sdk`, not on this crate: the sdk wraps
//! every unsafe pointer here in safe traits and catches panics before they
//! reach the boundary. This crate is for the host, the sdk, and bridges to
//! other languages.
//!
//! # Versioning
//!
//! The crate version **is** the ABI version (see `docs/abi.md`):
//! the major number must match between host and plugin; minor versions
//! only add fields after a `#[sabi(last_prefix_field)]` marker, so a newer
//! host loads older plugins and an older host loads newer plugins (which
//! then see the added capabilities as absent).
//!
//! **Architecture Invariant:** no type from a crate other than `abi_stable`
//! and `core` appears in this crate's public API.
#![deny(missing_docs)]

pub mod baseline;
mod descriptor;
mod error;
mod host;
mod inference;
mod message;
mod node;

pub use descriptor::{
    AudioConstraints, ConfigFieldDescriptor, ConfigValueKind, MessageType, NodeKindDescriptor,
    NodeRole, PluginDescriptor, PortDescriptor,
};
pub use error::{PluginError, PluginErrorKind};
pub use host::{Directory, HostContext, HostVTable, HostVTableRef, LogLevel};
pub use inference::{
    DType, InferenceVTable, InferenceVTableRef, MatrixHandle, MatrixShape, ModelHandle, ModelInfo,
    ModelOptions, ModelPart, Tensor, TensorData, TensorSpec, TensorView, WeightFormat,
    WeightsHandle,
};
pub use message::{
    AudioFrame, ControlEvent, ImageFrame, IntentAlternative, IntentMessage, Message, MessageMeta,
    Payload, PixelFormat, Slot, TextMessage, Value, ValueEntry,
};
pub use node::{
    EmitError, EmitErrorKind, Emitter, EmitterVTable, EmitterVTableRef, NodeBox, NodeVTable,
    NodeVTableRef, SourceStatus,
};

/// `abi_stable` itself, re-exported so that the sdk and bridges use exactly
/// the version this ABI was built with.
pub use abi_stable;

use abi_stable::{
    declare_root_module_statics,
    library::RootModule,
    sabi_types::VersionStrings,
    std_types::{RResult, RStr},
    StableAbi,
};

/// The ABI version as written in `Cargo.toml` (`MAJOR.MINOR.PATCH`).
pub const ABI_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The root module every plugin exports.
///
/// Fields above (and including) the one marked `last_prefix_field` exist in
/// every plugin of ABI major version 1. **New fields go below it only**, each
/// with a minor version bump; the host reads them through the generated
/// accessors, which return `None` for a plugin built before they existed.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginModuleRef)))]
#[sabi(missing_field(option))]
pub struct PluginModule {
    /// Describes the plugin and every node kind it offers. Called once at
    /// load time.
    pub describe: extern "C" fn() -> RResult<PluginDescriptor, PluginError>,

    /// Checks a node's configuration without creating the node (used by
    /// `hark check`). `config` is RON text, exactly as written in the
    /// pipeline file; positions in the returned error are relative to it.
    pub check_config: extern "C" fn(kind: RStr<'_>, config: RStr<'_>) -> RResult<(), PluginError>,

    /// Creates a node of `kind` from its RON `config`. The node may keep
    /// `host`: the host guarantees it outlives the node.
    // New fields go BELOW this one only (see docs/abi.md).
    #[sabi(last_prefix_field)]
    pub create_node: extern "C" fn(
        kind: RStr<'_>,
        config: RStr<'_>,
        host: HostContext,
    ) -> RResult<NodeBox, PluginError>,

    /// Only with the `test-extended-abi` feature: a field as a later minor
    /// version would add it, for hark's ABI compatibility tests.
    #[cfg(feature = "test-extended-abi")]
    pub extension_probe: extern "C" fn() -> u32,
}

#[cfg(feature = "test-extended-abi")]
extern "C" fn extension_probe() -> u32 {
    42
}

/// Signature of [`PluginModule::create_node`].
pub type CreateNodeFn = extern "C" fn(
    kind: RStr<'_>,
    config: RStr<'_>,
    host: HostContext,
) -> RResult<NodeBox, PluginError>;

impl PluginModule {
    /// The root module, in the form a plugin exports (leaked: one per
    /// library). Fields that a later minor version adds get a parameter
    /// here in that version.
    pub fn new_ref(
        describe: extern "C" fn() -> RResult<PluginDescriptor, PluginError>,
        check_config: extern "C" fn(kind: RStr<'_>, config: RStr<'_>) -> RResult<(), PluginError>,
        create_node: CreateNodeFn,
    ) -> PluginModuleRef {
        use abi_stable::prefix_type::PrefixTypeTrait;
        PluginModule {
            describe,
            check_config,
            create_node,
            #[cfg(feature = "test-extended-abi")]
            extension_probe,
        }
        .leak_into_prefix()
    }
}

impl RootModule for PluginModuleRef {
    declare_root_module_statics! {PluginModuleRef}
    const BASE_NAME: &'static str = "hark_plugin";
    const NAME: &'static str = "hark plugin";
    #[cfg(not(feature = "test-extended-abi"))]
    const VERSION_STRINGS: VersionStrings = abi_stable::package_version_strings!();
    // The test feature plays a later minor version, so it says so.
    #[cfg(feature = "test-extended-abi")]
    const VERSION_STRINGS: VersionStrings = VersionStrings::new("1.99.0");
}
