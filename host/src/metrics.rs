//! Prometheus metrics (`--metrics ADDR` on `hark run` and `hark serve`):
//! one registry per process, served as text over HTTP at `/metrics`.
//!
//! Who records what: the runtime times every plugin call and counts
//! failures and restarts per node ([`NodeMetrics`]), and links report
//! their queue depth and drops while they live ([`Metrics::watch_link`]);
//! the Wyoming server counts sessions and requests. Labels are pipeline
//! names (node, kind, link, service) and fixed words (outcome, reason),
//! never user text or session ids: a label value is a time series, and
//! one per request would grow the server's memory without bound.
//! `docs/metrics.md` describes every metric for dashboards.

use std::{
    net::SocketAddr,
    sync::{atomic::Ordering, Arc, Weak},
    time::Duration,
};

use parking_lot::Mutex;
use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric},
    metrics::{
        counter::{ConstCounter, Counter},
        family::Family,
        gauge::{ConstGauge, Gauge},
        histogram::{exponential_buckets, Histogram},
    },
    registry::Registry,
};

use crate::runtime::LinkStats;

/// Seconds buckets for call and request latencies: 50 µs to ~50 s.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_05, 2.0, 21))
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// A node of a pipeline.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct NodeLabels {
    /// Node name in the pipeline.
    pub node: String,
    /// `plugin/kind`.
    pub kind: String,
}

/// A Wyoming service (`asr`, `tts`, `handle`, `intent`) and how a
/// request ended (`ok`, `error`, `refused`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The service.
    pub service: &'static str,
    /// How it ended.
    pub outcome: &'static str,
}

/// A Wyoming service alone.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ServiceLabels {
    /// The service.
    pub service: &'static str,
}

/// Why the server refused or dropped something (fixed words).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    /// `busy`, `timeout`, `malformed`, `too-large`, `audio-format`, ...
    pub reason: &'static str,
}

/// Every metric of the process.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    node_seconds: HistogramFamily<NodeLabels>,
    node_failures: Family<NodeLabels, Counter>,
    node_restarts: Family<NodeLabels, Counter>,
    node_stalls: Family<NodeLabels, Counter>,
    links: Arc<LiveLinks>,
    /// Wyoming requests by service and outcome.
    pub requests: Family<RequestLabels, Counter>,
    /// Wyoming request latency by service: request complete to answer sent.
    pub request_seconds: HistogramFamily<ServiceLabels>,
    /// Sessions (connections) open now.
    pub sessions_open: Gauge,
    /// Sessions accepted since start.
    pub sessions_total: Counter,
    /// Connections or requests refused, and protocol errors, by reason.
    pub refusals: Family<ReasonLabels, Counter>,
    /// Requests waiting for a free slot now.
    pub requests_waiting: Gauge,
    /// Time requests waited for a slot.
    pub queue_wait_seconds: Histogram,
    /// Result cache hits and misses by service.
    pub cache_hits: Family<ServiceLabels, Counter>,
    /// See `cache_hits`.
    pub cache_misses: Family<ServiceLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A registry with every Hark metric registered, all at zero.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("hark");
        let node_seconds: HistogramFamily<NodeLabels> =
            Family::new_with_constructor(latency_histogram);
        let node_failures = Family::<NodeLabels, Counter>::default();
        let node_restarts = Family::<NodeLabels, Counter>::default();
        let node_stalls = Family::<NodeLabels, Counter>::default();
        let requests = Family::<RequestLabels, Counter>::default();
        let request_seconds: HistogramFamily<ServiceLabels> =
            Family::new_with_constructor(latency_histogram);
        let sessions_open = Gauge::default();
        let sessions_total = Counter::default();
        let refusals = Family::<ReasonLabels, Counter>::default();
        let requests_waiting = Gauge::default();
        let queue_wait_seconds = latency_histogram();
        let cache_hits = Family::<ServiceLabels, Counter>::default();
        let cache_misses = Family::<ServiceLabels, Counter>::default();
        registry.register(
            "node_call_seconds",
            "Time of each plugin call (on_message, produce, flush) per node",
            node_seconds.clone(),
        );
        registry.register(
            "node_failures",
            "Plugin errors, caught panics and stalls per node",
            node_failures.clone(),
        );
        registry.register(
            "node_restarts",
            "Restarts under the node's restart policy",
            node_restarts.clone(),
        );
        registry.register(
            "node_stalls",
            "Plugin calls that ran past the node's stall deadline (stall_timeout_ms)",
            node_stalls.clone(),
        );
        registry.register(
            "requests",
            "Wyoming requests by service and outcome",
            requests.clone(),
        );
        registry.register(
            "request_seconds",
            "Wyoming request latency: request complete to answer sent",
            request_seconds.clone(),
        );
        registry.register(
            "sessions_open",
            "Wyoming sessions (connections) open",
            sessions_open.clone(),
        );
        registry.register(
            "sessions",
            "Wyoming sessions accepted",
            sessions_total.clone(),
        );
        registry.register(
            "refusals",
            "Connections or requests refused, and protocol errors, by reason",
            refusals.clone(),
        );
        registry.register(
            "requests_waiting",
            "Requests waiting for a free slot (the concurrency limit)",
            requests_waiting.clone(),
        );
        registry.register(
            "queue_wait_seconds",
            "Time requests waited for a free slot",
            queue_wait_seconds.clone(),
        );
        registry.register(
            "cache_hits",
            "Answers served from the result cache",
            cache_hits.clone(),
        );
        registry.register(
            "cache_misses",
            "Requests the result cache did not hold",
            cache_misses.clone(),
        );
        registry.register_collector(Box::new(BatchSizes));
        let links = Arc::new(LiveLinks::default());
        registry.register_collector(Box::new(links.clone()));
        Metrics {
            registry,
            node_seconds,
            node_failures,
            node_restarts,
            node_stalls,
            links,
            requests,
            request_seconds,
            sessions_open,
            sessions_total,
            refusals,
            requests_waiting,
            queue_wait_seconds,
            cache_hits,
            cache_misses,
        }
    }

    /// The handles a node thread records into.
    pub fn node(&self, node: &str, kind: &str) -> NodeMetrics {
        let labels = NodeLabels {
            node: node.to_string(),
            kind: kind.to_string(),
        };
        NodeMetrics {
            call_seconds: self.node_seconds.get_or_create(&labels).clone(),
            failures: self.node_failures.get_or_create(&labels).clone(),
            restarts: self.node_restarts.get_or_create(&labels).clone(),
            stalls: self.node_stalls.get_or_create(&labels).clone(),
        }
    }

    /// Reports `link`'s queue depth and drops while it lives.
    pub fn watch_link(&self, name: String, stats: &Arc<LinkStats>) {
        let mut links = self.links.links.lock();
        links.retain(|(_, l)| l.strong_count() > 0);
        links.push((name, Arc::downgrade(stats)));
    }

    /// Counts one finished Wyoming request.
    pub fn request(&self, service: &'static str, outcome: &'static str, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels { service, outcome })
            .inc();
        if outcome == "ok" {
            self.request_seconds
                .get_or_create(&ServiceLabels { service })
                .observe(seconds);
        }
    }

    /// Counts a refusal or protocol error.
    pub fn refused(&self, reason: &'static str) {
        self.refusals.get_or_create(&ReasonLabels { reason }).inc();
    }

    /// The registry in Prometheus/OpenMetrics text format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String cannot fail");
        text
    }
}

/// What a node thread records.
#[derive(Clone, Debug)]
pub struct NodeMetrics {
    /// Time of each call, in seconds.
    pub call_seconds: Histogram,
    /// Errors and caught panics.
    pub failures: Counter,
    /// Restarts.
    pub restarts: Counter,
    /// Calls past the stall deadline.
    pub stalls: Counter,
}

/// The links of running pipelines, read on each scrape.
#[derive(Debug, Default)]
struct LiveLinks {
    links: Mutex<Vec<(String, Weak<LinkStats>)>>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LinkLabels {
    link: String,
}

impl Collector for LiveLinks {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let live: Vec<(LinkLabels, Arc<LinkStats>)> = self
            .links
            .lock()
            .iter()
            .filter_map(|(name, stats)| Some((LinkLabels { link: name.clone() }, stats.upgrade()?)))
            .collect();
        let mut depth = encoder.encode_descriptor(
            "link_queue_depth",
            "Messages queued on a link after its last send",
            None,
            prometheus_client::metrics::MetricType::Gauge,
        )?;
        for (labels, stats) in &live {
            let value = stats.depth.load(Ordering::Relaxed) as i64;
            ConstGauge::new(value).encode(depth.encode_family(labels)?)?;
        }
        let mut dropped = encoder.encode_descriptor(
            "link_dropped",
            "Messages dropped by a link's queue policy",
            None,
            prometheus_client::metrics::MetricType::Counter,
        )?;
        for (labels, stats) in &live {
            let value = stats.dropped.load(Ordering::Relaxed);
            ConstCounter::new(value).encode(dropped.encode_family(labels)?)?;
        }
        Ok(())
    }
}

/// The inference core's batch sizes (`inference::batch`), read on each
/// scrape.
#[derive(Debug)]
struct BatchSizes;

impl Collector for BatchSizes {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let (counts, sum) = crate::inference::batch::batch_stats();
        // Per-bucket counts: the encoder accumulates them.
        let buckets: Vec<(f64, u64)> = crate::inference::batch::BATCH_BUCKETS
            .iter()
            .zip(counts)
            .map(|(&le, n)| {
                // The encoder writes `f64::MAX` as `+Inf`.
                let le = if le == u64::MAX { f64::MAX } else { le as f64 };
                (le, n)
            })
            .collect();
        let count = counts.iter().sum();
        let mut metric = encoder.encode_descriptor(
            "batch_size",
            "Requests whose matrix products ran together, per product",
            None,
            prometheus_client::metrics::MetricType::Histogram,
        )?;
        metric.encode_histogram::<prometheus_client::encoding::NoLabelSet>(
            sum as f64, count, &buckets, None,
        )
    }
}

/// Serves `metrics` at `http://ADDR/metrics` on a thread of its own.
/// Returns the address bound (port 0 picks one).
pub fn serve(metrics: Arc<Metrics>, addr: SocketAddr) -> Result<SocketAddr, String> {
    let server = tiny_http::Server::http(addr)
        .map_err(|e| format!("cannot listen for metrics on {addr}: {e}"))?;
    let bound = server
        .server_addr()
        .to_ip()
        .ok_or_else(|| format!("metrics listener on {addr} is not an IP socket"))?;
    std::thread::Builder::new()
        .name("metrics".into())
        .spawn(move || loop {
            let request = match server.recv_timeout(Duration::from_secs(3600)) {
                Ok(Some(r)) => r,
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!("metrics listener: {e}");
                    continue;
                }
            };
            let response = if request.url() == "/metrics" || request.url().starts_with("/metrics?")
            {
                let content_type = tiny_http::Header::from_bytes(
                    "Content-Type",
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                )
                .expect("a valid header");
                tiny_http::Response::from_string(metrics.encode()).with_header(content_type)
            } else {
                tiny_http::Response::from_string("Hark serves its metrics at /metrics\n")
                    .with_status_code(404)
            };
            if let Err(e) = request.respond(response) {
                tracing::debug!("metrics client went away: {e}");
            }
        })
        .map_err(|e| format!("cannot start the metrics thread: {e}"))?;
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_and_request_metrics_are_encoded_with_pipeline_labels_only() {
        let metrics = Metrics::new();
        let node = metrics.node("stt", "whisper/transcribe");
        node.call_seconds.observe(0.002);
        node.failures.inc();
        metrics.request("handle", "ok", 0.004);
        metrics.refused("busy");
        let text = metrics.encode();
        assert!(text
            .contains("hark_node_call_seconds_count{node=\"stt\",kind=\"whisper/transcribe\"} 1"));
        assert!(
            text.contains("hark_node_failures_total{node=\"stt\",kind=\"whisper/transcribe\"} 1")
        );
        assert!(text.contains("hark_requests_total{service=\"handle\",outcome=\"ok\"} 1"));
        assert!(text.contains("hark_refusals_total{reason=\"busy\"} 1"));
        assert!(
            text.contains("hark_batch_size_bucket{le=\"+Inf\"}"),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
    }

    #[test]
    fn links_are_reported_while_they_live() {
        let metrics = Metrics::new();
        let stats = Arc::new(LinkStats::default());
        stats.dropped.store(3, Ordering::Relaxed);
        stats.depth.store(5, Ordering::Relaxed);
        metrics.watch_link("a.out -> b.in".into(), &stats);
        let text = metrics.encode();
        assert!(
            text.contains("hark_link_queue_depth{link=\"a.out -> b.in\"} 5"),
            "{text}"
        );
        assert!(
            text.contains("hark_link_dropped_total{link=\"a.out -> b.in\"} 3"),
            "{text}"
        );
        drop(stats);
        assert!(!metrics.encode().contains("a.out -> b.in"));
    }
}
