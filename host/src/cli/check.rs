//! `hark check FILE [--set ..]`: validate a pipeline without running it,
//! and say which links convert audio on the way.

use std::path::Path;

use super::load_pipeline;
use crate::{loader::PluginSet, pipeline::AudioTarget};

/// Validates `file`; returns the exit code.
pub fn main(file: &Path, set: Vec<String>, plugins: &PluginSet, color: bool) -> i32 {
    let p = match load_pipeline(file, set, plugins, color) {
        Ok(p) => p,
        Err(code) => return code,
    };
    println!(
        "{}: ok ({} nodes, {} links)",
        file.display(),
        p.nodes.len(),
        p.links.len()
    );
    for (i, link) in p.links.iter().enumerate() {
        if let Some(target) = link.convert {
            println!(
                "  {}: audio converted to {} on the way",
                p.link_name(i),
                describe_audio(target)
            );
        }
    }
    0
}

/// "16000 Hz mono", "any rate, 2 channels".
fn describe_audio(t: AudioTarget) -> String {
    let rate = match t.sample_rate {
        0 => "any rate".to_string(),
        r => format!("{r} Hz"),
    };
    let channels = match t.channels {
        0 => "any channels".to_string(),
        1 => "mono".to_string(),
        2 => "stereo".to_string(),
        c => format!("{c} channels"),
    };
    format!("{rate} {channels}")
}
