//! Barge-in in the real host: speech over the assistant stops its reply.
//! A test binary of its own, so that it runs alone: it measures time.

use std::path::Path;

use hark_sdk::testing::speech;
use hark_tests::{install_models, run_pipeline, write_wav};

/// Where the assistant's speech last sounds in a `realtime` output WAV, in
/// seconds on the run's time line.
fn last_sound(path: &Path) -> f64 {
    let mut reader = hound::WavReader::open(path).unwrap();
    let rate = reader.spec().sample_rate as f64;
    let samples: Vec<i16> = reader.samples::<i16>().map(Result::unwrap).collect();
    let last = samples
        .iter()
        .rposition(|s| s.unsigned_abs() > 300)
        .expect("no speech in the output");
    last as f64 / rate
}

#[test]
fn speech_over_the_assistant_stops_it() {
    install_models(&["silero-vad", "whisper-tiny.en", "ppocr-v4"]);
    let dir = tempfile::tempdir().unwrap();
    // "What can you do?" gets a reply of about 8 s; 3 s after the
    // question, while the reply plays, the user says "Stop."
    let rate = 22_050;
    let silence = |s: f64| std::iter::repeat_n(0i16, (rate as f64 * s) as usize);
    let pcm = |text: &str| -> Vec<i16> {
        speech(text, rate)
            .unwrap()
            .iter()
            .map(|s| (s * 32767.0) as i16)
            .collect()
    };
    let question = pcm("What can you do?");
    let stop = pcm("Stop.");
    let mut samples: Vec<i16> = silence(0.5).collect();
    samples.extend(&question);
    samples.extend(silence(3.0));
    let speech_start = samples.len() as f64 / rate as f64;
    samples.extend(&stop);
    samples.extend(silence(3.0));
    let input = dir.path().join("input.wav");
    write_wav(&input, rate, &samples);

    // The spoken pipeline, played in real time: with barge-in, and without
    // (then only the recognised "stop" cancels speech, after the utterance).
    let mut cut = Vec::new();
    for barge_in in [true, false] {
        let output = dir.path().join(format!("out-{barge_in}.wav"));
        let sets = [
            format!("input.path={}", input.display()),
            "input.realtime=true".to_string(),
            format!("output.path={}", output.display()),
            "output.realtime=true".to_string(),
            format!("conversation.barge_in={barge_in}"),
        ];
        let mut args = vec!["pipelines/voice-assistant.ron"];
        for s in &sets {
            args.extend(["--set", s.as_str()]);
        }
        let (ok, stdout, stderr) = run_pipeline(&args, "", &[]);
        assert!(ok, "{stderr}");
        assert!(
            stdout.contains("→ help (") && stdout.contains("→ stop ("),
            "{stdout}"
        );
        cut.push(last_sound(&output) - speech_start);
    }
    eprintln!(
        "speech start → silence: {:.0} ms with barge-in, {:.0} ms without",
        cut[0] * 1e3,
        cut[1] * 1e3
    );
    // The reply was still playing when the user spoke (it stops after).
    assert!(
        cut[0] > 0.0,
        "the reply had ended before the user spoke: {cut:?}"
    );
    // Barge-in stops it within 900 ms of the start of speech (measured
    // here: about 550 ms: the VAD needs 160 ms of speech, then up to 300 ms
    // of audio is queued before and in the speaker; an upper bound, as the
    // output's time line starts when its node is created, a little before
    // the input starts), well before the word is understood.
    assert!(cut[0] < 0.9, "{cut:?}");
    assert!(cut[1] > cut[0] + 0.3, "{cut:?}");
}
