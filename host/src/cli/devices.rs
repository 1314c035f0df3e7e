//! `hark devices`: the sound devices cpal sees, with the formats they
//! offer, and what to do when there are none.

use crate::devices::{probe, Device};

/// Lists input and output devices; returns the exit code.
pub fn main() -> i32 {
    let devices = probe(true);
    let (inputs, outputs) = (&devices.inputs, &devices.outputs);
    println!("audio host: {}", devices.host);
    for (title, list, default) in [
        (
            "input devices (microphone kind)",
            inputs,
            &devices.default_input,
        ),
        (
            "output devices (speaker kind)",
            outputs,
            &devices.default_output,
        ),
    ] {
        println!("\n{title}:");
        if list.is_empty() {
            println!("  none");
        }
        for (i, Device { name, formats }) in list.iter().enumerate() {
            let mark = if default.as_deref() == Some(name.as_str()) {
                " (default)"
            } else {
                ""
            };
            let usable = if formats.is_empty() {
                " — lists no formats: it cannot be opened"
            } else {
                ""
            };
            println!("  {i}: {name}{mark}{usable}");
            for f in formats {
                println!("       {f}");
            }
        }
    }
    let usable = |list: &[Device]| list.iter().any(|d| !d.formats.is_empty());
    if !usable(inputs) || !usable(outputs) {
        println!(
            "\nNo usable {} here (no sound card, or no access to it). Pipelines can use WAV files instead: \
             `--set input.path=FILE.wav` / `--set output.path=FILE.wav` on the shipped pipelines, \
             or the `wav-reader` / `wav-writer` kinds.",
            match (usable(inputs), usable(outputs)) {
                (false, false) => "microphone or speaker",
                (false, true) => "microphone",
                _ => "speaker",
            }
        );
    }
    println!(
        "\nSelect a device in a pipeline with `device: \"NAME\"` (or part of it, or its index)."
    );
    0
}
