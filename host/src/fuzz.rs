//! Doors for the fuzz targets (`tests/fuzz/`, replayed by `tests/fuzz.rs`)
//! into the internals that read untrusted bytes. Not an API: these follow
//! the internals and change with them.

use hark_plugin_api::Message;

use crate::{
    loader::PluginSet,
    pipeline::{self, AudioTarget, PipelineSource},
    runtime::AudioConverter,
};

/// Checks `text` as a pipeline file (with `set_args`) against no plugins
/// and renders every diagnostic as `hark check` would. Returns how many
/// problems were found.
pub fn check_pipeline(text: &str, set_args: Vec<String>) -> usize {
    let source = PipelineSource {
        name: "fuzz.ron".into(),
        text: text.into(),
        set_args,
    };
    let plugins = PluginSet {
        plugins: Vec::new(),
        rejected: Vec::new(),
        searched: Vec::new(),
    };
    match pipeline::check(&source, &plugins) {
        Ok(_) => 0,
        Err(diagnostics) => {
            let rendered = source.sources().render(&diagnostics, false);
            assert!(
                diagnostics.is_empty() || !rendered.is_empty(),
                "every problem is rendered"
            );
            diagnostics.len()
        }
    }
}

/// Sends `messages` through a link converting to `sample_rate` and
/// `channels` (0: as arriving), then flushes it; returns what came out.
pub fn convert(sample_rate: u32, channels: u16, messages: Vec<Message>) -> Vec<Message> {
    let mut converter = AudioConverter::new(AudioTarget {
        sample_rate,
        channels,
    });
    let mut out = Vec::new();
    for m in messages {
        out.extend(converter.convert(m));
    }
    out.extend(converter.flush());
    out
}

/// Converts `bytes` as a CTranslate2 Whisper `model.bin` (with no
/// vocabulary and mel filters, so a model that gets that far is refused
/// there) into nothing.
pub fn ctranslate2(bytes: &[u8]) -> Result<(), String> {
    crate::whisper_ggml::convert(bytes, "", &[], false, &mut std::io::sink())
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Reads `npz` as openai-whisper's `mel_filters.npz` for 80 mel bands;
/// returns how many values it holds.
pub fn mel_filters(npz: &[u8]) -> Result<usize, String> {
    crate::whisper_ggml::read_mel_filters(npz, 80).map_err(|e| e.to_string())
}

/// Reads `bytes` as the stream between the host and an isolated node's
/// process: frame after frame, each decoded both ways (as a request and
/// as an answer). Whatever decodes re-encodes to a frame that decodes to
/// the same bytes again. Returns how many frames decoded.
pub fn isolate_frames(bytes: &[u8]) -> usize {
    use crate::runtime::isolate::wire::{read_frame, ToHost, ToNode};
    let mut stream = bytes;
    let mut body = Vec::new();
    let mut decoded = 0;
    while let Ok(Some(tag)) = read_frame(&mut stream, &mut body) {
        if let Ok(request) = ToNode::read(tag, &body) {
            decoded += 1;
            let once = request.frame().into_bytes();
            let again = ToNode::read(once[4], &once[5..]).expect("a frame we wrote reads back");
            assert_eq!(
                again.frame().into_bytes(),
                once,
                "request re-encodes the same"
            );
        }
        if let Ok(answer) = ToHost::read(tag, &body) {
            decoded += 1;
            let frame = |a: &ToHost| match a {
                ToHost::Emit(port, message) => ToHost::emit_frame(*port, message),
                ToHost::Done(done) => ToHost::done_frame(done),
            };
            let once = frame(&answer).into_bytes();
            let again = ToHost::read(once[4], &once[5..]).expect("a frame we wrote reads back");
            assert_eq!(
                frame(&again).into_bytes(),
                once,
                "answer re-encodes the same"
            );
        }
    }
    decoded
}
