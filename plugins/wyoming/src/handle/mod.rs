//! `handle`: answers from a Wyoming server.
//!
//! ```ron
//! "answer": (plugin: "wyoming", kind: "handle", config: (server: "192.168.1.20:10300")),
//! ```
//!
//! Each final text (a transcript) is one `transcript` request to the
//! server's `handle` service; its reply (`handled`, or `not-handled` with
//! the server's fallback) leaves as text, ready for a `tts`. Control
//! events pass on.

mod imp;

pub use imp::HandleNode;

use hark_sdk::{prelude::*, ConfigIssue};

use crate::remote::{self, Remote, ServerSettings};

/// The `handle` kind.
pub struct Handle;

/// Settings of `handle`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HandleSettings {
    /// `host:port` of the Wyoming server.
    pub server: String,
    /// Deadline of one request, retries included, in ms.
    pub timeout_ms: u32,
}

impl Default for HandleSettings {
    fn default() -> Self {
        HandleSettings {
            server: remote::DEFAULT_SERVER.into(),
            timeout_ms: remote::DEFAULT_TIMEOUT_MS,
        }
    }
}

impl HandleSettings {
    fn remote(&self) -> ServerSettings {
        ServerSettings {
            server: self.server.clone(),
            timeout_ms: self.timeout_ms,
        }
    }
}

impl Settings for HandleSettings {
    fn fields() -> Vec<Field> {
        remote::fields()
    }

    fn validate(&self) -> Result<(), ConfigIssue> {
        remote::validate(&self.remote())
    }
}

impl NodeKind for Handle {
    type Settings = HandleSettings;
    type Instance = HandleNode;

    fn spec() -> KindSpec {
        KindSpec::transform(
            "handle",
            "Answers from a Wyoming server (`transcript` → `handled`)",
        )
        .input(Port::text("text").doc("final transcripts; control events pass on"))
        .output(Port::text("reply").doc("the server's reply"))
    }

    fn create(settings: HandleSettings, ctx: &Context) -> Result<HandleNode, Error> {
        Ok(HandleNode {
            remote: Remote::new(settings.remote(), ctx),
        })
    }
}
