//! `screenshot`: the screen, once or every `interval_ms`.

mod imp;

pub use imp::ScreenshotNode;

use std::time::Instant;

use hark_sdk::prelude::*;

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
