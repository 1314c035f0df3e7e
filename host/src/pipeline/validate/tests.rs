//! What the passes' unit tests share: pipelines read from RON text, and
//! [`FakePlugins`], a loaded-plugin set described in memory.

use hark_plugin_api::{
    AudioConstraints, ConfigValueKind, MessageType, NodeRole, PluginError, PluginErrorKind,
};

use super::{check_with, Plugins};
use crate::{
    loader::{FieldInfo, KindInfo, PortInfo},
    pipeline::{
        raw::{self, RawPipeline},
        PipelineSource,
    },
};

/// `text`, read into its raw shape (panics on a shape error: tests of the
/// passes start from well-formed files).
pub(crate) fn read(text: &str) -> RawPipeline {
    raw::read(text).unwrap_or_else(|e| panic!("{text}: {e:?}"))
}

/// A source named `test.ron` with `set` as its `--set` arguments.
pub(crate) fn source(text: &str, set: &[&str]) -> PipelineSource {
    PipelineSource {
        name: "test.ron".into(),
        text: text.into(),
        set_args: set.iter().map(|s| s.to_string()).collect(),
    }
}

/// Plugins described in memory: names, kinds, and a config check that
/// refuses the string `"bad"` wherever it appears.
#[derive(Default)]
pub(crate) struct FakePlugins {
    plugins: Vec<(String, Vec<KindInfo>)>,
}

fn port(name: &str, message_type: MessageType, audio: (u32, u16)) -> PortInfo {
    PortInfo {
        name: name.into(),
        message_type,
        required: true,
        audio: AudioConstraints {
            sample_rate: audio.0,
            channels: audio.1,
        },
        doc: String::new(),
    }
}

fn kind(name: &str, role: NodeRole, inputs: Vec<PortInfo>, outputs: Vec<PortInfo>) -> KindInfo {
    KindInfo {
        name: name.into(),
        role,
        summary: String::new(),
        inputs,
        outputs,
        config: Vec::new(),
    }
}

impl FakePlugins {
    /// Plugin `t`: `src` (text source), `upper` (text transform with a
    /// `suffix` field), `sink` (text sink), `mic` (48 kHz stereo source)
    /// and `ear` (16 kHz mono sink).
    pub(crate) fn standard() -> Self {
        let text = |name| port(name, MessageType::Text, (0, 0));
        let mut upper = kind(
            "upper",
            NodeRole::Transform,
            vec![text("text")],
            vec![text("text")],
        );
        upper.config.push(FieldInfo {
            name: "suffix".into(),
            kind: ConfigValueKind::String,
            type_name: "string".into(),
            default: Some("\"!\"".into()),
            doc: String::new(),
        });
        FakePlugins {
            plugins: vec![(
                "t".into(),
                vec![
                    kind("src", NodeRole::Source, vec![], vec![text("text")]),
                    upper,
                    kind("sink", NodeRole::Sink, vec![text("text")], vec![]),
                    kind(
                        "mic",
                        NodeRole::Source,
                        vec![],
                        vec![port("audio", MessageType::Audio, (48_000, 2))],
                    ),
                    kind(
                        "ear",
                        NodeRole::Sink,
                        vec![port("audio", MessageType::Audio, (16_000, 1))],
                        vec![],
                    ),
                ],
            )],
        }
    }
}

impl Plugins for FakePlugins {
    fn names(&self) -> Vec<&str> {
        self.plugins.iter().map(|(n, _)| n.as_str()).collect()
    }

    fn kinds(&self, plugin: &str) -> Option<&[KindInfo]> {
        self.plugins
            .iter()
            .find(|(n, _)| n == plugin)
            .map(|(_, k)| k.as_slice())
    }

    fn check_config(&self, _plugin: &str, _kind: &str, config: &str) -> Result<(), PluginError> {
        let Some(at) = config.find("\"bad\"") else {
            return Ok(());
        };
        let before = &config[..at];
        let mut e = PluginError::new(PluginErrorKind::InvalidConfig, "`bad` is not allowed");
        e.line = before.matches('\n').count() as u32 + 1;
        e.column = before.rsplit('\n').next().unwrap_or("").chars().count() as u32 + 1;
        Err(e)
    }
}

const VOICE: &str = r#"Pipeline(
    description: "demo",
    nodes: {
        "mic": (plugin: "t", kind: "mic"),
        "ear": (plugin: "t", kind: "ear"),
        "src": (plugin: "t", kind: "src"),
        "up": (plugin: "t", kind: "upper", config: (suffix: "!")),
        "out": (plugin: "t", kind: "sink"),
    },
    links: ["mic.audio -> ear.audio", "src.text -> up.text", "up.text -> out.text"],
)"#;

#[test]
fn a_valid_pipeline_becomes_the_model_the_runtime_runs() {
    let pipeline = check_with(&source(VOICE, &["up.suffix=?"]), &FakePlugins::standard()).unwrap();
    assert_eq!(pipeline.description.as_deref(), Some("demo"));
    let names: Vec<&str> = pipeline.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["mic", "ear", "src", "up", "out"]);
    assert_eq!(pipeline.nodes[3].config, r#"(suffix: "?")"#);
    assert_eq!(pipeline.link_name(2), "up.text -> out.text");
    assert!(pipeline.links[0].convert.is_some());
}

#[test]
fn every_pass_reports_and_problems_come_in_file_order() {
    let text = VOICE
        .replace(
            r#""out": (plugin: "t", kind: "sink")"#,
            r#""out": (plugin: "t", kind: "snk")"#,
        )
        .replace(r#"(suffix: "!")"#, r#"(suffix: "bad")"#)
        .replace(r#""mic.audio -> ear.audio""#, r#""mic.audio -> up.text""#);
    let errors = check_with(&source(&text, &["nobody.x=1"]), &FakePlugins::standard()).unwrap_err();
    let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "input `audio` of node `ear` is not linked",
            "invalid config for node `up` (upper): `bad` is not allowed",
            "plugin `t` has no node kind `snk`",
            "message type mismatch: `audio` sends audio but `text` takes text",
            "`--set` names node `nobody`, which is not in the pipeline",
        ]
    );
}

#[test]
fn a_malformed_file_stops_at_its_shape_errors() {
    let errors = check_with(&source("(nodes: [1])", &[]), &FakePlugins::standard()).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
}

#[test]
fn sizes_and_deadlines_from_the_file_are_bounded() {
    let text = VOICE.replace(
        r#""src.text -> up.text""#,
        r#"(link: "src.text -> up.text", capacity: 10000000000)"#,
    );
    let errors = check_with(&source(&text, &[]), &FakePlugins::standard()).unwrap_err();
    assert_eq!(
        errors[0].message, "`capacity` 10000000000 is more than the 65536 allowed",
        "{errors:?}"
    );
    let text = VOICE.replace(
        r#""out": (plugin: "t", kind: "sink")"#,
        r#""out": (plugin: "t", kind: "sink", stall_timeout_ms: 0)"#,
    );
    let pipeline = check_with(&source(&text, &[]), &FakePlugins::standard()).unwrap();
    assert_eq!(pipeline.nodes[4].stall_timeout, None, "0: never");
    assert_eq!(
        pipeline.nodes[3].stall_timeout,
        Some(crate::pipeline::DEFAULT_STALL_TIMEOUT)
    );
}
