//! Nodes written in C and in Python, run by the real host in the
//! pipelines users run: the C example compiled here with `cc`, the Python
//! example in CPython embedded by the `python` plugin.

use std::{path::PathBuf, process::Command};

use hark_tests::{build_c_example, hark, run_pipeline, workspace_root};

/// `sdk/c/examples/words.c` compiled into a fresh directory.
fn build_words() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let library = build_c_example(dir.path());
    (dir, library)
}

#[test]
fn the_c_example_runs_in_its_pipeline() {
    let (_dir, library) = build_words();
    let set = format!("reverse.library={}", library.display());
    let (ok, stdout, stderr) = run_pipeline(
        &["pipelines/c-words.ron", "--set", &set],
        "one two three\nHark speaks C\n",
        &[],
    );
    assert!(ok, "{stderr}");
    assert_eq!(stdout, "three two one\nC speaks Hark\n");
}

#[test]
fn a_failing_c_node_fails_the_run_with_its_reason() {
    let (_dir, library) = build_words();
    let set = format!("reverse.library={}", library.display());
    let (ok, stdout, stderr) = run_pipeline(
        &[
            "pipelines/c-words.ron",
            "--set",
            &set,
            "--set",
            "reverse.settings={\"max_words\": 2}",
        ],
        "a b\na b c\n",
        &[],
    );
    assert!(!ok);
    assert_eq!(stdout, "b a\n");
    assert!(
        stderr.contains("node `reverse` (transform) failed in on_message")
            && stderr.contains("more than 2 words (the `max_words` setting)"),
        "{stderr}"
    );
}

#[test]
fn a_missing_c_library_is_reported_by_check_at_its_line() {
    let output = hark(
        &workspace_root(),
        &[
            "check",
            "pipelines/c-words.ron",
            "--set",
            "reverse.library=target/none/libnone.so",
        ],
    );
    let (_, stderr) = hark_tests::text(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot open the C library target/none/libnone.so"),
        "{stderr}"
    );
}

#[test]
fn the_python_example_runs_in_its_pipeline() {
    let (ok, stdout, stderr) = run_pipeline(
        &["pipelines/python-title.ron"],
        "the lord of the rings\nA TALE OF TWO CITIES\n",
        &[],
    );
    assert!(ok, "{stderr}");
    assert_eq!(stdout, "The Lord of the Rings\nA Tale of Two Cities\n");
}

#[test]
fn a_python_exception_fails_the_node_not_the_host() {
    // An empty line makes `Title` raise ValueError; the host reports it,
    // with the script's line, and exits in order (status 1: a node failed).
    let (ok, stdout, stderr) = run_pipeline(
        &[
            "pipelines/python-title.ron",
            "--set",
            "input.skip_empty=false",
        ],
        "first line\n\nthird line\n",
        &[],
    );
    assert!(!ok);
    assert_eq!(stdout, "First Line\n");
    assert!(
        stderr
            .contains("Title.on_message raised ValueError: nothing to title-case (title.py, line"),
        "{stderr}"
    );
    assert!(stderr.contains("1 node(s) failed"), "{stderr}");
}

#[test]
fn python_nodes_import_compiled_standard_modules() {
    // `_json`, `_struct`, `math` and friends are C extensions loaded after
    // the interpreter starts: they need libpython's symbols, which the
    // plugin makes global (the host loads plugins with private symbols).
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("stats.py");
    std::fs::write(
        &script,
        "import json, math, struct, decimal, hashlib\n\
         class Stats:\n    def __init__(self, settings): pass\n    def on_message(self, text):\n        \
         n = len(text.split())\n        \
         return json.dumps({\"words\": n, \"root\": math.isqrt(n), \"packed\": len(struct.pack('<i', n)), \
         \"sha\": hashlib.sha1(text.encode()).hexdigest()[:8], \"half\": str(decimal.Decimal(n) / 2)})\n",
    )
    .unwrap();
    let set_script = format!("title.script={}", script.display());
    let (ok, stdout, stderr) = run_pipeline(
        &[
            "pipelines/python-title.ron",
            "--set",
            &set_script,
            "--set",
            "title.class=Stats",
        ],
        "one two three four\n",
        &[],
    );
    assert!(ok, "{stderr}");
    let sha = sha1_prefix("one two three four");
    assert_eq!(
        stdout,
        format!(
            "{{\"words\": 4, \"root\": 2, \"packed\": 4, \"sha\": \"{sha}\", \"half\": \"2\"}}\n"
        )
    );
}

/// The first 8 hex digits of SHA-1 of `text`, from Python outside the host.
fn sha1_prefix(text: &str) -> String {
    let out = Command::new("/usr/bin/python3")
        .args([
            "-c",
            &format!("import hashlib;print(hashlib.sha1({text:?}.encode()).hexdigest()[:8])"),
        ])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}
