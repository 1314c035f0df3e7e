//! The `intent` node in the sdk harness, on templates written for the
//! test: what it recognises, what it leaves `unknown`, what it ignores or
//! passes on, and configs it refuses.

use hark_plugin_nlu::intent::Intent;
use hark_sdk::{
    api::{
        abi_stable::std_types::RBox, ControlEvent, IntentMessage, Message, MessageMeta, Payload,
        TextMessage,
    },
    testing::Harness,
    text_message,
};

const TEMPLATES: &str = r#"(
    lists: {
        "device": ["lamp", "fan", "kettle"],
    },
    intents: {
        "device.on": ["[please] turn on the {device}", "switch the {device} on"],
        "device.off": ["turn off the {device}"],
    },
)"#;

/// A harness over a templates file holding [`TEMPLATES`], with `extra`
/// config fields.
fn harness(extra: &str) -> (tempfile::TempDir, Harness) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("intents.ron");
    std::fs::write(&path, TEMPLATES).unwrap();
    let config = format!("(templates: {:?}{extra})", path.display().to_string());
    let h = Harness::new::<Intent>(&config).unwrap_or_else(|e| panic!("{config}: {}", e.message));
    (dir, h)
}

fn recognise(h: &mut Harness, text: &str) -> IntentMessage {
    h.push(0, text_message(MessageMeta::default(), text))
        .unwrap();
    let mut outputs = h.take_outputs();
    assert_eq!(outputs.len(), 1, "one intent per final transcript");
    match outputs.remove(0).1.payload {
        Payload::Intent(i) => (*i).clone(),
        other => panic!("not an intent: {other:?}"),
    }
}

#[test]
fn a_templated_sentence_gives_its_intent_and_slot() {
    let (_dir, mut h) = harness("");
    let intent = recognise(&mut h, "Please turn on the lamp.");
    assert_eq!(intent.name.as_str(), "device.on");
    assert_eq!(intent.confidence, 1.0, "an exact reading");
    assert_eq!(intent.slots.len(), 1);
    assert_eq!(intent.slots[0].name.as_str(), "device");
    assert_eq!(intent.slots[0].raw.as_str(), "lamp");
    assert_eq!(
        recognise(&mut h, "switch the kettle on").name.as_str(),
        "device.on"
    );
    assert_eq!(
        recognise(&mut h, "turn off the fan").name.as_str(),
        "device.off"
    );
}

#[test]
fn a_misheard_word_is_repaired_at_a_cost() {
    let (_dir, mut h) = harness("");
    let intent = recognise(&mut h, "turn on the lamb");
    assert_eq!(intent.name.as_str(), "device.on");
    assert!(
        intent.confidence < 1.0 && intent.confidence >= 0.5,
        "{}",
        intent.confidence
    );
}

#[test]
fn what_no_template_covers_is_unknown() {
    let (_dir, mut h) = harness("");
    let intent = recognise(&mut h, "what is the weather like in paris");
    assert_eq!(intent.name.as_str(), "unknown");
    assert!(intent.slots.is_empty());
}

#[test]
fn a_threshold_of_one_leaves_only_exact_readings() {
    let (_dir, mut h) = harness(", threshold: 1.0");
    assert_eq!(
        recognise(&mut h, "turn on the lamp").name.as_str(),
        "device.on"
    );
    let repaired = recognise(&mut h, "turn on the lamb");
    assert_eq!(repaired.name.as_str(), "unknown");
    assert_eq!(
        repaired.alternatives[0].name.as_str(),
        "device.on",
        "kept as a candidate"
    );
}

#[test]
fn partial_transcripts_are_ignored_and_control_events_pass() {
    let (_dir, mut h) = harness("");
    let partial = Message::new(
        MessageMeta::default(),
        Payload::Text(RBox::new(TextMessage {
            text: "turn on the".into(),
            is_final: false,
            language: "en".into(),
            confidence: 1.0,
        })),
    );
    h.push(0, partial).unwrap();
    assert!(h.take_outputs().is_empty());
    let end = Message::new(
        MessageMeta::default(),
        Payload::Control(ControlEvent::UtteranceEnd),
    );
    h.push(0, end).unwrap();
    let outputs = h.take_outputs();
    assert!(matches!(
        outputs[0].1.payload,
        Payload::Control(ControlEvent::UtteranceEnd)
    ));
}

/// Why `config` is refused (panics if it is accepted).
fn refused(config: &str) -> String {
    match Harness::new::<Intent>(config) {
        Ok(_) => panic!("{config} was accepted"),
        Err(e) => e.message.to_string(),
    }
}

#[test]
fn configs_without_a_source_of_intents_or_with_a_missing_file_are_refused() {
    let message = refused("()");
    assert!(
        message.contains("neither `templates` nor `model`"),
        "{message}"
    );
    let message = refused(r#"(templates: "/no/such/intents.ron")"#);
    assert!(message.contains("/no/such/intents.ron"), "{message}");
    let message = refused(r#"(templates: "x.ron", threshold: 2.0)"#);
    assert!(message.contains("threshold"), "{message}");
}
