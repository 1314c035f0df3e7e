//! Write Hark plugins in safe Rust.
//!
//! A plugin is a `cdylib` crate that declares node kinds and exports them
//! with [`export_plugin!`]. The host loads the library, lists its kinds
//! (`hark plugins`), checks pipeline configs against them (`hark check`) and
//! runs nodes (`hark run`).
//!
//! `hark new plugin NAME [--kind source|transform|sink]` makes a crate
//! that uses this one, with a working node, a harness test and a pipeline
//! (`docs/plugin-guide.md`, "Quick start").
//!
//! # Brief overview
//!
//! - [`NodeKind`]: a kind of node: its [`KindSpec`] (ports, config fields),
//!   its [`Settings`] type, and how to create an instance.
//! - [`Node`]: a running node: `on_message`, `produce` (a source's next
//!   messages, or a transform's work in pieces), `flush`, `shutdown`.
//! - [`Outputs`]: how a node emits messages; [`Context`]: what the host
//!   lends (logging, metrics, directories).
//! - [`export_plugin!`]: builds the ABI root module and catches every panic
//!   before it reaches the host (an escaping panic would end the host
//!   process).
//! - [`testing::Harness`]: runs a node without the host, for unit tests.
//!
//! # Example
//!
//! ```ignore
//! use hark_sdk::prelude::*;
//!
//! pub struct Upper;
//!
//! impl NodeKind for Upper {
//!     type Settings = NoSettings;
//!     type Instance = UpperNode;
//!     fn spec() -> KindSpec {
//!         KindSpec::transform("upper", "Upper-cases text")
//!             .input(Port::text("text"))
//!             .output(Port::text("text"))
//!     }
//!     fn create(_: NoSettings, _: &Context) -> Result<UpperNode, Error> {
//!         Ok(UpperNode)
//!     }
//! }
//!
//! pub struct UpperNode;
//! impl Node for UpperNode {
//!     fn on_message(&mut self, _port: u32, msg: Message, out: &mut Outputs) -> Result<(), Error> {
//!         if let Payload::Text(t) = &msg.payload {
//!             let upper = text_message(msg.meta, t.text.to_uppercase());
//!             out.emit(0, upper)?;
//!         }
//!         Ok(())
//!     }
//! }
//!
//! hark_sdk::export_plugin! {
//!     name: "upper-case",
//!     kinds: [Upper],
//! }
//! ```
//!
//! # Usage
//!
//! Plugin authors depend on this crate only; `hark-plugin-api` (re-exported
//! as [`api`]) is the raw contract underneath.
#![deny(missing_docs)]

mod context;
mod error;
pub mod inference;
mod kind;
mod messages;
mod node;
#[doc(hidden)]
pub mod raw;
mod settings;
mod suggest;
pub mod testing;
mod thread;

pub use context::Context;
pub use error::Error;
pub use kind::{Field, KindSpec, NodeKind, Port};
pub use messages::{
    audio_message, check_audio_format, text_message, value_field, value_map, MAX_CHANNELS,
    SAMPLE_RATES,
};
pub use node::{Node, Outputs, Produce};
pub use settings::{locate_field, parse_settings, ConfigIssue, NoSettings, Settings};
pub use suggest::did_you_mean;
pub use thread::{spawn, PanicGuard, Spawned};

/// The raw ABI contract, for what the safe layer does not cover.
pub use hark_plugin_api as api;
pub use hark_plugin_api::{
    abi_stable::std_types::{RArc, RBox, RString, RVec},
    AudioConstraints, AudioFrame, ConfigValueKind, ControlEvent, ImageFrame, IntentMessage,
    LogLevel, Message, MessageMeta, MessageType, Payload, PixelFormat, Slot, TextMessage, Value,
};

/// Everything a plugin module usually needs.
pub mod prelude {
    pub use crate::{
        audio_message, text_message, Context, ControlEvent, Error, Field, KindSpec, Message,
        MessageMeta, MessageType, NoSettings, Node, NodeKind, Outputs, Payload, Port, Produce,
        RArc, RBox, RString, RVec, Settings,
    };
    pub use serde::{Deserialize, Serialize};
}

#[doc(hidden)]
pub mod __private {
    pub use hark_plugin_api::abi_stable;
    pub use hark_plugin_api::{PluginModule, PluginModuleRef};
}
