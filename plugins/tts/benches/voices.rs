//! Text to speech, `espeak` against `piper`, on the same 20 sentences in
//! one run: time to the first 100 ms of audio after the text arrives
//! (what a listener waits for), real-time factor (synthesis time / audio
//! time), and WAVs with a `labels.tsv` for the intelligibility round trip
//! (`hark eval pipelines/transcribe.ron target/bench-tts/KIND`: whisper's
//! word error rate on each voice).
//!
//!   cargo bench -p hark-plugin-tts --bench voices        (./x bench-tts does it all)

use std::{io::Write, path::Path, time::Instant};

use hark_plugin_tts::{espeak::Espeak, piper::Piper};
use hark_sdk::{
    api::{Message, MessageMeta, Payload},
    testing::Harness,
    text_message, Produce,
};

/// What an assistant says: times, numbers, names, questions, a long
/// sentence with commas.
const SENTENCES: [&str; 20] = [
    "It is twenty past nine in the evening.",
    "The kitchen lights are now on.",
    "I set a timer for ten minutes.",
    "Your coffee will be ready in two minutes.",
    "The weather tomorrow is sunny with a high of eighteen degrees.",
    "I have added milk and bread to your shopping list.",
    "The front door is locked and the alarm is armed.",
    "Would you like me to play some music?",
    "Your next meeting starts at half past two.",
    "The living room is at twenty one degrees.",
    "I turned off the radio in the bedroom.",
    "There are three items left on your list.",
    "Sorry, I did not understand that.",
    "The washing machine will finish in forty five minutes.",
    "Good morning, it is seven o'clock and the sky is clear.",
    "I can set timers, answer questions and control the lights.",
    "The garage door has been open for an hour.",
    "Your package is expected to arrive on Thursday afternoon.",
    "When you leave the house, I will turn off the heating, close the blinds, and lock the back door for you.",
    "Enjoy your evening and sleep well.",
];

fn main() {
    let models = hark::dirs::directory(hark_sdk::api::Directory::Models);
    for name in ["onnxruntime", "piper-joe"] {
        hark::catalog::fetch(hark::catalog::find(name).unwrap(), &models, false)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let out_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-tts");
    println!(
        "{} sentences; model threads: {}\n",
        SENTENCES.len(),
        hark::inference::models::model_threads()
    );
    println!(
        "| voice | first audio p50 ms | first audio p95 ms | max ms | real-time factor | audio s |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    // The harness lends nodes a scratch models directory: name the voice.
    let piper = format!(
        "(voice: {:?})",
        models
            .join(hark_plugin_tts::piper::DEFAULT_VOICE)
            .display()
            .to_string()
    );
    for kind in ["espeak", "piper"] {
        let mut h = match kind {
            "espeak" => Harness::with_inference::<Espeak>("()", hark::inference::vtable()),
            _ => Harness::with_inference::<Piper>(&piper, hark::inference::vtable()),
        }
        .unwrap_or_else(|e| panic!("{kind}: {e:?}"));
        let dir = out_dir.join(kind);
        std::fs::create_dir_all(&dir).unwrap();
        let mut labels = std::fs::File::create(dir.join("labels.tsv")).unwrap();
        // Warm-up: first loads, caches.
        speak(&mut h, "Hello there.");
        let mut first_ms = Vec::new();
        let (mut synthesis_s, mut audio_s) = (0.0, 0.0);
        for (i, sentence) in SENTENCES.iter().enumerate() {
            let (first, total, samples) = speak(&mut h, sentence);
            first_ms.push(first * 1e3);
            synthesis_s += total;
            audio_s += samples.len() as f64 / 22_050.0;
            let name = format!("{i:02}.wav");
            write_wav(&dir.join(&name), &samples);
            writeln!(labels, "{name}\t{sentence}").unwrap();
        }
        first_ms.sort_by(f64::total_cmp);
        let pick = |q: f64| first_ms[((first_ms.len() - 1) as f64 * q).round() as usize];
        println!(
            "| {kind} | {:.0} | {:.0} | {:.0} | {:.3} | {:.1} |",
            pick(0.5),
            pick(0.95),
            first_ms[first_ms.len() - 1],
            synthesis_s / audio_s,
            audio_s
        );
    }
    println!("\nWAVs and labels in {}", out_dir.display());
}

/// Speaks `text`: (seconds to the first chunk, seconds to the last, samples).
fn speak(h: &mut Harness, text: &str) -> (f64, f64, Vec<f32>) {
    let started = Instant::now();
    h.push(0, text_message(MessageMeta::default(), text))
        .unwrap();
    let mut more = h.produce().unwrap() == Produce::More;
    let first = started.elapsed().as_secs_f64();
    while more {
        more = h.produce().unwrap() == Produce::More;
    }
    let total = started.elapsed().as_secs_f64();
    let samples = h
        .take_outputs()
        .into_iter()
        .flat_map(|(_, m): (u32, Message)| match m.payload {
            Payload::Audio(a) => a.samples.to_vec(),
            _ => Vec::new(),
        })
        .collect();
    (first, total, samples)
}

fn write_wav(path: &Path, samples: &[f32]) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 22_050,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for s in samples {
        w.write_sample((s.clamp(-1.0, 1.0) * 32767.0) as i16)
            .unwrap();
    }
    w.finalize().unwrap();
}
