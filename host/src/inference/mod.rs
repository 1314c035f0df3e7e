//! The shared inference core as the host lends it to plugins: the
//! kernels of `hark-kernels`, a model service (ONNX through tract) and
//! memory-mapped weight files, behind [`hark_plugin_api::InferenceVTable`].
//!
//! - [`core`]: the process-wide kernel choice (`HARK_KERNELS`) and thread
//!   pool (`HARK_THREADS`, default 1), made once.
//! - [`models`]: ONNX models loaded once per (path, options) and shared,
//!   reference-counted, between every node that asks.
//! - [`weights`]: safetensors files, memory-mapped once and shared; views
//!   into them cross the ABI without a copy.
//! - `abi`: the `extern "C"` functions plugins call; each catches panics
//!   and turns them into errors.

mod abi;
pub mod batch;
pub mod models;
pub mod weights;

use std::sync::OnceLock;

use hark_kernels::{Kernels, ThreadPool};

pub use abi::vtable;

/// The kernels and threads every plugin shares.
pub struct Core {
    /// The kernel variant in use.
    pub kernels: Kernels,
    /// Why that variant (shown by `hark doctor`).
    pub reason: String,
    /// Threads per product; `None` for one (the default).
    pub pool: Option<ThreadPool>,
}

static CORE: OnceLock<Result<Core, String>> = OnceLock::new();

/// The process's core, made on first use from `HARK_KERNELS` and
/// `HARK_THREADS`; an error names the variable that is wrong.
pub fn core() -> Result<&'static Core, &'static str> {
    CORE.get_or_init(|| {
        let (kernels, reason) = Kernels::from_env()?;
        let threads = threads_from_env()?;
        Ok(Core {
            kernels,
            reason,
            pool: (threads > 1).then(|| ThreadPool::new(threads)),
        })
    })
    .as_ref()
    .map_err(String::as_str)
}

/// `HARK_THREADS`, default 1.
pub fn threads_from_env() -> Result<usize, String> {
    match std::env::var("HARK_THREADS") {
        Ok(v) if !v.is_empty() => match v.parse::<usize>() {
            Ok(n) if n >= 1 => Ok(n),
            _ => Err(format!(
                "HARK_THREADS={v} is not a thread count (use a whole number, 1 or more)"
            )),
        },
        _ => Ok(1),
    }
}
