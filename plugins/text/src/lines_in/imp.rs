//! Implementation of `lines-in`.

use std::{
    fs::File,
    io::{BufRead, BufReader},
};

use hark_sdk::prelude::*;

use super::LinesInSettings;

/// A running `lines-in` node.
pub struct LinesInNode {
    settings: LinesInSettings,
    reader: Box<dyn BufRead + Send>,
    line_number: u64,
    buffer: String,
}

impl LinesInNode {
    pub(super) fn open(settings: LinesInSettings) -> Result<Self, Error> {
        let reader: Box<dyn BufRead + Send> = if settings.path == "-" {
            Box::new(BufReader::new(std::io::stdin()))
        } else {
            let file = File::open(&settings.path).map_err(|e| {
                Error::failed(format!("cannot open {}: {e}", settings.path)).with_hint(
                    "check the `path` setting (relative paths start at the working directory)",
                )
            })?;
            Box::new(BufReader::new(file))
        };
        Ok(LinesInNode {
            settings,
            reader,
            line_number: 0,
            buffer: String::new(),
        })
    }
}

impl Node for LinesInNode {
    fn produce(&mut self, out: &mut Outputs) -> Result<Produce, Error> {
        loop {
            self.buffer.clear();
            let n = self
                .reader
                .read_line(&mut self.buffer)
                .map_err(|e| Error::failed(format!("reading {}: {e}", self.settings.path)))?;
            if n == 0 {
                return Ok(Produce::Finished);
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
