//! `hark eval PIPELINE DATA`: the pipeline run on every labelled
//! recording in DATA, scored, and printed as a table (or JSON).

use std::{
    path::PathBuf,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
};

use serde::Serialize;

use crate::{
    eval::{self, labels, ClipResult, Evaluator, Scores, SetupError},
    loader::PluginSet,
    pipeline::PipelineSource,
};

/// Arguments of `hark eval`.
#[derive(clap::Args, Debug)]
pub struct EvalArgs {
    /// The pipeline file (RON).
    pub file: PathBuf,
    /// The recordings: a folder holding labels.json or labels.tsv (or only
    /// WAV files: transcripts and latencies, nothing to score against), or
    /// a label file. labels.json: {"clip.wav": {"intent": "...", "slots":
    /// {"name": "value"}}}; TSV: file<TAB>transcript[<TAB>intent<TAB>slots-json].
    pub data: PathBuf,
    /// Override a node's config: `node.field=value` (repeatable).
    #[arg(long = "set", value_name = "NODE.FIELD=VALUE")]
    pub set: Vec<String>,
    /// Also run the pipeline with these overrides, on the same recordings in
    /// the same run, and compare: both are scored, and the transcripts'
    /// agreement with this run is given (repeatable).
    #[arg(long, value_name = "NODE.FIELD=VALUE")]
    pub versus: Vec<String>,
    /// The node that reads the recordings (it has a `path` setting).
    #[arg(long, default_value = "input", value_name = "NODE")]
    pub input: String,
    /// Feed each recording at its own pace, as a microphone would (slower;
    /// latencies then include any work the pipeline does while speech
    /// goes on, such as partial transcripts).
    #[arg(long)]
    pub realtime: bool,
    /// Only the first N recordings.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Print JSON: the scores and every recording's result.
    #[arg(long)]
    pub json: bool,
    /// List every recording whose command was not accepted, with what was
    /// heard and recognised.
    #[arg(long)]
    pub errors: bool,
}

/// One configuration's results.
#[derive(Serialize)]
struct Run {
    /// `pipeline`, or the `--versus` overrides.
    name: String,
    scores: Scores,
    clips: Vec<ClipResult>,
}

#[derive(Serialize)]
struct Output<'a> {
    pipeline: String,
    data: String,
    runs: &'a [Run],
    /// Word agreement of the versus run's transcripts with the pipeline's.
    transcript_agreement: Option<f64>,
}

/// Runs `hark eval`; returns the exit code.
pub fn main(args: &EvalArgs, plugins: &PluginSet, color: bool) -> i32 {
    let mut cases = match labels::read(&args.data) {
        Ok(cases) => cases,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    if let Some(n) = args.limit {
        cases.truncate(n);
    }
    let source = match PipelineSource::read(&args.file, args.set.clone()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", args.file.display());
            return 2;
        }
    };
    let mut configurations = vec![("pipeline".to_string(), source.clone())];
    if !args.versus.is_empty() {
        let mut versus = source.clone();
        versus.set_args.extend(args.versus.iter().cloned());
        configurations.push((args.versus.join(" "), versus));
    }
    let mut evaluators = Vec::new();
    for (_, source) in &configurations {
        match Evaluator::new(plugins, source.clone(), &args.input, args.realtime, color) {
            Ok(e) => evaluators.push(e),
            Err(SetupError::Invalid(rendered)) => {
                eprint!("{rendered}");
                eprintln!("error: {} is invalid", args.file.display());
                return 2;
            }
            Err(SetupError::Other(message)) => {
                eprintln!("error: {message}");
                return 2;
            }
        }
    }

    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        if let Err(e) = ctrlc::set_handler(move || {
            if stop.swap(true, Ordering::SeqCst) {
                std::process::exit(130);
            }
            eprintln!(
                "\ninterrupted: scoring the recordings done so far (Ctrl-C again to quit now)"
            );
        }) {
            tracing::warn!("cannot install the Ctrl-C handler: {e}");
        }
    }
    let progress = indicatif::ProgressBar::new(cases.len() as u64).with_style(
        indicatif::ProgressStyle::with_template("{pos:>4}/{len} recordings {wide_bar} {eta}")
            .expect("a valid template"),
    );
    let mut results: Vec<Vec<ClipResult>> = vec![Vec::new(); evaluators.len()];
    // Recording by recording, every configuration in turn: both see the
    // machine in the same state.
    for case in &cases {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        for (evaluator, out) in evaluators.iter().zip(&mut results) {
            out.push(evaluator.run(case, stop.clone()));
        }
        progress.inc(1);
    }
    progress.finish_and_clear();
    let done = results[0].len();
    let runs: Vec<Run> = configurations
        .into_iter()
        .zip(results)
        .map(|((name, _), clips)| Run {
            name,
            scores: eval::score(&cases[..done], &clips),
            clips,
        })
        .collect();
    let agreement = runs
        .get(1)
        .and_then(|versus| eval::agreement(&runs[0].clips, &versus.clips));

    if args.json {
        let output = Output {
            pipeline: args.file.display().to_string(),
            data: args.data.display().to_string(),
            runs: &runs,
            transcript_agreement: agreement,
        };
        let code = super::print_json(&output);
        if code != 0 {
            return code;
        }
    } else {
        if args.errors {
            print_errors(&cases[..done], &runs[0].clips);
        }
        print_table(args, &runs, agreement, evaluators[0].gives());
    }
    if stop.load(Ordering::SeqCst) {
        130
    } else {
        0
    }
}

fn percent(x: Option<f64>) -> String {
    x.map_or("-".into(), |x| format!("{:.1} %", 100.0 * x))
}

fn ms(x: Option<f64>) -> String {
    x.map_or("-".into(), |x| format!("{x:.0} ms"))
}

fn print_table(args: &EvalArgs, runs: &[Run], agreement: Option<f64>, gives: (bool, bool)) {
    let first = &runs[0].scores;
    println!(
        "{} on {}: {} recordings, {:.1} min of audio{}",
        args.file.display(),
        args.data.display(),
        first.clips,
        first.audio_seconds / 60.0,
        if args.realtime {
            ", fed in real time"
        } else {
            ""
        }
    );
    println!();
    // One line per measure, one column per run.
    let mut rows: Vec<(&str, Vec<String>)> = Vec::new();
    let mut row = |label, value: &dyn Fn(&Scores) -> String| {
        rows.push((label, runs.iter().map(|r| value(&r.scores)).collect()));
    };
    let (transcripts, intents) = gives;
    if first.labelled_commands > 0 {
        row("commands accepted", &|s| {
            format!(
                "{} ({}/{})",
                percent(s.acceptance()),
                s.commands_accepted,
                s.labelled_commands
            )
        });
        row("intent accuracy", &|s| percent(s.intent_accuracy()));
    }
    if first.reference_words > 0 {
        row("word error rate", &|s| percent(s.word_error_rate()));
    }
    if transcripts {
        row("recordings split in two or more", &|s| s.split.to_string());
        row("recordings with no transcript", &|s| s.silent.to_string());
        row("decoder loops / U+FFFD", &|s| {
            format!("{} / {}", s.loops, s.broken_characters)
        });
        row("end of speech → transcript p50", &|s| {
            ms(s.transcript_latency.p50_ms)
        });
        row("end of speech → transcript p95", &|s| {
            ms(s.transcript_latency.p95_ms)
        });
    }
    if intents {
        row("end of speech → intent p50", &|s| {
            ms(s.intent_latency.p50_ms)
        });
        row("end of speech → intent p95", &|s| {
            ms(s.intent_latency.p95_ms)
        });
    }
    row("real-time factor", &|s| {
        format!("{:.3}", s.real_time_factor)
    });
    row("recordings where a node failed", &|s| s.failed.to_string());

    let width = 34;
    let column = runs.iter().map(|r| r.name.len()).max().unwrap_or(8).max(18);
    if runs.len() > 1 {
        print!("{:width$}", "");
        for run in runs {
            print!("  {:column$}", run.name);
        }
        println!();
    }
    for (label, values) in &rows {
        print!("{label:width$}");
        for value in values {
            print!("  {value:column$}");
        }
        println!();
    }
    if let Some(a) = agreement {
        println!(
            "{:width$}  {} (words of the pipeline's transcripts against the versus run's)",
            "transcript agreement",
            percent(Some(a))
        );
    }
    if !first.slots.is_empty() {
        println!();
        println!(
            "{:20} {:>9} {:>8} {:>6} {:>6}",
            "slot", "expected", "missing", "wrong", "extra"
        );
        for (name, e) in &first.slots {
            println!(
                "{name:20} {:>9} {:>8} {:>6} {:>6}",
                e.expected, e.missing, e.wrong, e.extra
            );
        }
    }
}

fn slots_text(slots: &std::collections::BTreeMap<String, String>) -> String {
    slots
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn print_errors(cases: &[labels::Case], clips: &[ClipResult]) {
    let mut shown = 0;
    for (case, clip) in cases.iter().zip(clips) {
        let wrong_command = case.command.as_ref().is_some_and(|c| !clip.accepted(c));
        let wrong_words = case
            .transcript
            .as_ref()
            .is_some_and(|t| eval::score::word_errors(t, &clip.transcript()).0 > 0);
        if !wrong_command && !wrong_words && clip.failures.is_empty() {
            continue;
        }
        shown += 1;
        println!("✗ {}", case.name);
        for (i, u) in clip.utterances.iter().enumerate() {
            let heard = u.transcript.as_deref().unwrap_or("(nothing)");
            let label = if clip.utterances.len() > 1 {
                format!("heard ({}/{})", i + 1, clip.utterances.len())
            } else {
                "heard".into()
            };
            println!("    {label:10} {heard:?}");
            if let Some(intent) = &u.intent {
                println!(
                    "    {:10} {} ({:.2}) {}",
                    "→",
                    intent.intent,
                    intent.confidence,
                    slots_text(&intent.slots)
                );
            }
        }
        if clip.utterances.is_empty() {
            println!("    {:10} (no utterance)", "heard");
        }
        if let Some(t) = &case.transcript {
            println!("    {:10} {t:?}", "said");
        }
        if let Some(c) = &case.command {
            println!(
                "    {:10} {} {}",
                "expected",
                c.intent,
                slots_text(&c.slots)
            );
        }
        for f in &clip.failures {
            println!("    {:10} {f}", "failed");
        }
    }
    if shown > 0 {
        println!();
    }
}
