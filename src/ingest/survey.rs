//! Ingesting a survey: the folder of unlabelled photos a researcher brings
//! back, turned into catalogue photos, detections, embeddings and ranked
//! suggestions.
//!
//! It is a pipeline, not a loop. Decode workers (threads) take files from a
//! shared counter, read and hash them, skip what the catalogue already has,
//! decode with EXIF at the scale the pack needs (a camera-size JPEG at 1/2,
//! 1/4 or 1/8, see [`crate::photo::picture`]) and write the thumbnail; they
//! hand decoded photos to the inference side through a bounded channel, so
//! decoding overlaps with batched detection and embedding and memory stays
//! flat whatever the folder and photo size. The inference side detects, embeds, writes crops, matches each
//! detection against the catalogue's gallery, and commits each batch in one
//! transaction: a crash loses at most the batch in flight, and a re-run skips
//! every committed photo by content hash. A photo where nothing is detected
//! is kept with no detections, so the user can draw a box later.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::{self, ScopedJoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, Sender};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::encounters::{group as group_encounters, EncounterRules, PhotoFile, PhotoTime};
use super::media::{save_region, save_thumbnail, CROP_SIDE};
use super::pipeline::{Found, Pipeline, Region};
use crate::catalogue::records::{FeatureOrigin, NewPhoto};
use crate::catalogue::sql::NOW;
use crate::catalogue::{Catalogue, Scope};
use crate::error::{Error, Result};
use crate::index::IndexConfig;
use crate::matching::rerank::suggestion_rows;
use crate::matching::{suggest, Gallery, MatchSettings, Prediction};
use crate::photo::{self, Meta, Picture};
use crate::CancelToken;

#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Decode threads; 0 picks one per core. ORT's threads do not spin
    /// ([`crate::runtime::SessionConfig::spin`]), so the decoders fill what
    /// inference leaves idle: with camera-size JPEGs decoding is the larger
    /// half of the work, and one decoder fewer than the cores (the old
    /// choice) cost 28% there, nothing on small photos (`cargo bench
    /// --bench ingest -- … --decode-threads N`).
    pub decode_threads: usize,
    /// Photos per inference batch and per transaction.
    pub batch: usize,
    /// How suggestions are ranked; `None` stores none.
    pub settings: Option<MatchSettings>,
    /// The survey's species, when known: recorded on every detection, whose
    /// suggestions are then scoped to it ([`Scope::for_detection`]).
    pub species: Option<String>,
    pub max_pixels: u64,
    /// Who imports the photos (the observer name), recorded on each new
    /// photo; `None` leaves it unknown.
    pub imported_by: Option<String>,
}

impl Default for IngestOptions {
    fn default() -> Self {
        Self {
            decode_threads: 0,
            batch: 8,
            settings: None,
            species: None,
            max_pixels: photo::DEFAULT_MAX_PIXELS,
            imported_by: None,
        }
    }
}

/// Where the job is; sent at most four times a second (and at the end).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct IngestProgress {
    /// Files read and hashed (new, known or failed) out of `total`.
    pub read: usize,
    /// Photos fully stored or skipped.
    pub done: usize,
    pub total: usize,
    pub photos_per_second: f64,
    /// Seconds left at the current rate, once there is a rate.
    pub eta_seconds: Option<f64>,
}

/// What happened, per file where something went wrong.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IngestReport {
    pub new_photos: usize,
    pub known_photos: usize,
    pub failed: Vec<(PathBuf, String)>,
    /// Ingested, but with something refused: an EXIF date no calendar has.
    pub warnings: Vec<(PathBuf, String)>,
    pub detections: usize,
    /// Stored without a detection, for the user to box by hand.
    pub no_detection: Vec<PathBuf>,
    /// Detections whose first suggestion is `new_individual`.
    pub new_individual_suggestions: usize,
    pub seconds: f64,
    /// Where the models ran (`CPU`, `CUDA (NVIDIA ...)`), with the reason
    /// when a GPU asked for was not used.
    pub ran_on: crate::runtime::RanOn,
    /// The files of this run that are in the catalogue now (new, or known
    /// from before), once each: what [`assign_encounters`] groups.
    #[serde(skip)]
    pub photos: Vec<IngestedFile>,
}

/// One file of an ingest that is in the catalogue, as read during it.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestedFile {
    pub path: PathBuf,
    pub sha256: String,
    /// The file's modification time when it was read, in seconds since
    /// 1970-01-01T00:00:00Z (`None` where the system gives none).
    pub modified: Option<f64>,
}

impl IngestReport {
    pub fn photos_per_second(&self) -> f64 {
        (self.new_photos + self.known_photos) as f64 / self.seconds.max(1e-9)
    }
}

/// A decoded, not yet stored photo.
struct Decoded {
    path: PathBuf,
    sha256: String,
    byte_size: u64,
    picture: Picture,
    meta: Meta,
    /// What reading `meta` refused.
    warnings: Vec<String>,
    modified: Option<f64>,
}

enum Read {
    Known(IngestedFile),
    New(Box<Decoded>),
    Failed(PathBuf, String),
}

/// Ingest `files` into `cat`. `Err(Cancelled)` leaves every committed batch
/// in place; running it again resumes.
pub fn ingest(
    cat: &mut Catalogue,
    pipeline: &Pipeline,
    files: &[PathBuf],
    options: &IngestOptions,
    progress: &mut dyn FnMut(IngestProgress),
    cancel: &CancelToken,
) -> Result<IngestReport> {
    let started = Instant::now();
    let pack_id = super::import::bind_pack(cat, pipeline.pack())?;
    let feature_keys: Vec<String> = pipeline
        .pack()
        .backbones
        .iter()
        .map(|b| b.feature_key.clone())
        .collect();
    let job = Job::prepare(cat, pipeline, files, options, cancel)?;
    let gallery = match options.settings {
        Some(_) => {
            let (g, _) = Gallery::from_catalogue(cat, IndexConfig::new(0))?;
            (!g.is_empty()).then_some(g)
        }
        None => None,
    };
    let store = Store {
        pack: &pack_id,
        feature_keys: &feature_keys,
        gallery: gallery.as_ref(),
        options,
    };
    let mut report = IngestReport {
        ran_on: pipeline.ran_on(),
        ..IngestReport::default()
    };
    let mut reporter = Reporter::new(&job, started, progress);
    let outcome =
        std::thread::scope(|scope| job.run(scope, cat, &store, &mut report, &mut reporter));
    report.seconds = started.elapsed().as_secs_f64();
    reporter.send(&report, true);
    outcome?;
    // A cancel can land before any worker read a file: then nothing above
    // saw it, but the job stopped short all the same.
    let accounted = report.new_photos + report.known_photos + report.failed.len();
    if cancel.is_cancelled() && accounted < files.len() {
        return Err(Error::Cancelled);
    }
    Ok(report)
}

/// One ingest's inputs and the counters its stages share.
struct Job<'a> {
    pipeline: &'a Pipeline,
    files: &'a [PathBuf],
    options: &'a IngestOptions,
    cancel: &'a CancelToken,
    /// Content hashes the catalogue holds already.
    known: HashSet<String>,
    media: PathBuf,
    /// The next file for a decode worker to take.
    next: AtomicUsize,
    /// Set when the inference side stops early (error or cancel).
    stop: AtomicBool,
    /// Files read and hashed, for progress.
    read: AtomicUsize,
    /// Photos committed by the store stage, for progress.
    committed: AtomicUsize,
}

impl<'a> Job<'a> {
    /// Make the media folders and read the known content hashes.
    fn prepare(
        cat: &Catalogue,
        pipeline: &'a Pipeline,
        files: &'a [PathBuf],
        options: &'a IngestOptions,
        cancel: &'a CancelToken,
    ) -> Result<Self> {
        let media = cat.media_dir();
        for dir in ["crops", "thumbs"] {
            std::fs::create_dir_all(media.join(dir)).map_err(|e| Error::io(media.join(dir), e))?;
        }
        let known: HashSet<String> = {
            let mut stmt = cat.conn().prepare("SELECT sha256 FROM photos")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        Ok(Self {
            pipeline,
            files,
            options,
            cancel,
            known,
            media,
            next: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            read: AtomicUsize::new(0),
            committed: AtomicUsize::new(0),
        })
    }

    fn batch(&self) -> usize {
        self.options.batch.max(1)
    }

    /// The three stages: decode workers feed the inference side (this
    /// thread), which hands batches to the store stage, so the crops,
    /// suggestions and transaction of one batch overlap with inference on
    /// the next.
    fn run<'scope>(
        &'scope self,
        scope: &'scope thread::Scope<'scope, '_>,
        cat: &'scope mut Catalogue,
        store: &'scope Store<'scope>,
        report: &mut IngestReport,
        reporter: &mut Reporter<'_, '_>,
    ) -> Result<()> {
        let (tx, rx) = bounded::<Read>(self.batch());
        // One inferred batch waits while the store stage commits the previous.
        let (to_store, from_infer) = bounded::<Inferred>(1);
        self.spawn_readers(scope, tx);
        let storer = scope.spawn(move || -> Result<IngestReport> {
            let mut stored = IngestReport::default();
            for batch in from_infer.iter() {
                let n = batch.photos.len();
                store.store(cat, batch, &mut stored)?;
                self.committed.fetch_add(n, Ordering::Relaxed);
            }
            Ok(stored)
        });
        let result = self.infer_all(&rx, &to_store, &storer, report, reporter);
        drop(to_store);
        // Let the workers see the end, whatever happened here.
        self.stop.store(true, Ordering::Relaxed);
        drop(rx);
        let stored = storer
            .join()
            .map_err(|_| Error::runtime("the ingest store stage panicked"))?;
        // A store error comes first: it is why inference stopped.
        let stored = stored?;
        result?;
        report.new_photos = stored.new_photos;
        report.detections = stored.detections;
        report.no_detection = stored.no_detection;
        report.warnings = stored.warnings;
        report.new_individual_suggestions = stored.new_individual_suggestions;
        Ok(())
    }

    /// Decode workers: each takes the next file, reads, hashes and decodes
    /// it, until the files run out or the job stops.
    fn spawn_readers<'scope>(
        &'scope self,
        scope: &'scope thread::Scope<'scope, '_>,
        tx: Sender<Read>,
    ) {
        let threads = match self.options.decode_threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        for _ in 0..threads {
            let tx = tx.clone();
            scope.spawn(move || loop {
                if self.cancel.is_cancelled() || self.stop.load(Ordering::Relaxed) {
                    break;
                }
                let i = self.next.fetch_add(1, Ordering::Relaxed);
                let Some(path) = self.files.get(i) else { break };
                let item = read_one(
                    path,
                    &self.known,
                    self.options.max_pixels,
                    self.pipeline,
                    &self.media,
                );
                self.read.fetch_add(1, Ordering::Relaxed);
                if tx.send(item).is_err() {
                    break;
                }
            });
        }
    }

    /// The inference side: sort what the workers read into known, failed
    /// and new, and send each full batch of new photos through the models
    /// to the store stage. Stops early when the store stage has.
    fn infer_all(
        &self,
        rx: &Receiver<Read>,
        to_store: &Sender<Inferred>,
        storer: &ScopedJoinHandle<'_, Result<IngestReport>>,
        report: &mut IngestReport,
        reporter: &mut Reporter<'_, '_>,
    ) -> Result<()> {
        let mut pending: Vec<Decoded> = Vec::with_capacity(self.batch());
        let mut seen = HashSet::new();
        for item in rx.iter() {
            match item {
                Read::Known(file) => {
                    report.known_photos += 1;
                    report.photos.push(file);
                }
                Read::Failed(path, reason) => report.failed.push((path, reason)),
                // The same content twice in one folder: store it once.
                Read::New(d) if !seen.insert(d.sha256.clone()) => report.known_photos += 1,
                Read::New(d) => {
                    report.photos.push(IngestedFile {
                        path: d.path.clone(),
                        sha256: d.sha256.clone(),
                        modified: d.modified,
                    });
                    pending.push(*d);
                }
            }
            if pending.len() >= self.batch() {
                self.infer(&mut pending, to_store)?;
            }
            reporter.send(report, false);
            if self.cancel.is_cancelled() {
                return Err(Error::Cancelled);
            }
            if storer.is_finished() {
                break;
            }
        }
        self.infer(&mut pending, to_store)
    }

    /// Detect and embed the pending photos and hand them to the store stage.
    fn infer(&self, pending: &mut Vec<Decoded>, to_store: &Sender<Inferred>) -> Result<()> {
        if pending.is_empty() {
            return Ok(());
        }
        let region = Region::Detect {
            best_only: false,
            whole_if_none: false,
        };
        let inputs: Vec<(&Picture, Region)> =
            pending.iter().map(|d| (&d.picture, region)).collect();
        let found = self.pipeline.run(&inputs, self.cancel)?;
        let photos = std::mem::take(pending);
        // A closed channel means the store stage failed; its error is the
        // one reported.
        let _ = to_store.send(Inferred { photos, found });
        Ok(())
    }
}

/// Sends [`IngestProgress`] at most four times a second, and when forced.
struct Reporter<'j, 'p> {
    job: &'j Job<'j>,
    started: Instant,
    last: Instant,
    progress: &'p mut dyn FnMut(IngestProgress),
}

impl<'j, 'p> Reporter<'j, 'p> {
    fn new(
        job: &'j Job<'j>,
        started: Instant,
        progress: &'p mut dyn FnMut(IngestProgress),
    ) -> Self {
        Self {
            job,
            started,
            last: Instant::now() - Duration::from_secs(1),
            progress,
        }
    }

    fn send(&mut self, report: &IngestReport, force: bool) {
        if !force && self.last.elapsed() < Duration::from_millis(250) {
            return;
        }
        self.last = Instant::now();
        // New photos count once committed (the report's own count is filled
        // in at the end from the store stage).
        let done =
            self.job.committed.load(Ordering::Relaxed) + report.known_photos + report.failed.len();
        let total = self.job.files.len();
        let rate = done as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
        (self.progress)(IngestProgress {
            read: self.job.read.load(Ordering::Relaxed),
            done,
            total,
            photos_per_second: rate,
            eta_seconds: (done > 0).then(|| total.saturating_sub(done) as f64 / rate),
        });
    }
}

/// Read, hash, decode one file and write its thumbnail (decode worker side).
fn read_one(
    path: &std::path::Path,
    known: &HashSet<String>,
    max_pixels: u64,
    pipeline: &Pipeline,
    media: &std::path::Path,
) -> Read {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => return Read::Failed(path.to_path_buf(), Error::io(path, e).to_string()),
    };
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let modified = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs_f64());
    if known.contains(&sha256) {
        return Read::Known(IngestedFile {
            path: path.to_path_buf(),
            sha256,
            modified,
        });
    }
    let picture = match pipeline.decode_photo(path, &bytes, max_pixels, false) {
        Ok(p) => p,
        Err(e) => return Read::Failed(path.to_path_buf(), e.to_string()),
    };
    let thumb = media.join(super::media::thumb_file(&sha256));
    if let Err(e) = save_thumbnail(&picture, &thumb) {
        return Read::Failed(path.to_path_buf(), e.to_string());
    }
    let (meta, warnings) = photo::meta::read_with_warnings(&bytes);
    Read::New(Box::new(Decoded {
        path: path.to_path_buf(),
        sha256,
        byte_size: bytes.len() as u64,
        meta,
        warnings,
        picture,
        modified,
    }))
}

/// A batch through inference, on its way to the store stage.
struct Inferred {
    photos: Vec<Decoded>,
    found: Vec<Vec<Found>>,
}

/// What every batch of the store stage needs, fixed for the whole job.
struct Store<'a> {
    pack: &'a (String, String),
    /// Each backbone's [`crate::packs::Backbone::feature_key`], in ensemble order.
    feature_keys: &'a [String],
    gallery: Option<&'a Gallery>,
    options: &'a IngestOptions,
}

impl Store<'_> {
    /// Write the crops, rank suggestions and commit one inferred batch in one
    /// transaction.
    fn store(&self, cat: &mut Catalogue, batch: Inferred, report: &mut IngestReport) -> Result<()> {
        let Store {
            pack,
            feature_keys,
            gallery,
            options,
        } = *self;
        let Inferred {
            photos: pending,
            found,
        } = batch;
        let crops_dir = cat.media_dir().join("crops");
        let species = options.species.as_deref();
        let scope = Scope::for_detection(species);
        let mut rows = Vec::with_capacity(pending.len());
        for (d, found) in pending.iter().zip(&found) {
            let mut dets = Vec::new();
            for (n, f) in found.iter().enumerate() {
                let name = format!("{}_{n}.jpg", &d.sha256[..16]);
                let (pixels, crop) = f.pixels(&d.picture);
                save_region(pixels, crop, CROP_SIDE, &crops_dir.join(&name))?;
                let suggestions = match (gallery, &options.settings) {
                    (Some(g), Some(s)) => suggest(g, &f.embedding.vector, &scope, s, None)?,
                    _ => Vec::new(),
                };
                dets.push((format!("crops/{name}"), suggestions));
            }
            rows.push(dets);
        }
        cat.with_tx(|tx| {
            for ((d, found), dets) in pending.iter().zip(&found).zip(&rows) {
                let photo_id = tx.insert_photo(&NewPhoto {
                    sha256: &d.sha256,
                    original_path: &super::import::absolute(&d.path),
                    byte_size: d.byte_size,
                    width: d.picture.width(),
                    height: d.picture.height(),
                    meta: &d.meta,
                })?;
                tx.set_photo_imported_by(photo_id, options.imported_by.as_deref())?;
                for (f, (crop, suggestions)) in found.iter().zip(dets) {
                    let det =
                        tx.insert_detection(photo_id, f.crop, &f.class, f.score, Some(crop))?;
                    if species.is_some() {
                        tx.set_detection_species(det, species)?;
                    }
                    tx.insert_embedding(det, &pack.0, &pack.1, &f.embedding.vector)?;
                    tx.insert_features(
                        det,
                        feature_keys,
                        &f.embedding.features,
                        FeatureOrigin::Photo,
                    )?;
                    let ranked = suggestion_rows(suggestions);
                    if !ranked.is_empty() {
                        tx.set_suggestions(det, (&pack.0, &pack.1), &ranked)?;
                    }
                }
            }
            Ok(())
        })?;
        for ((d, found), dets) in pending.iter().zip(&found).zip(&rows) {
            report.new_photos += 1;
            report
                .warnings
                .extend(d.warnings.iter().map(|w| (d.path.clone(), w.clone())));
            report.detections += found.len();
            if found.is_empty() {
                report.no_detection.push(d.path.clone());
            }
            report.new_individual_suggestions += dets
                .iter()
                .filter(|(_, s)| matches!(s.first(), Some(Prediction::NewIndividual)))
                .count();
        }
        Ok(())
    }
}

/// Group the photos of one ingest (its report's [`IngestReport::photos`])
/// into encounters, by time gap and distance, and undated ones by folder,
/// file-name order and file time (see [`super::encounters`]), and record
/// them. Returns how many were made.
///
/// Only photos of `files` with no encounter yet are grouped, so photos that
/// were in the catalogue before (a `catalogue import`, an earlier survey)
/// keep theirs or stay without, and an ingest's encounters never take in
/// another's. The one exception is a resume: photos that a cancelled or
/// killed run of the same folder committed have no encounter and are known
/// now, so they are grouped with the rest; a labelled photo of a catalogue
/// import (its detections identified by `import`) found in the folder is
/// not.
pub fn assign_encounters(
    cat: &mut Catalogue,
    files: &[IngestedFile],
    rules: &EncounterRules,
) -> Result<usize> {
    let photos: Vec<PhotoTime> = {
        let mut stmt = cat.conn().prepare(
            "SELECT id, taken_at, latitude, longitude FROM photos p
             WHERE sha256 = ?1 AND encounter_id IS NULL
               AND NOT EXISTS (SELECT 1 FROM detections d JOIN identifications i ON i.detection_id = d.id
                               WHERE d.photo_id = p.id AND i.source = 'import')",
        )?;
        let mut photos = Vec::with_capacity(files.len());
        // The same content under two names is one photo, placed by the first.
        let mut once = HashSet::new();
        for f in files.iter().filter(|f| once.insert(&f.sha256)) {
            let row = stmt.query_row([&f.sha256], |r| {
                Ok(PhotoTime {
                    id: r.get(0)?,
                    taken_at: r.get(1)?,
                    latitude: r.get(2)?,
                    longitude: r.get(3)?,
                    file: f.modified.map(|modified| PhotoFile {
                        path: f.path.clone(),
                        modified,
                    }),
                })
            });
            match row {
                Ok(p) => photos.push(p),
                Err(rusqlite::Error::QueryReturnedNoRows) => {}
                Err(e) => return Err(e.into()),
            }
        }
        photos
    };
    let groups = group_encounters(&photos, rules);
    let by_id: std::collections::HashMap<i64, &PhotoTime> =
        photos.iter().map(|p| (p.id, p)).collect();
    cat.with_tx(|tx| {
        for group in &groups {
            let members: Vec<&PhotoTime> = group.iter().map(|id| by_id[id]).collect();
            let times: Vec<&str> = members.iter().filter_map(|p| p.taken_at.as_deref()).collect();
            let gps: Vec<(f64, f64)> = members
                .iter()
                .filter_map(|p| Some((p.latitude?, p.longitude?)))
                .collect();
            let mean = |f: fn(&(f64, f64)) -> f64| {
                (!gps.is_empty()).then(|| gps.iter().map(f).sum::<f64>() / gps.len() as f64)
            };
            tx.conn().execute(
                "INSERT INTO encounters (uuid, started_at, ended_at, latitude, longitude) VALUES (?1, ?2, ?3, ?4, ?5)",
                rusqlite::params![
                    crate::catalogue::new_uuid(),
                    times.iter().min(),
                    times.iter().max(),
                    mean(|g| g.0),
                    mean(|g| g.1)
                ],
            )?;
            let encounter = tx.conn().last_insert_rowid();
            for id in group {
                tx.conn().execute(
                    &format!("UPDATE photos SET encounter_id = ?1, updated_at = {NOW} WHERE id = ?2"),
                    [encounter, *id],
                )?;
            }
        }
        Ok(groups.len())
    })
}
