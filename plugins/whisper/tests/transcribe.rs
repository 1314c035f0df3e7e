//! The `transcribe` node run by the sdk harness on espeak-ng speech:
//! utterances delimited by VAD events, partials, the final transcript,
//! and the errors for wrong audio and a missing model.

use hark_plugin_whisper::transcribe::Transcribe;
use hark_sdk::{
    api::{ControlEvent, Directory, Message, MessageMeta, Payload},
    audio_message,
    testing::Harness,
};

/// tiny.en, installed on first use; the harness has a models directory
/// of its own, so configs name the file.
fn model() -> String {
    let dir = hark::dirs::directory(Directory::Models);
    let entry = hark::catalog::find("whisper-tiny.en").unwrap();
    hark::catalog::fetch(entry, &dir, false).expect("fetching whisper-tiny.en");
    let path = entry.dir(&dir).join("ggml-tiny.en.bin");
    path.display().to_string()
}

fn config(extra: &str) -> String {
    format!("(model: {:?}, {extra})", model())
}

fn event(event: ControlEvent, utterance: u64) -> Message {
    Message::new(
        MessageMeta {
            utterance,
            ..MessageMeta::default()
        },
        Payload::Control(event),
    )
}

fn texts(outputs: &[(u32, Message)]) -> Vec<(String, bool, u64)> {
    outputs
        .iter()
        .filter_map(|(_, m)| match &m.payload {
            Payload::Text(t) => Some((t.text.to_string(), t.is_final, m.meta.utterance)),
            _ => None,
        })
        .collect()
}

#[test]
fn an_utterance_gives_partials_then_one_final_transcript() {
    let speech = hark_sdk::testing::speech("turn on the kitchen lights", 16_000).unwrap();
    let mut h = Harness::new::<Transcribe>(&config("partial_interval_ms: 500")).unwrap();
    h.push(0, event(ControlEvent::UtteranceStart, 7)).unwrap();
    for chunk in speech.chunks(512) {
        h.push(
            0,
            audio_message(MessageMeta::default(), 16_000, 1, chunk.to_vec()),
        )
        .unwrap();
    }
    h.push(0, event(ControlEvent::UtteranceEnd, 7)).unwrap();
    let out = texts(&h.finish().unwrap());
    let (finals, partials): (Vec<_>, Vec<_>) = out.iter().partition(|(_, f, _)| *f);
    assert_eq!(finals.len(), 1, "{out:?}");
    let (text, _, utterance) = &finals[0];
    assert_eq!(*utterance, 7);
    let normalised: String = text
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ')
        .collect();
    assert_eq!(normalised.trim(), "turn on the kitchen lights", "{text}");
    assert!(
        !partials.is_empty(),
        "a 1.5 s utterance re-decoded every 0.5 s gives partials"
    );
    // Audio between utterances (after an end, before a start) is not speech.
    let mut h = Harness::new::<Transcribe>(&config("")).unwrap();
    h.push(0, event(ControlEvent::UtteranceEnd, 1)).unwrap();
    h.push(
        0,
        audio_message(MessageMeta::default(), 16_000, 1, speech.clone()),
    )
    .unwrap();
    assert!(texts(&h.finish().unwrap()).is_empty());
}

#[test]
fn an_utterance_the_vad_never_ends_is_transcribed_in_bounded_pieces() {
    // The same sentence three times within one utterance that never ends,
    // with max_utterance_s 2: each time 2 s have gathered, a final
    // transcript of that piece, the utterance going on (its id kept).
    let speech = hark_sdk::testing::speech("turn on the kitchen lights", 16_000).unwrap();
    let mut h = Harness::new::<Transcribe>(&config("max_utterance_s: 2")).unwrap();
    h.push(0, event(ControlEvent::UtteranceStart, 9)).unwrap();
    let mut audio = Vec::new();
    for _ in 0..3 {
        audio.extend_from_slice(&speech);
        audio.resize(audio.len().div_ceil(32_000) * 32_000, 0.0); // to 2 s
    }
    // Pieces are cut at the first chunk that reaches 2 s, a little later
    // each time: half a second more lets the third one fill.
    audio.resize(audio.len() + 8_000, 0.0);
    for chunk in audio.chunks(512) {
        h.push(
            0,
            audio_message(MessageMeta::default(), 16_000, 1, chunk.to_vec()),
        )
        .unwrap();
    }
    let out = texts(&h.take_outputs());
    let finals: Vec<_> = out.iter().filter(|(_, f, _)| *f).collect();
    assert!(
        finals.len() >= 3,
        "a final transcript per 2 s piece before any UtteranceEnd: {out:?}"
    );
    assert!(finals.iter().all(|(_, _, u)| *u == 9), "{out:?}");
    assert!(
        finals
            .iter()
            .any(|(t, _, _)| t.to_lowercase().contains("kitchen")),
        "{out:?}"
    );
}

#[test]
fn wrong_audio_and_missing_models_are_refused_clearly() {
    let mut h = Harness::new::<Transcribe>(&config("")).unwrap();
    let error = h
        .push(
            0,
            audio_message(MessageMeta::default(), 44_100, 2, vec![0.0; 882]),
        )
        .unwrap_err();
    assert!(
        error
            .message
            .contains("needs 16000 Hz mono audio, got 44100 Hz with 2 channel(s)"),
        "{error:?}"
    );
    let error = Harness::new::<Transcribe>("(model: \"/nowhere/ggml-x.bin\")").unwrap_err();
    assert!(error.message.contains("is missing"), "{error:?}");
    let error = Harness::new::<Transcribe>("(model: \"small\")").unwrap_err();
    assert!(
        error.hint.contains("hark models fetch whisper-small"),
        "{error:?}"
    );
    let error = Harness::new::<Transcribe>(&config("language: \"de\"")).unwrap_err();
    assert!(error.message.contains("English-only"), "{error:?}");
    assert!(error.hint.contains("whisper-base"), "{error:?}");
    let error = Harness::new::<Transcribe>("(strategy: \"sampling\")").unwrap_err();
    assert!(error.message.contains("strategy"), "{error:?}");
}
