//! `hark doctor [--json]`: what this machine gives Hark — CPU and SIMD
//! features, the kernel variant chosen per operation and why, memory and
//! huge pages, audio devices, plugins, installed models with hashes.
//!
//! The JSON form is documented in docs/doctor.md; its field names are a
//! stable interface (fields may be added, never renamed).

//!
//! Three parts: [`report`] is the JSON schema (docs/doctor.md), [`probe`]
//! fills it in from the machine, [`text`] prints it for people.

mod probe;
mod report;
mod text;

use crate::loader::PluginSet;

/// `hark doctor [--json]`; returns the exit code.
pub fn main(plugins: &PluginSet, json: bool) -> i32 {
    let report = probe::gather(plugins);
    if json {
        return super::print_json(&report);
    }
    text::print(&report);
    0
}
