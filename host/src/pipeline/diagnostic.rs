//! Errors about a pipeline, rendered like rustc's: the file, the line, a
//! caret under the offending text, and a hint.

use std::ops::Range;

use codespan_reporting::{
    diagnostic::{Diagnostic as CsDiagnostic, Label as CsLabel, LabelStyle},
    files::SimpleFiles,
    term::{self, termcolor},
};

/// Which text a span points into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceId {
    /// The pipeline file.
    File,
    /// The `n`-th `--set` argument.
    SetArg(usize),
}

/// A span in one of the sources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// Which text.
    pub source: SourceId,
    /// Byte range in it.
    pub span: Range<usize>,
}

impl Location {
    /// A span in the pipeline file.
    pub fn file(span: Range<usize>) -> Self {
        Location {
            source: SourceId::File,
            span,
        }
    }
}

/// One problem found in a pipeline.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    /// One line, no trailing period.
    pub message: String,
    /// Where, with a short label under the caret.
    pub primary: Option<(Location, String)>,
    /// Other relevant places.
    pub secondary: Vec<(Location, String)>,
    /// What to do (rendered as `= help: ..`).
    pub hints: Vec<String>,
    /// Extra facts (rendered as `= note: ..`).
    pub notes: Vec<String>,
}

impl Diagnostic {
    /// A diagnostic pointing at `at` in the pipeline file.
    pub fn at(span: Range<usize>, message: impl Into<String>, label: impl Into<String>) -> Self {
        Diagnostic {
            message: message.into(),
            primary: Some((Location::file(span), label.into())),
            secondary: Vec::new(),
            hints: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// A diagnostic with no location.
    pub fn general(message: impl Into<String>) -> Self {
        Diagnostic {
            message: message.into(),
            primary: None,
            secondary: Vec::new(),
            hints: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Adds a hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        let hint = hint.into();
        if !hint.is_empty() {
            self.hints.push(hint);
        }
        self
    }

    /// Adds a note.
    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// Adds a secondary label.
    pub fn also(mut self, span: Range<usize>, label: impl Into<String>) -> Self {
        self.secondary.push((Location::file(span), label.into()));
        self
    }
}

/// The texts diagnostics point into.
pub struct Sources<'a> {
    /// Display name of the pipeline file.
    pub file_name: String,
    /// Its text.
    pub file_text: &'a str,
    /// The `--set` arguments.
    pub set_args: &'a [String],
}

impl Sources<'_> {
    /// 1-based line and column of `location`.
    pub fn line_col(&self, location: &Location) -> (usize, usize) {
        let text = match location.source {
            SourceId::File => self.file_text,
            SourceId::SetArg(i) => self.set_args[i].as_str(),
        };
        let before = &text[..location.span.start.min(text.len())];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, col)
    }

    /// Renders `diagnostics` as text, with ANSI colours if `color`.
    pub fn render(&self, diagnostics: &[Diagnostic], color: bool) -> String {
        let mut files = SimpleFiles::new();
        let file_id = files.add(self.file_name.clone(), self.file_text.to_string());
        let set_ids: Vec<usize> = self
            .set_args
            .iter()
            .map(|arg| files.add("--set".to_string(), arg.clone()))
            .collect();
        let id = |source: SourceId| match source {
            SourceId::File => file_id,
            SourceId::SetArg(i) => set_ids[i],
        };
        let mut buffer = if color {
            termcolor::Buffer::ansi()
        } else {
            termcolor::Buffer::no_color()
        };
        let config = term::Config::default();
        for d in diagnostics {
            let mut labels = Vec::new();
            if let Some((loc, label)) = &d.primary {
                labels.push(
                    CsLabel::new(LabelStyle::Primary, id(loc.source), loc.span.clone())
                        .with_message(label),
                );
            }
            for (loc, label) in &d.secondary {
                labels.push(
                    CsLabel::new(LabelStyle::Secondary, id(loc.source), loc.span.clone())
                        .with_message(label),
                );
            }
            let mut notes: Vec<String> = d.hints.iter().map(|h| format!("help: {h}")).collect();
            notes.extend(d.notes.iter().map(|n| format!("note: {n}")));
            let cs = CsDiagnostic::error()
                .with_message(&d.message)
                .with_labels(labels)
                .with_notes(notes);
            // Rendering into a memory buffer cannot fail for spans we made.
            let _ = term::emit(&mut buffer, &config, &files, &cs);
        }
        String::from_utf8_lossy(buffer.as_slice()).into_owned()
    }
}
