//! The running `folder` node: a watcher, and images once they settle.

use crate::frames;
use hark_sdk::prelude::*;
use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::mpsc,
    time::{Duration, Instant, SystemTime},
};

/// How long a new file may stay unreadable (still being written) before
/// it is reported as broken.
pub(super) const SETTLE: Duration = Duration::from_secs(3);

/// A running `folder`.
pub struct FolderNode {
    pub(super) ctx: Context,
    /// Kept alive: dropping it stops the notifications.
    pub(super) _watcher: notify::RecommendedWatcher,
    pub(super) events: mpsc::Receiver<notify::Result<notify::Event>>,
    /// Files seen but not yet readable, with when they were first seen.
    pub(super) pending: HashMap<PathBuf, Instant>,
    /// Existing files still to emit.
    pub(super) backlog: Vec<PathBuf>,
    /// Files emitted, with their modification time then: a file listed
    /// at start and announced by the watcher too is emitted once.
    pub(super) emitted_files: HashMap<PathBuf, Option<SystemTime>>,
    pub(super) emitted: u32,
    pub(super) max_images: u32,
}

pub(super) fn modified(path: &Path) -> Option<SystemTime> {
    path.metadata().and_then(|m| m.modified()).ok()
}

impl FolderNode {
    pub(super) fn emit(
        &mut self,
        path: PathBuf,
        image: image::RgbImage,
        out: &mut Outputs,
    ) -> Result<Produce, Error> {
        let stamp = modified(&path);
        if self.emitted_files.get(&path) == Some(&stamp) {
            return Ok(Produce::More); // already emitted, unchanged
        }
        self.emitted_files.insert(path, stamp);
        if !out.try_emit(0, frames::image_message(MessageMeta::default(), image))? {
            return Ok(Produce::Finished);
        }
        self.emitted += 1;
        Ok(if self.max_images > 0 && self.emitted >= self.max_images {
            Produce::Finished
        } else {
            Produce::More
        })
    }
}

impl Node for FolderNode {
    fn produce(&mut self, out: &mut Outputs) -> Result<Produce, Error> {
        if let Some(path) = self.backlog.pop() {
            return match frames::read_image(&path) {
                Ok(image) => self.emit(path, image, out),
                Err(e) => {
                    self.ctx.warn(&format!("skipped: {}", e.message()));
                    Ok(Produce::More)
                }
            };
        }
        // Wait a little for news, so the host sees input in between.
        match self.events.recv_timeout(Duration::from_millis(100)) {
            Ok(Ok(event)) => {
                let interesting = matches!(
                    event.kind,
                    notify::EventKind::Create(_) | notify::EventKind::Modify(_)
                );
                for path in event.paths {
                    if interesting && frames::is_image_file(&path) {
                        self.pending.entry(path).or_insert_with(Instant::now);
                    }
                }
            }
            Ok(Err(e)) => self.ctx.warn(&format!("watching the folder: {e}")),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(Produce::Finished),
        }
        // A file is taken once it decodes; one that still does not after
        // `SETTLE` is reported and dropped.
        let mut ready: Vec<(Instant, PathBuf)> =
            self.pending.iter().map(|(p, &t)| (t, p.clone())).collect();
        ready.sort();
        for (seen, path) in ready {
            match frames::read_image(&path) {
                Ok(image) => {
                    self.pending.remove(&path);
                    return self.emit(path, image, out);
                }
                Err(e) if seen.elapsed() > SETTLE || !path.exists() => {
                    self.pending.remove(&path);
                    if path.exists() {
                        self.ctx.warn(&format!("skipped: {}", e.message()));
                    }
                }
                Err(_) => {}
            }
        }
        Ok(Produce::More)
    }
}
