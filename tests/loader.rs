//! Loading real plugin libraries from disk: first-party plugins, broken
//! files, a library that is not a plugin, a duplicate, and a plugin built
//! against a different ABI.

use std::{path::Path, process::Command};

use hark::loader::{PluginSet, SearchPath};
use hark_tests::{hark, library, text, workspace_root};

fn copy(from: &Path, dir: &Path, name: &str) {
    std::fs::copy(from, dir.join(name)).unwrap();
}

/// A real shared library with no Hark root module.
fn build_plain_c_library(dir: &Path) -> std::path::PathBuf {
    let src = dir.join("plain.c");
    std::fs::write(&src, "int plain_answer(void) { return 42; }\n").unwrap();
    let out = dir.join("libplain.so");
    let status = Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&out)
        .arg(&src)
        .status()
        .expect("cc is needed to build the test library");
    assert!(status.success());
    std::fs::remove_file(src).unwrap();
    out
}

#[test]
fn loads_each_plugin_and_reports_every_refused_file() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["hark_plugin_audio", "hark_plugin_text", "hark_plugin_flow"] {
        copy(&library(name), dir.path(), &format!("lib{name}.so"));
    }
    // The same plugin again under another file name.
    copy(
        &library("hark_plugin_audio"),
        dir.path(),
        "libzz_audio_copy.so",
    );
    std::fs::write(dir.path().join("fake.so"), "this is not ELF").unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a library").unwrap();
    build_plain_c_library(dir.path());

    let set = PluginSet::load(&SearchPath::only(&[dir.path().to_path_buf()]));

    // Each plugin is its own library (abi_stable's load_from_* would
    // return the first one for all of them).
    let names: Vec<_> = set.plugins.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["audio", "flow", "text"]);
    assert!(set.get("audio").unwrap().kind("wav-reader").is_some());
    assert!(set.get("text").unwrap().kind("lines-in").is_some());
    assert!(set.get("flow").unwrap().kind("passthrough").is_some());
    assert!(set.get("text").unwrap().kind("wav-reader").is_none());
    let audio = set.get("audio").unwrap();
    assert_eq!(audio.abi_version, "1.0.0");
    let reader = audio.kind("wav-reader").unwrap();
    let frame_ms = reader.config.iter().find(|f| f.name == "frame_ms").unwrap();
    assert_eq!(
        frame_ms.default.as_deref(),
        Some("20"),
        "defaults come from Settings::default()"
    );
    assert!(
        reader
            .config
            .iter()
            .find(|f| f.name == "path")
            .unwrap()
            .default
            .is_none(),
        "required"
    );

    let reason = |file: &str| {
        set.rejected
            .iter()
            .find(|r| r.path.file_name().unwrap() == file)
            .unwrap_or_else(|| panic!("{file} not reported: {:?}", set.rejected))
            .reason
            .clone()
    };
    assert_eq!(reason("fake.so"), "not a loadable library");
    assert!(reason("libplain.so")
        .starts_with("not a Hark plugin: it exports no abi_stable root module"));
    assert!(reason("notes.txt").starts_with("not a shared library"));
    assert!(reason("libzz_audio_copy.so").contains("plugin name `audio` is already taken by"));
    assert_eq!(set.rejected.len(), 4, "{:?}", set.rejected);
}

#[test]
fn missing_directories_are_not_errors() {
    let set = PluginSet::load(&SearchPath::only(&[
        Path::new("/nonexistent/plugins").to_path_buf()
    ]));
    assert!(set.plugins.is_empty() && set.rejected.is_empty());
}

/// Builds the fixture crate whose plugin-api has a different `MessageMeta`
/// layout (same ABI version number), reusing the workspace's lockfile and
/// target directory so that only the changed crates compile.
fn build_altered_abi_plugin() -> std::path::PathBuf {
    let root = workspace_root();
    let fixture = root.join("tests/fixtures/altered-abi-plugin");
    std::fs::copy(root.join("Cargo.lock"), fixture.join("Cargo.lock")).unwrap();
    let target = hark_tests::target_dir();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--quiet", "--offline", "--manifest-path"])
        .arg(fixture.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target.parent().unwrap());
    if target.file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    assert!(
        cmd.status().unwrap().success(),
        "building the altered-ABI fixture failed"
    );
    target.join("libhark_fixture_altered_abi.so")
}

#[test]
fn plugin_with_a_different_abi_is_refused_with_a_short_reason() {
    let altered = build_altered_abi_plugin();
    let dir = tempfile::tempdir().unwrap();
    copy(&altered, dir.path(), "libaltered.so");
    copy(
        &library("hark_plugin_text"),
        dir.path(),
        "libhark_plugin_text.so",
    );

    let set = PluginSet::load(&SearchPath::only(&[dir.path().to_path_buf()]));
    // The good plugin still loads beside the bad one.
    assert_eq!(set.plugins.len(), 1);
    let rejection = &set.rejected[0];
    assert!(
        rejection.reason.starts_with("ABI mismatch"),
        "{}",
        rejection.reason
    );
    assert!(
        rejection
            .reason
            .contains("`MessageMeta` differs (incompatible type size: expected 24, found 32"),
        "{}",
        rejection.reason
    );
    assert!(
        rejection.reason.contains("Message.meta"),
        "{}",
        rejection.reason
    );
    assert!(
        rejection.reason.len() < 400,
        "the summary must stay short: {}",
        rejection.reason
    );
    let detail = rejection.detail.as_ref().unwrap();
    assert!(
        detail.len() > 5_000,
        "the full report stays available for --verbose"
    );

    // The CLI shows the summary, and the full text with --verbose.
    let plugin_path = dir.path().to_str().unwrap();
    let output = hark(
        &workspace_root(),
        &["plugins", "--rejected", "--plugin-path", plugin_path],
    );
    let (stdout, _) = text(&output);
    assert!(output.status.success());
    assert!(stdout.contains("libaltered.so\n  ABI mismatch"), "{stdout}");
    assert!(stdout.lines().count() < 10, "{stdout}");
    let verbose = hark(
        &workspace_root(),
        &[
            "plugins",
            "--rejected",
            "--verbose",
            "--plugin-path",
            plugin_path,
        ],
    );
    assert!(text(&verbose).0.contains("Layout of expected type"));
    // And the host still runs: listing works, the good plugin is there.
    let listing = hark(
        &workspace_root(),
        &["plugins", "--plugin-path", plugin_path],
    );
    let (stdout, stderr) = text(&listing);
    assert!(
        stdout.contains("text 0.1.0") && stdout.contains("librar"),
        "{stdout}{stderr}"
    );
}

#[test]
fn plugins_command_describes_kinds_ports_and_config() {
    let output = hark(&workspace_root(), &["plugins", "audio"]);
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stderr}");
    for expected in [
        "audio 0.1.0 — Audio nodes",
        "wav-reader (source) — Reads a WAV file and emits audio frames",
        "frame_ms: u32 = 20 — frame length in milliseconds",
        "path: path (required) — WAV file to read",
        "gain (transform)",
        "inputs:",
        "audio: audio",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
    let unknown = hark(&workspace_root(), &["plugins", "audi"]);
    let (_, stderr) = text(&unknown);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr.contains("did you mean `audio`?"), "{stderr}");
}
