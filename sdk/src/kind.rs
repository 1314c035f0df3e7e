//! Declaring a node kind: its ports, its settings and its constructor.

use hark_plugin_api::{
    abi_stable::std_types::{RString, RVec},
    AudioConstraints, ConfigFieldDescriptor, ConfigValueKind, MessageType, NodeKindDescriptor,
    NodeRole, PortDescriptor,
};

use crate::{Context, Error, Node, Settings};

/// A kind of node a plugin offers (`"wav-reader"`, `"gain"`, ...).
///
/// Implemented on a marker type and listed in [`crate::export_plugin!`].
pub trait NodeKind: 'static {
    /// The node's configuration, parsed from the pipeline's RON.
    type Settings: Settings;
    /// The running node.
    type Instance: Node;

    /// Name, role, summary and ports.
    fn spec() -> KindSpec;

    /// Creates a node from validated settings. Open files and devices here,
    /// so that a problem is reported before the pipeline starts.
    fn create(settings: Self::Settings, ctx: &Context) -> Result<Self::Instance, Error>;
}

/// Name, role, summary and ports of a node kind.
#[derive(Debug, Clone)]
pub struct KindSpec {
    pub(crate) name: &'static str,
    pub(crate) role: NodeRole,
    pub(crate) summary: &'static str,
    pub(crate) inputs: Vec<Port>,
    pub(crate) outputs: Vec<Port>,
}

impl KindSpec {
    fn new(role: NodeRole, name: &'static str, summary: &'static str) -> Self {
        KindSpec {
            name,
            role,
            summary,
            inputs: Vec::new(),
            outputs: Vec::new(),
        }
    }

    /// A source: produces messages on its own schedule, has no inputs.
    pub fn source(name: &'static str, summary: &'static str) -> Self {
        Self::new(NodeRole::Source, name, summary)
    }

    /// A transform: inputs and outputs.
    pub fn transform(name: &'static str, summary: &'static str) -> Self {
        Self::new(NodeRole::Transform, name, summary)
    }

    /// A sink: inputs only.
    pub fn sink(name: &'static str, summary: &'static str) -> Self {
        Self::new(NodeRole::Sink, name, summary)
    }

    /// Adds an input port; its index is the number of inputs before it.
    pub fn input(mut self, port: Port) -> Self {
        self.inputs.push(port);
        self
    }

    /// Adds an output port; its index is the number of outputs before it.
    pub fn output(mut self, port: Port) -> Self {
        self.outputs.push(port);
        self
    }

    /// The kind's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    pub(crate) fn into_descriptor(self, config: RVec<ConfigFieldDescriptor>) -> NodeKindDescriptor {
        NodeKindDescriptor {
            name: self.name.into(),
            role: self.role,
            summary: self.summary.into(),
            inputs: self.inputs.into_iter().map(Port::into_descriptor).collect(),
            outputs: self
                .outputs
                .into_iter()
                .map(Port::into_descriptor)
                .collect(),
            config,
        }
    }
}

/// An input or output port.
#[derive(Debug, Clone)]
pub struct Port {
    name: &'static str,
    message_type: MessageType,
    required: bool,
    audio: AudioConstraints,
    doc: &'static str,
}

impl Port {
    /// A port carrying `message_type`. Inputs are required unless
    /// [`Port::optional`] is called.
    pub fn new(name: &'static str, message_type: MessageType) -> Self {
        Port {
            name,
            message_type,
            required: true,
            audio: AudioConstraints::default(),
            doc: "",
        }
    }

    /// An audio port (any rate and channel count until constrained).
    pub fn audio(name: &'static str) -> Self {
        Self::new(name, MessageType::Audio)
    }

    /// A text port.
    pub fn text(name: &'static str) -> Self {
        Self::new(name, MessageType::Text)
    }

    /// A port that carries any message type.
    pub fn any(name: &'static str) -> Self {
        Self::new(name, MessageType::Any)
    }

    /// Only accepts or produces audio at `hz`.
    pub fn sample_rate(mut self, hz: u32) -> Self {
        self.audio.sample_rate = hz;
        self
    }

    /// Only accepts or produces audio with `channels` channels.
    pub fn channels(mut self, channels: u16) -> Self {
        self.audio.channels = channels;
        self
    }

    /// An input the pipeline may leave unlinked.
    pub fn optional(mut self) -> Self {
        self.required = false;
        self
    }

    /// One sentence about the port.
    pub fn doc(mut self, doc: &'static str) -> Self {
        self.doc = doc;
        self
    }

    fn into_descriptor(self) -> PortDescriptor {
        PortDescriptor {
            name: self.name.into(),
            message_type: self.message_type,
            required: self.required,
            audio: self.audio,
            doc: self.doc.into(),
        }
    }
}

/// Documentation of one configuration field. The default value is not
/// written here: it is read from `Settings::default()`, the one place
/// defaults live.
#[derive(Debug, Clone)]
pub struct Field {
    pub(crate) name: &'static str,
    pub(crate) kind: ConfigValueKind,
    pub(crate) type_name: String,
    pub(crate) doc: &'static str,
    pub(crate) required: bool,
}

impl Field {
    fn new(name: &'static str, kind: ConfigValueKind, type_name: &str, doc: &'static str) -> Self {
        Field {
            name,
            kind,
            type_name: type_name.to_string(),
            doc,
            required: false,
        }
    }

    /// A boolean.
    pub fn bool(name: &'static str, doc: &'static str) -> Self {
        Self::new(name, ConfigValueKind::Bool, "bool", doc)
    }

    /// An integer; `type_name` like `"u32"`.
    pub fn integer(name: &'static str, type_name: &str, doc: &'static str) -> Self {
        Self::new(name, ConfigValueKind::Integer, type_name, doc)
    }

    /// A float; `type_name` like `"f32"`.
    pub fn float(name: &'static str, type_name: &str, doc: &'static str) -> Self {
        Self::new(name, ConfigValueKind::Float, type_name, doc)
    }

    /// A string.
    pub fn string(name: &'static str, doc: &'static str) -> Self {
        Self::new(name, ConfigValueKind::String, "string", doc)
    }

    /// A filesystem path.
    pub fn path(name: &'static str, doc: &'static str) -> Self {
        Self::new(name, ConfigValueKind::Path, "path", doc)
    }

    /// One of a fixed set of strings.
    pub fn choice(name: &'static str, choices: &[&str], doc: &'static str) -> Self {
        let type_name = choices
            .iter()
            .map(|c| format!("{c:?}"))
            .collect::<Vec<_>>()
            .join(" | ");
        Self::new(name, ConfigValueKind::Choice, &type_name, doc)
    }

    /// Anything else, written as RON; `type_name` describes it.
    pub fn ron(name: &'static str, type_name: &str, doc: &'static str) -> Self {
        Self::new(name, ConfigValueKind::Ron, type_name, doc)
    }

    /// The field must be given in the pipeline (no default).
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    pub(crate) fn into_descriptor(self, default: String) -> ConfigFieldDescriptor {
        ConfigFieldDescriptor {
            name: self.name.into(),
            kind: self.kind,
            type_name: RString::from(self.type_name),
            default: if self.required {
                RString::new()
            } else {
                RString::from(default)
            },
            doc: self.doc.into(),
        }
    }
}
