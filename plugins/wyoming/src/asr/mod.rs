//! `asr`: speech to text on a Wyoming server.
//!
//! ```ron
//! "stt": (plugin: "wyoming", kind: "asr", config: (server: "192.168.1.20:10300", language: "en")),
//! ```
//!
//! Audio between `UtteranceStart` and `UtteranceEnd` (a VAD's output;
//! without them, the whole stream) is one `transcribe` request: sent when
//! the utterance ends, answered by one final transcript. At most
//! `max_seconds` of an utterance are sent.

mod imp;

pub use imp::AsrNode;

use hark_sdk::{prelude::*, ConfigIssue};

use crate::remote::{self, Remote, ServerSettings};

/// The `asr` kind.
pub struct Asr;

/// Settings of `asr`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AsrSettings {
    /// `host:port` of the Wyoming server.
    pub server: String,
    /// Deadline of one request, retries included, in ms.
    pub timeout_ms: u32,
    /// The language asked for; empty: the server's.
    pub language: String,
    /// Longest utterance sent, in seconds.
    pub max_seconds: u32,
}

impl Default for AsrSettings {
    fn default() -> Self {
        AsrSettings {
            server: remote::DEFAULT_SERVER.into(),
            timeout_ms: remote::DEFAULT_TIMEOUT_MS,
            language: "en".into(),
            max_seconds: 30,
        }
    }
}

impl Settings for AsrSettings {
    fn fields() -> Vec<Field> {
        let mut fields = remote::fields();
        fields.push(Field::string(
            "language",
            "language asked for (`en`); empty: the server's",
        ));
        fields.push(Field::integer(
            "max_seconds",
            "u32",
            "longest utterance sent, 1..=120 s",
        ));
        fields
    }

    fn validate(&self) -> Result<(), ConfigIssue> {
        remote::validate(&self.remote())?;
        if !(1..=120).contains(&self.max_seconds) {
            return Err(ConfigIssue::field(
                "max_seconds",
                format!(
                    "max_seconds must be within 1..=120, not {}",
                    self.max_seconds
                ),
            ));
        }
        Ok(())
    }
}

impl AsrSettings {
    fn remote(&self) -> ServerSettings {
        ServerSettings {
            server: self.server.clone(),
            timeout_ms: self.timeout_ms,
        }
    }
}

impl NodeKind for Asr {
    type Settings = AsrSettings;
    type Instance = AsrNode;

    fn spec() -> KindSpec {
        KindSpec::transform("asr", "Speech to text on a Wyoming server (`transcribe`)")
            .input(Port::audio("audio").doc("speech, with a VAD's utterance events"))
            .output(Port::text("text").doc("one final transcript per utterance"))
    }

    fn create(settings: AsrSettings, ctx: &Context) -> Result<AsrNode, Error> {
        Ok(AsrNode {
            remote: Remote::new(settings.remote(), ctx),
            settings,
            utterance: None,
            delimited: false,
        })
    }
}
