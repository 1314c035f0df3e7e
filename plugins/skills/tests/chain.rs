//! The skill chain in the harness: answers pass through skills that do
//! not know them, `conversation` speaks and logs them, barge-in and
//! `stop` cancel speech, a timer announces itself.

use std::time::{Duration, Instant};

use hark_plugin_skills::{calculator::Calculator, clock::Clock, conversation::Conversation};
use hark_sdk::{
    api::{IntentMessage, Slot},
    prelude::*,
    testing::Harness,
    Value,
};

fn intent(name: &str, text: &str, slots: &[(&str, Value)]) -> Message {
    let intent = IntentMessage {
        name: name.into(),
        confidence: 1.0,
        text: text.into(),
        slots: slots
            .iter()
            .map(|(n, v)| Slot {
                name: (*n).into(),
                raw: "".into(),
                start: 0,
                end: 0,
                value: v.clone(),
            })
            .collect::<Vec<_>>()
            .into(),
        alternatives: Vec::new().into(),
    };
    Message::new(MessageMeta::default(), Payload::Intent(RBox::new(intent)))
}

fn texts(outputs: &[(u32, Message)], port: u32) -> Vec<String> {
    outputs
        .iter()
        .filter(|(p, _)| *p == port)
        .map(|(_, m)| match &m.payload {
            Payload::Text(t) => t.text.to_string(),
            Payload::Control(c) => format!("{c:?}"),
            other => format!("{other:?}"),
        })
        .collect()
}

#[test]
fn answers_pass_through_the_chain_and_are_spoken_and_logged() {
    let mut calculator = Harness::new::<Calculator>("()").unwrap();
    let mut clock = Harness::new::<Clock>("()").unwrap();
    let mut conversation = Harness::new::<Conversation>("()").unwrap();
    let numbers = [
        ("a", Value::Int(12)),
        ("operator", Value::Str("*".into())),
        ("b", Value::Int(7)),
    ];
    for m in [
        intent("math.calculate", "what is 12 times 7", &numbers),
        intent("GetWeather", "will it rain", &[]),
        intent("repeat", "say that again", &[]),
    ] {
        calculator.push(0, m).unwrap();
    }
    // calculator → clock → conversation.
    for (_, m) in calculator.finish().unwrap() {
        clock.push(0, m).unwrap();
    }
    for (_, m) in clock.finish().unwrap() {
        conversation.push(0, m).unwrap();
    }
    let out = conversation.finish().unwrap();
    assert_eq!(
        texts(&out, 0),
        [
            "12 times 7 is 84.",
            "Sorry, I can't help with that yet.",
            "Sorry, I can't help with that yet."
        ]
    );
    let log = texts(&out, 1);
    assert_eq!(
        log[0],
        "heard \"what is 12 times 7\" → math.calculate (1.00) a=12 operator=* b=7 → \"12 times 7 is 84.\""
    );
}

#[test]
fn speech_start_and_stop_cancel_speech() {
    let mut on = Harness::new::<Conversation>("(barge_in: true)").unwrap();
    let start = Message::new(
        MessageMeta::default(),
        Payload::Control(ControlEvent::UtteranceStart),
    );
    on.push(1, start.clone()).unwrap();
    on.push(0, intent("stop", "stop", &[])).unwrap();
    let out = on.finish().unwrap();
    assert_eq!(texts(&out, 0), ["Cancel", "Cancel"]);
    assert_eq!(
        texts(&out, 1),
        ["heard \"stop\" → stop (1.00) → (stops speaking)"]
    );

    let mut off = Harness::new::<Conversation>("(barge_in: false)").unwrap();
    off.push(1, start).unwrap();
    assert!(off.finish().unwrap().is_empty());
}

#[test]
fn a_timer_announces_itself_when_due() {
    let mut clock = Harness::new::<Clock>("()").unwrap();
    let started = Instant::now();
    clock
        .push(
            0,
            intent(
                "timer.set",
                "set a timer for 1 second",
                &[("duration", Value::Int(1))],
            ),
        )
        .unwrap();
    while clock.produce().unwrap() == Produce::More {}
    let waited = started.elapsed();
    let out = clock.finish().unwrap();
    let replies: Vec<String> = out
        .iter()
        .map(|(_, m)| match &m.payload {
            Payload::Value(v) => hark_plugin_skills::chain::field(v, "reply")
                .map(hark_plugin_skills::chain::value_text)
                .unwrap(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        replies,
        ["Timer set for 1 second.", "Your 1 second timer is done."]
    );
    assert!(
        waited >= Duration::from_secs(1) && waited < Duration::from_millis(1500),
        "{waited:?}"
    );
}
