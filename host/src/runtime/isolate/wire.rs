//! What crosses the pipe between the host and an isolated node's process:
//! length-prefixed frames, and the byte layout of every [`Message`].
//!
//! A frame is `u32` body length (little-endian), one tag byte, the body.
//! Both ends are the same `hark` binary, so the layout needs no version;
//! it is still read defensively (every length checked against what is
//! left, nesting bounded), because the other end may be a process that is
//! dying half-way through a write.

use std::io::{self, Read, Write};

use hark_plugin_api::{
    abi_stable::std_types::{RArc, RBox, RString, RVec},
    AudioFrame, ControlEvent, ImageFrame, IntentAlternative, IntentMessage, Message, MessageMeta,
    Payload, PixelFormat, PluginError, PluginErrorKind, Slot, SourceStatus, TextMessage, Value,
    ValueEntry,
};

/// Largest frame body: a minute of 48 kHz stereo audio, or an 8K RGBA
/// picture, with room to spare.
pub const MAX_FRAME: usize = 256 << 20;

/// Deepest nesting of [`Value`]s read (as the pipeline reader's).
const MAX_DEPTH: u32 = 64;

/// Host → node process.
#[derive(Debug)]
pub enum ToNode {
    /// Load the plugin at `plugin` and create node `name` of `kind`.
    Start {
        /// The plugin library's path.
        plugin: String,
        /// The node kind.
        kind: String,
        /// Its config (RON text).
        config: String,
        /// The node's name in the pipeline.
        name: String,
    },
    /// Call `on_message`.
    OnMessage(u32, Message),
    /// Call `produce`.
    Produce,
    /// Call `flush`.
    Flush,
    /// Call `shutdown`, answer, exit.
    Shutdown,
}

/// Node process → host.
#[derive(Debug)]
pub enum ToHost {
    /// The node emitted `Message` on output port `u32`.
    Emit(u32, Message),
    /// The request in progress is answered.
    Done(Done),
}

/// The answer to a request, with the node's counters since the last one.
#[derive(Debug)]
pub struct Done {
    /// What the call returned.
    pub outcome: Result<Option<SourceStatus>, PluginError>,
    /// Counter increments since the last answer.
    pub counters: Vec<(String, u64)>,
    /// Gauges set since the last answer.
    pub gauges: Vec<(String, f64)>,
}

/// A frame that does not read as one.
#[derive(Debug, thiserror::Error)]
#[error("malformed frame from the other process: {0}")]
pub struct Malformed(pub String);

fn malformed(what: impl Into<String>) -> Malformed {
    Malformed(what.into())
}

/// Tags.
const START: u8 = 1;
const ON_MESSAGE: u8 = 2;
const PRODUCE: u8 = 3;
const FLUSH: u8 = 4;
const SHUTDOWN: u8 = 5;
const EMIT: u8 = 10;
const DONE: u8 = 11;

/// One frame, built in place: the length is filled in by [`Frame::send`].
pub struct Frame(Vec<u8>);

impl Frame {
    fn new(tag: u8) -> Frame {
        let mut bytes = Vec::with_capacity(64);
        bytes.extend_from_slice(&[0, 0, 0, 0, tag]);
        Frame(bytes)
    }

    /// Writes the frame with one `write_all` (one system call for small
    /// frames, so two processes never interleave half frames).
    pub fn send(mut self, to: &mut impl Write) -> io::Result<()> {
        let body = self.0.len() - 5;
        if body > MAX_FRAME {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("a message of {body} bytes is more than an isolated node may pass ({MAX_FRAME})"),
            ));
        }
        self.0[..4].copy_from_slice(&(body as u32).to_le_bytes());
        to.write_all(&self.0)
    }

    /// The frame's bytes as [`Frame::send`] would write them (length
    /// filled in).
    pub fn into_bytes(mut self) -> Vec<u8> {
        let body = (self.0.len() - 5) as u32;
        self.0[..4].copy_from_slice(&body.to_le_bytes());
        self.0
    }

    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn f32(&mut self, v: f32) {
        self.u32(v.to_bits());
    }
    fn f64(&mut self, v: f64) {
        self.u64(v.to_bits());
    }
    fn bytes(&mut self, v: &[u8]) {
        self.u64(v.len() as u64);
        self.0.extend_from_slice(v);
    }
    fn str(&mut self, v: &str) {
        self.bytes(v.as_bytes());
    }

    fn message(&mut self, m: &Message) {
        self.u64(m.meta.timestamp_ns);
        self.u64(m.meta.session);
        self.u64(m.meta.utterance);
        match &m.payload {
            Payload::Audio(a) => {
                self.u8(0);
                self.u32(a.sample_rate);
                self.0.extend_from_slice(&a.channels.to_le_bytes());
                self.u64(a.samples.len() as u64);
                self.0.reserve(a.samples.len() * 4);
                for s in a.samples.iter() {
                    self.0.extend_from_slice(&s.to_le_bytes());
                }
            }
            Payload::Text(t) => {
                self.u8(1);
                self.str(&t.text);
                self.u8(t.is_final as u8);
                self.str(&t.language);
                self.f32(t.confidence);
            }
            Payload::Intent(i) => {
                self.u8(2);
                self.str(&i.name);
                self.f32(i.confidence);
                self.str(&i.text);
                self.u64(i.slots.len() as u64);
                for s in i.slots.iter() {
                    self.str(&s.name);
                    self.str(&s.raw);
                    self.u32(s.start);
                    self.u32(s.end);
                    self.value(&s.value);
                }
                self.u64(i.alternatives.len() as u64);
                for a in i.alternatives.iter() {
                    self.str(&a.name);
                    self.f32(a.confidence);
                }
            }
            Payload::Image(i) => {
                self.u8(3);
                self.u32(i.width);
                self.u32(i.height);
                self.u8(i.format as u8);
                self.bytes(&i.data);
            }
            Payload::Control(c) => {
                self.u8(4);
                self.u8(*c as u8);
            }
            Payload::Value(v) => {
                self.u8(5);
                self.value(v);
            }
        }
    }

    fn value(&mut self, v: &Value) {
        match v {
            Value::Null => self.u8(0),
            Value::Bool(b) => {
                self.u8(1);
                self.u8(*b as u8);
            }
            Value::Int(i) => {
                self.u8(2);
                self.u64(*i as u64);
            }
            Value::Float(f) => {
                self.u8(3);
                self.f64(*f);
            }
            Value::Str(s) => {
                self.u8(4);
                self.str(s);
            }
            Value::List(items) => {
                self.u8(5);
                self.u64(items.len() as u64);
                for item in items.iter() {
                    self.value(item);
                }
            }
            Value::Map(entries) => {
                self.u8(6);
                self.u64(entries.len() as u64);
                for e in entries.iter() {
                    self.str(&e.key);
                    self.value(&e.value);
                }
            }
        }
    }

    fn error(&mut self, e: &PluginError) {
        self.u8(e.kind as u8);
        self.str(&e.message);
        self.str(&e.hint);
        self.u32(e.line);
        self.u32(e.column);
    }
}

impl ToNode {
    /// The request as a frame.
    pub fn frame(&self) -> Frame {
        match self {
            ToNode::Start {
                plugin,
                kind,
                config,
                name,
            } => {
                let mut f = Frame::new(START);
                for s in [plugin, kind, config, name] {
                    f.str(s);
                }
                f
            }
            ToNode::OnMessage(port, message) => {
                let mut f = Frame::new(ON_MESSAGE);
                f.u32(*port);
                f.message(message);
                f
            }
            ToNode::Produce => Frame::new(PRODUCE),
            ToNode::Flush => Frame::new(FLUSH),
            ToNode::Shutdown => Frame::new(SHUTDOWN),
        }
    }

    /// Reads a request from a frame's tag and body.
    pub fn read(tag: u8, body: &[u8]) -> Result<ToNode, Malformed> {
        let mut r = Reader { rest: body };
        let request = match tag {
            START => ToNode::Start {
                plugin: r.string()?,
                kind: r.string()?,
                config: r.string()?,
                name: r.string()?,
            },
            ON_MESSAGE => ToNode::OnMessage(r.u32()?, r.message()?),
            PRODUCE => ToNode::Produce,
            FLUSH => ToNode::Flush,
            SHUTDOWN => ToNode::Shutdown,
            other => return Err(malformed(format!("unknown request tag {other}"))),
        };
        r.finish(request)
    }
}

impl ToHost {
    /// An emitted message as a frame (built without owning the message).
    pub fn emit_frame(port: u32, message: &Message) -> Frame {
        let mut f = Frame::new(EMIT);
        f.u32(port);
        f.message(message);
        f
    }

    /// An answer as a frame.
    pub fn done_frame(done: &Done) -> Frame {
        let mut f = Frame::new(DONE);
        match &done.outcome {
            Ok(None) => f.u8(0),
            Ok(Some(SourceStatus::Continue)) => f.u8(1),
            Ok(Some(SourceStatus::Finished)) => f.u8(2),
            Err(e) => {
                f.u8(3);
                f.error(e);
            }
        }
        f.u64(done.counters.len() as u64);
        for (name, delta) in &done.counters {
            f.str(name);
            f.u64(*delta);
        }
        f.u64(done.gauges.len() as u64);
        for (name, value) in &done.gauges {
            f.str(name);
            f.f64(*value);
        }
        f
    }

    /// Reads a frame's tag and body.
    pub fn read(tag: u8, body: &[u8]) -> Result<ToHost, Malformed> {
        let mut r = Reader { rest: body };
        let frame = match tag {
            EMIT => ToHost::Emit(r.u32()?, r.message()?),
            DONE => {
                let outcome = match r.u8()? {
                    0 => Ok(None),
                    1 => Ok(Some(SourceStatus::Continue)),
                    2 => Ok(Some(SourceStatus::Finished)),
                    3 => Err(r.error()?),
                    other => return Err(malformed(format!("unknown outcome {other}"))),
                };
                let counters = r.list(|r| Ok((r.string()?, r.u64()?)))?;
                let gauges = r.list(|r| Ok((r.string()?, r.f64()?)))?;
                ToHost::Done(Done {
                    outcome,
                    counters,
                    gauges,
                })
            }
            other => return Err(malformed(format!("unknown answer tag {other}"))),
        };
        r.finish(frame)
    }
}

/// Reads one frame into `body`; `Ok(None)` at end of input before a
/// frame begins (the other process closed its end).
pub fn read_frame(from: &mut impl Read, body: &mut Vec<u8>) -> io::Result<Option<u8>> {
    let mut header = [0u8; 5];
    let mut filled = 0;
    while filled < header.len() {
        match from.read(&mut header[filled..]) {
            Ok(0) if filled == 0 => return Ok(None),
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let len = u32::from_le_bytes(header[..4].try_into().expect("4 bytes")) as usize;
    if len > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("a frame of {len} bytes (at most {MAX_FRAME})"),
        ));
    }
    // Grown as bytes arrive, not sized by the header: a process dying
    // mid-frame leaves a long announcement and little data.
    body.clear();
    if from.take(len as u64).read_to_end(body)? < len {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(Some(header[4]))
}

struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Malformed> {
        if n > self.rest.len() {
            return Err(malformed(format!(
                "{n} bytes wanted, {} left",
                self.rest.len()
            )));
        }
        let (head, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8, Malformed> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, Malformed> {
        Ok(u16::from_le_bytes(self.take(2)?.try_into().expect("2")))
    }
    fn u32(&mut self) -> Result<u32, Malformed> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4")))
    }
    fn u64(&mut self) -> Result<u64, Malformed> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8")))
    }
    fn f32(&mut self) -> Result<f32, Malformed> {
        Ok(f32::from_bits(self.u32()?))
    }
    fn f64(&mut self) -> Result<f64, Malformed> {
        Ok(f64::from_bits(self.u64()?))
    }
    /// A count of items at least `min_size` bytes each: never more than
    /// the bytes left could hold, so no allocation is sized by a lie.
    fn count(&mut self, min_size: usize) -> Result<usize, Malformed> {
        let n = self.u64()?;
        if n > (self.rest.len() / min_size.max(1)) as u64 {
            return Err(malformed(format!(
                "{n} items announced, {} bytes left",
                self.rest.len()
            )));
        }
        Ok(n as usize)
    }
    fn bytes(&mut self) -> Result<&'a [u8], Malformed> {
        let n = self.count(1)?;
        self.take(n)
    }
    fn string(&mut self) -> Result<String, Malformed> {
        String::from_utf8(self.bytes()?.to_vec()).map_err(|_| malformed("text that is not UTF-8"))
    }
    fn rstring(&mut self) -> Result<RString, Malformed> {
        self.string().map(RString::from)
    }
    fn list<T>(
        &mut self,
        mut item: impl FnMut(&mut Self) -> Result<T, Malformed>,
    ) -> Result<Vec<T>, Malformed> {
        let n = self.count(8)?;
        (0..n).map(|_| item(self)).collect()
    }
    fn finish<T>(self, value: T) -> Result<T, Malformed> {
        if self.rest.is_empty() {
            Ok(value)
        } else {
            Err(malformed(format!(
                "{} bytes after the end",
                self.rest.len()
            )))
        }
    }

    fn message(&mut self) -> Result<Message, Malformed> {
        let meta = MessageMeta {
            timestamp_ns: self.u64()?,
            session: self.u64()?,
            utterance: self.u64()?,
        };
        let payload = match self.u8()? {
            0 => {
                let sample_rate = self.u32()?;
                let channels = self.u16()?;
                let n = self.count(4)?;
                let samples: RVec<f32> = self
                    .take(n * 4)?
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes(b.try_into().expect("4")))
                    .collect();
                Payload::Audio(AudioFrame {
                    sample_rate,
                    channels,
                    samples: RArc::new(samples),
                })
            }
            1 => Payload::Text(RBox::new(TextMessage {
                text: self.rstring()?,
                is_final: self.u8()? != 0,
                language: self.rstring()?,
                confidence: self.f32()?,
            })),
            2 => {
                let name = self.rstring()?;
                let confidence = self.f32()?;
                let text = self.rstring()?;
                let slots = self.list(|r| {
                    Ok(Slot {
                        name: r.rstring()?,
                        raw: r.rstring()?,
                        start: r.u32()?,
                        end: r.u32()?,
                        value: r.value(0)?,
                    })
                })?;
                let alternatives = self.list(|r| {
                    Ok(IntentAlternative {
                        name: r.rstring()?,
                        confidence: r.f32()?,
                    })
                })?;
                Payload::Intent(RBox::new(IntentMessage {
                    name,
                    confidence,
                    text,
                    slots: slots.into(),
                    alternatives: alternatives.into(),
                }))
            }
            3 => {
                let width = self.u32()?;
                let height = self.u32()?;
                let format = match self.u8()? {
                    0 => PixelFormat::Gray8,
                    1 => PixelFormat::Rgb8,
                    2 => PixelFormat::Rgba8,
                    other => return Err(malformed(format!("unknown pixel format {other}"))),
                };
                let data = self.bytes()?.to_vec();
                Payload::Image(ImageFrame {
                    width,
                    height,
                    format,
                    data: RArc::new(data.into()),
                })
            }
            4 => Payload::Control(match self.u8()? {
                0 => ControlEvent::UtteranceStart,
                1 => ControlEvent::UtteranceEnd,
                2 => ControlEvent::Wake,
                3 => ControlEvent::Cancel,
                4 => ControlEvent::EndOfStream,
                other => return Err(malformed(format!("unknown control event {other}"))),
            }),
            5 => Payload::Value(self.value(0)?),
            other => return Err(malformed(format!("unknown payload {other}"))),
        };
        Ok(Message { meta, payload })
    }

    fn value(&mut self, depth: u32) -> Result<Value, Malformed> {
        if depth > MAX_DEPTH {
            return Err(malformed(format!("values nested over {MAX_DEPTH} deep")));
        }
        Ok(match self.u8()? {
            0 => Value::Null,
            1 => Value::Bool(self.u8()? != 0),
            2 => Value::Int(self.u64()? as i64),
            3 => Value::Float(self.f64()?),
            4 => Value::Str(self.rstring()?),
            5 => Value::List(self.list(|r| r.value(depth + 1))?.into()),
            6 => Value::Map(
                self.list(|r| {
                    Ok(ValueEntry {
                        key: r.rstring()?,
                        value: r.value(depth + 1)?,
                    })
                })?
                .into(),
            ),
            other => return Err(malformed(format!("unknown value {other}"))),
        })
    }

    fn error(&mut self) -> Result<PluginError, Malformed> {
        let kind = match self.u8()? {
            0 => PluginErrorKind::InvalidConfig,
            1 => PluginErrorKind::UnknownKind,
            2 => PluginErrorKind::Failed,
            3 => PluginErrorKind::Panicked,
            4 => PluginErrorKind::Unsupported,
            other => return Err(malformed(format!("unknown error kind {other}"))),
        };
        Ok(PluginError {
            kind,
            message: self.rstring()?,
            hint: self.rstring()?,
            line: self.u32()?,
            column: self.u32()?,
        })
    }
}

#[cfg(test)]
mod tests;
