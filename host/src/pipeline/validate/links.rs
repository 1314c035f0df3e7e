//! Pass 4: links join an existing output to an existing input of a
//! compatible message type, and every required input is linked.

use hark_plugin_api::{MessageType, NodeRole};

use super::{node_list, Diagnostic, KindInfo, RawPipeline};
use crate::{
    loader::PortInfo,
    pipeline::{
        did_you_mean,
        model::{audio_conversion, LinkSpec},
        raw::{Endpoint, RawLink},
    },
};

/// The links that resolve, in file order; the others are reported.
pub(super) fn resolve(
    raw: &RawPipeline,
    kinds: &[Option<&KindInfo>],
    errors: &mut Vec<Diagnostic>,
) -> Vec<LinkSpec> {
    raw.links
        .iter()
        .filter_map(|link| resolve_one(link, raw, kinds, errors))
        .collect()
}

/// Reports each required input that no link feeds, with a link that
/// would. A link that failed to resolve still counts as linking its target
/// (its own error says what is wrong), and a repeated node name (see
/// `is_first_of_name`) is reported as a duplicate, not as unlinked.
pub(super) fn required_inputs(
    raw: &RawPipeline,
    kinds: &[Option<&KindInfo>],
    is_first_of_name: &[bool],
    errors: &mut Vec<Diagnostic>,
) {
    for (i, node) in raw.nodes.iter().enumerate() {
        let Some(kind) = kinds[i] else { continue };
        if !is_first_of_name[i] {
            continue;
        }
        for port in kind.inputs.iter().filter(|p| p.required) {
            let linked = raw
                .links
                .iter()
                .any(|l| l.to.node.value == node.name.value && l.to.port.value == port.name);
            if linked {
                continue;
            }
            let d = Diagnostic::at(
                node.name.span.clone(),
                format!(
                    "input `{}` of node `{}` is not linked",
                    port.name, node.name.value
                ),
                format!("`{}` needs `{}` input", kind.name, port.message_type.name()),
            );
            let candidate = raw.nodes.iter().enumerate().find_map(|(j, other)| {
                let out = kinds[j]?
                    .outputs
                    .iter()
                    .find(|o| types_compatible(o, port))?;
                (j != i).then(|| format!("{}.{}", other.name.value, out.name))
            });
            errors.push(d.hint(match candidate {
                Some(c) => format!(
                    "add a link such as \"{c} -> {}.{}\"",
                    node.name.value, port.name
                ),
                None => format!(
                    "add a link \"<node>.<output> -> {}.{}\"",
                    node.name.value, port.name
                ),
            }));
        }
    }
}

/// Whether an output port may feed an input port (audio formats need not
/// match: links convert them, see [`audio_conversion`]).
fn types_compatible(from: &PortInfo, to: &PortInfo) -> bool {
    from.message_type == to.message_type
        || from.message_type == MessageType::Any
        || to.message_type == MessageType::Any
        // Control events may travel on any link.
        || from.message_type == MessageType::Control
}

fn resolve_one(
    link: &RawLink,
    raw: &RawPipeline,
    kinds: &[Option<&KindInfo>],
    errors: &mut Vec<Diagnostic>,
) -> Option<LinkSpec> {
    let from = endpoint(&link.from, Direction::Output, raw, kinds, errors);
    let to = endpoint(&link.to, Direction::Input, raw, kinds, errors);
    let (from, to) = (from?, to?);
    let out_port = &kinds[from.0]?.outputs[from.1];
    let in_port = &kinds[to.0]?.inputs[to.1];
    if !types_compatible(out_port, in_port) {
        let reason = format!(
            "`{}` sends {} but `{}` takes {}",
            link.from.port.value,
            out_port.message_type.name(),
            link.to.port.value,
            in_port.message_type.name()
        );
        errors.push(
            Diagnostic::at(
                link.span.clone(),
                format!("message type mismatch: {reason}"),
                "incompatible ports",
            )
            .also(
                link.from.port.span.clone(),
                format!("{} output", out_port.message_type.name()),
            )
            .also(
                link.to.port.span.clone(),
                format!("{} input", in_port.message_type.name()),
            )
            .hint("link ports of the same type, or put a converting node between them"),
        );
        return None;
    }
    Some(LinkSpec {
        from,
        to,
        capacity: link.capacity,
        policy: link.policy,
        convert: audio_conversion(out_port, in_port),
    })
}

/// Which end of a link an [`Endpoint`] is.
#[derive(Clone, Copy)]
enum Direction {
    Output,
    Input,
}

/// `(node index, port index)` of one end of a link, or `None` (reported,
/// unless the node's kind is unknown, which is reported already).
fn endpoint(
    end: &Endpoint,
    direction: Direction,
    raw: &RawPipeline,
    kinds: &[Option<&KindInfo>],
    errors: &mut Vec<Diagnostic>,
) -> Option<(usize, usize)> {
    let Some(n) = raw
        .nodes
        .iter()
        .position(|n| n.name.value == end.node.value)
    else {
        let d = Diagnostic::at(
            end.node.span.clone(),
            format!(
                "link refers to node `{}`, which is not in the pipeline",
                end.node.value
            ),
            "unknown node",
        );
        errors.push(
            match did_you_mean(
                &end.node.value,
                raw.nodes.iter().map(|n| n.name.value.as_str()),
            ) {
                Some(best) => d.hint(format!("did you mean `{best}`?")),
                None => d.hint(format!("nodes: {}", node_list(raw))),
            },
        );
        return None;
    };
    let kind = kinds[n]?;
    let (ports, other, this_dir, other_dir) = match direction {
        Direction::Output => (&kind.outputs, &kind.inputs, "output", "input"),
        Direction::Input => (&kind.inputs, &kind.outputs, "input", "output"),
    };
    if let Some(p) = ports.iter().position(|p| p.name == end.port.value) {
        return Some((n, p));
    }
    let node = &end.node.value;
    let d = Diagnostic::at(
        end.port.span.clone(),
        format!(
            "node `{node}` ({}) has no {this_dir} port `{}`",
            kind.name, end.port.value
        ),
        format!("unknown {this_dir}"),
    );
    errors.push(if other.iter().any(|p| p.name == end.port.value) {
        d.hint(format!(
            "`{}` is an {other_dir} of `{node}`; links go from an output to an input (\"from.output -> to.input\")",
            end.port.value
        ))
    } else if ports.is_empty() {
        d.hint(format!(
            "`{}` is a {} and has no {this_dir}s",
            kind.name,
            match kind.role {
                NodeRole::Source => "source",
                NodeRole::Sink => "sink",
                NodeRole::Transform => "transform",
            }
        ))
    } else {
        match did_you_mean(&end.port.value, ports.iter().map(|p| p.name.as_str())) {
            Some(best) => d.hint(format!("did you mean `{best}`?")),
            None => d.hint(format!("{this_dir}s of `{node}`: {}", port_list(ports))),
        }
    });
    None
}

fn port_list(ports: &[PortInfo]) -> String {
    ports
        .iter()
        .map(|p| format!("{} ({})", p.name, p.message_type.name()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::super::tests::{read, FakePlugins};
    use super::*;
    use crate::pipeline::model::AudioTarget;

    fn links_of(text: &str) -> (Vec<LinkSpec>, Vec<Diagnostic>) {
        let raw = read(text);
        let plugins = FakePlugins::standard();
        let mut errors = Vec::new();
        let kinds = super::super::kinds::resolve(&raw, &plugins, &mut errors);
        let links = resolve(&raw, &kinds, &mut errors);
        let firsts = super::super::names::duplicates(&raw, &mut errors);
        required_inputs(&raw, &kinds, &firsts, &mut errors);
        (links, errors)
    }

    const NODES: &str = r#"nodes: {
        "src": (plugin: "t", kind: "src"),
        "up": (plugin: "t", kind: "upper"),
        "out": (plugin: "t", kind: "sink"),
        "mic": (plugin: "t", kind: "mic"),
        "ear": (plugin: "t", kind: "ear"),
    }"#;

    fn pipeline(links: &[&str]) -> String {
        let links: Vec<String> = links.iter().map(|l| format!("{l:?}")).collect();
        format!("({NODES}, links: [{}])", links.join(", "))
    }

    const ALL_LINKED: [&str; 3] = [
        "src.text -> up.text",
        "up.text -> out.text",
        "mic.audio -> ear.audio",
    ];

    #[test]
    fn links_resolve_to_indices_with_a_conversion_where_formats_differ() {
        let (links, errors) = links_of(&pipeline(&ALL_LINKED));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(links.len(), 3);
        assert_eq!((links[0].from, links[0].to), ((0, 0), (1, 0)));
        assert_eq!(links[0].convert, None);
        assert_eq!(
            links[2].convert,
            Some(AudioTarget {
                sample_rate: 16_000,
                channels: 1
            }),
            "48 kHz stereo to a 16 kHz mono input converts"
        );
    }

    #[test]
    fn a_backwards_link_says_links_go_from_output_to_input() {
        let (links, errors) = links_of(&pipeline(&[
            "up.text -> src.text",
            "up.text -> out.text",
            "mic.audio -> ear.audio",
        ]));
        assert_eq!(links.len(), 2);
        assert!(
            errors
                .iter()
                .any(|e| e.message == "node `src` (src) has no input port `text`"
                    && e.hints[0].contains("`text` is an output of `src`")),
            "{errors:?}"
        );
    }

    #[test]
    fn a_type_mismatch_names_both_types() {
        let (_, errors) = links_of(&pipeline(&[
            "mic.audio -> up.text",
            "src.text -> up.text",
            "up.text -> out.text",
            "mic.audio -> ear.audio",
        ]));
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(
            errors[0].message,
            "message type mismatch: `audio` sends audio but `text` takes text"
        );
    }

    #[test]
    fn unknown_nodes_and_ports_get_suggestions() {
        let (_, errors) = links_of(&pipeline(&[
            "srx.text -> up.text",
            "up.txt -> out.text",
            "mic.audio -> ear.audio",
        ]));
        let hints: Vec<&str> = errors.iter().map(|e| e.hints[0].as_str()).collect();
        assert_eq!(hints, ["did you mean `src`?", "did you mean `text`?"]);
    }

    #[test]
    fn an_unlinked_required_input_suggests_a_link() {
        let (_, errors) = links_of(&pipeline(&[
            "src.text -> up.text",
            "mic.audio -> ear.audio",
        ]));
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(
            errors[0].message,
            "input `text` of node `out` is not linked"
        );
        assert_eq!(
            errors[0].hints,
            ["add a link such as \"src.text -> out.text\""]
        );
    }
}
