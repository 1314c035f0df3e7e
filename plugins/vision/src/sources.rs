//! Where images come from: a file, a folder watched for new files, the
//! screen, or (`snapshot`) whichever of these is newest when asked.
//!
//! ```ron
//! "input": (plugin: "vision", kind: "image-file", config: (path: "page.png")),
//! "inbox": (plugin: "vision", kind: "folder", config: (path: "~/Pictures/Screenshots")),
//! "screen": (plugin: "vision", kind: "screenshot", config: (interval_ms: 0)),
//! "look": (plugin: "vision", kind: "snapshot", config: (from: "folder", path: "~/Pictures", intent: "read.this")),
//! ```

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::mpsc,
    time::{Duration, Instant, SystemTime},
};

use hark_sdk::{prelude::*, value_map, ConfigIssue, Value};
use notify::{RecursiveMode, Watcher};

use crate::{frames, screenshot};

/// `~/` at the start of a path is the home directory.
fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    }
}

// ---------------------------------------------------------------- image-file

/// The `image-file` kind.
pub struct ImageFile;

/// Settings of `image-file`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImageFileSettings {
    /// The PNG or JPEG file.
    pub path: String,
}

impl Settings for ImageFileSettings {
    fn fields() -> Vec<Field> {
        vec![Field::path("path", "PNG or JPEG file to read").required()]
    }

    fn validate(&self) -> Result<(), ConfigIssue> {
        if self.path.is_empty() {
            return Err(ConfigIssue::field("path", "`path` is empty")
                .with_hint("give the image to read, e.g. `--set input.path=page.png`"));
        }
        Ok(())
    }
}

/// A running `image-file`: emits its image once.
pub struct ImageFileNode {
    image: Option<image::RgbImage>,
}

impl NodeKind for ImageFile {
    type Settings = ImageFileSettings;
    type Instance = ImageFileNode;

    fn spec() -> KindSpec {
        KindSpec::source("image-file", "Reads a PNG or JPEG file and emits it once")
            .output(Port::new("image", MessageType::Image).doc("the picture, RGB"))
    }

    fn create(settings: ImageFileSettings, _ctx: &Context) -> Result<ImageFileNode, Error> {
        // Read now, so a missing or corrupt file fails the pipeline's start.
        let image = frames::read_image(&expand_home(&settings.path))?;
        Ok(ImageFileNode { image: Some(image) })
    }
}

impl Node for ImageFileNode {
    fn produce(&mut self, out: &mut Outputs) -> Result<Produce, Error> {
        if let Some(image) = self.image.take() {
            out.try_emit(0, frames::image_message(MessageMeta::default(), image))?;
        }
        Ok(Produce::Finished)
    }
}

// ---------------------------------------------------------------- folder

/// The `folder` kind.
pub struct Folder;

/// Settings of `folder`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FolderSettings {
    /// The folder to watch.
    pub path: String,
    /// Emit the images already there first (oldest first).
    pub existing: bool,
    /// Stop after this many images (0: run until the pipeline stops).
    pub max_images: u32,
}

impl Settings for FolderSettings {
    fn fields() -> Vec<Field> {
        vec![
            Field::path("path", "folder to watch for new PNG/JPEG files").required(),
            Field::bool(
                "existing",
                "emit the images already in the folder first, oldest first",
            ),
            Field::integer(
                "max_images",
                "u32",
                "stop after this many images (0: keep watching)",
            ),
        ]
    }

    fn validate(&self) -> Result<(), ConfigIssue> {
        if self.path.is_empty() {
            return Err(ConfigIssue::field("path", "`path` is empty")
                .with_hint("give the folder to watch, e.g. your screenshot tool's"));
        }
        Ok(())
    }
}

/// How long a new file may stay unreadable (still being written) before
/// it is reported as broken.
const SETTLE: Duration = Duration::from_secs(3);

/// A running `folder`.
pub struct FolderNode {
    ctx: Context,
    /// Kept alive: dropping it stops the notifications.
    _watcher: notify::RecommendedWatcher,
    events: mpsc::Receiver<notify::Result<notify::Event>>,
    /// Files seen but not yet readable, with when they were first seen.
    pending: HashMap<PathBuf, Instant>,
    /// Existing files still to emit.
    backlog: Vec<PathBuf>,
    /// Files emitted, with their modification time then: a file listed
    /// at start and announced by the watcher too is emitted once.
    emitted_files: HashMap<PathBuf, Option<SystemTime>>,
    emitted: u32,
    max_images: u32,
}

impl NodeKind for Folder {
    type Settings = FolderSettings;
    type Instance = FolderNode;

    fn spec() -> KindSpec {
        KindSpec::source(
            "folder",
            "Watches a folder and emits each new PNG/JPEG image",
        )
        .output(
            Port::new("image", MessageType::Image)
                .doc("each new picture, RGB, once it is completely written"),
        )
    }

    fn create(settings: FolderSettings, ctx: &Context) -> Result<FolderNode, Error> {
        let dir = expand_home(&settings.path);
        if !dir.is_dir() {
            return Err(Error::config(format!("{} is not a folder", dir.display()))
                .with_hint("create it, or set `path` to an existing folder"));
        }
        let (sender, events) = mpsc::channel();
        let mut watcher = notify::recommended_watcher(move |event| {
            let _ = sender.send(event);
        })
        .map_err(|e| Error::failed(format!("cannot watch {}: {e}", dir.display())))?;
        watcher
            .watch(&dir, RecursiveMode::NonRecursive)
            .map_err(|e| Error::failed(format!("cannot watch {}: {e}", dir.display())))?;
        let mut backlog = Vec::new();
        if settings.existing {
            backlog = images_by_age(&dir)?;
            backlog.reverse(); // popped from the end: oldest first
        }
        Ok(FolderNode {
            ctx: *ctx,
            _watcher: watcher,
            events,
            pending: HashMap::new(),
            backlog,
            emitted_files: HashMap::new(),
            emitted: 0,
            max_images: settings.max_images,
        })
    }
}

/// The images in `dir`, oldest first (by modification time).
fn images_by_age(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Error::failed(format!("cannot list {}: {e}", dir.display())))?;
    let mut images: Vec<(SystemTime, PathBuf)> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| frames::is_image_file(p) && p.is_file())
        .map(|p| {
            let modified = p
                .metadata()
                .and_then(|m| m.modified())
                .unwrap_or(SystemTime::UNIX_EPOCH);
            (modified, p)
        })
        .collect();
    images.sort();
    Ok(images.into_iter().map(|(_, p)| p).collect())
}

fn modified(path: &Path) -> Option<SystemTime> {
    path.metadata().and_then(|m| m.modified()).ok()
}

impl FolderNode {
    fn emit(
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

// ---------------------------------------------------------------- screenshot

/// The `screenshot` kind.
pub struct Screenshot;

/// Settings of `screenshot`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScreenshotSettings {
    /// The X11 display; empty for `$DISPLAY`.
    pub display: String,
    /// Take one every this many milliseconds; 0 for one only.
    pub interval_ms: u32,
}

impl Settings for ScreenshotSettings {
    fn fields() -> Vec<Field> {
        vec![
            Field::string("display", "X11 display (`:0`); empty: $DISPLAY"),
            Field::integer(
                "interval_ms",
                "u32",
                "take a screenshot every this many ms; 0: one, then finish",
            ),
        ]
    }
}

/// A running `screenshot`.
pub struct ScreenshotNode {
    settings: ScreenshotSettings,
    next: Instant,
}

impl NodeKind for Screenshot {
    type Settings = ScreenshotSettings;
    type Instance = ScreenshotNode;

    fn spec() -> KindSpec {
        KindSpec::source(
            "screenshot",
            "Takes screenshots of the desktop (X11 or XWayland)",
        )
        .output(Port::new("image", MessageType::Image).doc("the whole screen, RGB"))
    }

    fn create(settings: ScreenshotSettings, _ctx: &Context) -> Result<ScreenshotNode, Error> {
        Ok(ScreenshotNode {
            settings,
            next: Instant::now(),
        })
    }
}

impl Node for ScreenshotNode {
    fn produce(&mut self, out: &mut Outputs) -> Result<Produce, Error> {
        let now = Instant::now();
        if now < self.next {
            std::thread::sleep((self.next - now).min(Duration::from_millis(100)));
            return Ok(Produce::More);
        }
        let image = screenshot::grab(&self.settings.display)?;
        if !out.try_emit(0, frames::image_message(MessageMeta::default(), image))?
            || self.settings.interval_ms == 0
        {
            return Ok(Produce::Finished);
        }
        self.next += Duration::from_millis(u64::from(self.settings.interval_ms));
        Ok(Produce::More)
    }
}

// ---------------------------------------------------------------- snapshot

/// The `snapshot` kind.
pub struct Snapshot;

/// Settings of `snapshot`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SnapshotSettings {
    /// `folder` (its newest image), `file` (that file) or `screenshot`.
    pub from: String,
    /// The folder or file; unused for `screenshot`.
    pub path: String,
    /// The X11 display for `screenshot`; empty for `$DISPLAY`.
    pub display: String,
    /// Only intents of this name ask for an image (others are ignored);
    /// empty: every message but control events asks.
    pub intent: String,
}

impl Default for SnapshotSettings {
    fn default() -> Self {
        SnapshotSettings {
            from: "folder".into(),
            path: String::new(),
            display: String::new(),
            intent: String::new(),
        }
    }
}

const SNAPSHOT_FROM: &[&str] = &["folder", "file", "screenshot"];

impl Settings for SnapshotSettings {
    fn fields() -> Vec<Field> {
        vec![
            Field::choice("from", SNAPSHOT_FROM, "where the image comes from: the newest image in a folder, a file, or the screen"),
            Field::path("path", "the folder or the file (`from: \"folder\"` or `\"file\"`)"),
            Field::string("display", "X11 display for `from: \"screenshot\"`; empty: $DISPLAY"),
            Field::string("intent", "only intents of this name ask for an image (e.g. read.this, with the trigger linked from an `nlu` node); empty: any message but control events"),
        ]
    }

    fn validate(&self) -> Result<(), ConfigIssue> {
        if !SNAPSHOT_FROM.contains(&self.from.as_str()) {
            return Err(
                ConfigIssue::field("from", format!("unknown source `{}`", self.from))
                    .with_hint("use \"folder\", \"file\" or \"screenshot\""),
            );
        }
        if self.from != "screenshot" && self.path.is_empty() {
            return Err(ConfigIssue::field(
                "path",
                format!("`from: \"{}\"` needs a `path`", self.from),
            ));
        }
        Ok(())
    }
}

/// A running `snapshot`.
pub struct SnapshotNode {
    settings: SnapshotSettings,
    ctx: Context,
}

impl NodeKind for Snapshot {
    type Settings = SnapshotSettings;
    type Instance = SnapshotNode;

    fn spec() -> KindSpec {
        KindSpec::transform("snapshot", "On each trigger, emits the newest image of a folder, a file, or a screenshot")
            .input(Port::any("trigger").doc("a message asking for an image: an intent named `intent`, or any message but a control event"))
            .output(Port::new("image", MessageType::Image).doc("the picture, RGB"))
            .output(
                Port::new("error", MessageType::Value)
                    .optional()
                    .doc("`{error: \"...\"}` when there is no image to give (empty folder, no display)"),
            )
    }

    fn create(settings: SnapshotSettings, ctx: &Context) -> Result<SnapshotNode, Error> {
        Ok(SnapshotNode {
            settings,
            ctx: *ctx,
        })
    }
}

impl SnapshotNode {
    fn take(&self) -> Result<image::RgbImage, Error> {
        let path = expand_home(&self.settings.path);
        match self.settings.from.as_str() {
            "screenshot" => screenshot::grab(&self.settings.display),
            "file" => frames::read_image(&path),
            _ => {
                let newest = images_by_age(&path)?.pop().ok_or_else(|| {
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
