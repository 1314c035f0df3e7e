//! A link's sending side: a bounded crossbeam channel plus its full-queue
//! policy and counters.
//!
//! **Invariant:** control events (utterance boundaries, cancel, end of
//! stream) are never dropped by a drop policy. When the oldest queued
//! message is a control event it is re-queued and the incoming data
//! message is dropped instead, so a control event may move behind data
//! that was queued with it.

use std::sync::{
    atomic::{AtomicU64, AtomicUsize, Ordering},
    Arc,
};

use crossbeam_channel::{Receiver, Sender, TrySendError};
use hark_plugin_api::{Message, Payload};
use parking_lot::Mutex;

use super::convert::AudioConverter;
use crate::pipeline::{AudioTarget, QueuePolicy};

/// Counters of one link, shared between its two ends and the report.
#[derive(Debug, Default)]
pub struct LinkStats {
    /// Messages dropped by the queue policy.
    pub dropped: AtomicU64,
    /// Highest queue length seen right after a send (tracked with `--stats`).
    pub high_water: AtomicUsize,
    /// Queue length right after the last send (tracked with `--stats`
    /// or `--metrics`).
    pub depth: AtomicUsize,
}

/// The sending end of a link.
pub struct LinkSender {
    tx: Sender<Message>,
    /// For drop policies: lets the sender remove the oldest message.
    rx: Option<Receiver<Message>>,
    policy: QueuePolicy,
    track_high_water: bool,
    stats: Arc<LinkStats>,
    /// Audio format conversion, on links that need it. Only the node
    /// thread owning this sender uses it; the mutex is never contended.
    converter: Option<Mutex<AudioConverter>>,
    /// What `converter` converts to (for [`LinkSender::duplicate`]).
    target: Option<AudioTarget>,
}

/// Creates a link: its sender, its receiver and its counters.
pub fn link(
    capacity: usize,
    policy: QueuePolicy,
    track_high_water: bool,
    convert: Option<AudioTarget>,
) -> (LinkSender, Receiver<Message>, Arc<LinkStats>) {
    let capacity = if policy == QueuePolicy::Latest {
        1
    } else {
        capacity.max(1)
    };
    let (tx, rx) = crossbeam_channel::bounded(capacity);
    let stats = Arc::new(LinkStats::default());
    let sender = LinkSender {
        tx,
        rx: (policy != QueuePolicy::Block).then(|| rx.clone()),
        policy,
        track_high_water,
        stats: stats.clone(),
        converter: convert.map(|target| Mutex::new(AudioConverter::new(target))),
        target: convert,
    };
    (sender, rx, stats)
}

fn is_control(message: &Message) -> bool {
    matches!(message.payload, Payload::Control(_))
}

impl LinkSender {
    /// A blocking link into a channel made outside the runtime (a tap).
    pub fn external(tx: Sender<Message>) -> LinkSender {
        LinkSender {
            tx,
            rx: None,
            policy: QueuePolicy::Block,
            track_high_water: false,
            stats: Arc::new(LinkStats::default()),
            converter: None,
            target: None,
        }
    }

    /// Another sender into the same link, with a converter of its own
    /// (for a thread that replaces a stalled node: the two never send at
    /// the same time, since the stalled one is refused every emit).
    pub fn duplicate(&self) -> LinkSender {
        LinkSender {
            tx: self.tx.clone(),
            rx: self.rx.clone(),
            policy: self.policy,
            track_high_water: self.track_high_water,
            stats: self.stats.clone(),
            converter: self
                .target
                .map(|target| Mutex::new(AudioConverter::new(target))),
            target: self.target,
        }
    }

    /// Sends `message` according to the policy. A link whose receiver is
    /// gone (its node has ended) silently discards.
    pub fn send(&self, message: Message) {
        match &self.converter {
            None => self.send_one(message),
            Some(converter) => {
                let converted = converter.lock().convert(message);
                for m in converted {
                    self.send_one(m);
                }
            }
        }
    }

    fn send_one(&self, message: Message) {
        match (self.policy, &self.rx) {
            (QueuePolicy::Block, _) | (_, None) => {
                let _ = self.tx.send(message);
            }
            (_, Some(rx)) => self.send_dropping_oldest(message, rx),
        }
        if self.track_high_water {
            let depth = self.tx.len();
            self.stats.high_water.fetch_max(depth, Ordering::Relaxed);
            self.stats.depth.store(depth, Ordering::Relaxed);
        }
    }

    fn send_dropping_oldest(&self, mut message: Message, rx: &Receiver<Message>) {
        loop {
            match self.tx.try_send(message) {
                Ok(()) | Err(TrySendError::Disconnected(_)) => return,
                Err(TrySendError::Full(m)) => match rx.try_recv() {
                    Ok(oldest) if is_control(&oldest) => {
                        // Keep the queued control event (re-queued at the back).
                        let _ = self.tx.send(oldest);
                        if is_control(&m) {
                            // Two control events: both must arrive, so wait.
                            let _ = self.tx.send(m);
                        } else {
                            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                        }
                        return;
                    }
                    Ok(_oldest_data) => {
                        self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                        message = m;
                    }
                    // The receiver emptied the queue meanwhile: retry.
                    Err(_) => message = m,
                },
            }
        }
    }

    /// Sends end of stream, waiting for room whatever the policy.
    pub fn send_end_of_stream(&self) {
        if let Some(rest) = self.converter.as_ref().and_then(|c| c.lock().flush()) {
            let _ = self.tx.send(rest);
        }
        let _ = self.tx.send(Message::end_of_stream());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hark_plugin_api::{ControlEvent, MessageMeta, Value};

    fn data(i: i64) -> Message {
        Message::new(MessageMeta::default(), Payload::Value(Value::Int(i)))
    }

    fn values(rx: &Receiver<Message>) -> Vec<String> {
        rx.try_iter()
            .map(|m| match m.payload {
                Payload::Value(Value::Int(i)) => i.to_string(),
                Payload::Control(c) => format!("{c:?}"),
                _ => "?".into(),
            })
            .collect()
    }

    #[test]
    fn drop_oldest_keeps_newest_and_counts() {
        let (tx, rx, stats) = link(2, QueuePolicy::DropOldest, true, None);
        for i in 0..5 {
            tx.send(data(i));
        }
        assert_eq!(values(&rx), ["3", "4"]);
        assert_eq!(stats.dropped.load(Ordering::Relaxed), 3);
        assert_eq!(stats.high_water.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn latest_keeps_one_and_never_drops_control() {
        let (tx, rx, stats) = link(8, QueuePolicy::Latest, false, None);
        tx.send(data(1));
        tx.send(data(2));
        tx.send(Message::new(
            MessageMeta::default(),
            Payload::Control(ControlEvent::UtteranceEnd),
        ));
        tx.send(data(3));
        assert_eq!(values(&rx), ["UtteranceEnd"]);
        assert_eq!(stats.dropped.load(Ordering::Relaxed), 3);
    }
}
