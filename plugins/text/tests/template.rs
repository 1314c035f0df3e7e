//! `template` through the sdk harness.

use hark_plugin_text::template::Template;
use hark_sdk::{testing::Harness, text_message, MessageMeta, Payload};

#[test]
fn renders_the_template_and_keeps_metadata() {
    let mut h = Harness::new::<Template>(r#"(template: "You said: {text} {{ok}}", case: "lower")"#)
        .unwrap();
    let meta = MessageMeta {
        utterance: 7,
        ..MessageMeta::default()
    };
    h.push(0, text_message(meta, "Turn ON the Lights")).unwrap();
    let out = h.finish().unwrap();
    let Payload::Text(t) = &out[0].1.payload else {
        panic!()
    };
    assert_eq!(t.text.as_str(), "You said: turn on the lights {ok}");
    assert_eq!(out[0].1.meta.utterance, 7);
}

#[test]
fn unknown_placeholders_are_config_errors() {
    let error = Harness::new::<Template>(r#"(template: "hi {name}")"#)
        .err()
        .unwrap();
    assert_eq!(error.message.as_str(), "unknown placeholder `{name}`");
    assert_eq!((error.line, error.column), (1, 12));
}
