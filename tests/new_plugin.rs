//! A newcomer's first plugin: the plugin guide's quick start, run as
//! written in a temporary directory (`hark new plugin`, `cargo test`,
//! `cargo build`, `hark plugins`, `hark run`); the other two scaffolds;
//! and the scaffolded plugin, built once, loaded by a host rebuilt with an
//! added (compatible) ABI field.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
    sync::OnceLock,
};

use hark_tests::{build_fixture_crate, hark_bin, text, workspace_root};

/// The `sh` block under "## Quick start" in docs/plugin-guide.md.
fn quick_start_commands() -> String {
    let guide = std::fs::read_to_string(workspace_root().join("docs/plugin-guide.md")).unwrap();
    let section = &guide[guide.find("## Quick start").expect("a Quick start section")..];
    let block = &section[section.find("```sh\n").expect("an sh block") + 6..];
    block[..block.find("```").expect("the block's end")].to_string()
}

/// A shell in `dir` with `hark` on the PATH and nothing of the outer
/// build leaking in (the commands run as a user would type them).
fn shell(dir: &Path, script: &str) -> Command {
    let bin_dir = hark_bin().parent().unwrap().to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new("bash");
    cmd.args(["-euo", "pipefail", "-c", script])
        .current_dir(dir)
        .env("PATH", path)
        .env_remove("HARK_PLUGIN_PATH")
        .env_remove("HARK_SDK")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET_DIR")
        .env_remove("RUSTFLAGS");
    cmd
}

fn run_ok(cmd: &mut Command, what: &str) -> (String, String) {
    let output: Output = cmd.output().expect("running bash");
    let (stdout, stderr) = text(&output);
    assert!(
        output.status.success(),
        "{what} failed:\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    (stdout, stderr)
}

struct QuickStart {
    /// Keeps the directory alive for the tests of this binary.
    _dir: tempfile::TempDir,
    /// The scaffolded crate (`shout`).
    crate_dir: PathBuf,
    stdout: String,
}

/// The guide's quick start, run once per test binary.
fn quick_start() -> &'static QuickStart {
    static DONE: OnceLock<QuickStart> = OnceLock::new();
    DONE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let (stdout, _) = run_ok(
            &mut shell(dir.path(), &quick_start_commands()),
            "the guide's quick start",
        );
        QuickStart {
            crate_dir: dir.path().join("shout"),
            _dir: dir,
            stdout,
        }
    })
}

#[test]
fn the_guides_quick_start_works_as_written() {
    let done = quick_start();
    let stdout = &done.stdout;
    // `hark plugins ... shout` describes the new plugin.
    assert!(
        stdout.contains("shout 0.1.0 — A Hark transform: upper-cases text and adds a suffix"),
        "{stdout}"
    );
    assert!(
        stdout.contains("suffix: string = \"!\" — appended to every text"),
        "{stdout}"
    );
    // `cargo test` ran the harness tests; `hark run` printed the result.
    assert!(
        stdout.contains("test changes_every_text ... ok"),
        "{stdout}"
    );
    assert!(stdout.ends_with("HELLO PLUGIN!\n"), "{stdout}");
    assert!(done.crate_dir.join("target/debug/libshout.so").exists());
}

#[test]
fn a_scaffolded_source_and_sink_build_load_and_run() {
    let done = quick_start();
    let parent = done.crate_dir.parent().unwrap();
    // Beside `shout`, sharing its target directory (dependencies built once).
    let target = done.crate_dir.join("target");
    let script = format!(
        "hark new plugin tick --kind source\n\
         hark new plugin word-tally --kind sink\n\
         export CARGO_TARGET_DIR={target}\n\
         (cd tick && cargo test -q && cargo build -q)\n\
         (cd word-tally && cargo test -q && cargo build -q)\n\
         hark plugins --plugin-path $CARGO_TARGET_DIR/debug word-tally\n\
         echo '== tick'\n\
         hark run tick/pipeline.ron --plugin-path $CARGO_TARGET_DIR/debug\n\
         echo '== tally'\n\
         printf 'one two three\\nfour five\\n' | hark run word-tally/pipeline.ron --plugin-path $CARGO_TARGET_DIR/debug\n",
        target = target.display()
    );
    let (stdout, _) = run_ok(&mut shell(parent, &script), "the source and sink scaffolds");
    assert!(
        stdout.contains("word-tally 0.1.0 — A Hark sink: counts and prints the words"),
        "{stdout}"
    );
    let tick = &stdout[stdout.find("== tick\n").unwrap() + 8..stdout.find("== tally").unwrap()];
    assert_eq!(
        tick,
        "hello from tick 1\nhello from tick 2\nhello from tick 3\n"
    );
    let tally = &stdout[stdout.find("== tally\n").unwrap() + 9..];
    assert_eq!(tally, "words: 3\nwords: 2\n");
}

#[test]
fn a_plugin_built_once_keeps_loading_in_a_host_with_an_added_abi_field() {
    let done = quick_start();
    // The host as a later minor version would build it: `hark` compiled
    // against plugin-api with one more field in `PluginModule` and
    // `HostVTable` (tests/fixtures/extended-abi).
    let newer_host = build_fixture_crate("extended-abi").join("hark-extended");
    let plugins = tempfile::tempdir().unwrap();
    std::fs::copy(
        done.crate_dir.join("target/debug/libshout.so"),
        plugins.path().join("libshout.so"),
    )
    .unwrap();
    let script = format!(
        "echo 'built once' | {host} run pipeline.ron --plugin-path {dir}\n\
         {host} plugins --plugin-path {dir} shout",
        host = newer_host.display(),
        dir = plugins.path().display()
    );
    let (stdout, stderr) = run_ok(&mut shell(&done.crate_dir, &script), "the newer host");
    assert!(stdout.starts_with("BUILT ONCE!\n"), "{stdout}\n{stderr}");
    assert!(stdout.contains("(plugin ABI 1.3.0)"), "{stdout}");
    assert!(!stderr.contains("skipping"), "{stderr}");
}

#[test]
fn scaffolding_mistakes_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("taken")).unwrap();
    std::fs::write(dir.path().join("taken/file"), "").unwrap();
    let hark = |args: &[&str]| {
        let output = Command::new(hark_bin())
            .args(args)
            .current_dir(dir.path())
            .env_remove("HARK_SDK")
            .output()
            .unwrap();
        let (_, stderr) = text(&output);
        (output.status.code(), stderr)
    };
    let (code, stderr) = hark(&["new", "plugin", "taken"]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("taken already exists and is not empty"),
        "{stderr}"
    );

    let (code, stderr) = hark(&["new", "plugin", "My_Plugin"]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("`My_Plugin` is not a valid plugin name"),
        "{stderr}"
    );

    let (code, stderr) = hark(&["new", "plugin", "fine", "--sdk", "/nonexistent"]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("no Hark sdk at /nonexistent") && stderr.contains("--sdk PATH/TO/hark/sdk"),
        "{stderr}"
    );
    assert!(
        !dir.path().join("fine").exists(),
        "nothing is written on error"
    );
}
