//! `hark eval`: a pipeline run over labelled recordings, and scored.
//!
//! The data goes: label files → [`labels::Case`]s (`labels`) → one run of
//! the pipeline per recording, with its input node reading that file
//! (`observe`: taps time each end of speech, transcript and intent) → a
//! [`ClipResult`] per recording → [`Scores`] (`score`: command acceptance,
//! intent accuracy, slot errors, word error rate, latency percentiles,
//! real-time factor, defective transcripts).
//!
//! Only the part of the pipeline that leads to transcripts and intents
//! runs ([`Pipeline::upstream_of`]): replies are neither spoken nor
//! written. Every recording is a run of its own, so that no state (a
//! VAD's, a dialogue's) carries over from one to the next.

pub mod labels;
mod observe;
pub mod score;

use std::{
    collections::BTreeMap,
    path::Path,
    sync::{atomic::AtomicBool, Arc},
};

use serde::Serialize;

use crate::{
    loader::PluginSet,
    pipeline::{self, PipelineSource},
};
pub use labels::{Case, Command};
use observe::{observe, Watch};
pub use observe::{Recognised, Utterance};
use score::{defect, percentile, same_value, word_errors, Defect};

/// A pipeline made ready to run on one recording after another.
pub struct Evaluator<'a> {
    plugins: &'a PluginSet,
    source: PipelineSource,
    input: String,
    watch: Watch,
}

/// Why a pipeline cannot be evaluated.
#[derive(Debug)]
pub enum SetupError {
    /// The pipeline is invalid: diagnostics, rendered.
    Invalid(String),
    /// Something else, said in a sentence.
    Other(String),
}

impl<'a> Evaluator<'a> {
    /// Checks `source` (with its `--set` overrides) for evaluation: valid,
    /// with a node `input` that reads a file (`path`), and a transcript or
    /// an intent to watch. `realtime` feeds each recording at its own pace.
    pub fn new(
        plugins: &'a PluginSet,
        mut source: PipelineSource,
        input: &str,
        realtime: bool,
        color: bool,
    ) -> Result<Evaluator<'a>, SetupError> {
        let render = |source: &PipelineSource, diagnostics: &[pipeline::Diagnostic]| {
            SetupError::Invalid(source.sources().render(diagnostics, color))
        };
        let pipeline = pipeline::check(&source, plugins).map_err(|d| render(&source, &d))?;
        let Some(node) = pipeline.nodes.iter().find(|n| n.name == input) else {
            return Err(SetupError::Other(format!(
                "the pipeline has no node `{input}` to read the recordings (nodes: {}); name the node that reads audio with --input NODE",
                pipeline
                    .nodes
                    .iter()
                    .map(|n| n.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        if !node.kind.config.iter().any(|f| f.name == "path") {
            return Err(SetupError::Other(format!(
                "node `{input}` ({}/{}) has no `path` setting, so it cannot read a recording; use an `audio` input or wav-reader there",
                node.plugin, node.kind.name
            )));
        }
        if realtime {
            if !node.kind.config.iter().any(|f| f.name == "realtime") {
                return Err(SetupError::Other(format!(
                    "node `{input}` ({}/{}) has no `realtime` setting",
                    node.plugin, node.kind.name
                )));
            }
            source.set_args.push(format!("{input}.realtime=true"));
        }
        let Some(watch) = Watch::of(&pipeline) else {
            return Err(SetupError::Other(
                "the pipeline has nothing to score: no speech-to-text node (audio in, text out) and no intent output".into(),
            ));
        };
        Ok(Evaluator {
            plugins,
            source,
            input: input.to_string(),
            watch,
        })
    }

    /// Whether the pipeline gives transcripts, and intents.
    pub fn gives(&self) -> (bool, bool) {
        (self.watch.has_transcripts(), self.watch.has_intents())
    }

    /// Runs the pipeline on one recording.
    pub fn run(&self, case: &Case, stop: Arc<AtomicBool>) -> ClipResult {
        let audio_seconds = wav_seconds(&case.audio);
        let mut result = ClipResult {
            name: case.name.clone(),
            audio_seconds: audio_seconds.unwrap_or(0.0),
            ..ClipResult::default()
        };
        let mut source = self.source.clone();
        source
            .set_args
            .push(format!("{}.path={}", self.input, ron_string(&case.audio)));
        let pipeline = match pipeline::check(&source, self.plugins) {
            Ok(p) => p,
            Err(d) => {
                result.failures.push(source.sources().render(&d, false));
                return result;
            }
        };
        let (part, _) = pipeline.upstream_of(&self.watch.result_nodes());
        let watch = Watch::of(&part).expect("the part keeps the watched nodes");
        match observe(&part, self.plugins, &watch, stop) {
            Ok(observation) => {
                result.processing_seconds = observation.seconds;
                result.utterances = observation.utterances;
                result.failures = observation.failures;
            }
            Err(e) => result.failures.push(e),
        }
        result
    }
}

/// A path as a RON string, for a `--set` value.
fn ron_string(path: &Path) -> String {
    let text = path.display().to_string();
    format!("{:?}", text)
}

/// The length of a WAV file, if it is one.
fn wav_seconds(path: &Path) -> Option<f64> {
    let reader = hound::WavReader::open(path).ok()?;
    let spec = reader.spec();
    Some(f64::from(reader.duration()) / f64::from(spec.sample_rate))
}

/// What the pipeline gave for one recording.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ClipResult {
    /// The recording's name in the labels.
    pub name: String,
    /// Its length.
    pub audio_seconds: f64,
    /// Time the pipeline spent on it, start-up excluded.
    pub processing_seconds: f64,
    /// What each utterance gave.
    pub utterances: Vec<Utterance>,
    /// Node failures, and why the run could not happen if it could not.
    pub failures: Vec<String>,
}

impl ClipResult {
    /// All final transcripts, joined.
    pub fn transcript(&self) -> String {
        self.utterances
            .iter()
            .filter_map(|u| u.transcript.as_deref())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The recognised commands (intents other than `unknown`).
    pub fn commands(&self) -> Vec<&Recognised> {
        self.utterances
            .iter()
            .filter_map(|u| u.intent.as_ref())
            .filter(|i| i.intent != "unknown")
            .collect()
    }

    /// The clip's answer: its one recognised command, the first of
    /// several, or `unknown`.
    pub fn intent(&self) -> Option<&Recognised> {
        self.commands()
            .first()
            .copied()
            .or_else(|| self.utterances.iter().find_map(|u| u.intent.as_ref()))
    }

    /// Whether exactly one command was recognised, and it is `expected`,
    /// intent and every slot.
    pub fn accepted(&self, expected: &Command) -> bool {
        match self.commands().as_slice() {
            [one] => {
                one.intent == expected.intent
                    && one.slots.len() == expected.slots.len()
                    && expected
                        .slots
                        .iter()
                        .all(|(k, v)| one.slots.get(k).is_some_and(|g| same_value(v, g)))
            }
            _ => false,
        }
    }

    /// What is wrong with the transcript on its face, if anything.
    pub fn defect(&self) -> Option<Defect> {
        self.utterances
            .iter()
            .filter_map(|u| u.transcript.as_deref())
            .find_map(defect)
    }
}

/// Errors of one slot over all recordings.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct SlotErrors {
    /// Recordings whose label has the slot.
    pub expected: usize,
    /// Labelled but not found.
    pub missing: usize,
    /// Found with another value.
    pub wrong: usize,
    /// Found but not labelled.
    pub extra: usize,
}

/// 50th and 95th percentiles, in ms, of `count` measurements.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Latency {
    /// Measurements.
    pub count: usize,
    /// Median.
    pub p50_ms: Option<f64>,
    /// 95th percentile.
    pub p95_ms: Option<f64>,
    /// Largest.
    pub max_ms: Option<f64>,
}

impl Latency {
    fn of(values: &[f64]) -> Latency {
        Latency {
            count: values.len(),
            p50_ms: percentile(values, 50.0),
            p95_ms: percentile(values, 95.0),
            max_ms: percentile(values, 100.0),
        }
    }
}

/// The scores of a run over all recordings.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Scores {
    /// Recordings.
    pub clips: usize,
    /// Their total length.
    pub audio_seconds: f64,
    /// Recordings with a labelled command.
    pub labelled_commands: usize,
    /// Of those, recognised exactly once with the right intent and every
    /// slot right.
    pub commands_accepted: usize,
    /// Of those, whose (first) recognised intent is the labelled one.
    pub intents_right: usize,
    /// Errors per slot name.
    pub slots: BTreeMap<String, SlotErrors>,
    /// Word edits against the reference transcripts, and their words.
    pub word_edits: usize,
    /// Words of the reference transcripts.
    pub reference_words: usize,
    /// Recordings that became more than one utterance.
    pub split: usize,
    /// Recordings with no transcript at all.
    pub silent: usize,
    /// Transcripts with a decoder loop.
    pub loops: usize,
    /// Transcripts with an undecodable character (U+FFFD).
    pub broken_characters: usize,
    /// Recordings on which a node failed.
    pub failed: usize,
    /// End of speech → final transcript.
    pub transcript_latency: Latency,
    /// End of speech → intent.
    pub intent_latency: Latency,
    /// Processing time over audio time.
    pub real_time_factor: f64,
}

impl Scores {
    /// Share of labelled commands accepted.
    pub fn acceptance(&self) -> Option<f64> {
        (self.labelled_commands > 0)
            .then(|| self.commands_accepted as f64 / self.labelled_commands as f64)
    }

    /// Share of labelled commands whose intent is right.
    pub fn intent_accuracy(&self) -> Option<f64> {
        (self.labelled_commands > 0)
            .then(|| self.intents_right as f64 / self.labelled_commands as f64)
    }

    /// Word error rate, when reference transcripts were given.
    pub fn word_error_rate(&self) -> Option<f64> {
        (self.reference_words > 0).then(|| self.word_edits as f64 / self.reference_words as f64)
    }
}

/// Scores `results` (one per case, in order) against `cases`.
pub fn score(cases: &[Case], results: &[ClipResult]) -> Scores {
    let mut s = Scores {
        clips: results.len(),
        ..Scores::default()
    };
    let (mut transcript_ms, mut intent_ms) = (Vec::new(), Vec::new());
    let mut processing = 0.0;
    for (case, result) in cases.iter().zip(results) {
        s.audio_seconds += result.audio_seconds;
        processing += result.processing_seconds;
        if !result.failures.is_empty() {
            s.failed += 1;
        }
        if result.utterances.len() > 1 {
            s.split += 1;
        }
        let transcript = result.transcript();
        if transcript.trim().is_empty() {
            s.silent += 1;
        }
        match result.defect() {
            Some(Defect::Loop) => s.loops += 1,
            Some(Defect::BrokenCharacter) => s.broken_characters += 1,
            None => {}
        }
        for u in &result.utterances {
            transcript_ms.extend(u.transcript_ms);
            intent_ms.extend(u.intent_ms);
        }
        if let Some(reference) = &case.transcript {
            let (edits, words) = word_errors(reference, &transcript);
            s.word_edits += edits;
            s.reference_words += words;
        }
        let Some(expected) = &case.command else {
            continue;
        };
        s.labelled_commands += 1;
        if result.accepted(expected) {
            s.commands_accepted += 1;
        }
        let got = result.intent();
        if got.is_some_and(|g| g.intent == expected.intent) {
            s.intents_right += 1;
        }
        let no_slots = BTreeMap::new();
        let got_slots = got.map_or(&no_slots, |g| &g.slots);
        for (name, value) in &expected.slots {
            let e = s.slots.entry(name.clone()).or_default();
            e.expected += 1;
            match got_slots.get(name) {
                None => e.missing += 1,
                Some(g) if !same_value(value, g) => e.wrong += 1,
                Some(_) => {}
            }
        }
        for name in got_slots.keys() {
            if !expected.slots.contains_key(name) {
                s.slots.entry(name.clone()).or_default().extra += 1;
            }
        }
    }
    s.transcript_latency = Latency::of(&transcript_ms);
    s.intent_latency = Latency::of(&intent_ms);
    if s.audio_seconds > 0.0 {
        s.real_time_factor = processing / s.audio_seconds;
    }
    s
}

/// Word agreement of `results`' transcripts with `reference`'s (another
/// run over the same cases): 1 − their word error rate.
pub fn agreement(results: &[ClipResult], reference: &[ClipResult]) -> Option<f64> {
    let (mut edits, mut words) = (0, 0);
    for (r, base) in results.iter().zip(reference) {
        let (e, w) = word_errors(&base.transcript(), &r.transcript());
        edits += e;
        words += w;
    }
    (words > 0).then(|| 1.0 - edits as f64 / words as f64)
}
