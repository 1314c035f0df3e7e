//! The result cache: answers to identical requests, kept in bounded LRU
//! maps, one per service.
//!
//! What is cached is what only depends on the request: an intent
//! (`recognize`) and speech (`synthesize`) always; a `handle` answer only
//! when the server is told so (`--cache-handle`), since a skill's answer
//! may depend on more than the words ("what time is it").

use std::num::NonZeroUsize;

use lru::LruCache;
use parking_lot::Mutex;

use super::{stages::Service, wyoming::Event};
use crate::metrics::{Metrics, ServiceLabels};

/// Speech longer than this (bytes of PCM) is not kept.
const MAX_AUDIO: usize = 2 << 20;

/// The cache's settings.
#[derive(Debug, Clone, Copy)]
pub struct CacheSettings {
    /// Entries per service; 0 turns the cache off.
    pub entries: usize,
    /// Whether `handle` answers are cached.
    pub handle: bool,
}

/// A cached answer: the events that answered it.
pub type Answer = Vec<Event>;

/// The cache.
pub struct ResultCache {
    handle: Option<Mutex<LruCache<String, Answer>>>,
    intent: Option<Mutex<LruCache<String, Answer>>>,
    tts: Option<Mutex<LruCache<String, Answer>>>,
}

impl ResultCache {
    /// A cache with `settings`.
    pub fn new(settings: CacheSettings) -> ResultCache {
        let map = |on: bool, entries: usize| {
            NonZeroUsize::new(entries)
                .filter(|_| on)
                .map(|n| Mutex::new(LruCache::new(n)))
        };
        ResultCache {
            handle: map(settings.handle, settings.entries),
            intent: map(true, settings.entries),
            // Speech is large: a sixteenth of the entries.
            tts: map(true, settings.entries.div_ceil(16)),
        }
    }

    fn map(&self, service: Service) -> Option<&Mutex<LruCache<String, Answer>>> {
        match service {
            Service::Handle => self.handle.as_ref(),
            Service::Intent => self.intent.as_ref(),
            Service::Tts => self.tts.as_ref(),
            Service::Asr | Service::Wake => None,
        }
    }

    /// The cached answer to `key`, counted as a hit or a miss.
    pub fn get(&self, service: Service, key: &str, metrics: &Metrics) -> Option<Answer> {
        let map = self.map(service)?;
        let labels = ServiceLabels {
            service: service.name(),
        };
        let found = map.lock().get(key).cloned();
        match &found {
            Some(_) => metrics.cache_hits.get_or_create(&labels).inc(),
            None => metrics.cache_misses.get_or_create(&labels).inc(),
        };
        found
    }

    /// Keeps `answer` to `key` (speech only if not too long).
    pub fn put(&self, service: Service, key: String, answer: Answer) {
        let Some(map) = self.map(service) else { return };
        let bytes: usize = answer.iter().map(|e| e.payload.len()).sum();
        if bytes <= MAX_AUDIO {
            map.lock().put(key, answer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_kept_per_service_and_the_oldest_go_first() {
        let metrics = Metrics::new();
        let cache = ResultCache::new(CacheSettings {
            entries: 2,
            handle: false,
        });
        let answer = |text: &str| {
            vec![Event::with_data(
                "intent",
                serde_json::json!({ "text": text }),
            )]
        };
        cache.put(Service::Intent, "a".into(), answer("a"));
        cache.put(Service::Intent, "b".into(), answer("b"));
        assert_eq!(cache.get(Service::Intent, "a", &metrics), Some(answer("a")));
        cache.put(Service::Intent, "c".into(), answer("c")); // evicts b, the least recent
        assert_eq!(cache.get(Service::Intent, "b", &metrics), None);
        assert!(cache.get(Service::Intent, "c", &metrics).is_some());
        // `handle` is off unless asked for.
        cache.put(Service::Handle, "a".into(), answer("a"));
        assert_eq!(cache.get(Service::Handle, "a", &metrics), None);
        let text = metrics.encode();
        assert!(
            text.contains("hark_cache_hits_total{service=\"intent\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("hark_cache_misses_total{service=\"intent\"} 1"),
            "{text}"
        );
    }
}
