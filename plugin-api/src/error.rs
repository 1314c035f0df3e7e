//! The one error type that crosses the boundary.
//!
//! It carries an optional position so that a configuration error found by a
//! plugin can be shown at the offending value's line and column in the
//! pipeline file (the host maps the position back to the file).

use abi_stable::{std_types::RString, StableAbi};

/// What kind of failure a [`PluginError`] reports.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginErrorKind {
    /// The node's configuration is invalid.
    InvalidConfig = 0,
    /// No node kind of that name in this plugin.
    UnknownKind = 1,
    /// The node failed while doing its work (I/O error, bad input, ...).
    Failed = 2,
    /// Plugin code panicked; the sdk caught the panic at the boundary.
    Panicked = 3,
    /// The operation is not supported by this node (e.g. `produce` on a
    /// node that is not a source).
    Unsupported = 4,
}

/// An error returned by a plugin.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct PluginError {
    /// What kind of failure this is.
    pub kind: PluginErrorKind,
    /// One line saying what went wrong, without a trailing period.
    pub message: RString,
    /// What the user can do about it; empty when there is nothing to add.
    pub hint: RString,
    /// 1-based line in the configuration text, 0 when unknown.
    pub line: u32,
    /// 1-based column in the configuration text, 0 when unknown.
    pub column: u32,
}

impl PluginError {
    /// An error with no position and no hint.
    pub fn new(kind: PluginErrorKind, message: impl Into<RString>) -> Self {
        PluginError {
            kind,
            message: message.into(),
            hint: RString::new(),
            line: 0,
            column: 0,
        }
    }
}

impl std::fmt::Display for PluginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PluginError {}
