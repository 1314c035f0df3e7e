//! `folder`: new images in a folder as they appear (and, at start, the
//! newest one if asked).

mod imp;

pub use imp::FolderNode;

use std::{collections::HashMap, sync::mpsc};

use hark_sdk::{prelude::*, ConfigIssue};
use notify::{RecursiveMode, Watcher};

use crate::{frames, paths::expand_home};

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
            backlog = frames::images_by_age(&dir)?;
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
