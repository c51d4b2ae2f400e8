//! `whaleid ingest`: a survey folder into the catalogue, with a progress bar
//! and a closing summary.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use whaleid::ingest::encounters::EncounterRules;
use whaleid::ingest::survey::{self, IngestOptions, IngestProgress};
use whaleid::ingest::{labels, scan, Pipeline};
use whaleid::matching::{field, MatchSettings};
use whaleid::packs::Pack;

use crate::catalogue::open_or_create;
use crate::ModelArgs;
use whaleid::packs::binding::{bind, remembered_dir};

#[derive(Args, Debug)]
pub struct IngestArgs {
    /// Folders (searched recursively) or photo files.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// The catalogue (created if missing).
    #[arg(long, short)]
    catalogue: PathBuf,
    /// Decode threads (0: from the machine).
    #[arg(long, default_value_t = 0)]
    decode_threads: usize,
    /// Photos per inference batch and per transaction.
    #[arg(long, default_value_t = 8)]
    batch: usize,
    /// Do not match detections against the catalogue.
    #[arg(long)]
    no_suggestions: bool,
    /// The survey's species: recorded on every detection, whose suggestions
    /// are then limited to that species (and individuals of unknown species).
    #[arg(long)]
    species: Option<String>,
    /// Who imports the photos [default: the observer: $WHALEID_OBSERVER,
    /// else `catalogue config --observer`, else the login name].
    #[arg(long)]
    author: Option<String>,
    /// A new encounter starts after this many minutes without a photo.
    #[arg(long, default_value_t = 30.0)]
    encounter_gap_minutes: f64,
    /// ... or when the boat moved farther than this between photos.
    #[arg(long, default_value_t = 2.0)]
    encounter_km: f64,
    #[command(flatten)]
    models: ModelArgs,
}

pub fn ingest_cmd(a: IngestArgs) -> Result<ExitCode> {
    let cancel = crate::cancel_on_ctrl_c();
    let scanned = scan::scan_all_with_progress(&a.paths, &mut scan_line, &cancel);
    eprint!("\r{:width$}\r", "", width = SCAN_LINE_WIDTH);
    let scan::Scan {
        photos: files,
        skipped,
    } = match scanned {
        Err(whaleid::Error::Cancelled) => {
            tell!("cancelled while scanning: nothing was imported");
            return Ok(ExitCode::from(130));
        }
        other => other?,
    };
    let mut cat = open_or_create(&a.catalogue)?;
    let pack_dir = a.models.pack_dir_or(remembered_dir(&cat)?)?;
    let pack = Pack::load(&pack_dir)?;
    bind(&mut cat, &pack, &pack_dir)?;
    let species = a.species.as_deref().map(labels::normalise_species);
    let threshold = field::threshold_in_use(&cat, pack.manifest.matching.new_individual_threshold)?
        .for_species(species.as_deref());
    let pipeline = Pipeline::open(pack, &a.models.session())?;
    let options = IngestOptions {
        decode_threads: a.decode_threads,
        batch: a.batch,
        settings: (!a.no_suggestions).then(|| MatchSettings::new(threshold)),
        species,
        imported_by: whaleid::catalogue::observer::observer(&cat, a.author.as_deref())?,
        ..IngestOptions::default()
    };
    let mut bar = progress_bar;
    let report = match survey::ingest(&mut cat, &pipeline, &files, &options, &mut bar, &cancel) {
        Err(whaleid::Error::Cancelled) => {
            eprintln!();
            tell!("cancelled: committed photos are kept; run the same command again to resume");
            return Ok(ExitCode::from(130));
        }
        other => other?,
    };
    eprintln!();
    let rules = EncounterRules {
        max_gap_minutes: a.encounter_gap_minutes,
        max_distance_km: a.encounter_km,
    };
    let encounters = survey::assign_encounters(&mut cat, &report.photos, &rules)?;
    for (path, reason) in skipped.iter().chain(&report.failed) {
        say!("skipped: {}: {reason}", path.display());
    }
    for path in &report.no_detection {
        say!("no detection (kept, box it by hand): {}", path.display());
    }
    for (path, reason) in &report.warnings {
        say!("warning: {}: {reason}", path.display());
    }
    // Before the table, whose row stays the last line for scripts to read.
    say!("ran on: {}", report.ran_on);
    if let Some(why) = &report.ran_on.fallback {
        tell!("warning: {why}; ran on the CPU");
    }
    say!("| photos new | known | failed | skipped files | detections | no detection | encounters | new-individual suggestions | seconds | photos/s |");
    say!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    say!(
        "| {} | {} | {} | {} | {} | {} | {} | {} | {:.1} | {:.1} |",
        report.new_photos,
        report.known_photos,
        report.failed.len(),
        skipped.len(),
        report.detections,
        report.no_detection.len(),
        encounters,
        report.new_individual_suggestions,
        report.seconds,
        report.photos_per_second()
    );
    Ok(crate::exit_code(!report.failed.is_empty()))
}

/// The scan's line is cleared before the bar takes its place.
const SCAN_LINE_WIDTH: usize = 100;

/// "scanning: 1,234 files, 1,100 photos  day 3" on one line, rewritten.
fn scan_line(p: &scan::ScanProgress) {
    let head = format!(
        "scanning: {} files, {} photos  ",
        thousands(p.seen),
        thousands(p.photos)
    );
    let folder = whaleid::catalogue::codes::shown(&p.folder.display().to_string()).into_owned();
    // Keep the end of a long path: the day folder is what tells where it is.
    let room = SCAN_LINE_WIDTH.saturating_sub(head.chars().count() + 1);
    let skip = folder.chars().count().saturating_sub(room);
    let folder: String = folder.chars().skip(skip).collect();
    let mut err = std::io::stderr().lock();
    let _ = write!(
        err,
        "\r{:width$}",
        format!("{head}{folder}"),
        width = SCAN_LINE_WIDTH
    );
    let _ = err.flush();
}

/// 1234567 → "1,234,567".
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn progress_bar(p: IngestProgress) {
    let width = 30;
    let filled = (p.done * width).checked_div(p.total).unwrap_or(width);
    let eta = p
        .eta_seconds
        .map(|s| format!("ETA {s:.0}s"))
        .unwrap_or_default();
    let mut err = std::io::stderr().lock();
    let _ = write!(
        err,
        "\r[{}{}] {}/{} photos  {:.1}/s  {eta}   ",
        "#".repeat(filled),
        " ".repeat(width - filled),
        p.done,
        p.total,
        p.photos_per_second
    );
    let _ = err.flush();
}
