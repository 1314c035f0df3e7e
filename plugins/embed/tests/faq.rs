//! `faq` on the host's kernels: answers found by meaning, not by words,
//! the fallback below the threshold, and bad files refused.

use std::path::PathBuf;

use hark::catalog;
use hark_plugin_embed::faq::Faq;
use hark_sdk::{api::Directory, testing::Harness, text_message, MessageMeta, Payload, Value};

fn minilm() -> PathBuf {
    let dir = hark::dirs::directory(Directory::Models);
    catalog::fetch(catalog::find("minilm-l6").unwrap(), &dir, false).expect("fetching the model");
    dir.join("minilm-l6")
}

fn sample_faq() -> String {
    let root =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../pipelines/customer-service/faq.ron");
    root.display().to_string()
}

fn config(faq: &str) -> String {
    format!(
        "(faq: {faq:?}, model: {:?}, threshold: 0.6, fallback: \"no idea\")",
        minilm().display().to_string()
    )
}

/// (reply, intent name, matched question) per question asked.
fn ask(faq: &str, questions: &[&str]) -> Vec<(String, String, String)> {
    let mut h = Harness::with_inference::<Faq>(&config(faq), hark::inference::vtable()).unwrap();
    for q in questions {
        h.push(0, text_message(MessageMeta::default(), *q)).unwrap();
    }
    let out = h.finish().unwrap();
    let mut answers = Vec::new();
    let mut intent = None;
    for (port, message) in out {
        match (port, message.payload) {
            (1, Payload::Intent(i)) => {
                let question = i
                    .slots
                    .first()
                    .map(|s| match &s.value {
                        Value::Str(q) => q.to_string(),
                        _ => String::new(),
                    })
                    .unwrap_or_default();
                intent = Some((i.name.to_string(), question));
            }
            (0, Payload::Text(t)) => {
                let (name, question) = intent.take().expect("the intent comes before its reply");
                answers.push((t.text.to_string(), name, question));
            }
            other => panic!("unexpected output {other:?}"),
        }
    }
    answers
}

#[test]
fn questions_are_answered_by_meaning() {
    let answers = ask(
        &sample_faq(),
        &[
            "what time do you open tomorrow",
            "can i pay with my credit card",
            "i would like my money back",
            "do you sell bicycles",
        ],
    );
    assert_eq!(answers.len(), 4);
    assert!(answers[0].0.contains("nine to six"), "{answers:?}");
    assert!(answers[1].0.contains("cards"), "{answers:?}");
    assert!(answers[2].0.contains("refund"), "{answers:?}");
    assert_eq!(answers[3].0, "no idea", "below the threshold: {answers:?}");
    assert_eq!(answers[3].1, "unknown");
    assert_eq!(answers[0].1, "faq");
    assert!(
        !answers[0].2.is_empty(),
        "the matched question is in the slot"
    );
}

/// The error creating a node for the FAQ file at `path`.
fn refused(path: &std::path::Path) -> String {
    match Harness::with_inference::<Faq>(
        &config(&path.display().to_string()),
        hark::inference::vtable(),
    ) {
        Ok(_) => panic!("{} was accepted", path.display()),
        Err(e) => e.message.to_string(),
    }
}

#[test]
fn a_bad_faq_file_is_refused_with_where_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("faq.ron");
    std::fs::write(&broken, "[ (questions: [\"hi\"], answer: ) ]").unwrap();
    let err = refused(&broken);
    assert!(err.contains("faq.ron:1:"), "{err}");

    std::fs::write(&broken, "[ (questions: [], answer: \"a\") ]").unwrap();
    let err = refused(&broken);
    assert!(err.contains("at least one question"), "{err}");

    let err = refused(&dir.path().join("none.ron"));
    assert!(err.contains("cannot read"), "{err}");
}
