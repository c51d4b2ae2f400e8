//! Opening and creating catalogues as the CLI does (`src/bin/whaleid/
//! catalogue.rs`), and describing them for the UI.
//!
//! A catalogue remembers the folder of the pack it was made with
//! (`pack.path`); when that folder is gone (the catalogue came from another
//! machine) and the catalogue's pack is the generic one, the generic pack
//! shipped with WhaleID stands in. A new catalogue is bound to the generic
//! pack.

use std::path::{Path, PathBuf};

use whaleid::catalogue::{keys, Catalogue};
use whaleid::ingest::import::bind_pack;
use whaleid::matching::field::{threshold_in_use, ThresholdInUse};
use whaleid::packs::Pack;

use crate::dto::{CatalogueInfo, PackInfo};
use crate::error::{AppError, AppResult};
use crate::state::OpenCatalogue;

/// Name of the pack committed in `models/generic`.
const GENERIC: &str = "generic";

/// The generic pack's folder: `$WHALEID_PACK` (as for the CLI), else the
/// repository's `models/generic`, else `models/generic` beside the
/// executable (an installed app).
pub fn generic_pack_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("WHALEID_PACK").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/generic");
    if repo.join("pack.toml").is_file() {
        return repo;
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join("models/generic")))
        .filter(|d| d.join("pack.toml").is_file())
        .unwrap_or(repo)
}

/// Create a catalogue in `path` bound to the generic pack. The pack is
/// loaded first, so a broken install does not leave a half-made catalogue.
pub fn create(path: &Path) -> AppResult<OpenCatalogue> {
    let pack_dir = generic_pack_dir();
    let pack = Pack::load(&pack_dir)?;
    let mut catalogue = Catalogue::create(path)?;
    bind(&mut catalogue, &pack, &pack_dir)?;
    Ok(OpenCatalogue {
        catalogue,
        path: canonical(path)?,
        pack: Some(pack),
    })
}

/// Open the catalogue in `path` with the pack it is bound to, when that pack
/// is on this machine.
pub fn open(path: &Path) -> AppResult<OpenCatalogue> {
    let catalogue = Catalogue::open(path)?;
    let hint = catalogue
        .setting(keys::PACK_PATH)?
        .map(PathBuf::from)
        .filter(|p| p.join("pack.toml").is_file());
    let pack_dir = match (hint, catalogue.setting(keys::PACK_NAME)?) {
        (Some(dir), _) => Some(dir),
        (None, Some(name)) if name == GENERIC => Some(generic_pack_dir()),
        (None, None) => Some(generic_pack_dir()),
        (None, Some(_)) => None,
    };
    // A pack that no longer validates is reported when it is needed (ingest),
    // not as a failure to open the catalogue.
    let pack = pack_dir.and_then(|d| Pack::load(d).ok());
    Ok(OpenCatalogue {
        catalogue,
        path: canonical(path)?,
        pack,
    })
}

/// Bind `pack` (loaded from `dir`) to the catalogue and remember its folder.
/// Refuses a pack other than the one whose embeddings the catalogue holds.
pub fn bind(catalogue: &mut Catalogue, pack: &Pack, dir: &Path) -> AppResult<()> {
    bind_pack(catalogue, pack)?;
    let dir = canonical(dir)?;
    catalogue.set_setting(keys::PACK_PATH, &dir.to_string_lossy())?;
    Ok(())
}

fn canonical(path: &Path) -> AppResult<PathBuf> {
    path.canonicalize().map_err(|e| {
        AppError::from(whaleid::Error::Io {
            path: path.to_path_buf(),
            source: e,
        })
    })
}

/// The new-individual threshold in force, with where it came from (the
/// engine's one rule: the catalogue's calibrated or typed value, else the
/// pack's default). `None` with neither a saved value nor a pack.
pub fn threshold(catalogue: &Catalogue, pack: Option<&Pack>) -> AppResult<Option<ThresholdInUse>> {
    let in_use = threshold_in_use(
        catalogue,
        pack.map_or(f32::NAN, |p| p.manifest.matching.new_individual_threshold),
    )?;
    Ok((!in_use.value.is_nan()).then_some(in_use))
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
            let t = threshold(cat, Some(p))?
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
    })
}
