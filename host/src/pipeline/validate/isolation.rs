//! Pass 2b: where each node runs (`isolate`, `memory_limit_mb`).

use super::{Diagnostic, RawPipeline};
use crate::pipeline::model::{Isolation, ISOLATED_BY_DEFAULT, MIN_MEMORY_LIMIT_MB};

/// Per node, its process set-up (`None`: in the host's process).
/// `memory_limit_mb` on a node that runs in the host's process, or one too
/// small to start a process, is an error at the field.
pub(super) fn resolve(raw: &RawPipeline, errors: &mut Vec<Diagnostic>) -> Vec<Option<Isolation>> {
    raw.nodes
        .iter()
        .map(|node| {
            let isolated = match &node.isolate {
                Some(flag) => flag.value,
                None => ISOLATED_BY_DEFAULT.contains(&node.plugin.value.as_str()),
            };
            let limit = node.memory_limit_mb.as_ref();
            if let Some(mb) = limit {
                if !isolated {
                    let mut d = Diagnostic::at(
                        mb.span.clone(),
                        format!(
                            "`memory_limit_mb` needs node `{}` to run in a process of its own",
                            node.name.value
                        ),
                        "only an isolated node has a limit of its own",
                    );
                    d = match &node.isolate {
                        Some(flag) => d
                            .also(flag.span.clone(), "the node runs in the host's process")
                            .hint("write `isolate: true`, or remove `memory_limit_mb`"),
                        None => d.hint("add `isolate: true` to the node"),
                    };
                    errors.push(d);
                } else if mb.value < MIN_MEMORY_LIMIT_MB {
                    errors.push(
                        Diagnostic::at(
                            mb.span.clone(),
                            format!(
                                "`memory_limit_mb` is {} MB; a node's process needs at least {MIN_MEMORY_LIMIT_MB}",
                                mb.value
                            ),
                            "too small to start",
                        )
                        .hint(format!("write {MIN_MEMORY_LIMIT_MB} or more")),
                    );
                }
            }
            isolated.then(|| Isolation {
                memory_limit: limit.map(|mb| mb.value.saturating_mul(1 << 20)),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::tests::read;
    use super::*;

    fn resolved(text: &str) -> (Vec<Option<Isolation>>, Vec<String>) {
        let raw = read(text);
        let mut errors = Vec::new();
        let isolation = resolve(&raw, &mut errors);
        (
            isolation,
            errors.iter().map(|d| d.message.clone()).collect(),
        )
    }

    #[test]
    fn c_and_python_nodes_are_isolated_unless_told_otherwise() {
        let (isolation, errors) = resolved(
            r#"(nodes: {
                "a": (plugin: "c", kind: "node"),
                "b": (plugin: "python", kind: "node", isolate: false),
                "c": (plugin: "t", kind: "source"),
                "d": (plugin: "t", kind: "source", isolate: true, memory_limit_mb: 256),
            }, links: [])"#,
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            isolation,
            vec![
                Some(Isolation::default()),
                None,
                None,
                Some(Isolation {
                    memory_limit: Some(256 << 20)
                }),
            ]
        );
    }

    #[test]
    fn a_memory_limit_needs_isolation_and_room_to_start() {
        let (_, errors) = resolved(
            r#"(nodes: {
                "a": (plugin: "t", kind: "source", memory_limit_mb: 256),
                "b": (plugin: "t", kind: "source", isolate: true, memory_limit_mb: 8),
            }, links: [])"#,
        );
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].contains("needs node `a` to run in a process of its own"));
        assert!(errors[1].contains("is 8 MB; a node's process needs at least 64"));
    }
}
