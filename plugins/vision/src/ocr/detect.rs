//! Text detection: the image scaled for PP-OCR's DB detector, and DB
//! post-processing of its probability map into rotated boxes.
//!
//! Follows PaddleOCR's `DBPostProcess` (and RapidOCR's defaults): the map
//! is thresholded and dilated, each connected region becomes its
//! minimum-area rectangle, regions whose mean probability is below
//! `box_thresh` are dropped, and the survivors are grown by
//! `area × unclip_ratio / perimeter` (the detector predicts shrunk text
//! kernels) and scaled back to the image.

use image::RgbImage;

use super::geometry::{min_area_rect, Point, Quad};

/// Detector settings.
#[derive(Debug, Clone, Copy)]
pub struct DetectSettings {
    /// The shorter side is scaled up to at least this many pixels.
    pub min_side: u32,
    /// The longer side is scaled down to at most this many pixels.
    pub max_side: u32,
    /// Probability above which a pixel is text.
    pub thresh: f32,
    /// Mean probability a region needs to count as a box.
    pub box_thresh: f32,
    /// How far boxes are grown back (see the module docs).
    pub unclip_ratio: f32,
    /// At most this many regions are looked at.
    pub max_candidates: usize,
}

impl Default for DetectSettings {
    fn default() -> Self {
        DetectSettings {
            min_side: 736,
            max_side: 2000,
            thresh: 0.3,
            box_thresh: 0.5,
            unclip_ratio: 1.6,
            max_candidates: 1000,
        }
    }
}

/// Boxes narrower or shorter than this (in map pixels) are noise.
const MIN_SIZE: f32 = 3.0;

/// The detector's input size for a `width × height` image: scaled as the
/// settings say, each side rounded to a multiple of 32 (the network
/// halves the resolution five times).
pub fn input_size(width: u32, height: u32, settings: &DetectSettings) -> (u32, u32) {
    let (w, h) = (width as f32, height as f32);
    let mut ratio = 1.0f32;
    let short = w.min(h);
    if short < settings.min_side as f32 {
        ratio = settings.min_side as f32 / short;
    }
    let long = w.max(h) * ratio;
    if long > settings.max_side as f32 {
        ratio *= settings.max_side as f32 / long;
    }
    let round = |v: f32| (((v * ratio) / 32.0).round() as u32).max(1) * 32;
    (round(w), round(h))
}

/// `image` as the network's input: `[1, 3, h, w]`, BGR planes (PaddleOCR
/// models are trained on OpenCV's channel order), scaled to [-1, 1].
/// Resized bilinearly (pixel centres aligned, as OpenCV's `INTER_LINEAR`)
/// straight into the planes: one pass, no intermediate image (the `image`
/// crate's filtered resize took 60 ms of a 1280 × 720 read).
pub fn input_tensor(image: &RgbImage, width: u32, height: u32) -> Vec<f32> {
    let (src_w, src_h) = (image.width() as usize, image.height() as usize);
    let (w, h) = (width as usize, height as usize);
    let taps = |out: usize, src: usize| -> Vec<(usize, usize, f32)> {
        let scale = src as f32 / out as f32;
        (0..out)
            .map(|i| {
                let pos = ((i as f32 + 0.5) * scale - 0.5).clamp(0.0, (src - 1) as f32);
                let lo = pos.floor() as usize;
                (lo, (lo + 1).min(src - 1), pos - lo as f32)
            })
            .collect()
    };
    let (xs, ys) = (taps(w, src_w), taps(h, src_h));
    let raw = image.as_raw();
    let plane = w * h;
    let mut out = vec![0f32; plane * 3];
    for (y, &(y0, y1, fy)) in ys.iter().enumerate() {
        let (row0, row1) = (
            &raw[y0 * src_w * 3..][..src_w * 3],
            &raw[y1 * src_w * 3..][..src_w * 3],
        );
        for (x, &(x0, x1, fx)) in xs.iter().enumerate() {
            for c in 0..3 {
                let top =
                    f32::from(row0[x0 * 3 + c]) * (1.0 - fx) + f32::from(row0[x1 * 3 + c]) * fx;
                let bottom =
                    f32::from(row1[x0 * 3 + c]) * (1.0 - fx) + f32::from(row1[x1 * 3 + c]) * fx;
                let v = top * (1.0 - fy) + bottom * fy;
                // RGB channel c goes to BGR plane 2 - c.
                out[(2 - c) * plane + y * w + x] = v / 127.5 - 1.0;
            }
        }
    }
    out
}

/// DB post-processing: the text boxes in a `map_w × map_h` probability
/// map, in the coordinates of a `image_w × image_h` image.
pub fn boxes(
    map: &[f32],
    map_w: usize,
    map_h: usize,
    image_w: u32,
    image_h: u32,
    settings: &DetectSettings,
) -> Vec<(Quad, f32)> {
    let bitmap = dilate(
        &map.iter().map(|&p| p > settings.thresh).collect::<Vec<_>>(),
        map_w,
        map_h,
    );
    let (sx, sy) = (image_w as f32 / map_w as f32, image_h as f32 / map_h as f32);
    let mut found = Vec::new();
    for mut region in regions(&bitmap, map_w, map_h)
        .into_iter()
        .take(settings.max_candidates)
    {
        let Some(quad) = min_area_rect(&mut region) else {
            continue;
        };
        let (w, h) = (quad.width(), quad.height());
        if w.min(h) < MIN_SIZE {
            continue;
        }
        let score = mean_inside(map, map_w, map_h, &quad);
        if score < settings.box_thresh {
            continue;
        }
        let grown = quad.grown(w * h * settings.unclip_ratio / (2.0 * (w + h)));
        if grown.width().min(grown.height()) < MIN_SIZE + 2.0 {
            continue;
        }
        let quad = grown.scaled(sx, sy, image_w as f32, image_h as f32);
        // Boxes squeezed against the border to a sliver are dropped too.
        if quad.width() <= 3.0 || quad.height() <= 3.0 {
            continue;
        }
        found.push((quad, score));
    }
    found
}

/// A 2 × 2 dilation (OpenCV's anchor: the pixel and its upper-left
/// neighbours), which joins characters split by a one-pixel gap.
fn dilate(bitmap: &[bool], w: usize, h: usize) -> Vec<bool> {
    let mut out = vec![false; bitmap.len()];
    for y in 0..h {
        for x in 0..w {
            let at = |dx: usize, dy: usize| x >= dx && y >= dy && bitmap[(y - dy) * w + (x - dx)];
            out[y * w + x] = at(0, 0) || at(1, 0) || at(0, 1) || at(1, 1);
        }
    }
    out
}

/// The 8-connected regions of `bitmap`, each as the centres of its
/// pixels on its left and right edges row by row (enough for the hull),
/// in raster order of their first pixel.
fn regions(bitmap: &[bool], w: usize, h: usize) -> Vec<Vec<Point>> {
    let mut label = vec![u32::MAX; bitmap.len()];
    let mut out = Vec::new();
    let mut stack = Vec::new();
    for start in 0..bitmap.len() {
        if !bitmap[start] || label[start] != u32::MAX {
            continue;
        }
        let id = out.len() as u32;
        // Per row from the first pixel's (the topmost: raster order), the
        // leftmost and rightmost column seen.
        let top = start / w;
        let mut rows: Vec<(usize, usize)> = Vec::new();
        label[start] = id;
        stack.push(start);
        while let Some(i) = stack.pop() {
            let (x, y) = (i % w, i / w);
            let row = y - top;
            if row >= rows.len() {
                rows.resize(row + 1, (usize::MAX, 0));
            }
            rows[row] = (rows[row].0.min(x), rows[row].1.max(x));
            for ny in y.saturating_sub(1)..=(y + 1).min(h - 1) {
                for nx in x.saturating_sub(1)..=(x + 1).min(w - 1) {
                    let j = ny * w + nx;
                    if bitmap[j] && label[j] == u32::MAX {
                        label[j] = id;
                        stack.push(j);
                    }
                }
            }
        }
        out.push(
            rows.iter()
                .enumerate()
                .filter(|(_, &(l, _))| l != usize::MAX)
                .flat_map(|(row, &(l, r))| {
                    let y = (top + row) as f32;
                    [Point::new(l as f32, y), Point::new(r as f32, y)]
                })
                .collect(),
        );
    }
    out
}

/// The mean of the map over the pixels whose centres lie in `quad`.
fn mean_inside(map: &[f32], w: usize, h: usize, quad: &Quad) -> f32 {
    let xs = quad.0.map(|p| p.x);
    let ys = quad.0.map(|p| p.y);
    let lo = |v: [f32; 4], n: usize| {
        (v.iter()
            .copied()
            .fold(f32::INFINITY, f32::min)
            .floor()
            .max(0.0) as usize)
            .min(n - 1)
    };
    let hi = |v: [f32; 4], n: usize| {
        (v.iter()
            .copied()
            .fold(f32::NEG_INFINITY, f32::max)
            .ceil()
            .max(0.0) as usize)
            .min(n - 1)
    };
    let (mut sum, mut count) = (0f32, 0u32);
    for y in lo(ys, h)..=hi(ys, h) {
        for x in lo(xs, w)..=hi(xs, w) {
            if quad.contains(Point::new(x as f32, y as f32)) {
                sum += map[y * w + x];
                count += 1;
            }
        }
    }
    if count == 0 {
        0.0
    } else {
        sum / count as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_sizes_follow_rapidocr() {
        let s = DetectSettings::default();
        // 1280 × 720: the short side goes up to 736, then both to /32.
        assert_eq!(input_size(1280, 720, &s), (1312, 736));
        assert_eq!(input_size(800, 1000, &s), (800, 992));
        assert_eq!(input_size(4000, 1000, &s), (2016, 512));
    }

    #[test]
    fn the_input_keeps_pixels_at_the_same_size_and_averages_when_halved() {
        let image = RgbImage::from_fn(4, 2, |x, _| image::Rgb([x as u8 * 50, 0, 255]));
        let same = input_tensor(&image, 4, 2);
        // Plane 0 is blue (255 → 1.0), plane 2 red (0, 50, 100, 150).
        assert!(same[..8].iter().all(|&v| (v - 1.0).abs() < 1e-6));
        let red: Vec<f32> = same[16..20].iter().map(|v| (v + 1.0) * 127.5).collect();
        assert!(
            red.iter()
                .zip([0.0, 50.0, 100.0, 150.0])
                .all(|(a, b)| (a - b).abs() < 1e-3),
            "{red:?}"
        );
        let half = input_tensor(&image, 2, 1);
        let red: Vec<f32> = half[4..6].iter().map(|v| (v + 1.0) * 127.5).collect();
        assert!(
            red.iter()
                .zip([25.0, 125.0])
                .all(|(a, b)| (a - b).abs() < 1e-3),
            "{red:?}"
        );
    }

    #[test]
    fn two_blobs_give_two_boxes_grown_and_scaled() {
        // A 64 × 32 map at half the image's resolution with two text
        // kernels: 20 × 4 at (4, 4) and 30 × 6 at (20, 20).
        let (w, h) = (64usize, 32usize);
        let mut map = vec![0.05f32; w * h];
        for (x0, y0, bw, bh) in [(4, 4, 20, 4), (20, 20, 30, 6)] {
            for y in y0..y0 + bh {
                for x in x0..x0 + bw {
                    map[y * w + x] = 0.9;
                }
            }
        }
        let found = boxes(&map, w, h, 128, 64, &DetectSettings::default());
        assert_eq!(found.len(), 2, "{found:?}");
        let (first, score) = found[0];
        // The dilated edge (map 0.05) is inside the box too.
        assert!(score > 0.6, "{score}");
        // Kernel pixels 4..=23 (plus the dilation's extra column and row),
        // grown by about 1.6 × 20 × 4 / 48 ≈ 3 map pixels, doubled.
        assert!(first.left() < 4.0 && first.left() > -0.1, "{first:?}");
        assert!(
            first.width() > 2.0 * 21.0 && first.width() < 2.0 * 29.0,
            "{first:?}"
        );
        let (top, bottom) = first.y_range();
        assert!(top < 8.0 && bottom > 2.0 * 8.0, "{first:?}");
    }

    #[test]
    fn faint_regions_are_not_boxes() {
        let (w, h) = (40usize, 20usize);
        let mut map = vec![0.0f32; w * h];
        for y in 5..12 {
            for x in 5..30 {
                map[y * w + x] = 0.4; // above `thresh`, below `box_thresh`
            }
        }
        assert!(boxes(&map, w, h, 40, 20, &DetectSettings::default()).is_empty());
    }
}
