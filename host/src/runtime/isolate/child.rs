//! The isolated node's process (`hark isolated-node`): loads one plugin,
//! creates one node, and answers the host's requests until it says
//! `Shutdown` or goes away.

use std::{
    ffi::c_void,
    fs::File,
    io::BufReader,
    os::fd::{FromRawFd, RawFd},
    sync::{Arc, OnceLock},
};

use hark_plugin_api::{
    abi_stable::{
        prefix_type::PrefixTypeTrait,
        std_types::{RResult, RString},
    },
    EmitError, EmitErrorKind, Emitter, EmitterVTable, EmitterVTableRef, Message, NodeBox,
    PluginError, PluginErrorKind, SourceStatus,
};

use super::wire::{self, Done, ToHost, ToNode};
use crate::{
    loader::Plugin,
    runtime::{host_context::NodeEnv, instance},
};

/// Runs the node the host asks for; the process's exit status.
pub fn main() -> i32 {
    // SAFETY: called first thing in the process, before any other code
    // uses fds 0 and 1.
    let (input, output) = match unsafe { protocol_fds() } {
        Ok(fds) => fds,
        Err(e) => {
            eprintln!("hark isolated-node: cannot set up its pipes: {e}");
            return 2;
        }
    };
    // SAFETY: both fds were just duplicated for this use alone.
    let mut input = BufReader::new(unsafe { File::from_raw_fd(input) });
    let mut out = Out {
        // SAFETY: as above.
        file: unsafe { File::from_raw_fd(output) },
        broken: false,
    };
    let mut body = Vec::new();
    let (plugin, kind, config, name) = match next(&mut input, &mut body) {
        Some(ToNode::Start {
            plugin,
            kind,
            config,
            name,
        }) => (plugin, kind, config, name),
        Some(other) => {
            eprintln!("hark isolated-node: expected Start, got {other:?}");
            return 2;
        }
        None => return 0,
    };
    let env = NodeEnv::new(&name);
    let created = Plugin::load_file(plugin.as_ref())
        .map_err(|r| {
            let mut e = PluginError::new(
                PluginErrorKind::Failed,
                format!("{}: {}", r.path.display(), r.reason),
            );
            e.hint = "the library changed since the host loaded it?".into();
            e
        })
        .and_then(|plugin| plugin.create_node(&kind, &config, env.context()));
    let node = match created {
        Ok(node) => {
            out.done(&env, Ok(None));
            node
        }
        Err(e) => {
            out.done(&env, Err(e));
            return 0;
        }
    };
    serve(node, &env, &mut input, &mut out, &mut body)
}

/// Answers requests until `Shutdown` or the host's end closes.
fn serve(
    node: NodeBox,
    env: &Arc<NodeEnv>,
    input: &mut BufReader<File>,
    out: &mut Out,
    body: &mut Vec<u8>,
) -> i32 {
    loop {
        let Some(request) = next(input, body) else {
            // The host is gone (or closed the pipe): release the node.
            let _ = instance::shutdown(node);
            return 0;
        };
        let outcome = match request {
            ToNode::OnMessage(port, message) => {
                instance::on_message(&node, port, message, &mut out.emitter()).map(|()| None)
            }
            ToNode::Produce => instance::produce(&node, &mut out.emitter()).map(Some),
            ToNode::Flush => instance::flush(&node, &mut out.emitter()).map(|()| None),
            ToNode::Shutdown => {
                let result = instance::shutdown(node).map(|()| None);
                out.done(env, result);
                return 0;
            }
            ToNode::Start { .. } => Err(PluginError::new(
                PluginErrorKind::Failed,
                "the node's process was asked to start twice",
            )),
        };
        out.done(env, outcome);
        if out.broken {
            return 0;
        }
    }
}

/// The next request; `None` when the host closed its end or sent
/// something unreadable (then said on stderr).
fn next(input: &mut BufReader<File>, body: &mut Vec<u8>) -> Option<ToNode> {
    match wire::read_frame(input, body) {
        Ok(Some(tag)) => match ToNode::read(tag, body) {
            Ok(request) => Some(request),
            Err(e) => {
                eprintln!("hark isolated-node: {e}");
                None
            }
        },
        Ok(None) => None,
        Err(e) => {
            eprintln!("hark isolated-node: reading a request: {e}");
            None
        }
    }
}

/// Moves the protocol's pipes off fds 0 and 1, and points those at
/// `/dev/null` and stderr: whatever the plugin prints lands in the log,
/// never inside a frame.
///
/// # Safety
/// Must run before anything else uses fds 0 and 1.
unsafe fn protocol_fds() -> std::io::Result<(RawFd, RawFd)> {
    let check = |fd: i32| {
        if fd < 0 {
            Err(std::io::Error::last_os_error())
        } else {
            Ok(fd)
        }
    };
    // SAFETY: plain fd operations on fds this process owns.
    unsafe {
        let input = check(libc::fcntl(0, libc::F_DUPFD_CLOEXEC, 3))?;
        let output = check(libc::fcntl(1, libc::F_DUPFD_CLOEXEC, 3))?;
        let null = check(libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY))?;
        check(libc::dup2(null, 0))?;
        libc::close(null);
        check(libc::dup2(2, 1))?;
        Ok((input, output))
    }
}

/// The pipe to the host, behind the emitter lent to the node.
struct Out {
    file: File,
    /// A write failed: the host is gone.
    broken: bool,
}

impl Out {
    fn emitter(&mut self) -> Emitter {
        Emitter {
            env: self as *mut Out as *mut c_void,
            vtable: emitter_vtable(),
        }
    }

    /// Answers the request, with the counters and gauges reported since
    /// the last answer.
    fn done(&mut self, env: &NodeEnv, outcome: Result<Option<SourceStatus>, PluginError>) {
        let done = Done {
            outcome,
            counters: std::mem::take(&mut *env.counters.lock())
                .into_iter()
                .collect(),
            gauges: std::mem::take(&mut *env.gauges.lock())
                .into_iter()
                .collect(),
        };
        if ToHost::done_frame(&done).send(&mut self.file).is_err() {
            self.broken = true;
        }
    }
}

fn emitter_vtable() -> EmitterVTableRef {
    static VTABLE: OnceLock<EmitterVTableRef> = OnceLock::new();
    *VTABLE.get_or_init(|| EmitterVTable { emit }.leak_into_prefix())
}

/// The node's `emit`: one frame to the host. Never panics (called from
/// plugin code).
unsafe extern "C" fn emit(env: *mut c_void, port: u32, message: Message) -> RResult<(), EmitError> {
    // SAFETY: made by `Out::emitter` for the call in progress.
    let out = unsafe { &mut *(env as *mut Out) };
    let refused = |message: String| {
        RResult::RErr(EmitError {
            kind: EmitErrorKind::Stopping,
            message: RString::from(message),
        })
    };
    if out.broken {
        return refused("the host is gone".into());
    }
    match ToHost::emit_frame(port, &message).send(&mut out.file) {
        Ok(()) => RResult::ROk(()),
        // Too large to pass: refused before anything was written.
        Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => refused(e.to_string()),
        Err(_) => {
            out.broken = true;
            refused("the host is gone".into())
        }
    }
}
