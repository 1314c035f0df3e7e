//! Pass 2: each node's plugin is loaded and offers its kind.

use super::{Diagnostic, KindInfo, Plugins, RawPipeline};
use crate::pipeline::{did_you_mean, raw::RawNode};

/// Each node's kind, `None` (reported) where the plugin or kind is unknown.
pub(super) fn resolve<'p>(
    raw: &RawPipeline,
    plugins: &'p dyn Plugins,
    errors: &mut Vec<Diagnostic>,
) -> Vec<Option<&'p KindInfo>> {
    raw.nodes
        .iter()
        .map(|n| resolve_one(n, plugins, errors))
        .collect()
}

fn resolve_one<'p>(
    node: &RawNode,
    plugins: &'p dyn Plugins,
    errors: &mut Vec<Diagnostic>,
) -> Option<&'p KindInfo> {
    let plugin = &node.plugin.value;
    let Some(kinds) = plugins.kinds(plugin) else {
        let names = plugins.names();
        let d = Diagnostic::at(
            node.plugin.span.clone(),
            format!("unknown plugin `{plugin}`"),
            "no plugin of this name is loaded",
        );
        errors.push(match did_you_mean(plugin, names.iter().copied()) {
            Some(best) => d.hint(format!("did you mean `{best}`?")),
            None if names.is_empty() => {
                d.hint("no plugins were found; pass --plugin-path DIR or set HARK_PLUGIN_PATH")
            }
            None => d.hint(format!(
                "loaded plugins: {} (`hark plugins` lists them, `hark plugins --rejected` shows refused files)",
                names.join(", ")
            )),
        });
        return None;
    };
    if let Some(kind) = kinds.iter().find(|k| k.name == node.kind.value) {
        return Some(kind);
    }
    let d = Diagnostic::at(
        node.kind.span.clone(),
        format!("plugin `{plugin}` has no node kind `{}`", node.kind.value),
        "unknown kind",
    );
    let names = kinds.iter().map(|k| k.name.as_str());
    errors.push(match did_you_mean(&node.kind.value, names.clone()) {
        Some(best) => d.hint(format!("did you mean `{best}`?")),
        None => d.hint(format!(
            "kinds of `{plugin}`: {}",
            names.collect::<Vec<_>>().join(", ")
        )),
    });
    None
}

#[cfg(test)]
mod tests {
    use super::super::tests::{read, FakePlugins};
    use super::*;

    fn resolve_names(text: &str, plugins: &FakePlugins) -> (Vec<Option<String>>, Vec<Diagnostic>) {
        let raw = read(text);
        let mut errors = Vec::new();
        let kinds = resolve(&raw, plugins, &mut errors);
        (
            kinds.iter().map(|k| k.map(|k| k.name.clone())).collect(),
            errors,
        )
    }

    #[test]
    fn known_plugins_and_kinds_resolve() {
        let (kinds, errors) = resolve_names(
            r#"(nodes: {"a": (plugin: "t", kind: "src"), "b": (plugin: "t", kind: "sink")})"#,
            &FakePlugins::standard(),
        );
        assert_eq!(kinds, [Some("src".to_string()), Some("sink".to_string())]);
        assert!(errors.is_empty());
    }

    #[test]
    fn a_misspelt_plugin_gets_a_suggestion() {
        let (kinds, errors) = resolve_names(
            r#"(nodes: {"a": (plugin: "tx", kind: "src")})"#,
            &FakePlugins::standard(),
        );
        assert_eq!(kinds, [None]);
        assert_eq!(errors[0].message, "unknown plugin `tx`");
        assert_eq!(errors[0].hints, ["did you mean `t`?"]);
    }

    #[test]
    fn with_no_plugins_loaded_the_hint_says_where_to_look() {
        let (_, errors) = resolve_names(
            r#"(nodes: {"a": (plugin: "t", kind: "src")})"#,
            &FakePlugins::default(),
        );
        assert!(
            errors[0].hints[0].contains("--plugin-path"),
            "{:?}",
            errors[0].hints
        );
    }

    #[test]
    fn an_unknown_kind_lists_the_plugins_kinds() {
        let (kinds, errors) = resolve_names(
            r#"(nodes: {"a": (plugin: "t", kind: "zzz")})"#,
            &FakePlugins::standard(),
        );
        assert_eq!(kinds, [None]);
        assert_eq!(errors[0].message, "plugin `t` has no node kind `zzz`");
        assert!(
            errors[0].hints[0].starts_with("kinds of `t`: src, "),
            "{:?}",
            errors[0].hints
        );
    }
}
