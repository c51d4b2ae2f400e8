//! `whaleid`: the command-line shell over the engine.
//!
//! Every subcommand parses its arguments, opens what it needs from the engine,
//! and prints JSON lines (one per photo or crop) or a table, so scripts can
//! consume the output; per-file failures are lines with an `error`, never a
//! stopped run. Ctrl-C cancels a long job cleanly; running it again resumes.
//!
//! Output carries what people wrote (codes, names, species, file names,
//! a server's refusals), so nothing is printed raw: text lines go through
//! [`say!`] and [`tell!`], which escape control and invisible formatting
//! characters (`whaleid::catalogue::codes::shown`), and JSON through
//! [`json_safe`]. No escape sequence in a catalogue or a file name ever
//! reaches the terminal.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};
use serde_json::json;

use whaleid::catalogue::codes::{is_hidden_char, shown};
use whaleid::detect::BBox;
use whaleid::embed;
use whaleid::packs::Pack;
use whaleid::runtime::{Device, SessionConfig};
use whaleid::CancelToken;

/// `println!` of a line that may hold user-written text: the whole line
/// is escaped ([`shown`]), so it must not hold tabs or line breaks of its own.
macro_rules! say {
    ($($arg:tt)*) => {
        println!("{}", whaleid::catalogue::codes::shown(&format!($($arg)*)))
    };
}

/// [`say!`] on stderr.
macro_rules! tell {
    ($($arg:tt)*) => {
        eprintln!("{}", whaleid::catalogue::codes::shown(&format!($($arg)*)))
    };
}

mod catalogue;
mod detection;
mod encounter;
mod identify;
mod ingest;
mod models;
mod publish;
mod scope;
mod second_review;
mod sync;
mod train;

#[derive(Parser, Debug)]
#[command(
    name = "whaleid",
    version,
    long_version = concat!(
        env!("CARGO_PKG_VERSION"),
        "\n`whaleid doctor` shows the ONNX Runtime in use, the providers, the pack and the app's folders"
    ),
    about = "Offline photo-identification of whales and dolphins"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Show WhaleID's version, the ONNX Runtime library in use and its providers, the pack
    /// (validated), and where the app keeps its preferences and log.
    Doctor {
        #[command(flatten)]
        models: ModelArgs,
    },
    /// Find fins and bodies; one JSON line per photo.
    Detect {
        /// Photos to read.
        #[arg(required = true)]
        images: Vec<PathBuf>,
        #[command(flatten)]
        models: ModelArgs,
    },
    /// Embed crops; one JSON line per crop.
    Embed {
        #[arg(required = true)]
        images: Vec<PathBuf>,
        #[command(flatten)]
        models: ModelArgs,
        /// Embed this box (x1,y1,x2,y2 in photo pixels) instead of detecting.
        #[arg(long = "box", value_parser = parse_box)]
        bbox: Option<BBox>,
        /// Embed the whole photo even when the pack has a detector.
        #[arg(long)]
        whole: bool,
        /// Print the full embedding, not only its digest.
        #[arg(long)]
        full: bool,
        /// Write each backbone's input tensor and neck output as .npy files here (for parity checks).
        #[arg(long)]
        dump: Option<PathBuf>,
        /// Crops per inference batch.
        #[arg(long, default_value_t = embed::DEFAULT_BATCH)]
        batch: usize,
    },
    /// Create, fill, inspect and back up a catalogue.
    #[command(subcommand)]
    Catalogue(catalogue::CatalogueCommand),
    /// Merge, split, rename individuals, and undo those.
    #[command(subcommand)]
    Individual(catalogue::IndividualCommand),
    /// Bring a survey folder into a catalogue: detect, embed, suggest identities.
    Ingest(ingest::IngestArgs),
    /// Match photos against a catalogue: the top 5 identities, with new_individual.
    Identify(identify::IdentifyArgs),
    /// Fine-tune the catalogue's pack on its confirmed identifications (or list, roll back versions).
    Train(train::TrainArgs),
    /// Push this catalogue's changes to the team's server and pull everyone else's.
    Sync(sync::SyncArgs),
    /// Boxes by hand: draw, move, remove, list and undo.
    #[command(subcommand)]
    Detection(detection::DetectionCommand),
    /// The second reviewer: blind second opinions, disagreements, analyst agreement.
    #[command(subcommand)]
    Review(second_review::ReviewCommand),
    /// Encounters as records: list, show, edit fields, split and join.
    #[command(subcommand)]
    Encounter(encounter::EncounterCommand),
    /// Measure identification on a labelled collection (MAP@5, top-1, top-5, new-individual precision/recall).
    Eval(identify::EvalArgs),
}

#[derive(Args, Debug, Clone)]
pub struct ModelArgs {
    /// Model pack folder [default: $WHALEID_PACK, else the generic pack installed with WhaleID].
    #[arg(long)]
    pack: Option<PathBuf>,
    /// Execution device: auto, cpu, cuda or directml.
    #[arg(long, default_value = "auto")]
    device: Device,
    /// Threads per model (0: all cores).
    #[arg(long, default_value_t = 0)]
    threads: usize,
}

impl ModelArgs {
    /// The pack folder: `--pack`, else `$WHALEID_PACK`, else `fallback` (a
    /// catalogue's own pack), else the generic pack installed with WhaleID.
    pub fn pack_dir_or(&self, fallback: Option<PathBuf>) -> Result<PathBuf> {
        match self
            .pack
            .clone()
            .or_else(|| std::env::var_os("WHALEID_PACK").map(PathBuf::from))
            .or(fallback)
        {
            Some(dir) => Ok(dir),
            None => Ok(whaleid::install::generic_pack_dir()?),
        }
    }

    pub fn pack_dir(&self) -> Result<PathBuf> {
        self.pack_dir_or(None)
    }

    pub fn session(&self) -> SessionConfig {
        SessionConfig {
            device: self.device,
            intra_threads: self.threads,
            ..SessionConfig::default()
        }
    }

    pub fn load_pack(&self) -> Result<Pack> {
        Ok(Pack::load(self.pack_dir()?)?)
    }
}

fn parse_box(s: &str) -> Result<BBox, String> {
    let v: Vec<f32> = s
        .split(',')
        .map(|p| p.trim().parse::<f32>())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("box `{s}`: {e}"))?;
    match v[..] {
        [x1, y1, x2, y2] if x2 > x1 && y2 > y1 => Ok(BBox { x1, y1, x2, y2 }),
        _ => Err(format!(
            "box `{s}` must be x1,y1,x2,y2 with x2 > x1 and y2 > y1"
        )),
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("WHALEID_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("whaleid: {}", shown(&one_line(&e)));
            ExitCode::FAILURE
        }
    }
}

/// An error and its causes on one line, each said once. Engine errors put
/// their cause in their own sentence and keep it as their source too (`Io`,
/// `Sync`, `Runtime`), so a cause already in the line is not repeated.
fn one_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if line.is_empty() {
            line = text;
        } else if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
    }
    line
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Doctor { models } => models::doctor(&models),
        Command::Detect { images, models } => models::detect(&images, &models),
        Command::Embed {
            images,
            models,
            bbox,
            whole,
            full,
            dump,
            batch,
        } => models::embed_cmd(
            &images,
            &models,
            models::EmbedOptions {
                bbox,
                whole,
                full,
                dump,
                batch,
            },
        ),
        Command::Catalogue(c) => catalogue::run(c),
        Command::Individual(c) => catalogue::run_individual(c),
        Command::Identify(a) => identify::identify_cmd(a),
        Command::Ingest(a) => ingest::ingest_cmd(a),
        Command::Eval(a) => identify::eval_cmd(a),
        Command::Train(a) => train::train_cmd(a),
        Command::Sync(a) => sync::sync_cmd(a),
        Command::Detection(c) => detection::run(c),
        Command::Review(c) => second_review::run(c),
        Command::Encounter(c) => encounter::run(c),
    }
}

/// A token that Ctrl-C cancels (the second Ctrl-C exits at once).
pub fn cancel_on_ctrl_c() -> CancelToken {
    let token = CancelToken::new();
    let handler = token.clone();
    let pressed = std::sync::atomic::AtomicBool::new(false);
    let _ = ctrlc::set_handler(move || {
        if pressed.swap(true, std::sync::atomic::Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("whaleid: cancelling after the current batch (Ctrl-C again to quit now)");
        handler.cancel();
    });
    token
}

pub fn print_line(value: serde_json::Value) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", json_safe(&value.to_string()))?;
    Ok(())
}

/// `value` as indented JSON on stdout, [`json_safe`].
pub fn print_pretty(value: &impl serde::Serialize) -> Result<()> {
    println!("{}", json_safe(&serde_json::to_string_pretty(value)?));
    Ok(())
}

/// JSON text (as serde_json writes it) with the characters a terminal
/// would act on that JSON leaves raw (DEL, C1 controls such as the 8-bit
/// CSI, bidirectional overrides and other invisible formatting) written as
/// `\uXXXX` escapes: the same JSON value, safe to print. serde_json escapes
/// every C0 control inside strings, so a raw newline here is layout.
pub fn json_safe(json: &str) -> std::borrow::Cow<'_, str> {
    let hidden = |c: char| is_hidden_char(c) && !matches!(c, '\n' | '\t' | '\r');
    if !json.chars().any(hidden) {
        return json.into();
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if hidden(c) {
            // Every hidden character is in the Basic Multilingual Plane.
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out.into()
}

/// Each line of a multi-line text [`shown`], its line breaks kept.
pub fn shown_lines(text: &str) -> String {
    text.lines()
        .map(|l| shown(l))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `{"file", "error": {"kind", "message"}}`, the kind in the engine's one
/// vocabulary (`whaleid::ErrorKind`, camelCase as the app has it).
pub fn error_line(file: &Path, e: &whaleid::Error) -> serde_json::Value {
    json!({"file": file, "error": {"kind": e.kind(), "message": e.to_string()}})
}

pub fn exit_code(failed: bool) -> ExitCode {
    if failed {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_line_says_each_cause_once() {
        let missing = || std::io::Error::from(std::io::ErrorKind::NotFound);
        let io = anyhow::Error::from(whaleid::Error::Io {
            path: "/proc/nope/x".into(),
            source: missing(),
        });
        assert_eq!(
            one_line(&io),
            format!("/proc/nope/x: {}", missing()),
            "the io error is in the sentence and is its source"
        );
        let refused = anyhow::Error::from(whaleid::Error::sync_from(
            "http://127.0.0.1:9",
            std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "io: refused"),
        ));
        assert_eq!(
            one_line(&refused),
            "sync server http://127.0.0.1:9: io: refused"
        );
        // A cause the sentence does not hold is still said.
        let context = anyhow::Error::from(whaleid::Error::NotFound("individual W9".into()))
            .context("renaming W9");
        assert_eq!(one_line(&context), "renaming W9: individual W9");
    }

    #[test]
    fn json_is_printed_with_nothing_raw_a_terminal_acts_on_and_means_the_same() {
        let value = json!({"code": "W\u{1b}[31m\u{9b}2J\u{202e}1", "n": [1, 2]});
        for text in [
            value.to_string(),
            serde_json::to_string_pretty(&value).unwrap(),
        ] {
            let safe = json_safe(&text);
            assert!(
                !safe.chars().any(|c| is_hidden_char(c) && c != '\n'),
                "{safe:?}"
            );
            assert_eq!(
                serde_json::from_str::<serde_json::Value>(&safe).unwrap(),
                value
            );
        }
        assert!(matches!(
            json_safe("{\"a\":\"W1\"}"),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(shown_lines("a\u{1b}\nb\tc"), "a\\u{1b}\nb\\tc");
    }

    #[test]
    fn a_json_error_line_uses_the_engine_kind() {
        let e = whaleid::Error::Photo {
            path: "a.jpg".into(),
            reason: "not an image".into(),
        };
        assert_eq!(
            error_line(Path::new("a.jpg"), &e),
            json!({"file": "a.jpg", "error": {"kind": "photo", "message": "a.jpg: not an image"}})
        );
        let e = whaleid::Error::runtime("no library");
        assert_eq!(error_line(Path::new("b.jpg"), &e)["error"]["kind"], "model");
    }
}
