//! **Internal to Hark, not a public API.** The host: loads plugins,
//! validates pipelines and runs them. It is a library only so that the
//! `hark` binary, its tests and its benchmarks share one implementation.
//!
//! The modules follow the data:
//!
//! - [`loader`]: finds plugin libraries, checks their ABI, reads their
//!   descriptors ([`loader::PluginSet`]).
//! - [`pipeline`]: reads `pipeline.ron` with source spans, applies
//!   `--set` overrides, validates it against the loaded plugins and
//!   renders errors like rustc ([`pipeline::Pipeline`]).
//! - [`runtime`]: creates the nodes, connects them with bounded
//!   crossbeam channels and runs one thread per node ([`runtime::run`]).
//! - [`inference`]: the shared inference core lent to plugins through
//!   the host context: kernels, shared ONNX models, mapped weight files.
//! - [`catalog`]: the models Hark can install (pinned registry packages)
//!   and `hark models fetch`.
//! - [`serve`]: `hark serve`, the pipeline's stages as a Wyoming server
//!   (sessions, the concurrency limit).
//! - [`metrics`]: Prometheus metrics (`--metrics`).
//! - [`eval`]: `hark eval`, a pipeline scored on labelled recordings.
//! - [`cli`]: the `hark` command line.

pub mod catalog;
pub mod cli;
pub mod devices;
pub mod dirs;
pub mod eval;
#[doc(hidden)]
pub mod fuzz;
pub mod inference;
pub mod loader;
pub mod metrics;
pub mod pipeline;
pub mod runtime;
pub mod serve;
pub mod whisper_ggml;
