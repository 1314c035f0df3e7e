//! End of speech -> final transcript, as the `transcribe` node spends it:
//! one `Engine::transcribe` of the whole utterance. tiny.en f16 vs Q8_0,
//! with and without the shrunk audio context, on a 2 s command (espeak-ng)
//! and on JFK (11 s, from ../shared when present). Median of runs after a
//! warm-up; ratios against the f16 full-context baseline in the same run.
//!
//!   cargo bench -p hark-plugin-whisper --bench latency        (./x bench-whisper)

use std::time::Instant;

use hark_plugin_whisper::transcribe::{Engine, TranscribeSettings};

const RUNS: usize = 7;

fn main() {
    let models = hark::dirs::directory(hark_sdk::api::Directory::Models);
    for name in ["whisper-tiny.en", "whisper-tiny.en-q8_0"] {
        hark::catalog::fetch(hark::catalog::find(name).unwrap(), &models, false)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let command =
        hark_sdk::testing::speech("set a timer for ten minutes", 16_000).expect("espeak-ng");
    let mut clips = vec![("2 s command (espeak-ng)", command)];
    let jfk = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/speech/jfk.wav");
    match hound::WavReader::open(&jfk) {
        Ok(r) => clips.push((
            "JFK, 11 s",
            r.into_samples::<i16>()
                .map(|s| f32::from(s.unwrap()) / 32768.0)
                .collect(),
        )),
        Err(_) => eprintln!("JFK skipped: {} is absent", jfk.display()),
    }
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get().min(4));
    println!("threads: {threads}; median of {RUNS} runs after one warm-up\n");
    println!("| audio | model | audio context | median ms | real-time factor | vs f16 full |");
    println!("|---|---|---|---:|---:|---:|");
    for (clip, samples) in &clips {
        let seconds = samples.len() as f64 / 16_000.0;
        let mut baseline = None;
        for model in ["tiny.en", "tiny.en-q8_0"] {
            for shrink in [false, true] {
                let settings = TranscribeSettings {
                    model: model.to_string(),
                    shrink_audio_context: shrink,
                    ..TranscribeSettings::default()
                };
                let mut engine =
                    Engine::new(&settings.model_path(&models), &settings, &|_| {}).expect("engine");
                let text = engine.transcribe(samples).expect("warm-up").text;
                let mut times: Vec<f64> = (0..RUNS)
                    .map(|_| {
                        let t = Instant::now();
                        engine.transcribe(samples).expect("transcribe");
                        t.elapsed().as_secs_f64() * 1e3
                    })
                    .collect();
                times.sort_by(f64::total_cmp);
                let median = times[RUNS / 2];
                let base = *baseline.get_or_insert(median);
                println!(
                    "| {clip} | {model} | {} | {median:.0} | {:.3} | {:.2}x |",
                    if shrink { "shrunk" } else { "full 30 s" },
                    median / 1e3 / seconds,
                    base / median
                );
                eprintln!("  {model} shrink={shrink}: {text:?}");
            }
        }
    }
}
