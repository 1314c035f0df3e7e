//! The running `snapshot` node.

use crate::{frames, paths::expand_home, x11};
use hark_sdk::{prelude::*, value_map, Value};

use super::*;

pub(super) const SNAPSHOT_FROM: &[&str] = &["folder", "file", "screenshot"];

/// A running `snapshot`.
pub struct SnapshotNode {
    pub(super) settings: SnapshotSettings,
    pub(super) ctx: Context,
}

impl SnapshotNode {
    pub(super) fn take(&self) -> Result<image::RgbImage, Error> {
        let path = expand_home(&self.settings.path);
        match self.settings.from.as_str() {
            "screenshot" => x11::grab(&self.settings.display),
            "file" => frames::read_image(&path),
            _ => {
                let newest = frames::images_by_age(&path)?.pop().ok_or_else(|| {
                    Error::failed(format!("there is no image in {}", path.display()))
                })?;
                frames::read_image(&newest)
            }
        }
    }
}

impl Node for SnapshotNode {
    fn on_message(&mut self, _port: u32, message: Message, out: &mut Outputs) -> Result<(), Error> {
        let asks = match &message.payload {
            Payload::Control(_) => false,
            Payload::Intent(i) => {
                self.settings.intent.is_empty() || i.name.as_str() == self.settings.intent
            }
            _ => self.settings.intent.is_empty(),
        };
        if !asks {
            return Ok(());
        }
        match self.take() {
            Ok(image) => out.emit(0, frames::image_message(message.meta, image)),
            Err(e) => {
                self.ctx.warn(e.message());
                let error = value_map([("error", Value::Str(e.message().into()))]);
                out.emit(1, Message::new(message.meta, Payload::Value(error)))
            }
        }
    }
}
