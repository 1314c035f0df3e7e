//! Implementation of `gain`.

use hark_sdk::{prelude::*, AudioFrame};

/// A running `gain` node.
pub struct GainNode {
    factor: f32,
}

impl GainNode {
    pub(super) fn new(gain_db: f32) -> Self {
        GainNode {
            factor: 10f32.powf(gain_db / 20.0),
        }
    }
}

impl Node for GainNode {
    fn on_message(&mut self, _port: u32, message: Message, out: &mut Outputs) -> Result<(), Error> {
        let Payload::Audio(frame) = message.payload else {
            return out.emit(0, message);
        };
        if self.factor == 1.0 {
            // 0 dB: forward the shared buffer, no copy.
            return out.emit(0, Message::new(message.meta, Payload::Audio(frame)));
        }
        let mut samples = frame.samples;
        // Scales in place when no other node holds the buffer, else copies.
        for s in RArc::make_mut(&mut samples).iter_mut() {
            *s *= self.factor;
        }
        let frame = AudioFrame { samples, ..frame };
        out.emit(0, Message::new(message.meta, Payload::Audio(frame)))
    }
}
