//! Helpers for the workspace integration tests: building and locating the
//! real `hark` binary and plugin libraries, running `hark`, writing WAVs.
//!
//! Tests use what a user uses: the binary and `.so` files cargo builds,
//! loaded from disk. [`ensure_built`] builds them once per test binary
//! (a no-op when they are fresh).

pub mod fuzz;
pub mod render;

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
    sync::OnceLock,
};

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is in the workspace")
        .to_path_buf()
}

/// `target/<profile>` of the running test binary.
pub fn target_dir() -> PathBuf {
    // The test binary is target/<profile>/deps/<name>-<hash>.
    let exe = std::env::current_exe().expect("test binary path");
    exe.parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps")
        .to_path_buf()
}

/// The packages the tests need built.
const PACKAGES: [&str; 15] = [
    "hark",
    "hark-plugin-audio",
    "hark-plugin-text",
    "hark-plugin-flow",
    "hark-plugin-vad",
    "hark-plugin-whisper",
    "hark-plugin-tts",
    "hark-plugin-nlu",
    "hark-plugin-skills",
    "hark-plugin-vision",
    "hark-plugin-c",
    "hark-plugin-python",
    "hark-plugin-wyoming",
    "hark-fixture-faulty",
    "hark-fixture-abi10",
];

/// Builds the `hark` binary, the first-party plugins and the test fixture
/// plugin, once per test process.
pub fn ensure_built() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.current_dir(workspace_root())
            .arg("build")
            .arg("--quiet");
        for p in PACKAGES {
            cmd.args(["-p", p]);
        }
        if target_dir().file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("running cargo build");
        assert!(status.success(), "cargo build of the test artifacts failed");
    });
}

/// The `hark` binary.
pub fn hark_bin() -> PathBuf {
    ensure_built();
    target_dir().join("hark")
}

/// The shared library of workspace crate `crate_name` (underscores).
pub fn library(crate_name: &str) -> PathBuf {
    ensure_built();
    target_dir().join(format!("lib{crate_name}.so"))
}

/// Runs `hark` with `args` in `cwd`; plugins come from beside the binary
/// plus the fixture plugin's directory when `with_fixtures`.
pub fn hark(cwd: &Path, args: &[&str]) -> Output {
    Command::new(hark_bin())
        .current_dir(cwd)
        .args(args)
        .args(["--color", "never"])
        .env_remove("HARK_PLUGIN_PATH")
        .output()
        .expect("running hark")
}

/// Runs a pipeline file written to a temp dir, with the fixture plugin.
pub fn run_fixture(pipeline: &str, extra: &[&str]) -> (std::process::Output, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("p.ron");
    std::fs::write(&file, pipeline).expect("pipeline written");
    let plugins = fixture_plugin_dir();
    let mut args = vec![
        "run",
        file.to_str().unwrap(),
        "--plugin-path",
        plugins.to_str().unwrap(),
        "--stats",
    ];
    args.extend_from_slice(extra);
    let output = hark(dir.path(), &args);
    let stderr = text(&output).1;
    (output, stderr)
}

/// The stats row of `node`, split into columns.
pub fn stats_row(stderr: &str, node: &str) -> Vec<String> {
    stderr
        .lines()
        .find(|l| l.split_whitespace().next() == Some(node))
        .unwrap_or_else(|| panic!("no stats row for {node}:\n{stderr}"))
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// Columns: node kind in out p50 p50unit p99 p99unit queue drops restarts
/// stalls.
pub fn column(row: &[String], name: &str) -> u64 {
    let index = match name {
        "in" => 2,
        "out" => 3,
        "queue" => 8,
        "drops" => 9,
        "restarts" => 10,
        "stalls" => 11,
        _ => unreachable!(),
    };
    row[index]
        .parse()
        .unwrap_or_else(|_| panic!("{name} in {row:?}"))
}

/// A directory holding only the fixture plugin, for `--plugin-path`.
pub fn fixture_plugin_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = target_dir().join("test-fixture-plugins");
        std::fs::create_dir_all(&dir).expect("fixture dir");
        std::fs::copy(
            library("hark_fixture_faulty"),
            dir.join("libhark_fixture_faulty.so"),
        )
        .expect("copy fixture");
        dir
    })
    .clone()
}

/// Builds a fixture crate of `tests/fixtures/` that is deliberately not a
/// workspace member (it enables a test-only plugin-api feature), with the
/// workspace's lockfile and target directory so that only the crates the
/// feature changes are compiled. Returns the target directory it built in.
pub fn build_fixture_crate(name: &str) -> PathBuf {
    // One build per fixture per test process, one at a time (they share
    // the lockfile copy and the target directory).
    static BUILT: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if built.iter().any(|b| b == name) {
        return target_dir();
    }
    let root = workspace_root();
    let fixture = root.join("tests/fixtures").join(name);
    std::fs::copy(root.join("Cargo.lock"), fixture.join("Cargo.lock")).expect("copy Cargo.lock");
    let target = target_dir();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--quiet", "--offline", "--manifest-path"])
        .arg(fixture.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target.parent().expect("target/<profile>"));
    if target.file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    let status = cmd.status().expect("running cargo build");
    assert!(status.success(), "building the fixture crate {name} failed");
    built.push(name.to_string());
    target
}

/// Compiles the C example `sdk/c/examples/words.c` into
/// `dir/libwords.so`, as its header says, and returns the library's path.
pub fn build_c_example(dir: &Path) -> PathBuf {
    let root = workspace_root();
    std::fs::create_dir_all(dir).expect("creating the library's directory");
    let library = dir.join("libwords.so");
    let status = Command::new("cc")
        .args(["-shared", "-fPIC", "-O2", "-Wall", "-Werror", "-I"])
        .arg(root.join("sdk/c"))
        .arg("-o")
        .arg(&library)
        .arg(root.join("sdk/c/examples/words.c"))
        .status()
        .expect("running cc (install gcc)");
    assert!(status.success(), "cc failed on words.c");
    library
}

/// Installs catalog models into the directory the `hark` binary uses
/// (shared by the tests; idempotent).
pub fn install_models(names: &[&str]) {
    let dir = hark::dirs::directory(hark_sdk::api::Directory::Models);
    for name in names {
        let entry = hark::catalog::find(name).unwrap_or_else(|| panic!("no model {name}"));
        hark::catalog::fetch(entry, &dir, false).unwrap_or_else(|e| panic!("fetching {name}: {e}"));
    }
}

/// Runs `hark run ARGS...` from the workspace root with `stdin` and extra
/// environment; returns (success, stdout, stderr).
pub fn run_pipeline(args: &[&str], stdin: &str, env: &[(&str, &Path)]) -> (bool, String, String) {
    use std::io::Write;
    let mut cmd = Command::new(hark_bin());
    cmd.current_dir(workspace_root())
        .arg("run")
        .args(args)
        .args(["--color", "never"])
        .env("HARK_LOG", "info")
        .env_remove("HARK_PLUGIN_PATH")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("running hark");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("writing stdin");
    let output = child.wait_with_output().expect("waiting for hark");
    let (stdout, stderr) = text(&output);
    (output.status.success(), stdout, stderr)
}

/// Stdout and stderr of `output` as text, for assertion messages.
pub fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Writes a 16-bit mono WAV of `samples` at `rate` Hz.
pub fn write_wav(path: &Path, rate: u32, samples: &[i16]) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("create wav");
    for &s in samples {
        w.write_sample(s).expect("write sample");
    }
    w.finalize().expect("finalize wav");
}

/// `seconds` of a deterministic test signal: a sweep plus pseudo-noise,
/// covering the whole 16-bit range.
pub fn test_signal(rate: u32, seconds: f32) -> Vec<i16> {
    let n = (rate as f32 * seconds) as usize;
    let mut seed = 0x2545_f491_u32;
    (0..n)
        .map(|i| {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            let t = i as f32 / rate as f32;
            let sweep = (2.0 * std::f32::consts::PI * (200.0 + 1800.0 * t) * t).sin() * 0.6;
            let noise = (seed as f32 / u32::MAX as f32 - 0.5) * 0.3;
            ((sweep + noise) * 32767.0).clamp(-32768.0, 32767.0) as i16
        })
        .collect()
}
