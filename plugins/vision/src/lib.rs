//! Images in, text out.
//!
//! - Sources: `image-file`, `folder` (new images as they appear),
//!   `screenshot` (X11/XWayland, through [`x11`]), and `snapshot` (the
//!   newest of these whenever a message asks: "read this").
//! - `ocr` ([`ocr`]): PP-OCR text detection and recognition through the
//!   host's model service: DB post-processing into rotated boxes, greedy
//!   CTC decoding with the character table from the model's metadata,
//!   rows in reading order. The models come from `hark models fetch
//!   ppocr-v4` (or `ppocr-v6-tiny`); the plugin links no inference engine.

pub mod folder;
pub mod frames;
pub mod image_file;
pub mod ocr;
mod paths;
pub mod screenshot;
pub mod snapshot;
pub mod x11;

hark_sdk::export_plugin! {
    name: "vision",
    kinds: [
        image_file::ImageFile,
        folder::Folder,
        screenshot::Screenshot,
        snapshot::Snapshot,
        ocr::Ocr,
    ],
}
