//! The door for the `ocr` fuzz target (`hark-tests`' `src/fuzz.rs`): the
//! post-processing that turns the models' outputs into text, run on
//! outputs made of arbitrary bytes. Not part of the plugin's API.
//!
//! A model file is input Hark does not control: a detector may give a
//! map full of NaN, a recogniser a table no real line produces. None of
//! that may panic, and every box must stay inside the image.

use image::{Rgb, RgbImage};

use super::{
    detect::{self, DetectSettings},
    layout::{self, TextBox},
    recognize::{self, Charset},
};

/// Characters of the recogniser's table (CTC blank and space are added).
const CHARACTERS: &str = "a\nb\nc\n1\n中\né";

/// Runs DB post-processing, cropping, the recogniser's input, CTC
/// decoding and reading order on model outputs taken from `data`;
/// panics when an invariant breaks.
///
/// Layout: map width and height (1 byte each, 1..=48), image width and
/// height (1 byte each, 1..=256), the map (one byte per pixel), then the
/// recogniser's probabilities (one byte each). A byte `b` is the
/// probability `b / 254`; 255 is NaN.
pub fn post_processing(data: &[u8]) {
    let [mw, mh, iw, ih, rest @ ..] = data else {
        return;
    };
    let (map_w, map_h) = (1 + usize::from(*mw % 48), 1 + usize::from(*mh % 48));
    let (image_w, image_h) = (1 + u32::from(*iw), 1 + u32::from(*ih));
    let probability = |b: u8| {
        if b == 255 {
            f32::NAN
        } else {
            f32::from(b) / 254.0
        }
    };
    let mut map: Vec<f32> = rest
        .iter()
        .take(map_w * map_h)
        .map(|&b| probability(b))
        .collect();
    map.resize(map_w * map_h, 0.0);
    let probs: Vec<f32> = rest
        .iter()
        .skip(map_w * map_h)
        .map(|&b| probability(b))
        .collect();

    let settings = DetectSettings::default();
    let found = detect::boxes(&map, map_w, map_h, image_w, image_h, &settings);
    assert!(found.len() <= settings.max_candidates);
    let image = RgbImage::from_fn(image_w, image_h, |x, y| {
        Rgb([(x * 7) as u8, (y * 13) as u8, ((x + y) * 3) as u8])
    });
    let charset = Charset::from_metadata(CHARACTERS);
    let classes = charset.len();
    let mut boxes = Vec::new();
    for (i, (quad, _score)) in found.iter().enumerate() {
        for p in quad.0 {
            assert!(
                (0.0..=image_w as f32).contains(&p.x) && (0.0..=image_h as f32).contains(&p.y),
                "a corner outside the {image_w} × {image_h} image: {quad:?}"
            );
        }
        let line = recognize::crop(&image, quad);
        let padded = recognize::padded_width(recognize::scaled_width(&line));
        assert!(padded > 0 && padded <= recognize::MAX_WIDTH + recognize::WIDTH_STEP);
        let input = recognize::input_tensor(&line, padded);
        assert_eq!(input.len(), (3 * recognize::HEIGHT * padded) as usize);
        assert!(input.iter().all(|v| (-1.0..=1.0).contains(v)));

        // Each box reads its own slice of the recogniser's table.
        let steps = probs.len() / classes / found.len().max(1);
        let table = &probs[i * steps * classes..(i + 1) * steps * classes];
        let (text, confidence) = charset.decode(table, steps);
        assert!(
            (0.0..=1.0).contains(&confidence),
            "confidence {confidence} for {text:?}"
        );
        assert!(text.chars().filter(|&c| c != ' ').count() <= steps);
        assert_eq!(text, text.trim());
        boxes.push(TextBox {
            text,
            confidence,
            quad: *quad,
        });
    }

    let count = boxes.len();
    let rows = layout::rows(boxes);
    assert_eq!(
        rows.iter().map(Vec::len).sum::<usize>(),
        count,
        "every box in a row"
    );
    for row in &rows {
        assert!(!row.is_empty());
        assert!(row.windows(2).all(|w| w[0].quad.left() <= w[1].quad.left()));
    }
    assert_eq!(layout::text(&rows).split('\n').count(), rows.len().max(1));
    match super::lines_value(&rows) {
        hark_sdk::Value::List(lines) => assert_eq!(lines.len(), count),
        other => panic!("lines is not a list: {other:?}"),
    }
}
