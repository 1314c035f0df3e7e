//! A node's configuration: RON text from the pipeline file, parsed with
//! serde, with every problem located at a line and column of that text.

use serde::{de::DeserializeOwned, Serialize};

use crate::Field;

/// A node kind's configuration type.
///
/// Implement with `#[derive(Serialize, Deserialize, Default)]` and
/// `#[serde(default, deny_unknown_fields)]`; `Default` is the only place
/// defaults are written (the sdk reads them from it for `hark plugins`).
pub trait Settings: DeserializeOwned + Serialize + Default + Send + 'static {
    /// Documentation of every field, in the order `hark plugins` shows them.
    fn fields() -> Vec<Field>;

    /// Checks values beyond their types (ranges, files that must exist...).
    /// Runs once, before the node is created and in `hark check`.
    fn validate(&self) -> Result<(), ConfigIssue> {
        Ok(())
    }
}

/// Settings for a kind that takes no configuration.
#[derive(Debug, Default, Clone, Copy, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoSettings {}

impl Settings for NoSettings {
    fn fields() -> Vec<Field> {
        Vec::new()
    }
}

/// A problem with a configuration, optionally tied to one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    /// What is wrong, without a trailing period.
    pub message: String,
    /// What to do about it.
    pub hint: String,
    /// The field at fault; its value's position is looked up in the text.
    pub field: Option<String>,
    /// 1-based position in the configuration text, when known.
    pub position: Option<(u32, u32)>,
}

impl ConfigIssue {
    /// A problem with field `field`.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        ConfigIssue {
            message: message.into(),
            hint: String::new(),
            field: Some(field.to_string()),
            position: None,
        }
    }

    /// A problem with the configuration as a whole.
    pub fn whole(message: impl Into<String>) -> Self {
        ConfigIssue {
            message: message.into(),
            hint: String::new(),
            field: None,
            position: None,
        }
    }

    /// Adds what the user can do about it.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = hint.into();
        self
    }
}

/// Parses and validates `S` from RON `text`, checking required and unknown
/// fields against [`Settings::fields`] first so that errors name the field
/// and suggest the closest known one.
pub fn parse_settings<S: Settings>(text: &str) -> Result<S, ConfigIssue> {
    let fields = S::fields();
    let present = top_level_fields(text);
    for FieldAt { name, name_at, .. } in &present {
        if !fields.iter().any(|f| f.name == name) {
            let mut issue = ConfigIssue::whole(format!("unknown field `{name}`"));
            issue.position = Some(*name_at);
            issue.hint = match crate::did_you_mean(name, fields.iter().map(|f| f.name)) {
                Some(best) => format!("did you mean `{best}`?"),
                None if fields.is_empty() => "this node kind takes no configuration".into(),
                None => format!(
                    "known fields: {}",
                    fields.iter().map(|f| f.name).collect::<Vec<_>>().join(", ")
                ),
            };
            return Err(issue);
        }
    }
    for field in fields.iter().filter(|f| f.required) {
        if !present.iter().any(|f| f.name == field.name) {
            let mut issue = ConfigIssue::whole(format!("missing required field `{}`", field.name));
            issue.position = Some((1, 1));
            issue.hint = format!(
                "add `{}: <{}>` ({})",
                field.name, field.type_name, field.doc
            );
            return Err(issue);
        }
    }
    let settings: S = ron::from_str(text).map_err(|e| {
        let position = (e.position.line as u32, e.position.col as u32);
        // Name the field whose value is at fault, when the error is there.
        let field = present.iter().rev().find(|f| f.value_at <= position);
        let message = match field {
            Some(f) => format!("`{}`: {}", f.name, lowercase_first(&e.code.to_string())),
            None => e.code.to_string(),
        };
        let mut issue = ConfigIssue::whole(message);
        issue.position = Some(position);
        if let Some(f) = field.and_then(|f| fields.iter().find(|d| d.name == f.name)) {
            issue.hint = format!("`{}` is {} ({})", f.name, f.type_name, f.doc);
        }
        issue
    })?;
    settings.validate().map_err(|mut issue| {
        if issue.position.is_none() {
            if let Some(field) = &issue.field {
                issue.position = locate_field(text, field);
            }
        }
        issue
    })?;
    Ok(settings)
}

fn lowercase_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The default value of every field of `S`, as RON text, by field name.
pub(crate) fn default_values<S: Settings>() -> Vec<(String, String)> {
    let Ok(text) = ron::to_string(&S::default()) else {
        return Vec::new();
    };
    let Ok(ron::Value::Map(map)) = ron::from_str::<ron::Value>(&text) else {
        return Vec::new();
    };
    map.iter()
        .filter_map(|(k, v)| match k {
            ron::Value::String(name) => Some((name.clone(), ron::to_string(v).ok()?)),
            _ => None,
        })
        .collect()
}

/// The 1-based line and column of the value of top-level field `field` in
/// the RON struct `text`, if present.
pub fn locate_field(text: &str, field: &str) -> Option<(u32, u32)> {
    top_level_fields(text)
        .into_iter()
        .find(|f| f.name == field)
        .map(|f| f.value_at)
}

/// A field found by [`top_level_fields`]: its name, the position of the
/// name and the position of its value.
struct FieldAt {
    name: String,
    name_at: (u32, u32),
    value_at: (u32, u32),
}

/// Names and positions of the fields of the outermost RON struct in
/// `text`. A light scan, not a parser: it skips strings, chars and
/// comments and tracks nesting, which is all that locating needs.
///
/// The host has a full span-keeping RON reader (`host/src/pipeline/
/// ron_spans.rs`) for pipeline files; this is not it on purpose: it must
/// still find the fields of a config with a syntax error further on (to
/// name the field at fault), where a parser stops, and it keeps a parser
/// out of every plugin library.
fn top_level_fields(text: &str) -> Vec<FieldAt> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let position = |byte: usize| -> (u32, u32) {
        let before = &text[..byte];
        let line = before.matches('\n').count() as u32 + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) as u32 + 1;
        (line, col)
    };
    let mut found = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i].1;
        match c {
            '"' => {
                i += 1;
                while i < chars.len() && chars[i].1 != '"' {
                    if chars[i].1 == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            '/' if chars.get(i + 1).map(|c| c.1) == Some('/') => {
                while i < chars.len() && chars[i].1 != '\n' {
                    i += 1;
                }
            }
            '/' if chars.get(i + 1).map(|c| c.1) == Some('*') => {
                i += 2;
                while i + 1 < chars.len() && !(chars[i].1 == '*' && chars[i + 1].1 == '/') {
                    i += 1;
                }
                i += 1;
            }
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            c if depth == 1 && (c.is_alphabetic() || c == '_') => {
                // An identifier directly inside the outer struct: a field
                // name if a ':' follows.
                let start = i;
                while i < chars.len() && (chars[i].1.is_alphanumeric() || chars[i].1 == '_') {
                    i += 1;
                }
                let name: String = chars[start..i].iter().map(|c| c.1).collect();
                let mut j = i;
                while j < chars.len() && chars[j].1.is_whitespace() {
                    j += 1;
                }
                if chars.get(j).map(|c| c.1) == Some(':') {
                    let mut v = j + 1;
                    while v < chars.len() && chars[v].1.is_whitespace() {
                        v += 1;
                    }
                    let at = chars.get(v).map_or(text.len(), |c| c.0);
                    found.push(FieldAt {
                        name,
                        name_at: position(chars[start].0),
                        value_at: position(at),
                    });
                    i = j;
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, Serialize, serde::Deserialize, PartialEq)]
    #[serde(default, deny_unknown_fields)]
    struct Demo {
        path: String,
        gain_db: f32,
    }

    impl Settings for Demo {
        fn fields() -> Vec<Field> {
            vec![
                Field::path("path", "file").required(),
                Field::float("gain_db", "f32", "gain in dB"),
            ]
        }
        fn validate(&self) -> Result<(), ConfigIssue> {
            if self.gain_db > 60.0 {
                return Err(ConfigIssue::field("gain_db", "too loud"));
            }
            Ok(())
        }
    }

    #[test]
    fn parses_and_locates_errors() {
        let ok: Demo = parse_settings("(path: \"a.wav\", gain_db: 3.0)").unwrap();
        assert_eq!(ok.gain_db, 3.0);

        let e = parse_settings::<Demo>("(\n  path: \"a\",\n  gain_db: 90.0,\n)").unwrap_err();
        assert_eq!(e.message, "too loud");
        assert_eq!(e.position, Some((3, 12)));

        let e = parse_settings::<Demo>("(path: \"a\", gain: 1.0)").unwrap_err();
        assert_eq!(e.message, "unknown field `gain`");
        assert_eq!(e.hint, "did you mean `gain_db`?");
        assert_eq!(e.position, Some((1, 13)));

        let e = parse_settings::<Demo>("(gain_db: 1.0)").unwrap_err();
        assert!(e.message.contains("missing required field `path`"));

        let e = parse_settings::<Demo>("(path: 5)").unwrap_err();
        assert!(e.position.is_some(), "{e:?}");
    }

    #[test]
    fn empty_config_gives_defaults() {
        let s: NoSettings = parse_settings("()").unwrap();
        let _ = s;
        let d = default_values::<Demo>();
        assert!(d.iter().any(|(k, v)| k == "gain_db" && v == "0.0"), "{d:?}");
    }
}
