//! The Python bridge with real scripts in the embedded interpreter: the
//! example in `sdk/python/examples` and small scripts written below.

use std::path::{Path, PathBuf};

use hark_plugin_python::{Sink, Source, Transform};
use hark_sdk::{
    audio_message,
    testing::{texts, Harness},
    text_message, value_field, ControlEvent, Message, MessageMeta, Payload, Value,
};

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sdk/python/examples/title.py")
}

fn config(script: &Path, class: &str, settings: &str) -> String {
    format!(
        "(script: {:?}, class: {class:?}, settings: {{{settings}}})",
        script.to_str().unwrap()
    )
}

/// Writes `code` to `name` in a fresh directory.
fn script(name: &str, code: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, code).unwrap();
    (dir, path)
}

#[test]
fn the_example_transform_title_cases_and_passes_control_events() {
    let mut h =
        Harness::new::<Transform>(&config(&example(), "Title", "\"small\": [\"of\", \"the\"]"))
            .unwrap();
    let meta = MessageMeta {
        utterance: 3,
        ..MessageMeta::default()
    };
    h.push(0, text_message(meta, "the LORD of the rings"))
        .unwrap();
    h.push(
        0,
        Message::new(meta, Payload::Control(ControlEvent::UtteranceEnd)),
    )
    .unwrap();
    let out = h.finish().unwrap();
    assert_eq!(texts(&out), ["The Lord of the Rings"]);
    assert_eq!(out[0].1.meta.utterance, 3);
    assert!(matches!(
        out[1].1.payload,
        Payload::Control(ControlEvent::UtteranceEnd)
    ));
}

#[test]
fn the_example_source_counts_to_its_setting() {
    let mut h = Harness::new::<Source>(&config(&example(), "Count", "\"to\": 4")).unwrap();
    h.run_source(10).unwrap();
    assert_eq!(texts(&h.take_outputs()), ["1", "2", "3", "4"]);
}

#[test]
fn an_exception_is_a_node_error_and_the_node_goes_on() {
    let mut h = Harness::new::<Transform>(&config(&example(), "Title", "")).unwrap();
    let e = h
        .push(0, text_message(MessageMeta::default(), "  "))
        .unwrap_err();
    assert!(
        e.message
            .contains("Title.on_message raised ValueError: nothing to title-case (title.py, line"),
        "{}",
        e.message
    );
    h.push(0, text_message(MessageMeta::default(), "hello world"))
        .unwrap();
    assert_eq!(texts(&h.finish().unwrap()), ["Hello World"]);

    // Not even SystemExit ends the process.
    let (_dir, path) = script("leave.py", "import sys\nclass Leave:\n    def __init__(self, s): pass\n    def on_message(self, m):\n        sys.exit(3)\n");
    let mut h = Harness::new::<Sink>(&config(&path, "Leave", "")).unwrap();
    let e = h
        .push(0, text_message(MessageMeta::default(), "x"))
        .unwrap_err();
    assert!(
        e.message.contains("Leave.on_message raised SystemExit: 3"),
        "{}",
        e.message
    );
}

#[test]
fn mistakes_in_scripts_are_explained_where_they_are() {
    let (_dir, broken) = script(
        "broken.py",
        "class Broken:\n    def on_message(self, m)\n        return m\n",
    );
    let e = Harness::new::<Transform>(&config(&broken, "Broken", "")).unwrap_err();
    assert!(
        e.message.contains("SyntaxError") && e.message.contains("(broken.py, line 2)"),
        "{}",
        e.message
    );

    let e = Harness::new::<Transform>(&config(&example(), "Titel", "")).unwrap_err();
    assert!(
        e.message
            .contains("has no class `Titel`; it defines: Title, Count"),
        "{}",
        e.message
    );

    let e = Harness::new::<Source>(&config(&example(), "Title", "")).unwrap_err();
    assert!(
        e.message
            .contains("class `Title` has no method `produce`, which a Python source needs"),
        "{}",
        e.message
    );

    let e = Harness::new::<Sink>(&config(Path::new("/nonexistent/node.py"), "X", "")).unwrap_err();
    assert!(
        e.message
            .contains("cannot open the Python script /nonexistent/node.py"),
        "{}",
        e.message
    );

    let (_dir, failing) = script("failing.py", "class Failing:\n    def __init__(self, settings):\n        raise KeyError(settings['missing'])\n    def on_message(self, m): pass\n");
    let e = Harness::new::<Sink>(&config(&failing, "Failing", "")).unwrap_err();
    assert!(
        e.message
            .contains("Failing(settings) raised KeyError: 'missing' (failing.py, line 3)"),
        "{}",
        e.message
    );
}

#[test]
fn audio_intents_and_values_cross_into_python_and_back() {
    let (_dir, path) = script(
        "kinds.py",
        r#"
import hark, json

class Kinds:
    def __init__(self, settings):
        self.gain = settings["gain"]

    def on_message(self, message):
        if isinstance(message, hark.Audio):
            louder = hark.Audio([s * self.gain for s in message.samples], message.sample_rate, message.channels)
            return [louder, {"samples": len(message.samples), "rate": message.sample_rate}]
        return {"seen": json.loads(json.dumps(message))}
"#,
    );
    let mut h = Harness::new::<Transform>(&config(&path, "Kinds", "\"gain\": 2.0")).unwrap();
    h.push(
        0,
        audio_message(MessageMeta::default(), 16_000, 1, vec![0.25, -0.125]),
    )
    .unwrap();
    let value = hark_sdk::value_map([("n", Value::Int(5)), ("ok", Value::Bool(true))]);
    h.push(
        0,
        Message::new(MessageMeta::default(), Payload::Value(value)),
    )
    .unwrap();
    let out = h.finish().unwrap();
    assert_eq!(out.len(), 3);
    match &out[0].1.payload {
        Payload::Audio(a) => {
            assert_eq!((a.sample_rate, a.channels), (16_000, 1));
            assert_eq!(a.samples.as_slice(), &[0.5, -0.25]);
        }
        other => panic!("expected audio, got {other:?}"),
    }
    let Payload::Value(summary) = &out[1].1.payload else {
        panic!("expected a value")
    };
    assert_eq!(value_field(summary, "samples"), Some(&Value::Int(2)));
    assert_eq!(value_field(summary, "rate"), Some(&Value::Int(16_000)));
    let Payload::Value(seen) = &out[2].1.payload else {
        panic!("expected a value")
    };
    let seen = value_field(seen, "seen").unwrap();
    assert_eq!(value_field(seen, "n"), Some(&Value::Int(5)));
    assert_eq!(value_field(seen, "ok"), Some(&Value::Bool(true)));
}

#[test]
fn returning_something_unsendable_is_an_error() {
    let (_dir, path) = script("odd.py", "class Odd:\n    def __init__(self, s): pass\n    def on_message(self, m):\n        return object()\n");
    let mut h = Harness::new::<Transform>(&config(&path, "Odd", "")).unwrap();
    let e = h
        .push(0, text_message(MessageMeta::default(), "x"))
        .unwrap_err();
    assert!(
        e.message
            .contains("Odd.on_message returned cannot send a Python object as a message"),
        "{}",
        e.message
    );
}
