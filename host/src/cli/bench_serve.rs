//! `hark bench serve PIPELINE`: a load test of `hark serve` on loopback.
//! N clients, each on its own connection, send `handle` requests
//! (questions in, answers out) back to back for a bounded time and
//! count; the same load runs with dynamic batching on and off, so the
//! ratio is measured in one run, on one machine.

use std::{
    io::{BufReader, BufWriter, Write},
    net::{SocketAddr, TcpStream},
    sync::Arc,
    time::{Duration, Instant},
};

use clap::Args;
use hdrhistogram::Histogram;
use serde_json::json;

use super::{load_pipeline, load_plugins};
use crate::{
    inference::batch,
    loader::SearchPath,
    metrics::Metrics,
    serve::{
        wyoming::{read_event, write_event, Event, Limits},
        CacheSettings, LimitSettings, ServeOptions, Server,
    },
};

/// `hark bench serve`'s arguments.
#[derive(Args, Debug, Clone)]
pub struct ServeBenchArgs {
    /// The pipeline to serve (it needs a `handle` stage).
    pub file: std::path::PathBuf,
    /// Override a node's config: `node.field=value` (repeatable).
    #[arg(long = "set", value_name = "NODE.FIELD=VALUE")]
    pub set: Vec<String>,
    /// Concurrent clients, one measurement each.
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 32])]
    pub clients: Vec<usize>,
    /// Seconds per measurement (after one second of warm-up).
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Requests per measurement, at most.
    #[arg(long, default_value_t = 100_000)]
    pub max_requests: usize,
    /// The largest batch when batching is on.
    #[arg(long, default_value_t = 32)]
    pub batch_max: usize,
    /// Requests the server runs at once (its `--max-concurrent`; default:
    /// one per core, as `hark serve`).
    #[arg(long, value_name = "N")]
    pub max_concurrent: Option<usize>,
    /// Offered load in requests per second, spread evenly over the
    /// clients (an open loop; latency counts from when a request was due,
    /// so a late server is not hidden). Without it each client asks again
    /// as soon as it has its answer (a closed loop: the most the server
    /// can do).
    #[arg(long, value_name = "REQ/S")]
    pub rate: Option<f64>,
    /// Requests are `transcribe` of this recording (a 16-bit PCM WAV file)
    /// instead of `handle` questions; latency counts from the end of its
    /// audio to the transcript.
    #[arg(long, value_name = "WAV")]
    pub speech: Option<std::path::PathBuf>,
}

/// Questions a shop's customers ask, none of them word for word in the
/// sample FAQ.
const QUESTIONS: [&str; 16] = [
    "what time do you open tomorrow",
    "are you open on sundays",
    "where exactly is your shop",
    "can i leave my car somewhere nearby",
    "i would like my money back for these shoes",
    "how many days until my package gets here",
    "do you deliver to france",
    "what does shipping cost",
    "can i pay with apple pay",
    "i need to speak to a human",
    "do you sell gift vouchers",
    "where is my parcel",
    "what is the phone number of the shop",
    "is delivery free over a certain amount",
    "do you sell bicycles",
    "can i bring back something i bought online",
];

struct Load {
    requests: u64,
    refused: u64,
    elapsed: Duration,
    latency_us: Histogram<u64>,
    batches: ([u64; 7], u64),
}

/// Runs the load test; returns the exit code.
pub fn main(args: &ServeBenchArgs, search: &SearchPath, color: bool) -> i32 {
    let plugins = Arc::new(load_plugins(search));
    let pipeline = match load_pipeline(&args.file, args.set.clone(), &plugins, color) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let options = ServeOptions {
        // The cache would answer repeated questions without any work.
        cache: CacheSettings {
            entries: 0,
            handle: false,
        },
        limit: LimitSettings {
            running: args
                .max_concurrent
                .unwrap_or(ServeOptions::default().limit.running),
            waiting: 4096,
            ..ServeOptions::default().limit
        },
        ..ServeOptions::default()
    };
    let listen: SocketAddr = "127.0.0.1:0".parse().expect("an address");
    let running = options.limit.running;
    let server = match Server::bind(
        &pipeline,
        "bench",
        plugins,
        Arc::new(Metrics::new()),
        options,
        listen,
    ) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let speech = match &args.speech {
        None if server.stages().handle.is_none() => {
            eprintln!(
                "error: {} has no stage that answers text (`handle`)",
                args.file.display()
            );
            return 2;
        }
        None => None,
        Some(_) if server.stages().asr.is_none() => {
            eprintln!(
                "error: {} has no speech-to-text stage (`asr`)",
                args.file.display()
            );
            return 2;
        }
        Some(path) => match transcribe_request(path) {
            Ok(events) => Some(Arc::new(events)),
            Err(e) => {
                eprintln!("error: {}: {e}", path.display());
                return 2;
            }
        },
    };
    let addr = server.local_addr().expect("bound");
    std::thread::spawn(move || server.run());

    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load = match args.rate {
        Some(rate) => format!("{rate} requests/s offered"),
        None => "each client asks again at its answer".into(),
    };
    let what = match &args.speech {
        Some(path) => format!("`transcribe` requests of {}", path.display()),
        None => "`handle` requests".into(),
    };
    println!(
        "hark bench serve {}: {what} over Wyoming on loopback, {} s per run (≤ {} requests), {load}; {cores} cores, result cache off, {} requests at once",
        args.file.display(),
        args.seconds,
        args.max_requests,
        running
    );
    println!(
        "{:>8} {:>7} | {:>8} {:>9} {:>8} {:>8} {:>8} {:>8} | {:>10}",
        "batching",
        "clients",
        "requests",
        "req/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "refused",
        "mean batch"
    );
    for &clients in &args.clients {
        let mut rates = Vec::new();
        for max in [args.batch_max, 1] {
            batch::set_max_batch(max);
            // Warm-up: caches, page faults, the first sessions.
            let _ = drive(
                addr,
                clients,
                Duration::from_secs(1),
                args.max_requests,
                args.rate,
                speech.clone(),
            );
            let load = match drive(
                addr,
                clients,
                Duration::from_secs(args.seconds),
                args.max_requests,
                args.rate,
                speech.clone(),
            ) {
                Ok(l) => l,
                Err(e) => {
                    eprintln!("error: {e}");
                    return 1;
                }
            };
            let rate = load.requests as f64 / load.elapsed.as_secs_f64();
            rates.push(rate);
            let (buckets, calls) = load.batches;
            let products: u64 = buckets.iter().sum();
            let q = |p: f64| load.latency_us.value_at_quantile(p) as f64 / 1000.0;
            println!(
                "{:>8} {:>7} | {:>8} {:>9.1} {:>8.2} {:>8.2} {:>8.2} {:>8} | {:>10.2}",
                if max > 1 {
                    format!("≤{max}")
                } else {
                    "off".into()
                },
                clients,
                load.requests,
                rate,
                q(0.50),
                q(0.95),
                q(0.99),
                load.refused,
                calls as f64 / products.max(1) as f64
            );
        }
        println!(
            "{:>8} {:>7} | batching on / off: {:.2}x requests/s",
            "",
            clients,
            rates[0] / rates[1]
        );
    }
    0
}

/// `clients` connections asking back to back for `time` or `max`
/// requests in all.
fn drive(
    addr: SocketAddr,
    clients: usize,
    time: Duration,
    max: usize,
    rate: Option<f64>,
    speech: Option<Arc<Vec<Event>>>,
) -> Result<Load, String> {
    let before = batch::batch_stats();
    let started = Instant::now();
    let deadline = started + time;
    let per_client = max.div_ceil(clients.max(1));
    let threads: Vec<_> = (0..clients)
        .map(|c| {
            let speech = speech.clone();
            std::thread::spawn(move || -> Result<(u64, u64, Histogram<u64>), String> {
                let stream = TcpStream::connect(addr).map_err(|e| e.to_string())?;
                stream.set_nodelay(true).map_err(|e| e.to_string())?;
                stream
                    .set_read_timeout(Some(Duration::from_secs(60)))
                    .map_err(|e| e.to_string())?;
                let mut reader = BufReader::new(stream.try_clone().map_err(|e| e.to_string())?);
                let mut writer = BufWriter::new(stream);
                let mut latency = Histogram::new_with_bounds(1, 600_000_000, 3).expect("bounds");
                let (mut done, mut refused) = (0u64, 0u64);
                while Instant::now() < deadline && (done as usize) < per_client {
                    let question = QUESTIONS[(c * 7 + done as usize) % QUESTIONS.len()];
                    let asked = match rate {
                        // Request k of client c is due at (k·clients + c) / rate.
                        Some(rate) => {
                            let due = started
                                + Duration::from_secs_f64(
                                    ((done + refused) as f64 * clients as f64 + c as f64) / rate,
                                );
                            if due >= deadline {
                                break;
                            }
                            std::thread::sleep(due.saturating_duration_since(Instant::now()));
                            due
                        }
                        None => Instant::now(),
                    };
                    let asked = match &speech {
                        Some(events) => {
                            for event in events.iter() {
                                write_event(&mut writer, event).map_err(|e| e.to_string())?;
                            }
                            writer.flush().map_err(|e| e.to_string())?;
                            // Counted from the end of the audio.
                            Instant::now()
                        }
                        None => {
                            write_event(
                                &mut writer,
                                &Event::with_data("transcript", json!({ "text": question })),
                            )
                            .and_then(|()| writer.flush())
                            .map_err(|e| e.to_string())?;
                            asked
                        }
                    };
                    let answer = read_event(&mut reader, &Limits::default())
                        .map_err(|e| e.to_string())?
                        .ok_or("the server closed the connection")?;
                    match answer.kind.as_str() {
                        "handled" | "not-handled" | "transcript" => {
                            latency.saturating_record(asked.elapsed().as_micros() as u64);
                            done += 1;
                        }
                        "error" => refused += 1,
                        other => return Err(format!("unexpected answer `{other}`")),
                    }
                }
                Ok((done, refused, latency))
            })
        })
        .collect();
    let mut load = Load {
        requests: 0,
        refused: 0,
        elapsed: Duration::ZERO,
        latency_us: Histogram::new_with_bounds(1, 600_000_000, 3).expect("bounds"),
        batches: ([0; 7], 0),
    };
    for t in threads {
        let (done, refused, latency) = t.join().map_err(|_| "a client thread panicked")??;
        load.requests += done;
        load.refused += refused;
        load.latency_us.add(latency).map_err(|e| e.to_string())?;
    }
    load.elapsed = started.elapsed();
    let after = batch::batch_stats();
    load.batches = (
        std::array::from_fn(|i| after.0[i] - before.0[i]),
        after.1 - before.1,
    );
    Ok(load)
}

/// The events of one `transcribe` of `path`: 1024-sample chunks, as Home
/// Assistant sends them.
fn transcribe_request(path: &std::path::Path) -> Result<Vec<Event>, String> {
    let mut reader = hound::WavReader::open(path).map_err(|e| e.to_string())?;
    let spec = reader.spec();
    if spec.bits_per_sample != 16 || spec.sample_format != hound::SampleFormat::Int {
        return Err("not a 16-bit PCM WAV file".into());
    }
    let samples: Vec<i16> = reader
        .samples::<i16>()
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let format = json!({ "rate": spec.sample_rate, "width": 2, "channels": spec.channels });
    let mut events = vec![
        Event::with_data("transcribe", json!({ "language": "en" })),
        Event::with_data("audio-start", format.clone()),
    ];
    for piece in samples.chunks(1024 * spec.channels as usize) {
        let mut chunk = Event::with_data("audio-chunk", format.clone());
        chunk.payload = piece.iter().flat_map(|s| s.to_le_bytes()).collect();
        events.push(chunk);
    }
    events.push(Event::new("audio-stop"));
    Ok(events)
}
