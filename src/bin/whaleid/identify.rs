//! `identify`, `eval` and `catalogue calibrate|index`: matching photos
//! against a catalogue and measuring how well that works.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::Args;
use serde_json::json;

use whaleid::catalogue::{keys, Catalogue, Scope};
use whaleid::eval::run::{self as eval_run, EvalOptions};
use whaleid::eval::Calibration;
use whaleid::index::{IndexConfig, LoadStatus};
use whaleid::ingest::{labels, Found, Pipeline, Region};
use whaleid::matching::field;
use whaleid::matching::identify::catalogue_pack;
use whaleid::matching::rerank::rerank_waiting;
use whaleid::matching::scope::{suggest_scoped, BoundScope, GalleryGrades, Scoped};
use whaleid::matching::{Gallery, HeadScorer, MatchSettings, Prediction, TOP_K};
use whaleid::packs::Pack;
use whaleid::photo;

use crate::catalogue::open_reader;
use crate::scope::GradeArgs;
use crate::{error_line, exit_code, print_line, ModelArgs};
use whaleid::packs::binding::remembered_dir;

#[derive(Args, Debug)]
pub struct ScopeArgs {
    /// Search only individuals of this species.
    #[arg(long)]
    species: Option<String>,
    /// Search only photos taken on or after this day (YYYY-MM-DD).
    #[arg(long)]
    from: Option<String>,
    /// Search only photos taken on or before this day (YYYY-MM-DD).
    #[arg(long)]
    to: Option<String>,
    /// Search only photos taken inside lat_min,lon_min,lat_max,lon_max.
    #[arg(long, value_delimiter = ',', num_args = 4)]
    region: Option<Vec<f64>>,
}

impl ScopeArgs {
    fn scope(&self) -> Scope {
        Scope {
            species: self.species.as_deref().map(labels::normalise_species),
            or_unknown_species: false,
            date_from: self.from.clone(),
            date_to: self.to.clone(),
            region: self.region.as_ref().map(|r| (r[0], r[1], r[2], r[3])),
        }
    }
}

#[derive(Args, Debug)]
pub struct IdentifyArgs {
    #[arg(required = true)]
    images: Vec<PathBuf>,
    /// The catalogue to search.
    #[arg(long, short)]
    catalogue: PathBuf,
    #[command(flatten)]
    scope: ScopeArgs,
    #[command(flatten)]
    grades: GradeArgs,
    /// new_individual threshold [default: the catalogue's calibrated one, else the pack's].
    #[arg(long)]
    threshold: Option<f32>,
    /// Weight of the ArcFace head score in [0, 1] [default: the catalogue's setting, else the pack's].
    #[arg(long)]
    head_weight: Option<f32>,
    /// Embed the whole photo instead of detecting.
    #[arg(long)]
    whole: bool,
    /// JSON lines instead of a table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    models: ModelArgs,
}

pub fn identify_cmd(a: IdentifyArgs) -> Result<ExitCode> {
    // Reads only (the saved index is loaded, never written): beside a writer.
    let cat = open_reader(&a.catalogue)?;
    let pack = Pack::load(a.models.pack_dir_or(remembered_dir(&cat)?)?)?;
    let (gallery, status) = open_gallery(&cat, &pack, &a.catalogue)?;
    let (threshold, threshold_from) = threshold_of(&a, &cat, &pack)?;
    let head_weight = match (a.head_weight, cat.setting(keys::HEAD_BLEND)?) {
        (Some(w), _) => w,
        (None, Some(w)) => w.parse()?,
        (None, None) => pack.manifest.matching.head_weight,
    };
    let settings = MatchSettings {
        head_weight,
        ..MatchSettings::new(threshold)
    };
    let codes = cat.individual_codes()?;
    let head = HeadScorer::new(
        &pack,
        codes
            .iter()
            .map(|(id, (code, _))| (code.clone(), *id))
            .collect(),
    );
    let scope = a.scope.scope();
    let grades = a.grades.bound()?;
    let graded = GalleryGrades::read(&cat)?;
    let scoped = Scoped {
        scope: &scope,
        grades: &grades,
        graded: &graded,
    };
    let left_out = scoped.left_out(&gallery);
    if !a.json {
        say!(
            "scope: {scope} | threshold {threshold:.3} ({threshold_from}) | head weight {head_weight} | pack {} {} | {} gallery photos, {}",
            pack.name(),
            pack.version(),
            gallery.len(),
            search_label(&gallery, &status)
        );
        if !grades.is_everything() {
            say!("grades: {grades} | {left_out} gallery photos left out");
        }
    }
    let pipeline = Pipeline::open(pack, &a.models.session())?;
    let region = if a.whole {
        Region::Whole
    } else {
        Region::Detect {
            best_only: false,
            whole_if_none: false,
        }
    };
    let mut failed = false;
    let cancel = crate::cancel_on_ctrl_c();
    let matcher = Matcher {
        gallery: &gallery,
        scoped: &scoped,
        left_out,
        settings: &settings,
        head: head.as_ref(),
        codes: &codes,
        json: a.json,
    };
    // One photo at a time, decoded as the pack needs it: a folder of
    // camera-size photos is never all in memory.
    for path in &a.images {
        let photo = match pipeline.open_photo(path, photo::DEFAULT_MAX_PIXELS, false) {
            Ok(p) => p,
            Err(e) => {
                failed = true;
                print_line(error_line(path, &e))?;
                continue;
            }
        };
        let found = match pipeline.run(&[(&photo, region)], &cancel) {
            Ok(mut f) => f.remove(0),
            Err(e) => {
                failed = true;
                print_line(error_line(&photo.path, &e))?;
                continue;
            }
        };
        if found.is_empty() {
            failed = true;
            print_line(
                json!({"file": photo.path, "error": {"kind": "no_detection", "message": format!("{}: nothing detected", photo.path.display())}}),
            )?;
            continue;
        }
        for f in &found {
            matcher.print_matches(&photo.path, f)?;
        }
    }
    Ok(exit_code(failed))
}

/// The catalogue's gallery, refused if it is empty or holds embeddings of
/// another pack than `pack`.
fn open_gallery(cat: &Catalogue, pack: &Pack, dir: &Path) -> Result<(Gallery, LoadStatus)> {
    let (gallery, status) = Gallery::from_catalogue(cat, IndexConfig::new(pack.embedding_dim()))?;
    if gallery.is_empty() {
        bail!(
            "catalogue {} has no confirmed photos to match against",
            dir.display()
        );
    }
    let bound = catalogue_pack(cat)?;
    if (pack.name(), pack.version()) != (bound.0.as_str(), bound.1.as_str()) {
        bail!(
            "catalogue holds embeddings of pack {} {}; --pack is {} {}",
            bound.0,
            bound.1,
            pack.name(),
            pack.version()
        );
    }
    Ok((gallery, status))
}

/// The new_individual threshold to use and where it came from: `--threshold`,
/// else the catalogue's (for the scope's species), else the pack's.
fn threshold_of(a: &IdentifyArgs, cat: &Catalogue, pack: &Pack) -> Result<(f32, &'static str)> {
    let in_use = field::threshold_in_use(cat, pack.manifest.matching.new_individual_threshold)?;
    Ok(match a.threshold {
        Some(t) => (t, "given"),
        None => (
            in_use.for_species(a.scope.species.as_deref()),
            match in_use.source {
                field::ThresholdSource::Calibrated => "calibrated",
                field::ThresholdSource::Set => "set",
                field::ThresholdSource::PackDefault => "pack default",
            },
        ),
    })
}

/// How queries will search the gallery, for the header line.
fn search_label(gallery: &Gallery, status: &LoadStatus) -> String {
    let search = match status {
        LoadStatus::Loaded { .. } if gallery.len() >= gallery.index().config().exact_threshold => {
            "HNSW + exact re-rank"
        }
        _ => "exact scan",
    };
    format!("{search}, {:?}", gallery.index().config().precision).to_lowercase()
}

/// What one detection is matched against, and how the result is printed.
struct Matcher<'a> {
    gallery: &'a Gallery,
    scoped: &'a Scoped<'a>,
    /// Gallery photos of the catalogue scope the grades leave out.
    left_out: usize,
    settings: &'a MatchSettings,
    head: Option<&'a HeadScorer>,
    codes: &'a HashMap<i64, (String, Option<String>)>,
    json: bool,
}

impl Matcher<'_> {
    /// Match one detection and print its top five, as a JSON line or a table.
    fn print_matches(&self, path: &Path, f: &Found) -> Result<()> {
        let mut predictions = suggest_scoped(
            self.gallery,
            &f.embedding.vector,
            self.scoped,
            self.settings,
            self.head,
        )?;
        predictions.truncate(TOP_K);
        let named: Vec<serde_json::Value> = predictions
            .iter()
            .map(|p| match p {
                Prediction::Individual { key, score } => {
                    let (code, species) = &self.codes[key];
                    json!({"individual": code, "species": species, "score": score})
                }
                Prediction::NewIndividual => json!({"individual": "new_individual"}),
            })
            .collect();
        if self.json {
            let mut line = json!({"file": path, "crop": f.crop, "class": f.class, "score": f.score, "scope": self.scoped.scope.to_string(), "threshold": self.settings.threshold, "top5": named});
            if !self.scoped.grades.is_everything() {
                line["grade_scope"] = grade_scope_json(self.scoped.grades, self.left_out);
            }
            return print_line(line);
        }
        say!(
            "{}  [{} {:.0},{:.0},{:.0},{:.0}{}]",
            path.display(),
            f.class,
            f.crop.x1,
            f.crop.y1,
            f.crop.x2,
            f.crop.y2,
            f.score.map(|s| format!(" {s:.2}")).unwrap_or_default()
        );
        for (rank, p) in named.iter().enumerate() {
            let score = p["score"]
                .as_f64()
                .map(|s| format!("{s:.3}"))
                .unwrap_or_default();
            let species = p["species"].as_str().unwrap_or("");
            say!(
                "  {}. {:<24} {:<24} {score}",
                rank + 1,
                p["individual"].as_str().unwrap_or(""),
                species
            );
        }
        Ok(())
    }
}

/// The `grade_scope` object of a JSON line: the grades asked for, the
/// scope in words and how many gallery photos it left out.
fn grade_scope_json(grades: &BoundScope, left_out: usize) -> serde_json::Value {
    json!({
        "same_side": grades.same_side,
        "side": grades.side,
        "min_quality": grades.min_quality,
        "parts": grades.parts,
        "label": grades.to_string(),
        "left_out": left_out,
    })
}

/// `catalogue calibrate`: choose the threshold from confirmed identifications,
/// weighed to the expected share of new individuals, save it, and rank the
/// waiting detections again with it.
pub fn calibrate_cmd(
    dir: PathBuf,
    min_individuals: usize,
    dry_run: bool,
    json_out: bool,
) -> Result<ExitCode> {
    // A dry run saves nothing: it runs beside a writer.
    let mut cat = if dry_run {
        open_reader(&dir)?
    } else {
        Catalogue::open(&dir)?
    };
    let Some((c, share)) = field::calibrate_for_field(&cat, min_individuals)? else {
        bail!("nothing to calibrate on: the catalogue needs confirmed photos of at least two individuals");
    };
    if json_out {
        crate::print_pretty(&c)?;
    } else {
        say!("  share of new individuals: {share}");
        print_calibration(&c);
    }
    if !dry_run {
        field::save_calibration(&mut cat, &c, share)?;
        say!(
            "saved: identify now uses threshold {:.2} for this catalogue (ingest and review too)",
            c.threshold
        );
        rerank_cmd(&mut cat)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Rank the waiting detections again (after the threshold or share changed),
/// with a progress line on stderr.
pub fn rerank_cmd(cat: &mut Catalogue) -> Result<()> {
    if cat.to_review()? == 0 {
        return Ok(());
    }
    let pack = Pack::load(whaleid::packs::binding::require_pack_dir(cat)?)?;
    let cancel = crate::cancel_on_ctrl_c();
    let mut progress = |done: usize, total: usize| {
        eprint!("\rranking waiting detections again: {done}/{total}   ")
    };
    let r = rerank_waiting(
        cat,
        pack.manifest.matching.new_individual_threshold,
        &cancel,
        &mut progress,
    )?;
    eprintln!();
    say!(
        "ranked {} waiting detections again at threshold {:.2}: {} now have new_individual first",
        r.detections,
        r.threshold,
        r.new_first
    );
    Ok(())
}

pub fn print_calibration(c: &Calibration) {
    let weighed = c
        .new_share
        .map(|s| format!(", weighed to {:.0}% new individuals", s * 100.0))
        .unwrap_or_default();
    say!(
        "calibrated threshold {:.2}: MAP@5 {:.4} over {} leave-one-out queries{weighed}",
        c.threshold,
        c.map_at_5,
        c.queries
    );
    say!(
        "  expected at this threshold: {:.1}% of known animals shown new_individual first, {:.1}% of new animals caught",
        c.known_shown_new * 100.0,
        c.new_caught * 100.0
    );
    say!("  threshold  MAP@5");
    for p in c.curve.iter().step_by(5) {
        let mark = if (p.threshold - c.threshold).abs() < 1e-6 {
            " <"
        } else {
            ""
        };
        say!("  {:>9.2}  {:.4}{mark}", p.threshold, p.map_at_5);
    }
    for (species, s) in &c.per_species {
        say!(
            "  {species:<26} threshold {:.2} ({}), MAP@5 {:.4}, {} queries, {} individuals",
            s.threshold,
            if s.own_threshold { "own" } else { "overall" },
            s.map_at_5,
            s.queries,
            s.individuals
        );
    }
}

/// `catalogue index`: build and save the HNSW snapshot.
///
/// The snapshot is a cache beside the database, not part of it, so this
/// runs beside a writer: it is written whole under a name of this process's
/// own and renamed into place (another process's save is replaced whole,
/// never mixed), and a loader uses it only if it was built from exactly the
/// first vectors it holds, searching those added since exactly. A snapshot
/// a writer has since outdated is at worst left unused (an exact scan),
/// never wrong.
pub fn index_cmd(dir: PathBuf) -> Result<ExitCode> {
    let cat = open_reader(&dir)?;
    let started = std::time::Instant::now();
    // The dimension comes from the catalogue's embeddings.
    let (gallery, _) = Gallery::from_catalogue(&cat, IndexConfig::new(0))?;
    let path = gallery.save_index(&cat)?;
    // Embeddings that do not fit the version are left out, each named.
    let pack = whaleid::matching::identify::catalogue_pack(&cat)?;
    let mut left_out: Vec<String> = cat
        .misfit_vectors()?
        .iter()
        .filter(|m| (&m.pack_name, &m.pack_version) == (&pack.0, &pack.1))
        .map(|m| m.to_string())
        .collect();
    left_out.extend(gallery.skipped().iter().map(|e| e.to_string()));
    for why in &left_out {
        tell!("left out: {why}");
    }
    say!(
        "indexed {} embeddings in {:.1} s: {}{}",
        gallery.len(),
        started.elapsed().as_secs_f64(),
        path.display(),
        if left_out.is_empty() {
            String::new()
        } else {
            format!(
                " ({} left out: `whaleid catalogue repair` removes what does not fit)",
                left_out.len()
            )
        }
    );
    Ok(ExitCode::SUCCESS)
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// CSV with image, species, individual_id (and optionally a box column).
    #[arg(long)]
    labels: PathBuf,
    /// Folder of the CSV's images.
    #[arg(long)]
    images: PathBuf,
    /// Ignore the CSV's boxes: embed what the detector finds (or whole photos).
    #[arg(long)]
    no_boxes: bool,
    /// new_individual threshold [default: the pack's].
    #[arg(long)]
    threshold: Option<f32>,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Share of individuals held out entirely (truth: new_individual).
    #[arg(long, default_value_t = 0.2)]
    unseen: f64,
    /// Share of each remaining individual's photos used as queries.
    #[arg(long, default_value_t = 0.2)]
    queries: f64,
    /// Expected share of new individuals the calibration weighs its
    /// leave-one-out queries to (as `catalogue calibrate`).
    #[arg(long, default_value_t = whaleid::matching::field::DEFAULT_NEW_SHARE)]
    new_share: f64,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    models: ModelArgs,
}

pub fn eval_cmd(a: EvalArgs) -> Result<ExitCode> {
    let items = labels::read_csv(&a.labels, &a.images)?;
    let pack = a.models.load_pack()?;
    let threshold = a
        .threshold
        .unwrap_or(pack.manifest.matching.new_individual_threshold);
    let pipeline = Pipeline::open(pack, &a.models.session())?;
    let mut options = EvalOptions::new(threshold);
    options.seed = a.seed;
    options.unseen_fraction = a.unseen;
    options.query_fraction = a.queries;
    options.use_boxes = !a.no_boxes;
    options.new_share = Some(a.new_share);
    let cancel = crate::cancel_on_ctrl_c();
    let mut quiet = |_| {};
    let r = eval_run::run(&pipeline, &items, &options, &mut quiet, &cancel)?;
    if a.json {
        crate::print_pretty(&r)?;
    } else {
        say!(
            "{} photos ({} failed), crops {:?}; gallery {} photos, {} queries, {} unseen individuals (seed {})",
            r.photos,
            r.failed.len(),
            r.crops,
            r.gallery_photos,
            r.queries,
            r.unseen_individuals,
            a.seed
        );
        println!(
            "\nthreshold {:.2} (fixed):\n{}",
            r.threshold,
            crate::shown_lines(&r.report.to_string())
        );
        if let (Some(c), Some(report)) = (&r.calibration, &r.calibrated_report) {
            println!();
            print_calibration(c);
            println!(
                "\nthreshold calibrated on the gallery:\n{}",
                crate::shown_lines(&report.to_string())
            );
        }
    }
    for (path, reason) in &r.failed {
        tell!("failed: {}: {reason}", path.display());
    }
    Ok(exit_code(!r.failed.is_empty()))
}
