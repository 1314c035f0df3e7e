//! Implementation of `lines-out`.

use std::{
    fmt::Write as _,
    fs::File,
    io::{BufWriter, Write},
};

use hark_sdk::{prelude::*, Value};

use super::LinesOutSettings;

/// A running `lines-out` node.
pub struct LinesOutNode {
    settings: LinesOutSettings,
    writer: Box<dyn Write + Send>,
    line: String,
}

impl LinesOutNode {
    pub(super) fn open(settings: LinesOutSettings) -> Result<Self, Error> {
        let writer: Box<dyn Write + Send> = if settings.path == "-" {
            Box::new(std::io::stdout())
        } else {
            let file = File::create(&settings.path)
                .map_err(|e| Error::failed(format!("cannot create {}: {e}", settings.path)))?;
            Box::new(BufWriter::new(file))
        };
        Ok(LinesOutNode {
            settings,
            writer,
            line: String::new(),
        })
    }
}

/// Writes `value` compactly, RON-like.
fn write_value(s: &mut String, value: &Value) {
    match value {
        Value::Null => s.push_str("null"),
        Value::Bool(b) => write!(s, "{b}").unwrap(),
        Value::Int(i) => write!(s, "{i}").unwrap(),
        Value::Float(f) => write!(s, "{f}").unwrap(),
        Value::Str(t) => write!(s, "{:?}", t.as_str()).unwrap(),
        Value::List(items) => {
            s.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    s.push_str(", ");
                }
                write_value(s, item);
            }
            s.push(']');
        }
        Value::Map(entries) => {
            s.push('{');
            for (i, entry) in entries.iter().enumerate() {
                if i > 0 {
                    s.push_str(", ");
                }
                write!(s, "{}: ", entry.key).unwrap();
                write_value(s, &entry.value);
            }
            s.push('}');
        }
    }
}

impl Node for LinesOutNode {
    fn on_message(
        &mut self,
        _port: u32,
        message: Message,
        _out: &mut Outputs,
    ) -> Result<(), Error> {
        let s = &mut self.line;
        s.clear();
        s.push_str(&self.settings.prefix);
        match &message.payload {
            Payload::Text(t) => {
                if !t.is_final && !self.settings.partials {
                    return Ok(());
                }
                if !t.is_final {
                    s.push_str("… ");
                }
                s.push_str(&t.text);
            }
            Payload::Intent(i) => {
                write!(s, "intent {} {:.2}", i.name, i.confidence).unwrap();
                for slot in i.slots.iter() {
                    write!(s, " {}=", slot.name).unwrap();
                    write_value(s, &slot.value);
                }
            }
            Payload::Audio(a) => write!(
                s,
                "audio {} Hz x{} {} samples @ {} ms",
                a.sample_rate,
                a.channels,
                a.samples.len(),
                message.meta.timestamp_ns / 1_000_000
            )
            .unwrap(),
            Payload::Image(img) => {
                write!(s, "image {}x{} {:?}", img.width, img.height, img.format).unwrap()
            }
            Payload::Control(c) => write!(s, "control {c:?}").unwrap(),
            Payload::Value(v) => write_value(s, v),
        }
        s.push('\n');
        self.writer.write_all(s.as_bytes())?;
        // Lines are for people watching: do not hold them in a buffer when
        // writing to a terminal.
        if self.settings.path == "-" {
            self.writer.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self, _out: &mut Outputs) -> Result<(), Error> {
        self.writer.flush()?;
        Ok(())
    }
}
