//! `hark bench`: what a hop through the runtime costs.
//!
//! A 20 ms audio frame (320 f32 at 16 kHz, shared, never copied) goes
//! through a chain of N `flow/passthrough` plugin nodes run by the real
//! runtime, and, in the same run, through a chain of N plain threads
//! forwarding over crossbeam channels of the same capacity (the baseline).
//!
//! A chain of N nodes fed and drained by the benchmark has N + 1 queues;
//! a *hop* is one message crossing one queue into another thread, so
//! figures are per frame per queue hop:
//!
//! - throughput: frames sent back to back; wall time / frames / (N + 1);
//! - latency: one frame at a time after 1 ms of idleness (so every thread
//!   has parked), time from send to arrival / (N + 1): this includes each
//!   thread's wake-up.
//!
//! `--isolated` adds a third chain, the same nodes each in a process of
//! its own (`isolate: true`): its hop also crosses two pipes (there and
//! back) and copies the frame's samples both ways.

use std::{
    thread,
    time::{Duration, Instant},
};

use crossbeam_channel::{bounded, Receiver, Sender};
use hark_plugin_api::{
    abi_stable::std_types::{RArc, RVec},
    AudioFrame, Message, MessageMeta, Payload,
};

use crate::{
    loader::PluginSet,
    pipeline::{Isolation, LinkSpec, NodeSpec, Pipeline, QueuePolicy, RestartPolicy},
    runtime::{self, RunOptions},
};

/// `hark bench` arguments.
#[derive(clap::Args, Debug, Clone)]
pub struct BenchArgs {
    /// Chain lengths (numbers of pass-through nodes) to measure.
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 2, 4, 8])]
    pub nodes: Vec<usize>,
    /// Frames per throughput measurement.
    #[arg(long, default_value_t = 50_000)]
    pub frames: usize,
    /// Frames per latency measurement.
    #[arg(long, default_value_t = 300)]
    pub latency_frames: usize,
    /// Queue capacity of every link (default: the pipeline default).
    #[arg(long, default_value_t = crate::pipeline::DEFAULT_CAPACITY)]
    pub capacity: usize,
    /// Measurements per configuration; the median is reported.
    #[arg(long, default_value_t = 5)]
    pub repeat: usize,
    /// Also measure the chain with every node isolated (`isolate: true`),
    /// against the same nodes in the host's process.
    #[arg(long)]
    pub isolated: bool,
    /// Another benchmark instead of the runtime's.
    #[command(subcommand)]
    pub command: Option<BenchCommand>,
}

/// The other benchmarks.
#[derive(clap::Subcommand, Debug, Clone)]
pub enum BenchCommand {
    /// A load test of `hark serve`: N clients on loopback, batching on and off.
    Serve(super::bench_serve::ServeBenchArgs),
    /// A long run of real speech through a voice pipeline: memory, file
    /// descriptors, threads and reply latency, every minute.
    Soak(super::bench_soak::SoakArgs),
}

/// One chain's figures.
#[derive(Debug, Clone, Copy)]
pub struct Figures {
    /// Throughput: wall ns per frame per queue hop.
    pub ns_per_hop: f64,
    /// Latency per queue hop, median, in µs.
    pub latency_p50_us: f64,
    /// Latency per queue hop, 99th percentile, in µs.
    pub latency_p99_us: f64,
}

fn frame() -> Message {
    Message::new(
        MessageMeta::default(),
        Payload::Audio(AudioFrame {
            sample_rate: 16_000,
            channels: 1,
            samples: RArc::new(RVec::from(vec![0.0f32; 320])),
        }),
    )
}

/// Drives a chain through `input`/`output`: latency first, then
/// throughput, then end of stream. Returns the figures.
fn drive(
    input: Sender<Message>,
    output: Receiver<Message>,
    nodes: usize,
    args: &BenchArgs,
) -> Figures {
    let hops = nodes as f64 + 1.0;
    let template = frame();
    let mut latencies = Vec::with_capacity(args.latency_frames);
    for _ in 0..args.latency_frames {
        thread::sleep(Duration::from_millis(1));
        let t = Instant::now();
        input.send(template.clone()).expect("chain alive");
        output.recv().expect("chain alive");
        latencies.push(t.elapsed().as_nanos() as f64 / hops / 1e3);
    }
    latencies.sort_by(f64::total_cmp);
    let frames = args.frames;
    let start = Instant::now();
    let feeder = {
        let template = template.clone();
        thread::spawn(move || {
            for _ in 0..frames {
                input.send(template.clone()).expect("chain alive");
            }
            input.send(Message::end_of_stream()).expect("chain alive");
        })
    };
    let mut received = 0;
    while received < frames {
        output.recv().expect("chain alive");
        received += 1;
    }
    let elapsed = start.elapsed();
    feeder.join().expect("feeder");
    // Drain the end of stream so the chain can finish.
    let _ = output.recv();
    let quantile = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
    Figures {
        ns_per_hop: elapsed.as_nanos() as f64 / frames as f64 / hops,
        latency_p50_us: quantile(0.5),
        latency_p99_us: quantile(0.99),
    }
}

/// The baseline: `nodes` plain threads forwarding over crossbeam channels.
pub fn plain_chain(nodes: usize, args: &BenchArgs) -> Figures {
    let (input, mut rx) = bounded::<Message>(args.capacity);
    let mut threads = Vec::new();
    for _ in 0..nodes {
        let (tx, next) = bounded::<Message>(args.capacity);
        let from = rx;
        threads.push(thread::spawn(move || {
            for message in from.iter() {
                let end = message.is_end_of_stream();
                let _ = tx.send(message);
                if end {
                    break;
                }
            }
        }));
        rx = next;
    }
    let figures = drive(input, rx, nodes, args);
    for t in threads {
        t.join().expect("baseline thread");
    }
    figures
}

/// The same chain as `flow/passthrough` plugin nodes in the runtime.
/// With `isolated`, every node runs in a process of its own.
pub fn hark_chain(
    nodes: usize,
    args: &BenchArgs,
    plugins: &PluginSet,
    isolated: bool,
) -> Result<Figures, String> {
    let plugin = plugins
        .get("flow")
        .ok_or("the `flow` plugin is not loaded (build it: cargo build -p hark-plugin-flow)")?;
    let kind = plugin
        .kind("passthrough")
        .ok_or("`flow` has no `passthrough` kind")?;
    let pipeline = Pipeline {
        description: None,
        nodes: (0..nodes)
            .map(|i| NodeSpec {
                name: format!("hop{i}"),
                plugin: "flow".into(),
                kind: kind.clone(),
                config: "()".into(),
                restart: RestartPolicy::Never,
                stall_timeout: None,
                isolation: isolated.then(Isolation::default),
            })
            .collect(),
        links: (1..nodes)
            .map(|i| LinkSpec {
                from: (i - 1, 0),
                to: (i, 0),
                capacity: args.capacity,
                policy: QueuePolicy::Block,
                convert: None,
            })
            .collect(),
    };
    let (input, feed) = bounded::<Message>(args.capacity);
    let (tap, output) = bounded::<Message>(args.capacity);
    let options = RunOptions {
        feeds: vec![(0, 0, feed)],
        taps: vec![(nodes - 1, 0, tap)],
        ..RunOptions::default()
    };
    thread::scope(|scope| {
        let runner = scope.spawn(|| runtime::run(&pipeline, plugins, &options));
        let figures = drive(input, output, nodes, args);
        match runner.join().expect("runtime thread") {
            Ok(report) if report.failures().is_empty() => Ok(figures),
            Ok(report) => Err(report.failures().join("; ")),
            Err(e) => Err(e
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("; ")),
        }
    })
}

fn median(mut values: Vec<Figures>) -> Figures {
    values.sort_by(|a, b| a.ns_per_hop.total_cmp(&b.ns_per_hop));
    values[values.len() / 2]
}

/// Runs the benchmark and prints a table; returns the exit code.
pub fn main(args: &BenchArgs, plugins: &PluginSet) -> i32 {
    println!(
        "frame: 320 f32 (20 ms at 16 kHz); capacity {}; {} frames per throughput run; {} latency samples; median of {}",
        args.capacity, args.frames, args.latency_frames, args.repeat
    );
    print!(
        "{:>5} {:>4} | {:>12} {:>12} {:>6} | {:>20} {:>20}",
        "nodes",
        "hops",
        "plain ns/hop",
        "hark ns/hop",
        "ratio",
        "plain lat p50/p99 µs",
        "hark lat p50/p99 µs"
    );
    if args.isolated {
        print!(
            " | {:>12} {:>9} {:>20}",
            "isol. ns/hop", "vs hark", "isol. lat p50/p99 µs"
        );
    }
    println!();
    for &nodes in &args.nodes {
        if nodes == 0 {
            continue;
        }
        let mut plain = Vec::new();
        let mut hark = Vec::new();
        let mut isolated = Vec::new();
        for _ in 0..args.repeat.max(1) {
            // Interleave so that machine noise hits all alike.
            plain.push(plain_chain(nodes, args));
            let runs = if args.isolated {
                &[false, true][..]
            } else {
                &[false]
            };
            for &isolate in runs {
                match hark_chain(nodes, args, plugins, isolate) {
                    Ok(f) if isolate => isolated.push(f),
                    Ok(f) => hark.push(f),
                    Err(e) => {
                        eprintln!("error: {e}");
                        return 1;
                    }
                }
            }
        }
        let (p, h) = (median(plain), median(hark));
        print!(
            "{:>5} {:>4} | {:>12.0} {:>12.0} {:>6.2} | {:>9.1} / {:>8.1} {:>9.1} / {:>8.1}",
            nodes,
            nodes + 1,
            p.ns_per_hop,
            h.ns_per_hop,
            h.ns_per_hop / p.ns_per_hop,
            p.latency_p50_us,
            p.latency_p99_us,
            h.latency_p50_us,
            h.latency_p99_us
        );
        if !isolated.is_empty() {
            let i = median(isolated);
            print!(
                " | {:>12.0} {:>8.1}x {:>9.1} / {:>8.1}",
                i.ns_per_hop,
                i.ns_per_hop / h.ns_per_hop,
                i.latency_p50_us,
                i.latency_p99_us
            );
        }
        println!();
    }
    0
}
