//! `ocr`: reads the text in images with PP-OCR (detection, an optional
//! angle classifier, recognition) on the host's model service.
//!
//! ```ron
//! "ocr": (plugin: "vision", kind: "ocr", config: (models: "ppocr-v4")),
//! ```
//!
//! For each image: the `text` output gets one final text message (rows in
//! reading order, one per line; empty when there is no text) and `lines`
//! a list of `{text, confidence, row, box: [x0, y0, … x3, y3]}` maps, the
//! box's corners clockwise from the top-left, in image pixels. Latin and
//! Chinese text (the recognisers' character tables have both).

mod detect;
mod engine;
#[doc(hidden)]
pub mod fuzz;
mod geometry;
mod imp;
mod layout;
mod recognize;

pub use imp::{lines_value, OcrNode, MODEL_SETS};

use hark_sdk::{api::Directory, prelude::*, ConfigIssue};

pub use detect::DetectSettings;
pub use engine::{Engine, EngineSettings, ModelFiles, ReadTimings};
pub use geometry::{Point, Quad};
pub use layout::{rows, text, TextBox};

/// The `ocr` kind.
pub struct Ocr;

/// Settings of `ocr`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OcrSettings {
    /// The model set (`ppocr-v4`, `ppocr-v6-tiny`), as installed by
    /// `hark models fetch`.
    pub models: String,
    /// Detector file, overriding the set's.
    pub det: String,
    /// Recogniser file, overriding the set's.
    pub rec: String,
    /// Classifier file, overriding the set's.
    pub cls: String,
    /// Turn upside-down lines over (needs a classifier).
    pub classify: bool,
    /// The shorter side is scaled up to at least this for detection.
    pub min_side: u32,
    /// The longer side is scaled down to at most this for detection.
    pub max_side: u32,
    /// Probability above which a pixel is text.
    pub thresh: f32,
    /// Mean probability a box needs.
    pub box_thresh: f32,
    /// How far boxes are grown back around the detected kernels.
    pub unclip_ratio: f32,
    /// Lines recognised with a lower confidence are dropped.
    pub min_confidence: f32,
}

impl Default for OcrSettings {
    fn default() -> Self {
        let d = DetectSettings::default();
        OcrSettings {
            models: "ppocr-v4".into(),
            det: String::new(),
            rec: String::new(),
            cls: String::new(),
            classify: false,
            min_side: d.min_side,
            max_side: d.max_side,
            thresh: d.thresh,
            box_thresh: d.box_thresh,
            unclip_ratio: d.unclip_ratio,
            min_confidence: 0.5,
        }
    }
}

impl Settings for OcrSettings {
    fn fields() -> Vec<Field> {
        let sets: Vec<&str> = MODEL_SETS.iter().map(|s| s.0).collect();
        vec![
            Field::choice(
                "models",
                &sets,
                "PP-OCR model set, as `hark models fetch` installs it",
            ),
            Field::path("det", "detector ONNX file; empty: the set's"),
            Field::path(
                "rec",
                "recogniser ONNX file (with its `character` metadata); empty: the set's",
            ),
            Field::path(
                "cls",
                "0°/180° classifier ONNX file; empty: the set's (ppocr-v4 has one)",
            ),
            Field::bool(
                "classify",
                "turn upside-down text lines over before reading them (needs a classifier)",
            ),
            Field::integer(
                "min_side",
                "u32",
                "detection: scale the shorter side up to at least this (736, as RapidOCR)",
            ),
            Field::integer(
                "max_side",
                "u32",
                "detection: scale the longer side down to at most this",
            ),
            Field::float(
                "thresh",
                "f32",
                "detection: probability above which a pixel is text (0..1)",
            ),
            Field::float(
                "box_thresh",
                "f32",
                "detection: mean probability a box needs (0..1)",
            ),
            Field::float(
                "unclip_ratio",
                "f32",
                "detection: how far boxes grow around the detected text (1.2..3)",
            ),
            Field::float(
                "min_confidence",
                "f32",
                "lines read with a lower mean character probability are dropped (0..1)",
            ),
        ]
    }

    fn validate(&self) -> Result<(), ConfigIssue> {
        if !MODEL_SETS.iter().any(|s| s.0 == self.models) {
            return Err(ConfigIssue::field(
                "models",
                format!("unknown OCR model set `{}`", self.models),
            )
            .with_hint("use \"ppocr-v4\" or \"ppocr-v6-tiny\""));
        }
        for (name, value) in [
            ("thresh", self.thresh),
            ("box_thresh", self.box_thresh),
            ("min_confidence", self.min_confidence),
        ] {
            if !(0.0..1.0).contains(&value) {
                return Err(ConfigIssue::field(
                    name,
                    format!("{name} must be within 0..1, not {value}"),
                ));
            }
        }
        if !(1.0..=4.0).contains(&self.unclip_ratio) {
            return Err(ConfigIssue::field(
                "unclip_ratio",
                format!(
                    "unclip_ratio must be within 1..4, not {}",
                    self.unclip_ratio
                ),
            ));
        }
        if !(32..=4096).contains(&self.min_side) || !(self.min_side..=8192).contains(&self.max_side)
        {
            return Err(ConfigIssue::whole(
                "min_side must be within 32..=4096 and max_side within min_side..=8192",
            ));
        }
        Ok(())
    }
}

impl NodeKind for Ocr {
    type Settings = OcrSettings;
    type Instance = OcrNode;

    fn spec() -> KindSpec {
        KindSpec::transform(
            "ocr",
            "Reads the text in images (PP-OCR: detection + recognition)",
        )
        .input(Port::new("image", MessageType::Image))
        .output(
            Port::text("text")
                .doc("the image's text, rows in reading order joined by newlines (empty: none)"),
        )
        .output(
            Port::new("lines", MessageType::Value)
                .optional()
                .doc("list of {text, confidence, row, box: [x0, y0, …, x3, y3]} in reading order"),
        )
    }

    fn create(settings: OcrSettings, ctx: &Context) -> Result<OcrNode, Error> {
        if settings.classify
            && settings.cls.is_empty()
            && settings.files(std::path::Path::new("")).cls.is_none()
        {
            return Err(Error::config(format!(
                "the model set `{}` has no angle classifier",
                settings.models
            ))
            .with_hint("set `classify: false`, or give a classifier in `cls`"));
        }
        let files = settings.files(&ctx.directory(Directory::Models));
        let engine = Engine::new(ctx.inference()?, files, settings.engine())?;
        Ok(OcrNode { engine, ctx: *ctx })
    }
}
