//! The harness drives nodes through the real ABI glue: config errors carry
//! positions, and a panicking node becomes an error, not an abort.

use hark_sdk::{api::PluginErrorKind, prelude::*, testing::Harness, ConfigIssue, LogLevel};

struct Fragile;

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct FragileSettings {
    limit: u32,
}

impl Settings for FragileSettings {
    fn fields() -> Vec<Field> {
        vec![Field::integer(
            "limit",
            "u32",
            "messages before the node panics (1..=100)",
        )]
    }
    fn validate(&self) -> Result<(), ConfigIssue> {
        if !(1..=100).contains(&self.limit) {
            return Err(ConfigIssue::field("limit", "limit must be within 1..=100"));
        }
        Ok(())
    }
}

struct FragileNode {
    seen: u32,
    limit: u32,
    ctx: Context,
}

impl NodeKind for Fragile {
    type Settings = FragileSettings;
    type Instance = FragileNode;
    fn spec() -> KindSpec {
        KindSpec::transform("fragile", "Panics after `limit` messages")
            .input(Port::any("in"))
            .output(Port::any("out"))
    }
    fn create(settings: FragileSettings, ctx: &Context) -> Result<FragileNode, Error> {
        ctx.info("created");
        Ok(FragileNode {
            seen: 0,
            limit: settings.limit,
            ctx: *ctx,
        })
    }
}

impl Node for FragileNode {
    fn on_message(&mut self, _port: u32, message: Message, out: &mut Outputs) -> Result<(), Error> {
        self.seen += 1;
        self.ctx.counter_add("seen", 1);
        if self.seen > self.limit {
            panic!("too many messages: {}", self.seen);
        }
        out.emit(0, message)
    }
}

#[test]
fn config_errors_point_at_the_value() {
    let error = Harness::new::<Fragile>("(\n  limit: 500,\n)")
        .err()
        .unwrap();
    assert_eq!(error.kind, PluginErrorKind::InvalidConfig);
    assert_eq!(error.message.as_str(), "limit must be within 1..=100");
    assert_eq!((error.line, error.column), (2, 10));
}

#[test]
fn a_panic_becomes_an_error_and_the_test_process_survives() {
    let mut h = Harness::new::<Fragile>("(limit: 2)").unwrap();
    for i in 0..2 {
        h.push(0, text_message(MessageMeta::default(), format!("m{i}")))
            .unwrap();
    }
    let error = h
        .push(0, text_message(MessageMeta::default(), "m2"))
        .unwrap_err();
    assert_eq!(error.kind, PluginErrorKind::Panicked);
    assert_eq!(
        error.message.as_str(),
        "panicked in on_message: too many messages: 3"
    );
    assert_eq!(h.take_outputs().len(), 2);
    assert_eq!(h.recorded().counters["seen"], 3);
    assert_eq!(
        h.recorded().logs[0],
        (LogLevel::Info, "created".to_string())
    );
}
