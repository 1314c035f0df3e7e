//! The running `screenshot` node.

use crate::{frames, x11};
use hark_sdk::prelude::*;
use std::time::{Duration, Instant};

use super::*;

/// A running `screenshot`.
pub struct ScreenshotNode {
    pub(super) settings: ScreenshotSettings,
    pub(super) next: Instant,
}

impl Node for ScreenshotNode {
    fn produce(&mut self, out: &mut Outputs) -> Result<Produce, Error> {
        let now = Instant::now();
        if now < self.next {
            std::thread::sleep((self.next - now).min(Duration::from_millis(100)));
            return Ok(Produce::More);
        }
        let image = x11::grab(&self.settings.display)?;
        if !out.try_emit(0, frames::image_message(MessageMeta::default(), image))?
            || self.settings.interval_ms == 0
        {
            return Ok(Produce::Finished);
        }
        self.next += Duration::from_millis(u64::from(self.settings.interval_ms));
        Ok(Produce::More)
    }
}
