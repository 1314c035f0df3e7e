//! `hark nlu split | train | eval`: the `nlu` plugin's learned model,
//! trained and scored in this process on the host's own inference core
//! (the same kernels the plugin gets through the ABI).

use std::path::{Path, PathBuf};

use clap::Subcommand;
use hark_nlu::{
    eval::{self, Report},
    learned::{self, Featurizer, Model, TrainOptions},
    snips,
};
use hark_plugin_api::Directory;
use hark_sdk::inference::Inference;

/// `hark nlu` subcommands.
#[derive(Subcommand, Debug)]
pub enum NluCommand {
    /// Split SNIPS-format data into a training and a held-out folder
    /// (every n-th utterance of each intent is held out).
    Split {
        /// Folder of SNIPS JSON files (one per intent).
        data: PathBuf,
        /// Share held out, in percent.
        #[arg(long, default_value_t = 10)]
        percent: u32,
        /// Where the training part goes.
        #[arg(long)]
        train: PathBuf,
        /// Where the held-out part goes.
        #[arg(long)]
        test: PathBuf,
    },
    /// Train an intent classifier and slot tagger on SNIPS-format data.
    Train {
        /// Folder of SNIPS JSON files (one per intent).
        data: PathBuf,
        /// The model file to write.
        #[arg(short, long)]
        output: PathBuf,
        /// Encoder format: q8_0, q4_0, i8row or f32.
        #[arg(long, default_value = "q8_0")]
        format: String,
        /// MiniLM directory (default: the installed minilm-l6).
        #[arg(long)]
        minilm: Option<PathBuf>,
        /// Passes of the slot tagger over the data.
        #[arg(long, default_value_t = 8)]
        epochs: usize,
    },
    /// Score a model on SNIPS-format data: intent accuracy, slot F1, latency.
    Eval {
        /// Folder of SNIPS JSON files (one per intent).
        data: PathBuf,
        /// The model file (`hark nlu train -o`).
        #[arg(long)]
        model: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Encoder format (default: the one the model was trained with).
        #[arg(long)]
        format: Option<String>,
        /// Also run the encoder in this format (e.g. f32) and report the
        /// sentence embeddings' cosine and the scores with it.
        #[arg(long, value_name = "FORMAT")]
        compare: Option<String>,
        /// MiniLM directory (default: the installed minilm-l6).
        #[arg(long)]
        minilm: Option<PathBuf>,
        /// List the utterances whose intent was wrong (to stderr).
        #[arg(long)]
        errors: bool,
    },
}

/// Runs an `nlu` subcommand; returns the exit code.
pub fn main(command: NluCommand) -> i32 {
    match run(command) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}

fn featurizer(minilm: Option<PathBuf>, format: &str) -> Result<Featurizer, String> {
    // A wrong HARK_KERNELS / HARK_THREADS is reported before any work.
    crate::inference::core().map_err(|e| e.to_string())?;
    let dir = minilm.unwrap_or_else(|| crate::dirs::directory(Directory::Models).join("minilm-l6"));
    Featurizer::load(
        Inference::from_vtable(crate::inference::vtable()),
        &dir,
        format,
    )
    .map_err(|e| e.to_string())
}

fn load(data: &Path) -> Result<Vec<snips::Example>, String> {
    let examples = snips::load_dir(data)?;
    eprintln!("{}: {} utterances", data.display(), examples.len());
    Ok(examples)
}

fn run(command: NluCommand) -> Result<(), String> {
    match command {
        NluCommand::Split {
            data,
            percent,
            train,
            test,
        } => {
            let (kept, held_out) = snips::split(&load(&data)?, percent);
            snips::write_dir(&kept, &train)?;
            snips::write_dir(&held_out, &test)?;
            println!(
                "{} utterances for training in {}, {} held out in {}",
                kept.len(),
                train.display(),
                held_out.len(),
                test.display()
            );
        }
        NluCommand::Train {
            data,
            output,
            format,
            minilm,
            epochs,
        } => {
            let examples = load(&data)?;
            let featurizer = featurizer(minilm, &format)?;
            let started = std::time::Instant::now();
            let log = |line: &str| eprintln!("  {line}");
            let options = TrainOptions {
                intent_epochs: 20,
                tagger_epochs: epochs,
                seed: 2017,
                log: &log,
            };
            let model =
                learned::train(&featurizer, &examples, &options).map_err(|e| e.to_string())?;
            model.save(&output).map_err(|e| e.to_string())?;
            println!(
                "trained on {} utterances in {:.0} s: {} intents; model written to {}",
                examples.len(),
                started.elapsed().as_secs_f64(),
                model.intents.len(),
                output.display()
            );
        }
        NluCommand::Eval {
            data,
            model,
            json,
            format,
            compare,
            minilm,
            errors,
        } => {
            let examples = load(&data)?;
            let model = Model::load(&model).map_err(|e| e.to_string())?;
            let format = format.unwrap_or_else(|| model.encoder_format.clone());
            let main = featurizer(minilm.clone(), &format)?;
            let (report, scored) =
                eval::evaluate(&main, &model, &examples).map_err(|e| e.to_string())?;
            if errors {
                for (e, s) in examples.iter().zip(&scored) {
                    let (best, p) = &s.prediction.intents[0];
                    if *best != e.intent {
                        eprintln!("{} → {best} ({p:.2}): {}", e.intent, e.text);
                    }
                }
            }
            let comparison = match compare {
                None => None,
                Some(other) => {
                    let reference = featurizer(minilm, &other)?;
                    let (other_report, other_scored) =
                        eval::evaluate(&reference, &model, &examples).map_err(|e| e.to_string())?;
                    let cosines: Vec<f64> = scored
                        .iter()
                        .zip(&other_scored)
                        .map(|(a, b)| {
                            let (a, b) = (&a.encoded.sentence, &b.encoded.sentence);
                            a.iter().zip(b).map(|(x, y)| (x * y) as f64).sum()
                        })
                        .collect();
                    Some(Comparison {
                        cosine_min: cosines.iter().copied().fold(1.0, f64::min),
                        cosine_mean: cosines.iter().sum::<f64>() / cosines.len().max(1) as f64,
                        report: other_report,
                    })
                }
            };
            if json {
                let out = serde_json::json!({
                    "intent_accuracy": report.intent_accuracy,
                    "slot_micro_f1": report.slot_micro_f1,
                    "latency_p50_ms": report.latency_p50_ms,
                    "latency_p99_ms": report.latency_p99_ms,
                    "report": report,
                    "comparison": comparison,
                });
                let text = serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?;
                println!("{text}");
            } else {
                print_report(&report);
                if let Some(c) = comparison {
                    println!();
                    println!(
                        "with the encoder in {}: sentence embeddings' cosine to {} min {:.5}, mean {:.5}",
                        c.report.encoder_format, report.encoder_format, c.cosine_min, c.cosine_mean
                    );
                    print_report(&c.report);
                }
            }
        }
    }
    Ok(())
}

/// The same model scored with another encoder format.
#[derive(serde::Serialize)]
struct Comparison {
    cosine_min: f64,
    cosine_mean: f64,
    report: Report,
}

fn print_report(r: &Report) {
    println!("{} utterances, encoder {}", r.utterances, r.encoder_format);
    println!("intent accuracy  {:.2} %", 100.0 * r.intent_accuracy);
    println!(
        "slots (micro)    precision {:.2} %  recall {:.2} %  F1 {:.2} %",
        100.0 * r.slot_micro_precision,
        100.0 * r.slot_micro_recall,
        100.0 * r.slot_micro_f1
    );
    println!(
        "latency          p50 {:.2} ms  p99 {:.2} ms per utterance",
        r.latency_p50_ms, r.latency_p99_ms
    );
    println!(
        "{:<28} {:>9} {:>9} {:>9} {:>7}",
        "slot", "precision", "recall", "F1", "spans"
    );
    for (name, c) in &r.slots {
        let (p, rc, f) = c.scores();
        println!(
            "{:<28} {:>8.1}% {:>8.1}% {:>8.1}% {:>7}",
            name,
            100.0 * p,
            100.0 * rc,
            100.0 * f,
            c.true_positives + c.false_negatives
        );
    }
}
