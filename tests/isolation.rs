//! Isolated nodes (`isolate: true`): the fault fixtures of the `faulty`
//! plugin, run through the real `hark` binary in a process of their own
//! and, for contrast, in the host's process.

use std::{
    os::unix::process::{CommandExt, ExitStatusExt},
    path::Path,
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

use hark_tests::{
    column, fixture_plugin_dir, hark_bin, run_fixture, stats_row, test_signal, text,
    workspace_root, write_wav,
};

/// A counter's 20 frames through `boom` (FAULT on frames 5 and 9) into a
/// sink; NODE is extra node fields.
const FAULT_PIPELINE: &str = r#"Pipeline(
    nodes: {
        "source": (plugin: "faulty", kind: "counter", config: (count: 20)),
        "boom": (plugin: "faulty", kind: "crasher", config: (fault: "FAULT", at: [5, 9]),
                 restart: (policy: "on-failure", max_restarts: 5, backoff_ms: 1), NODE),
        "sink": (plugin: "faulty", kind: "slow-sink", config: (delay_ms: 0)),
    },
    links: ["source.audio -> boom.in", "boom.out -> sink.in"],
)"#;

fn fault_pipeline(fault: &str, node: &str) -> String {
    FAULT_PIPELINE.replace("FAULT", fault).replace("NODE", node)
}

/// Each fault, and what the host says the process died of.
const FAULTS: [(&str, &str); 4] = [
    (
        "segfault",
        "was killed by signal 11 (SIGSEGV: a segmentation fault)",
    ),
    ("abort", "was killed by signal 6 (SIGABRT: it aborted)"),
    (
        "stack-overflow",
        "was killed by signal 6 (SIGABRT: it aborted)",
    ),
    (
        "exhaust-memory",
        "was killed by signal 6 (SIGABRT: it aborted) (hint: it may have run out of memory: its memory_limit_mb is 256",
    ),
];

#[test]
fn a_crash_in_an_isolated_node_is_a_node_failure_and_the_host_runs_on() {
    for (fault, said) in FAULTS {
        let (output, stderr) = run_fixture(
            &fault_pipeline(fault, "isolate: true, memory_limit_mb: 256"),
            &[],
        );
        assert!(output.status.success(), "{fault}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "node `boom` (crasher) failed in on_message: the node's process {said}"
            )),
            "{fault}: {stderr}"
        );
        let boom = stats_row(&stderr, "boom");
        assert_eq!(column(&boom, "restarts"), 2, "{fault}: {stderr}");
        assert_eq!(column(&boom, "in"), 20, "{fault}: {stderr}");
        // The two frames in hand when the process died are lost; a fresh
        // process took every other one.
        let sink = stats_row(&stderr, "sink");
        assert_eq!(column(&sink, "in"), 18, "{fault}: {stderr}");
    }
}

/// The contrast: the same faults in the host's process end the host.
/// (Memory is bounded for the whole host here, by `ulimit -d`, so the
/// test does not exhaust the machine's.)
#[test]
fn the_same_crash_in_the_hosts_process_ends_the_host() {
    let dir = tempfile::tempdir().unwrap();
    for (fault, signal) in [
        ("segfault", libc_signal::SEGV),
        ("abort", libc_signal::ABRT),
        ("stack-overflow", libc_signal::ABRT),
        ("exhaust-memory", libc_signal::ABRT),
    ] {
        let file = dir.path().join(format!("{fault}.ron"));
        std::fs::write(&file, fault_pipeline(fault, "isolate: false")).unwrap();
        let output = run_with_data_limit(&file, 1 << 20);
        assert_eq!(
            output.status.signal(),
            Some(signal),
            "{fault}: {:?}\n{}",
            output.status,
            text(&output).1
        );
    }
}

/// `hark run FILE` with the fixture plugin, its whole process limited to
/// `kib` of writable memory (`ulimit -d`).
fn run_with_data_limit(file: &Path, kib: u64) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(format!(r#"ulimit -d {kib} && exec "$@""#))
        .arg("sh")
        .arg(hark_bin())
        .arg("run")
        .arg(file)
        .arg("--plugin-path")
        .arg(fixture_plugin_dir())
        .output()
        .expect("running hark under ulimit")
}

/// Signal numbers on Linux (the tests crate does not link libc).
mod libc_signal {
    pub const ABRT: i32 = 6;
    pub const SEGV: i32 = 11;
}

/// A node that leaks is restarted when its process reaches its memory
/// limit, again and again, while the host's memory stays its own; in the
/// host's process the same leak ends the host.
#[test]
fn a_leak_is_bounded_by_the_isolated_nodes_memory_limit() {
    let pipeline = |node: &str| {
        format!(
            r#"Pipeline(
    nodes: {{
        "source": (plugin: "faulty", kind: "counter", config: (count: 60)),
        "leak": (plugin: "faulty", kind: "leaker", config: (kb_per_message: 16384),
                 restart: (policy: "on-failure", max_restarts: 20, backoff_ms: 1), {node}),
        "sink": (plugin: "faulty", kind: "slow-sink", config: (delay_ms: 0)),
    }},
    links: ["source.audio -> leak.in", "leak.out -> sink.in"],
)"#
        )
    };
    // 60 × 16 MiB leaked against 256 MiB: several processes in turn.
    let (output, stderr) = run_fixture(&pipeline("isolate: true, memory_limit_mb: 256"), &[]);
    assert!(output.status.success(), "{stderr}");
    let leak = stats_row(&stderr, "leak");
    let restarts = column(&leak, "restarts");
    assert!(
        (2..=12).contains(&restarts),
        "{restarts} restarts: {stderr}"
    );
    assert_eq!(
        column(&stats_row(&stderr, "sink"), "in"),
        60 - restarts,
        "{stderr}"
    );
    assert!(stderr.contains("it may have run out of memory"), "{stderr}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("leak.ron");
    std::fs::write(&file, pipeline("isolate: false")).unwrap();
    let output = run_with_data_limit(&file, 512 << 10);
    assert_eq!(
        output.status.signal(),
        Some(libc_signal::ABRT),
        "{:?}\n{}",
        output.status,
        text(&output).1
    );
}

/// A hung isolated node is killed (its process), not just left behind:
/// its replacement runs, and nothing waits on the old one.
#[test]
fn a_hung_isolated_node_is_killed_and_restarted() {
    let (output, stderr) = run_fixture(
        &fault_pipeline("hang", "isolate: true, stall_timeout_ms: 400"),
        &[],
    );
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("node `boom` (crasher) stalled: on_message has not returned"),
        "{stderr}"
    );
    let boom = stats_row(&stderr, "boom");
    assert_eq!(column(&boom, "stalls"), 2, "{stderr}");
    assert_eq!(column(&boom, "restarts"), 2, "{stderr}");
    assert_eq!(column(&stats_row(&stderr, "sink"), "in"), 18, "{stderr}");
}

/// What a plugin reports through its context (counters, gauges) reaches
/// `--stats` from the node's process, and its messages arrive whole.
#[test]
fn an_isolated_nodes_counters_and_messages_reach_the_host() {
    let (output, stderr) = run_fixture(
        r#"Pipeline(
    nodes: {
        "source": (plugin: "faulty", kind: "counter", config: (count: 50, frame_samples: 4000), isolate: true),
        "sink": (plugin: "faulty", kind: "slow-sink", config: (delay_ms: 0), isolate: true),
    },
    links: ["source.audio -> sink.in"],
)"#,
        &[],
    );
    assert!(output.status.success(), "{stderr}");
    assert_eq!(column(&stats_row(&stderr, "source"), "out"), 50, "{stderr}");
    assert_eq!(column(&stats_row(&stderr, "sink"), "in"), 50, "{stderr}");
    assert!(stderr.contains("received = 50"), "{stderr}");
}

/// Ctrl-C in a terminal signals the whole process group: the isolated
/// nodes ignore it and the host drains them, so an isolated WAV writer
/// still finalises its file.
#[test]
fn ctrl_c_to_the_process_group_drains_isolated_nodes() {
    let dir = tempfile::tempdir().unwrap();
    write_wav(
        &dir.path().join("long.wav"),
        16_000,
        &test_signal(16_000, 20.0),
    );
    let text_of = std::fs::read_to_string(workspace_root().join("pipelines/louder.ron")).unwrap();
    let pipeline = text_of
        .replace(
            r#"config: (gain_db: 6.0)),"#,
            r#"config: (gain_db: 6.0), isolate: true),"#,
        )
        .replace(r#"format: "i16")),"#, r#"format: "i16"), isolate: true),"#);
    assert_ne!(pipeline, text_of, "louder.ron changed shape");
    std::fs::write(dir.path().join("p.ron"), pipeline).unwrap();
    let child = Command::new(hark_bin())
        .current_dir(dir.path())
        .args(["run", "p.ron", "--set", "input.path=long.wav"])
        .args([
            "--set",
            "input.realtime=true",
            "--set",
            "output.path=out.wav",
        ])
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    let sent = Instant::now();
    let status = Command::new("kill")
        .args(["-INT", "--", &format!("-{}", child.id())])
        .status()
        .unwrap();
    assert!(status.success());
    let result = child.wait_with_output().unwrap();
    let stderr = text(&result).1;
    assert!(sent.elapsed() < Duration::from_secs(3), "{stderr}");
    assert_eq!(result.status.code(), Some(130), "{stderr}");
    let reader = hound::WavReader::open(dir.path().join("out.wav")).expect("a finalised WAV");
    let seconds = reader.duration() as f32 / 16_000.0;
    assert!((0.3..5.0).contains(&seconds), "{seconds} s written");
}
