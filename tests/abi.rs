//! ABI versions, with real plugins built against other ABIs:
//!
//! - a plugin whose message layout differs under the same version number
//!   is refused with a short reason naming the type;
//! - a plugin of a later minor version (one more field below
//!   `last_prefix_field`) loads in today's host and sees the newer host
//!   field as absent;
//! - today's plugins load in a host rebuilt for that later minor version.

use std::{
    io::Write,
    path::Path,
    process::{Command, Output, Stdio},
};

use hark_tests::{build_fixture_crate, hark, library, text, workspace_root};

fn copy(from: &Path, dir: &Path, name: &str) {
    std::fs::copy(from, dir.join(name)).unwrap();
}

#[test]
fn plugin_with_a_different_layout_is_refused_with_a_short_reason() {
    let altered = build_fixture_crate("altered-abi-plugin").join("libhark_fixture_altered_abi.so");
    let dir = tempfile::tempdir().unwrap();
    copy(&altered, dir.path(), "libaltered.so");
    copy(
        &library("hark_plugin_text"),
        dir.path(),
        "libhark_plugin_text.so",
    );

    let set =
        hark::loader::PluginSet::load(&hark::loader::SearchPath::only(&[dir.path().to_path_buf()]));
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

/// `host run pipeline --plugin-path plugin_dir` with `input` on stdin.
fn run_with_stdin(host: &Path, pipeline: &Path, plugin_dir: &Path, input: &[u8]) -> Output {
    let mut child = Command::new(host)
        .args(["run", pipeline.to_str().unwrap(), "--plugin-path"])
        .arg(plugin_dir)
        .env_remove("HARK_PLUGIN_PATH")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

const PROBE_PIPELINE: &str = r#"Pipeline(
    nodes: {
        "input": (plugin: "text", kind: "lines-in"),
        "probe": (plugin: "extended", kind: "probe"),
        "output": (plugin: "text", kind: "lines-out"),
    },
    links: ["input.text -> probe.text", "probe.text -> output.in"],
)"#;

/// Runs `host` on the probe pipeline with the extended plugin on the path
/// (and the first-party plugins beside the binary); returns stdout.
fn run_probe(host: &Path) -> String {
    let target = build_fixture_crate("extended-abi");
    let dir = tempfile::tempdir().unwrap();
    copy(
        &target.join("libhark_fixture_extended_abi.so"),
        dir.path(),
        "libextended.so",
    );
    let pipeline = dir.path().join("probe.ron");
    std::fs::write(&pipeline, PROBE_PIPELINE).unwrap();
    let output = run_with_stdin(host, &pipeline, dir.path(), b"hello\n");
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{}: {stderr}", host.display());
    assert!(
        !stderr.contains("skipping"),
        "a plugin was refused: {stderr}"
    );
    stdout
}

#[test]
fn a_newer_minor_plugin_loads_in_this_host() {
    let stdout = run_probe(&hark_tests::hark_bin());
    assert_eq!(stdout, "hello [host extension: absent]\n");
}

#[test]
fn this_minor_plugins_load_in_a_newer_host() {
    let newer_host = build_fixture_crate("extended-abi").join("hark-extended");
    // `text` (built today) runs in the newer host, beside the newer plugin.
    let stdout = run_probe(&newer_host);
    assert_eq!(stdout, "hello [host extension: present (42)]\n");
    let listing = Command::new(&newer_host)
        .args(["plugins", "--rejected"])
        .output()
        .unwrap();
    let (stdout, _) = text(&listing);
    for plugin in [
        "libhark_plugin_audio.so",
        "libhark_plugin_text.so",
        "libhark_plugin_flow.so",
    ] {
        assert!(
            !stdout.contains(plugin),
            "{plugin} was refused by the newer host:\n{stdout}"
        );
    }
}

/// A plugin with the exact 1.0 layout and version (what every plugin
/// built before the inference core was added exports) loads and runs in
/// this 1.1 host.
#[test]
fn a_plugin_built_for_abi_1_0_loads_and_runs_in_this_host() {
    let dir = tempfile::tempdir().unwrap();
    copy(&library("hark_fixture_abi10"), dir.path(), "libabi10.so");
    let plugin_path = dir.path().to_str().unwrap();
    let listing = hark(
        &workspace_root(),
        &["plugins", "abi10", "--plugin-path", plugin_path],
    );
    let (stdout, stderr) = text(&listing);
    assert!(listing.status.success(), "{stderr}");
    assert!(stdout.contains("ABI 1.0.0"), "{stdout}");

    let pipeline = dir.path().join("echo.ron");
    std::fs::write(
        &pipeline,
        r#"Pipeline(
    nodes: {
        "input": (plugin: "text", kind: "lines-in"),
        "old": (plugin: "abi10", kind: "echo"),
        "output": (plugin: "text", kind: "lines-out"),
    },
    links: ["input.text -> old.text", "old.text -> output.in"],
)"#,
    )
    .unwrap();
    let output = run_with_stdin(&hark_tests::hark_bin(), &pipeline, dir.path(), b"hello\n");
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(stdout, "1.0:hello\n");
}
