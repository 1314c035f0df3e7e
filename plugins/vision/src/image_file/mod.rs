//! `image-file`: one image file, once.

mod imp;

pub use imp::ImageFileNode;

use hark_sdk::{prelude::*, ConfigIssue};

use crate::{frames, paths::expand_home};

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
