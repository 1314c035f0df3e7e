//! What a plugin says about itself: its node kinds, their ports and their
//! configuration fields.
//!
//! Descriptors are plain data, produced once by `describe()` and copied into
//! host-owned types right away. They are what `hark plugins` prints and what
//! `hark check` validates a pipeline against, so a pipeline is checked
//! without running any node.

use abi_stable::{
    std_types::{RString, RVec},
    StableAbi,
};

/// A plugin and the node kinds it offers.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct PluginDescriptor {
    /// Short name used in pipelines (`plugin: "audio"`); unique per host.
    pub name: RString,
    /// The plugin's own version (semver), independent of the ABI version.
    pub version: RString,
    /// One sentence saying what the plugin is for.
    pub description: RString,
    /// Every node kind the plugin offers.
    pub kinds: RVec<NodeKindDescriptor>,
}

/// How a node of some kind takes part in a pipeline.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeRole {
    /// Produces messages on its own schedule (microphone, file reader);
    /// the host calls `produce` in a loop. Has no inputs.
    Source = 0,
    /// Handles messages on its inputs and emits on its outputs.
    Transform = 1,
    /// Consumes messages; has no outputs.
    Sink = 2,
}

/// A kind of node a plugin can create.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct NodeKindDescriptor {
    /// Kind name used in pipelines (`kind: "wav-reader"`), kebab-case.
    pub name: RString,
    /// Whether the node is a source, a transform or a sink.
    pub role: NodeRole,
    /// One sentence saying what the node does.
    pub summary: RString,
    /// Input ports, in index order: port `i` receives `on_message(i, ..)`.
    pub inputs: RVec<PortDescriptor>,
    /// Output ports, in index order: the node emits on port `i`.
    pub outputs: RVec<PortDescriptor>,
    /// Configuration fields accepted in the node's `config`.
    pub config: RVec<ConfigFieldDescriptor>,
}

/// The data type a port carries.
///
/// Control events ([`crate::ControlEvent`]) may travel on every link, like
/// GStreamer's in-band events; a port's type names its data.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType {
    /// [`crate::AudioFrame`].
    Audio = 0,
    /// [`crate::TextMessage`].
    Text = 1,
    /// [`crate::IntentMessage`].
    Intent = 2,
    /// [`crate::ImageFrame`].
    Image = 3,
    /// Control events only.
    Control = 4,
    /// [`crate::Value`].
    Value = 5,
    /// Anything: the port accepts or forwards every message type.
    Any = 6,
}

impl MessageType {
    /// The name used in pipeline files, errors and `hark plugins`.
    pub fn name(self) -> &'static str {
        match self {
            MessageType::Audio => "audio",
            MessageType::Text => "text",
            MessageType::Intent => "intent",
            MessageType::Image => "image",
            MessageType::Control => "control",
            MessageType::Value => "value",
            MessageType::Any => "any",
        }
    }
}

/// Constraints on the audio a port accepts or produces; 0 means "any".
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AudioConstraints {
    /// Sample rate in Hz, 0 for any.
    pub sample_rate: u32,
    /// Number of interleaved channels, 0 for any.
    pub channels: u16,
}

/// One input or output port of a node kind.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct PortDescriptor {
    /// Port name used in links (`"mic.audio -> vad.audio"`).
    pub name: RString,
    /// What the port carries.
    pub message_type: MessageType,
    /// For inputs: the pipeline is invalid if nothing is linked to it.
    /// Ignored for outputs (an unlinked output drops what it is sent).
    pub required: bool,
    /// Audio format constraints, for [`MessageType::Audio`] ports.
    pub audio: AudioConstraints,
    /// One sentence about the port.
    pub doc: RString,
}

/// The shape of a configuration value, so that the host can turn
/// `--set node.field=value` into RON (quoting strings) and `hark plugins`
/// can show types.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigValueKind {
    /// `true` / `false`.
    Bool = 0,
    /// An integer.
    Integer = 1,
    /// A floating-point number.
    Float = 2,
    /// A string.
    String = 3,
    /// A filesystem path (a string); relative paths are relative to the
    /// working directory of `hark`.
    Path = 4,
    /// One of a fixed set of strings, listed in the field's `type_name`.
    Choice = 5,
    /// Anything else (lists, maps, nested structs), written as RON.
    Ron = 6,
}

/// One field of a node kind's configuration.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct ConfigFieldDescriptor {
    /// Field name as written in RON (`snake_case`).
    pub name: RString,
    /// The value's shape.
    pub kind: ConfigValueKind,
    /// Human-readable type, e.g. `f32`, `path`, `"block" | "drop"`.
    pub type_name: RString,
    /// Default value as RON text; empty when the field is required.
    pub default: RString,
    /// One sentence with units and effects on other settings.
    pub doc: RString,
}
