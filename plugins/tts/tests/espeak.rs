//! The `espeak` node in the sdk harness: sentence by sentence synthesis,
//! Cancel, and configuration errors.

use hark_plugin_tts::espeak::{Espeak, SAMPLE_RATE};
use hark_sdk::{
    api::{ControlEvent, Message, MessageMeta, Payload},
    testing::Harness,
    text_message, Produce,
};

fn audio_samples(outputs: &[(u32, Message)]) -> usize {
    outputs
        .iter()
        .map(|(_, m)| match &m.payload {
            Payload::Audio(a) => {
                assert_eq!(a.sample_rate, SAMPLE_RATE);
                a.samples.len()
            }
            _ => 0,
        })
        .sum()
}

#[test]
fn speaks_sentence_by_sentence_and_cancel_drops_the_rest() {
    let text = "One sentence. Another sentence! A third one? And the last.";
    // Everything: four sentences of audio.
    let mut h = Harness::new::<Espeak>("()").unwrap();
    h.push(0, text_message(MessageMeta::default(), text))
        .unwrap();
    let all = audio_samples(&h.finish().unwrap());
    assert!(
        all > SAMPLE_RATE as usize * 2,
        "four sentences last over 2 s: {all}"
    );

    // The first sentence leaves on its own; a Cancel then drops the rest
    // and is passed on.
    let mut h = Harness::new::<Espeak>("()").unwrap();
    h.push(0, text_message(MessageMeta::default(), text))
        .unwrap();
    assert_eq!(h.produce().unwrap(), Produce::More);
    let first = audio_samples(&h.take_outputs());
    assert!(
        first > 0 && first < all / 2,
        "one sentence: {first} of {all}"
    );
    h.push(
        0,
        Message::new(
            MessageMeta::default(),
            Payload::Control(ControlEvent::Cancel),
        ),
    )
    .unwrap();
    assert_eq!(h.produce().unwrap(), Produce::Finished);
    let rest = h.finish().unwrap();
    assert_eq!(audio_samples(&rest), 0, "nothing after Cancel");
    assert!(rest
        .iter()
        .any(|(_, m)| matches!(m.payload, Payload::Control(ControlEvent::Cancel))));
}

#[test]
fn unknown_voices_and_bad_rates_are_config_errors() {
    let e = Harness::new::<Espeak>("(voice: \"klingon-xx\")").unwrap_err();
    assert!(e.message.contains("no voice"), "{e:?}");
    assert!(e.hint.contains("espeak-ng --voices"), "{e:?}");
    let e = Harness::new::<Espeak>("(rate: 20)").unwrap_err();
    assert!(e.message.contains("rate must be within"), "{e:?}");
}
