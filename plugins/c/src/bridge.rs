//! The settings and the node the three kinds share: calls into the C
//! library through its function table.

use std::{
    collections::BTreeMap,
    ffi::{c_char, c_void, CStr, CString},
    path::Path,
};

use hark_sdk::{api::LogLevel, audio_message, prelude::*, text_message, ConfigIssue};

use crate::{
    ffi::{self, HarkHost, HarkHostApi, HarkKind, HarkMessage},
    library,
};

/// Settings shared by the three kinds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CSettings {
    /// The shared library (relative to the working directory).
    pub library: String,
    /// The kind of node, as the library names it.
    pub node: String,
    /// Settings for the C node, read with `hark_setting()` as text.
    pub settings: BTreeMap<String, ron::Value>,
}

impl Settings for CSettings {
    fn fields() -> Vec<Field> {
        vec![
            Field::path(
                "library",
                "the C shared library (built against sdk/c/hark_plugin.h)",
            )
            .required(),
            Field::string("node", "the library's node kind to run").required(),
            Field::ron(
                "settings",
                "{string: value}",
                "settings the C code reads with hark_setting(), as text",
            ),
        ]
    }

    /// Loads the library, so that `hark check` reports a missing file, a
    /// library that is not a Hark C plugin, an ABI mismatch or an unknown
    /// kind at the offending field.
    fn validate(&self) -> Result<(), ConfigIssue> {
        if self.library.is_empty() {
            return Err(ConfigIssue::whole("`library` is required")
                .with_hint("library: \"path/to/libmine.so\""));
        }
        if self.node.is_empty() {
            return Err(ConfigIssue::whole("`node` is required")
                .with_hint("the name of one of the library's kinds"));
        }
        let library = library::load(Path::new(&self.library))
            .map_err(|why| ConfigIssue::field("library", why))?;
        library
            .kind(&self.node)
            .map_err(|why| ConfigIssue::field("node", why))?;
        for (key, value) in &self.settings {
            setting_text(value)
                .map_err(|why| ConfigIssue::field("settings", format!("{key}: {why}")))?;
        }
        Ok(())
    }
}

/// A setting as the text the C code reads: strings as they are, numbers
/// and booleans written out, anything else as RON.
pub(crate) fn setting_text(value: &ron::Value) -> Result<CString, String> {
    let text = match value {
        ron::Value::String(s) => s.clone(),
        ron::Value::Bool(b) => b.to_string(),
        ron::Value::Number(n) => match n.into_f64() {
            f if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
            f => f.to_string(),
        },
        other => ron::to_string(other).map_err(|e| e.to_string())?,
    };
    CString::new(text).map_err(|_| "contains a NUL character".to_string())
}

static HOST_API: HarkHostApi = HarkHostApi {
    abi_version: ffi::ABI_VERSION,
    size: std::mem::size_of::<HarkHostApi>() as u32,
    emit: host_emit,
    setting: host_setting,
    log: host_log,
    fail: host_fail,
};

/// The host side of one node. `base` comes first: the C code holds a
/// `hark_host *` that is a pointer to this struct.
#[repr(C)]
struct NodeHost {
    base: HarkHost,
    settings: BTreeMap<CString, CString>,
    ctx: Context,
    /// The `Outputs` of the call in progress (null between calls).
    outputs: *mut c_void,
    /// Metadata for what the node emits: the message being handled.
    meta: MessageMeta,
    /// Set by `hark_fail`.
    failure: Option<String>,
    /// An emit the host could not honour (a malformed message).
    emit_error: Option<Error>,
}

/// A running C node.
pub struct CNode {
    kind: &'static HarkKind,
    name: String,
    state: *mut c_void,
    host: Box<NodeHost>,
}

// SAFETY: the host calls a node from one thread at a time, which is all
// the header promises C code.
unsafe impl Send for CNode {}

impl CNode {
    pub(crate) fn create(role: u32, settings: CSettings, ctx: &Context) -> Result<CNode, Error> {
        let library = library::load(Path::new(&settings.library)).map_err(Error::config)?;
        let kind = library.kind(&settings.node).map_err(Error::config)?;
        if kind.role != role {
            return Err(Error::config(format!(
                "`{}` in {} is a {}, but the pipeline uses it as a {}",
                settings.node,
                library.path.display(),
                ffi::role_name(kind.role),
                ffi::role_name(role),
            ))
            .with_hint(format!("use kind: \"{}\"", ffi::role_name(kind.role))));
        }
        let needed = match role {
            ffi::ROLE_SOURCE => kind.produce.is_some(),
            _ => kind.on_message.is_some(),
        };
        if !needed || kind.create.is_none() {
            return Err(Error::config(format!(
                "`{}` in {} lacks `create` or its role's function ({})",
                settings.node,
                library.path.display(),
                if role == ffi::ROLE_SOURCE {
                    "produce"
                } else {
                    "on_message"
                },
            )));
        }
        let mut converted = BTreeMap::new();
        for (key, value) in &settings.settings {
            let key = CString::new(key.as_str())
                .map_err(|_| Error::config("a setting name contains NUL"))?;
            converted.insert(key, setting_text(value).map_err(Error::config)?);
        }
        let mut host = Box::new(NodeHost {
            base: HarkHost { api: &HOST_API },
            settings: converted,
            ctx: *ctx,
            outputs: std::ptr::null_mut(),
            meta: MessageMeta::default(),
            failure: None,
            emit_error: None,
        });
        let create = kind.create.expect("checked above");
        // SAFETY: the header's `create`, given this node's host.
        let state = unsafe { create(&mut host.base) };
        let name = format!("`{}` of the C plugin {}", settings.node, library.name);
        if state.is_null() {
            let why = host
                .failure
                .take()
                .unwrap_or_else(|| "create returned NULL".into());
            return Err(Error::failed(format!("{name} could not start: {why}")));
        }
        Ok(CNode {
            kind,
            name,
            state,
            host,
        })
    }

    /// Calls into C with `out` lent to `hark_emit`, and turns the status
    /// into a result.
    fn call(
        &mut self,
        out: &mut Outputs,
        meta: MessageMeta,
        what: &str,
        f: impl FnOnce(*mut c_void, *mut HarkHost) -> u32,
    ) -> Result<u32, Error> {
        self.host.outputs = out as *mut Outputs as *mut c_void;
        self.host.meta = meta;
        self.host.failure = None;
        let status = f(self.state, &mut self.host.base);
        self.host.outputs = std::ptr::null_mut();
        if let Some(e) = self.host.emit_error.take() {
            return Err(e);
        }
        match status {
            ffi::STATUS_OK | ffi::STATUS_FINISHED => Ok(status),
            ffi::STATUS_ERROR => {
                let why = self
                    .host
                    .failure
                    .take()
                    .unwrap_or_else(|| "no reason given".into());
                Err(Error::failed(format!(
                    "{} failed in {what}: {why}",
                    self.name
                )))
            }
            other => Err(Error::failed(format!(
                "{} returned {other} from {what}, which is not a hark_status",
                self.name
            ))),
        }
    }
}

impl Node for CNode {
    fn on_message(&mut self, _port: u32, message: Message, out: &mut Outputs) -> Result<(), Error> {
        // Kept alive across the call: the C view points into it.
        let mut text_with_nul = Vec::new();
        let Some(view) = c_view(&message.payload, &mut text_with_nul) else {
            // C code sees text and audio; the rest flows past it.
            if self.kind.role == ffi::ROLE_TRANSFORM {
                return out.emit(0, message);
            }
            return Ok(());
        };
        let on_message = self.kind.on_message.expect("checked at create");
        self.call(out, message.meta, "on_message", |state, host| {
            // SAFETY: the header's `on_message` with the node's own state
            // and host; `view` outlives the call.
            unsafe { on_message(state, host, &view) }
        })
        .map(drop)
    }

    fn produce(&mut self, out: &mut Outputs) -> Result<Produce, Error> {
        let Some(produce) = self
            .kind
            .produce
            .filter(|_| self.kind.role == ffi::ROLE_SOURCE)
        else {
            return Ok(Produce::Finished);
        };
        // SAFETY: as in `on_message`.
        let status = self.call(
            out,
            MessageMeta::default(),
            "produce",
            |state, host| unsafe { produce(state, host) },
        )?;
        Ok(if status == ffi::STATUS_FINISHED {
            Produce::Finished
        } else {
            Produce::More
        })
    }

    fn flush(&mut self, out: &mut Outputs) -> Result<(), Error> {
        if let Some(flush) = self.kind.flush {
            // SAFETY: as in `on_message`.
            self.call(out, MessageMeta::default(), "flush", |state, host| unsafe {
                flush(state, host)
            })?;
        }
        Ok(())
    }

    fn shutdown(&mut self) -> Result<(), Error> {
        if let Some(destroy) = self.kind.destroy {
            let state = std::mem::replace(&mut self.state, std::ptr::null_mut());
            if !state.is_null() {
                // SAFETY: the header's `destroy`, called once, last.
                unsafe { destroy(state) };
            }
        }
        Ok(())
    }
}

/// What C code sees of `payload`: text (NUL-terminated, with its length)
/// or audio; `None` for every other payload. The view points into
/// `payload` and into `text_with_nul`, which must both outlive its use.
pub(crate) fn c_view(payload: &Payload, text_with_nul: &mut Vec<u8>) -> Option<HarkMessage> {
    match payload {
        Payload::Text(t) => {
            *text_with_nul = [t.text.as_bytes(), b"\0"].concat();
            Some(HarkMessage {
                payload: ffi::PAYLOAD_TEXT,
                text: text_with_nul.as_ptr() as *const c_char,
                text_len: t.text.len(),
                samples: std::ptr::null(),
                sample_count: 0,
                sample_rate: 0,
                channels: 0,
            })
        }
        Payload::Audio(a) => Some(HarkMessage {
            payload: ffi::PAYLOAD_AUDIO,
            text: std::ptr::null(),
            text_len: 0,
            samples: a.samples.as_ptr(),
            sample_count: a.samples.len(),
            sample_rate: a.sample_rate,
            channels: a.channels,
        }),
        _ => None,
    }
}

/// # Safety
/// `host` is the `base` of a live `NodeHost` (the C code got it from us).
unsafe fn node_host<'a>(host: *mut HarkHost) -> &'a mut NodeHost {
    // SAFETY: `base` is the first field of the `#[repr(C)]` NodeHost.
    unsafe { &mut *(host as *mut NodeHost) }
}

unsafe extern "C" fn host_emit(host: *mut HarkHost, message: *const HarkMessage) -> i32 {
    // SAFETY: C code passes back the host it was given.
    let host = unsafe { node_host(host) };
    if host.outputs.is_null() {
        host.emit_error = Some(Error::failed("hark_emit called outside a node call"));
        return -1;
    }
    if message.is_null() {
        host.emit_error = Some(Error::failed("hark_emit called with NULL"));
        return -1;
    }
    // SAFETY: a valid message for the duration of the call (header).
    let converted = match unsafe { to_message(&*message, host.meta) } {
        Ok(m) => m,
        Err(e) => {
            host.emit_error = Some(e);
            return -1;
        }
    };
    // SAFETY: `outputs` is the `Outputs` lent for the call in progress.
    let out = unsafe { &mut *(host.outputs as *mut Outputs) };
    match out.try_emit(0, converted) {
        Ok(true) => 0,
        Ok(false) => -1,
        Err(e) => {
            host.emit_error = Some(e);
            -1
        }
    }
}

/// # Safety
/// The pointers of `m` are valid for the lengths it gives.
pub(crate) unsafe fn to_message(m: &HarkMessage, meta: MessageMeta) -> Result<Message, Error> {
    match m.payload {
        ffi::PAYLOAD_TEXT => {
            let bytes = if m.text_len == 0 {
                &[][..]
            } else if m.text.is_null() {
                return Err(Error::failed("hark_emit: text is NULL"));
            } else {
                // SAFETY: guaranteed by the caller.
                unsafe { std::slice::from_raw_parts(m.text as *const u8, m.text_len) }
            };
            Ok(text_message(meta, String::from_utf8_lossy(bytes)))
        }
        ffi::PAYLOAD_AUDIO => {
            if m.sample_rate == 0
                || m.channels == 0
                || !m.sample_count.is_multiple_of(m.channels as usize)
            {
                return Err(Error::failed(format!(
                    "hark_emit: audio of {} samples at {} Hz in {} channels is malformed",
                    m.sample_count, m.sample_rate, m.channels
                )));
            }
            let samples = if m.sample_count == 0 {
                Vec::new()
            } else if m.samples.is_null() {
                return Err(Error::failed("hark_emit: samples is NULL"));
            } else {
                // SAFETY: guaranteed by the caller.
                unsafe { std::slice::from_raw_parts(m.samples, m.sample_count) }.to_vec()
            };
            Ok(audio_message(meta, m.sample_rate, m.channels, samples))
        }
        other => Err(Error::failed(format!(
            "hark_emit: payload {other} is neither HARK_TEXT nor HARK_AUDIO"
        ))),
    }
}

unsafe extern "C" fn host_setting(host: *mut HarkHost, key: *const c_char) -> *const c_char {
    // SAFETY: as in `host_emit`.
    let host = unsafe { node_host(host) };
    if key.is_null() {
        return std::ptr::null();
    }
    // SAFETY: a NUL-terminated key (header).
    let key = unsafe { CStr::from_ptr(key) };
    host.settings
        .get(key)
        .map_or(std::ptr::null(), |v| v.as_ptr())
}

unsafe extern "C" fn host_log(host: *mut HarkHost, level: u32, message: *const c_char) {
    // SAFETY: as in `host_emit`.
    let host = unsafe { node_host(host) };
    let level = match level {
        1 => LogLevel::Debug,
        2 => LogLevel::Info,
        3 => LogLevel::Warn,
        _ => LogLevel::Error,
    };
    // SAFETY: a NUL-terminated message (header).
    host.ctx.log(level, &unsafe { ffi::text(message) });
}

unsafe extern "C" fn host_fail(host: *mut HarkHost, message: *const c_char) {
    // SAFETY: as in `host_emit`.
    let host = unsafe { node_host(host) };
    // SAFETY: a NUL-terminated message (header).
    host.failure = Some(unsafe { ffi::text(message) }.into_owned());
}
