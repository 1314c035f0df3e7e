//! A RON reader that keeps the byte span of every value.
//!
//! The `ron` crate gives no spans, and `hark check` must point at the exact
//! node, port or config value at fault, and hand each node's config to its
//! plugin as the exact text the user wrote (so the plugin's own `ron`
//! errors map back to the file). This reader covers RON's value grammar:
//! structs (named or not), tuples, lists, maps, strings (with escapes and
//! raw strings), chars, numbers, booleans, identifiers (unit variants,
//! `None`), comments and `#![enable(..)]` attributes.
//!
//! It does no IO and knows nothing about pipelines.
//!
//! The sdk's `locate_field` scans configs with a light, tolerant scanner
//! of its own rather than this reader: it must work on text with a syntax
//! error further on, and stay out of plugin libraries (see
//! `sdk/src/settings.rs`, `top_level_fields`).

use std::ops::Range;

/// A value with the byte range it spans in the source.
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    /// What it is.
    pub kind: Kind,
    /// Where it is.
    pub span: Range<usize>,
}

/// An identifier (field name, struct name) with its span.
#[derive(Debug, Clone, PartialEq)]
pub struct Ident {
    /// The identifier.
    pub name: String,
    /// Where it is.
    pub span: Range<usize>,
}

/// The kinds of RON values.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// `()`.
    Unit,
    /// `true` / `false`.
    Bool(bool),
    /// A number, as written.
    Number(String),
    /// A string, unescaped.
    Str(String),
    /// A char literal.
    Char(char),
    /// A bare identifier: a unit enum variant or `None`.
    Ident(String),
    /// `[a, b]`.
    List(Vec<Value>),
    /// `(a, b)` or `Name(a, b)` (also `Some(x)`).
    Tuple(Option<Ident>, Vec<Value>),
    /// `(a: 1)` or `Name(a: 1)`.
    Struct(Option<Ident>, Vec<(Ident, Value)>),
    /// `{ k: v }`.
    Map(Vec<(Value, Value)>),
}

impl Kind {
    /// Describes the kind for error messages ("a string", "a list").
    pub fn describe(&self) -> &'static str {
        match self {
            Kind::Unit => "`()`",
            Kind::Bool(_) => "a boolean",
            Kind::Number(_) => "a number",
            Kind::Str(_) => "a string",
            Kind::Char(_) => "a char",
            Kind::Ident(_) => "an identifier",
            Kind::List(_) => "a list",
            Kind::Tuple(..) => "a tuple",
            Kind::Struct(..) => "a struct",
            Kind::Map(_) => "a map",
        }
    }
}

/// A syntax error at a span.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    /// What is wrong.
    pub message: String,
    /// Where.
    pub span: Range<usize>,
    /// What to do about it, when known.
    pub hint: Option<String>,
}

/// Parses one RON value filling all of `source` (comments, whitespace and
/// attributes around it allowed).
pub fn parse(source: &str) -> Result<Value, SyntaxError> {
    let mut p = Parser {
        src: source,
        pos: 0,
        depth: 0,
    };
    p.skip_trivia()?;
    while p.src[p.pos..].starts_with("#!") {
        p.skip_attribute()?;
        p.skip_trivia()?;
    }
    let value = p.value()?;
    p.skip_trivia()?;
    if p.pos < p.src.len() {
        return Err(p.error_here("unexpected text after the end of the value", None));
    }
    Ok(value)
}

/// Identifiers are Rust's, as `ron` reads them: XID_Start (or `_`), then
/// XID_Continue (letters, digits, `_`, combining marks).
fn starts_ident(c: char) -> bool {
    c == '_' || unicode_ident::is_xid_start(c)
}

/// What a quoted literal holds, which decides what a `\x` escape may be.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Text {
    /// A string or char: UTF-8.
    Utf8,
    /// A byte string or byte (`b"..."`, `b'x'`): any byte.
    Bytes,
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
    /// Values open around the one being read.
    depth: usize,
}

/// How deeply values may nest. Pipelines need a handful of levels; the
/// limit keeps a hostile file (`[[[[...`) from overflowing the stack of
/// this recursive reader.
pub const MAX_DEPTH: usize = 64;

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.src[self.pos..].chars().nth(n)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn error_here(&self, message: &str, hint: Option<&str>) -> SyntaxError {
        let end = self.peek().map_or(self.pos, |c| self.pos + c.len_utf8());
        SyntaxError {
            message: message.to_string(),
            span: self.pos..end,
            hint: hint.map(str::to_string),
        }
    }

    fn skip_trivia(&mut self) -> Result<(), SyntaxError> {
        loop {
            match self.peek() {
                Some(c) if c.is_whitespace() => {
                    self.bump();
                }
                Some('/') if self.peek_at(1) == Some('/') => {
                    while let Some(c) = self.bump() {
                        if c == '\n' {
                            break;
                        }
                    }
                }
                Some('/') if self.peek_at(1) == Some('*') => {
                    let start = self.pos;
                    self.pos += 2;
                    let mut depth = 1;
                    while depth > 0 {
                        if self.src[self.pos..].starts_with("*/") {
                            depth -= 1;
                            self.pos += 2;
                        } else if self.src[self.pos..].starts_with("/*") {
                            depth += 1;
                            self.pos += 2;
                        } else if self.bump().is_none() {
                            return Err(SyntaxError {
                                message: "unterminated block comment".into(),
                                span: start..start + 2,
                                hint: Some("close it with `*/`".into()),
                            });
                        }
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    fn skip_attribute(&mut self) -> Result<(), SyntaxError> {
        // `#![enable(implicit_some)]`: skip to the matching `]`.
        let start = self.pos;
        while let Some(c) = self.bump() {
            if c == ']' {
                return Ok(());
            }
        }
        Err(SyntaxError {
            message: "unterminated attribute".into(),
            span: start..start + 2,
            hint: None,
        })
    }

    fn expect(&mut self, c: char, context: &str) -> Result<(), SyntaxError> {
        self.skip_trivia()?;
        if self.peek() == Some(c) {
            self.bump();
            Ok(())
        } else {
            let found = match self.peek() {
                Some(f) => format!("expected `{c}` {context}, found `{f}`"),
                None => format!("expected `{c}` {context}, found the end of the file"),
            };
            Err(self.error_here(&found, None))
        }
    }

    fn value(&mut self) -> Result<Value, SyntaxError> {
        self.skip_trivia()?;
        if self.depth >= MAX_DEPTH {
            return Err(self.error_here(
                &format!("values nest more than {MAX_DEPTH} deep"),
                Some("a pipeline needs a few levels; check for unbalanced brackets"),
            ));
        }
        self.depth += 1;
        let value = self.value_here();
        self.depth -= 1;
        value
    }

    fn value_here(&mut self) -> Result<Value, SyntaxError> {
        let start = self.pos;
        let kind = match self.peek() {
            None => return Err(self.error_here("expected a value, found the end of the file", None)),
            Some('(') => self.parenthesised(None)?,
            Some('[') => self.list()?,
            Some('{') => self.map()?,
            Some('"') => Kind::Str(self.string(Text::Utf8)?),
            // A byte, `b'x'`: a char to this reader.
            Some('b') if self.src[self.pos + 1..].starts_with('\'') => {
                self.bump();
                self.char_literal(Text::Bytes)?
            }
            // Byte strings, `b"..."` and `br#"..."#`: text to this reader.
            Some('b')
                if self.src[self.pos + 1..].starts_with('"')
                    || self.src[self.pos + 1..].starts_with("r\"")
                    || self.src[self.pos + 1..].starts_with("r#") =>
            {
                self.bump();
                if self.peek() == Some('"') {
                    Kind::Str(self.string(Text::Bytes)?)
                } else {
                    Kind::Str(self.raw_string()?)
                }
            }
            // `r"..."` and `r#"..."#`, not a raw identifier (`r#type`).
            Some('r') if self.src[self.pos + 1..].trim_start_matches('#').starts_with('"') => {
                Kind::Str(self.raw_string()?)
            }
            Some('\'') => self.char_literal(Text::Utf8)?,
            Some(c) if c.is_ascii_digit() || c == '-' || c == '+' || c == '.' => self.number()?,
            Some(c) if starts_ident(c) => {
                let ident = self.ident()?;
                // A raw identifier is never a keyword: `r#inf(1)` is a
                // tuple named `inf` to `ron`.
                let raw = self.src[ident.span.clone()].starts_with("r#");
                match ident.name.as_str() {
                    "true" if !raw => Kind::Bool(true),
                    "false" if !raw => Kind::Bool(false),
                    "inf" | "NaN" if !raw => Kind::Number(ident.name),
                    _ => {
                        let after = self.pos;
                        self.skip_trivia()?;
                        if self.peek() == Some('(') {
                            self.parenthesised(Some(ident))?
                        } else {
                            self.pos = after;
                            Kind::Ident(ident.name)
                        }
                    }
                }
            }
            Some(c) => {
                return Err(self.error_here(
                    &format!("expected a value, found `{c}`"),
                    Some("values are structs `(..)`, lists `[..]`, maps `{..}`, strings, numbers, booleans or identifiers"),
                ))
            }
        };
        Ok(Value {
            kind,
            span: start..self.pos,
        })
    }

    fn ident(&mut self) -> Result<Ident, SyntaxError> {
        let start = self.pos;
        if self.src[self.pos..].starts_with("r#") {
            self.pos += 2;
        }
        while let Some(c) = self.peek() {
            if unicode_ident::is_xid_continue(c)
                || (start != self.pos && self.src[start..].starts_with("r#") && "-.+".contains(c))
            {
                self.bump();
            } else {
                break;
            }
        }
        if self.pos == start {
            return Err(self.error_here("expected an identifier", None));
        }
        let name = self.src[start..self.pos]
            .trim_start_matches("r#")
            .to_string();
        Ok(Ident {
            name,
            span: start..self.pos,
        })
    }

    /// After an optional name: `(` fields or elements `)`.
    fn parenthesised(&mut self, name: Option<Ident>) -> Result<Kind, SyntaxError> {
        self.expect('(', "")?;
        self.skip_trivia()?;
        if self.peek() == Some(')') {
            self.bump();
            return Ok(match name {
                Some(n) => Kind::Struct(Some(n), Vec::new()),
                None => Kind::Unit,
            });
        }
        // A struct if the first element is `ident :` (but not `ident ::`).
        let save = self.pos;
        let is_struct = if self.peek().is_some_and(starts_ident) {
            self.ident()?;
            self.skip_trivia()?;
            let colon = self.peek() == Some(':') && self.peek_at(1) != Some(':');
            self.pos = save;
            colon
        } else {
            false
        };
        if is_struct {
            let mut fields = Vec::new();
            loop {
                self.skip_trivia()?;
                if self.peek() == Some(')') {
                    self.bump();
                    break;
                }
                if !self.peek().is_some_and(starts_ident) {
                    return Err(self.error_here("expected a field name or `)`", None));
                }
                let field = self.ident()?;
                self.expect(':', &format!("after field name `{}`", field.name))?;
                let value = self.value()?;
                fields.push((field, value));
                if !self.separator(')', "between fields")? {
                    break;
                }
            }
            Ok(Kind::Struct(name, fields))
        } else {
            let mut items = Vec::new();
            loop {
                self.skip_trivia()?;
                if self.peek() == Some(')') {
                    self.bump();
                    break;
                }
                items.push(self.value()?);
                if !self.separator(')', "between elements")? {
                    break;
                }
            }
            Ok(Kind::Tuple(name, items))
        }
    }

    /// After an element: `,` (then maybe `close`) or `close`. Returns
    /// whether more elements may follow; consumes `close` when it ends.
    fn separator(&mut self, close: char, context: &str) -> Result<bool, SyntaxError> {
        self.skip_trivia()?;
        match self.peek() {
            Some(',') => {
                self.bump();
                Ok(true)
            }
            Some(c) if c == close => {
                self.bump();
                Ok(false)
            }
            Some(c) => Err(self.error_here(
                &format!("expected `,` or `{close}` {context}, found `{c}`"),
                Some("separate elements with commas"),
            )),
            None => Err(self.error_here(
                &format!("expected `,` or `{close}` {context}, found the end of the file"),
                Some("an opening bracket is never closed"),
            )),
        }
    }

    fn list(&mut self) -> Result<Kind, SyntaxError> {
        self.expect('[', "")?;
        let mut items = Vec::new();
        loop {
            self.skip_trivia()?;
            if self.peek() == Some(']') {
                self.bump();
                break;
            }
            items.push(self.value()?);
            if !self.separator(']', "in a list")? {
                break;
            }
        }
        Ok(Kind::List(items))
    }

    fn map(&mut self) -> Result<Kind, SyntaxError> {
        self.expect('{', "")?;
        let mut entries = Vec::new();
        loop {
            self.skip_trivia()?;
            if self.peek() == Some('}') {
                self.bump();
                break;
            }
            let key = self.value()?;
            self.expect(':', "after a map key")?;
            let value = self.value()?;
            entries.push((key, value));
            if !self.separator('}', "in a map")? {
                break;
            }
        }
        Ok(Kind::Map(entries))
    }

    fn string(&mut self, text: Text) -> Result<String, SyntaxError> {
        let start = self.pos;
        self.bump(); // opening quote
        let mut out = String::new();
        loop {
            match self.bump() {
                None => {
                    return Err(SyntaxError {
                        message: "unterminated string".into(),
                        span: start..start + 1,
                        hint: Some("close the string with `\"`".into()),
                    })
                }
                Some('"') => return Ok(out),
                Some('\\') => {
                    let escape_start = self.pos - 1;
                    match self.escape(escape_start, text)? {
                        Some(c) => out.push(c),
                        None => {
                            return Err(SyntaxError {
                                message: "unknown escape in string".into(),
                                span: escape_start..self.pos,
                                hint: Some(
                                    "known escapes: \\n \\t \\r \\0 \\\\ \\\" \\x41 \\u{..}".into(),
                                ),
                            })
                        }
                    }
                }
                Some(c) => out.push(c),
            }
        }
    }

    /// The character an escape after a backslash at `escape_start` stands
    /// for, as `ron` reads it; `None` for an unknown escape.
    fn escape(&mut self, escape_start: usize, text: Text) -> Result<Option<char>, SyntaxError> {
        Ok(Some(match self.bump() {
            Some('n') => '\n',
            Some('t') => '\t',
            Some('r') => '\r',
            Some('0') => '\0',
            Some('\\') => '\\',
            Some('"') => '"',
            Some('\'') => '\'',
            Some('u') => self.unicode_escape(escape_start)?,
            Some('x') => self.byte_escape(escape_start, text)?,
            _ => return Ok(None),
        }))
    }

    /// `\xHH` (the `\x` read): an ASCII character; in text, up to four
    /// such escapes that spell one UTF-8 character; in bytes, any byte
    /// (U+FFFD beyond ASCII: this reader's values are text).
    fn byte_escape(&mut self, escape_start: usize, text: Text) -> Result<char, SyntaxError> {
        let bad = |end| SyntaxError {
            message: "invalid byte escape".into(),
            span: escape_start..end,
            hint: Some("write a byte as \\x41; a character beyond ASCII as \\u{e9}".into()),
        };
        let mut bytes = [0u8; 4];
        for i in 0..bytes.len() {
            if i > 0 {
                if !self.src[self.pos..].starts_with("\\x") {
                    return Err(bad(self.pos));
                }
                self.pos += 2;
            }
            let hex = self
                .src
                .get(self.pos..self.pos + 2)
                .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
                .ok_or_else(|| bad(self.pos))?;
            bytes[i] = u8::from_str_radix(hex, 16).expect("two hex digits");
            self.pos += 2;
            if bytes[0].is_ascii() {
                return Ok(char::from(bytes[0]));
            }
            if text == Text::Bytes {
                return Ok(char::REPLACEMENT_CHARACTER);
            }
            if let Ok(s) = std::str::from_utf8(&bytes[..=i]) {
                return Ok(s.chars().next().expect("one character"));
            }
        }
        Err(bad(self.pos))
    }

    fn unicode_escape(&mut self, escape_start: usize) -> Result<char, SyntaxError> {
        let bad = |end| SyntaxError {
            message: "invalid unicode escape".into(),
            span: escape_start..end,
            hint: Some("write it as \\u{1F600}".into()),
        };
        if self.bump() != Some('{') {
            return Err(bad(self.pos));
        }
        let digits_start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_hexdigit()) {
            self.bump();
        }
        let digits = &self.src[digits_start..self.pos];
        if self.bump() != Some('}') {
            return Err(bad(self.pos));
        }
        u32::from_str_radix(digits, 16)
            .ok()
            .and_then(char::from_u32)
            .ok_or_else(|| bad(self.pos))
    }

    fn raw_string(&mut self) -> Result<String, SyntaxError> {
        let start = self.pos;
        self.bump(); // r
        let mut hashes = 0;
        while self.peek() == Some('#') {
            self.bump();
            hashes += 1;
        }
        if self.bump() != Some('"') {
            return Err(SyntaxError {
                message: "malformed raw string".into(),
                span: start..self.pos,
                hint: Some("write raw strings as r\"..\" or r#\"..\"#".into()),
            });
        }
        let terminator = format!("\"{}", "#".repeat(hashes));
        match self.src[self.pos..].find(&terminator) {
            Some(end) => {
                let text = self.src[self.pos..self.pos + end].to_string();
                self.pos += end + terminator.len();
                Ok(text)
            }
            None => Err(SyntaxError {
                message: "unterminated raw string".into(),
                span: start..self.pos,
                hint: Some(format!("close it with `{terminator}`")),
            }),
        }
    }

    fn char_literal(&mut self, text: Text) -> Result<Kind, SyntaxError> {
        let start = self.pos;
        self.bump();
        let c = match self.bump() {
            Some('\\') => {
                let escape_start = self.pos - 1;
                match self.escape(escape_start, text)? {
                    Some(c) => c,
                    // Unknown escapes read as the character escaped.
                    None => self.src[..self.pos].chars().next_back().unwrap_or('\0'),
                }
            }
            Some(c) => c,
            None => '\0',
        };
        if self.bump() != Some('\'') {
            return Err(SyntaxError {
                message: "unterminated char literal".into(),
                span: start..self.pos,
                hint: Some("strings use double quotes: \"text\"".into()),
            });
        }
        Ok(Kind::Char(c))
    }

    fn number(&mut self) -> Result<Kind, SyntaxError> {
        let start = self.pos;
        if matches!(self.peek(), Some('-') | Some('+')) {
            self.bump();
        }
        while let Some(c) = self.peek() {
            // A sign right after the exponent's `e` (underscores may sit
            // between them: `4e_-4` is a number to `ron`).
            let exponent_sign = (c == '-' || c == '+')
                && self.src[start..self.pos]
                    .trim_end_matches('_')
                    .ends_with(['e', 'E'])
                && !self.src[start..self.pos]
                    .trim_start_matches(['-', '+'])
                    .starts_with("0x");
            if c.is_ascii_alphanumeric() || c == '.' || c == '_' || exponent_sign {
                self.bump();
            } else {
                break;
            }
        }
        let text = &self.src[start..self.pos];
        let cleaned = text.replace('_', "");
        let valid = cleaned.parse::<f64>().is_ok()
            || ["inf", "-inf", "+inf", "NaN"].contains(&cleaned.as_str())
            || ["0x", "0o", "0b", "-0x", "-0o", "-0b"].iter().any(|p| {
                cleaned.strip_prefix(p).is_some_and(|digits| {
                    let radix = match p.trim_start_matches('-') {
                        "0x" => 16,
                        "0o" => 8,
                        _ => 2,
                    };
                    i128::from_str_radix(digits, radix).is_ok()
                })
            })
            // Type suffixes (`5u8`, `-NaNf64`) and whatever else `ron`, which
            // plugins parse their configs with, takes for a number.
            || ron::from_str::<ron::Value>(text).is_ok();
        if !valid {
            return Err(SyntaxError {
                message: format!("invalid number `{text}`"),
                span: start..self.pos,
                hint: None,
            });
        }
        Ok(Kind::Number(text.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_structs_lists_maps_with_spans() {
        let src = r##"Pipeline(
            // a comment
            nodes: { "a": (plugin: "audio", n: -1.5e3, on: true, k: Some(3)) },
            links: ["a.x -> b.y", r#"raw"#],
        )"##;
        let v = parse(src).unwrap();
        let Kind::Struct(Some(name), fields) = &v.kind else {
            panic!("{v:?}")
        };
        assert_eq!(name.name, "Pipeline");
        assert_eq!(fields[0].0.name, "nodes");
        let Kind::Map(entries) = &fields[0].1.kind else {
            panic!()
        };
        assert_eq!(&src[entries[0].0.span.clone()], "\"a\"");
        let Kind::Struct(None, node) = &entries[0].1.kind else {
            panic!()
        };
        assert_eq!(node[1].1.kind, Kind::Number("-1.5e3".into()));
        assert_eq!(node[2].1.kind, Kind::Bool(true));
        assert!(
            matches!(&node[3].1.kind, Kind::Tuple(Some(n), items) if n.name == "Some" && items.len() == 1)
        );
        let Kind::List(links) = &fields[1].1.kind else {
            panic!()
        };
        assert_eq!(links[1].kind, Kind::Str("raw".into()));
    }

    #[test]
    fn reports_errors_where_they_are() {
        let src = "(a: 1, b: [1, 2)";
        let e = parse(src).unwrap_err();
        assert_eq!(e.span.start, 15, "{e:?}");
        let e = parse("(a: \"x)").unwrap_err();
        assert_eq!(e.message, "unterminated string");
        let e = parse("(a 1)").unwrap_err();
        assert_eq!(e.span.start, 3, "{e:?}");
    }

    #[test]
    fn raw_identifiers_are_not_raw_strings() {
        // Found by the `ron` fuzz target: `ron` reads `r#k` as an identifier.
        let v = parse("(a: r#type, b: r#\"x\"#, c: r\"y\")").unwrap();
        let Kind::Struct(_, fields) = v.kind else {
            panic!("{v:?}")
        };
        assert!(matches!(&fields[0].1.kind, Kind::Ident(i) if i == "type"));
        assert!(matches!(&fields[1].1.kind, Kind::Str(s) if s == "x"));
        assert!(matches!(&fields[2].1.kind, Kind::Str(s) if s == "y"));
        // Nor a keyword (found by the fuzz target too).
        assert!(matches!(
            parse("r#inf(1, e)").map(|v| v.kind),
            Ok(Kind::Tuple(Some(name), _)) if name.name == "inf"
        ));
    }

    #[test]
    fn identifiers_follow_rust_unicode_rules() {
        // Found by the `ron` fuzz target: a letter with combining marks.
        let v = parse("(ݠ\u{320}\u{32f}: é_1, _x: 中文)").unwrap();
        let Kind::Struct(_, fields) = v.kind else {
            panic!("{v:?}")
        };
        assert_eq!(fields[0].0.name, "ݠ\u{320}\u{32f}");
        assert!(matches!(&fields[0].1.kind, Kind::Ident(i) if i == "é_1"));
        assert!(matches!(&fields[1].1.kind, Kind::Ident(i) if i == "中文"));
    }

    #[test]
    fn numbers_are_what_ron_takes_for_numbers() {
        // Found by the `ron` fuzz target: `-NaNf64` is a number to `ron`.
        for n in [
            "1", "-2.5e-3", "0x1F", "1_000", "5u8", "-NaNf64", "inf", "1e5f32", "4e_-4",
        ] {
            assert!(parse(n).is_ok(), "{n}");
        }
        // Byte strings, also found by the fuzzer.
        assert!(parse(r##"(a: b"x", b: br#"y"#, c: b'z')"##).is_ok());
        // Byte escapes, as `ron` reads them (found by the ron fuzz target).
        let text = |src: &str| match parse(src).map(|v| v.kind) {
            Ok(Kind::Str(s)) => s,
            other => panic!("{src}: {other:?}"),
        };
        assert_eq!(text(r#""\x41\xc3\xa9""#), "Aé");
        assert_eq!(text(r#"b"\xff""#), "\u{fffd}");
        assert!(parse(r#""\xff""#).is_err(), "not UTF-8 in a string");
        assert!(matches!(
            parse(r"'\x41'").map(|v| v.kind),
            Ok(Kind::Char('A'))
        ));
        for n in ["1.2.3", "0xZZ", "12abc"] {
            assert!(parse(n).is_err(), "{n}");
        }
    }

    #[test]
    fn nesting_is_bounded_without_overflowing_the_stack() {
        let ok = format!(
            "{}1{}",
            "[".repeat(MAX_DEPTH - 1),
            "]".repeat(MAX_DEPTH - 1)
        );
        assert!(parse(&ok).is_ok());
        // A million brackets would overflow the stack of a reader without
        // the limit (this test's thread has the default 2 MiB).
        let hostile = "[".repeat(1_000_000);
        let e = parse(&hostile).unwrap_err();
        assert_eq!(e.message, format!("values nest more than {MAX_DEPTH} deep"));
        assert_eq!(e.span.start, MAX_DEPTH, "{e:?}");
    }
}
