//! Desktop screenshots through X11 (`GetImage` on the root window), which
//! X servers and XWayland answer. A pure-Rust client (x11rb): no C
//! library to install.

use hark_sdk::Error;
use image::RgbImage;
use x11rb::{
    connection::Connection,
    protocol::xproto::{ConnectionExt, ImageFormat},
};

/// The whole screen of `display` (empty: `$DISPLAY`), as RGB.
pub fn grab(display: &str) -> Result<RgbImage, Error> {
    let name = if display.is_empty() {
        None
    } else {
        Some(display)
    };
    if name.is_none() && std::env::var_os("DISPLAY").is_none() {
        return Err(Error::failed(
            "cannot take a screenshot: no X11 display ($DISPLAY is not set)",
        )
        .with_hint("run inside a desktop session (X11, or Wayland with XWayland), set `display`, or read images from a folder with the `folder` source"));
    }
    let (conn, screen) = x11rb::connect(name).map_err(|e| {
        Error::failed(format!(
            "cannot take a screenshot: cannot connect to the X11 display {}: {e}",
            display_name(display)
        ))
    })?;
    let screen = &conn.setup().roots[screen];
    let (w, h) = (screen.width_in_pixels, screen.height_in_pixels);
    let reply = conn
        .get_image(ImageFormat::Z_PIXMAP, screen.root, 0, 0, w, h, !0)
        .map_err(x11rb::errors::ReplyError::from)
        .and_then(|cookie| cookie.reply())
        .map_err(|e| Error::failed(format!("the X11 server refused the screenshot: {e}")))?;
    let bytes_per_pixel = reply.data.len() / (usize::from(w) * usize::from(h)).max(1);
    if reply.depth < 24 || bytes_per_pixel != 4 {
        return Err(Error::failed(format!(
            "cannot read a {}-bit screen ({bytes_per_pixel} bytes per pixel); Hark reads 24- and 32-bit X11 screens",
            reply.depth
        )));
    }
    // ZPixmap at depth 24/32 on little-endian servers: B, G, R, unused.
    let rgb = reply
        .data
        .chunks_exact(4)
        .flat_map(|p| [p[2], p[1], p[0]])
        .collect();
    RgbImage::from_raw(u32::from(w), u32::from(h), rgb)
        .ok_or_else(|| Error::failed("the X11 screenshot has the wrong size"))
}

fn display_name(display: &str) -> String {
    if display.is_empty() {
        std::env::var("DISPLAY").unwrap_or_default()
    } else {
        display.to_string()
    }
}
