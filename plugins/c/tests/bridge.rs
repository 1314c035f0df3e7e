//! The C bridge with real C libraries, compiled here with `cc` from the
//! example in `sdk/c/examples` and from small sources written below.

use std::{path::PathBuf, process::Command};

use hark_plugin_c::{Sink, Source, Transform};
use hark_sdk::{
    testing::{texts, Harness},
    text_message, ControlEvent, Message, MessageMeta, Payload,
};

/// Compiles C `source` into `lib{name}.so` in a fresh directory.
fn compile(name: &str, source: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let c_file = dir.path().join(format!("{name}.c"));
    std::fs::write(&c_file, source).unwrap();
    let library = dir.path().join(format!("lib{name}.so"));
    let header_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../sdk/c");
    let status = Command::new("cc")
        .args([
            "-Wall", "-Werror", "-shared", "-fPIC", "-O2", "-I", header_dir, "-o",
        ])
        .arg(&library)
        .arg(&c_file)
        .status()
        .expect("running cc (install gcc)");
    assert!(status.success(), "cc failed on {name}.c");
    (dir, library)
}

fn words() -> (tempfile::TempDir, PathBuf) {
    compile("words", include_str!("../../../sdk/c/examples/words.c"))
}

fn config(library: &std::path::Path, node: &str, settings: &str) -> String {
    format!(
        "(library: {:?}, node: {node:?}, settings: {{{settings}}})",
        library.to_str().unwrap()
    )
}

#[test]
fn a_c_transform_reverses_words_and_passes_control_events_through() {
    let (_dir, lib) = words();
    let mut h = Harness::new::<Transform>(&config(&lib, "reverse", "")).unwrap();
    let meta = MessageMeta {
        utterance: 7,
        ..MessageMeta::default()
    };
    h.push(0, text_message(meta, "one two  three")).unwrap();
    h.push(
        0,
        Message::new(meta, Payload::Control(ControlEvent::UtteranceEnd)),
    )
    .unwrap();
    let out = h.finish().unwrap();
    assert_eq!(texts(&out), ["three two one"]);
    assert_eq!(out[0].1.meta.utterance, 7, "the input's metadata is kept");
    assert!(matches!(
        out[1].1.payload,
        Payload::Control(ControlEvent::UtteranceEnd)
    ));
}

#[test]
fn a_c_source_counts_down_from_its_setting() {
    let (_dir, lib) = words();
    let mut h = Harness::new::<Source>(&config(&lib, "countdown", "\"from\": 4")).unwrap();
    h.run_source(10).unwrap();
    assert_eq!(texts(&h.take_outputs()), ["4", "3", "2", "1"]);
}

#[test]
fn an_error_in_c_is_a_node_error_with_its_reason() {
    let (_dir, lib) = words();
    let mut h =
        Harness::new::<Transform>(&config(&lib, "reverse", "\"max_words\": \"2\"")).unwrap();
    h.push(0, text_message(MessageMeta::default(), "a b"))
        .unwrap();
    let e = h
        .push(0, text_message(MessageMeta::default(), "a b c"))
        .unwrap_err();
    assert!(
        e.message
            .contains("more than 2 words (the `max_words` setting)")
            && e.message.contains("reverse"),
        "{}",
        e.message
    );
    // The node keeps working after an error.
    h.push(0, text_message(MessageMeta::default(), "c d"))
        .unwrap();
    assert_eq!(texts(&h.finish().unwrap()), ["b a", "d c"]);

    let e = Harness::new::<Source>(&config(&lib, "countdown", "\"from\": \"many\"")).unwrap_err();
    assert!(
        e.message.contains("`from` must be a whole number"),
        "{}",
        e.message
    );
}

#[test]
fn mistakes_in_the_config_are_explained() {
    let (_dir, lib) = words();
    let e = Harness::new::<Source>(&config(&lib, "reverse", "")).unwrap_err();
    assert!(
        e.message
            .contains("is a transform, but the pipeline uses it as a source"),
        "{}",
        e.message
    );
    assert_eq!(e.hint.as_str(), "use kind: \"transform\"");

    let e = Harness::new::<Transform>(&config(&lib, "revers", "")).unwrap_err();
    assert!(
        e.message
            .contains("has no node kind `revers`; it offers `countdown` (source: Counts down from `from` to 1, one text per number), `reverse` (transform: Reverses the order of the words of each text)"),
        "{}",
        e.message
    );

    let missing = lib.with_file_name("libnothing.so");
    let e = Harness::new::<Sink>(&config(&missing, "x", "")).unwrap_err();
    assert!(
        e.message.contains("cannot open the C library") && e.message.contains("libnothing.so"),
        "{}",
        e.message
    );
    assert_eq!(e.line, 1, "located at the `library` field");
}

#[test]
fn a_library_of_another_abi_or_none_is_refused() {
    let (_dir, newer) = compile(
        "newer",
        r#"#include <hark_plugin.h>
static const hark_plugin P = {(2u << 16) | 3u, "newer", "9.0", 0, 0};
HARK_EXPORT const hark_plugin *hark_plugin_entry(void) { return &P; }"#,
    );
    let e = Harness::new::<Sink>(&config(&newer, "x", "")).unwrap_err();
    assert!(
        e.message
            .contains("was built for Hark C ABI 2.3, this host speaks 1.x"),
        "{}",
        e.message
    );

    let (_dir2, plain) = compile("plain", "int answer(void) { return 42; }");
    let e = Harness::new::<Sink>(&config(&plain, "x", "")).unwrap_err();
    assert!(
        e.message
            .contains("is not a Hark C plugin: it does not export `hark_plugin_entry`"),
        "{}",
        e.message
    );
}

#[test]
fn a_c_sink_sees_audio_and_a_malformed_emit_is_an_error() {
    // A sink that checks the audio it gets, and a transform that emits
    // audio with zero channels.
    let (_dir, lib) = compile(
        "audio",
        r#"#include <hark_plugin.h>
#include <stdlib.h>
static void *make(hark_host *h) { (void)h; return malloc(1); }
static hark_status check(void *n, hark_host *h, const hark_message *m) {
    (void)n;
    if (m->payload != HARK_AUDIO || m->sample_count != 3 || m->sample_rate != 16000 || m->samples[2] != 0.5f) {
        hark_fail(h, "unexpected audio");
        return HARK_ERROR;
    }
    hark_log(h, HARK_LOG_INFO, "got 3 samples");
    return HARK_OK;
}
static hark_status broken(void *n, hark_host *h, const hark_message *m) {
    (void)n; (void)m;
    float s[2] = {0, 0};
    hark_message out = {HARK_AUDIO, 0, 0, s, 2, 16000, 0};
    return hark_emit(h, &out) == 0 ? HARK_OK : HARK_ERROR;
}
static const hark_kind K[] = {
    {"check", "", HARK_SINK, make, check, 0, 0, free},
    {"broken", "", HARK_TRANSFORM, make, broken, 0, 0, free},
};
static const hark_plugin P = {HARK_C_ABI_VERSION, "audio", "0.1.0", K, 2};
HARK_EXPORT const hark_plugin *hark_plugin_entry(void) { return &P; }"#,
    );
    let audio = hark_sdk::audio_message(MessageMeta::default(), 16_000, 1, vec![0.0, 0.25, 0.5]);
    let mut h = Harness::new::<Sink>(&config(&lib, "check", "")).unwrap();
    h.push(0, audio.clone()).unwrap();
    assert!(h.recorded().logs.iter().any(|(_, l)| l == "got 3 samples"));
    assert!(h.finish().unwrap().is_empty());

    let mut h = Harness::new::<Transform>(&config(&lib, "broken", "")).unwrap();
    let e = h.push(0, audio).unwrap_err();
    assert!(
        e.message.contains("in 0 channels is malformed"),
        "{}",
        e.message
    );
}
