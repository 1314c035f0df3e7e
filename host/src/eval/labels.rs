//! What each recording should give: the label files `hark eval` reads.
//!
//! - `labels.json`, as Picovoice's speech-to-intent benchmark writes it:
//!   `{"clip.wav": {"intent": "orderDrink", "slots": {"size": "large"}}}`
//!   (a `transcript` key may be added);
//! - a TSV file, one clip a line: `file<TAB>transcript[<TAB>intent<TAB>slots]`,
//!   slots as a JSON object; `#` starts a comment line.
//!
//! File names are relative to the label file's folder, or found by name
//! anywhere below it (the benchmark keeps its clips in `clips/`).

use std::{
    collections::{BTreeMap, HashMap},
    path::{Path, PathBuf},
};

use serde::Deserialize;

/// One recording and what it should give.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// The audio file.
    pub audio: PathBuf,
    /// The name it has in the labels (or its file name).
    pub name: String,
    /// What was said, word for word, if known.
    pub transcript: Option<String>,
    /// The intent and its slots, if known.
    pub command: Option<Command>,
}

/// An intent and its slot values.
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    /// The intent's name.
    pub intent: String,
    /// Slot name → value, as spoken.
    pub slots: BTreeMap<String, String>,
}

/// Why the cases could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LabelError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A label file is malformed.
    #[error("{path}:{line}: {message}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// 1-based line (0 when the file as a whole is wrong).
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A labelled clip is not there.
    #[error("{path}: labels name {name}, which is not in {folder}")]
    MissingAudio {
        /// The label file.
        path: PathBuf,
        /// The clip's name.
        name: String,
        /// Where it was looked for.
        folder: PathBuf,
    },
    /// Nothing to evaluate.
    #[error("{0} has no WAV files and no labels.json or labels.tsv")]
    Empty(PathBuf),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonLabel {
    intent: Option<String>,
    #[serde(default)]
    slots: BTreeMap<String, serde_json::Value>,
    transcript: Option<String>,
}

/// The cases of `data`: a label file (`.json` or `.tsv`), or a folder
/// holding `labels.json` or `labels.tsv` (otherwise every WAV below it,
/// unlabelled: transcripts and latencies only). In file order, or by name.
pub fn read(data: &Path) -> Result<Vec<Case>, LabelError> {
    let (labels, folder) = if data.is_dir() {
        let found = ["labels.json", "labels.tsv"]
            .iter()
            .map(|n| data.join(n))
            .find(|p| p.is_file());
        (found, data.to_path_buf())
    } else {
        let folder = data.parent().unwrap_or(Path::new(".")).to_path_buf();
        (Some(data.to_path_buf()), folder)
    };
    let audio = wav_files(&folder);
    let Some(labels) = labels else {
        if audio.is_empty() {
            return Err(LabelError::Empty(folder));
        }
        let mut cases: Vec<Case> = audio
            .into_iter()
            .map(|(name, path)| Case {
                audio: path,
                name,
                transcript: None,
                command: None,
            })
            .collect();
        cases.sort_by(|a, b| a.name.cmp(&b.name));
        return Ok(cases);
    };
    let text = std::fs::read_to_string(&labels).map_err(|source| LabelError::Read {
        path: labels.clone(),
        source,
    })?;
    let entries = if labels.extension().is_some_and(|e| e == "tsv") {
        parse_tsv(&text, &labels)?
    } else {
        parse_json(&text, &labels)?
    };
    let by_name: HashMap<&str, &PathBuf> = audio.iter().map(|(n, p)| (n.as_str(), p)).collect();
    entries
        .into_iter()
        .map(|(name, transcript, command)| {
            let direct = folder.join(&name);
            let file_name = Path::new(&name)
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            let audio = if direct.is_file() {
                direct
            } else if let Some(found) = by_name.get(file_name.as_str()) {
                (*found).clone()
            } else {
                return Err(LabelError::MissingAudio {
                    path: labels.clone(),
                    name,
                    folder: folder.clone(),
                });
            };
            Ok(Case {
                audio,
                name,
                transcript,
                command,
            })
        })
        .collect()
}

type Entry = (String, Option<String>, Option<Command>);

fn parse_json(text: &str, path: &Path) -> Result<Vec<Entry>, LabelError> {
    let labels: BTreeMap<String, JsonLabel> =
        serde_json::from_str(text).map_err(|e| LabelError::Malformed {
            path: path.to_path_buf(),
            line: e.line(),
            message: format!(
                "{e} (expected {{\"clip.wav\": {{\"intent\": \"...\", \"slots\": {{...}}}}}})"
            ),
        })?;
    labels
        .into_iter()
        .map(|(name, label)| {
            let slots = slot_texts(label.slots).map_err(|message| LabelError::Malformed {
                path: path.to_path_buf(),
                line: 0,
                message: format!("{name}: {message}"),
            })?;
            let command = label.intent.map(|intent| Command { intent, slots });
            Ok((name, label.transcript, command))
        })
        .collect()
}

fn parse_tsv(text: &str, path: &Path) -> Result<Vec<Entry>, LabelError> {
    let mut entries = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let malformed = |message: String| LabelError::Malformed {
            path: path.to_path_buf(),
            line: i + 1,
            message,
        };
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        let (name, transcript) = match fields.as_slice() {
            [name, transcript, ..] => (name.trim(), transcript.trim()),
            _ => {
                return Err(malformed(
                    "expected file<TAB>transcript[<TAB>intent<TAB>slots-json]".into(),
                ))
            }
        };
        let command = match fields.get(2).map(|s| s.trim()) {
            None | Some("") => None,
            Some(intent) => {
                let slots = match fields.get(3).map(|s| s.trim()) {
                    None | Some("") => BTreeMap::new(),
                    Some(json) => {
                        let map: BTreeMap<String, serde_json::Value> = serde_json::from_str(json)
                            .map_err(|e| {
                            malformed(format!("slots are not a JSON object: {e}"))
                        })?;
                        slot_texts(map).map_err(malformed)?
                    }
                };
                Some(Command {
                    intent: intent.to_string(),
                    slots,
                })
            }
        };
        if fields.len() > 4 {
            return Err(malformed(format!(
                "{} fields; expected at most 4",
                fields.len()
            )));
        }
        let transcript = (!transcript.is_empty()).then(|| transcript.to_string());
        entries.push((name.to_string(), transcript, command));
    }
    Ok(entries)
}

/// Slot values as text: strings as they are, numbers written out.
fn slot_texts(
    slots: BTreeMap<String, serde_json::Value>,
) -> Result<BTreeMap<String, String>, String> {
    slots
        .into_iter()
        .map(|(name, value)| match value {
            serde_json::Value::String(s) => Ok((name, s.trim().to_string())),
            serde_json::Value::Number(n) => Ok((name, n.to_string())),
            other => Err(format!(
                "slot `{name}` is {other}; a slot value is a string or a number"
            )),
        })
        .collect()
}

/// WAV files below `folder`: (path relative to it, path).
fn wav_files(folder: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let mut dirs = vec![folder.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("wav"))
            {
                let name = path
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_default();
                out.push((name, path));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder_with(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    #[test]
    fn benchmark_json_with_clips_in_a_subfolder() {
        let dir = folder_with(&[
            (
                "labels.json",
                r#"{"a.wav": {"intent": "orderDrink", "slots": {"size": " large", "shots": 2}}}"#,
            ),
            ("clips/a.wav", ""),
        ]);
        let cases = read(dir.path()).unwrap();
        assert_eq!(cases.len(), 1);
        assert_eq!(cases[0].audio, dir.path().join("clips/a.wav"));
        let command = cases[0].command.as_ref().unwrap();
        assert_eq!(command.intent, "orderDrink");
        assert_eq!(command.slots["size"], "large");
        assert_eq!(command.slots["shots"], "2");
    }

    #[test]
    fn tsv_with_and_without_commands() {
        let dir = folder_with(&[
            (
                "labels.tsv",
                "# my recordings\none.wav\tturn on the lamp\thome.turn_on\t{\"device\": \"lamp\"}\n\ntwo.wav\twhat time is it\n",
            ),
            ("one.wav", ""),
            ("two.wav", ""),
        ]);
        let cases = read(&dir.path().join("labels.tsv")).unwrap();
        assert_eq!(cases.len(), 2);
        assert_eq!(cases[0].transcript.as_deref(), Some("turn on the lamp"));
        assert_eq!(cases[0].command.as_ref().unwrap().slots["device"], "lamp");
        assert_eq!(cases[1].command, None);
    }

    #[test]
    fn mistakes_are_located() {
        let dir = folder_with(&[("labels.tsv", "one.wav\n"), ("one.wav", "")]);
        let e = read(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("labels.tsv:1:") && e.contains("file<TAB>transcript"),
            "{e}"
        );
        let dir = folder_with(&[("labels.json", r#"{"gone.wav": {"intent": "x"}}"#)]);
        let e = read(dir.path()).unwrap_err().to_string();
        assert!(e.contains("gone.wav, which is not in"), "{e}");
        let dir = folder_with(&[("labels.json", r#"{"a.wav": {"intent": 3}}"#)]);
        let e = read(dir.path()).unwrap_err().to_string();
        assert!(e.contains("labels.json:1:"), "{e}");
        let dir = folder_with(&[]);
        assert!(matches!(read(dir.path()), Err(LabelError::Empty(_))));
    }

    #[test]
    fn a_folder_without_labels_is_every_wav_in_it() {
        let dir = folder_with(&[("b.wav", ""), ("sub/a.wav", ""), ("notes.txt", "")]);
        let names: Vec<String> = read(dir.path())
            .unwrap()
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(names, ["a.wav", "b.wav"]);
    }
}
