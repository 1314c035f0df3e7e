//! `tts`: text to speech on a Wyoming server.
//!
//! ```ron
//! "tts": (plugin: "wyoming", kind: "tts", config: (server: "192.168.1.20:10300", voice: "")),
//! ```
//!
//! Each final text is one `synthesize` request; its audio leaves as the
//! server sent it (16-bit PCM at the server's rate, as float frames):
//! links convert it to what the speaker wants. Control events (a `Cancel`
//! from barge-in) pass on to the output.

mod imp;

pub use imp::TtsNode;

use hark_sdk::{prelude::*, ConfigIssue};

use crate::remote::{self, Remote, ServerSettings};

/// The `tts` kind.
pub struct Tts;

/// Settings of `tts`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TtsSettings {
    /// `host:port` of the Wyoming server.
    pub server: String,
    /// Deadline of one request, retries included, in ms.
    pub timeout_ms: u32,
    /// The voice asked for; empty: the server's.
    pub voice: String,
}

impl Default for TtsSettings {
    fn default() -> Self {
        TtsSettings {
            server: remote::DEFAULT_SERVER.into(),
            timeout_ms: remote::DEFAULT_TIMEOUT_MS,
            voice: String::new(),
        }
    }
}

impl TtsSettings {
    fn remote(&self) -> ServerSettings {
        ServerSettings {
            server: self.server.clone(),
            timeout_ms: self.timeout_ms,
        }
    }
}

impl Settings for TtsSettings {
    fn fields() -> Vec<Field> {
        let mut fields = remote::fields();
        fields.push(Field::string(
            "voice",
            "the voice asked for; empty: the server's",
        ));
        fields
    }

    fn validate(&self) -> Result<(), ConfigIssue> {
        remote::validate(&self.remote())
    }
}

impl NodeKind for Tts {
    type Settings = TtsSettings;
    type Instance = TtsNode;

    fn spec() -> KindSpec {
        KindSpec::transform("tts", "Text to speech on a Wyoming server (`synthesize`)")
            .input(Port::text("text").doc("final text to speak; control events pass on"))
            .output(Port::audio("audio").doc("the server's speech, at its rate"))
    }

    fn create(settings: TtsSettings, ctx: &Context) -> Result<TtsNode, Error> {
        Ok(TtsNode {
            remote: Remote::new(settings.remote(), ctx),
            settings,
        })
    }
}
