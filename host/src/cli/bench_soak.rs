//! `hark bench soak`: a long run of real speech through a voice pipeline,
//! watching the process for leaks and drift.
//!
//! Recordings are joined, with silence between them, into one WAV that the
//! pipeline's `input` node reads in real time, so the run is what a
//! microphone would give it for that long. Every minute the soak records
//! the process's resident memory, open file descriptors and threads
//! (`/proc/self`), and the latency from each end of speech (the VAD's
//! `UtteranceEnd`) to the reply to that utterance (matched by utterance
//! id), both tapped off the running pipeline. At the end it states the
//! trends after a warm-up: RSS growth per hour (least squares over the
//! minutes), fd and thread counts, and the drift of latency from the
//! first pass over the recordings after the warm-up to the last whole
//! one: the same audio both times, so the difference is the process's,
//! not the speakers'.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::atomic::Ordering,
    time::{Duration, Instant},
};

use clap::Args;
use crossbeam_channel::{unbounded, Receiver, Select};
use hark_plugin_api::{ControlEvent, Message, Payload};

use super::{load_pipeline, load_plugins};
use crate::{
    loader::SearchPath,
    pipeline::Pipeline,
    runtime::{self, RunOptions},
};

/// `hark bench soak`'s arguments.
#[derive(Args, Debug, Clone)]
pub struct SoakArgs {
    /// The voice pipeline (its `input` node reads the joined recordings).
    #[arg(default_value = "pipelines/coffee-maker.ron")]
    pub file: PathBuf,
    /// Override a node's config: `node.field=value` (repeatable).
    #[arg(long = "set", value_name = "NODE.FIELD=VALUE")]
    pub set: Vec<String>,
    /// How long to run.
    #[arg(long, default_value_t = 60.0)]
    pub minutes: f64,
    /// Minutes left out of the trends (models warming, caches filling).
    #[arg(long, default_value_t = 5.0)]
    pub warm_up: f64,
    /// A directory of 16 kHz mono 16-bit WAV recordings (real people, not
    /// synthetic speech), played in name order, over and over.
    #[arg(long, default_value = "../shared/data/speech/barista-dev/clips")]
    pub speech: PathBuf,
    /// Recordings used (the first, by name): one pass over them is what
    /// the first and last pass compare.
    #[arg(long, default_value_t = 30)]
    pub clips: usize,
    /// Silence after each recording, in seconds (time for the reply).
    #[arg(long, default_value_t = 3.0)]
    pub gap: f64,
    /// The output port whose `UtteranceEnd` events mark ends of speech.
    #[arg(long, default_value = "vad.events")]
    pub speech_end: String,
    /// The output port whose messages are replies.
    #[arg(long, default_value = "conversation.reply")]
    pub reply: String,
    /// Seconds between samples (a minute; less for a quick look).
    #[arg(long, default_value_t = 60.0)]
    pub every: f64,
}

/// One reply: when its utterance ended in the input's own time (the
/// audio clock, so it says which recording of which pass it was), and
/// how long the reply took.
#[derive(Debug, Clone, Copy)]
struct Latency {
    stream_s: f64,
    ms: f64,
}

/// One sample of the process.
#[derive(Debug, Clone, Copy)]
struct Sample {
    at_min: f64,
    rss_kib: u64,
    fds: usize,
    threads: usize,
}

/// Runs the soak; the exit code.
pub fn main(args: &SoakArgs, search: &SearchPath, color: bool) -> i32 {
    let work = match tempdir() {
        Ok(dir) => dir,
        Err(e) => {
            eprintln!("error: cannot make a scratch directory: {e}");
            return 1;
        }
    };
    let result = soak(args, search, color, &work);
    let _ = std::fs::remove_dir_all(&work);
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}

fn soak(args: &SoakArgs, search: &SearchPath, color: bool, work: &Path) -> Result<i32, String> {
    let seconds = args.minutes * 60.0;
    let input = work.join("speech.wav");
    let (clips, pass) =
        join_recordings(&args.speech, args.clips, args.gap, seconds + 30.0, &input)?;
    eprintln!(
        "soak: {} recordings from {}, joined with {:.1} s of silence ({:.1} min a pass), read in real time for {:.0} min",
        clips,
        args.speech.display(),
        args.gap,
        pass / 60.0,
        args.minutes
    );
    let mut set = vec![
        format!("input.path={}", input.display()),
        "input.realtime=true".to_string(),
        format!("output.path={}", work.join("replies.wav").display()),
    ];
    set.extend(args.set.iter().cloned());
    let plugins = load_plugins(search);
    let pipeline = match load_pipeline(&args.file, set, &plugins, color) {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let (end_tx, ends) = unbounded();
    let (reply_tx, replies) = unbounded();
    let options = RunOptions {
        taps: vec![
            port(&pipeline, &args.speech_end).map(|(n, p)| (n, p, end_tx))?,
            port(&pipeline, &args.reply).map(|(n, p)| (n, p, reply_tx))?,
        ],
        ..RunOptions::default()
    };
    let stop = options.stop.clone();
    let started = Instant::now();
    let (samples, latencies, report) = std::thread::scope(|scope| {
        let runner = scope.spawn(|| runtime::run(&pipeline, &plugins, &options));
        let (samples, latencies) = watch(args, &ends, &replies, started, seconds);
        stop.store(true, Ordering::Relaxed);
        // The taps are unbounded: what the draining pipeline still sends
        // waits in them until they drop.
        let report = runner.join().expect("runtime thread");
        drop((ends, replies));
        (samples, latencies, report)
    });
    match report {
        Ok(report) => {
            for failure in report.failures() {
                eprintln!("node failure during the soak: {failure}");
            }
        }
        Err(errors) => {
            for e in errors {
                eprintln!("error: {e}");
            }
            return Ok(1);
        }
    }
    summarise(args, &samples, &latencies, pass);
    Ok(0)
}

/// (node index, output port index) of `NODE.PORT`.
fn port(pipeline: &Pipeline, name: &str) -> Result<(usize, u32), String> {
    let (node, port) = name
        .split_once('.')
        .ok_or_else(|| format!("`{name}`: write NODE.PORT"))?;
    let index = pipeline
        .nodes
        .iter()
        .position(|n| n.name == node)
        .ok_or_else(|| format!("the pipeline has no node `{node}`"))?;
    let port = pipeline.nodes[index]
        .kind
        .outputs
        .iter()
        .position(|p| p.name == port)
        .ok_or_else(|| format!("node `{node}` has no output `{port}`"))?;
    Ok((index, port as u32))
}

/// Samples the process every `args.every` seconds and pairs ends of
/// speech with replies, until `seconds` have passed. Prints a row per
/// sample. Returns the samples and, per reply, its [`Latency`].
fn watch(
    args: &SoakArgs,
    ends: &Receiver<Message>,
    replies: &Receiver<Message>,
    started: Instant,
    seconds: f64,
) -> (Vec<Sample>, Vec<Latency>) {
    let every = Duration::from_secs_f64(args.every.max(1.0));
    let deadline = started + Duration::from_secs_f64(seconds);
    let mut next_sample = started + every;
    let mut samples = vec![sample(started)];
    let mut latencies: Vec<Latency> = Vec::new();
    // Utterance id → (when its end was tapped, its stream time).
    let mut open: HashMap<u64, (Instant, f64)> = HashMap::new();
    let mut row_from = 0;
    println!(
        "{:>7} {:>9} {:>5} {:>7} {:>8} {:>8} {:>8}",
        "minute", "RSS MiB", "fds", "threads", "replies", "p50 ms", "p95 ms"
    );
    print_row(&samples[0], &[]);
    let mut select = Select::new();
    select.recv(ends);
    select.recv(replies);
    loop {
        let now = Instant::now();
        if now >= next_sample {
            let s = sample(started);
            print_row(&s, &latencies[row_from..]);
            row_from = latencies.len();
            samples.push(s);
            next_sample += every;
            // Ends of speech that never got a reply do not pile up.
            open.retain(|_, (at, _)| now.duration_since(*at) < Duration::from_secs(60));
        }
        if now >= deadline {
            return (samples, latencies);
        }
        let Ok(op) = select.select_deadline(next_sample.min(deadline)) else {
            continue;
        };
        let at = Instant::now();
        match op.index() {
            0 => {
                if let Ok(m) = op.recv(ends) {
                    if matches!(m.payload, Payload::Control(ControlEvent::UtteranceEnd)) {
                        let stream_s = m.meta.timestamp_ns as f64 / 1e9;
                        open.insert(m.meta.utterance, (at, stream_s));
                    }
                }
            }
            _ => {
                if let Ok(m) = op.recv(replies) {
                    if let Some((end, stream_s)) = open.remove(&m.meta.utterance) {
                        latencies.push(Latency {
                            stream_s,
                            ms: at.duration_since(end).as_secs_f64() * 1e3,
                        });
                    }
                }
            }
        }
    }
}

fn sample(started: Instant) -> Sample {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Sample {
        at_min: started.elapsed().as_secs_f64() / 60.0,
        rss_kib: field("VmRSS:"),
        // The directory's own handle, open while it is listed, excluded.
        fds: std::fs::read_dir("/proc/self/fd")
            .map(|d| d.count().saturating_sub(1))
            .unwrap_or(0),
        threads: field("Threads:") as usize,
    }
}

fn quantile(values: &mut [f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    values[((values.len() - 1) as f64 * q).round() as usize]
}

fn print_row(s: &Sample, latencies: &[Latency]) {
    let mut ms: Vec<f64> = latencies.iter().map(|l| l.ms).collect();
    println!(
        "{:>7.1} {:>9.1} {:>5} {:>7} {:>8} {:>8.0} {:>8.0}",
        s.at_min,
        s.rss_kib as f64 / 1024.0,
        s.fds,
        s.threads,
        ms.len(),
        quantile(&mut ms, 0.5),
        quantile(&mut ms, 0.95)
    );
}

/// Least-squares slope of `y` over `x`.
fn slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    if n < 2.0 {
        return f64::NAN;
    }
    let (mx, my) = (
        points.iter().map(|p| p.0).sum::<f64>() / n,
        points.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let (mut num, mut den) = (0.0, 0.0);
    for (x, y) in points {
        num += (x - mx) * (y - my);
        den += (x - mx) * (x - mx);
    }
    num / den
}

fn summarise(args: &SoakArgs, samples: &[Sample], latencies: &[Latency], pass: f64) {
    let warm: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.at_min >= args.warm_up)
        .collect();
    println!();
    if warm.len() < 2 {
        println!(
            "too short for trends: {} samples after the {:.1}-minute warm-up",
            warm.len(),
            args.warm_up
        );
        return;
    }
    let rss: Vec<(f64, f64)> = warm
        .iter()
        .map(|s| (s.at_min / 60.0, s.rss_kib as f64))
        .collect();
    let per_hour_kib = slope(&rss);
    let (first, last) = (warm[0], warm[warm.len() - 1]);
    let range = |f: fn(&Sample) -> usize| {
        let values: Vec<usize> = warm.iter().map(|s| f(s)).collect();
        (
            *values.iter().min().expect("samples"),
            *values.iter().max().expect("samples"),
        )
    };
    let (fd_min, fd_max) = range(|s| s.fds);
    let (th_min, th_max) = range(|s| s.threads);
    println!(
        "after the {:.1}-minute warm-up ({:.1} to {:.1} min, {} samples):",
        args.warm_up,
        first.at_min,
        last.at_min,
        warm.len()
    );
    println!(
        "  RSS: {:.1} -> {:.1} MiB; least-squares trend {:+.0} KiB/hour (target < 1024)",
        first.rss_kib as f64 / 1024.0,
        last.rss_kib as f64 / 1024.0,
        per_hour_kib
    );
    println!("  open fds: {fd_min}..={fd_max}; threads: {th_min}..={th_max} (target: no growth)");
    let mut all: Vec<f64> = latencies.iter().map(|l| l.ms).collect();
    println!(
        "  end of speech -> reply: {} replies, p50 {:.0} ms, p95 {:.0} ms overall",
        all.len(),
        quantile(&mut all.clone(), 0.5),
        quantile(&mut all, 0.95)
    );
    // Whole passes over the recordings, by the audio clock: the first
    // that starts after the warm-up, and the last that ended.
    let first_pass = (args.warm_up * 60.0 / pass).ceil() as u64;
    let passes = latencies
        .iter()
        .map(|l| (l.stream_s / pass).floor() as u64)
        .max()
        .unwrap_or(0);
    let last_pass = passes.saturating_sub(1); // the last one is cut short
    if last_pass <= first_pass {
        println!(
            "  too short to compare passes ({:.1} min each; {} after the warm-up)",
            pass / 60.0,
            last_pass.saturating_sub(first_pass)
        );
        return;
    }
    let of_pass = |p: u64| {
        let ms: Vec<f64> = latencies
            .iter()
            .filter(|l| (l.stream_s / pass).floor() as u64 == p)
            .map(|l| l.ms)
            .collect();
        ms
    };
    let (mut early, mut late) = (of_pass(first_pass), of_pass(last_pass));
    let (e50, e95) = (quantile(&mut early, 0.5), quantile(&mut early, 0.95));
    let (l50, l95) = (quantile(&mut late, 0.5), quantile(&mut late, 0.95));
    println!(
        "  pass {} ({} replies) vs pass {} ({} replies), the same recordings: p50 {e50:.0} -> {l50:.0} ms ({:+.1} %), p95 {e95:.0} -> {l95:.0} ms ({:+.1} %; target: drift < 10 %)",
        first_pass + 1,
        early.len(),
        last_pass + 1,
        late.len(),
        (l50 / e50 - 1.0) * 100.0,
        (l95 / e95 - 1.0) * 100.0
    );
}

/// Joins the first `count` WAV recordings of `dir` (name order, repeated)
/// with `gap` seconds of silence after each, until `seconds` of audio,
/// into `out`. Returns how many recordings were used and the length of
/// one pass over them, in seconds.
fn join_recordings(
    dir: &Path,
    count: usize,
    gap: f64,
    seconds: f64,
    out: &Path,
) -> Result<(usize, f64), String> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| {
            format!(
                "cannot read the recordings in {}: {e} (pass --speech DIR of 16 kHz mono WAV files)",
                dir.display()
            )
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "wav"))
        .collect();
    paths.sort();
    let mut clips: Vec<Vec<i16>> = Vec::new();
    for path in &paths {
        if clips.len() == count {
            break;
        }
        let reader =
            hound::WavReader::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let spec = reader.spec();
        if spec.sample_rate != 16_000 || spec.channels != 1 || spec.bits_per_sample != 16 {
            eprintln!(
                "soak: skipping {} ({} Hz, {} channels, {} bits; 16 kHz mono 16-bit wanted)",
                path.display(),
                spec.sample_rate,
                spec.channels,
                spec.bits_per_sample
            );
            continue;
        }
        let samples: Result<Vec<i16>, _> = reader.into_samples::<i16>().collect();
        clips.push(samples.map_err(|e| format!("{}: {e}", path.display()))?);
    }
    if clips.is_empty() {
        return Err(format!(
            "no 16 kHz mono 16-bit WAV recordings in {}",
            dir.display()
        ));
    }
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer =
        hound::WavWriter::create(out, spec).map_err(|e| format!("{}: {e}", out.display()))?;
    let total = (seconds * 16_000.0) as usize;
    let silence = (gap * 16_000.0) as usize;
    let pass = clips.iter().map(|c| c.len() + silence).sum::<usize>() as f64 / 16_000.0;
    let mut written = 0;
    'fill: for clip in clips.iter().cycle() {
        for &s in clip.iter().chain(std::iter::repeat_n(&0, silence)) {
            writer
                .write_sample(s)
                .map_err(|e| format!("{}: {e}", out.display()))?;
            written += 1;
            if written >= total {
                break 'fill;
            }
        }
    }
    writer
        .finalize()
        .map_err(|e| format!("{}: {e}", out.display()))?;
    Ok((clips.len(), pass))
}

/// A fresh scratch directory under the system's temp directory.
fn tempdir() -> std::io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("hark-soak-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trend_is_a_least_squares_slope() {
        let line: Vec<(f64, f64)> = (0..10).map(|x| (x as f64, 3.0 * x as f64 + 1.0)).collect();
        assert!((slope(&line) - 3.0).abs() < 1e-9);
        let flat_with_noise = [(0.0, 5.0), (1.0, 6.0), (2.0, 4.0), (3.0, 5.0)];
        assert!(slope(&flat_with_noise).abs() < 0.5);
    }

    #[test]
    fn recordings_are_joined_with_silence_and_repeated() {
        let dir = tempfile::tempdir().unwrap();
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 16_000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(dir.path().join("a.wav"), spec).unwrap();
        for _ in 0..1600 {
            w.write_sample(1000i16).unwrap();
        }
        w.finalize().unwrap();
        let out = dir.path().join("joined.out");
        assert_eq!(join_recordings(dir.path(), 5, 0.1, 0.5, &out), Ok((1, 0.2)));
        let samples: Vec<i16> = hound::WavReader::open(&out)
            .unwrap()
            .into_samples::<i16>()
            .map(Result::unwrap)
            .collect();
        assert_eq!(samples.len(), 8000);
        // clip, 0.1 s of silence, clip again...
        assert_eq!(samples[1599], 1000);
        assert_eq!(samples[1600], 0);
        assert_eq!(samples[3199], 0);
        assert_eq!(samples[3200], 1000);
    }
}
