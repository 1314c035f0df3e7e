//! One Wyoming server as the nodes use it: an exchange per request,
//! retried on a fresh connection with a doubling delay until its
//! deadline, and the server's state reported when it changes.

use std::time::{Duration, Instant};

use hark_sdk::{prelude::*, ConfigIssue};
use hark_wyoming::{Client, Event, FrameError};

/// First delay before trying a lost server again; doubles up to [`MAX_DELAY`].
const FIRST_DELAY: Duration = Duration::from_millis(250);
const MAX_DELAY: Duration = Duration::from_secs(4);

/// The settings every kind has (`server`, `timeout_ms`).
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// `host:port` of the Wyoming server.
    pub server: String,
    /// Deadline of one request, retries included, in ms.
    pub timeout_ms: u32,
}

/// Default `server`.
pub const DEFAULT_SERVER: &str = "127.0.0.1:10300";
/// Default `timeout_ms`.
pub const DEFAULT_TIMEOUT_MS: u32 = 15_000;

/// The fields `server` and `timeout_ms`, for a kind's settings.
pub fn fields() -> Vec<Field> {
    vec![
        Field::string(
            "server",
            "`host:port` of the Wyoming server (`hark serve`, or any other)",
        ),
        Field::integer(
            "timeout_ms",
            "u32",
            "deadline of one request in ms, retries included; past it the request is dropped",
        ),
    ]
}

/// Checks [`ServerSettings`].
pub fn validate(settings: &ServerSettings) -> Result<(), ConfigIssue> {
    if !settings.server.contains(':') {
        return Err(ConfigIssue::field(
            "server",
            format!("`{}` is not `host:port`", settings.server),
        )
        .with_hint("e.g. \"192.168.1.20:10300\""));
    }
    if settings.timeout_ms < 100 {
        return Err(ConfigIssue::field(
            "timeout_ms",
            format!("{} ms is too short for a request", settings.timeout_ms),
        ));
    }
    Ok(())
}

/// How an exchange ended without an answer.
pub enum Failure {
    /// The server answered with `error`.
    Refused(String),
    /// No answer before the deadline.
    Dropped(String),
}

/// A Wyoming server.
pub struct Remote {
    settings: ServerSettings,
    ctx: Context,
    /// Whether the last exchange reached the server.
    reachable: bool,
}

impl Remote {
    /// The server of `settings`, reported through `ctx`.
    pub fn new(settings: ServerSettings, ctx: &Context) -> Remote {
        ctx.gauge_set("connected", 0.0);
        Remote {
            settings,
            ctx: *ctx,
            reachable: true,
        }
    }

    /// Sends `request` and gives each event of the answer to `answer`
    /// until it says the answer is complete (`true`). On a connection
    /// that fails, the whole exchange starts again on a new one after a
    /// delay, until the deadline; `answer(None)` comes first in every
    /// attempt, to discard what an earlier one collected.
    pub fn exchange(
        &mut self,
        request: &[Event],
        mut answer: impl FnMut(Option<&Event>) -> bool,
    ) -> Result<(), Failure> {
        let deadline = Instant::now() + Duration::from_millis(self.settings.timeout_ms.into());
        let mut delay = FIRST_DELAY;
        loop {
            answer(None);
            match self.try_once(request, deadline, &mut answer) {
                Ok(()) => {
                    self.found();
                    return Ok(());
                }
                Err(Attempt::Refused(text)) => {
                    self.found();
                    return Err(Failure::Refused(text));
                }
                Err(Attempt::Lost(why)) => {
                    self.lost(&why, delay);
                    let now = Instant::now();
                    if now + delay >= deadline {
                        self.ctx.counter_add("dropped", 1);
                        return Err(Failure::Dropped(format!(
                            "no answer from the Wyoming server at {} within {} ms ({why}); this request is dropped",
                            self.settings.server, self.settings.timeout_ms
                        )));
                    }
                    std::thread::sleep(delay);
                    self.ctx.counter_add("retries", 1);
                    delay = (delay * 2).min(MAX_DELAY);
                }
            }
        }
    }

    fn try_once(
        &mut self,
        request: &[Event],
        deadline: Instant,
        answer: &mut impl FnMut(Option<&Event>) -> bool,
    ) -> Result<(), Attempt> {
        let left = deadline.saturating_duration_since(Instant::now());
        let mut client = Client::connect(&self.settings.server, left.min(Duration::from_secs(5)))
            .map_err(|e| Attempt::Lost(e.to_string()))?;
        for event in request {
            client
                .send(event)
                .map_err(|e| Attempt::Lost(e.to_string()))?;
        }
        client.flush().map_err(|e| Attempt::Lost(e.to_string()))?;
        loop {
            match client.receive(deadline) {
                Ok(Some(event)) if event.kind == "error" => {
                    return Err(Attempt::Refused(
                        event.str("text").unwrap_or("an error").to_string(),
                    ))
                }
                Ok(Some(event)) => {
                    if answer(Some(&event)) {
                        return Ok(());
                    }
                }
                Ok(None) => return Err(Attempt::Lost("the server closed the connection".into())),
                Err(FrameError::Io(e)) => return Err(Attempt::Lost(e.to_string())),
                Err(e) => return Err(Attempt::Refused(format!("the server sent {e}"))),
            }
        }
    }

    fn lost(&mut self, why: &str, delay: Duration) {
        if self.reachable {
            self.ctx.warn(&format!(
                "lost the Wyoming server at {}: {why}; trying again every {}–{} ms",
                self.settings.server,
                delay.as_millis(),
                MAX_DELAY.as_millis()
            ));
            self.ctx.gauge_set("connected", 0.0);
        }
        self.reachable = false;
    }

    fn found(&mut self) {
        if !self.reachable {
            self.ctx.info(&format!(
                "the Wyoming server at {} answers again",
                self.settings.server
            ));
        }
        self.reachable = true;
        self.ctx.gauge_set("connected", 1.0);
    }

    /// The node's context.
    pub fn ctx(&self) -> &Context {
        &self.ctx
    }

    /// Logs a request that got no answer (the node goes on).
    pub fn report(&self, failure: Failure) {
        match failure {
            Failure::Refused(text) => {
                self.ctx.counter_add("refused", 1);
                self.ctx.warn(&format!(
                    "the Wyoming server at {} refused a request: {text}",
                    self.settings.server
                ));
            }
            Failure::Dropped(text) => self.ctx.warn(&text),
        }
    }
}

enum Attempt {
    Refused(String),
    Lost(String),
}
