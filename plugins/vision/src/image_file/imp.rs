//! The running `image-file` node.

use crate::frames;
use hark_sdk::prelude::*;

/// A running `image-file`: emits its image once.
pub struct ImageFileNode {
    pub(super) image: Option<image::RgbImage>,
}

impl Node for ImageFileNode {
    fn produce(&mut self, out: &mut Outputs) -> Result<Produce, Error> {
        if let Some(image) = self.image.take() {
            out.try_emit(0, frames::image_message(MessageMeta::default(), image))?;
        }
        Ok(Produce::Finished)
    }
}
