//! The pipeline file's shape: [`RawPipeline`], read from the spanned RON
//! tree with every shape error located. Pure: no IO, no plugins.
//!
//! ```ron
//! Pipeline(
//!     description: "WAV in, louder, WAV out",
//!     nodes: {
//!         "input": (plugin: "audio", kind: "wav-reader", config: (path: "in.wav")),
//!         "louder": (plugin: "audio", kind: "gain", config: (gain_db: 6.0)),
//!         "output": (plugin: "audio", kind: "wav-writer", config: (path: "out.wav")),
//!     },
//!     links: [
//!         "input.audio -> louder.audio",
//!         (link: "louder.audio -> output.audio", capacity: 4, policy: "block"),
//!     ],
//! )
//! ```

use std::ops::Range;

use super::{
    diagnostic::Diagnostic,
    did_you_mean,
    model::{
        QueuePolicy, RestartPolicy, DEFAULT_BACKOFF_MS, DEFAULT_CAPACITY, DEFAULT_MAX_RESTARTS,
        MAX_CAPACITY,
    },
    ron_spans::{self, Ident, Kind, Value},
};

/// A string with its span.
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Where it is in the file.
    pub span: Range<usize>,
}

/// A node as written.
#[derive(Debug, Clone)]
pub struct RawNode {
    /// Its name (the map key).
    pub name: Spanned<String>,
    /// `plugin: ".."`.
    pub plugin: Spanned<String>,
    /// `kind: ".."`.
    pub kind: Spanned<String>,
    /// The span of the `config` value, if given.
    pub config: Option<Range<usize>>,
    /// `restart: ..`.
    pub restart: RestartPolicy,
    /// `stall_timeout_ms: ..` (`None`: the default; `Some(0)`: never).
    pub stall_timeout_ms: Option<u64>,
    /// `isolate: ..` (`None`: the plugin's default).
    pub isolate: Option<Spanned<bool>>,
    /// `memory_limit_mb: ..`.
    pub memory_limit_mb: Option<Spanned<u64>>,
}

/// One end of a link: `node.port`.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The node name.
    pub node: Spanned<String>,
    /// The port name.
    pub port: Spanned<String>,
}

/// A link as written.
#[derive(Debug, Clone)]
pub struct RawLink {
    /// Output end.
    pub from: Endpoint,
    /// Input end.
    pub to: Endpoint,
    /// Queue capacity in messages.
    pub capacity: usize,
    /// What happens when the queue is full.
    pub policy: QueuePolicy,
    /// The link's text (the string).
    pub span: Range<usize>,
}

/// A pipeline file, shape-checked.
#[derive(Debug, Clone)]
pub struct RawPipeline {
    /// `description: ".."`.
    pub description: Option<String>,
    /// Nodes in file order (duplicates kept, for the validator to report).
    pub nodes: Vec<RawNode>,
    /// Links in file order.
    pub links: Vec<RawLink>,
}

/// Reads `source` into a [`RawPipeline`], or every problem found.
pub fn read(source: &str) -> Result<RawPipeline, Vec<Diagnostic>> {
    let root = ron_spans::parse(source).map_err(|e| {
        let mut d = Diagnostic::at(e.span, format!("invalid RON: {}", e.message), "here");
        if let Some(h) = e.hint {
            d = d.hint(h);
        }
        vec![d]
    })?;
    let mut r = Reader { errors: Vec::new() };
    let pipeline = r.pipeline(&root);
    if r.errors.is_empty() {
        Ok(pipeline)
    } else {
        Err(r.errors)
    }
}

struct Reader {
    errors: Vec<Diagnostic>,
}

/// The fields of a struct value, or `None` (after reporting) if it is not
/// a struct. `expected_name` is the optional struct name allowed.
fn struct_fields<'v>(
    r: &mut Reader,
    value: &'v Value,
    what: &str,
    expected_name: Option<&str>,
) -> Option<&'v [(Ident, Value)]> {
    match &value.kind {
        Kind::Struct(name, fields) => {
            if let (Some(name), Some(expected)) = (name, expected_name) {
                if name.name != expected {
                    r.errors.push(
                        Diagnostic::at(
                            name.span.clone(),
                            format!("expected `{expected}(..)`, found `{}(..)`", name.name),
                            "unexpected name",
                        )
                        .hint(format!("write `{expected}(..)` or just `(..)`")),
                    );
                }
            }
            Some(fields)
        }
        Kind::Unit => Some(&[]),
        other => {
            r.errors.push(Diagnostic::at(
                value.span.clone(),
                format!(
                    "{what} must be a struct `(field: value, ..)`, found {}",
                    other.describe()
                ),
                "expected `(..)`",
            ));
            None
        }
    }
}

impl Reader {
    fn unknown_field(&mut self, field: &Ident, known: &[&str], context: &str) {
        let mut d = Diagnostic::at(
            field.span.clone(),
            format!("unknown field `{}` in {context}", field.name),
            "unknown field",
        );
        d = match did_you_mean(&field.name, known.iter().copied()) {
            Some(best) => d.hint(format!("did you mean `{best}`?")),
            None => d.hint(format!("known fields: {}", known.join(", "))),
        };
        self.errors.push(d);
    }

    fn string(&mut self, value: &Value, what: &str) -> Option<Spanned<String>> {
        match &value.kind {
            Kind::Str(s) => Some(Spanned {
                value: s.clone(),
                span: value.span.clone(),
            }),
            other => {
                self.errors.push(
                    Diagnostic::at(
                        value.span.clone(),
                        format!("{what} must be a string, found {}", other.describe()),
                        "expected a string",
                    )
                    .hint("put it in double quotes"),
                );
                None
            }
        }
    }

    fn integer(&mut self, value: &Value, what: &str) -> Option<u64> {
        if let Kind::Number(n) = &value.kind {
            if let Ok(v) = n.replace('_', "").parse::<u64>() {
                return Some(v);
            }
        }
        self.errors.push(Diagnostic::at(
            value.span.clone(),
            format!("{what} must be a non-negative integer"),
            "expected an integer",
        ));
        None
    }

    fn pipeline(&mut self, root: &Value) -> RawPipeline {
        let mut pipeline = RawPipeline {
            description: None,
            nodes: Vec::new(),
            links: Vec::new(),
        };
        let Some(fields) = struct_fields(self, root, "the pipeline", Some("Pipeline")) else {
            return pipeline;
        };
        let mut saw_nodes = false;
        for (field, value) in fields {
            match field.name.as_str() {
                "description" => {
                    pipeline.description = self.string(value, "`description`").map(|s| s.value)
                }
                "nodes" => {
                    saw_nodes = true;
                    self.nodes(value, &mut pipeline.nodes);
                }
                "links" => self.links(value, &mut pipeline.links),
                _ => self.unknown_field(field, &["description", "nodes", "links"], "the pipeline"),
            }
        }
        if !saw_nodes {
            self.errors.push(
                Diagnostic::at(
                    root.span.start..root.span.start + 1,
                    "the pipeline has no `nodes`",
                    "pipeline starts here",
                )
                .hint("add `nodes: { \"name\": (plugin: \"..\", kind: \"..\") }`"),
            );
        }
        pipeline
    }

    fn nodes(&mut self, value: &Value, out: &mut Vec<RawNode>) {
        let Kind::Map(entries) = &value.kind else {
            self.errors.push(
                Diagnostic::at(
                    value.span.clone(),
                    format!("`nodes` must be a map, found {}", value.kind.describe()),
                    "expected `{ .. }`",
                )
                .hint("write `nodes: { \"mic\": (plugin: \"audio\", kind: \"microphone\"), .. }`"),
            );
            return;
        };
        for (key, node) in entries {
            let Some(name) = self.string(key, "a node name") else {
                continue;
            };
            if let Some(node) = self.node(name, node) {
                out.push(node);
            }
        }
    }

    fn node(&mut self, name: Spanned<String>, value: &Value) -> Option<RawNode> {
        let fields = struct_fields(self, value, &format!("node `{}`", name.value), None)?;
        let (mut plugin, mut kind, mut config, mut restart, mut stall_timeout_ms) =
            (None, None, None, RestartPolicy::Never, None);
        let (mut isolate, mut memory_limit_mb) = (None, None);
        let mut ok = true;
        let mut had_unknown = false;
        for (field, v) in fields {
            match field.name.as_str() {
                "plugin" => plugin = self.string(v, "`plugin`"),
                "kind" => kind = self.string(v, "`kind`"),
                "config" => match &v.kind {
                    Kind::Struct(..) | Kind::Unit | Kind::Map(_) => config = Some(v.span.clone()),
                    other => {
                        ok = false;
                        self.errors.push(
                            Diagnostic::at(
                                v.span.clone(),
                                format!("`config` must be a struct, found {}", other.describe()),
                                "expected `(field: value, ..)`",
                            )
                            .hint("write `config: (path: \"in.wav\")`"),
                        );
                    }
                },
                "restart" => match self.restart(v) {
                    Some(policy) => restart = policy,
                    None => ok = false,
                },
                "stall_timeout_ms" => match self.integer(v, "`stall_timeout_ms`") {
                    Some(ms) => stall_timeout_ms = Some(ms),
                    None => ok = false,
                },
                "isolate" => match v.kind {
                    Kind::Bool(b) => {
                        isolate = Some(Spanned {
                            value: b,
                            span: v.span.clone(),
                        })
                    }
                    _ => {
                        ok = false;
                        self.errors.push(
                            Diagnostic::at(
                                v.span.clone(),
                                "`isolate` must be `true` or `false`",
                                "expected a boolean",
                            )
                            .hint("`isolate: true` runs the node in a process of its own"),
                        );
                    }
                },
                "memory_limit_mb" => match self.integer(v, "`memory_limit_mb`") {
                    Some(mb) => {
                        memory_limit_mb = Some(Spanned {
                            value: mb,
                            span: v.span.clone(),
                        })
                    }
                    None => ok = false,
                },
                _ => {
                    ok = false;
                    had_unknown = true;
                    self.unknown_field(
                        field,
                        &[
                            "plugin",
                            "kind",
                            "config",
                            "restart",
                            "stall_timeout_ms",
                            "isolate",
                            "memory_limit_mb",
                        ],
                        &format!("node `{}`", name.value),
                    );
                }
            }
        }
        for (missing, what) in [(plugin.is_none(), "plugin"), (kind.is_none(), "kind")] {
            // A typo like `knd` is reported once, as an unknown field.
            if missing && !had_unknown && !fields.iter().any(|(f, _)| f.name == what) {
                ok = false;
                self.errors.push(
                    Diagnostic::at(
                        name.span.clone(),
                        format!("node `{}` has no `{what}`", name.value),
                        format!("`{what}` missing"),
                    )
                    .hint(format!(
                        "add `{what}: \"..\"`; `hark plugins` lists what is available"
                    )),
                );
            }
        }
        match (plugin, kind, ok) {
            (Some(plugin), Some(kind), true) => Some(RawNode {
                name,
                plugin,
                kind,
                config,
                restart,
                stall_timeout_ms,
                isolate,
                memory_limit_mb,
            }),
            _ => None,
        }
    }

    fn restart(&mut self, value: &Value) -> Option<RestartPolicy> {
        let on_failure = |max_restarts, backoff_ms| RestartPolicy::OnFailure {
            max_restarts,
            backoff_ms,
        };
        let parse_policy = |r: &mut Reader, s: &Spanned<String>| match s.value.as_str() {
            "never" => Some(false),
            "on-failure" => Some(true),
            _ => {
                r.errors.push(
                    Diagnostic::at(
                        s.span.clone(),
                        format!("unknown restart policy `{}`", s.value),
                        "unknown policy",
                    )
                    .hint("use \"never\" or \"on-failure\""),
                );
                None
            }
        };
        match &value.kind {
            Kind::Str(_) => {
                let s = self.string(value, "`restart`")?;
                Some(if parse_policy(self, &s)? {
                    on_failure(DEFAULT_MAX_RESTARTS, DEFAULT_BACKOFF_MS)
                } else {
                    RestartPolicy::Never
                })
            }
            _ => {
                let fields = struct_fields(self, value, "`restart`", None)?;
                let (mut enabled, mut max, mut backoff) =
                    (None, DEFAULT_MAX_RESTARTS, DEFAULT_BACKOFF_MS);
                for (field, v) in fields {
                    match field.name.as_str() {
                        "policy" => {
                            let s = self.string(v, "`policy`")?;
                            enabled = Some(parse_policy(self, &s)?);
                        }
                        "max_restarts" => {
                            max = self.integer(v, "`max_restarts`")?.min(u32::MAX as u64) as u32
                        }
                        "backoff_ms" => backoff = self.integer(v, "`backoff_ms`")?,
                        _ => {
                            self.unknown_field(
                                field,
                                &["policy", "max_restarts", "backoff_ms"],
                                "`restart`",
                            );
                            return None;
                        }
                    }
                }
                match enabled {
                    Some(true) => Some(on_failure(max, backoff)),
                    Some(false) => Some(RestartPolicy::Never),
                    None => {
                        self.errors.push(
                            Diagnostic::at(value.span.clone(), "`restart` has no `policy`", "policy missing")
                                .hint("write `restart: (policy: \"on-failure\", max_restarts: 3, backoff_ms: 100)`"),
                        );
                        None
                    }
                }
            }
        }
    }

    fn links(&mut self, value: &Value, out: &mut Vec<RawLink>) {
        let Kind::List(items) = &value.kind else {
            self.errors.push(
                Diagnostic::at(
                    value.span.clone(),
                    format!("`links` must be a list, found {}", value.kind.describe()),
                    "expected `[ .. ]`",
                )
                .hint("write `links: [\"mic.audio -> vad.audio\"]`"),
            );
            return;
        };
        for item in items {
            if let Some(link) = self.link(item) {
                out.push(link);
            }
        }
    }

    fn link(&mut self, value: &Value) -> Option<RawLink> {
        let (text, mut capacity, policy) = match &value.kind {
            Kind::Str(_) => (self.string(value, "a link")?, None, QueuePolicy::Block),
            Kind::Struct(..) => {
                let fields = struct_fields(self, value, "a link", None)?;
                let (mut text, mut capacity, mut policy) = (None, None, QueuePolicy::Block);
                for (field, v) in fields {
                    match field.name.as_str() {
                        "link" => text = self.string(v, "`link`"),
                        "capacity" => {
                            let c = self.integer(v, "`capacity`")?;
                            if c == 0 {
                                self.errors.push(
                                    Diagnostic::at(v.span.clone(), "`capacity` must be at least 1", "zero")
                                        .hint("a queue needs room for one message; use policy \"latest\" to keep only the newest"),
                                );
                                return None;
                            }
                            if c > MAX_CAPACITY as u64 {
                                self.errors.push(
                                    Diagnostic::at(
                                        v.span.clone(),
                                        format!("`capacity` {c} is more than the {MAX_CAPACITY} allowed"),
                                        "too large",
                                    )
                                    .hint("a queue is allocated up front; a few messages smooth out bursts (the default is 64)"),
                                );
                                return None;
                            }
                            capacity = Some(c as usize);
                        }
                        "policy" => {
                            let s = self.string(v, "`policy`")?;
                            policy = match s.value.as_str() {
                                "block" => QueuePolicy::Block,
                                "drop-oldest" => QueuePolicy::DropOldest,
                                "latest" => QueuePolicy::Latest,
                                other => {
                                    let mut d = Diagnostic::at(
                                        s.span.clone(),
                                        format!("unknown queue policy `{other}`"),
                                        "unknown policy",
                                    );
                                    d = match did_you_mean(
                                        other,
                                        ["block", "drop-oldest", "latest"].into_iter(),
                                    ) {
                                        Some(best) => d.hint(format!("did you mean \"{best}\"?")),
                                        None => {
                                            d.hint("use \"block\", \"drop-oldest\" or \"latest\"")
                                        }
                                    };
                                    self.errors.push(d);
                                    return None;
                                }
                            };
                        }
                        _ => {
                            self.unknown_field(field, &["link", "capacity", "policy"], "a link");
                            return None;
                        }
                    }
                }
                let Some(text) = text else {
                    self.errors.push(
                        Diagnostic::at(
                            value.span.clone(),
                            "link has no `link` field",
                            "`link` missing",
                        )
                        .hint("write `(link: \"a.out -> b.in\", capacity: 8)`"),
                    );
                    return None;
                };
                (text, capacity, policy)
            }
            other => {
                self.errors.push(
                    Diagnostic::at(
                        value.span.clone(),
                        format!(
                            "a link must be a string or a struct, found {}",
                            other.describe()
                        ),
                        "expected a link",
                    )
                    .hint("write \"mic.audio -> vad.audio\""),
                );
                return None;
            }
        };
        let (from, to) = self.link_text(&text)?;
        if policy == QueuePolicy::Latest {
            // "latest" keeps one message by definition.
            capacity = Some(1);
        }
        Some(RawLink {
            from,
            to,
            capacity: capacity.unwrap_or(DEFAULT_CAPACITY),
            policy,
            span: text.span,
        })
    }

    /// Splits `"a.out -> b.in"`, with spans for each name.
    fn link_text(&mut self, text: &Spanned<String>) -> Option<(Endpoint, Endpoint)> {
        let s = &text.value;
        // Offsets inside the string map to the file 1:1 after the opening
        // quote, as long as the string has no escapes (names never need them).
        let base = text.span.start + 1;
        let bad = |message: String| {
            Diagnostic::at(text.span.clone(), message, "malformed link")
                .hint("write links as \"node.output -> node.input\"")
        };
        let Some(arrow) = s.find("->") else {
            self.errors.push(bad(format!("link `{s}` has no `->`")));
            return None;
        };
        let endpoint = |part: &str, offset: usize| -> Option<Endpoint> {
            let trimmed_start = offset + (part.len() - part.trim_start().len());
            let part = part.trim();
            let (node, port) = part.split_once('.')?;
            if node.is_empty()
                || port.is_empty()
                || port.contains('.')
                || part.contains(char::is_whitespace)
            {
                return None;
            }
            Some(Endpoint {
                node: Spanned {
                    value: node.to_string(),
                    span: base + trimmed_start..base + trimmed_start + node.len(),
                },
                port: Spanned {
                    value: port.to_string(),
                    span: base + trimmed_start + node.len() + 1..base + trimmed_start + part.len(),
                },
            })
        };
        let from = endpoint(&s[..arrow], 0);
        let to = endpoint(&s[arrow + 2..], arrow + 2);
        match (from, to) {
            (Some(from), Some(to)) if !s.contains('\\') => Some((from, to)),
            _ => {
                self.errors.push(bad(format!(
                    "cannot read link `{s}`: each side must be `node.port`"
                )));
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nodes_and_links() {
        let src = r#"Pipeline(
    nodes: {
        "a": (plugin: "audio", kind: "wav-reader", config: (path: "x.wav"), restart: "on-failure"),
        "b": (plugin: "audio", kind: "wav-writer"),
    },
    links: ["a.audio -> b.audio", (link: "a.audio->b.audio", capacity: 2, policy: "drop-oldest")],
)"#;
        let p = read(src).unwrap();
        assert_eq!(p.nodes.len(), 2);
        assert_eq!(
            &src[p.nodes[0].config.clone().unwrap()],
            "(path: \"x.wav\")"
        );
        assert!(matches!(
            p.nodes[0].restart,
            RestartPolicy::OnFailure {
                max_restarts: 3,
                ..
            }
        ));
        assert_eq!(&src[p.links[0].from.port.span.clone()], "audio");
        assert_eq!(&src[p.links[0].to.node.span.clone()], "b");
        assert_eq!(&src[p.links[1].to.node.span.clone()], "b");
        assert_eq!(p.links[1].policy, QueuePolicy::DropOldest);
        assert_eq!(p.links[1].capacity, 2);
    }

    #[test]
    fn reports_shape_errors() {
        let errors =
            read(r#"(nodes: {"a": (plugin: "x", knd: "y")}, links: ["a.b c.d"])"#).unwrap_err();
        let messages: Vec<_> = errors.iter().map(|d| d.message.as_str()).collect();
        assert!(
            messages.contains(&"unknown field `knd` in node `a`"),
            "{messages:?}"
        );
        assert!(
            messages.contains(&"link `a.b c.d` has no `->`"),
            "{messages:?}"
        );
        assert_eq!(errors[0].hints, vec!["did you mean `kind`?".to_string()]);
    }
}
