//! Text recognition: a detected box cut out upright, scaled to the
//! recogniser's height, and its per-column class probabilities decoded
//! greedily (CTC) with the character table the model file carries.

use image::{imageops::FilterType, Rgb, RgbImage};

use super::geometry::{distance, Quad};

/// The recogniser's input height.
pub const HEIGHT: u32 = 48;

/// Widths are padded up to a multiple of this, so that a handful of
/// fixed-shape plans serve every line (the host optimises a model for
/// one input shape; see `Ocr::recognizer`).
pub const WIDTH_STEP: u32 = 64;

/// The widest input (longer lines are squeezed; RapidOCR's batches of
/// one line are as wide as the line, this caps memory and plan count).
pub const MAX_WIDTH: u32 = 2560;

/// The part of `image` inside `quad`, turned upright: its top edge
/// becomes the crop's top row (PaddleOCR's `get_rotate_crop_image`,
/// with bilinear sampling). A crop much taller than wide is taken as
/// vertical text and turned a quarter.
pub fn crop(image: &RgbImage, quad: &Quad) -> RgbImage {
    let [a, b, c, d] = quad.0;
    let w = distance(a, b).max(distance(d, c)).round().max(1.0) as u32;
    let h = distance(a, d).max(distance(b, c)).round().max(1.0) as u32;
    let mut out = RgbImage::new(w, h);
    for v in 0..h {
        for u in 0..w {
            let (fu, fv) = (u as f32 / w as f32, v as f32 / h as f32);
            // Bilinear interpolation of the corners.
            let x = a.x + (b.x - a.x) * fu + (d.x - a.x) * fv;
            let y = a.y + (b.y - a.y) * fu + (d.y - a.y) * fv;
            out.put_pixel(u, v, sample(image, x, y));
        }
    }
    if h as f32 >= 1.5 * w as f32 {
        image::imageops::rotate270(&out)
    } else {
        out
    }
}

/// Bilinear sample at `(x, y)`, edges replicated.
fn sample(image: &RgbImage, x: f32, y: f32) -> Rgb<u8> {
    let (w, h) = (image.width() as i64, image.height() as i64);
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let px = |xi: i64, yi: i64| {
        image
            .get_pixel(xi.clamp(0, w - 1) as u32, yi.clamp(0, h - 1) as u32)
            .0
    };
    let (x0, y0) = (x0 as i64, y0 as i64);
    let (p00, p10, p01, p11) = (
        px(x0, y0),
        px(x0 + 1, y0),
        px(x0, y0 + 1),
        px(x0 + 1, y0 + 1),
    );
    Rgb(std::array::from_fn(|c| {
        let top = f32::from(p00[c]) * (1.0 - fx) + f32::from(p10[c]) * fx;
        let bottom = f32::from(p01[c]) * (1.0 - fx) + f32::from(p11[c]) * fx;
        (top * (1.0 - fy) + bottom * fy).round().clamp(0.0, 255.0) as u8
    }))
}

/// The width a crop gets at the recogniser's height (before padding).
pub fn scaled_width(crop: &RgbImage) -> u32 {
    let ratio = crop.width() as f32 / crop.height().max(1) as f32;
    ((HEIGHT as f32 * ratio).ceil() as u32).clamp(1, MAX_WIDTH)
}

/// The padded input width for a crop `scaled` pixels wide.
pub fn padded_width(scaled: u32) -> u32 {
    scaled.div_ceil(WIDTH_STEP).max(1) * WIDTH_STEP
}

/// `crop` as the recogniser's input `[1, 3, 48, padded]`: scaled to the
/// height, BGR planes in [-1, 1], padded on the right with zeros (what
/// PaddleOCR pads with).
pub fn input_tensor(crop: &RgbImage, padded: u32) -> Vec<f32> {
    let width = scaled_width(crop).min(padded);
    let resized = image::imageops::resize(crop, width, HEIGHT, FilterType::Triangle);
    let plane = (padded * HEIGHT) as usize;
    let mut out = vec![0f32; plane * 3];
    for (x, y, px) in resized.enumerate_pixels() {
        let i = (y * padded + x) as usize;
        for (c, &v) in px.0.iter().enumerate() {
            out[(2 - c) * plane + i] = f32::from(v) / 127.5 - 1.0;
        }
    }
    out
}

/// The recogniser's classes: CTC blank, the model's `character` metadata
/// (one per line), then a space.
#[derive(Debug, Clone)]
pub struct Charset {
    classes: Vec<String>,
}

impl Charset {
    /// From the `character` metadata entry of a recogniser.
    pub fn from_metadata(character: &str) -> Charset {
        let mut classes = vec![String::new()];
        classes.extend(character.lines().map(str::to_string));
        classes.push(" ".into());
        Charset { classes }
    }

    /// How many classes (the model's output width must match).
    pub fn len(&self) -> usize {
        self.classes.len()
    }

    /// Whether there are no characters besides blank and space.
    pub fn is_empty(&self) -> bool {
        self.classes.len() <= 2
    }

    /// Greedy CTC decoding of `steps × classes` probabilities: the most
    /// likely class per step, repeats merged, blanks dropped. The
    /// confidence is the mean probability of the characters kept (0 for
    /// none), as PaddleOCR reports it.
    pub fn decode(&self, probs: &[f32], steps: usize) -> (String, f32) {
        let n = self.classes.len();
        // Each character kept, with the step it was read at.
        let mut kept: Vec<(&str, usize)> = Vec::new();
        let mut sum = 0f32;
        let mut previous = 0usize;
        for (t, step) in probs.chunks_exact(n).take(steps).enumerate() {
            let (best, p) =
                step.iter()
                    .copied()
                    .enumerate()
                    .fold(
                        (0, f32::NEG_INFINITY),
                        |acc, (i, p)| if p > acc.1 { (i, p) } else { acc },
                    );
            if best != 0 && best != previous {
                kept.push((&self.classes[best], t));
                sum += p;
            }
            previous = best;
        }
        let confidence = if kept.is_empty() {
            0.0
        } else {
            sum / kept.len() as f32
        };
        (restore_spaces(&kept).trim().to_string(), confidence)
    }
}

/// The text of `kept` characters, with the spaces the model dropped put
/// back. PP-OCR's recognisers (trained mostly on Chinese, which has no
/// spaces) sometimes read "close the door" as "closethedoor" (RapidOCR
/// prints it so), but the pause is still there in the steps: inside a run
/// of Latin letters and digits with no space of its own (at least
/// `RUN` long), a step from one character to the next of at least 1.5 ×
/// the line's median and at least 5 steps is taken as a word boundary.
/// Runs the model spaced itself are left alone.
fn restore_spaces(kept: &[(&str, usize)]) -> String {
    const RUN: usize = 8;
    let latin = |s: &str| s.chars().all(|c| c.is_ascii_alphanumeric());
    let mut gaps: Vec<usize> = kept
        .windows(2)
        .filter(|w| latin(w[0].0) && latin(w[1].0))
        .map(|w| w[1].1 - w[0].1)
        .collect();
    gaps.sort_unstable();
    let usual = gaps.get(gaps.len() / 2).copied().unwrap_or(usize::MAX / 4);
    let mut text = String::new();
    let mut i = 0;
    while i < kept.len() {
        // The run of Latin characters starting here.
        let end = (i..kept.len())
            .find(|&j| !latin(kept[j].0))
            .unwrap_or(kept.len());
        let long = end - i >= RUN;
        for j in i..end.max(i + 1) {
            if long && j > i {
                let gap = kept[j].1 - kept[j - 1].1;
                if gap >= 5 && 2 * gap >= 3 * usual {
                    text.push(' ');
                }
            }
            text.push_str(kept[j].0);
        }
        i = end.max(i + 1);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctc_merges_repeats_and_drops_blanks() {
        let charset = Charset::from_metadata("a\nb\nc");
        assert_eq!(charset.len(), 5); // blank a b c space
                                      // Steps: a a blank a b space c
        let best = [1, 1, 0, 1, 2, 4, 3];
        let mut probs = vec![0.0f32; best.len() * 5];
        for (t, &c) in best.iter().enumerate() {
            probs[t * 5 + c] = 0.8;
            probs[t * 5 + (c + 1) % 5] = 0.2;
        }
        let (text, confidence) = charset.decode(&probs, best.len());
        assert_eq!(text, "aab c");
        assert!((confidence - 0.8).abs() < 1e-6);
        assert_eq!(charset.decode(&[], 0), (String::new(), 0.0));
    }

    #[test]
    fn dropped_spaces_are_put_back_where_the_pause_is() {
        // PP-OCRv4's steps for "Please close the door" at 40 px, spaces
        // dropped by the model (as RapidOCR also reads it).
        let steps = [
            1, 4, 6, 10, 14, 17, 24, 26, 29, 33, 36, 42, 45, 49, 55, 59, 63, 67,
        ];
        let kept: Vec<(&str, usize)> = "Pleaseclosethedoor"
            .char_indices()
            .map(|(i, _)| &"Pleaseclosethedoor"[i..i + 1])
            .zip(steps)
            .collect();
        assert_eq!(restore_spaces(&kept), "Please close the door");
        // A short run, or one the model spaced itself, is left alone.
        let short = [("O", 1), ("K", 9)];
        assert_eq!(restore_spaces(&short), "OK");
        let spaced = [("a", 1), ("b", 9), (" ", 12), ("c", 14)];
        assert_eq!(restore_spaces(&spaced), "ab c");
    }

    #[test]
    fn a_tilted_box_is_cut_out_upright() {
        // A white image with a black bar along a 10° tilted box.
        let mut image = RgbImage::from_pixel(200, 120, Rgb([255, 255, 255]));
        let (s, c) = (-10f32).to_radians().sin_cos();
        let origin = (40.0f32, 80.0f32);
        for u in 0..100 {
            for v in 0..20 {
                let (u, v) = (u as f32, v as f32);
                let x = origin.0 + u * c - v * s;
                let y = origin.1 + u * s + v * c;
                image.put_pixel(x as u32, y as u32, Rgb([0, 0, 0]));
            }
        }
        let at = |u: f32, v: f32| {
            super::super::geometry::Point::new(origin.0 + u * c - v * s, origin.1 + u * s + v * c)
        };
        let quad = Quad([at(0.0, 0.0), at(100.0, 0.0), at(100.0, 20.0), at(0.0, 20.0)]);
        let cut = crop(&image, &quad);
        assert_eq!(cut.dimensions(), (100, 20));
        let dark = cut.pixels().filter(|p| p.0[0] < 128).count();
        assert!(dark as f32 > 0.9 * 2000.0, "{dark} dark pixels of 2000");
        assert_eq!(padded_width(scaled_width(&cut)), 256);
    }
}
