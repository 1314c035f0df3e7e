//! Loading real plugin libraries from disk: first-party plugins, broken
//! files, a library that is not a plugin, a duplicate. (ABI versions:
//! `abi.rs`.)

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
    assert_eq!(audio.abi_version, hark_plugin_api_version());
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

/// The ABI version this workspace's plugin-api is (first-party plugins are
/// built with it).
/// `hark plugins | head`: the reader goes before the listing is written;
/// hark ends as Unix tools do (SIGPIPE), not with a panic (exit 101).
#[test]
fn a_listing_to_a_closed_pipe_ends_quietly() {
    use std::os::unix::process::ExitStatusExt;
    use std::process::Stdio;
    for args in [&["plugins", "--verbose"][..], &["doctor"]] {
        let mut child = Command::new(hark_tests::hark_bin())
            .current_dir(workspace_root())
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take()); // the reader is gone before any output
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(
            output.status.signal(),
            Some(13), // SIGPIPE
            "{args:?}: {:?} {stderr}",
            output.status
        );
    }
}

fn hark_plugin_api_version() -> &'static str {
    hark_sdk::api::ABI_VERSION
}
