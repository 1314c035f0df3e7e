//! Implementation of `template`.

use hark_sdk::{prelude::*, TextMessage};

use super::TemplateSettings;

/// A piece of a parsed template.
#[derive(Debug, PartialEq)]
pub(super) enum Piece {
    Literal(String),
    Text,
}

/// Parses a template into pieces; errors say what is wrong.
pub(super) fn parse(template: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut rest = template;
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("{{") || rest.starts_with("}}") {
            literal.push(c);
            rest = &rest[2..];
        } else if rest.starts_with("{text}") {
            if !literal.is_empty() {
                pieces.push(Piece::Literal(std::mem::take(&mut literal)));
            }
            pieces.push(Piece::Text);
            rest = &rest[6..];
        } else if c == '{' || c == '}' {
            let end = rest.find('}').map_or(rest.len(), |i| i + 1);
            return Err(format!("unknown placeholder `{}`", &rest[..end]));
        } else {
            literal.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    if !literal.is_empty() {
        pieces.push(Piece::Literal(literal));
    }
    Ok(pieces)
}

/// A running `template` node.
pub struct TemplateNode {
    pieces: Vec<Piece>,
    case: String,
}

impl TemplateNode {
    pub(super) fn new(settings: TemplateSettings) -> Result<Self, Error> {
        let pieces = parse(&settings.template).map_err(Error::config)?;
        Ok(TemplateNode {
            pieces,
            case: settings.case,
        })
    }
}

impl Node for TemplateNode {
    fn on_message(&mut self, _port: u32, message: Message, out: &mut Outputs) -> Result<(), Error> {
        let Payload::Text(input) = message.payload else {
            // Control events pass through unchanged.
            return out.emit(0, message);
        };
        let text = match self.case.as_str() {
            "upper" => input.text.to_uppercase(),
            "lower" => input.text.to_lowercase(),
            _ => input.text.to_string(),
        };
        let mut rendered = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Literal(l) => rendered.push_str(l),
                Piece::Text => rendered.push_str(&text),
            }
        }
        let payload = Payload::Text(RBox::new(TextMessage {
            text: rendered.into(),
            ..RBox::into_inner(input)
        }));
        out.emit(0, Message::new(message.meta, payload))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_placeholders_and_escapes() {
        assert_eq!(
            parse("a {text} {{b}}").unwrap(),
            vec![
                Piece::Literal("a ".into()),
                Piece::Text,
                Piece::Literal(" {b}".into())
            ]
        );
        assert_eq!(parse("{name}").unwrap_err(), "unknown placeholder `{name}`");
    }
}
