//! Pass 1: every node has its own name.

use std::collections::HashMap;

use super::{Diagnostic, RawPipeline};

/// Reports each repeated node name, pointing at its first definition too.
/// Returns, per node, whether it is the first of its name (later passes
/// report a repeat as a duplicate, not as, say, an unlinked node).
pub(super) fn duplicates(raw: &RawPipeline, errors: &mut Vec<Diagnostic>) -> Vec<bool> {
    let mut first_seen: HashMap<&str, usize> = HashMap::new();
    let mut is_first = Vec::with_capacity(raw.nodes.len());
    for (i, node) in raw.nodes.iter().enumerate() {
        if let Some(&first) = first_seen.get(node.name.value.as_str()) {
            errors.push(
                Diagnostic::at(
                    node.name.span.clone(),
                    format!("duplicate node name `{}`", node.name.value),
                    "defined again here",
                )
                .also(raw.nodes[first].name.span.clone(), "first defined here")
                .hint("give every node its own name"),
            );
            is_first.push(false);
        } else {
            first_seen.insert(&node.name.value, i);
            is_first.push(true);
        }
    }
    is_first
}

#[cfg(test)]
mod tests {
    use super::super::tests::read;
    use super::*;

    #[test]
    fn a_repeated_name_is_reported_at_the_repeat_and_the_first() {
        let raw = read(
            r#"(nodes: {
                "a": (plugin: "t", kind: "src"),
                "b": (plugin: "t", kind: "sink"),
                "a": (plugin: "t", kind: "sink"),
            })"#,
        );
        let mut errors = Vec::new();
        assert_eq!(duplicates(&raw, &mut errors), [true, true, false]);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].message, "duplicate node name `a`");
        assert_eq!(errors[0].secondary.len(), 1, "points at the first `a` too");
    }

    #[test]
    fn distinct_names_pass() {
        let raw =
            read(r#"(nodes: {"a": (plugin: "t", kind: "src"), "b": (plugin: "t", kind: "sink")})"#);
        let mut errors = Vec::new();
        assert_eq!(duplicates(&raw, &mut errors), [true, true]);
        assert!(errors.is_empty());
    }
}
