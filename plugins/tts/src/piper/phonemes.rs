//! A Piper voice's configuration (`<voice>.onnx.json`) and the mapping
//! from espeak-ng's IPA phonemes to the ids its model reads, as Piper
//! does it: `^` (start), then every phoneme followed by `_` (pad), then
//! `$` (end); one id list per Unicode scalar of the IPA text.

use std::collections::HashMap;

use serde::Deserialize;

/// What Hark reads from a voice's `.onnx.json`.
#[derive(Debug, Clone, Deserialize)]
pub struct VoiceConfig {
    /// Output audio.
    pub audio: AudioConfig,
    /// The espeak-ng voice that phonemizes for it.
    pub espeak: EspeakConfig,
    /// The voice's own scales.
    pub inference: InferenceConfig,
    /// `espeak` (the only kind Hark reads; `text` voices map letters).
    #[serde(default = "espeak")]
    pub phoneme_type: String,
    /// Ids of every phoneme the model knows.
    pub phoneme_id_map: HashMap<String, Vec<i64>>,
    /// Speakers in the model (1 for most voices).
    #[serde(default = "one")]
    pub num_speakers: u32,
}

fn espeak() -> String {
    "espeak".to_string()
}

fn one() -> u32 {
    1
}

/// `audio` in a voice's configuration.
#[derive(Debug, Clone, Deserialize)]
pub struct AudioConfig {
    /// Samples per second of the model's output.
    pub sample_rate: u32,
}

/// `espeak` in a voice's configuration.
#[derive(Debug, Clone, Deserialize)]
pub struct EspeakConfig {
    /// espeak-ng voice name (`en-us`).
    pub voice: String,
}

/// `inference` in a voice's configuration.
#[derive(Debug, Clone, Deserialize)]
pub struct InferenceConfig {
    /// Variation of the voice.
    pub noise_scale: f32,
    /// Speaking time.
    pub length_scale: f32,
    /// Variation of phoneme lengths.
    pub noise_w: f32,
}

impl VoiceConfig {
    /// Parses a voice's `.onnx.json`, checking what the model will need.
    pub fn parse(text: &str) -> Result<VoiceConfig, String> {
        let config: VoiceConfig = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if config.phoneme_type != "espeak" {
            return Err(format!(
                "phoneme_type is {:?}; only espeak voices are supported",
                config.phoneme_type
            ));
        }
        for symbol in ["^", "$", "_"] {
            if !config.phoneme_id_map.contains_key(symbol) {
                return Err(format!("phoneme_id_map has no {symbol:?}"));
            }
        }
        Ok(config)
    }
}

/// espeak-ng phonemes to model ids.
#[derive(Debug, Clone)]
pub struct PhonemeIds {
    ids: HashMap<char, Vec<i64>>,
    start: Vec<i64>,
    end: Vec<i64>,
    pad: Vec<i64>,
}

impl PhonemeIds {
    /// The mapping of `config`; entries that are not one character are
    /// left out (Piper maps single Unicode scalars).
    pub fn new(config: &VoiceConfig) -> PhonemeIds {
        let get = |s: &str| config.phoneme_id_map.get(s).cloned().unwrap_or_default();
        PhonemeIds {
            ids: config
                .phoneme_id_map
                .iter()
                .filter_map(|(k, v)| {
                    let mut chars = k.chars();
                    let c = chars.next()?;
                    chars.next().is_none().then(|| (c, v.clone()))
                })
                .collect(),
            start: get("^"),
            end: get("$"),
            pad: get("_"),
        }
    }

    /// The ids of `phonemes`, and how many of its characters the voice
    /// does not know (left out).
    pub fn ids(&self, phonemes: &str) -> (Vec<i64>, usize) {
        let mut ids = self.start.clone();
        ids.extend(&self.pad);
        let mut unknown = 0;
        for c in phonemes.chars() {
            match self.ids.get(&c) {
                Some(id) => {
                    ids.extend(id);
                    ids.extend(&self.pad);
                }
                None => unknown += 1,
            }
        }
        ids.extend(&self.end);
        (ids, unknown)
    }
}

/// Joins espeak-ng's clauses the way Piper does: each clause's phonemes,
/// then the punctuation that ended it, then a space before the next.
pub fn join_clauses(clauses: &[(String, Option<char>)]) -> String {
    let mut out = String::new();
    for (phonemes, punctuation) in clauses {
        if !out.is_empty() && !out.ends_with(' ') {
            out.push(' ');
        }
        out.push_str(phonemes);
        if let Some(p) = punctuation {
            out.push(*p);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> VoiceConfig {
        VoiceConfig::parse(
            r#"{"audio": {"sample_rate": 22050}, "espeak": {"voice": "en-us"},
                "inference": {"noise_scale": 0.667, "length_scale": 1, "noise_w": 0.8},
                "phoneme_type": "espeak", "num_speakers": 1,
                "phoneme_id_map": {"_": [0], "^": [1], "$": [2], " ": [3], ",": [8],
                                   "h": [20], "ə": [59], "l": [24], "ˈ": [120], "o": [27], "ʊ": [100]}}"#,
        )
        .unwrap()
    }

    #[test]
    fn phonemes_become_ids_between_start_and_end_with_pads() {
        let ids = PhonemeIds::new(&config());
        assert_eq!(
            ids.ids("həlˈoʊ,"),
            (
                vec![1, 0, 20, 0, 59, 0, 24, 0, 120, 0, 27, 0, 100, 0, 8, 0, 2],
                0
            )
        );
        let (with_unknown, unknown) = ids.ids("hx");
        assert_eq!((with_unknown, unknown), (vec![1, 0, 20, 0, 2], 1));
    }

    #[test]
    fn clauses_keep_their_punctuation() {
        let clauses = vec![
            ("həlˈoʊ".to_string(), Some(',')),
            ("wˈɜːld".to_string(), Some('.')),
        ];
        assert_eq!(join_clauses(&clauses), "həlˈoʊ, wˈɜːld.");
    }

    #[test]
    fn a_config_without_the_markers_or_of_another_kind_is_refused() {
        let error = VoiceConfig::parse(
            r#"{"audio": {"sample_rate": 22050}, "espeak": {"voice": "en-us"},
                "inference": {"noise_scale": 0.6, "length_scale": 1, "noise_w": 0.8},
                "phoneme_id_map": {"_": [0], "^": [1]}}"#,
        )
        .unwrap_err();
        assert!(error.contains("\"$\""), "{error}");
        let error = VoiceConfig::parse(
            r#"{"audio": {"sample_rate": 22050}, "espeak": {"voice": "en-us"},
                "inference": {"noise_scale": 0.6, "length_scale": 1, "noise_w": 0.8},
                "phoneme_type": "text", "phoneme_id_map": {"_": [0], "^": [1], "$": [2]}}"#,
        )
        .unwrap_err();
        assert!(error.contains("only espeak voices"), "{error}");
        assert!(VoiceConfig::parse("{").is_err());
    }
}
