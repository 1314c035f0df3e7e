//! `hark run` end to end: real pipelines, real plugins, real files.

use std::{
    io::Write,
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use hark_tests::{
    column, fixture_plugin_dir, hark, hark_bin, run_fixture, stats_row, test_signal, text,
    workspace_root, write_wav,
};

fn louder(dir: &Path, input: &Path, output: &Path, gain_db: &str) -> std::process::Output {
    let pipeline = workspace_root().join("pipelines/louder.ron");
    hark(
        dir,
        &[
            "run",
            pipeline.to_str().unwrap(),
            "--set",
            &format!("input.path={}", input.display()),
            "--set",
            &format!("output.path={}", output.display()),
            "--set",
            &format!("gain.gain_db={gain_db}"),
        ],
    )
}

#[test]
fn wav_through_unity_gain_is_bit_exact() {
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("in.wav"), dir.path().join("out.wav"));
    write_wav(&input, 16_000, &test_signal(16_000, 1.37));
    let run = louder(dir.path(), &input, &output, "0.0");
    assert!(run.status.success(), "{:?}", text(&run));
    assert_eq!(
        std::fs::read(&input).unwrap(),
        std::fs::read(&output).unwrap(),
        "files differ"
    );
}

#[test]
fn wav_through_six_db_doubles_every_sample() {
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("in.wav"), dir.path().join("out.wav"));
    let quiet: Vec<i16> = test_signal(8_000, 0.5).iter().map(|s| s / 4).collect();
    write_wav(&input, 8_000, &quiet);
    let run = louder(dir.path(), &input, &output, "6.0206");
    assert!(run.status.success(), "{:?}", text(&run));
    let out: Vec<i16> = hound::WavReader::open(&output)
        .unwrap()
        .samples::<i16>()
        .map(Result::unwrap)
        .collect();
    assert_eq!(out.len(), quiet.len());
    for (a, b) in quiet.iter().zip(&out) {
        assert!((2 * *a as i32 - *b as i32).abs() <= 1, "{a} -> {b}");
    }
    assert_eq!(
        hound::WavReader::open(&output).unwrap().spec().sample_rate,
        8_000
    );
}

#[test]
fn text_lines_from_stdin_to_stdout() {
    let mut child = Command::new(hark_bin())
        .current_dir(workspace_root())
        .args(["run", "pipelines/shout.ron"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"hello there\n\nsecond line\n")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(stdout, "HELLO THERE!\nSECOND LINE!\n");
}

#[test]
fn text_lines_from_file_to_file_with_stats() {
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("notes.txt"), dir.path().join("loud.txt"));
    std::fs::write(&input, "one\ntwo\nthree\n").unwrap();
    let run = hark(
        dir.path(),
        &[
            "run",
            workspace_root()
                .join("pipelines/shout.ron")
                .to_str()
                .unwrap(),
            "--set",
            "input.path=notes.txt",
            "--set",
            "output.path=loud.txt",
            "--set",
            "shout.template=> {text}",
            "--stats",
        ],
    );
    let (_, stderr) = text(&run);
    assert!(run.status.success(), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(output).unwrap(),
        "> ONE\n> TWO\n> THREE\n"
    );
    let shout = stderr
        .lines()
        .find(|l| l.starts_with("shout "))
        .expect("stats row");
    let columns: Vec<_> = shout.split_whitespace().collect();
    assert_eq!(&columns[1..4], ["text/template", "3", "3"], "{stderr}");
}

const PANIC_PIPELINE: &str = r#"Pipeline(
    nodes: {
        "source": (plugin: "faulty", kind: "counter", config: (count: 10)),
        "boom": (plugin: "faulty", kind: "panicker", config: (panic_at: [3, 6]), restart: RESTART),
        "sink": (plugin: "faulty", kind: "slow-sink", config: (delay_ms: 0)),
    },
    links: ["source.audio -> boom.in", "boom.out -> sink.in"],
)"#;

#[test]
fn a_panicking_plugin_is_restarted_and_the_host_survives() {
    let pipeline = PANIC_PIPELINE.replace(
        "RESTART",
        r#"(policy: "on-failure", max_restarts: 5, backoff_ms: 1)"#,
    );
    let (output, stderr) = run_fixture(&pipeline, &[]);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("node `boom` (panicker) panicked in on_message: panicked in on_message: deliberate panic on message 3"), "{stderr}");
    let boom = stats_row(&stderr, "boom");
    assert_eq!(column(&boom, "restarts"), 2, "{stderr}");
    assert_eq!(column(&boom, "in"), 10);
    // The two messages that panicked are lost; the rest went through.
    assert_eq!(column(&stats_row(&stderr, "sink"), "in"), 8, "{stderr}");
}

#[test]
fn a_panicking_plugin_without_restart_fails_the_run_cleanly() {
    let pipeline = PANIC_PIPELINE.replace("RESTART", r#""never""#);
    let (output, stderr) = run_fixture(&pipeline, &[]);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("error: 1 node(s) failed:"), "{stderr}");
    assert!(stderr.contains("deliberate panic on message 3"), "{stderr}");
    // The failed node drained its input, so the source finished and the
    // sink got end of stream: the run ended by itself.
    assert_eq!(column(&stats_row(&stderr, "boom"), "in"), 10, "{stderr}");
    assert_eq!(column(&stats_row(&stderr, "sink"), "in"), 3, "{stderr}");
}

#[test]
fn restarts_are_bounded() {
    let pipeline = PANIC_PIPELINE.replace(
        "RESTART",
        r#"(policy: "on-failure", max_restarts: 1, backoff_ms: 1)"#,
    );
    let (output, stderr) = run_fixture(&pipeline, &[]);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("gave up after 1 restart(s)"), "{stderr}");
    assert_eq!(column(&stats_row(&stderr, "boom"), "restarts"), 1);
}

const HANG_PIPELINE: &str = r#"Pipeline(
    nodes: {
        "source": (plugin: "faulty", kind: "counter", config: (count: 10)),
        "stuck": (plugin: "faulty", kind: "hanger", config: (hang_at: [3]), restart: RESTART, stall_timeout_ms: 400),
        "sink": (plugin: "faulty", kind: "slow-sink", config: (delay_ms: 0)),
    },
    links: ["source.audio -> stuck.in", "stuck.out -> sink.in"],
)"#;

#[test]
fn a_hung_node_is_reported_and_replaced_by_a_restarted_one() {
    let pipeline = HANG_PIPELINE.replace(
        "RESTART",
        r#"(policy: "on-failure", max_restarts: 2, backoff_ms: 1)"#,
    );
    fixture_plugin_dir(); // built before the clock starts
    let started = Instant::now();
    let (output, stderr) = run_fixture(&pipeline, &[]);
    assert!(output.status.success(), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the run should end soon after the stall deadline, though one call never returns: {:?}",
        started.elapsed()
    );
    assert!(
        stderr.contains("node `stuck` (hanger) stalled: on_message has not returned for"),
        "{stderr}"
    );
    assert!(stderr.contains("its stall_timeout_ms is 400"), "{stderr}");
    let stuck = stats_row(&stderr, "stuck");
    assert_eq!(column(&stuck, "stalls"), 1, "{stderr}");
    assert_eq!(column(&stuck, "restarts"), 1, "{stderr}");
    assert_eq!(column(&stuck, "in"), 10, "{stderr}");
    // The message it hung on is lost; the rest went through the new node.
    assert_eq!(column(&stats_row(&stderr, "sink"), "in"), 9, "{stderr}");
}

#[test]
fn a_hung_node_without_restart_fails_the_run_cleanly() {
    let pipeline = HANG_PIPELINE.replace("RESTART", r#""never""#);
    let (output, stderr) = run_fixture(&pipeline, &[]);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("error: 1 node(s) failed:"), "{stderr}");
    assert!(stderr.contains("stalled: on_message"), "{stderr}");
    // Its inputs were drained (the source finished) and its outputs ended
    // (the sink finished): the run did not hang with it.
    assert_eq!(column(&stats_row(&stderr, "stuck"), "in"), 10, "{stderr}");
    assert_eq!(column(&stats_row(&stderr, "sink"), "in"), 3, "{stderr}");
}

#[test]
fn waiting_on_a_full_queue_is_not_a_stall() {
    // The counter spends nearly all its time blocked in `emit` on a full
    // queue into a slow sink, far longer than its stall deadline.
    let pipeline = r#"Pipeline(
        nodes: {
            "source": (plugin: "faulty", kind: "counter", config: (count: 40), stall_timeout_ms: 50),
            "sink": (plugin: "faulty", kind: "slow-sink", config: (delay_ms: 20)),
        },
        links: [(link: "source.audio -> sink.in", capacity: 1)],
    )"#;
    let (output, stderr) = run_fixture(pipeline, &[]);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(
        column(&stats_row(&stderr, "source"), "stalls"),
        0,
        "{stderr}"
    );
    assert_eq!(column(&stats_row(&stderr, "sink"), "in"), 40, "{stderr}");
}

#[test]
fn backpressure_bounds_what_a_fast_source_has_in_flight() {
    // 64 KB frames from a source that never waits, into a sink taking 2 ms
    // each through a queue of 4: without backpressure the source would be
    // done at once with ~150 frames (10 MB) queued; the sink fails itself
    // if more than 6 frames (queue + one being sent + one being handled)
    // are ever emitted but not received.
    let pipeline = r#"Pipeline(
        nodes: {
            "source": (plugin: "faulty", kind: "counter", config: (count: 150, frame_samples: 16000)),
            "sink": (plugin: "faulty", kind: "slow-sink", config: (delay_ms: 2, max_in_flight: 6)),
        },
        links: [(link: "source.audio -> sink.in", capacity: 4)],
    )"#;
    let (output, stderr) = run_fixture(pipeline, &[]);
    assert!(output.status.success(), "{stderr}");
    let sink = stats_row(&stderr, "sink");
    assert_eq!(column(&sink, "in"), 150);
    assert_eq!(column(&sink, "drops"), 0);
    assert!(column(&sink, "queue") <= 4, "{stderr}");
    let seen: f64 = stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("max_in_flight_seen = "))
        .expect("gauge reported")
        .parse()
        .unwrap();
    assert!(
        (4.0..=6.0).contains(&seen),
        "{seen}: the queue should fill, and no more: {stderr}"
    );
}

#[test]
fn drop_policies_drop_and_count() {
    for (policy, capacity) in [("drop-oldest", 3), ("latest", 1)] {
        let pipeline = format!(
            r#"Pipeline(
                nodes: {{
                    "source": (plugin: "faulty", kind: "counter", config: (count: 300)),
                    "sink": (plugin: "faulty", kind: "slow-sink", config: (delay_ms: 1)),
                }},
                links: [(link: "source.audio -> sink.in", capacity: 3, policy: "{policy}")],
            )"#
        );
        let (output, stderr) = run_fixture(&pipeline, &[]);
        assert!(output.status.success(), "{stderr}");
        let sink = stats_row(&stderr, "sink");
        let (received, dropped) = (column(&sink, "in"), column(&sink, "drops"));
        assert_eq!(
            received + dropped,
            300,
            "{policy}: every frame is received or counted as dropped\n{stderr}"
        );
        assert!(
            dropped > 100,
            "{policy}: a fast source into a slow sink must drop: {stderr}"
        );
        assert!(column(&sink, "queue") <= capacity, "{policy}: {stderr}");
    }
}

#[test]
fn ctrl_c_stops_sources_and_drains() {
    stop_a_realtime_run_with("-INT");
}

/// systemd stops a service with SIGTERM: the same drain as Ctrl-C.
#[test]
fn sigterm_stops_sources_and_drains() {
    stop_a_realtime_run_with("-TERM");
}

fn stop_a_realtime_run_with(signal: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("long.wav"), dir.path().join("out.wav"));
    write_wav(&input, 16_000, &test_signal(16_000, 20.0));
    let child = Command::new(hark_bin())
        .current_dir(dir.path())
        .args([
            "run",
            workspace_root()
                .join("pipelines/louder.ron")
                .to_str()
                .unwrap(),
        ])
        .args([
            "--set",
            "input.path=long.wav",
            "--set",
            "input.realtime=true",
            "--set",
            "output.path=out.wav",
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    let sent = Instant::now();
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let result = child.wait_with_output().unwrap();
    assert!(
        sent.elapsed() < Duration::from_secs(3),
        "stopping took {:?}",
        sent.elapsed()
    );
    let stderr = text(&result).1;
    assert_eq!(result.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("interrupted: stopping sources and draining"),
        "{stderr}"
    );
    // The writer was flushed: a valid WAV holding what was read so far.
    let reader = hound::WavReader::open(&output).expect("a finalised WAV");
    let seconds = reader.duration() as f32 / 16_000.0;
    assert!((0.3..5.0).contains(&seconds), "{seconds} s written");
}

/// A source waiting for a line on standard input stops at the first
/// Ctrl-C (it returns to the host while waiting).
#[test]
fn ctrl_c_stops_a_source_waiting_on_stdin() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("p.ron"),
        r#"Pipeline(
            nodes: {
                "in": (plugin: "text", kind: "lines-in", config: (path: "-")),
                "out": (plugin: "text", kind: "lines-out", config: (path: "out.txt")),
            },
            links: ["in.text -> out.in"],
        )"#,
    )
    .unwrap();
    let mut child = Command::new(hark_bin())
        .current_dir(dir.path())
        .args(["run", "p.ron"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"hello\n").unwrap();
    stdin.flush().unwrap();
    std::thread::sleep(Duration::from_millis(800));
    let sent = Instant::now();
    assert!(Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    let result = child.wait_with_output().unwrap();
    drop(stdin); // held open until the end: the source never saw end of input
    let stderr = text(&result).1;
    assert!(
        sent.elapsed() < Duration::from_secs(3),
        "stopping took {:?}: {stderr}",
        sent.elapsed()
    );
    assert_eq!(result.status.code(), Some(130), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out.txt")).unwrap(),
        "hello\n"
    );
}

#[test]
fn draining_after_a_stop_has_a_deadline() {
    // A sink taking a second per message behind a full queue of 8 would
    // need ~9 s to drain; the run gives it one.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("p.ron"),
        r#"Pipeline(
            nodes: {
                "source": (plugin: "faulty", kind: "counter", config: (count: 1000)),
                "sink": (plugin: "faulty", kind: "slow-sink", config: (delay_ms: 1000)),
            },
            links: [(link: "source.audio -> sink.in", capacity: 8)],
        )"#,
    )
    .unwrap();
    let child = Command::new(hark_bin())
        .current_dir(dir.path())
        .args([
            "run",
            "p.ron",
            "--stats",
            "--drain-timeout-s",
            "1",
            "--plugin-path",
        ])
        .arg(fixture_plugin_dir())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let sent = Instant::now();
    assert!(Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    let result = child.wait_with_output().unwrap();
    let stderr = text(&result).1;
    assert!(
        sent.elapsed() < Duration::from_secs(5),
        "stopping took {:?}: {stderr}",
        sent.elapsed()
    );
    assert_eq!(result.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("node `sink` (slow-sink) had not drained 1.0 s after the stop; abandoned"),
        "{stderr}"
    );
}

#[test]
fn a_missing_input_file_stops_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let run = louder(
        dir.path(),
        &dir.path().join("missing.wav"),
        &dir.path().join("out.wav"),
        "0",
    );
    let (_, stderr) = text(&run);
    assert_eq!(run.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("error: node `input` (wav-reader) could not start: cannot read WAV file"),
        "{stderr}"
    );
    assert!(
        stderr.contains("help: check the `path` setting"),
        "{stderr}"
    );
}

#[test]
fn a_corrupt_wav_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("corrupt.wav");
    std::fs::write(&input, b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk").unwrap();
    let run = louder(dir.path(), &input, &dir.path().join("out.wav"), "0");
    let (_, stderr) = text(&run);
    assert_eq!(run.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("cannot read WAV file"), "{stderr}");
    assert!(stderr.contains("not a valid WAV file"), "{stderr}");
}

/// A header whose fields would size huge buffers is refused before any
/// buffer is made.
#[test]
fn a_wav_header_out_of_bounds_is_refused() {
    let header = |rate: u32, channels: u16| {
        let mut b = Vec::new();
        let data = 2 * u32::from(channels); // one sample per channel
        b.extend_from_slice(b"RIFF");
        b.extend_from_slice(&(36 + data).to_le_bytes());
        b.extend_from_slice(b"WAVEfmt ");
        b.extend_from_slice(&16u32.to_le_bytes());
        b.extend_from_slice(&1u16.to_le_bytes()); // PCM
        b.extend_from_slice(&channels.to_le_bytes());
        b.extend_from_slice(&rate.to_le_bytes());
        b.extend_from_slice(&rate.wrapping_mul(2 * u32::from(channels)).to_le_bytes());
        b.extend_from_slice(&(2 * channels).to_le_bytes());
        b.extend_from_slice(&16u16.to_le_bytes());
        b.extend_from_slice(b"data");
        b.extend_from_slice(&data.to_le_bytes());
        b.resize(b.len() + data as usize, 0);
        b
    };
    let dir = tempfile::tempdir().unwrap();
    for (rate, channels, expected) in [
        (
            2_000_000_000,
            1,
            "a sample rate of 2000000000 Hz is outside the 1000 to 384000 Hz Hark handles",
        ),
        (
            16_000,
            1000,
            "1000 channels is outside the 1 to 32 Hark handles",
        ),
    ] {
        let input = dir.path().join("huge.wav");
        std::fs::write(&input, header(rate, channels)).unwrap();
        let run = louder(dir.path(), &input, &dir.path().join("out.wav"), "0");
        let (_, stderr) = text(&run);
        assert_eq!(run.status.code(), Some(3), "{stderr}");
        assert!(stderr.contains(expected), "{stderr}");
    }
}

#[test]
fn a_truncated_wav_fails_the_reader_not_the_host() {
    let dir = tempfile::tempdir().unwrap();
    let (full, input) = (
        dir.path().join("full.wav"),
        dir.path().join("truncated.wav"),
    );
    write_wav(&full, 16_000, &test_signal(16_000, 1.0));
    let bytes = std::fs::read(&full).unwrap();
    // Keep the header (which still announces 1 s) and an odd number of
    // bytes: the data ends in the middle of a sample.
    std::fs::write(&input, &bytes[..bytes.len() / 2 + 1]).unwrap();
    let output = dir.path().join("out.wav");
    let run = louder(dir.path(), &input, &output, "0");
    let (_, stderr) = text(&run);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("corrupt or truncated WAV data"), "{stderr}");
    // What was read before the damage was still written out properly.
    assert!(hound::WavReader::open(&output).unwrap().duration() > 0);
}

#[test]
fn fan_in_merges_and_fan_out_copies() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), "a1\na2\na3\n").unwrap();
    std::fs::write(dir.path().join("b.txt"), "b1\nb2\n").unwrap();
    let pipeline = r#"Pipeline(
        nodes: {
            "a": (plugin: "text", kind: "lines-in", config: (path: "a.txt")),
            "b": (plugin: "text", kind: "lines-in", config: (path: "b.txt")),
            "merge": (plugin: "flow", kind: "passthrough"),
            "one": (plugin: "text", kind: "lines-out", config: (path: "one.txt")),
            "two": (plugin: "text", kind: "lines-out", config: (path: "two.txt")),
        },
        links: ["a.text -> merge.in", "b.text -> merge.in", "merge.out -> one.in", "merge.out -> two.in"],
    )"#;
    std::fs::write(dir.path().join("p.ron"), pipeline).unwrap();
    let run = hark(dir.path(), &["run", "p.ron"]);
    assert!(run.status.success(), "{:?}", text(&run));
    let one = std::fs::read_to_string(dir.path().join("one.txt")).unwrap();
    let two = std::fs::read_to_string(dir.path().join("two.txt")).unwrap();
    assert_eq!(one, two, "both branches get every message");
    let mut lines: Vec<&str> = one.lines().collect();
    // Each source's order is kept; the two are interleaved in arrival order.
    let a: Vec<_> = lines
        .iter()
        .filter(|l| l.starts_with('a'))
        .copied()
        .collect();
    assert_eq!(a, ["a1", "a2", "a3"]);
    lines.sort_unstable();
    assert_eq!(lines, ["a1", "a2", "a3", "b1", "b2"]);
}

/// A wrong kernel or thread setting is a usage error before anything runs.
#[test]
fn invalid_inference_settings_are_refused_before_running() {
    hark_tests::ensure_built();
    for (var, value, message) in [
        (
            "HARK_KERNELS",
            "sse9",
            "HARK_KERNELS=sse9 is not a kernel variant (use scalar, avx2 or avx512vnni)",
        ),
        ("HARK_THREADS", "0", "HARK_THREADS=0 is not a thread count"),
    ] {
        let output = Command::new(hark_bin())
            .current_dir(workspace_root())
            .args(["run", "pipelines/shout.ron"])
            .env(var, value)
            .env_remove("HARK_PLUGIN_PATH")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let (_, stderr) = text(&output);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(message), "{stderr}");
    }
}
