//! `hark run --stats`: the per-node table.

use std::fmt::Write;

use super::RunReport;

fn micros(ns: u64) -> String {
    if ns >= 10_000_000 {
        format!("{:.0} ms", ns as f64 / 1e6)
    } else {
        format!("{:.1} µs", ns as f64 / 1e3)
    }
}

/// The statistics table printed by `hark run --stats`.
pub fn format_stats(report: &RunReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "pipeline ran for {:.3} s",
        report.elapsed.as_secs_f64()
    );
    let _ = writeln!(
        out,
        "{:<16} {:<22} {:>9} {:>9} {:>10} {:>10} {:>6} {:>7} {:>8} {:>6}",
        "node", "kind", "in", "out", "p50", "p99", "queue", "drops", "restarts", "stalls"
    );
    for n in &report.nodes {
        let (p50, p99) = match &n.histogram {
            Some(h) if !h.is_empty() => (
                micros(h.value_at_quantile(0.5)),
                micros(h.value_at_quantile(0.99)),
            ),
            _ => ("-".into(), "-".into()),
        };
        let _ = writeln!(
            out,
            "{:<16} {:<22} {:>9} {:>9} {:>10} {:>10} {:>6} {:>7} {:>8} {:>6}",
            n.name,
            n.kind,
            n.received,
            n.emitted,
            p50,
            p99,
            n.queue_high_water,
            n.dropped_on_inputs + n.discarded,
            n.restarts,
            n.stalls
        );
        for (name, value) in &n.counters {
            let _ = writeln!(out, "{:<16}   {name} = {value}", "");
        }
        for (name, value) in &n.gauges {
            let _ = writeln!(out, "{:<16}   {name} = {value}", "");
        }
    }
    out
}
