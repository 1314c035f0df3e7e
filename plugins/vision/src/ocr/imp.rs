//! The running `ocr` node: images in, text out.

use hark_sdk::{prelude::*, value_map, TextMessage, Value};
use std::path::PathBuf;

use super::*;

/// The model sets `models` may name: catalog name, detector,
/// recogniser, classifier (files under the models directory).
pub const MODEL_SETS: &[(&str, &str, &str, Option<&str>)] = &[
    (
        "ppocr-v4",
        "ch_PP-OCRv4_det_infer.onnx",
        "ch_PP-OCRv4_rec_infer.onnx",
        Some("ch_ppocr_mobile_v2.0_cls_infer.onnx"),
    ),
    (
        "ppocr-v6-tiny",
        "PP-OCRv6_det_tiny.onnx",
        "PP-OCRv6_rec_tiny.onnx",
        None,
    ),
];

impl OcrSettings {
    /// The model files, under `models_dir` unless overridden.
    pub fn files(&self, models_dir: &std::path::Path) -> ModelFiles {
        let (name, det, rec, cls) = MODEL_SETS
            .iter()
            .find(|s| s.0 == self.models)
            .copied()
            .unwrap_or(MODEL_SETS[0]);
        let pick = |given: &str, default: &str| {
            if given.is_empty() {
                models_dir.join(name).join(default)
            } else {
                PathBuf::from(given)
            }
        };
        let cls = if !self.classify {
            None
        } else if self.cls.is_empty() {
            cls.map(|c| models_dir.join(name).join(c))
        } else {
            Some(PathBuf::from(&self.cls))
        };
        ModelFiles {
            det: pick(&self.det, det),
            rec: pick(&self.rec, rec),
            cls,
        }
    }

    /// The engine's settings.
    pub fn engine(&self) -> EngineSettings {
        EngineSettings {
            detect: DetectSettings {
                min_side: self.min_side,
                max_side: self.max_side,
                thresh: self.thresh,
                box_thresh: self.box_thresh,
                unclip_ratio: self.unclip_ratio,
                ..DetectSettings::default()
            },
            min_confidence: self.min_confidence,
        }
    }
}

/// A running `ocr`.
pub struct OcrNode {
    pub(super) engine: Engine,
    pub(super) ctx: Context,
}

/// The `lines` value for `rows`.
pub fn lines_value(rows: &[Vec<TextBox>]) -> Value {
    let mut lines = Vec::new();
    for (row, boxes) in rows.iter().enumerate() {
        for b in boxes {
            let corners = b
                .quad
                .0
                .iter()
                .flat_map(|p| {
                    [
                        Value::Float(f64::from(p.x.round())),
                        Value::Float(f64::from(p.y.round())),
                    ]
                })
                .collect::<Vec<_>>();
            lines.push(value_map([
                ("text", Value::Str(b.text.as_str().into())),
                ("confidence", Value::Float(f64::from(b.confidence))),
                ("row", Value::Int(row as i64)),
                ("box", Value::List(corners.into())),
            ]));
        }
    }
    Value::List(lines.into())
}

impl Node for OcrNode {
    fn on_message(&mut self, _port: u32, message: Message, out: &mut Outputs) -> Result<(), Error> {
        let Payload::Image(frame) = &message.payload else {
            return Ok(()); // control events: nothing to read
        };
        let image = crate::frames::to_rgb(frame)?;
        let started = std::time::Instant::now();
        let boxes = self.engine.read(&image)?;
        self.ctx
            .gauge_set("ocr_ms", started.elapsed().as_secs_f64() * 1000.0);
        self.ctx.counter_add("lines", boxes.len() as u64);
        let confidence = if boxes.is_empty() {
            1.0
        } else {
            boxes.iter().map(|b| b.confidence).sum::<f32>() / boxes.len() as f32
        };
        let rows = rows(boxes);
        let text = TextMessage {
            text: text(&rows).into(),
            is_final: true,
            language: RString::new(),
            confidence,
        };
        out.emit(
            0,
            Message::new(message.meta, Payload::Text(RBox::new(text))),
        )?;
        out.emit(
            1,
            Message::new(message.meta, Payload::Value(lines_value(&rows))),
        )
    }
}
