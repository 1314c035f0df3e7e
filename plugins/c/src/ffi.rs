//! The types of `sdk/c/hark_plugin.h`, mirrored. Enumerations are plain
//! integers here: a C library may return any value, and an out-of-range
//! Rust enum would be undefined behaviour.

use std::ffi::{c_char, c_void};

/// `HARK_C_ABI_VERSION`: major in the high 16 bits.
pub const ABI_VERSION: u32 = 1 << 16;

/// The symbol every library exports.
pub const ENTRY_SYMBOL: &[u8] = b"hark_plugin_entry\0";

pub const ROLE_SOURCE: u32 = 0;
pub const ROLE_TRANSFORM: u32 = 1;
pub const ROLE_SINK: u32 = 2;

pub const STATUS_OK: u32 = 0;
pub const STATUS_ERROR: u32 = 1;
pub const STATUS_FINISHED: u32 = 2;

pub const PAYLOAD_TEXT: u32 = 0;
pub const PAYLOAD_AUDIO: u32 = 1;

#[repr(C)]
pub struct HarkMessage {
    pub payload: u32,
    pub text: *const c_char,
    pub text_len: usize,
    pub samples: *const f32,
    pub sample_count: usize,
    pub sample_rate: u32,
    pub channels: u16,
}

#[repr(C)]
pub struct HarkHost {
    pub api: *const HarkHostApi,
}

#[repr(C)]
pub struct HarkHostApi {
    pub abi_version: u32,
    pub size: u32,
    pub emit: unsafe extern "C" fn(*mut HarkHost, *const HarkMessage) -> i32,
    pub setting: unsafe extern "C" fn(*mut HarkHost, *const c_char) -> *const c_char,
    pub log: unsafe extern "C" fn(*mut HarkHost, u32, *const c_char),
    pub fail: unsafe extern "C" fn(*mut HarkHost, *const c_char),
}

#[repr(C)]
pub struct HarkKind {
    pub name: *const c_char,
    pub summary: *const c_char,
    pub role: u32,
    pub create: Option<unsafe extern "C" fn(*mut HarkHost) -> *mut c_void>,
    pub on_message:
        Option<unsafe extern "C" fn(*mut c_void, *mut HarkHost, *const HarkMessage) -> u32>,
    pub produce: Option<unsafe extern "C" fn(*mut c_void, *mut HarkHost) -> u32>,
    pub flush: Option<unsafe extern "C" fn(*mut c_void, *mut HarkHost) -> u32>,
    pub destroy: Option<unsafe extern "C" fn(*mut c_void)>,
}

#[repr(C)]
pub struct HarkPlugin {
    pub abi_version: u32,
    pub name: *const c_char,
    pub version: *const c_char,
    pub kinds: *const HarkKind,
    pub kind_count: usize,
}

pub type EntryFn = unsafe extern "C" fn() -> *const HarkPlugin;

/// A C string from a library, or `""` for NULL.
///
/// # Safety
/// `ptr` is NULL or a NUL-terminated string that lives as long as `'a`.
pub unsafe fn text<'a>(ptr: *const c_char) -> std::borrow::Cow<'a, str> {
    if ptr.is_null() {
        return "".into();
    }
    // SAFETY: guaranteed by the caller.
    unsafe { std::ffi::CStr::from_ptr(ptr) }.to_string_lossy()
}

pub fn role_name(role: u32) -> &'static str {
    match role {
        ROLE_SOURCE => "source",
        ROLE_TRANSFORM => "transform",
        ROLE_SINK => "sink",
        _ => "unknown role",
    }
}
