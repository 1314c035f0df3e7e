//! Annotated examples in the SNIPS JSON format: a folder of files, each
//! `{"IntentName": [{"data": [{"text": "play "}, {"text": "jazz",
//! "entity": "genre"}]}, ...]}`.

use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};

/// One annotated utterance.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// The intent it expresses.
    pub intent: String,
    /// The utterance.
    pub text: String,
    /// Its slots, as byte ranges of `text`, in order.
    pub entities: Vec<Entity>,
}

/// A slot of an [`Example`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entity {
    /// Slot name (`"playlist"`).
    pub slot: String,
    /// Byte offset of its first byte in the text.
    pub start: usize,
    /// Byte offset one past its end.
    pub end: usize,
}

#[derive(Serialize, Deserialize)]
struct Utterance {
    data: Vec<Chunk>,
}

#[derive(Serialize, Deserialize)]
struct Chunk {
    text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    entity: Option<String>,
}

/// Reads every `*.json` file of `dir` (sorted by name).
pub fn load_dir(dir: &Path) -> Result<Vec<Example>, String> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(format!(
            "{} has no .json files (SNIPS format: one file per intent)",
            dir.display()
        ));
    }
    let mut examples = Vec::new();
    for file in files {
        examples.extend(load_file(&file)?);
    }
    Ok(examples)
}

/// Reads one SNIPS JSON file.
pub fn load_file(path: &Path) -> Result<Vec<Example>, String> {
    let bytes = fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let text = decode(&bytes);
    let parsed: BTreeMap<String, Vec<Utterance>> = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{}:{}:{}: not a SNIPS intent file: {e}",
            path.display(),
            e.line(),
            e.column()
        )
    })?;
    let mut examples = Vec::new();
    for (intent, utterances) in parsed {
        for u in utterances {
            let mut text = String::new();
            let mut entities = Vec::new();
            for chunk in u.data {
                let start = text.len();
                text.push_str(&chunk.text);
                if let Some(slot) = chunk.entity {
                    // Slot boundaries exclude surrounding spaces.
                    let trimmed_start = start + (chunk.text.len() - chunk.text.trim_start().len());
                    let trimmed_end = start + chunk.text.trim_end().len();
                    if trimmed_end > trimmed_start {
                        entities.push(Entity {
                            slot,
                            start: trimmed_start,
                            end: trimmed_end,
                        });
                    }
                }
            }
            examples.push(Example {
                intent: intent.clone(),
                text,
                entities,
            });
        }
    }
    Ok(examples)
}

/// UTF-8, with surrogate pairs written as two 3-byte sequences (CESU-8,
/// as in one emoji of SNIPS' `PlayMusic.json`) joined into the character
/// they encode; anything else invalid becomes U+FFFD.
fn decode(bytes: &[u8]) -> String {
    let mut repaired = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if let [0xed, h1 @ 0xa0..=0xaf, h2, 0xed, l1 @ 0xb0..=0xbf, l2, ..] = bytes[i..] {
            let high = 0xd000 | ((h1 as u32 & 0x3f) << 6) | (h2 as u32 & 0x3f);
            let low = 0xd000 | ((l1 as u32 & 0x3f) << 6) | (l2 as u32 & 0x3f);
            let code = 0x10000 + ((high - 0xd800) << 10) + (low - 0xdc00);
            if let Some(c) = char::from_u32(code) {
                repaired.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                i += 6;
                continue;
            }
        }
        repaired.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&repaired).into_owned()
}

/// Splits `examples` into (train, held out): every `n`-th example of each
/// intent is held out, where `n = 100 / percent` — deterministic, and
/// spread over each file.
pub fn split(examples: &[Example], percent: u32) -> (Vec<Example>, Vec<Example>) {
    let every = (100 / percent.clamp(1, 50)) as usize;
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    let (mut train, mut held_out) = (Vec::new(), Vec::new());
    for e in examples {
        let n = seen.entry(&e.intent).or_default();
        *n += 1;
        if n.is_multiple_of(every) {
            held_out.push(e.clone());
        } else {
            train.push(e.clone());
        }
    }
    (train, held_out)
}

/// Writes `examples` as one `<Intent>.json` per intent into `dir`.
pub fn write_dir(examples: &[Example], dir: &Path) -> Result<(), String> {
    fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut by_intent: BTreeMap<&str, Vec<Utterance>> = BTreeMap::new();
    for e in examples {
        let mut data = Vec::new();
        let mut at = 0;
        for entity in &e.entities {
            if entity.start > at {
                data.push(Chunk {
                    text: e.text[at..entity.start].to_string(),
                    entity: None,
                });
            }
            data.push(Chunk {
                text: e.text[entity.start..entity.end].to_string(),
                entity: Some(entity.slot.clone()),
            });
            at = entity.end;
        }
        if at < e.text.len() {
            data.push(Chunk {
                text: e.text[at..].to_string(),
                entity: None,
            });
        }
        by_intent
            .entry(&e.intent)
            .or_default()
            .push(Utterance { data });
    }
    for (intent, utterances) in by_intent {
        let path = dir.join(format!("{intent}.json"));
        let one: BTreeMap<&str, Vec<Utterance>> = [(intent, utterances)].into();
        let json = serde_json::to_string_pretty(&one).map_err(|e| e.to_string())?;
        fs::write(&path, json).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_surrogate_pair_becomes_its_character() {
        // U+1F3B6 (🎶) as CESU-8: D83C DFB6.
        let bytes = b"play \xed\xa0\xbc\xed\xbe\xb6 now";
        assert_eq!(decode(bytes), "play \u{1f3b6} now");
        assert_eq!(decode("café".as_bytes()), "café");
    }

    #[test]
    fn examples_round_trip_through_files() {
        let dir = std::env::temp_dir().join(format!("hark-snips-{}", std::process::id()));
        let json = r#"{"PlayMusic": [{"data": [{"text": "play "}, {"text": "some jazz ", "entity": "genre"}, {"text": "now"}]}]}"#;
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("PlayMusic.json"), json).unwrap();
        let examples = load_dir(&dir).unwrap();
        assert_eq!(examples[0].text, "play some jazz now");
        let e = &examples[0].entities[0];
        assert_eq!(
            (&examples[0].text[e.start..e.end], e.slot.as_str()),
            ("some jazz", "genre")
        );
        let out = dir.join("out");
        write_dir(&examples, &out).unwrap();
        assert_eq!(load_dir(&out).unwrap(), examples);
        fs::remove_dir_all(&dir).unwrap();
    }
}
