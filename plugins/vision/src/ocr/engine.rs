//! The OCR engine: detector, optional angle classifier and recogniser,
//! all run by the host's model service.
//!
//! The host optimises a model for fixed input shapes (tract cannot run
//! these graphs with a symbolic width: a `Reshape` in the recogniser
//! needs it), so the engine asks for one plan per detector input size
//! and per padded line width ([`recognize::WIDTH_STEP`]); the host shares
//! each plan between every node and session of the process.

use std::{collections::HashMap, path::PathBuf};

use hark_sdk::{
    inference::{DType, Inference, Model, Tensor, TensorSpec},
    Error,
};
use image::RgbImage;

use super::{
    detect::{self, DetectSettings},
    layout::TextBox,
    recognize::{self, Charset},
};

/// The model files of one OCR set.
#[derive(Debug, Clone)]
pub struct ModelFiles {
    /// The DB text detector.
    pub det: PathBuf,
    /// The CTC recogniser (its metadata carries the character table).
    pub rec: PathBuf,
    /// The 0°/180° text-line classifier, if used.
    pub cls: Option<PathBuf>,
}

/// Engine settings.
#[derive(Debug, Clone, Copy)]
pub struct EngineSettings {
    /// The detector's.
    pub detect: DetectSettings,
    /// Lines recognised with a lower mean probability are dropped.
    pub min_confidence: f32,
}

/// The classifier's input size and the probability it needs to turn a
/// line over (RapidOCR's `cls_image_shape`, `cls_thresh`).
const CLS_WIDTH: u32 = 192;
const CLS_THRESH: f32 = 0.9;

/// Where the time of the last [`Engine::read`] went.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadTimings {
    /// The detector: the input tensor and the model run.
    pub detector: std::time::Duration,
    /// The detector's post-processing: boxes from the probability map.
    pub boxes: std::time::Duration,
    /// Every line: crop, angle classifier, recogniser runs, decoding.
    pub lines: std::time::Duration,
}

/// Reads text in images.
pub struct Engine {
    inference: Inference,
    files: ModelFiles,
    settings: EngineSettings,
    charset: Charset,
    detectors: HashMap<(u32, u32), Model>,
    recognizers: HashMap<u32, Model>,
    classifier: Option<Model>,
    timings: ReadTimings,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("files", &self.files)
            .finish()
    }
}

fn image_input(width: u32, height: u32, batch: u32) -> [TensorSpec; 1] {
    [TensorSpec {
        name: "x".into(),
        dtype: DType::F32,
        shape: vec![i64::from(batch), 3, i64::from(height), i64::from(width)].into(),
    }]
}

impl Engine {
    /// Loads the recogniser (to read its character table) and checks
    /// that the other files exist; plans for other shapes load on use.
    pub fn new(
        inference: Inference,
        files: ModelFiles,
        settings: EngineSettings,
    ) -> Result<Engine, Error> {
        for path in [Some(&files.det), Some(&files.rec), files.cls.as_ref()]
            .into_iter()
            .flatten()
        {
            if !path.is_file() {
                return Err(Error::config(format!("the OCR model {} is missing", path.display()))
                    .with_hint("run `hark models fetch ppocr-v4` (or the set named in `models`), or set `det`/`rec`/`cls` to the files"));
            }
        }
        let first_width = recognize::padded_width(320);
        let rec =
            inference.load_model(&files.rec, &image_input(first_width, recognize::HEIGHT, 1))?;
        let character = rec.metadata("character")?.ok_or_else(|| {
            Error::config(format!(
                "the recogniser {} has no `character` entry in its metadata, so its output cannot be read as text",
                files.rec.display()
            ))
            .with_hint("use a PP-OCR recognition model exported with its character table (those `hark models fetch ppocr-v4` installs have one)")
        })?;
        let charset = Charset::from_metadata(&character);
        if charset.is_empty() {
            return Err(Error::config(format!(
                "the recogniser {} has an empty character table",
                files.rec.display()
            )));
        }
        if let Some(&classes) = rec.outputs().first().and_then(|o| o.shape.last()) {
            if classes > 0 && classes as usize != charset.len() {
                return Err(Error::config(format!(
                    "the recogniser {} gives {classes} classes but its character table has {} (with blank and space)",
                    files.rec.display(),
                    charset.len()
                )));
            }
        }
        let mut recognizers = HashMap::new();
        recognizers.insert(first_width, rec);
        let classifier = match &files.cls {
            Some(path) => {
                Some(inference.load_model(path, &image_input(CLS_WIDTH, recognize::HEIGHT, 1))?)
            }
            None => None,
        };
        Ok(Engine {
            inference,
            files,
            settings,
            charset,
            detectors: HashMap::new(),
            recognizers,
            classifier,
            timings: ReadTimings::default(),
        })
    }

    /// The text boxes in `image`, recognised, in detection order (see
    /// [`super::layout`] for reading order).
    pub fn read(&mut self, image: &RgbImage) -> Result<Vec<TextBox>, Error> {
        let detected = self.detect(image)?;
        let started = std::time::Instant::now();
        let mut lines = Vec::new();
        for (quad, _) in detected {
            let mut line = recognize::crop(image, &quad);
            if self.upside_down(&line)? {
                line = image::imageops::rotate180(&line);
            }
            let width = recognize::padded_width(recognize::scaled_width(&line));
            self.recognizer(width)?;
            lines.push((quad, line, width));
        }
        // Lines are independent: read them on every core at once (tract
        // gains less from splitting one small run between threads).
        let workers = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(lines.len())
            .max(1);
        let (recognizers, charset) = (&self.recognizers, &self.charset);
        let read_line = |line: &RgbImage, width: u32| -> Result<(String, f32), Error> {
            recognize_with(&recognizers[&width], charset, line, width)
        };
        let results: Vec<Result<(String, f32), Error>> = if workers <= 1 {
            lines
                .iter()
                .map(|(_, line, width)| read_line(line, *width))
                .collect()
        } else {
            let mut slots: Vec<Option<Result<(String, f32), Error>>> =
                (0..lines.len()).map(|_| None).collect();
            std::thread::scope(|scope| {
                let chunks: Vec<_> = slots
                    .chunks_mut(lines.len().div_ceil(workers))
                    .enumerate()
                    .collect();
                let per = lines.len().div_ceil(workers);
                for (k, chunk) in chunks {
                    let lines = &lines[k * per..];
                    scope.spawn(move || {
                        for (slot, (_, line, width)) in chunk.iter_mut().zip(lines) {
                            *slot = Some(read_line(line, *width));
                        }
                    });
                }
            });
            slots
                .into_iter()
                .map(|s| s.expect("every line read"))
                .collect()
        };
        self.timings.lines = started.elapsed();
        let mut found = Vec::new();
        for ((quad, _, _), result) in lines.into_iter().zip(results) {
            let (text, confidence) = result?;
            if !text.is_empty() && confidence >= self.settings.min_confidence {
                found.push(TextBox {
                    text,
                    confidence,
                    quad,
                });
            }
        }
        Ok(found)
    }

    fn detect(&mut self, image: &RgbImage) -> Result<Vec<(super::geometry::Quad, f32)>, Error> {
        let settings = self.settings.detect;
        let (w, h) = detect::input_size(image.width(), image.height(), &settings);
        let model = match self.detectors.entry((w, h)) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => e.insert(
                self.inference
                    .load_model(&self.files.det, &image_input(w, h, 1))?,
            ),
        };
        let started = std::time::Instant::now();
        let input = Tensor::f32(
            &[1, 3, h as usize, w as usize],
            detect::input_tensor(image, w, h),
        );
        let output = model.run(vec![input])?;
        self.timings.detector = started.elapsed();
        let started = std::time::Instant::now();
        let map = only_f32(&output, "detector")?;
        let (map_h, map_w) = match output[0].shape.as_slice() {
            [.., mh, mw] => (*mh as usize, *mw as usize),
            _ => return Err(Error::failed("the detector's output is not a map")),
        };
        let boxes = detect::boxes(map, map_w, map_h, image.width(), image.height(), &settings);
        self.timings.boxes = started.elapsed();
        Ok(boxes)
    }

    /// Where the time of the last [`Engine::read`] went.
    pub fn last_timings(&self) -> ReadTimings {
        self.timings
    }

    fn upside_down(&mut self, line: &RgbImage) -> Result<bool, Error> {
        let Some(classifier) = &self.classifier else {
            return Ok(false);
        };
        // The classifier takes lines as the recogniser does, at its own width.
        let input = recognize::input_tensor(line, CLS_WIDTH);
        let output = classifier.run(vec![Tensor::f32(
            &[1, 3, recognize::HEIGHT as usize, CLS_WIDTH as usize],
            input,
        )])?;
        let probs = only_f32(&output, "classifier")?;
        Ok(probs.len() >= 2 && probs[1] > probs[0] && probs[1] > CLS_THRESH)
    }

    /// The recogniser's plan for inputs `width` wide (loaded on first use).
    fn recognizer(&mut self, width: u32) -> Result<&Model, Error> {
        Ok(match self.recognizers.entry(width) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => e.insert(
                self.inference
                    .load_model(&self.files.rec, &image_input(width, recognize::HEIGHT, 1))?,
            ),
        })
    }
}

/// Reads one upright line with the plan for its padded `width`.
fn recognize_with(
    model: &Model,
    charset: &Charset,
    line: &RgbImage,
    width: u32,
) -> Result<(String, f32), Error> {
    let input = Tensor::f32(
        &[1, 3, recognize::HEIGHT as usize, width as usize],
        recognize::input_tensor(line, width),
    );
    let output = model.run(vec![input])?;
    let probs = only_f32(&output, "recogniser")?;
    let steps = match output[0].shape.as_slice() {
        [_, steps, classes] if *classes as usize == charset.len() => *steps as usize,
        shape => {
            return Err(Error::failed(format!(
                "the recogniser gave shape {shape:?}, not [1, steps, {}]",
                charset.len()
            )))
        }
    };
    Ok(charset.decode(probs, steps))
}

fn only_f32<'a>(outputs: &'a [Tensor], what: &str) -> Result<&'a [f32], Error> {
    outputs
        .first()
        .and_then(Tensor::as_f32)
        .ok_or_else(|| Error::failed(format!("the {what} gave no f32 output")))
}
