//! Isolated nodes: a node that runs in a child process of its own, so
//! that a segfault, an abort or an exhausted memory limit in its plugin
//! (or the C library, or the Python module, it calls) is a node failure
//! the restart policy handles, not a dead host.
//!
//! The child is the `hark` binary itself (`hark isolated-node`, hidden),
//! which loads the one plugin library and creates the one node
//! ([`child`]). The host's side, [`Isolated`], is behind the same four
//! calls as a node in the host's process: each call is a request frame
//! down the child's stdin, answered by the frames it emitted and a
//! `Done` frame up its stdout ([`wire`]). Backpressure is kept: while
//! the host blocks on a full link, it reads no more frames, the pipe
//! fills, and the child's `emit` blocks.
//!
//! Like GStreamer's plugin scanner and dora's per-node processes, the
//! boundary is a process; unlike them, only the nodes that ask for it
//! (`isolate: true`, the default for `c` and `python` nodes) pay for it:
//! `hark bench --isolate` measures the cost per hop.
//!
//! **Invariants:** the child never outlives the host (`PR_SET_PDEATHSIG`)
//! and never reacts to the terminal's Ctrl-C or a service manager's
//! SIGTERM itself: the host drains and then shuts it down, like any node.
//! Its stdout is the protocol's alone (the child points fd 1 at stderr
//! before loading the plugin, so a `printf` cannot corrupt a frame).

pub(crate) mod child;
pub(crate) mod wire;

use std::{
    io::BufReader,
    os::unix::process::{CommandExt, ExitStatusExt},
    process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use hark_plugin_api::{Message, PluginError, PluginErrorKind, SourceStatus};
use parking_lot::Mutex;

use super::host_context::{NodeEnv, OutputPorts};
use crate::{
    loader::Plugin,
    pipeline::{Isolation, NodeSpec},
};
use wire::{Done, ToHost, ToNode};

/// The hidden subcommand an isolated node's process runs.
pub const SUBCOMMAND: &str = "isolated-node";

/// How long a shut-down child gets to finish before it is killed.
const EXIT_GRACE: Duration = Duration::from_secs(2);

/// A frame buffer grown past this (a large image, say) is given back
/// after use, so one large message does not hold its memory for the
/// node's life.
const KEPT_BUFFER: usize = 16 << 20;

/// A node in a child process, seen from the host.
pub struct Isolated {
    process: Arc<Mutex<Child>>,
    to_node: ChildStdin,
    from_node: BufReader<ChildStdout>,
    body: Vec<u8>,
    env: Arc<NodeEnv>,
    memory_limit: Option<u64>,
    /// Set once the child is known to be gone: no more requests.
    dead: bool,
}

/// Kills an isolated node's process from another thread (the watchdog,
/// when a call stalls), which makes the stuck call return at once.
#[derive(Clone, Debug)]
pub struct Killer(Arc<Mutex<Child>>);

impl Killer {
    /// Kills the process, if it still runs.
    pub fn kill(&self) {
        // `Child::kill` does nothing once the child has been reaped, so a
        // recycled process id is never signalled.
        let _ = self.0.lock().kill();
    }
}

impl Isolated {
    /// Starts a child process and creates the node in it.
    pub fn start(
        plugin: &Plugin,
        spec: &NodeSpec,
        isolation: &Isolation,
        env: &Arc<NodeEnv>,
    ) -> Result<Isolated, PluginError> {
        let exe = std::env::current_exe().map_err(|e| {
            failed(
                format!("cannot find the hark binary to start an isolated node: {e}"),
                "",
            )
        })?;
        if !plugin.path.is_file() {
            return Err(failed(
                format!(
                    "plugin `{}` has no library file to load in a process of its own",
                    plugin.name
                ),
                "write `isolate: false` for this node",
            ));
        }
        let mut command = Command::new(exe);
        command
            .arg(SUBCOMMAND)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let limit = isolation.memory_limit;
        let host_pid = std::process::id();
        // SAFETY: the closure runs in the child between fork and exec and
        // only makes async-signal-safe system calls.
        unsafe {
            command.pre_exec(move || {
                // Die with the host (strictly: with the host thread that
                // started it; node processes are started by the threads
                // that own them, or by `run`'s, which outlives the run).
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                // The host may have died before the line above: then the
                // signal never comes, and the child must not live on.
                if libc::getppid() as u32 != host_pid {
                    libc::_exit(1);
                }
                // The host decides when its nodes stop.
                libc::signal(libc::SIGINT, libc::SIG_IGN);
                libc::signal(libc::SIGTERM, libc::SIG_IGN);
                if let Some(bytes) = limit {
                    let rlimit = libc::rlimit {
                        rlim_cur: bytes,
                        rlim_max: bytes,
                    };
                    if libc::setrlimit(libc::RLIMIT_DATA, &rlimit) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
        let mut process = command.spawn().map_err(|e| {
            failed(
                format!("cannot start a process for the node: {e}"),
                "check the system's process and memory limits",
            )
        })?;
        let to_node = process.stdin.take().expect("piped");
        let from_node = BufReader::with_capacity(1 << 16, process.stdout.take().expect("piped"));
        let mut node = Isolated {
            process: Arc::new(Mutex::new(process)),
            to_node,
            from_node,
            body: Vec::new(),
            env: env.clone(),
            memory_limit: limit,
            dead: false,
        };
        node.request(
            ToNode::Start {
                plugin: plugin.path.to_string_lossy().into_owned(),
                kind: spec.kind.name.clone(),
                config: spec.config.clone(),
                name: spec.name.clone(),
            },
            None,
        )?;
        Ok(node)
    }

    /// What stops the process from another thread.
    pub fn killer(&self) -> Killer {
        Killer(self.process.clone())
    }

    pub fn on_message(
        &mut self,
        port: u32,
        message: Message,
        out: &mut OutputPorts,
    ) -> Result<(), PluginError> {
        self.request(ToNode::OnMessage(port, message), Some(out))
            .map(|_| ())
    }

    pub fn produce(&mut self, out: &mut OutputPorts) -> Result<SourceStatus, PluginError> {
        self.request(ToNode::Produce, Some(out))
            .map(|status| status.unwrap_or(SourceStatus::Finished))
    }

    pub fn flush(&mut self, out: &mut OutputPorts) -> Result<(), PluginError> {
        self.request(ToNode::Flush, Some(out)).map(|_| ())
    }

    /// Shuts the node down and waits (briefly) for its process to exit.
    pub fn shutdown(&mut self) -> Result<(), PluginError> {
        let result = if self.dead {
            Ok(())
        } else {
            // A child that does not answer within the grace is killed,
            // which ends the read below.
            let process = self.process.clone();
            let deadline = Instant::now() + EXIT_GRACE;
            let (stop_tx, stop_rx) = crossbeam_channel::bounded::<()>(0);
            let reaper = std::thread::spawn(move || {
                if stop_rx.recv_deadline(deadline).is_err() {
                    let _ = process.lock().kill();
                }
            });
            let result = self.request(ToNode::Shutdown, None).map(|_| ());
            drop(stop_tx);
            let _ = reaper.join();
            result
        };
        self.dead = true;
        let _ = self.process.lock().wait();
        result
    }

    /// Sends `request`, forwards what the node emits to `out`, and
    /// returns the node's answer.
    fn request(
        &mut self,
        request: ToNode,
        mut out: Option<&mut OutputPorts>,
    ) -> Result<Option<SourceStatus>, PluginError> {
        if self.dead {
            return Err(failed("the node's process has already ended", ""));
        }
        match request.frame().send(&mut self.to_node) {
            Ok(()) => {}
            // Too large to pass: refused before a byte was written.
            Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => {
                return Err(failed(e.to_string(), "run this node with `isolate: false`"))
            }
            Err(_) => return Err(self.died()),
        }
        // The first emit the host refused: the node's answer then reports
        // it (as an emit error would in the host's process).
        let mut refused: Option<PluginError> = None;
        loop {
            let tag = match wire::read_frame(&mut self.from_node, &mut self.body) {
                Ok(Some(tag)) => tag,
                Ok(None) | Err(_) => return Err(self.died()),
            };
            let read = ToHost::read(tag, &self.body);
            if self.body.capacity() > KEPT_BUFFER {
                self.body = Vec::new();
            }
            match read {
                Ok(ToHost::Emit(port, message)) => {
                    let Some(out) = out.as_deref_mut() else {
                        continue; // nothing is emitted while starting or stopping
                    };
                    if let Err(e) = out.send(port, message) {
                        refused.get_or_insert_with(|| failed(e.message.to_string(), ""));
                    }
                }
                Ok(ToHost::Done(done)) => {
                    self.count(&done);
                    return match (done.outcome, refused) {
                        (Ok(_), Some(e)) => Err(e),
                        (outcome, _) => outcome,
                    };
                }
                Err(e) => {
                    let _ = self.process.lock().kill();
                    let _ = self.died();
                    return Err(failed(e.to_string(), ""));
                }
            }
        }
    }

    /// Adds the node's counters and gauges to the host's.
    fn count(&self, done: &Done) {
        if !done.counters.is_empty() {
            let mut counters = self.env.counters.lock();
            for (name, delta) in &done.counters {
                let v = counters.entry(name.clone()).or_default();
                *v = v.saturating_add(*delta);
            }
        }
        if !done.gauges.is_empty() {
            let mut gauges = self.env.gauges.lock();
            for (name, value) in &done.gauges {
                gauges.insert(name.clone(), *value);
            }
        }
    }

    /// The process ended (or its pipe broke): reaps it and says how.
    fn died(&mut self) -> PluginError {
        self.dead = true;
        let status = {
            let mut process = self.process.lock();
            // Its pipe is closed, so it has exited or is about to.
            let _ = process.kill();
            process.wait()
        };
        let how = match &status {
            Ok(status) => describe_exit(*status),
            Err(e) => format!("could not be waited for ({e})"),
        };
        let abnormal = matches!(&status, Ok(s)
            if matches!(s.signal(), Some(libc::SIGABRT | libc::SIGSEGV | libc::SIGBUS)));
        let hint = match self.memory_limit {
            Some(limit) if abnormal => format!(
                "it may have run out of memory: its memory_limit_mb is {}; the host keeps running and the node's restart policy applies",
                limit >> 20
            ),
            _ => "the node runs in a process of its own (isolate), so the host keeps running; the node's restart policy applies".to_string(),
        };
        failed(format!("the node's process {how}"), hint)
    }
}

impl Drop for Isolated {
    fn drop(&mut self) {
        if !self.dead {
            let _ = self.process.lock().kill();
            let _ = self.process.lock().wait();
        }
    }
}

/// "was killed by signal 11 (SIGSEGV: a segmentation fault)", "exited
/// with status 3".
pub fn describe_exit(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exited with status {code}");
    }
    let signal = status.signal().unwrap_or(0);
    let name = match signal {
        libc::SIGSEGV => "SIGSEGV: a segmentation fault",
        libc::SIGABRT => "SIGABRT: it aborted",
        libc::SIGBUS => "SIGBUS: a bad memory access",
        libc::SIGILL => "SIGILL: an illegal instruction",
        libc::SIGFPE => "SIGFPE: an arithmetic fault",
        libc::SIGKILL => "SIGKILL: killed",
        _ => "a signal",
    };
    format!("was killed by signal {signal} ({name})")
}

fn failed(message: impl Into<String>, hint: impl Into<String>) -> PluginError {
    let mut e = PluginError::new(PluginErrorKind::Failed, message.into());
    e.hint = hint.into().into();
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exits_are_described_by_code_or_signal() {
        assert_eq!(
            describe_exit(ExitStatus::from_raw(3 << 8)),
            "exited with status 3"
        );
        assert_eq!(
            describe_exit(ExitStatus::from_raw(libc::SIGSEGV)),
            "was killed by signal 11 (SIGSEGV: a segmentation fault)"
        );
    }
}
