//! Passes 3 and 6: each node's config text, with `--set` applied, and the
//! plugins' verdicts on them.

use super::{node_list, Diagnostic, KindInfo, PipelineSource, Plugins, RawPipeline};
use crate::pipeline::{
    diagnostic::{Location, SourceId},
    did_you_mean,
    overrides::{value_as_ron, ConfigText, Override},
};

/// Each node's config as the file has it, with the overrides applied.
/// An override naming an unknown node or field is reported and skipped.
pub(super) fn with_overrides(
    raw: &RawPipeline,
    file_text: &str,
    kinds: &[Option<&KindInfo>],
    overrides: &[Override],
    errors: &mut Vec<Diagnostic>,
) -> Vec<ConfigText> {
    let mut configs: Vec<ConfigText> = raw
        .nodes
        .iter()
        .map(|n| match &n.config {
            Some(span) => ConfigText::from_file(file_text, span.clone()),
            None => ConfigText::empty(n.name.span.start),
        })
        .collect();
    for o in overrides.iter().filter(|o| o.field != KIND) {
        let Some(i) = raw.nodes.iter().position(|n| n.name.value == o.node) else {
            errors.push(unknown_node(o, raw));
            continue;
        };
        // An unknown kind is reported already; its fields are unknown.
        let Some(kind) = kinds[i] else { continue };
        let Some(field) = kind.config.iter().find(|f| f.name == o.field) else {
            errors.push(unknown_field(o, kind));
            continue;
        };
        configs[i].apply(o, &value_as_ron(&o.value, field.kind));
    }
    configs
}

/// The `--set` field that replaces a node's kind instead of a config
/// field: `--set tts.kind=piper`.
const KIND: &str = "kind";

/// Pass 1b: `--set NODE.kind=KIND` overrides, applied to the nodes
/// before their kinds are resolved. The node keeps its config, which must
/// suit the new kind (write such nodes with `config: ()`).
pub(super) fn apply_kind_overrides(
    raw: &mut RawPipeline,
    overrides: &[Override],
    errors: &mut Vec<Diagnostic>,
) {
    for o in overrides.iter().filter(|o| o.field == KIND) {
        match raw.nodes.iter_mut().find(|n| n.name.value == o.node) {
            Some(node) => node.kind.value = o.value.clone(),
            None => errors.push(unknown_node(o, raw)),
        }
    }
}

fn unknown_node(o: &Override, raw: &RawPipeline) -> Diagnostic {
    let mut d = Diagnostic::general(format!(
        "`--set` names node `{}`, which is not in the pipeline",
        o.node
    ));
    d.primary = Some((o.node_location(), "unknown node".into()));
    match did_you_mean(&o.node, raw.nodes.iter().map(|n| n.name.value.as_str())) {
        Some(best) => d.hint(format!("did you mean `{best}`?")),
        None => d.hint(format!("nodes: {}", node_list(raw))),
    }
}

fn unknown_field(o: &Override, kind: &KindInfo) -> Diagnostic {
    let mut d = Diagnostic::general(format!(
        "node `{}` ({}) has no config field `{}`",
        o.node, kind.name, o.field
    ));
    d.primary = Some((o.field_location(), "unknown field".into()));
    let fields = kind.config.iter().map(|f| f.name.as_str());
    match did_you_mean(&o.field, fields.clone()) {
        Some(best) => d.hint(format!("did you mean `{best}`?")),
        None if kind.config.is_empty() => d.hint(format!("`{}` takes no configuration", kind.name)),
        None => d.hint(format!(
            "fields of `{}`: {}",
            kind.name,
            fields.collect::<Vec<_>>().join(", ")
        )),
    }
}

/// Asks each node's plugin to check its config; a rejection is located
/// where the plugin says (mapped back through the overrides), else at the
/// node's config or name.
pub(super) fn check_by_plugins(
    raw: &RawPipeline,
    kinds: &[Option<&KindInfo>],
    configs: &[ConfigText],
    plugins: &dyn Plugins,
    source: &PipelineSource,
    errors: &mut Vec<Diagnostic>,
) {
    for (i, node) in raw.nodes.iter().enumerate() {
        let Some(kind) = kinds[i] else { continue };
        let Err(e) = plugins.check_config(&node.plugin.value, &kind.name, &configs[i].text) else {
            continue;
        };
        let location = if e.line > 0 {
            configs[i].locate(configs[i].offset_of(e.line, e.column))
        } else {
            match &node.config {
                Some(span) => Location::file(span.clone()),
                None => Location::file(node.name.span.clone()),
            }
        };
        let location = widen_to_token(location, source);
        let mut d = Diagnostic::general(format!(
            "invalid config for node `{}` ({}): {}",
            node.name.value, kind.name, e.message
        ));
        d.primary = Some((location, e.message.to_string()));
        errors.push(d.hint(e.hint.to_string()));
    }
}

/// Extends a one-character location in the file to the token it starts
/// (an identifier, number or string), so the caret underlines the value.
fn widen_to_token(location: Location, source: &PipelineSource) -> Location {
    let text = match location.source {
        SourceId::File => source.text.as_str(),
        SourceId::SetArg(i) => source.set_args[i].as_str(),
    };
    let start = location.span.start.min(text.len());
    let rest = &text[start..];
    let len = if let Some(stripped) = rest.strip_prefix('"') {
        stripped.find('"').map_or(1, |e| e + 2)
    } else {
        rest.find(|c: char| !(c.is_alphanumeric() || "_.-+".contains(c)))
            .unwrap_or(rest.len())
            .max(1)
    };
    Location {
        source: location.source,
        span: start..(start + len).min(text.len().max(start + 1)),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{read, source, FakePlugins};
    use super::*;
    use crate::pipeline::overrides::parse_overrides;

    const UPPER: &str = r#"(nodes: {"up": (plugin: "t", kind: "upper", config: (suffix: "!"))})"#;

    fn configs_of(text: &str, set: &[&str]) -> (Vec<String>, Vec<Diagnostic>) {
        let raw = read(text);
        let plugins = FakePlugins::standard();
        let mut errors = Vec::new();
        let kinds = super::super::kinds::resolve(&raw, &plugins, &mut errors);
        let set: Vec<String> = set.iter().map(|s| s.to_string()).collect();
        let overrides = parse_overrides(&set).unwrap();
        let configs = with_overrides(&raw, text, &kinds, &overrides, &mut errors);
        (configs.into_iter().map(|c| c.text).collect(), errors)
    }

    #[test]
    fn the_file_config_is_kept_and_an_override_replaces_a_field() {
        assert_eq!(configs_of(UPPER, &[]).0, [r#"(suffix: "!")"#]);
        let (configs, errors) = configs_of(UPPER, &["up.suffix=?"]);
        assert_eq!(configs, [r#"(suffix: "?")"#]);
        assert!(errors.is_empty());
    }

    #[test]
    fn a_node_without_config_gets_an_empty_struct() {
        let (configs, _) = configs_of(r#"(nodes: {"s": (plugin: "t", kind: "sink")})"#, &[]);
        assert_eq!(configs, ["()"]);
    }

    #[test]
    fn overrides_of_unknown_nodes_and_fields_are_reported_at_the_argument() {
        let (configs, errors) = configs_of(UPPER, &["upp.suffix=?", "up.sufix=?"]);
        assert_eq!(configs, [r#"(suffix: "!")"#], "nothing applied");
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].hints, ["did you mean `up`?"]);
        assert_eq!(
            errors[0].primary.as_ref().unwrap().0.source,
            SourceId::SetArg(0)
        );
        assert_eq!(
            errors[1].message,
            "node `up` (upper) has no config field `sufix`"
        );
        assert_eq!(errors[1].hints, ["did you mean `suffix`?"]);
    }

    #[test]
    fn kind_overrides_replace_the_kind_and_keep_the_config() {
        let text = r#"(nodes: {"s": (plugin: "t", kind: "upper", config: ())})"#;
        let mut raw = read(text);
        let set = vec!["s.kind=sink".to_string(), "x.kind=sink".to_string()];
        let overrides = parse_overrides(&set).unwrap();
        let mut errors = Vec::new();
        apply_kind_overrides(&mut raw, &overrides, &mut errors);
        assert_eq!(raw.nodes[0].kind.value, "sink");
        assert_eq!(errors.len(), 1, "unknown node x");
        assert_eq!(
            errors[0].primary.as_ref().unwrap().0.source,
            SourceId::SetArg(1)
        );
        let plugins = FakePlugins::standard();
        let kinds = super::super::kinds::resolve(&raw, &plugins, &mut errors);
        assert_eq!(kinds[0].map(|k| k.name.as_str()), Some("sink"));
        let configs = with_overrides(&raw, text, &kinds, &overrides, &mut errors);
        assert_eq!(configs[0].text, "()");
        assert_eq!(errors.len(), 1, "`kind` is not taken for a config field");
    }

    #[test]
    fn a_plugins_rejection_points_at_the_value_it_names() {
        let text = r#"(nodes: {"up": (plugin: "t", kind: "upper", config: (suffix: "bad"))})"#;
        let raw = read(text);
        let plugins = FakePlugins::standard();
        let mut errors = Vec::new();
        let kinds = super::super::kinds::resolve(&raw, &plugins, &mut errors);
        let configs = with_overrides(&raw, text, &kinds, &[], &mut errors);
        let src = source(text, &[]);
        check_by_plugins(&raw, &kinds, &configs, &plugins, &src, &mut errors);
        assert_eq!(errors.len(), 1);
        assert_eq!(
            errors[0].message,
            "invalid config for node `up` (upper): `bad` is not allowed"
        );
        let (location, _) = errors[0].primary.as_ref().unwrap();
        assert_eq!(
            &text[location.span.clone()],
            "\"bad\"",
            "the whole string is underlined"
        );
    }
}
