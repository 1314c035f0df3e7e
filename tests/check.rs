//! `hark check` on data files: every `tests/pipelines/invalid-*.ron` must
//! fail with the error its `// expect:` header names, at that line and
//! column; every `valid-*.ron` and every shipped `pipelines/*.ron` must
//! pass. (See dora's descriptor-validation cases.)

use std::path::Path;

use hark_tests::{hark, text, workspace_root};

/// `// expect: LINE:COL message` and `// expect-hint: text` headers.
fn expectations(source: &str) -> (String, String, Vec<String>) {
    let expect = source
        .lines()
        .find_map(|l| l.strip_prefix("// expect: "))
        .expect("invalid-*.ron files start with `// expect: LINE:COL message`");
    let (position, message) = expect.split_once(' ').expect("LINE:COL message");
    let hints = source
        .lines()
        .filter_map(|l| l.strip_prefix("// expect-hint: "))
        .map(str::to_string)
        .collect();
    (position.to_string(), message.to_string(), hints)
}

fn cases(prefix: &str) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(workspace_root().join("tests/pipelines"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_str().unwrap().starts_with(prefix))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no {prefix}*.ron cases");
    files
}

#[test]
fn invalid_pipelines_fail_with_located_errors() {
    let root = workspace_root();
    let mut failures = Vec::new();
    for file in cases("invalid-") {
        let relative = file.strip_prefix(&root).unwrap().display().to_string();
        let (position, message, hints) = expectations(&std::fs::read_to_string(&file).unwrap());
        let output = hark(&root, &["check", &relative]);
        let (_, stderr) = text(&output);
        let mut problems = Vec::new();
        if output.status.code() != Some(2) {
            problems.push(format!("exit code {:?}, expected 2", output.status.code()));
        }
        if !stderr.contains(&format!("error: {message}")) {
            problems.push(format!("no `error: {message}`"));
        }
        if !stderr.contains(&format!("┌─ {relative}:{position}")) {
            problems.push(format!("nothing points at {relative}:{position}"));
        }
        for hint in hints {
            if !stderr.contains(&format!("= help: {hint}")) {
                problems.push(format!("no hint `{hint}`"));
            }
        }
        if !problems.is_empty() {
            failures.push(format!("{relative}: {}\n{stderr}", problems.join("; ")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn valid_and_shipped_pipelines_pass() {
    let root = workspace_root();
    let mut files = cases("valid-");
    let mut shipped: Vec<_> = std::fs::read_dir(root.join("pipelines"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ron"))
        .collect();
    assert!(!shipped.is_empty(), "pipelines/ has no examples");
    // pipelines/c-words.ron runs the C example from where its header
    // says to build it.
    hark_tests::build_c_example(&root.join("target/c"));
    files.append(&mut shipped);
    for file in files {
        let output = hark(&root, &["check", file.to_str().unwrap()]);
        let (stdout, stderr) = text(&output);
        assert!(output.status.success(), "{}: {stderr}", file.display());
        assert!(stdout.contains(": ok ("), "{stdout}");
    }
}

#[test]
fn set_overrides_are_checked_and_located() {
    let root = workspace_root();
    let output = hark(
        &root,
        &[
            "check",
            "pipelines/louder.ron",
            "--set",
            "gain.gain_db=99",
            "--set",
            "output.fromat=f32",
            "--set",
            "outptu.path=x.wav",
            "--set",
            "nonsense",
        ],
    );
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot read `--set nonsense`"), "{stderr}");
    // With no other error, overrides are applied and reported at the value.
    let output = hark(
        &root,
        &["check", "pipelines/louder.ron", "--set", "gain.gain_db=99"],
    );
    let (_, stderr) = text(&output);
    assert!(
        stderr.contains("gain_db must be within -96..=48, not 99"),
        "{stderr}"
    );
    assert!(stderr.contains("┌─ --set:1:14"), "{stderr}");
    let output = hark(
        &root,
        &[
            "check",
            "pipelines/louder.ron",
            "--set",
            "output.fromat=f32",
            "--set",
            "outptu.path=x",
        ],
    );
    let (_, stderr) = text(&output);
    assert!(
        stderr.contains("has no config field `fromat`")
            && stderr.contains("did you mean `format`?"),
        "{stderr}"
    );
    assert!(
        stderr.contains("names node `outptu`") && stderr.contains("did you mean `output`?"),
        "{stderr}"
    );
    // A valid override passes.
    let output = hark(
        &root,
        &[
            "check",
            "pipelines/louder.ron",
            "--set",
            "input.path=other file.wav",
        ],
    );
    assert!(output.status.success(), "{:?}", text(&output));
}

#[test]
fn graph_renders_dot_and_mermaid() {
    let root = workspace_root();
    let dot = hark(&root, &["graph", "pipelines/louder.ron", "--format", "dot"]);
    let (stdout, stderr) = text(&dot);
    assert!(dot.status.success(), "{stderr}");
    assert!(stdout.starts_with("digraph pipeline {"), "{stdout}");
    assert!(
        stdout.contains("\"input\" -> \"gain\" [label=\"audio\"];"),
        "{stdout}"
    );
    let mermaid = hark(
        &root,
        &["graph", "pipelines/louder.ron", "--format", "mermaid"],
    );
    let (stdout, _) = text(&mermaid);
    assert!(stdout.starts_with("flowchart LR"), "{stdout}");
    assert!(stdout.contains("n1 -- \"audio\" --> n2"), "{stdout}");
    // An invalid pipeline is not graphed.
    let bad = hark(&root, &["graph", "tests/pipelines/invalid-cycle.ron"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn unreadable_file_is_a_one_line_error() {
    let output = hark(Path::new("/"), &["check", "/nonexistent/pipeline.ron"]);
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr.contains("error: cannot read /nonexistent/pipeline.ron"),
        "{stderr}"
    );
}
