//! `whaleid train`: fine-tune the catalogue's pack on its confirmed
//! identifications, list its versions, or roll back.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Result;
use clap::Args;

use whaleid::catalogue::Catalogue;
use whaleid::matching::identify::catalogue_pack;
use whaleid::packs::Pack;
use whaleid::train::finetune::{self, FinetuneOptions, Phase, Progress, Scores};
use whaleid::train::job::{self, JobOptions, JobOutcome};
use whaleid::train::versions::{refresh, switch_version};
use whaleid::train::DynamicMargin;

use crate::{cancel_on_ctrl_c, ModelArgs};
use whaleid::packs::binding::remembered_dir;

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// The catalogue whose confirmed identifications to train on.
    #[arg(long, short)]
    catalogue: PathBuf,
    /// Epochs per backbone (training stops earlier when validation stalls).
    #[arg(long, default_value_t = 40)]
    epochs: usize,
    /// Stop after this many epochs without a better validation MAP@5 (0: never).
    #[arg(long, default_value_t = 10)]
    patience: usize,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
    /// Peak learning rate (AdamW, cosine schedule after one warm-up epoch).
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    /// Augmented views cached per confirmed detection (random crop of 80-100%
    /// of its area, flip, brightness/contrast), computed once with the frozen
    /// backbone; each epoch shows a photo as its plain crop or one of them
    /// (0: plain crops only).
    #[arg(long, default_value_t = whaleid::train::views::DEFAULT_VIEWS)]
    views: usize,
    /// ArcFace sub-centres per individual (2: sub-center ArcFace).
    #[arg(long, default_value_t = 1)]
    subcenters: usize,
    /// Per-individual margins, smaller for individuals with many photos.
    #[arg(long)]
    dynamic_margin: bool,
    /// Share of individuals held out whole to test "new individual".
    #[arg(long, default_value_t = 0.15)]
    holdout_individuals: f64,
    /// Share of each other individual's photos held out (at least one).
    #[arg(long, default_value_t = 0.2)]
    holdout_photos: f64,
    /// Validation MAP@5 must rise by more than this to adopt (negative:
    /// adopt even when it falls, for experiments; rollback stays available).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    min_gain: f64,
    /// Measure only: never adopt the trained version.
    #[arg(long)]
    dry_run: bool,
    /// Train on the first CUDA GPU (needs a build with `train-cuda`); an
    /// error when there is none, never a CPU run.
    #[arg(long)]
    gpu: bool,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// List the pack versions of the catalogue and exit.
    #[arg(long, conflicts_with_all = ["rollback", "use_version"])]
    list: bool,
    /// Go back to the version the active one was trained from.
    #[arg(long, conflicts_with = "use_version")]
    rollback: bool,
    /// Make this recorded version the active one.
    #[arg(long = "use", value_name = "VERSION")]
    use_version: Option<String>,
    #[command(flatten)]
    models: ModelArgs,
}

pub fn train_cmd(a: TrainArgs) -> Result<ExitCode> {
    if a.list {
        // Reads only: beside a writer.
        return list(&crate::catalogue::open_reader(&a.catalogue)?);
    }
    let mut cat = Catalogue::open(&a.catalogue)?;
    if a.rollback || a.use_version.is_some() {
        return switch(&mut cat, a.use_version.as_deref());
    }
    let pack_dir = a.models.pack_dir_or(remembered_dir(&cat)?)?;
    let pack = Pack::load(&pack_dir)?;
    // `--gpu` is a request, not a hope: no GPU is an error, never a CPU run.
    let device = if a.gpu {
        whaleid::train::gpu_device()?
    } else {
        whaleid::train::TrainDevice::cpu()
    };
    tell!("training on: {}", device.ran_on);
    let options = job_options(&a, device.device);
    let ov = finetune::overview(&cat, &pack)?;
    tell!(
        "{} confirmed detections of {} individuals ({} seen on 2+ photos); {} detections need features",
        ov.detections, ov.individuals, ov.individuals_with_repeats, ov.missing_features
    );
    let cancel = cancel_on_ctrl_c();
    let mut printer = progress_printer();
    let outcome = match job::run(&mut cat, &pack, &options, &cancel, &mut printer) {
        Err(whaleid::Error::Cancelled) => {
            eprintln!("cancelled: nothing was adopted (features computed are kept)");
            return Ok(ExitCode::from(130));
        }
        other => other?,
    };
    if let (true, Some(ad)) = (outcome.cancelled_after_adoption, &outcome.adopted) {
        // Said first and on stderr, where the Ctrl-C was acknowledged.
        eprintln!(
            "whaleid: Ctrl-C came after the adoption had committed: {} {} is in use (`whaleid train --rollback` goes back)",
            pack.name(),
            ad.version
        );
    }
    if a.json {
        crate::print_pretty(&outcome)?;
        return Ok(ExitCode::SUCCESS);
    }
    print_outcome(&outcome, &pack, a.dry_run);
    Ok(ExitCode::SUCCESS)
}

/// `--rollback` / `--use VERSION`: switch the active version and refresh
/// embeddings, index and suggestions for it.
fn switch(cat: &mut Catalogue, version: Option<&str>) -> Result<ExitCode> {
    let s = switch_version(cat, version, None)?;
    let r = refresh(cat)?;
    say!(
        "now using {} (was {}); embedded {} detections from cached features; index {}; suggestions ranked again for {} detections awaiting review",
        s.to,
        s.from,
        s.reembedded,
        r.index.display(),
        r.suggestions
    );
    Ok(ExitCode::SUCCESS)
}

/// The training job the arguments ask for.
fn job_options(a: &TrainArgs, device: candle_core::Device) -> JobOptions {
    JobOptions {
        finetune: FinetuneOptions {
            fit: whaleid::train::FitConfig {
                epochs: a.epochs,
                batch_size: a.batch_size,
                lr: a.lr,
                seed: a.seed,
                patience: (a.patience > 0).then_some(a.patience),
                arcface: whaleid::train::ArcFaceConfig {
                    k: a.subcenters,
                    dynamic: a.dynamic_margin.then(DynamicMargin::default),
                    ..Default::default()
                },
                ..whaleid::train::FitConfig::default()
            },
            val_photo_share: a.holdout_photos,
            val_individual_share: a.holdout_individuals,
            min_gain: a.min_gain,
            views: a.views,
            ..FinetuneOptions::default()
        },
        session: a.models.session(),
        device,
        adopt: !a.dry_run,
        actor: None,
    }
}

/// Training progress on stderr: every epoch, and counted phases at most
/// twice a second (and at their end).
fn progress_printer() -> impl FnMut(Progress<'_>) {
    let mut last = Instant::now() - Duration::from_secs(1);
    move |p| {
        match p {
        Progress::Phase { phase, done, total } => {
            let counted = matches!(phase, Phase::Features | Phase::Views);
            if !counted || done == total || last.elapsed() > Duration::from_millis(500) {
                last = Instant::now();
                tell!("{phase:?}: {done}/{total}");
            }
        }
        Progress::Epoch {
            backbone,
            epochs,
            stats,
        } => tell!(
            "{backbone} epoch {:>3}/{epochs}: loss {:.4}, train accuracy {:.3}, validation MAP@5 {}, {:.1} s",
            stats.epoch + 1,
            stats.loss,
            stats.accuracy,
            stats.val_map5.map_or("-".into(), |m| format!("{m:.4}")),
            stats.seconds
        ),
    }
    }
}

/// The job's report as text: features and views computed, the data trained
/// and validated on, the scores, and whether the version was adopted.
fn print_outcome(outcome: &JobOutcome, pack: &Pack, dry_run: bool) {
    let r = &outcome.report;
    if outcome.features.computed > 0 || !outcome.features.failed.is_empty() {
        say!(
            "features computed for {} detections ({} from stored crops); {} could not be read",
            outcome.features.computed,
            outcome.features.from_crops,
            outcome.features.failed.len()
        );
    }
    let v = &outcome.views;
    if v.views > 0 {
        say!(
            "augmented views: {} per detection, computed now for {} detections ({} from stored crops, {} could not be read); cache {} detections, {:.1} KiB per detection ({:.1} MiB)",
            v.views,
            v.computed,
            v.from_crops,
            v.failed.len(),
            v.cache.detections,
            v.cache.bytes_per_detection() as f64 / 1024.0,
            v.cache.vector_bytes as f64 / (1024.0 * 1024.0)
        );
    }
    say!(
        "trained on {} detections of {} individuals ({} with {} augmented views each); validated on {} held-out photos and {} held-out individuals ({:.1} s)",
        r.train_detections,
        r.classes,
        r.train_detections_with_views,
        r.views,
        r.validation_photos,
        r.validation_individuals,
        r.seconds
    );
    print_scores(&r.before, &r.after);
    match &outcome.adopted {
        Some(ad) => say!(
            "adopted as {} {} ({}); re-embedded {} detections from cached features; threshold in use {} (calibrated on the whole catalogue, as `catalogue calibrate` does); index rebuilt; suggestions ranked again for {} detections awaiting review",
            pack.name(),
            ad.version,
            ad.path.display(),
            ad.reembedded,
            ad.threshold.map_or("unchanged".into(), |t| format!("{t:.2}")),
            outcome.refreshed.as_ref().map_or(0, |r| r.suggestions)
        ),
        None if dry_run => say!("dry run: {}; nothing adopted", r.reason),
        None => say!("not adopted: {}", r.reason),
    }
}

fn print_scores(before: &Scores, after: &Scores) {
    say!("                               before   after");
    let rows = [
        (
            "known individuals  MAP@5",
            before.known.map_at_5,
            after.known.map_at_5,
        ),
        (
            "                   top-1",
            before.known.top1,
            after.known.top1,
        ),
        (
            "                   top-5",
            before.known.top5,
            after.known.top5,
        ),
        (
            "with new ones      MAP@5",
            before.open.map_at_5,
            after.open.map_at_5,
        ),
        (
            "                   top-1",
            before.open.top1,
            after.open.top1,
        ),
        (
            "                   top-5",
            before.open.top5,
            after.open.top5,
        ),
    ];
    for (label, b, a) in rows {
        say!("  {label:<27} {b:>6.3}  {a:>6.3}");
    }
    say!(
        "  {:<27} {:>6.2}  {:>6.2}",
        "validation threshold",
        before.threshold,
        after.threshold
    );
}

fn list(cat: &Catalogue) -> Result<ExitCode> {
    let (name, active) = catalogue_pack(cat)?;
    let versions = cat.pack_versions(&name)?;
    if versions.is_empty() {
        say!("{name} {active} (active): no trained versions yet");
        return Ok(ExitCode::SUCCESS);
    }
    for v in versions {
        let mark = if v.pack_version == active {
            " (active)"
        } else {
            ""
        };
        let from = v
            .parent_version
            .as_deref()
            .map_or(String::new(), |p| format!(" from {p}"));
        say!(
            "{name} {}{from}{mark}  {}  {}",
            v.pack_version,
            v.created_at,
            v.path
        );
    }
    Ok(ExitCode::SUCCESS)
}
