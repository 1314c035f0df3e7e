//! The error type plugin code returns.

use hark_plugin_api::{abi_stable::std_types::RString, PluginError, PluginErrorKind};

/// An error from plugin code: a message, an optional hint for the user and
/// what kind of failure it is. Any `std::error::Error` converts into it
/// with `?`.
#[derive(Debug, Clone)]
pub struct Error {
    pub(crate) kind: PluginErrorKind,
    pub(crate) message: String,
    pub(crate) hint: String,
}

impl Error {
    /// A failure while doing the node's work.
    pub fn failed(message: impl Into<String>) -> Self {
        Error {
            kind: PluginErrorKind::Failed,
            message: message.into(),
            hint: String::new(),
        }
    }

    /// An invalid configuration discovered when creating the node (for
    /// problems found by parsing, see [`crate::ConfigIssue`]).
    pub fn config(message: impl Into<String>) -> Self {
        Error {
            kind: PluginErrorKind::InvalidConfig,
            message: message.into(),
            hint: String::new(),
        }
    }

    /// Adds what the user can do about it.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = hint.into();
        self
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    pub(crate) fn into_abi(self) -> PluginError {
        PluginError {
            kind: self.kind,
            message: RString::from(self.message),
            hint: RString::from(self.hint),
            line: 0,
            column: 0,
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl<E: std::error::Error> From<E> for Error {
    fn from(e: E) -> Self {
        // Include the source chain: "reading x.wav: No such file or directory".
        let mut message = e.to_string();
        let mut source = e.source();
        while let Some(s) = source {
            message.push_str(": ");
            message.push_str(&s.to_string());
            source = s.source();
        }
        Error::failed(message)
    }
}
