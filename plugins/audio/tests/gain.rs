//! `gain` through the sdk harness.

use hark_plugin_audio::gain::Gain;
use hark_sdk::{audio_message, testing::Harness, ControlEvent, Message, MessageMeta, Payload};

fn samples(message: &Message) -> Vec<f32> {
    match &message.payload {
        Payload::Audio(a) => a.samples.to_vec(),
        other => panic!("not audio: {other:?}"),
    }
}

#[test]
fn scales_by_the_gain_in_decibels() {
    let mut h = Harness::new::<Gain>("(gain_db: -6.0206)").unwrap();
    h.push(
        0,
        audio_message(MessageMeta::default(), 16_000, 1, vec![0.5, -1.0, 0.0]),
    )
    .unwrap();
    let out = h.finish().unwrap();
    let s = samples(&out[0].1);
    assert!(
        (s[0] - 0.25).abs() < 1e-4 && (s[1] + 0.5).abs() < 1e-4 && s[2] == 0.0,
        "{s:?}"
    );
}

#[test]
fn unity_gain_forwards_the_shared_buffer() {
    let mut h = Harness::new::<Gain>("()").unwrap();
    let input = audio_message(MessageMeta::default(), 16_000, 1, vec![0.1; 320]);
    let Payload::Audio(frame) = &input.payload else {
        unreachable!()
    };
    let pointer = frame.samples.as_ptr();
    h.push(0, input.clone()).unwrap();
    let out = h.finish().unwrap();
    let Payload::Audio(forwarded) = &out[0].1.payload else {
        panic!()
    };
    assert_eq!(forwarded.samples.as_ptr(), pointer, "0 dB must not copy");
}

#[test]
fn control_events_pass_through() {
    let mut h = Harness::new::<Gain>("(gain_db: 3.0)").unwrap();
    let cancel = Message::new(
        MessageMeta::default(),
        Payload::Control(ControlEvent::Cancel),
    );
    h.push(0, cancel).unwrap();
    let out = h.finish().unwrap();
    assert!(matches!(
        out[0].1.payload,
        Payload::Control(ControlEvent::Cancel)
    ));
}

#[test]
fn out_of_range_gain_is_refused_at_its_position() {
    let error = Harness::new::<Gain>("(gain_db: 120.0)").err().unwrap();
    assert!(
        error.message.contains("gain_db must be within -96..=48"),
        "{}",
        error.message
    );
    assert_eq!((error.line, error.column), (1, 11));
}
