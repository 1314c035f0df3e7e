//! Text lines in and out, and text templating.
//!
//! - `lines-in`: reads lines from a file or stdin and emits one text
//!   message per line.
//! - `lines-out`: writes one line per message to a file or stdout
//!   (text as is; other messages in a readable one-line form).
//! - `template`: rewrites text through a template (`"You said: {text}"`).

pub mod lines_in;
pub mod lines_out;
pub mod template;

hark_sdk::export_plugin! {
    name: "text",
    kinds: [lines_in::LinesIn, lines_out::LinesOut, template::Template],
}
