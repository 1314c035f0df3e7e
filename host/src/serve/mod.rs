//! `hark serve`: a pipeline's stages offered over the Wyoming protocol,
//! so that Home Assistant, satellites and any Wyoming client can use them.
//!
//! The data goes: a TCP connection (a **session**, `session.rs`, a thread
//! of its own) → Wyoming events (`wyoming.rs`, bounded framing) → a
//! request for one **stage** (`stages.rs`: `asr`, `tts`, `handle`, `intent`,
//! found in the pipeline by port types) → a slot under the **concurrency
//! limit** (`limit.rs`) → a short run of that stage → the answer events.
//! Beyond loopback the server is advertised by zeroconf (`zeroconf.rs`).
//!
//! **Invariant:** a client can only ever cost its own session: frames are
//! bounded before they are read, a request runs under the limit and a
//! deadline, a failing node fails that request, and a session that
//! breaks the protocol is closed with an `error` event. Models are shared
//! by every session through the model service (loaded once per process).

mod cache;
mod limit;
mod session;
mod stages;
mod zeroconf;

use std::{
    net::{SocketAddr, TcpListener},
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use serde_json::json;

pub use cache::CacheSettings;
pub use limit::{LimitSettings, Refusal};
pub use stages::{Service, Stage, Stages};

use crate::{loader::PluginSet, metrics::Metrics, pipeline::Pipeline};
pub use hark_wyoming as wyoming;
use wyoming::{Event, Limits};

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Frame size limits.
    pub limits: Limits,
    /// The concurrency limit.
    pub limit: LimitSettings,
    /// Speech-to-text requests running at once (a limit of their own,
    /// under the same wait list settings): a whisper decode already uses
    /// every core up to four, and decodes beside it only slow each other
    /// down (whisper.cpp's threads spin while they wait).
    pub asr_running: usize,
    /// Connections open at once, at most; more are refused.
    pub max_connections: usize,
    /// A connection with no complete event for this long is closed.
    pub idle_timeout: Duration,
    /// A client that does not read its answers for this long is dropped.
    pub write_timeout: Duration,
    /// A request with no answer after this long fails with `timeout`.
    pub request_timeout: Duration,
    /// Longest audio of one `transcribe`, in seconds.
    pub max_audio_seconds: u32,
    /// The result cache.
    pub cache: CacheSettings,
}

impl Default for ServeOptions {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        ServeOptions {
            limits: Limits::default(),
            limit: LimitSettings {
                running: cores,
                waiting: 256,
                wait: Duration::from_secs(5),
            },
            asr_running: (cores / cores.min(4)).max(1),
            max_connections: 512,
            idle_timeout: Duration::from_secs(300),
            write_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(60),
            max_audio_seconds: 60,
            cache: CacheSettings {
                entries: 1024,
                handle: false,
            },
        }
    }
}

/// What every session shares.
pub struct Shared {
    stages: Stages,
    plugins: Arc<PluginSet>,
    metrics: Arc<Metrics>,
    limiter: limit::Limiter,
    asr_limiter: limit::Limiter,
    cache: cache::ResultCache,
    options: ServeOptions,
    /// The answer to `describe`, made once.
    info: Event,
    /// One idle instance of each stage, holding its models loaded.
    /// (Never touched again; the mutex only makes it shareable.)
    _resident: parking_lot::Mutex<Vec<crate::runtime::Resident>>,
}

/// A bound server, ready to accept sessions.
pub struct Server {
    shared: Arc<Shared>,
    listener: TcpListener,
    /// Announces the server on the LAN while it lives (not on loopback).
    _zeroconf: Option<mdns_sd::ServiceDaemon>,
}

impl Server {
    /// Finds what `pipeline` offers and binds `listen`. `name` names the
    /// programs in `info` (the pipeline file's stem).
    pub fn bind(
        pipeline: &Pipeline,
        name: &str,
        plugins: Arc<PluginSet>,
        metrics: Arc<Metrics>,
        options: ServeOptions,
        listen: SocketAddr,
    ) -> Result<Server, String> {
        let stages = Stages::discover(pipeline);
        if stages.all().next().is_none() {
            return Err(format!(
                "`{name}` offers nothing to serve: it needs a speech-to-text node (audio in, text out), \
                 a text-to-speech node (text in, audio out), nodes between them that answer text, \
                 or a wake word node (`vad/wakeword`)"
            ));
        }
        // Every stage starts once here: a missing model is an error now,
        // not at the first request, and what it loads stays loaded.
        let mut resident = Vec::new();
        for stage in stages.all() {
            let instance =
                crate::runtime::Resident::create(&stage.pipeline, &plugins).map_err(|errors| {
                    errors
                        .iter()
                        .map(|e| match e.hint.as_str() {
                            "" => e.to_string(),
                            hint => format!("{e} (help: {hint})"),
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                })?;
            resident.push(instance);
        }
        let listener =
            TcpListener::bind(listen).map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        let bound = listener
            .local_addr()
            .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        // A server others cannot find is still a server: say why, go on.
        let zeroconf = zeroconf::advertise(bound, name).unwrap_or_else(|e| {
            tracing::warn!(
                "{e}; Home Assistant will not discover this server (add it by host and port)"
            );
            None
        });
        let info = info(&stages, pipeline, name);
        Ok(Server {
            shared: Arc::new(Shared {
                limiter: limit::Limiter::new(options.limit),
                asr_limiter: limit::Limiter::new(LimitSettings {
                    running: options.asr_running,
                    ..options.limit
                }),
                cache: cache::ResultCache::new(options.cache),
                stages,
                plugins,
                metrics,
                options,
                info,
                _resident: parking_lot::Mutex::new(resident),
            }),
            listener,
            _zeroconf: zeroconf,
        })
    }

    /// The address bound.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// What the pipeline offers.
    pub fn stages(&self) -> &Stages {
        &self.shared.stages
    }

    /// Accepts sessions until the process ends.
    pub fn run(self) {
        let open = Arc::new(AtomicUsize::new(0));
        let ids = AtomicU64::new(0);
        for stream in self.listener.incoming() {
            let mut stream = match stream {
                Ok(s) => s,
                Err(e) => {
                    // Out of file descriptors, a reset before accept: the
                    // listener itself is fine; wait a moment and go on.
                    tracing::warn!("accepting a connection: {e}");
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                }
            };
            let metrics = &self.shared.metrics;
            if open.load(Ordering::SeqCst) >= self.shared.options.max_connections {
                metrics.refused("too-many-connections");
                let refusal = Event::with_data(
                    "error",
                    json!({
                        "text": format!("the server has {} connections open, its limit; try again shortly",
                            self.shared.options.max_connections),
                        "code": "too-many-connections",
                    }),
                );
                let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
                let _ = wyoming::write_event(&mut stream, &refusal);
                continue;
            }
            let id = ids.fetch_add(1, Ordering::Relaxed) + 1;
            open.fetch_add(1, Ordering::SeqCst);
            metrics.sessions_open.inc();
            metrics.sessions_total.inc();
            let (shared, still_open) = (self.shared.clone(), open.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("session:{id}"))
                .spawn(move || {
                    session::serve_connection(shared.clone(), stream, id);
                    shared.metrics.sessions_open.dec();
                    still_open.fetch_sub(1, Ordering::SeqCst);
                });
            if let Err(e) = spawned {
                tracing::warn!("cannot start a session thread: {e}");
                metrics.sessions_open.dec();
                open.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }
}

/// What a wake word model's name says: `hey_jarvis_v0.1` → "hey jarvis".
fn wake_phrase(model: &str) -> String {
    let words: Vec<&str> = model
        .split('_')
        .filter(|w| !(w.starts_with('v') && w[1..].starts_with(|c: char| c.is_ascii_digit())))
        .collect();
    words.join(" ")
}

/// The `info` event: what the pipeline offers, as Wyoming programs.
fn info(stages: &Stages, pipeline: &Pipeline, name: &str) -> Event {
    let version = env!("CARGO_PKG_VERSION");
    let attribution = json!({ "name": "Hark", "url": env!("CARGO_PKG_REPOSITORY") });
    let description = pipeline
        .description
        .clone()
        .unwrap_or_else(|| format!("Hark pipeline {name}"));
    let artifact = |stage: &Stage, model: String, language: &str| {
        let node = &stage.pipeline.nodes[0];
        json!({
            "name": model,
            "attribution": attribution,
            "installed": true,
            "description": format!("{} ({}/{})", node.name, node.plugin, node.kind.name),
            "version": version,
            "languages": [language],
        })
    };
    let program = |extra: serde_json::Value, key: &str, models: serde_json::Value| {
        let mut p = json!({
            "name": format!("hark-{name}"),
            "attribution": attribution,
            "installed": true,
            "description": description,
            "version": version,
        });
        p[key] = models;
        if let (Some(p), serde_json::Value::Object(extra)) = (p.as_object_mut(), extra) {
            p.extend(extra);
        }
        p
    };
    let config =
        |stage: &Stage, field: &str| stages::config_string(&stage.pipeline.nodes[0].config, field);
    let mut data = json!({ "asr": [], "tts": [], "handle": [], "intent": [], "wake": [], "mic": [], "snd": [] });
    if let Some(asr) = &stages.asr {
        let model = config(asr, "model").unwrap_or_else(|| asr.pipeline.nodes[0].name.clone());
        data["asr"] = json!([program(
            json!({ "supports_transcript_streaming": false }),
            "models",
            json!([artifact(asr, model, &asr.language)]),
        )]);
    }
    if let Some(tts) = &stages.tts {
        let voice = config(tts, "voice").unwrap_or_else(|| tts.pipeline.nodes[0].name.clone());
        data["tts"] = json!([program(
            json!({ "supports_synthesize_streaming": true }),
            "voices",
            json!([artifact(tts, voice, "en")]),
        )]);
    }
    if let Some(handle) = &stages.handle {
        data["handle"] = json!([program(
            json!({ "supports_handled_streaming": false }),
            "models",
            json!([artifact(handle, name.to_string(), "en")]),
        )]);
    }
    if let Some(intent) = &stages.intent {
        data["intent"] = json!([program(
            json!({}),
            "models",
            json!([artifact(intent, name.to_string(), "en")]),
        )]);
    }
    if let Some(wake) = &stages.wake {
        let mut model = artifact(wake, wake.model.clone(), "en");
        model["phrase"] = json!(wake_phrase(&wake.model));
        data["wake"] = json!([program(json!({}), "models", json!([model]))]);
    }
    Event::with_data("info", data)
}
