//! Between files, `image` buffers and the ABI's [`ImageFrame`].

use std::{
    path::{Path, PathBuf},
    time::SystemTime,
};

use hark_sdk::{api::ImageFrame, prelude::*, PixelFormat};
use image::RgbImage;

/// File extensions the sources pick up (lower case).
pub const EXTENSIONS: &[&str] = &["png", "jpg", "jpeg"];

/// Whether `path` has an image extension the sources read.
pub fn is_image_file(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// Decodes the PNG or JPEG at `path` into RGB; the error names the file
/// and what is wrong with it.
pub fn read_image(path: &Path) -> Result<RgbImage, Error> {
    let bytes = std::fs::read(path)
        .map_err(|e| Error::failed(format!("cannot read image {}: {e}", path.display())))?;
    let decoded = image::load_from_memory(&bytes).map_err(|e| {
        Error::failed(format!(
            "{} is not a readable PNG or JPEG image: {e}",
            path.display()
        ))
        .with_hint("check that the file is complete; Hark reads PNG and JPEG")
    })?;
    Ok(decoded.into_rgb8())
}

/// An image message carrying `image`.
pub fn image_message(meta: MessageMeta, image: RgbImage) -> Message {
    let (width, height) = image.dimensions();
    Message::new(
        meta,
        Payload::Image(ImageFrame {
            width,
            height,
            format: PixelFormat::Rgb8,
            data: RArc::new(RVec::from(image.into_raw())),
        }),
    )
}

/// The RGB picture in `frame` (grey and RGBA converted; alpha dropped).
pub fn to_rgb(frame: &ImageFrame) -> Result<RgbImage, Error> {
    let (w, h) = (frame.width as usize, frame.height as usize);
    let channels = match frame.format {
        PixelFormat::Gray8 => 1,
        PixelFormat::Rgb8 => 3,
        PixelFormat::Rgba8 => 4,
    };
    let data: &[u8] = &frame.data;
    if data.len() != w * h * channels {
        return Err(Error::failed(format!(
            "an image message says {w} × {h} {:?} but carries {} bytes, not {}",
            frame.format,
            data.len(),
            w * h * channels
        )));
    }
    if w == 0 || h == 0 {
        return Err(Error::failed("an image message is empty (0 pixels)"));
    }
    let rgb: Vec<u8> = match channels {
        3 => data.to_vec(),
        1 => data.iter().flat_map(|&g| [g, g, g]).collect(),
        _ => data
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect(),
    };
    RgbImage::from_raw(frame.width, frame.height, rgb)
        .ok_or_else(|| Error::failed("an image message's pixels do not fill it"))
}

/// The images in `dir`, oldest first (by modification time).
pub(crate) fn images_by_age(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Error::failed(format!("cannot list {}: {e}", dir.display())))?;
    let mut images: Vec<(SystemTime, PathBuf)> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| is_image_file(p) && p.is_file())
        .map(|p| {
            let modified = p
                .metadata()
                .and_then(|m| m.modified())
                .unwrap_or(SystemTime::UNIX_EPOCH);
            (modified, p)
        })
        .collect();
    images.sort();
    Ok(images.into_iter().map(|(_, p)| p).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_grey_is_widened() {
        let image = RgbImage::from_fn(3, 2, |x, y| image::Rgb([x as u8, y as u8, 7]));
        let message = image_message(MessageMeta::default(), image.clone());
        let Payload::Image(frame) = &message.payload else {
            panic!("not an image");
        };
        assert_eq!(to_rgb(frame).unwrap(), image);
        let grey = ImageFrame {
            width: 2,
            height: 1,
            format: PixelFormat::Gray8,
            data: RArc::new(RVec::from(vec![10u8, 200])),
        };
        assert_eq!(
            to_rgb(&grey).unwrap().into_raw(),
            vec![10, 10, 10, 200, 200, 200]
        );
        let short = ImageFrame {
            data: RArc::new(RVec::from(vec![1u8])),
            ..grey
        };
        assert!(to_rgb(&short)
            .unwrap_err()
            .message()
            .contains("carries 1 bytes"));
    }

    #[test]
    fn a_corrupt_file_is_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("broken.png");
        std::fs::write(&path, b"\x89PNG\r\n\x1a\nnot really").unwrap();
        let err = read_image(&path).unwrap_err();
        assert!(
            err.message().contains("broken.png") && err.message().contains("not a readable"),
            "{err:?}"
        );
    }
}
