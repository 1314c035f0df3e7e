//! `lines-in` and `lines-out` through the sdk harness.

use hark_plugin_text::{lines_in::LinesIn, lines_out::LinesOut};
use hark_sdk::{testing::Harness, text_message, MessageMeta, Payload};

#[test]
fn lines_in_skips_empty_lines_and_numbers_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.txt");
    std::fs::write(&path, "first\n\n  \nsecond\r\nthird").unwrap();
    let mut h =
        Harness::new::<LinesIn>(&format!("(path: {:?})", path.display().to_string())).unwrap();
    h.run_source(10).unwrap();
    let out = h.finish().unwrap();
    let lines: Vec<(String, u64)> = out
        .iter()
        .map(|(_, m)| match &m.payload {
            Payload::Text(t) => (t.text.to_string(), m.meta.utterance),
            _ => panic!(),
        })
        .collect();
    assert_eq!(
        lines,
        [
            ("first".into(), 1),
            ("second".into(), 4),
            ("third".into(), 5)
        ]
    );
}

#[test]
fn lines_out_writes_text_and_summarises_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.txt");
    let mut h = Harness::new::<LinesOut>(&format!(
        "(path: {:?}, prefix: \"> \")",
        path.display().to_string()
    ))
    .unwrap();
    let meta = MessageMeta::default();
    h.push(0, text_message(meta, "hello")).unwrap();
    h.push(0, hark_sdk::audio_message(meta, 16_000, 1, vec![0.0; 320]))
        .unwrap();
    h.finish().unwrap();
    assert_eq!(
        std::fs::read_to_string(path).unwrap(),
        "> hello\n> audio 16000 Hz x1 320 samples @ 0 ms\n"
    );
}
