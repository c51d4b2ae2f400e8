//! Importing labelled photos into a catalogue: the one-command path from a
//! Kaggle-style folder or a folder per individual to a searchable catalogue.
//!
//! Photos go through in chunks: read and hash, skip what the catalogue already
//! has (by content, so a re-run after a cancel or a crash resumes where it
//! stopped and renamed files are recognised), decode with EXIF, detect or take
//! the given box, embed, write crops, and commit the chunk in one transaction.
//! A file that cannot be read or decoded is one line in the report; the job
//! goes on.

use std::collections::HashMap;
use std::path::PathBuf;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::labels::Labelled;
use super::pipeline::{Found, Pipeline, Region};
use crate::catalogue::records::{FeatureOrigin, NewPhoto, Source};
use crate::catalogue::{keys, Catalogue, Tx};
use crate::error::{Error, Result};
use crate::packs::Pack;
use crate::photo::{self, Picture};
use crate::CancelToken;

/// Where a long job is; sent after every chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Reading,
    Embedding,
    Saving,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Progress {
    pub stage: Stage,
    /// Photos finished (imported, skipped or failed) out of `total`.
    pub done: usize,
    pub total: usize,
}

#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Photos per chunk (one transaction each).
    pub chunk: usize,
    /// Use the labels' boxes where given (else always detect).
    pub use_boxes: bool,
    /// Save a JPEG of each crop under `media/crops/` for review.
    pub write_crops: bool,
    /// Recorded as who decided the imported identifications.
    pub source_name: String,
    /// Who imports the photos (the observer name), recorded on each photo.
    pub imported_by: Option<String>,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            chunk: 16,
            use_boxes: true,
            write_crops: true,
            source_name: "import".into(),
            imported_by: None,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    pub imported: usize,
    /// Already in the catalogue with this pack's embeddings.
    pub skipped: usize,
    /// The detector found nothing; the whole photo was embedded.
    pub whole_photo_fallbacks: usize,
    pub failed: Vec<(PathBuf, String)>,
    /// Imported, but with something refused: an EXIF date no calendar has.
    pub warnings: Vec<(PathBuf, String)>,
}

/// Bind the catalogue to the pack on first use; refuse another pack after,
/// because embeddings of different packs cannot be compared.
/// Returns the pack's `(name, version)`, as embeddings record it.
pub fn bind_pack(cat: &mut Catalogue, pack: &Pack) -> Result<(String, String)> {
    let (name, version) = (pack.name(), pack.version());
    match (
        cat.setting(keys::PACK_NAME)?,
        cat.setting(keys::PACK_VERSION)?,
    ) {
        (Some(n), Some(v)) if n == name && v == version => Ok((n, v)),
        (Some(n), Some(v)) => Err(Error::Invalid(format!(
            "catalogue {} holds embeddings of pack {n} {v}; this is pack {name} {version}",
            cat.root().display()
        ))),
        _ => {
            cat.set_setting(keys::PACK_NAME, name)?;
            cat.set_setting(keys::PACK_VERSION, version)?;
            Ok((name.to_string(), version.to_string()))
        }
    }
}

struct Ready {
    item: usize,
    sha256: String,
    byte_size: u64,
    photo: Picture,
    meta: photo::Meta,
    /// What reading `meta` refused (see [`photo::meta::read_with_warnings`]).
    warnings: Vec<String>,
    region: Region,
    replace: Option<i64>,
}

/// Import `items` into `cat`. Returns what happened; `Err(Cancelled)` leaves
/// every finished chunk committed, so running it again resumes.
pub fn import(
    cat: &mut Catalogue,
    pipeline: &Pipeline,
    items: &[Labelled],
    options: &ImportOptions,
    progress: &mut dyn FnMut(Progress),
    cancel: &CancelToken,
) -> Result<ImportReport> {
    let job = Job::new(cat, pipeline, options)?;
    let mut report = ImportReport::default();
    let total = items.len();
    let mut done = 0;
    let mut seen = HashMap::new();
    for chunk in items.chunks(options.chunk.max(1)) {
        if cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        let mut tell = |stage| progress(Progress { stage, done, total });
        tell(Stage::Reading);
        let ready = job.read(cat, pipeline, chunk, done, &mut seen, &mut report);
        tell(Stage::Embedding);
        let inputs: Vec<(&Picture, Region)> = ready.iter().map(|r| (&r.photo, r.region)).collect();
        let found = pipeline.run(&inputs, cancel)?;
        tell(Stage::Saving);
        let mut crop_names = job.write_crops(&ready, &found)?.into_iter();
        cat.with_tx(|tx| {
            for (r, found) in ready.iter().zip(&found) {
                job.save(tx, &items[r.item], r, found, &mut crop_names)?;
            }
            Ok(())
        })?;
        for found in &found {
            if found.len() == 1 && found[0].class == "whole" && pipeline.detector().is_some() {
                report.whole_photo_fallbacks += 1;
            }
        }
        for r in &ready {
            let path = &items[r.item].path;
            report
                .warnings
                .extend(r.warnings.iter().map(|w| (path.clone(), w.clone())));
        }
        report.imported += ready.len();
        done += chunk.len();
    }
    progress(Progress {
        stage: Stage::Saving,
        done,
        total,
    });
    Ok(report)
}

/// What every chunk of one import shares: the bound pack, its decoder and
/// feature keys, and where crops go.
struct Job<'a> {
    options: &'a ImportOptions,
    pack_id: (String, String),
    feature_keys: Vec<String>,
    crops_dir: PathBuf,
}

impl<'a> Job<'a> {
    /// Bind `cat` to the pipeline's pack and make its crops folder.
    fn new(cat: &mut Catalogue, pipeline: &Pipeline, options: &'a ImportOptions) -> Result<Self> {
        let pack_id = bind_pack(cat, pipeline.pack())?;
        let feature_keys = pipeline
            .pack()
            .backbones
            .iter()
            .map(|b| b.feature_key.clone())
            .collect();
        let crops_dir = cat.media_dir().join("crops");
        std::fs::create_dir_all(&crops_dir).map_err(|e| Error::io(&crops_dir, e))?;
        Ok(Self {
            options,
            pack_id,
            feature_keys,
            crops_dir,
        })
    }

    /// The photos of `chunk` (which starts at item `base`) still to import;
    /// the ones already in the catalogue or met earlier in this run count as
    /// skipped, the unreadable ones as failed. A photo met earlier under
    /// another individual (one content under two names) fails, naming both.
    fn read(
        &self,
        cat: &Catalogue,
        pipeline: &Pipeline,
        chunk: &[Labelled],
        base: usize,
        seen: &mut HashMap<String, (PathBuf, String)>,
        report: &mut ImportReport,
    ) -> Vec<Ready> {
        let pack = (self.pack_id.0.as_str(), self.pack_id.1.as_str());
        let mut ready = Vec::new();
        for (offset, item) in chunk.iter().enumerate() {
            match prepare(cat, item, self.options, pack, pipeline) {
                Ok(Some(mut r)) if !seen.contains_key(&r.sha256) => {
                    seen.insert(
                        r.sha256.clone(),
                        (item.path.clone(), item.individual.clone()),
                    );
                    r.item = base + offset;
                    ready.push(r);
                }
                Ok(Some(r)) if seen[&r.sha256].1 != item.individual => {
                    let (first, individual) = &seen[&r.sha256];
                    report.failed.push((
                        item.path.clone(),
                        format!(
                            "the same photo as {} (same content), which is labelled `{}`; \
                             this one is labelled `{}`: one photo shows one individual, so \
                             correct one of the two labels",
                            first.display(),
                            individual.escape_debug(),
                            item.individual.escape_debug()
                        ),
                    ));
                }
                Ok(_) => report.skipped += 1,
                Err(e) => report.failed.push((item.path.clone(), e.to_string())),
            }
        }
        ready
    }

    /// Save a JPEG of every crop found (when the options ask for it); its
    /// name under `media/` for each, in order, `None` where none was saved.
    fn write_crops(&self, ready: &[Ready], found: &[Vec<Found>]) -> Result<Vec<Option<String>>> {
        let mut crops = Vec::new();
        for (r, found) in ready.iter().zip(found) {
            for (n, f) in found.iter().enumerate() {
                let name = format!("{}_{n}.jpg", &r.sha256[..16]);
                if self.options.write_crops {
                    let (pixels, crop) = f.pixels(&r.photo);
                    super::media::save_region(
                        pixels,
                        crop,
                        super::media::CROP_SIDE,
                        &self.crops_dir.join(&name),
                    )?;
                    crops.push(Some(format!("crops/{name}")));
                } else {
                    crops.push(None);
                }
            }
        }
        Ok(crops)
    }

    /// Record one photo (replacing a copy without this pack's embeddings),
    /// its detections with their embeddings and features, and each one
    /// confirmed as the item's individual; crop names come from `crops`.
    fn save(
        &self,
        tx: &Tx<'_>,
        item: &Labelled,
        r: &Ready,
        found: &[Found],
        crops: &mut impl Iterator<Item = Option<String>>,
    ) -> Result<()> {
        if let Some(old) = r.replace {
            tx.conn()
                .execute("DELETE FROM photos WHERE id = ?1", [old])?;
        }
        let individual = tx.ensure_individual(&item.individual, item.species.as_deref())?;
        let photo_id = tx.insert_photo(&NewPhoto {
            sha256: &r.sha256,
            original_path: &absolute(&item.path),
            byte_size: r.byte_size,
            width: r.photo.width(),
            height: r.photo.height(),
            meta: &r.meta,
        })?;
        tx.set_photo_imported_by(photo_id, self.options.imported_by.as_deref())?;
        let (pack_name, pack_version) = &self.pack_id;
        for f in found {
            let crop = crops.next().flatten();
            let det = tx.insert_detection(photo_id, f.crop, &f.class, f.score, crop.as_deref())?;
            if item.species.is_some() {
                tx.set_detection_species(det, item.species.as_deref())?;
            }
            tx.insert_embedding(det, pack_name, pack_version, &f.embedding.vector)?;
            tx.insert_features(
                det,
                &self.feature_keys,
                &f.embedding.features,
                FeatureOrigin::Photo,
            )?;
            tx.decide(
                det,
                individual,
                true,
                Source::Import,
                Some(&self.options.source_name),
                None,
            )?;
        }
        Ok(())
    }
}

/// Read, hash and decode one labelled photo; `None` when the catalogue
/// already has it embedded with this pack.
fn prepare(
    cat: &Catalogue,
    item: &Labelled,
    options: &ImportOptions,
    pack: (&str, &str),
    pipeline: &Pipeline,
) -> Result<Option<Ready>> {
    // A label made elsewhere than the CSV or folder readers (which refuse
    // it whole) fails alone, before its photo is read.
    crate::catalogue::codes::normalise_code(&item.individual)?;
    let bytes = std::fs::read(&item.path).map_err(|e| Error::io(&item.path, e))?;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let replace = match cat.photo_by_sha256(&sha256)? {
        Some(id) if cat.photo_is_embedded(id, pack)? => return Ok(None),
        other => other,
    };
    let boxes = options.use_boxes && item.bbox.is_some();
    let photo = pipeline.decode_photo(&item.path, &bytes, photo::DEFAULT_MAX_PIXELS, boxes)?;
    let (meta, warnings) = photo::meta::read_with_warnings(&bytes);
    let region = match item.bbox.filter(|_| options.use_boxes) {
        Some(b) => {
            let c = b.clip(photo.width() as f32, photo.height() as f32);
            if c.width() < 2.0 || c.height() < 2.0 {
                return Err(Error::photo(
                    &item.path,
                    format!(
                        "box {b:?} lies outside the {}×{} photo",
                        photo.width(),
                        photo.height()
                    ),
                ));
            }
            Region::Box(b)
        }
        None => Region::Detect {
            best_only: true,
            whole_if_none: true,
        },
    };
    Ok(Some(Ready {
        item: 0,
        sha256,
        byte_size: bytes.len() as u64,
        photo,
        meta,
        warnings,
        region,
        replace,
    }))
}

/// A photo's path as the catalogue records it: absolute (not resolving
/// symlinks), so the app can show the original wherever it was started from.
pub(crate) fn absolute(path: &std::path::Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .to_string_lossy()
        .into_owned()
}
