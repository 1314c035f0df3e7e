//! Fuzz targets: every reader of untrusted bytes, each as a function of
//! one byte slice that panics when an invariant breaks.
//!
//! Two drivers call them: libFuzzer through cargo-fuzz (`tests/fuzz/`,
//! `./x fuzz [TARGET] [SECONDS]`: coverage-guided, long runs), and
//! `tests/fuzz.rs` in the test suite, which replays the committed corpus
//! (`tests/fuzz/corpus/TARGET/`, crashes found included) and a fixed
//! number of seeded mutations of it on every CI run.

use std::{io::Cursor, path::PathBuf, sync::OnceLock};

use hark_sdk::{
    api::{ControlEvent, Message, MessageMeta, Payload},
    audio_message, check_audio_format,
    testing::Harness,
    ConfigIssue, Field, Settings,
};
use serde::{Deserialize, Serialize};

/// A fuzz target: panics when an invariant breaks on `data`.
pub type Target = fn(data: &[u8]);

/// Every target, by name (the names of `tests/fuzz/fuzz_targets/*.rs`).
pub const TARGETS: &[(&str, Target)] = &[
    ("ron", ron),
    ("pipeline", pipeline),
    ("settings", settings),
    ("wav", wav),
    ("convert", convert),
    ("wyoming", wyoming),
    ("ctranslate2", ctranslate2),
    ("npz", npz),
    ("safetensors", safetensors),
    ("wordpiece", wordpiece),
    ("isolate", isolate),
    ("ocr", ocr),
    ("c_bridge", c_bridge),
];

/// The pipeline reader against `ron`, the parser plugins use: no panic,
/// spans inside the text, and nothing `ron` reads is refused (except for
/// nesting deeper than the reader allows, on purpose).
pub fn ron(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let ours = hark::pipeline::ron_spans::parse(&text);
    match &ours {
        Ok(value) => check_spans(value, text.len()),
        Err(e) => {
            assert!(
                e.span.start <= e.span.end && e.span.end <= text.len(),
                "{e:?}"
            );
            if ron::from_str::<ron::Value>(&text).is_ok() && !e.message.contains("nest more than") {
                panic!("`ron` reads {text:?}, the pipeline reader does not: {e:?}");
            }
        }
    }
}

fn check_spans(value: &hark::pipeline::ron_spans::Value, len: usize) {
    use hark::pipeline::ron_spans::Kind;
    assert!(value.span.start <= value.span.end && value.span.end <= len);
    let children: Vec<&hark::pipeline::ron_spans::Value> = match &value.kind {
        Kind::List(items) => items.iter().collect(),
        Kind::Map(entries) => entries.iter().flat_map(|(k, v)| [k, v]).collect(),
        Kind::Struct(_, fields) => fields.iter().map(|(_, v)| v).collect(),
        Kind::Tuple(_, items) => items.iter().collect(),
        _ => Vec::new(),
    };
    for child in children {
        assert!(
            value.span.start <= child.span.start && child.span.end <= value.span.end,
            "a child's span lies inside its parent's"
        );
        check_spans(child, len);
    }
}

/// A pipeline file checked and its problems rendered, as `hark check`
/// does; the first line, if the text has several, is a `--set` argument.
pub fn pipeline(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (set, file) = match text.split_once('\n') {
        Some((first, rest)) if first.contains('=') => (vec![first.to_string()], rest),
        _ => (Vec::new(), &text[..]),
    };
    hark::fuzz::check_pipeline(file, set);
}

/// Settings of every value type a plugin uses.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct AllKinds {
    name: String,
    count: u32,
    gain: f32,
    on: bool,
    list: Vec<String>,
    pairs: Vec<(String, u64)>,
    nested: Option<Box<AllKinds>>,
}

impl Settings for AllKinds {
    fn fields() -> Vec<Field> {
        vec![
            Field::string("name", "a string"),
            Field::integer("count", "u32", "an integer"),
            Field::float("gain", "f32", "a float"),
            Field::bool("on", "a flag"),
            Field::ron("list", "[String]", "a list"),
            Field::ron("pairs", "[(String, u64)]", "tuples"),
            Field::ron("nested", "Option<AllKinds>", "itself, nested"),
        ]
    }

    fn validate(&self) -> Result<(), ConfigIssue> {
        Ok(())
    }
}

/// Plugin settings parsing (the sdk's field scanner, then serde + ron),
/// and locating a field for an error message.
pub fn settings(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Err(issue) = hark_sdk::parse_settings::<AllKinds>(&text) {
        if let Some((line, column)) = issue.position {
            assert!(line >= 1 && column >= 1, "{issue:?}");
        }
    }
    for field in ["name", "list", "nested"] {
        if let Some((line, column)) = hark_sdk::locate_field(&text, field) {
            assert!(line >= 1 && column >= 1);
            assert!(line as usize <= text.lines().count().max(1) + 1);
        }
    }
}

fn scratch_file(name: &str) -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("hark-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        dir
    });
    // One file per thread: the replay test runs targets in parallel.
    dir.join(format!("{name}-{:?}", std::thread::current().id()))
}

/// The `wav-reader` node on a file of these bytes: refused at creation,
/// or frames in a format Hark handles, never a panic.
pub fn wav(data: &[u8]) {
    let path = scratch_file("in.wav");
    std::fs::write(&path, data).expect("writing the scratch WAV");
    let config = format!("(path: {:?}, frame_ms: 20)", path.display().to_string());
    let Ok(mut node) = Harness::new::<hark_plugin_audio::wav_reader::WavReader>(&config) else {
        return;
    };
    // A 20 ms frame per call: 10 000 calls read up to 200 s.
    let _ = node.run_source(10_000);
    for (_, message) in node.take_outputs() {
        if let Payload::Audio(frame) = &message.payload {
            assert!(check_audio_format(frame.sample_rate, frame.channels).is_ok());
            assert_eq!(frame.samples.len() % usize::from(frame.channels), 0);
        }
    }
}

/// Reads bytes as numbers, then zeros when they run out.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }

    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }
}

/// A link's audio conversion (channel mixing, resampling) on a sequence
/// of frames in any format, with control events between: out comes audio
/// in the link's format only, whole frames, finite samples.
pub fn convert(data: &[u8]) {
    let mut b = Bytes(data);
    const RATES: [u32; 6] = [0, 8_000, 16_000, 22_050, 44_100, 48_000];
    let target_rate = RATES[usize::from(b.u8()) % RATES.len()];
    let target_channels = u16::from(b.u8() % 3);
    let mut messages = Vec::new();
    while !b.0.is_empty() && messages.len() < 64 {
        let meta = MessageMeta::default();
        let control = |event| Message::new(meta, Payload::Control(event));
        match b.u8() % 8 {
            0 => messages.push(control(ControlEvent::Cancel)),
            1 => messages.push(control(ControlEvent::UtteranceEnd)),
            2 => messages.push(control(ControlEvent::UtteranceStart)),
            kind => {
                // Mostly usual rates; sometimes any 32-bit rate at all.
                let rate = if kind == 3 {
                    b.u32()
                } else {
                    RATES[1 + usize::from(b.u8()) % (RATES.len() - 1)]
                };
                let channels = if kind == 4 {
                    u16::from(b.u8()) * 300
                } else {
                    u16::from(1 + b.u8() % 4)
                };
                let len = usize::from(b.u8()) * 16;
                let samples = (0..len).map(|_| f32::from(b.u8() as i8) / 128.0).collect();
                messages.push(audio_message(meta, rate, channels, samples));
            }
        }
    }
    for m in hark::fuzz::convert(target_rate, target_channels, messages) {
        if let Payload::Audio(frame) = &m.payload {
            if target_rate != 0 {
                assert_eq!(frame.sample_rate, target_rate);
            }
            if target_channels != 0 {
                assert_eq!(frame.channels, target_channels);
            }
            assert!(check_audio_format(frame.sample_rate, frame.channels).is_ok());
            assert_eq!(frame.samples.len() % usize::from(frame.channels), 0);
            assert!(frame.samples.iter().all(|s| s.is_finite()));
        }
    }
}

/// The Wyoming frame reader on a stream of these bytes, with small
/// limits: events or a clean error, never more memory than the limits.
pub fn wyoming(data: &[u8]) {
    let limits = hark_wyoming::Limits {
        max_header: 1024,
        max_data: 4096,
        max_payload: 8192,
    };
    let mut reader = Cursor::new(data);
    for _ in 0..1000 {
        match hark_wyoming::read_event(&mut reader, &limits) {
            Ok(Some(event)) => assert!(event.payload.len() <= limits.max_payload),
            Ok(None) | Err(_) => return,
        }
    }
}

/// The whisper converter's CTranslate2 reader.
pub fn ctranslate2(data: &[u8]) {
    let _ = hark::fuzz::ctranslate2(data);
}

/// The whisper converter's `mel_filters.npz` reader (zip + NPY).
pub fn npz(data: &[u8]) {
    if let Ok(values) = hark::fuzz::mel_filters(data) {
        assert!(values > 0);
    }
}

/// A safetensors weight file: mapped, listed, every tensor read.
pub fn safetensors(data: &[u8]) {
    let path = scratch_file("weights.safetensors");
    std::fs::write(&path, data).expect("writing the scratch weights");
    let Ok(weights) = hark::inference::weights::open(&path) else {
        return;
    };
    for name in weights.names() {
        if let Ok(view) = weights.get(&name) {
            let elements: usize = view.shape.iter().product();
            assert_eq!(view.bytes.len(), elements * view.dtype.size(), "{name}");
        }
    }
}

/// The MiniLM WordPiece tokenizer on any text: ids from the vocabulary,
/// `[CLS]` first, `[SEP]` last, never more than asked for.
pub fn wordpiece(data: &[u8]) {
    static TOKENIZER: OnceLock<hark_minilm::Tokenizer> = OnceLock::new();
    let tokenizer = TOKENIZER.get_or_init(|| {
        let vocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\nturn\non\nthe\nlight\n##s\nk\n##itchen\n##ing\né\n中\n,\n.\n!\n'\n##'\n0\n1\n##2";
        hark_minilm::Tokenizer::from_vocab(vocab).expect("a vocabulary")
    });
    let Some((&max, text)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(text);
    let max = usize::from(max);
    let ids = tokenizer.encode(&text, max);
    assert!(ids.len() <= max.max(2), "{} ids for max {max}", ids.len());
    assert_eq!(ids.first(), Some(&2));
    assert_eq!(ids.last(), Some(&3));
    assert!(ids.iter().all(|&id| id < 22));
    let words: Vec<&str> = text.split_whitespace().collect();
    let pieces = tokenizer.encode_words(&words, max);
    assert!(pieces.ids.len() <= max.max(2));
    assert!(pieces.first_piece.iter().all(|&i| i < pieces.ids.len()));
}

/// The frames between the host and an isolated node's process: read
/// defensively (a dying process may leave half a frame), and what reads
/// re-encodes canonically.
pub fn isolate(data: &[u8]) {
    hark::fuzz::isolate_frames(data);
}

/// OCR post-processing on model outputs made of arbitrary bytes: boxes
/// from the detector's map stay inside the image, crops and recogniser
/// inputs have their shapes, CTC decoding and reading order keep every
/// box.
pub fn ocr(data: &[u8]) {
    hark_plugin_vision::ocr::fuzz::post_processing(data);
}

/// The C bridge: messages C code hands to `hark_emit` (any payload tag,
/// length, rate, channel count) are converted or refused, never
/// misread, and convert back to the view a C node gets; settings become
/// the text C code reads.
pub fn c_bridge(data: &[u8]) {
    hark_plugin_c::fuzz::message_conversion(data);
}
