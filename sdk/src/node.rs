//! The trait a running node implements, and its output handle.

use hark_plugin_api::{EmitErrorKind, Emitter, Message};

use crate::Error;

/// What [`Node::produce`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Produce {
    /// Call `produce` again.
    More,
    /// A source is exhausted; a transform or sink has no work in hand.
    Finished,
}

/// A running node.
///
/// The host calls these methods from one thread at a time, in this order:
/// for sources, `produce` until it returns [`Produce::Finished`]; for
/// transforms and sinks, `on_message` for each message, with `produce`
/// between messages while it returns [`Produce::More`] (work done in
/// pieces); then `flush` once when every input has ended, then
/// `shutdown`. A panic in any of them is caught by the sdk and reported
/// to the host as an error; the host's restart policy decides what follows.
///
/// ## Overriding default methods
///
/// Transforms and sinks override `on_message` (and `produce` when they
/// work in pieces); sources override `produce`.
/// Override `flush` if the node buffers (e.g. a speech-to-text node holding
/// an unfinished utterance).
pub trait Node: Send + 'static {
    /// Handles a message that arrived on input port `port` (the index in the
    /// kind's [`crate::KindSpec`] inputs).
    fn on_message(&mut self, port: u32, message: Message, out: &mut Outputs) -> Result<(), Error> {
        let _ = (port, message, out);
        Err(Error::failed("this node takes no input"))
    }

    /// Sources: produce the next message(s). May block for about one frame,
    /// never indefinitely.
    ///
    /// Transforms and sinks: do a piece of work queued by `on_message`
    /// (e.g. synthesise the next sentence). The host calls it after each
    /// message while no other message is waiting, and again as long as it
    /// returns [`Produce::More`]; so a long job done in pieces still sees
    /// a `Cancel` that arrives in the middle. The default has no work.
    fn produce(&mut self, out: &mut Outputs) -> Result<Produce, Error> {
        let _ = out;
        Ok(Produce::Finished)
    }

    /// Every input has ended: emit what is still buffered.
    fn flush(&mut self, out: &mut Outputs) -> Result<(), Error> {
        let _ = out;
        Ok(())
    }

    /// Releases resources (files, devices). Called once, last.
    fn shutdown(&mut self) -> Result<(), Error> {
        Ok(())
    }
}

/// Where a node sends messages: output port `i` is the `i`-th output in its
/// kind's [`crate::KindSpec`].
///
/// To run a node without the host (unit tests), use
/// [`crate::testing::Harness`].
pub struct Outputs<'a> {
    emitter: &'a mut Emitter,
}

impl<'a> Outputs<'a> {
    pub(crate) fn from_emitter(emitter: &'a mut Emitter) -> Self {
        Outputs { emitter }
    }

    /// Sends `message` on output port `port`. Blocks while the downstream
    /// queue is full (backpressure). Fails if the port does not exist or the
    /// pipeline is stopping; a source should then return
    /// [`Produce::Finished`].
    pub fn emit(&mut self, port: u32, message: Message) -> Result<(), Error> {
        self.emitter.emit(port, message).map_err(|e| match e.kind {
            EmitErrorKind::Stopping => Error::failed("the pipeline is stopping"),
            EmitErrorKind::InvalidPort => Error::failed(e.message.into_string()),
        })
    }

    /// Like [`Outputs::emit`], but reports a stopping pipeline as `Ok(false)`
    /// instead of an error, which is what a source loop wants.
    pub fn try_emit(&mut self, port: u32, message: Message) -> Result<bool, Error> {
        match self.emitter.emit(port, message) {
            Ok(()) => Ok(true),
            Err(e) if e.kind == EmitErrorKind::Stopping => Ok(false),
            Err(e) => Err(Error::failed(e.message.into_string())),
        }
    }
}
