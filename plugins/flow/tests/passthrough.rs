//! `passthrough` through the sdk harness.

use hark_plugin_flow::passthrough::Passthrough;
use hark_sdk::{testing::Harness, text_message, LogLevel, MessageMeta, Payload};

#[test]
fn forwards_everything_and_logs_when_asked() {
    let mut h = Harness::new::<Passthrough>("(log: true)").unwrap();
    h.push(
        0,
        text_message(
            MessageMeta {
                timestamp_ns: 40_000_000,
                ..MessageMeta::default()
            },
            "x",
        ),
    )
    .unwrap();
    assert_eq!(
        h.recorded().logs,
        [(LogLevel::Debug, "text message at 40 ms".to_string())]
    );
    let out = h.finish().unwrap();
    assert!(matches!(&out[0].1.payload, Payload::Text(t) if t.text == "x"));
}
