//! `--set node.field=value`: overriding a node's config from the command
//! line, and mapping positions in the resulting config text back to the
//! file or to the `--set` argument they came from.

use std::ops::Range;

use hark_plugin_api::ConfigValueKind;

use super::{
    diagnostic::{Diagnostic, Location, SourceId},
    ron_spans::{self, Kind},
};

/// One `--set` argument, split.
#[derive(Debug, Clone)]
pub struct Override {
    /// Index of the argument (for [`SourceId::SetArg`]).
    pub index: usize,
    /// Node name.
    pub node: String,
    /// Field name.
    pub field: String,
    /// Byte range of the field name in the argument.
    pub field_span: Range<usize>,
    /// The value as typed.
    pub value: String,
    /// Byte range of the value in the argument.
    pub value_span: Range<usize>,
}

impl Override {
    /// Where the node name is, for diagnostics.
    pub fn node_location(&self) -> Location {
        Location {
            source: SourceId::SetArg(self.index),
            span: 0..self.node.len(),
        }
    }

    /// Where the field name is, for diagnostics.
    pub fn field_location(&self) -> Location {
        Location {
            source: SourceId::SetArg(self.index),
            span: self.field_span.clone(),
        }
    }
}

/// Splits `node.field=value` arguments.
pub fn parse_overrides(args: &[String]) -> Result<Vec<Override>, Vec<Diagnostic>> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (index, arg) in args.iter().enumerate() {
        let parsed = arg.split_once('=').and_then(|(lhs, value)| {
            let (node, field) = lhs.split_once('.')?;
            (!node.is_empty() && !field.is_empty()).then(|| Override {
                index,
                node: node.to_string(),
                field: field.to_string(),
                field_span: node.len() + 1..lhs.len(),
                value: value.to_string(),
                value_span: lhs.len() + 1..arg.len(),
            })
        });
        match parsed {
            Some(o) => out.push(o),
            None => {
                let mut d = Diagnostic::general(format!("cannot read `--set {arg}`"))
                    .hint("write `--set node.field=value`, e.g. `--set input.path=speech.wav`");
                d.primary = Some((
                    Location {
                        source: SourceId::SetArg(index),
                        span: 0..arg.len(),
                    },
                    "expected node.field=value".into(),
                ));
                errors.push(d);
            }
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Turns a `--set` value into RON for a field of `kind`: strings and paths
/// are quoted unless already quoted; everything else is RON as typed.
pub fn value_as_ron(value: &str, kind: ConfigValueKind) -> String {
    match kind {
        ConfigValueKind::String | ConfigValueKind::Path | ConfigValueKind::Choice
            if !(value.starts_with('"') && value.ends_with('"') && value.len() >= 2) =>
        {
            format!("{value:?}")
        }
        _ => value.to_string(),
    }
}

/// A node's effective config text, and where each part came from.
#[derive(Debug, Clone)]
pub struct ConfigText {
    /// The RON text handed to the plugin.
    pub text: String,
    /// Pieces of `text` in order, each mapped to a start in a source.
    segments: Vec<(Range<usize>, SourceId, usize)>,
}

impl ConfigText {
    /// The config exactly as in the file at `span`.
    pub fn from_file(file: &str, span: Range<usize>) -> Self {
        ConfigText {
            text: file[span.clone()].to_string(),
            segments: vec![(0..span.len(), SourceId::File, span.start)],
        }
    }

    /// An empty config for a node that has none in the file; synthetic
    /// text maps to `anchor` (the node's position).
    pub fn empty(anchor: usize) -> Self {
        ConfigText {
            text: "()".into(),
            segments: vec![(0..2, SourceId::File, anchor)],
        }
    }

    /// Sets `field` to `ron_value` (from override `o`), replacing the
    /// field's current value or adding the field.
    pub fn apply(&mut self, o: &Override, ron_value: &str) {
        let value_origin = (SourceId::SetArg(o.index), o.value_span.start);
        // Locate the field among the outer struct's fields.
        let existing = match ron_spans::parse(&self.text) {
            Ok(v) => match v.kind {
                Kind::Struct(_, fields) => fields
                    .into_iter()
                    .find(|(f, _)| f.name == o.field)
                    .map(|(_, value)| value.span),
                _ => None,
            },
            Err(_) => None,
        };
        match existing {
            Some(span) => self.splice(span, ron_value, value_origin),
            None => {
                let close = self.text.rfind(')').unwrap_or(self.text.len());
                let before = self.text[..close].trim_end();
                let needs_comma = !(before.ends_with('(') || before.ends_with(','));
                let prefix = format!("{}{}: ", if needs_comma { ", " } else { "" }, o.field);
                let insertion = format!("{prefix}{ron_value}");
                let at = before.len();
                self.splice(
                    at..at,
                    &insertion,
                    (SourceId::SetArg(o.index), o.field_span.start),
                );
                // The value part maps to the value in the argument.
                let value_start = at + prefix.len();
                self.remap(value_start..value_start + ron_value.len(), value_origin);
            }
        }
    }

    fn splice(&mut self, range: Range<usize>, replacement: &str, origin: (SourceId, usize)) {
        let delta = replacement.len() as isize - range.len() as isize;
        let mut segments = Vec::new();
        for (r, src, start) in self.segments.drain(..) {
            // Keep the parts of each old segment outside `range`, shifted.
            if r.start < range.start {
                let end = r.end.min(range.start);
                segments.push((r.start..end, src, start));
            }
            if r.end > range.end {
                let begin = r.start.max(range.end);
                let shifted = (begin as isize + delta) as usize..(r.end as isize + delta) as usize;
                segments.push((shifted, src, start + (begin - r.start)));
            }
        }
        segments.push((
            range.start..range.start + replacement.len(),
            origin.0,
            origin.1,
        ));
        segments.sort_by_key(|(r, _, _)| r.start);
        self.segments = segments;
        self.text.replace_range(range, replacement);
    }

    fn remap(&mut self, range: Range<usize>, origin: (SourceId, usize)) {
        let text = self.text.clone();
        let replacement = text[range.clone()].to_string();
        self.splice(range, &replacement, origin);
    }

    /// Where byte `offset` of the text came from.
    pub fn locate(&self, offset: usize) -> Location {
        let (range, source, start) = self
            .segments
            .iter()
            .find(|(r, _, _)| r.contains(&offset))
            .or_else(|| self.segments.last())
            .cloned()
            .unwrap_or((0..0, SourceId::File, 0));
        let at = start + offset.saturating_sub(range.start);
        Location {
            source,
            span: at..at + 1,
        }
    }

    /// The byte offset of 1-based `line`:`column` (columns count chars).
    pub fn offset_of(&self, line: u32, column: u32) -> usize {
        let mut offset = 0;
        for (i, l) in self.text.split_inclusive('\n').enumerate() {
            if i + 1 == line as usize {
                let col = (column as usize).saturating_sub(1);
                return offset
                    + l.char_indices()
                        .nth(col)
                        .map_or(l.trim_end_matches('\n').len(), |(b, _)| b);
            }
            offset += l.len();
        }
        self.text.len().saturating_sub(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(arg: &str) -> Override {
        parse_overrides(&[arg.to_string()]).unwrap().remove(0)
    }

    #[test]
    fn replaces_and_inserts_fields_with_origins() {
        let file = r#"xx(path: "a.wav", frame_ms: 20)"#;
        let mut c = ConfigText::from_file(file, 2..file.len());
        let set = o("input.path=b.wav");
        c.apply(&set, &value_as_ron(&set.value, ConfigValueKind::Path));
        assert_eq!(c.text, r#"(path: "b.wav", frame_ms: 20)"#);
        // `frame_ms` still maps into the file.
        let at = c.text.find("frame_ms").unwrap();
        assert_eq!(c.locate(at), Location::file(18..19));
        // The new value maps to the argument.
        assert_eq!(c.locate(8).source, SourceId::SetArg(0));

        let set = o("input.realtime=true");
        c.apply(&set, "true");
        assert_eq!(c.text, r#"(path: "b.wav", frame_ms: 20, realtime: true)"#);
        let at = c.text.find("true").unwrap();
        assert_eq!(
            c.locate(at),
            Location {
                source: SourceId::SetArg(0),
                span: 15..16
            }
        );

        let mut e = ConfigText::empty(7);
        e.apply(&set, "true");
        assert_eq!(e.text, "(realtime: true)");
    }

    #[test]
    fn rejects_malformed_args() {
        assert!(parse_overrides(&["novalue".into()]).is_err());
        assert!(parse_overrides(&["nodot=1".into()]).is_err());
    }
}
