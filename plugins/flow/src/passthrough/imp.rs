//! Implementation of `passthrough`.

use hark_sdk::prelude::*;

/// A running `passthrough` node.
pub struct PassthroughNode {
    log: Option<Context>,
}

impl PassthroughNode {
    pub(super) fn new(log: Option<Context>) -> Self {
        PassthroughNode { log }
    }
}

impl Node for PassthroughNode {
    fn on_message(&mut self, _port: u32, message: Message, out: &mut Outputs) -> Result<(), Error> {
        if let Some(ctx) = &self.log {
            ctx.debug(&format!(
                "{} message at {} ms",
                message.message_type().name(),
                message.meta.timestamp_ns / 1_000_000
            ));
        }
        out.emit(0, message)
    }
}
