//! The node loop against real sdk nodes living in the test process: what
//! reaches the outputs, end of stream, failures, restarts and panics.

use std::sync::{atomic::AtomicBool, Arc};

use crossbeam_channel::{unbounded, Receiver};
use hark_plugin_api::{
    abi_stable::std_types::{RResult, RStr},
    HostContext, Message, MessageMeta, NodeBox, Payload, PluginDescriptor, PluginError,
    PluginModule,
};
use hark_sdk::{
    prelude::*,
    raw::{KindEntry, PluginInfo},
    text_message,
};

use super::{Instance, NodeThread};
use crate::{
    loader::Plugin,
    pipeline::{NodeSpec, RestartPolicy},
    runtime::{
        host_context::{NodeEnv, OutputPorts},
        link::LinkSender,
        watch::{Activity, Tally},
        NodeReport,
    },
};

/// `echo`: forwards text; fails on `fail_on`, panics on `panic_on`.
struct Echo;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct EchoSettings {
    fail_on: String,
    panic_on: String,
}

impl Settings for EchoSettings {
    fn fields() -> Vec<Field> {
        vec![
            Field::string("fail_on", "text that makes on_message fail"),
            Field::string("panic_on", "text that makes on_message panic"),
        ]
    }
}

struct EchoNode(EchoSettings);

impl NodeKind for Echo {
    type Settings = EchoSettings;
    type Instance = EchoNode;
    fn spec() -> KindSpec {
        KindSpec::transform("echo", "Forwards text")
            .input(Port::text("text"))
            .output(Port::text("text"))
    }
    fn create(settings: EchoSettings, _: &Context) -> Result<EchoNode, Error> {
        Ok(EchoNode(settings))
    }
}

impl Node for EchoNode {
    fn on_message(&mut self, _port: u32, message: Message, out: &mut Outputs) -> Result<(), Error> {
        let text = text_of(&message);
        if text == self.0.panic_on {
            panic!("told to panic on {text:?}");
        }
        if text == self.0.fail_on {
            return Err(Error::failed(format!("told to fail on {text:?}")));
        }
        out.emit(0, message)
    }

    fn flush(&mut self, out: &mut Outputs) -> Result<(), Error> {
        out.emit(0, text_message(MessageMeta::default(), "flushed"))
    }
}

/// `count`: a source of `n` texts, "0", "1", ...
struct Count;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct CountSettings {
    n: u32,
}

impl Settings for CountSettings {
    fn fields() -> Vec<Field> {
        vec![Field::integer("n", "u32", "how many texts")]
    }
}

struct CountNode {
    next: u32,
    n: u32,
}

impl NodeKind for Count {
    type Settings = CountSettings;
    type Instance = CountNode;
    fn spec() -> KindSpec {
        KindSpec::source("count", "Counts").output(Port::text("text"))
    }
    fn create(settings: CountSettings, _: &Context) -> Result<CountNode, Error> {
        Ok(CountNode {
            next: 0,
            n: settings.n,
        })
    }
}

impl Node for CountNode {
    fn produce(&mut self, out: &mut Outputs) -> Result<Produce, Error> {
        if self.next == self.n {
            return Ok(Produce::Finished);
        }
        out.emit(
            0,
            text_message(MessageMeta::default(), self.next.to_string()),
        )?;
        self.next += 1;
        Ok(Produce::More)
    }
}

static INFO: PluginInfo = PluginInfo {
    name: "test",
    version: "0.0.0",
    description: "nodes for the runtime's unit tests",
    kinds: &[KindEntry::of::<Echo>(), KindEntry::of::<Count>()],
};

extern "C" fn describe() -> RResult<PluginDescriptor, PluginError> {
    hark_sdk::raw::describe(&INFO)
}
extern "C" fn check_config(kind: RStr<'_>, config: RStr<'_>) -> RResult<(), PluginError> {
    hark_sdk::raw::check_config(&INFO, kind, config)
}
extern "C" fn create_node(
    kind: RStr<'_>,
    config: RStr<'_>,
    host: HostContext,
) -> RResult<NodeBox, PluginError> {
    hark_sdk::raw::create_node(&INFO, kind, config, host)
}

fn text_of(message: &Message) -> String {
    match &message.payload {
        Payload::Text(t) => t.text.to_string(),
        _ => String::new(),
    }
}

/// Runs one node of `kind` over `inputs` (then end of stream); returns
/// its report and the texts it emitted, checking that its output ended.
fn run(
    kind: &str,
    config: &str,
    restart: RestartPolicy,
    inputs: &[&str],
) -> (NodeReport, Vec<String>) {
    let plugin = Plugin::in_process(PluginModule::new_ref(describe, check_config, create_node));
    let spec = NodeSpec {
        name: "n".into(),
        plugin: "test".into(),
        kind: plugin.kind(kind).expect("kind").clone(),
        config: config.into(),
        restart,
        stall_timeout: None,
        isolation: None,
    };
    let env = NodeEnv::new("n");
    let instance = Instance::create(&plugin, &spec, &env).expect("created");
    let mut node_inputs: Vec<(u32, Receiver<Message>)> = Vec::new();
    if !inputs.is_empty() {
        let (tx, rx) = unbounded();
        for text in inputs {
            tx.send(text_message(MessageMeta::default(), *text))
                .unwrap();
        }
        tx.send(Message::end_of_stream()).unwrap();
        node_inputs.push((0, rx));
    }
    let (out_tx, out_rx) = unbounded();
    let (tally, activity) = (
        Arc::new(Tally::default()),
        Arc::new(Activity::new(Arc::default())),
    );
    let thread = NodeThread {
        spec,
        plugin,
        instance,
        env,
        outputs: OutputPorts {
            ports: vec![vec![LinkSender::external(out_tx)]],
            stopping: Arc::new(AtomicBool::new(false)),
            is_source: node_inputs.is_empty(),
            tally: tally.clone(),
            activity: activity.clone(),
        },
        inputs: node_inputs,
        timing: true,
        metrics: None,
        no_work_in_pieces: false,
        tally,
        activity,
        replaces: None,
    };
    let report = thread.run().expect("not abandoned");
    let messages: Vec<Message> = out_rx.try_iter().collect();
    assert!(
        messages.last().is_some_and(Message::is_end_of_stream),
        "the output ends with end of stream"
    );
    let texts = messages[..messages.len() - 1].iter().map(text_of).collect();
    (report, texts)
}

#[test]
fn a_transform_handles_every_message_then_flushes_and_ends_its_outputs() {
    let (report, texts) = run("echo", "()", RestartPolicy::Never, &["a", "b", "c"]);
    assert_eq!(texts, ["a", "b", "c", "flushed"]);
    assert_eq!(
        (report.received, report.emitted, report.failures),
        (3, 4, 0)
    );
    assert_eq!(
        report.histogram.expect("timed").len(),
        3,
        "one timing per call"
    );
}

#[test]
fn a_source_produces_until_it_finishes() {
    let (report, texts) = run("count", "(n: 3)", RestartPolicy::Never, &[]);
    assert_eq!(texts, ["0", "1", "2"]);
    assert_eq!(report.error, None);
}

#[test]
fn a_failed_node_without_restarts_drains_its_inputs_and_still_ends() {
    let (report, texts) = run(
        "echo",
        r#"(fail_on: "b")"#,
        RestartPolicy::Never,
        &["a", "b", "c", "d"],
    );
    assert_eq!(texts, ["a"], "no flush after failing");
    assert_eq!(
        (report.received, report.discarded, report.failures),
        (4, 2, 1)
    );
    let error = report.error.expect("reported");
    assert!(
        error.contains("node `n` (echo) failed in on_message: told to fail on \"b\""),
        "{error}"
    );
}

#[test]
fn a_node_that_fails_is_recreated_under_on_failure() {
    let policy = RestartPolicy::OnFailure {
        max_restarts: 2,
        backoff_ms: 1,
    };
    let (report, texts) = run("echo", r#"(fail_on: "b")"#, policy, &["a", "b", "c"]);
    assert_eq!(
        texts,
        ["a", "c", "flushed"],
        "the fresh node goes on with the next message"
    );
    assert_eq!(
        (report.restarts, report.failures, report.error),
        (1, 1, None)
    );
}

#[test]
fn restarts_run_out_and_the_node_gives_up() {
    let policy = RestartPolicy::OnFailure {
        max_restarts: 1,
        backoff_ms: 1,
    };
    let (report, texts) = run("echo", r#"(fail_on: "x")"#, policy, &["x", "x", "y"]);
    assert_eq!(texts, Vec::<String>::new());
    assert_eq!(
        (report.restarts, report.failures, report.discarded),
        (1, 2, 1)
    );
    assert!(report.error.is_some());
}

#[test]
fn a_panic_is_caught_at_the_boundary_and_reported_as_one() {
    let (report, texts) = run(
        "echo",
        r#"(panic_on: "b")"#,
        RestartPolicy::Never,
        &["a", "b"],
    );
    assert_eq!(texts, ["a"]);
    let error = report.error.expect("reported");
    assert!(error.contains("(echo) panicked in on_message"), "{error}");
}
