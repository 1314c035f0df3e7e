//! `hark plugins`: what is installed, like `gst-inspect`.

use std::fmt::Write;

use hark_plugin_api::NodeRole;

use crate::loader::{KindInfo, Plugin, PluginSet, PortInfo};

fn role(r: NodeRole) -> &'static str {
    match r {
        NodeRole::Source => "source",
        NodeRole::Transform => "transform",
        NodeRole::Sink => "sink",
    }
}

fn port_line(p: &PortInfo) -> String {
    let mut s = format!("{}: {}", p.name, p.message_type.name());
    if p.audio.sample_rate != 0 {
        let _ = write!(s, " {} Hz", p.audio.sample_rate);
    }
    if p.audio.channels != 0 {
        let _ = write!(s, " {} ch", p.audio.channels);
    }
    if !p.required {
        s.push_str(" (optional)");
    }
    if !p.doc.is_empty() {
        let _ = write!(s, " — {}", p.doc);
    }
    s
}

fn kind_details(out: &mut String, k: &KindInfo) {
    let _ = writeln!(out, "    {} ({}) — {}", k.name, role(k.role), k.summary);
    for (title, ports) in [("inputs", &k.inputs), ("outputs", &k.outputs)] {
        if !ports.is_empty() {
            let _ = writeln!(out, "      {title}:");
            for p in ports {
                let _ = writeln!(out, "        {}", port_line(p));
            }
        }
    }
    if !k.config.is_empty() {
        let _ = writeln!(out, "      config:");
        for f in &k.config {
            let default = match &f.default {
                Some(d) => format!(" = {d}"),
                None => " (required)".into(),
            };
            let _ = writeln!(
                out,
                "        {}: {}{default} — {}",
                f.name, f.type_name, f.doc
            );
        }
    }
}

fn plugin_block(out: &mut String, p: &Plugin, verbose: bool) {
    let _ = writeln!(out, "{} {} — {}", p.name, p.version, p.description);
    let _ = writeln!(
        out,
        "  file: {} (plugin ABI {})",
        p.path.display(),
        p.abi_version
    );
    let _ = writeln!(out, "  kinds:");
    for k in &p.kinds {
        if verbose {
            kind_details(out, k);
        } else {
            let _ = writeln!(out, "    {:<14} {:<9} {}", k.name, role(k.role), k.summary);
        }
    }
}

/// Prints the plugin listing; returns the exit code.
pub fn show(set: &PluginSet, name: Option<&str>, verbose: bool, rejected: bool) -> i32 {
    let mut out = String::new();
    if let Some(name) = name {
        let Some(p) = set.get(name) else {
            eprintln!("error: no plugin named `{name}` is loaded");
            let names: Vec<_> = set.plugins.iter().map(|p| p.name.as_str()).collect();
            if let Some(best) = hark_sdk::did_you_mean(name, names.iter().copied()) {
                eprintln!("  help: did you mean `{best}`?");
            } else {
                eprintln!("  help: loaded plugins: {}", names.join(", "));
            }
            return 2;
        };
        plugin_block(&mut out, p, true);
        print!("{out}");
        return 0;
    }
    if !rejected {
        if set.plugins.is_empty() {
            out.push_str("no plugins found\n");
        }
        for p in &set.plugins {
            plugin_block(&mut out, p, verbose);
            out.push('\n');
        }
        out.push_str("searched:\n");
        for d in &set.searched {
            let _ = writeln!(out, "  {} ({:?})", d.path.display(), d.origin);
        }
        let refused = set.rejected.iter().filter(|r| r.looks_like_library).count();
        if refused > 0 {
            let _ = writeln!(
                out,
                "{refused} librar{} refused: see `hark plugins --rejected`",
                if refused == 1 { "y" } else { "ies" }
            );
        }
    } else {
        if set.rejected.is_empty() {
            out.push_str("no files were refused\n");
        }
        for r in &set.rejected {
            let _ = writeln!(out, "{}\n  {}", r.path.display(), r.reason);
            if verbose {
                if let Some(detail) = &r.detail {
                    for line in detail.lines() {
                        let _ = writeln!(out, "    | {line}");
                    }
                }
            }
        }
        if !verbose && set.rejected.iter().any(|r| r.detail.is_some()) {
            out.push_str("(add --verbose for the full errors)\n");
        }
    }
    print!("{out}");
    0
}
