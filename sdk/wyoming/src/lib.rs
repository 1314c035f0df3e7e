//! The Wyoming protocol's framing (rhasspy/wyoming 1.x), as `hark serve`
//! and the `wyoming` plugin speak it: one JSON header
//! line, `{"type": ..., "data_length": N, "payload_length": M, ...}`,
//! then `N` bytes of JSON merged into the header's `data`, then `M`
//! bytes of payload (PCM audio for `audio-chunk`).
//!
//! **Invariant:** nothing read from the peer sizes an allocation before
//! it is checked against [`Limits`]: a header line is read at most
//! `max_header` bytes at a time, and a `data_length` or
//! `payload_length` above its limit is refused before a byte of it is
//! read. A peer that sends garbage gets a [`FrameError`], not a server
//! that grows.

use std::{
    io::{self, BufRead, BufReader, BufWriter, Read, Write},
    net::{TcpStream, ToSocketAddrs},
    time::{Duration, Instant},
};

use serde_json::{Map, Value};

/// The wyoming release whose events this implements; written in every
/// header as `version`, as the Python library does.
pub const PROTOCOL_VERSION: &str = "1.10.2";

/// One event.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Event {
    /// `describe`, `audio-chunk`, `transcript`, ...
    pub kind: String,
    /// The event's data (header `data` merged with the data block).
    pub data: Map<String, Value>,
    /// The payload; empty when there is none.
    pub payload: Vec<u8>,
}

impl Event {
    /// An event without data or payload.
    pub fn new(kind: &str) -> Event {
        Event {
            kind: kind.to_string(),
            ..Event::default()
        }
    }

    /// An event with `data` (a JSON object; anything else is ignored).
    pub fn with_data(kind: &str, data: Value) -> Event {
        Event {
            kind: kind.to_string(),
            data: match data {
                Value::Object(map) => map,
                _ => Map::new(),
            },
            payload: Vec::new(),
        }
    }

    /// `data[key]` as a string.
    pub fn str(&self, key: &str) -> Option<&str> {
        self.data.get(key).and_then(Value::as_str)
    }

    /// `data[key]` as an unsigned integer.
    pub fn u64(&self, key: &str) -> Option<u64> {
        self.data.get(key).and_then(Value::as_u64)
    }
}

/// Bounds on what a peer may send.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest header line, in bytes.
    pub max_header: usize,
    /// Largest data block.
    pub max_data: usize,
    /// Largest payload (one audio chunk).
    pub max_payload: usize,
}

impl Default for Limits {
    fn default() -> Self {
        // Home Assistant sends 1024-sample chunks (2 KiB at 16 bit); a
        // second of 48 kHz stereo 32-bit audio is 384 KiB.
        Limits {
            max_header: 64 * 1024,
            max_data: 1024 * 1024,
            max_payload: 1024 * 1024,
        }
    }
}

/// Why a frame could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The connection failed or timed out.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The connection closed in the middle of an event.
    #[error("the connection closed in the middle of an event")]
    Truncated,
    /// A part of the event is larger than allowed.
    #[error("{what} of {len} bytes is over the limit of {max} bytes")]
    TooLarge {
        /// `header line`, `data`, `payload`.
        what: &'static str,
        /// Its announced or read length.
        len: u64,
        /// The limit.
        max: usize,
    },
    /// Not a Wyoming event.
    #[error("malformed event: {0}")]
    Malformed(String),
}

impl FrameError {
    /// A fixed word for metrics and logs.
    pub fn reason(&self) -> &'static str {
        match self {
            FrameError::Io(_) | FrameError::Truncated => "disconnected",
            FrameError::TooLarge { .. } => "too-large",
            FrameError::Malformed(_) => "malformed",
        }
    }
}

/// Reads the next event; `Ok(None)` at a clean end of the connection.
pub fn read_event(reader: &mut impl BufRead, limits: &Limits) -> Result<Option<Event>, FrameError> {
    let mut line = Vec::new();
    let read = reader
        .by_ref()
        .take(limits.max_header as u64 + 1)
        .read_until(b'\n', &mut line)?;
    if read == 0 {
        return Ok(None);
    }
    if line.last() != Some(&b'\n') {
        if line.len() > limits.max_header {
            return Err(FrameError::TooLarge {
                what: "header line",
                len: line.len() as u64,
                max: limits.max_header,
            });
        }
        return Err(FrameError::Truncated);
    }
    let header: Value = serde_json::from_slice(&line)
        .map_err(|e| FrameError::Malformed(format!("the header line is not JSON ({e})")))?;
    let Value::Object(mut header) = header else {
        return Err(FrameError::Malformed(
            "the header is not a JSON object".into(),
        ));
    };
    let kind = match header.remove("type") {
        Some(Value::String(kind)) if !kind.is_empty() => kind,
        _ => return Err(FrameError::Malformed("the header has no `type`".into())),
    };
    let mut data = match header.remove("data") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(map)) => map,
        Some(_) => return Err(FrameError::Malformed("`data` is not an object".into())),
    };
    let length = |key: &str| -> Result<u64, FrameError> {
        match header.get(key) {
            None | Some(Value::Null) => Ok(0),
            Some(v) => v
                .as_u64()
                .ok_or_else(|| FrameError::Malformed(format!("`{key}` is not a byte count"))),
        }
    };
    let data_length = length("data_length")?;
    let payload_length = length("payload_length")?;
    if data_length > limits.max_data as u64 {
        return Err(FrameError::TooLarge {
            what: "data",
            len: data_length,
            max: limits.max_data,
        });
    }
    if payload_length > limits.max_payload as u64 {
        return Err(FrameError::TooLarge {
            what: "payload",
            len: payload_length,
            max: limits.max_payload,
        });
    }
    if data_length > 0 {
        let block = read_exactly(reader, data_length as usize)?;
        match serde_json::from_slice(&block) {
            Ok(Value::Object(more)) => data.extend(more),
            Ok(_) => {
                return Err(FrameError::Malformed(
                    "the data block is not an object".into(),
                ))
            }
            Err(e) => {
                return Err(FrameError::Malformed(format!(
                    "the data block is not JSON ({e})"
                )))
            }
        }
    }
    let payload = read_exactly(reader, payload_length as usize)?;
    Ok(Some(Event {
        kind,
        data,
        payload,
    }))
}

fn read_exactly(reader: &mut impl Read, len: usize) -> Result<Vec<u8>, FrameError> {
    let mut buffer = vec![0; len];
    reader.read_exact(&mut buffer).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => FrameError::Truncated,
        _ => FrameError::Io(e),
    })?;
    Ok(buffer)
}

/// Writes `event` (the caller flushes).
pub fn write_event(writer: &mut impl Write, event: &Event) -> io::Result<()> {
    let mut header = Map::new();
    header.insert("type".into(), Value::String(event.kind.clone()));
    header.insert("version".into(), Value::String(PROTOCOL_VERSION.into()));
    let data = if event.data.is_empty() {
        None
    } else {
        let bytes = serde_json::to_vec(&event.data).map_err(io::Error::other)?;
        header.insert("data_length".into(), bytes.len().into());
        Some(bytes)
    };
    if !event.payload.is_empty() {
        header.insert("payload_length".into(), event.payload.len().into());
    }
    let mut line = serde_json::to_vec(&header).map_err(io::Error::other)?;
    line.push(b'\n');
    writer.write_all(&line)?;
    if let Some(data) = data {
        writer.write_all(&data)?;
    }
    writer.write_all(&event.payload)
}

/// Samples in [-1, 1] as 16-bit little-endian PCM (Wyoming's `width: 2`).
pub fn pcm16_from_f32(samples: &[f32]) -> Vec<u8> {
    samples
        .iter()
        .flat_map(|s| ((s.clamp(-1.0, 1.0) * 32_767.0).round() as i16).to_le_bytes())
        .collect()
}

/// 16-bit little-endian PCM as samples in [-1, 1) (an odd last byte is
/// ignored).
pub fn f32_from_pcm16(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]) as f32 / 32_768.0)
        .collect()
}

/// A blocking connection to a Wyoming server.
pub struct Client {
    reader: BufReader<TcpStream>,
    writer: BufWriter<TcpStream>,
    limits: Limits,
}

impl Client {
    /// Connects to `address` (`host:port`), giving up after `timeout`.
    pub fn connect(address: &str, timeout: Duration) -> io::Result<Client> {
        let mut last = io::Error::new(
            io::ErrorKind::NotFound,
            format!("`{address}` has no address"),
        );
        for addr in address.to_socket_addrs()? {
            match TcpStream::connect_timeout(&addr, timeout) {
                Ok(stream) => {
                    stream.set_nodelay(true)?;
                    stream.set_write_timeout(Some(timeout))?;
                    return Ok(Client {
                        reader: BufReader::new(stream.try_clone()?),
                        writer: BufWriter::new(stream),
                        limits: Limits::default(),
                    });
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Queues `event` (sent at the next [`Client::flush`] or when the
    /// buffer fills).
    pub fn send(&mut self, event: &Event) -> io::Result<()> {
        write_event(&mut self.writer, event)
    }

    /// Sends what is queued.
    pub fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }

    /// The next event, waiting until `deadline` at most; `Ok(None)` when
    /// the server closed the connection.
    pub fn receive(&mut self, deadline: Instant) -> Result<Option<Event>, FrameError> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(FrameError::Io(io::ErrorKind::TimedOut.into()));
        }
        self.reader.get_ref().set_read_timeout(Some(left))?;
        read_event(&mut self.reader, &self.limits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read_all(bytes: &[u8]) -> Vec<Result<Option<Event>, FrameError>> {
        let mut reader = io::BufReader::new(bytes);
        let mut out = Vec::new();
        loop {
            let r = read_event(&mut reader, &Limits::default());
            let end = !matches!(r, Ok(Some(_)));
            out.push(r);
            if end {
                return out;
            }
        }
    }

    #[test]
    fn an_event_written_is_read_back_with_data_and_payload() {
        let mut event = Event::with_data(
            "audio-chunk",
            json!({"rate": 16000, "width": 2, "channels": 1}),
        );
        event.payload = vec![1, 2, 3, 4];
        let mut bytes = Vec::new();
        write_event(&mut bytes, &event).unwrap();
        write_event(&mut bytes, &Event::new("audio-stop")).unwrap();
        let header =
            std::str::from_utf8(&bytes[..bytes.iter().position(|&b| b == b'\n').unwrap()]).unwrap();
        assert!(header.contains("\"data_length\"") && header.contains("\"payload_length\":4"));
        let events = read_all(&bytes);
        assert_eq!(events[0].as_ref().unwrap().as_ref(), Some(&event));
        assert_eq!(
            events[1].as_ref().unwrap().as_ref().unwrap().kind,
            "audio-stop"
        );
        assert!(matches!(events[2], Ok(None)));
    }

    #[test]
    fn data_in_the_header_and_in_the_block_are_merged() {
        let block = br#"{"text":"hello"}"#;
        let bytes = [
            format!(
                r#"{{"type":"transcript","data":{{"language":"en"}},"data_length":{}}}"#,
                block.len()
            )
            .as_bytes(),
            b"\n",
            block,
        ]
        .concat();
        let event = read_all(&bytes).remove(0).unwrap().unwrap();
        assert_eq!(event.str("text"), Some("hello"));
        assert_eq!(event.str("language"), Some("en"));
    }

    #[test]
    fn hostile_frames_are_refused_before_anything_is_allocated_for_them() {
        let huge = b"{\"type\":\"audio-chunk\",\"payload_length\":100000000000}\n";
        assert!(matches!(
            read_all(huge)[0],
            Err(FrameError::TooLarge {
                what: "payload",
                ..
            })
        ));
        let long_line = vec![b'x'; 70 * 1024];
        assert!(matches!(
            read_all(&long_line)[0],
            Err(FrameError::TooLarge {
                what: "header line",
                ..
            })
        ));
        for garbage in [
            &b"\x00\x01garbage\n"[..],
            b"[1,2]\n",
            b"{\"data\":{}}\n",
            b"{\"type\":\"x\",\"data_length\":-1}\n",
            b"{\"type\":\"x\",\"data_length\":2}\n[]",
            b"{\"type\":\"x\",\"data\":3}\n",
        ] {
            assert!(
                matches!(read_all(garbage)[0], Err(FrameError::Malformed(_))),
                "{:?}",
                String::from_utf8_lossy(garbage)
            );
        }
    }

    #[test]
    fn pcm16_round_trips_within_one_step() {
        let samples = [0.0, 0.5, -0.5, 1.0, -1.0, 0.25];
        let back = f32_from_pcm16(&pcm16_from_f32(&samples));
        for (a, b) in samples.iter().zip(&back) {
            assert!((a - b).abs() < 1.0 / 16_000.0, "{a} vs {b}");
        }
        assert_eq!(
            pcm16_from_f32(&[0.0, 1.0, -1.0, 2.0]),
            [0, 0, 0xff, 0x7f, 0x01, 0x80, 0xff, 0x7f],
            "little-endian, clamped"
        );
    }

    #[test]
    fn a_connection_closed_mid_event_is_truncated_not_a_clean_end() {
        assert!(matches!(
            read_all(b"{\"type\":\"x\"")[0],
            Err(FrameError::Truncated)
        ));
        assert!(matches!(
            read_all(b"{\"type\":\"x\",\"payload_length\":10}\n123")[0],
            Err(FrameError::Truncated)
        ));
    }
}
