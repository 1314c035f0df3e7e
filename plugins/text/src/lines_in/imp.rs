//! Implementation of `lines-in`.

use std::{
    fs::File,
    io::{BufRead, BufReader},
    sync::OnceLock,
    time::Duration,
};

use crossbeam_channel::{Receiver, RecvTimeoutError};
use hark_sdk::prelude::*;

use super::LinesInSettings;

/// A running `lines-in` node.
pub struct LinesInNode {
    settings: LinesInSettings,
    input: Input,
    line_number: u64,
    buffer: String,
}

enum Input {
    File(Box<dyn BufRead + Send>),
    /// Standard input, read on a thread of its own: a read blocks until the
    /// user types, and `produce` must return often enough for the host to
    /// see a stop (Ctrl-C) and its watchdog to see a live node.
    Stdin(&'static Receiver<Result<String, String>>),
}

/// How long `produce` waits for a line from standard input before it
/// returns to the host empty-handed.
const STDIN_POLL: Duration = Duration::from_millis(100);

/// Lines of standard input, read by one thread for the whole process
/// (every node reading `-` shares it); the channel closes at end of input.
fn stdin_lines() -> &'static Receiver<Result<String, String>> {
    static LINES: OnceLock<Receiver<Result<String, String>>> = OnceLock::new();
    LINES.get_or_init(|| {
        let (tx, rx) = crossbeam_channel::bounded(16);
        // Without a thread there are no lines: the channel is closed, which
        // reads as end of input.
        let _ = std::thread::Builder::new()
            .name("lines-in:stdin".into())
            .spawn(move || {
                let mut stdin = std::io::stdin().lock();
                loop {
                    let mut line = String::new();
                    let item = match stdin.read_line(&mut line) {
                        Ok(0) => return,
                        Ok(_) => Ok(line),
                        Err(e) => Err(e.to_string()),
                    };
                    let failed = item.is_err();
                    if tx.send(item).is_err() || failed {
                        return;
                    }
                }
            });
        rx
    })
}

impl LinesInNode {
    pub(super) fn open(settings: LinesInSettings) -> Result<Self, Error> {
        let input = if settings.path == "-" {
            Input::Stdin(stdin_lines())
        } else {
            let file = File::open(&settings.path).map_err(|e| {
                Error::failed(format!("cannot open {}: {e}", settings.path)).with_hint(
                    "check the `path` setting (relative paths start at the working directory)",
                )
            })?;
            Input::File(Box::new(BufReader::new(file)))
        };
        Ok(LinesInNode {
            settings,
            input,
            line_number: 0,
            buffer: String::new(),
        })
    }
}

impl Node for LinesInNode {
    fn produce(&mut self, out: &mut Outputs) -> Result<Produce, Error> {
        loop {
            self.buffer.clear();
            match &mut self.input {
                Input::File(reader) => {
                    let n = reader.read_line(&mut self.buffer).map_err(|e| {
                        Error::failed(format!("reading {}: {e}", self.settings.path))
                    })?;
                    if n == 0 {
                        return Ok(Produce::Finished);
                    }
                }
                Input::Stdin(lines) => match lines.recv_timeout(STDIN_POLL) {
                    Ok(Ok(line)) => self.buffer = line,
                    Ok(Err(e)) => {
                        return Err(Error::failed(format!("reading standard input: {e}")))
                    }
                    Err(RecvTimeoutError::Timeout) => return Ok(Produce::More),
                    Err(RecvTimeoutError::Disconnected) => return Ok(Produce::Finished),
                },
            }
            self.line_number += 1;
            let line = self.buffer.trim_end_matches(['\n', '\r']);
            if self.settings.skip_empty && line.trim().is_empty() {
                continue;
            }
            let meta = MessageMeta {
                utterance: self.line_number,
                ..MessageMeta::default()
            };
            return if out.try_emit(0, text_message(meta, line))? {
                Ok(Produce::More)
            } else {
                Ok(Produce::Finished)
            };
        }
    }
}
