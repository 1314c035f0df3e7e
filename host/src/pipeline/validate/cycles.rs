//! Pass 5: pipelines are acyclic.

use super::{Diagnostic, RawPipeline};
use crate::pipeline::model::LinkSpec;

/// Reports the first cycle among the resolved links, on the link that
/// closes it.
pub(super) fn find(raw: &RawPipeline, links: &[LinkSpec], errors: &mut Vec<Diagnostic>) {
    let n = raw.nodes.len();
    let mut state = vec![Visit::New; n];
    let mut stack: Vec<usize> = Vec::new();
    for v in 0..n {
        if state[v] != Visit::New {
            continue;
        }
        if let Some((cycle, closing)) = visit(v, links, &mut state, &mut stack) {
            let path = cycle
                .iter()
                .map(|&i| raw.nodes[i].name.value.as_str())
                .collect::<Vec<_>>()
                .join(" -> ");
            let closing = &raw.links[raw_index(raw, &links[closing])];
            errors.push(
                Diagnostic::at(closing.span.clone(), format!("the pipeline has a cycle: {path}"), "this link closes the cycle")
                    .hint("pipelines must be acyclic: a node's output cannot come back to it, directly or through other nodes"),
            );
            return;
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Visit {
    New,
    OnStack,
    Done,
}

/// Depth-first from `v`: the nodes of the first cycle found (first node
/// repeated at the end) and the index of the link closing it.
fn visit(
    v: usize,
    links: &[LinkSpec],
    state: &mut [Visit],
    stack: &mut Vec<usize>,
) -> Option<(Vec<usize>, usize)> {
    state[v] = Visit::OnStack;
    stack.push(v);
    for (li, l) in links.iter().enumerate().filter(|(_, l)| l.from.0 == v) {
        let w = l.to.0;
        match state[w] {
            Visit::OnStack => {
                let start = stack.iter().position(|&x| x == w).expect("on stack");
                let mut cycle = stack[start..].to_vec();
                cycle.push(w);
                return Some((cycle, li));
            }
            Visit::New => {
                if let Some(found) = visit(w, links, state, stack) {
                    return Some(found);
                }
            }
            Visit::Done => {}
        }
    }
    stack.pop();
    state[v] = Visit::Done;
    None
}

/// The file's link that resolved to `link` (links that failed to resolve
/// are absent from the resolved list, so indices differ).
fn raw_index(raw: &RawPipeline, link: &LinkSpec) -> usize {
    let node = |name: &str| raw.nodes.iter().position(|n| n.name.value == name);
    raw.links
        .iter()
        .position(|l| {
            node(&l.from.node.value) == Some(link.from.0)
                && node(&l.to.node.value) == Some(link.to.0)
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::super::tests::{read, FakePlugins};
    use super::*;

    fn cycles_of(links: &str) -> Vec<Diagnostic> {
        let text = format!(
            r#"(nodes: {{
                "a": (plugin: "t", kind: "upper"),
                "b": (plugin: "t", kind: "upper"),
                "c": (plugin: "t", kind: "upper"),
            }}, links: [{links}])"#
        );
        let raw = read(&text);
        let plugins = FakePlugins::standard();
        let mut errors = Vec::new();
        let kinds = super::super::kinds::resolve(&raw, &plugins, &mut errors);
        let resolved = super::super::links::resolve(&raw, &kinds, &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        find(&raw, &resolved, &mut errors);
        errors
    }

    #[test]
    fn a_chain_has_no_cycle() {
        assert!(cycles_of(r#""a.text -> b.text", "b.text -> c.text""#).is_empty());
    }

    #[test]
    fn a_cycle_is_reported_on_the_link_that_closes_it() {
        let errors = cycles_of(r#""a.text -> b.text", "b.text -> c.text", "c.text -> a.text""#);
        assert_eq!(errors.len(), 1);
        assert_eq!(
            errors[0].message,
            "the pipeline has a cycle: a -> b -> c -> a"
        );
    }

    #[test]
    fn a_node_feeding_itself_is_a_cycle() {
        let errors = cycles_of(r#""b.text -> b.text""#);
        assert_eq!(errors[0].message, "the pipeline has a cycle: b -> b");
    }
}
