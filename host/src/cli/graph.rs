//! `hark graph`: a validated pipeline as Graphviz or Mermaid text.

use std::{fmt::Write, path::Path};

use super::{load_pipeline, GraphFormat};
use crate::{
    loader::PluginSet,
    pipeline::{Pipeline, QueuePolicy},
};

/// Validates `file` and prints it as a graph; returns the exit code.
pub fn main(
    file: &Path,
    set: Vec<String>,
    format: GraphFormat,
    plugins: &PluginSet,
    color: bool,
) -> i32 {
    match load_pipeline(file, set, plugins, color) {
        Ok(p) => {
            print!("{}", render(&p, format));
            0
        }
        Err(code) => code,
    }
}

/// Renders `pipeline` in `format`.
fn render(pipeline: &Pipeline, format: GraphFormat) -> String {
    match format {
        GraphFormat::Dot => dot(pipeline),
        GraphFormat::Mermaid => mermaid(pipeline),
    }
}

fn edge_label(pipeline: &Pipeline, i: usize) -> String {
    let l = &pipeline.links[i];
    let from = &pipeline.nodes[l.from.0].kind.outputs[l.from.1];
    let to = &pipeline.nodes[l.to.0].kind.inputs[l.to.1];
    let mut label = if from.name == to.name {
        from.name.clone()
    } else {
        format!("{} → {}", from.name, to.name)
    };
    if l.policy != QueuePolicy::Block {
        let _ = write!(label, " [{}]", l.policy.name());
    }
    label
}

fn dot(p: &Pipeline) -> String {
    let mut s =
        String::from("digraph pipeline {\n  rankdir=LR;\n  node [shape=box, style=rounded];\n");
    for n in &p.nodes {
        let _ = writeln!(
            s,
            "  {:?} [label={:?}];",
            n.name,
            format!("{}\n{}/{}", n.name, n.plugin, n.kind.name)
        );
    }
    for (i, l) in p.links.iter().enumerate() {
        let _ = writeln!(
            s,
            "  {:?} -> {:?} [label={:?}];",
            p.nodes[l.from.0].name,
            p.nodes[l.to.0].name,
            edge_label(p, i)
        );
    }
    s.push_str("}\n");
    s
}

fn mermaid(p: &Pipeline) -> String {
    // Mermaid ids must be plain identifiers; names may contain anything.
    let id = |i: usize| format!("n{i}");
    let escape = |t: &str| t.replace('"', "#quot;");
    let mut s = String::from("flowchart LR\n");
    for (i, n) in p.nodes.iter().enumerate() {
        let _ = writeln!(
            s,
            "    {}[\"{}<br/><small>{}/{}</small>\"]",
            id(i),
            escape(&n.name),
            n.plugin,
            n.kind.name
        );
    }
    for (i, l) in p.links.iter().enumerate() {
        let _ = writeln!(
            s,
            "    {} -- \"{}\" --> {}",
            id(l.from.0),
            escape(&edge_label(p, i)),
            id(l.to.0)
        );
    }
    s
}
