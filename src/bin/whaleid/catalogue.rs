//! Catalogue commands: `catalogue create|import|stats|backup|check` and
//! `individual show|merge|split|rename|undo`.
//!
//! A command that writes nothing to the catalogue opens it with
//! [`open_reader`], so it runs while the app or an ingest holds the
//! catalogue's writer lock; a command that writes opens it as the writer
//! and is refused meanwhile, naming the process that holds it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use clap::{Args, Subcommand};

use whaleid::catalogue::{keys, observer, Catalogue};
use whaleid::index::IndexConfig;
use whaleid::ingest::{self, labels, ImportOptions, Pipeline, Progress};
use whaleid::matching::{field, Gallery};
use whaleid::packs::binding::{bind, remembered_dir};
use whaleid::packs::Pack;
use whaleid::sync::accounts::shown_author;

use crate::{cancel_on_ctrl_c, ModelArgs};

#[derive(Subcommand, Debug)]
pub enum CatalogueCommand {
    /// Create an empty catalogue folder bound to a model pack.
    Create {
        dir: PathBuf,
        #[command(flatten)]
        models: ModelArgs,
    },
    /// Import labelled photos: a Kaggle-style CSV (image,species,individual_id
    /// [,box]) with its image folder, a Wildbook bulk-import sheet with its
    /// image folder, or one folder per individual.
    Import {
        dir: PathBuf,
        /// CSV with `image`, `individual_id` and optionally `species` and a box column.
        #[arg(long, requires = "images", conflicts_with = "folders")]
        labels: Option<PathBuf>,
        /// A Wildbook/Flukebook bulk-import sheet (as `export --wildbook`
        /// writes): one photo per row, its individual, date, position and
        /// occurrence (encounter).
        #[arg(long, requires = "images", conflicts_with_all = ["labels", "folders"])]
        wildbook: Option<PathBuf>,
        /// Folder the CSV's or sheet's image names are in.
        #[arg(long)]
        images: Option<PathBuf>,
        /// A folder holding one sub-folder of photos per individual.
        #[arg(long)]
        folders: Option<PathBuf>,
        /// Species of every individual under --folders.
        #[arg(long, requires = "folders")]
        species: Option<String>,
        /// Ignore the CSV's boxes and run the detector.
        #[arg(long)]
        no_boxes: bool,
        /// Do not save crop JPEGs under media/crops.
        #[arg(long)]
        no_crops: bool,
        /// Who imports the photos [default: the observer: $WHALEID_OBSERVER,
        /// else `catalogue config --observer`, else the login name].
        #[arg(long)]
        author: Option<String>,
        #[command(flatten)]
        models: ModelArgs,
    },
    /// Counts of individuals, photos, embeddings, per species. Runs beside
    /// a writer (the app, an ingest).
    Stats {
        dir: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Copy the catalogue (database and media) into a new folder, online.
    Backup { dir: PathBuf, dest: PathBuf },
    /// SQLite integrity and foreign-key check, and every crop and thumbnail
    /// the records refer to is there. Runs beside a writer.
    Check { dir: PathBuf },
    /// Remove what `check` finds that can go without losing work:
    /// embeddings that do not fit their pack version (another number of
    /// values than the version's, or values that are not numbers), such as
    /// one received from a careless laptop. Prints how many and which;
    /// their detections and decisions stay.
    Repair { dir: PathBuf },
    /// Write identifications as CSV (one row per detection) and/or the Kaggle
    /// submission format (image,predictions with five ids). Runs beside a
    /// writer.
    Export {
        dir: PathBuf,
        #[arg(long, required_unless_present_any = ["kaggle", "dwca", "mark", "socprog", "wildbook"])]
        csv: Option<PathBuf>,
        #[arg(long)]
        kaggle: Option<PathBuf>,
        #[command(flatten)]
        filter: ExportFilterArgs,
        #[command(flatten)]
        dwca: DwcaArgs,
        #[command(flatten)]
        publish: crate::publish::PublishArgs,
    },
    /// Choose the new_individual threshold from the confirmed identifications
    /// (leave one out) and save it as the catalogue's.
    Calibrate {
        dir: PathBuf,
        /// A species gets its own threshold from this many individuals.
        #[arg(long, default_value_t = 5)]
        min_individuals: usize,
        /// Show the result without saving it (runs beside a writer).
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
    },
    /// Build and save the HNSW index (otherwise queries scan exactly).
    /// Runs beside a writer: the index is a cache, replaced whole.
    Index { dir: PathBuf },
    /// Change the catalogue's search settings.
    Config {
        dir: PathBuf,
        /// new_individual threshold (what `calibrate` sets); waiting
        /// detections are ranked again with it.
        #[arg(long)]
        threshold: Option<f32>,
        /// Expected share of new individuals among survey detections, in
        /// [0, 1], until the catalogue has 30 review decisions of its own
        /// (default 0.15); a calibrated threshold is recalibrated for it.
        #[arg(long)]
        new_share: Option<f64>,
        /// Weight of the pack's ArcFace head score, in [0, 1].
        #[arg(long)]
        head_weight: Option<f32>,
        /// How the index holds vectors: f32, or f16 for half the memory.
        #[arg(long, value_parser = ["f32", "f16"])]
        precision: Option<String>,
        /// The observer name recorded on decisions, edits, imports and sync
        /// made with this catalogue (unless --author or $WHALEID_OBSERVER
        /// says otherwise).
        #[arg(long)]
        observer: Option<String>,
    },
}

#[derive(Args, Debug)]
pub struct CatalogueArg {
    /// The catalogue folder.
    #[arg(long, short)]
    catalogue: PathBuf,
    /// Who makes the change [default: the observer: $WHALEID_OBSERVER, else
    /// `catalogue config --observer`, else the login name].
    #[arg(long = "author", visible_alias = "by")]
    by: Option<String>,
}

impl CatalogueArg {
    /// The catalogue and who makes the change (`--author`, else the observer).
    fn open(&self) -> Result<(Catalogue, Option<String>)> {
        let cat = Catalogue::open(&self.catalogue)?;
        let by = observer::observer(&cat, self.by.as_deref())?;
        Ok((cat, by))
    }
}

#[derive(Subcommand, Debug)]
pub enum IndividualCommand {
    /// An individual, its detections, its sightings (who decided each) and
    /// its history.
    Show {
        #[command(flatten)]
        cat: CatalogueArg,
        individual: String,
    },
    /// Merge FROM into INTO: they are one animal.
    Merge {
        #[command(flatten)]
        cat: CatalogueArg,
        from: String,
        into: String,
    },
    /// Move detections of an individual to a new individual.
    Split {
        #[command(flatten)]
        cat: CatalogueArg,
        individual: String,
        /// Detection ids to move (see `individual show`).
        #[arg(long, value_delimiter = ',', required = true)]
        detections: Vec<i64>,
        /// Code of the new individual.
        #[arg(long = "new")]
        new_code: String,
    },
    /// Give an individual a new code (the old one stays as an alias).
    Rename {
        #[command(flatten)]
        cat: CatalogueArg,
        individual: String,
        new_code: String,
    },
    /// Undo a merge, split or rename by its event id.
    Undo {
        #[command(flatten)]
        cat: CatalogueArg,
        event: i64,
    },
}

pub fn run(command: CatalogueCommand) -> Result<ExitCode> {
    match command {
        CatalogueCommand::Create { dir, models } => create_cmd(&dir, &models),
        CatalogueCommand::Import {
            dir,
            labels: csv,
            wildbook,
            images,
            folders,
            species,
            no_boxes,
            no_crops,
            author,
            models,
        } => {
            if let (Some(sheet), Some(images)) = (&wildbook, &images) {
                let table =
                    whaleid::catalogue::publish::species::SpeciesTable::for_catalogue(&dir)?;
                let (items, places) = ingest::wildbook::read_sheet(sheet, images, &table)?;
                let code = import_cmd(
                    &dir,
                    &items,
                    !no_boxes,
                    !no_crops,
                    author.as_deref(),
                    &models,
                )?;
                crate::publish::place(&dir, &places)?;
                return Ok(code);
            }
            let items = match (csv, images, folders) {
                (Some(csv), Some(images), None) => labels::read_csv(&csv, &images)?,
                (None, None, Some(root)) => labels::read_folders(&root, species.as_deref())?,
                _ => bail!(
                    "give --labels CSV --images DIR, --wildbook SHEET --images DIR, or --folders DIR"
                ),
            };
            import_cmd(
                &dir,
                &items,
                !no_boxes,
                !no_crops,
                author.as_deref(),
                &models,
            )
        }
        CatalogueCommand::Stats { dir, json } => stats_cmd(&dir, json),
        CatalogueCommand::Backup { dir, dest } => {
            // A reader: backs up beside a writer at work.
            Catalogue::open_read_only(&dir)?.backup(&dest)?;
            say!("backed up {} to {}", dir.display(), dest.display());
            Ok(ExitCode::SUCCESS)
        }
        CatalogueCommand::Calibrate {
            dir,
            min_individuals,
            dry_run,
            json,
        } => crate::identify::calibrate_cmd(dir, min_individuals, dry_run, json),
        CatalogueCommand::Index { dir } => crate::identify::index_cmd(dir),
        CatalogueCommand::Config {
            dir,
            threshold,
            new_share,
            head_weight,
            precision,
            observer: name,
        } => config_cmd(
            &dir,
            ConfigChanges {
                threshold,
                new_share,
                head_weight,
                precision,
                observer: name,
            },
        ),
        CatalogueCommand::Export {
            dir,
            csv,
            kaggle,
            filter,
            publish,
            dwca,
        } => {
            publish.validate()?;
            dwca.validate()?;
            export_cmd(&dir, csv.as_deref(), kaggle.as_deref(), &filter.to_filter())?;
            publish.export(&open_reader(&dir)?, &filter.to_filter())?;
            dwca.export(&dir, &filter.to_filter())?;
            Ok(ExitCode::SUCCESS)
        }
        CatalogueCommand::Check { dir } => check_cmd(&dir),
        CatalogueCommand::Repair { dir } => repair_cmd(&dir),
    }
}

/// `catalogue create`: a new catalogue bound to the pack.
fn create_cmd(dir: &Path, models: &ModelArgs) -> Result<ExitCode> {
    let pack = models.load_pack()?;
    let mut cat = Catalogue::create(dir)?;
    bind(&mut cat, &pack, &models.pack_dir()?)?;
    say!(
        "created catalogue {} for pack {} {}",
        dir.display(),
        pack.name(),
        pack.version()
    );
    Ok(ExitCode::SUCCESS)
}

/// `catalogue import`: the labelled items into the catalogue (created if
/// missing), then the index refreshed if the gallery is large enough.
fn import_cmd(
    dir: &Path,
    items: &[labels::Labelled],
    use_boxes: bool,
    write_crops: bool,
    author: Option<&str>,
    models: &ModelArgs,
) -> Result<ExitCode> {
    let mut cat = open_or_create(dir)?;
    let pack_dir = models.pack_dir_or(remembered_dir(&cat)?)?;
    let pack = Pack::load(&pack_dir)?;
    bind(&mut cat, &pack, &pack_dir)?;
    let pipeline = Pipeline::open(pack, &models.session())?;
    let options = ImportOptions {
        use_boxes,
        write_crops,
        imported_by: observer::observer(&cat, author)?,
        ..ImportOptions::default()
    };
    let cancel = cancel_on_ctrl_c();
    let started = Instant::now();
    let mut printer = progress_printer();
    let report = match ingest::import(&mut cat, &pipeline, items, &options, &mut printer, &cancel) {
        Err(whaleid::Error::Cancelled) => {
            tell!("cancelled: what was imported is kept; run the same command again to resume");
            return Ok(ExitCode::from(130));
        }
        other => other?,
    };
    for (path, reason) in &report.failed {
        tell!("failed: {}: {reason}", path.display());
    }
    for (path, reason) in &report.warnings {
        tell!("warning: {}: {reason}", path.display());
    }
    if report.imported > 0 {
        refresh_index(&cat)?;
    }
    say!(
        "imported {} photos, skipped {} already in the catalogue, {} failed, {} embedded whole (no detection), in {:.1} s",
        report.imported,
        report.skipped,
        report.failed.len(),
        report.whole_photo_fallbacks,
        started.elapsed().as_secs_f64()
    );
    Ok(crate::exit_code(!report.failed.is_empty()))
}

/// Large catalogues search through the saved HNSW index: refresh it after an
/// import rather than leave every later query to scan the new photos. (The
/// confirmed-detection count is the gallery size, without loading a vector.)
fn refresh_index(cat: &Catalogue) -> Result<()> {
    let threshold = IndexConfig::new(0).exact_threshold as i64;
    if cat.stats()?.confirmed_detections >= threshold {
        let (gallery, _) = Gallery::from_catalogue(cat, IndexConfig::new(0))?;
        tell!("Indexing {} embeddings...", gallery.len());
        let path = gallery.save_index(cat)?;
        tell!("index saved: {}", path.display());
    }
    Ok(())
}

/// `catalogue stats`: the counts, as JSON or as a table.
fn stats_cmd(dir: &Path, json: bool) -> Result<ExitCode> {
    let stats = open_reader(dir)?.stats()?;
    if json {
        crate::print_pretty(&stats)?;
        return Ok(ExitCode::SUCCESS);
    }
    say!(
        "catalogue {} (schema {})",
        dir.display(),
        stats.schema_version
    );
    say!(
        "pack          {}",
        stats.pack.as_deref().unwrap_or("(none yet)")
    );
    say!(
        "individuals   {} (+{} merged)",
        stats.individuals,
        stats.merged_individuals
    );
    say!("photos        {}", stats.photos);
    say!(
        "detections    {} ({} confirmed)",
        stats.detections,
        stats.confirmed_detections
    );
    say!("embeddings    {}", stats.embeddings);
    for (species, n) in &stats.species {
        say!("  {species:<28} {n:>6} individuals");
    }
    Ok(ExitCode::SUCCESS)
}

/// The settings `catalogue config` was asked to change.
struct ConfigChanges {
    threshold: Option<f32>,
    new_share: Option<f64>,
    head_weight: Option<f32>,
    precision: Option<String>,
    observer: Option<String>,
}

/// `catalogue config`: apply the changes, re-rank waiting detections if the
/// threshold moved, then print every search setting (only that, beside a
/// writer, when nothing is to change).
fn config_cmd(dir: &Path, changes: ConfigChanges) -> Result<ExitCode> {
    let changing = changes.threshold.is_some()
        || changes.new_share.is_some()
        || changes.head_weight.is_some()
        || changes.precision.is_some()
        || changes.observer.is_some();
    let mut cat = if changing {
        Catalogue::open(dir)?
    } else {
        open_reader(dir)?
    };
    if let Some(name) = changes.observer {
        observer::set_observer(&mut cat, &name)?;
    }
    if let Some(s) = changes.new_share {
        let recalibrated = field::set_expected_new_share(&mut cat, s)?;
        say!(
            "expected share of new individuals: {}",
            field::expected_new_share(&cat)?
        );
        if let Some(c) = recalibrated {
            crate::identify::print_calibration(&c);
        }
    }
    if let Some(t) = changes.threshold {
        field::set_threshold(&mut cat, t)?;
    }
    if changes.threshold.is_some() || changes.new_share.is_some() {
        crate::identify::rerank_cmd(&mut cat)?;
    }
    if let Some(w) = changes.head_weight {
        if !(0.0..=1.0).contains(&w) {
            bail!("--head-weight {w} must be in [0, 1]");
        }
        cat.set_setting(keys::HEAD_BLEND, &w.to_string())?;
    }
    if let Some(p) = changes.precision {
        cat.set_setting(keys::INDEX_PRECISION, &p)?;
    }
    for key in [
        keys::PACK_NAME,
        keys::PACK_VERSION,
        keys::THRESHOLD,
        keys::THRESHOLD_SOURCE,
        keys::NEW_SHARE,
        keys::HEAD_BLEND,
        keys::INDEX_PRECISION,
        observer::SETTING,
    ] {
        say!(
            "{key} = {}",
            cat.setting(key)?.as_deref().unwrap_or("(default)")
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Which identified sightings the publication formats of `catalogue export`
/// take (issue 16); the CSV and Kaggle files always hold every detection.
/// Every publication format reads these flags, and a new filter (quality,
/// distinctiveness) is one more field here and in `publish::Filter`.
#[derive(Args, Debug, Default)]
pub struct ExportFilterArgs {
    /// Only this species (as recorded; repeat for several).
    #[arg(long = "species", value_name = "SPECIES")]
    species: Vec<String>,
    /// Only photos taken on or after this day (YYYY-MM-DD).
    #[arg(long, value_name = "YYYY-MM-DD")]
    from: Option<String>,
    /// Only photos taken on or before this day (YYYY-MM-DD).
    #[arg(long, value_name = "YYYY-MM-DD")]
    to: Option<String>,
    /// Only detections graded this photo quality or better (Q1, Q2, Q3).
    #[arg(long, value_name = "Q1|Q2|Q3")]
    min_quality: Option<whaleid::catalogue::attributes::Quality>,
    /// Only detections graded one of these distinctiveness grades
    /// (D1, D2, D3; repeat or separate with commas).
    #[arg(long, value_name = "D1|D2|D3", value_delimiter = ',')]
    distinctiveness: Vec<whaleid::catalogue::attributes::Distinctiveness>,
}

impl ExportFilterArgs {
    pub fn to_filter(&self) -> whaleid::catalogue::publish::Filter {
        whaleid::catalogue::publish::Filter {
            species: self.species.clone(),
            from: self.from.clone(),
            to: self.to.clone(),
            min_quality: self.min_quality,
            distinctiveness: self.distinctiveness.clone(),
        }
    }
}

/// `catalogue export --dwca`: the Darwin Core Archive for OBIS and GBIF,
/// and the dataset's description its `eml.xml` carries.
#[derive(Args, Debug, Default)]
pub struct DwcaArgs {
    /// Darwin Core Archive (.zip) of the identified sightings, for OBIS
    /// and GBIF; needs --contact and --licence.
    #[arg(long, value_name = "F.zip")]
    dwca: Option<PathBuf>,
    /// The dataset's title (default: the catalogue folder's name).
    #[arg(long, value_name = "TITLE", requires = "dwca")]
    title: Option<String>,
    /// Who answers questions about the dataset: "Name <name@example.org>",
    /// a name or an address.
    #[arg(long, value_name = "NAME/EMAIL", requires = "dwca")]
    contact: Option<String>,
    /// The dataset's licence: CC0-1.0, CC-BY-4.0 or CC-BY-NC-4.0.
    #[arg(long, value_name = "LICENCE", requires = "dwca")]
    licence: Option<String>,
}

impl DwcaArgs {
    /// Refuse a missing contact or licence before anything is written.
    pub fn validate(&self) -> Result<()> {
        if self.dwca.is_some() {
            if self.contact.is_none() {
                bail!("--dwca needs --contact: who answers questions about the dataset (\"Name <name@example.org>\")");
            }
            if self.licence.is_none() {
                bail!("--dwca needs --licence: CC0-1.0, CC-BY-4.0 or CC-BY-NC-4.0");
            }
        }
        Ok(())
    }

    /// Write the archive asked for; list the sightings it left out.
    pub fn export(
        &self,
        dir: &Path,
        filter: &whaleid::catalogue::publish::Filter,
    ) -> Result<ExitCode> {
        let Some(path) = &self.dwca else {
            return Ok(ExitCode::SUCCESS);
        };
        let name = std::fs::canonicalize(dir)
            .ok()
            .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| dir.display().to_string());
        let info = whaleid::catalogue::publish::dwca::DatasetInfo {
            title: self.title.clone().unwrap_or_else(|| {
                format!("Photo-identification sightings: WhaleID catalogue {name}")
            }),
            contact: self.contact.clone().unwrap_or_default(),
            licence: self.licence.clone().unwrap_or_default(),
            description: None,
        };
        let r = open_reader(dir)?.export_dwca(path, filter, &info)?;
        say!("{}: {} occurrences", path.display(), r.records);
        for s in &r.left_out {
            say!(
                "left out detection #{} ({}): {}",
                s.detection_number,
                s.photo,
                s.reasons.join(", ")
            );
        }
        Ok(ExitCode::SUCCESS)
    }
}

/// `catalogue export`: the CSV and/or Kaggle files asked for.
fn export_cmd(
    dir: &Path,
    csv: Option<&Path>,
    kaggle: Option<&Path>,
    filter: &whaleid::catalogue::publish::Filter,
) -> Result<ExitCode> {
    // Refuse a bad date before anything is written.
    filter.validate()?;
    let cat = open_reader(dir)?;
    if let Some(path) = csv {
        let rows = cat.export_csv(path)?;
        say!("{}: {rows} detections", path.display());
    }
    if let Some(path) = kaggle {
        let rows = cat.export_kaggle(path)?;
        say!("{}: {rows} photos", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// `catalogue check`: exit 2 and one line per problem, if any.
fn check_cmd(dir: &Path) -> Result<ExitCode> {
    let problems = Catalogue::open_read_only(dir)?.check()?;
    if problems.is_empty() {
        say!(
            "ok: {} passes the integrity, foreign-key and media checks",
            dir.display()
        );
        Ok(ExitCode::SUCCESS)
    } else {
        for p in &problems {
            say!("problem: {p}");
        }
        Ok(ExitCode::from(2))
    }
}

/// `catalogue repair`: remove the embeddings that do not fit, naming each.
fn repair_cmd(dir: &Path) -> Result<ExitCode> {
    let removed = Catalogue::open(dir)?.remove_misfit_vectors()?;
    for m in &removed {
        say!("removed {m}");
    }
    say!(
        "repaired {}: removed {} embedding{} that did not fit {} pack version",
        dir.display(),
        removed.len(),
        if removed.len() == 1 { "" } else { "s" },
        if removed.len() == 1 { "its" } else { "their" }
    );
    Ok(ExitCode::SUCCESS)
}

pub fn run_individual(command: IndividualCommand) -> Result<ExitCode> {
    let event = match command {
        IndividualCommand::Show { cat, individual } => {
            let cat = open_reader(&cat.catalogue)?;
            let ind = cat.individual(&individual)?;
            crate::print_pretty(&ind)?;
            let resolved = cat.resolve(ind.id)?;
            if resolved != ind.id {
                say!("merged into {}", cat.individual_by_id(resolved)?.code);
            }
            let detections = cat.detections_of(ind.id)?;
            say!("detections: {:?}", detections);
            // Graded ones: quality distinctiveness side part, `-` where not.
            for d in detections {
                let a = cat.attributes(d)?;
                if a != Default::default() {
                    say!("grades detection #{d} {}", a.summary());
                }
            }
            // Who decided or edited: the name claimed, and for what arrived
            // by sync the server account that pushed it where it differs.
            let by = |name: &Option<String>, account: &Option<String>| {
                shown_author(name.as_deref(), account.as_deref()).unwrap_or_else(|| "-".into())
            };
            for s in cat.sightings(ind.id, None)? {
                say!(
                    "sighting detection #{} photo #{} taken {} {} by {} at {}",
                    s.detection_id,
                    s.photo_id,
                    s.taken_at.as_deref().unwrap_or("-"),
                    s.source,
                    by(&s.decided_by, &s.decided_by_account),
                    s.decided_at
                );
            }
            for e in cat.events(ind.id)? {
                say!(
                    "event {} {} #{} -> {:?} by {} at {}{}",
                    e.id,
                    e.kind,
                    e.individual_id,
                    e.other_id,
                    by(&e.actor, &e.actor_account),
                    e.created_at,
                    e.undone_at
                        .map(|u| format!(" (undone {u})"))
                        .unwrap_or_default()
                );
            }
            return Ok(ExitCode::SUCCESS);
        }
        IndividualCommand::Merge { cat: c, from, into } => {
            let (mut cat, by) = c.open()?;
            cat.merge(&from, &into, by.as_deref())?
        }
        IndividualCommand::Split {
            cat: c,
            individual,
            detections,
            new_code,
        } => {
            let (mut cat, by) = c.open()?;
            cat.split(&individual, &detections, &new_code, by.as_deref())?
                .1
        }
        IndividualCommand::Rename {
            cat: c,
            individual,
            new_code,
        } => {
            let (mut cat, by) = c.open()?;
            cat.rename(&individual, &new_code, by.as_deref())?
        }
        IndividualCommand::Undo { cat: c, event } => {
            let (mut cat, by) = c.open()?;
            cat.undo(event, by.as_deref())?
        }
    };
    say!(
        "event {}: {} #{} (undo with `whaleid individual undo {}`)",
        event.id,
        event.kind,
        event.individual_id,
        event.id
    );
    Ok(ExitCode::SUCCESS)
}

/// The catalogue in `dir` for a command that writes nothing to it: opened
/// read-only, so it runs beside the catalogue's writer (the app, an
/// ingest), which the writer lock would refuse. A catalogue of an older
/// schema is opened as the writer instead, which migrates it (keeping the
/// file as it was) as every command did before, because the commands read
/// the newest schema; a writer at work would have migrated it already.
pub fn open_reader(dir: &Path) -> Result<Catalogue> {
    let cat = Catalogue::open_read_only(dir)?;
    if cat.schema_version()? >= whaleid::catalogue::migrate::latest() {
        return Ok(cat);
    }
    drop(cat);
    Ok(Catalogue::open(dir)?)
}

pub fn open_or_create(dir: &std::path::Path) -> Result<Catalogue> {
    if dir.join(whaleid::catalogue::DB_FILE).exists() {
        Ok(Catalogue::open(dir)?)
    } else {
        Ok(Catalogue::create(dir)?)
    }
}

/// Progress on stderr, at most four lines a second.
fn progress_printer() -> impl FnMut(Progress) {
    let mut last = Instant::now() - Duration::from_secs(1);
    move |p: Progress| {
        if last.elapsed() >= Duration::from_millis(250) || p.done == p.total {
            last = Instant::now();
            tell!("{:?}: {}/{} photos", p.stage, p.done, p.total);
        }
    }
}
