//! Round trips of every payload, and frames that must be refused.

use super::*;

fn round_trip(message: Message) -> Message {
    let mut pipe = Vec::new();
    ToHost::emit_frame(7, &message)
        .send(&mut pipe)
        .expect("written");
    let mut body = Vec::new();
    let tag = read_frame(&mut pipe.as_slice(), &mut body)
        .expect("read")
        .expect("a frame");
    match ToHost::read(tag, &body).expect("well formed") {
        ToHost::Emit(7, m) => m,
        other => panic!("{other:?}"),
    }
}

fn meta() -> MessageMeta {
    MessageMeta {
        timestamp_ns: 1 << 40,
        session: 3,
        utterance: 9,
    }
}

fn value() -> Value {
    Value::Map(
        vec![
            ValueEntry {
                key: "list".into(),
                value: Value::List(
                    vec![
                        Value::Null,
                        Value::Bool(true),
                        Value::Int(-5),
                        Value::Float(0.25),
                    ]
                    .into(),
                ),
            },
            ValueEntry {
                key: "é".into(),
                value: Value::Str("ü".into()),
            },
        ]
        .into(),
    )
}

#[test]
fn every_payload_comes_back_as_it_went() {
    let audio = round_trip(Message::new(
        meta(),
        Payload::Audio(AudioFrame {
            sample_rate: 16_000,
            channels: 2,
            samples: RArc::new(vec![0.5, -1.0, f32::MIN_POSITIVE, 0.0].into()),
        }),
    ));
    assert_eq!(audio.meta, meta());
    let Payload::Audio(a) = &audio.payload else {
        panic!("{audio:?}")
    };
    assert_eq!((a.sample_rate, a.channels), (16_000, 2));
    assert_eq!(a.samples.as_slice(), &[0.5, -1.0, f32::MIN_POSITIVE, 0.0]);

    let text = TextMessage {
        text: "hello".into(),
        is_final: false,
        language: "en".into(),
        confidence: 0.5,
    };
    let back = round_trip(Message::new(meta(), Payload::Text(RBox::new(text.clone()))));
    assert!(matches!(&back.payload, Payload::Text(t) if **t == text));

    let intent = IntentMessage {
        name: "timer.set".into(),
        confidence: 0.9,
        text: "set a timer".into(),
        slots: vec![Slot {
            name: "duration".into(),
            raw: "ten minutes".into(),
            start: 1,
            end: 12,
            value: value(),
        }]
        .into(),
        alternatives: vec![IntentAlternative {
            name: "unknown".into(),
            confidence: 0.1,
        }]
        .into(),
    };
    let back = round_trip(Message::new(
        meta(),
        Payload::Intent(RBox::new(intent.clone())),
    ));
    assert!(matches!(&back.payload, Payload::Intent(i) if **i == intent));

    let back = round_trip(Message::new(
        meta(),
        Payload::Image(ImageFrame {
            width: 2,
            height: 1,
            format: PixelFormat::Rgb8,
            data: RArc::new(vec![1, 2, 3, 4, 5, 6].into()),
        }),
    ));
    assert!(matches!(&back.payload, Payload::Image(i)
        if (i.width, i.height, i.format) == (2, 1, PixelFormat::Rgb8)
            && i.data.as_slice() == [1, 2, 3, 4, 5, 6]));

    for event in [ControlEvent::Cancel, ControlEvent::EndOfStream] {
        let back = round_trip(Message::new(meta(), Payload::Control(event)));
        assert!(matches!(back.payload, Payload::Control(e) if e == event));
    }
    let back = round_trip(Message::new(meta(), Payload::Value(value())));
    assert!(matches!(&back.payload, Payload::Value(v) if *v == value()));
}

#[test]
fn requests_and_answers_come_back_as_they_went() {
    let start = ToNode::Start {
        plugin: "/p/libx.so".into(),
        kind: "k".into(),
        config: "(a: 1)".into(),
        name: "n".into(),
    };
    let frame = start.frame();
    let body = &frame.0[5..];
    assert!(matches!(ToNode::read(START, body),
        Ok(ToNode::Start { plugin, kind, config, name })
            if plugin == "/p/libx.so" && kind == "k" && config == "(a: 1)" && name == "n"));

    let mut error = PluginError::new(PluginErrorKind::Failed, "broke");
    error.hint = "fix it".into();
    error.line = 3;
    let done = Done {
        outcome: Err(error),
        counters: vec![("words".into(), 4)],
        gauges: vec![("level".into(), -0.5)],
    };
    let frame = ToHost::done_frame(&done);
    match ToHost::read(DONE, &frame.0[5..]) {
        Ok(ToHost::Done(Done {
            outcome: Err(e),
            counters,
            gauges,
        })) => {
            assert_eq!(
                (e.kind, e.message.as_str(), e.hint.as_str(), e.line),
                (PluginErrorKind::Failed, "broke", "fix it", 3)
            );
            assert_eq!(counters, vec![("words".to_string(), 4)]);
            assert_eq!(gauges, vec![("level".to_string(), -0.5)]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn truncated_lying_and_trailing_frames_are_refused() {
    let frame = ToHost::emit_frame(0, &Message::new(meta(), Payload::Value(value())));
    let body = &frame.0[5..];
    for cut in 0..body.len() {
        assert!(ToHost::read(EMIT, &body[..cut]).is_err(), "cut at {cut}");
    }
    let mut long = body.to_vec();
    long.push(0);
    assert!(ToHost::read(EMIT, &long).is_err());

    // A list that claims more items than the bytes could hold.
    let mut lying = vec![0u8; 4 + 24];
    lying.push(5); // Value payload
    lying.push(5); // a list
    lying.extend_from_slice(&u64::MAX.to_le_bytes());
    let e = ToHost::read(EMIT, &lying).expect_err("refused");
    assert!(e.0.contains("items announced"), "{e}");

    // Nesting beyond the bound.
    let mut deep = vec![0u8; 4 + 24];
    deep.push(5);
    for _ in 0..100 {
        deep.push(5);
        deep.extend_from_slice(&1u64.to_le_bytes());
    }
    deep.push(0);
    let e = ToHost::read(EMIT, &deep).expect_err("refused");
    assert!(e.0.contains("nested"), "{e}");

    // A header announcing more than MAX_FRAME is refused before any
    // allocation.
    let mut huge = Vec::new();
    huge.extend_from_slice(&u32::MAX.to_le_bytes());
    huge.push(EMIT);
    let mut body = Vec::new();
    let e = read_frame(&mut huge.as_slice(), &mut body).expect_err("refused");
    assert_eq!(e.kind(), io::ErrorKind::InvalidData);
    assert!(body.capacity() < 1 << 20);
    // A clean end between frames is not an error; inside one it is.
    assert!(read_frame(&mut [].as_slice(), &mut body).unwrap().is_none());
    assert!(read_frame(&mut [1u8, 0].as_slice(), &mut body).is_err());
}
