//! Images with known text, rendered at test time from system fonts
//! (Debian's fonts-dejavu and fonts-noto-cjk), for OCR tests and
//! benchmarks: nothing binary is committed, and the ground truth is the
//! string that was drawn.

use std::path::{Path, PathBuf};

use ab_glyph::{Font, FontVec, PxScale, ScaleFont};
use image::{Rgb, RgbImage};

/// Where Debian installs the fonts used here.
pub const DEJAVU_SANS: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
/// DejaVu Serif.
pub const DEJAVU_SERIF: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf";
/// DejaVu Sans Mono.
pub const DEJAVU_MONO: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf";
/// DejaVu Sans Bold.
pub const DEJAVU_SANS_BOLD: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf";
/// Noto Sans CJK (a collection; the first face is Japanese-first, all
/// faces draw simplified Chinese).
pub const NOTO_CJK: &str = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc";

/// Loads a font file (the first face of a collection); `None` when the
/// file is missing, so callers can say which package to install.
pub fn font(path: &str) -> Option<FontVec> {
    let data = std::fs::read(path).ok()?;
    FontVec::try_from_vec_and_index(data, 0).ok()
}

/// One line to draw.
#[derive(Debug, Clone)]
pub struct Line<'a> {
    /// The text.
    pub text: &'a str,
    /// The font file.
    pub font: &'a str,
    /// Pixel height.
    pub size: f32,
}

/// `texts` as lines in one font and size.
pub fn lines<'a>(texts: &[&'a str], font: &'a str, size: f32) -> Vec<Line<'a>> {
    texts
        .iter()
        .map(|&text| Line { text, font, size })
        .collect()
}

/// How to draw a page.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    /// Canvas size.
    pub width: u32,
    /// Canvas size.
    pub height: u32,
    /// Ink colour.
    pub ink: [u8; 3],
    /// Paper colour.
    pub paper: [u8; 3],
    /// Rotation of the whole page about its centre, degrees
    /// (counter-clockwise), paper-filled corners.
    pub degrees: f32,
}

impl Default for Page {
    fn default() -> Self {
        Page {
            width: 1280,
            height: 720,
            ink: [20, 20, 20],
            paper: [250, 250, 245],
            degrees: 0.0,
        }
    }
}

/// Draws `lines` top to bottom from a left margin of 40 px, each line
/// 1.6 × its size below the previous one.
pub fn render(page: &Page, lines: &[Line<'_>]) -> RgbImage {
    let mut image = RgbImage::from_pixel(page.width, page.height, Rgb(page.paper));
    let mut y = 40.0f32;
    for line in lines {
        let font = font(line.font).unwrap_or_else(|| {
            panic!(
                "font {} is missing: install fonts-dejavu / fonts-noto-cjk (`./x setup`)",
                line.font
            )
        });
        draw_line(&mut image, &font, line.size, 40.0, y, line.text, page.ink);
        y += line.size * 1.6;
    }
    if page.degrees != 0.0 {
        image = imageproc::geometric_transformations::rotate_about_center(
            &image,
            -page.degrees.to_radians(),
            imageproc::geometric_transformations::Interpolation::Bilinear,
            imageproc::geometric_transformations::Border::Constant(Rgb(page.paper)),
        );
    }
    image
}

/// Draws `text` with its top at `top`, blending `ink` by glyph coverage.
fn draw_line(
    image: &mut RgbImage,
    font: &FontVec,
    size: f32,
    left: f32,
    top: f32,
    text: &str,
    ink: [u8; 3],
) {
    let scaled = font.as_scaled(PxScale::from(size));
    let baseline = top + scaled.ascent();
    let mut x = left;
    let mut previous = None;
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(p) = previous {
            x += scaled.kern(p, id);
        }
        let glyph = id.with_scale_and_position(PxScale::from(size), ab_glyph::point(x, baseline));
        x += scaled.h_advance(id);
        previous = Some(id);
        if let Some(outline) = font.outline_glyph(glyph) {
            let bounds = outline.px_bounds();
            outline.draw(|gx, gy, coverage| {
                let (px, py) = (
                    bounds.min.x as i32 + gx as i32,
                    bounds.min.y as i32 + gy as i32,
                );
                if px < 0 || py < 0 || px >= image.width() as i32 || py >= image.height() as i32 {
                    return;
                }
                let pixel = image.get_pixel_mut(px as u32, py as u32);
                for (channel, &ink) in pixel.0.iter_mut().zip(&ink) {
                    let under = f32::from(*channel);
                    *channel = (under + (f32::from(ink) - under) * coverage.min(1.0)).round() as u8;
                }
            });
        }
    }
}

/// Saves `image` as PNG under `dir` and returns the path.
pub fn save_png(image: &RgbImage, dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    image.save(&path).expect("writing a PNG");
    path
}

/// Levenshtein distance over characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// Character error rate of `got` against `want`: edits / length of `want`.
pub fn cer(got: &str, want: &str) -> f64 {
    edit_distance(got, want) as f64 / want.chars().count().max(1) as f64
}
