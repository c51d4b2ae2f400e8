//! Opening and creating catalogues as the CLI does (`src/bin/whaleid/
//! catalogue.rs`), and describing them for the UI.
//!
//! Which pack a catalogue is used with is the engine's rule
//! (`whaleid::packs::binding`); a new catalogue is bound to the generic pack
//! installed with WhaleID (`whaleid::install`).
//!
//! The app's errors for the two common slips are its own, in its own terms
//! (the engine's name `whaleid catalogue create`, which is CLI advice): a
//! folder that is not a catalogue is said to be one once, with what to do in
//! the app; and a new catalogue is made only in a new or empty folder, since
//! a folder with photos in it is most likely the survey, picked by mistake.

use std::path::{Path, PathBuf};

use whaleid::catalogue::{Catalogue, DB_FILE};
use whaleid::ingest::labels::IMAGE_EXTENSIONS;
use whaleid::install;
use whaleid::matching::field;
use whaleid::packs::{binding, Pack};

use crate::dto::{CatalogueInfo, CatalogueUpgrade, PackInfo};
use crate::error::{AppError, AppResult, ErrorKind};
use crate::state::OpenCatalogue;

/// Create a catalogue in `path` bound to the generic pack. The pack is
/// loaded first, so a broken install does not leave a half-made catalogue.
/// `path` must be missing or empty (hidden files aside).
pub fn create(path: &Path) -> AppResult<OpenCatalogue> {
    check_empty(path)?;
    let pack_dir = install::generic_pack_dir()?;
    let pack = Pack::load(&pack_dir)?;
    let mut catalogue = Catalogue::create(path)?;
    binding::bind(&mut catalogue, &pack, &pack_dir)?;
    Ok(OpenCatalogue {
        catalogue,
        path: canonical(path)?,
        pack: Some(pack),
    })
}

/// Open the catalogue in `path` with the pack it is bound to, when that pack
/// is on this machine.
pub fn open(path: &Path) -> AppResult<OpenCatalogue> {
    if path.is_dir() && !path.join(DB_FILE).is_file() {
        return Err(AppError::new(
            ErrorKind::Catalogue,
            format!(
                "{} is not a WhaleID catalogue (no {DB_FILE}). Open a catalogue folder, or create a new one.",
                path.display()
            ),
        ));
    }
    let catalogue = Catalogue::open(path)?;
    let pack_dir = binding::pack_dir_of(&catalogue)?;
    // A pack that no longer validates is reported when it is needed (ingest),
    // not as a failure to open the catalogue.
    let pack = pack_dir.and_then(|d| Pack::load(d).ok());
    Ok(OpenCatalogue {
        catalogue,
        path: canonical(path)?,
        pack,
    })
}

/// Entries looked at, at most, to describe a folder that is not empty: a
/// home folder picked by mistake is refused without walking all of it.
const LOOK_AT: usize = 10_000;

/// Refuse a folder that holds anything but hidden files, naming what it holds.
fn check_empty(path: &Path) -> AppResult<()> {
    let io = |e: std::io::Error| {
        AppError::from(whaleid::Error::Io {
            path: path.to_path_buf(),
            source: e,
        })
    };
    let entries = match std::fs::read_dir(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io(e)),
        Ok(entries) => entries,
    };
    let visible = entries
        .filter_map(|e| e.ok())
        .any(|e| !e.file_name().as_encoded_bytes().starts_with(b"."));
    if !visible {
        return Ok(());
    }
    let refuse = |what: String| {
        Err(AppError::new(
            ErrorKind::Catalogue,
            format!("{} {what}", path.display()),
        ))
    };
    if path.join(DB_FILE).is_file() {
        return refuse("already holds a catalogue: open it instead".into());
    }
    let held = Held::count(path);
    let more = if held.complete { "" } else { "at least " };
    let what = if held.photos > 0 {
        plural(held.photos, "photo")
    } else if held.files > 0 {
        plural(held.files, "file")
    } else {
        plural(held.folders, "folder")
    };
    refuse(format!(
        "holds {more}{what}; choose an empty folder for the new catalogue"
    ))
}

fn plural(n: usize, one: &str) -> String {
    match n {
        1 => format!("1 {one}"),
        n => format!("{n} {one}s"),
    }
}

/// What a folder holds, below it too, hidden entries left out.
#[derive(Debug, Default)]
struct Held {
    photos: usize,
    files: usize,
    folders: usize,
    /// False when [`LOOK_AT`] entries were counted before the end.
    complete: bool,
}

impl Held {
    fn count(root: &Path) -> Held {
        let mut held = Held {
            complete: true,
            ..Held::default()
        };
        let mut todo = vec![root.to_path_buf()];
        let mut looked = 0;
        while let Some(dir) = todo.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.filter_map(|e| e.ok()) {
                if entry.file_name().as_encoded_bytes().starts_with(b".") {
                    continue;
                }
                looked += 1;
                if looked > LOOK_AT {
                    held.complete = false;
                    return held;
                }
                // Links are not followed: counting stays inside the folder.
                match entry.file_type() {
                    Ok(t) if t.is_dir() => {
                        held.folders += 1;
                        todo.push(entry.path());
                    }
                    _ => {
                        held.files += 1;
                        let photo = entry.path().extension().is_some_and(|e| {
                            IMAGE_EXTENSIONS
                                .contains(&e.to_string_lossy().to_ascii_lowercase().as_str())
                        });
                        held.photos += usize::from(photo);
                    }
                }
            }
        }
        held
    }
}

fn canonical(path: &Path) -> AppResult<PathBuf> {
    path.canonicalize().map_err(|e| {
        AppError::from(whaleid::Error::Io {
            path: path.to_path_buf(),
            source: e,
        })
    })
}

pub fn pack_info(pack: &Pack, threshold: f32) -> PackInfo {
    PackInfo {
        name: pack.name().to_string(),
        version: pack.version().to_string(),
        path: pack.root.to_string_lossy().into_owned(),
        description: pack.manifest.pack.description.clone(),
        backbones: pack.backbones.iter().map(|b| b.spec.name.clone()).collect(),
        detector: pack.detector.is_some(),
        embedding_dim: pack.embedding_dim(),
        threshold,
    }
}

pub fn info(open: &OpenCatalogue) -> AppResult<CatalogueInfo> {
    let cat = &open.catalogue;
    let stats = cat.stats()?;
    let pack = match &open.pack {
        Some(p) => {
            let t = field::threshold_with(cat, Some(p))?
                .map_or(p.manifest.matching.new_individual_threshold, |t| t.value);
            Some(pack_info(p, t))
        }
        None => None,
    };
    Ok(CatalogueInfo {
        path: open.path.to_string_lossy().into_owned(),
        name: open
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        photos: stats.photos as usize,
        detections: stats.detections as usize,
        // As the catalogue grid counts them: not merged away, with at least
        // one sighting (an individual whose only decision was undone is not).
        individuals: cat.list_individuals(&Default::default())?.len(),
        to_review: cat.to_review()?,
        pack,
        upgraded: cat.upgraded().map(|u| CatalogueUpgrade {
            from: u.from,
            to: u.to,
            backup: u.backup.to_string_lossy().into_owned(),
        }),
    })
}
