//! Adopting a fine-tuned version of the catalogue's pack, and going back.
//!
//! A trained version is a complete pack in the catalogue folder,
//! `packs/<name>-<version>/`: the parent's backbone (and detector) files
//! hard-linked where the file system allows (copied otherwise), the trained
//! necks and heads, the individuals' codes in class order, and a
//! `[training]` section saying where it came from. It loads and validates
//! like any pack, so the CLI and the app use it without knowing it was
//! trained.
//!
//! Adoption re-embeds every detection of the catalogue from its cached
//! backbone features with the new necks (no photo is decoded, no backbone
//! runs), recalibrates the new-individual threshold on the new embeddings,
//! and switches the catalogue to the version in one transaction. The old
//! version's embeddings stay, so rolling back ([`switch_version`]) only
//! embeds what was added since, again from the cache. Afterwards
//! [`refresh`] rebuilds the search index and ranks the suggestions of the
//! detections awaiting review again with the version now in use.
//!
//! The folder is built only from validated parts ([`crate::packs::check_pack_name`],
//! [`crate::packs::check_version`]), so a pack's version can never point it
//! outside `packs/`. Adoption is atomic as far as a file system allows: the
//! version is written under a hidden staging name, loaded and checked there,
//! renamed into place, and recorded in one transaction. A cancel that lands
//! before that transaction removes what was written and adopts nothing; once
//! it has committed the version is adopted (see [`super::job::run`]). A kill
//! can still leave a staging folder, or a version renamed into place but not
//! recorded: [`clean_leftovers`] removes both, at the start of every training
//! run and of every adoption, so they never take a version number or show up
//! as a version.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::finetune::{embed_table, feature_keys, with_trained_necks, Finetuned};
use crate::cancel::CancelToken;
use crate::catalogue::sql::NOW;
use crate::catalogue::versions::{PackVersion, SwitchAction};
use crate::catalogue::{keys, Catalogue};
use crate::error::{Error, Result};
use crate::index::IndexConfig;
use crate::matching::field::{expected_new_share, save_calibration_in, MIN_SPECIES_INDIVIDUALS};
use crate::matching::identify::{calibrate_gallery_for_share, catalogue_pack};
use crate::matching::rerank::rerank_with;
use crate::matching::Gallery;
use crate::packs::manifest::HeadSpec;
use crate::packs::{check_name, check_pack_name, check_version, Pack, TrainingInfo, MANIFEST_FILE};

/// Trained versions live here, inside the catalogue folder.
pub const PACKS_DIR: &str = "packs";
/// The individuals' codes, one per line, in class order.
const CLASSES_FILE: &str = "classes.txt";

/// What adopting did.
#[derive(Debug, Clone, Serialize)]
pub struct Adopted {
    pub version: String,
    pub path: PathBuf,
    /// Calibrated on the re-embedded catalogue; `None` when it has too few
    /// individuals to calibrate (the pack's threshold then applies).
    pub threshold: Option<f32>,
    pub reembedded: usize,
}

/// Make `trained` (fine-tuned from `pack`, the catalogue's active pack) the
/// catalogue's active version. See the module docs.
pub fn adopt(
    cat: &mut Catalogue,
    pack: &Pack,
    trained: &Finetuned,
    actor: Option<&str>,
) -> Result<Adopted> {
    adopt_with(cat, pack, trained, actor, &CancelToken::new())
}

/// [`adopt`], stopping with [`Error::Cancelled`] when `cancel` is set before
/// the version is recorded (nothing adopted, nothing left on disk).
pub fn adopt_with(
    cat: &mut Catalogue,
    pack: &Pack,
    trained: &Finetuned,
    actor: Option<&str>,
    cancel: &CancelToken,
) -> Result<Adopted> {
    let refuse = |reason: String| {
        Error::Invalid(format!(
            "cannot adopt a trained version of pack `{}`: {reason}",
            pack.name()
        ))
    };
    check_pack_name(pack.name()).map_err(refuse)?;
    check_version(pack.version()).map_err(refuse)?;
    let current = catalogue_pack(cat)?;
    if current.0 != pack.name() || current.1 != pack.version() {
        return Err(Error::Invalid(format!(
            "the catalogue uses pack {} {}, but the training started from {} {}",
            current.0,
            current.1,
            pack.name(),
            pack.version()
        )));
    }
    clean_leftovers(cat)?;
    let embedded = cat.embedded_detections((&current.0, &current.1))?;
    let only: HashSet<i64> = embedded.iter().copied().collect();
    let table = cat.load_features(&feature_keys(pack), Some(&only))?;
    if table.len() < embedded.len() {
        return Err(Error::Invalid(format!(
            "{} of the catalogue's {} detections have no cached features; compute them first (training does)",
            embedded.len() - table.len(),
            embedded.len()
        )));
    }
    let vectors = embed_table(&with_trained_necks(pack, &trained.backbones)?, &table)?;
    let by_detection: HashMap<i64, &Vec<f32>> =
        table.detection_ids.iter().copied().zip(&vectors).collect();

    let mut items = cat.gallery((&current.0, &current.1))?;
    for item in &mut items {
        item.vector = by_detection[&item.detection_id].clone();
    }
    // Calibrated as `catalogue calibrate` does: weighed to the share of new
    // individuals expected in the field.
    let share = expected_new_share(cat)?;
    let calibration =
        calibrate_gallery_for_share(items, MIN_SPECIES_INDIVIDUALS, Some(share.share))?;
    let threshold = calibration.as_ref().map(|c| c.threshold);
    if cancel.is_cancelled() {
        return Err(Error::Cancelled);
    }

    let version = next_version(cat, pack)?;
    let dir = version_dir(cat, pack.name(), &version)?;
    let trained_at: String = cat
        .conn()
        .query_row(&format!("SELECT {NOW}"), [], |r| r.get(0))?;
    let r = &trained.report;
    let info = TrainingInfo {
        parent_version: pack.version().to_string(),
        trained_at,
        seed: r.seed,
        epochs: r.epochs,
        detections: r.train_detections,
        individuals: r.classes,
        map5_before: r.before.open.map_at_5,
        map5_after: r.after.open.map_at_5,
    };
    let staging = Removed::on_failure(staging_dir(&dir));
    write_pack(pack, trained, &version, threshold, info, &staging.0)?;
    let staged = Pack::load(&staging.0)?;
    if feature_keys(&staged) != feature_keys(pack) {
        return Err(Error::Invalid(format!(
            "{}: the written pack's backbones differ from its parent's",
            dir.display()
        )));
    }
    if cancel.is_cancelled() {
        return Err(Error::Cancelled);
    }
    std::fs::rename(&staging.0, &dir).map_err(|e| Error::io(&dir, e))?;
    staging.keep();
    // From here until the transaction commits, a failure removes the
    // version again; a kill leaves it unrecorded, for clean_leftovers.
    let written = Removed::on_failure(dir.clone());

    let parent_row = match cat.pack_version(&current.0, &current.1)? {
        Some(row) => row,
        None => PackVersion {
            pack_name: current.0.clone(),
            pack_version: current.1.clone(),
            parent_version: None,
            path: path_text(&pack.root)?,
            threshold: cat.threshold_setting()?,
            report: "{}".into(),
            created_at: String::new(),
        },
    };
    let new_row = PackVersion {
        pack_name: current.0.clone(),
        pack_version: version.clone(),
        parent_version: Some(current.1.clone()),
        path: path_text(&dir)?,
        threshold,
        report: serde_json::to_string(&trained.report)
            .map_err(|e| Error::Invalid(format!("training report: {e}")))?,
        created_at: String::new(),
    };
    if cancel.is_cancelled() {
        return Err(Error::Cancelled);
    }
    cat.with_tx(|tx| {
        tx.record_pack_version(&parent_row)?;
        tx.record_pack_version(&new_row)?;
        for (detection, vector) in table.detection_ids.iter().zip(&vectors) {
            tx.insert_embedding(*detection, &current.0, &version, vector)?;
        }
        tx.switch_pack(&current.1, &new_row, SwitchAction::Adopt, actor)?;
        if let Some(c) = &calibration {
            let pack = (current.0.clone(), version.clone());
            save_calibration_in(tx.conn(), &pack, c, share)?;
        }
        Ok(())
    })?;
    written.keep();
    Ok(Adopted {
        version,
        path: dir,
        threshold,
        reembedded: vectors.len(),
    })
}

/// A folder removed when this goes out of scope, unless [`Removed::keep`]
/// was called: what an adoption wrote, when it fails or is cancelled.
struct Removed(PathBuf);

impl Removed {
    fn on_failure(path: PathBuf) -> Self {
        Self(path)
    }

    fn keep(self) {
        std::mem::forget(self);
    }
}

impl Drop for Removed {
    fn drop(&mut self) {
        // Best effort: what stays is a leftover for clean_leftovers.
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `<catalogue>/packs/<name>-<version>`, from a name and version checked to
/// be plain names, so the folder is always directly inside `packs/`.
fn version_dir(cat: &Catalogue, name: &str, version: &str) -> Result<PathBuf> {
    let refuse = |reason: String| {
        Error::Invalid(format!(
            "cannot write a version of pack `{name}` into {}: {reason}",
            cat.root().display()
        ))
    };
    check_pack_name(name).map_err(refuse)?;
    check_version(version).map_err(refuse)?;
    Ok(cat.root().join(PACKS_DIR).join(format!("{name}-{version}")))
}

/// Where a version is written before it is renamed to `dir`.
fn staging_dir(dir: &Path) -> PathBuf {
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("pack");
    dir.with_file_name(format!(".{name}{STAGING_SUFFIX}"))
}

const STAGING_SUFFIX: &str = ".partial";

/// Remove what an interrupted adoption left in the catalogue's `packs/`:
/// staging folders (`.<name>-<version>.partial`), and versions of the
/// catalogue's pack (`<name>-<version>` with a `+ft.` version) that are not
/// recorded. Anything else there is left alone. Returns what was removed.
pub fn clean_leftovers(cat: &Catalogue) -> Result<Vec<PathBuf>> {
    let packs = cat.root().join(PACKS_DIR);
    let entries = match std::fs::read_dir(&packs) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(&packs, e)),
    };
    let Ok((name, active)) = catalogue_pack(cat) else {
        return Ok(Vec::new());
    };
    let mut recorded: HashSet<String> = cat
        .pack_versions(&name)?
        .into_iter()
        .map(|v| format!("{name}-{}", v.pack_version))
        .collect();
    recorded.insert(format!("{name}-{active}"));
    let prefix = format!("{name}-");
    let mut removed = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(&packs, e))?;
        let file_name = entry.file_name();
        let Some(folder) = file_name.to_str() else {
            continue;
        };
        let staging = folder.starts_with('.') && folder.ends_with(STAGING_SUFFIX);
        let unrecorded = folder.starts_with(&prefix)
            && folder[prefix.len()..].contains("+ft.")
            && !recorded.contains(folder);
        // Only real folders: a link here is not something adoption made.
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if (staging || unrecorded) && is_dir {
            let path = entry.path();
            std::fs::remove_dir_all(&path).map_err(|e| Error::io(&path, e))?;
            removed.push(path);
        }
    }
    Ok(removed)
}

/// What [`switch_version`] did.
#[derive(Debug, Clone, Serialize)]
pub struct Switched {
    pub from: String,
    pub to: String,
    /// Detections embedded for `to` now (added since it was last active).
    pub reembedded: usize,
}

/// Make another recorded version active: `to`, or the active version's
/// parent (a rollback) when `None`. Detections without an embedding of that
/// version are embedded from their cached features first.
pub fn switch_version(
    cat: &mut Catalogue,
    to: Option<&str>,
    actor: Option<&str>,
) -> Result<Switched> {
    let (name, from) = catalogue_pack(cat)?;
    let current_row = cat.pack_version(&name, &from)?;
    let target = match to {
        Some(v) => v.to_string(),
        None => current_row
            .as_ref()
            .and_then(|r| r.parent_version.clone())
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "{name} {from} is the version this catalogue started with: there is nothing to roll back to"
                ))
            })?,
    };
    if target == from {
        return Err(Error::Invalid(format!("{name} {from} is already in use")));
    }
    let row = cat.pack_version(&name, &target)?.ok_or_else(|| {
        Error::Invalid(format!(
            "this catalogue has no version {target} of pack {name} (see `whaleid train --list`)"
        ))
    })?;
    let target_pack = Pack::load(&row.path)?;
    let have: HashSet<i64> = cat
        .embedded_detections((&name, &target))?
        .into_iter()
        .collect();
    let missing: HashSet<i64> = cat
        .embedded_detections((&name, &from))?
        .into_iter()
        .filter(|d| !have.contains(d))
        .collect();
    let table = cat.load_features(&feature_keys(&target_pack), Some(&missing))?;
    if table.len() < missing.len() {
        return Err(Error::Invalid(format!(
            "{} detections have no cached features, so they cannot be embedded with {name} {target}",
            missing.len() - table.len()
        )));
    }
    let vectors = embed_table(&target_pack.backbones, &table)?;
    let action = match current_row.and_then(|r| r.parent_version) {
        Some(parent) if parent == target => SwitchAction::Rollback,
        _ => SwitchAction::Switch,
    };
    cat.with_tx(|tx| {
        for (detection, vector) in table.detection_ids.iter().zip(&vectors) {
            tx.insert_embedding(*detection, &name, &target, vector)?;
        }
        tx.switch_pack(&from, &row, action, actor)
    })?;
    Ok(Switched {
        from,
        to: target,
        reembedded: vectors.len(),
    })
}

/// What [`refresh`] did.
#[derive(Debug, Clone, Serialize)]
pub struct Refreshed {
    pub index: PathBuf,
    /// Detections awaiting review whose suggestions were ranked again.
    pub suggestions: usize,
}

/// After a switch of versions: build and save the search index of the
/// active version, and rank the suggestions of every detection awaiting
/// review again with it, so the review queue benefits at once.
pub fn refresh(cat: &mut Catalogue) -> Result<Refreshed> {
    let (gallery, _) = Gallery::from_catalogue(cat, IndexConfig::new(0))?;
    let index = gallery.save_index(cat)?;
    let pack_default = match cat.threshold_setting()? {
        Some(_) => f32::NAN, // unused: the catalogue's own threshold is in force
        None => {
            let path = cat.setting(keys::PACK_PATH)?.unwrap_or_default();
            Pack::load(&path)?
                .manifest
                .matching
                .new_individual_threshold
        }
    };
    let ranked = rerank_with(
        cat,
        &gallery,
        pack_default,
        &CancelToken::new(),
        &mut |_, _| {},
    )?;
    Ok(Refreshed {
        index,
        suggestions: ranked.detections,
    })
}

/// `<root>+ft.<n>`, one above the highest `n` recorded or on disk (a
/// folder there that is not recorded is a leftover: [`clean_leftovers`]
/// runs first, so what is left is someone's and is not overwritten).
fn next_version(cat: &Catalogue, pack: &Pack) -> Result<String> {
    let root = pack
        .version()
        .split_once("+ft.")
        .map_or(pack.version(), |(r, _)| r);
    let prefix = format!("{root}+ft.");
    let recorded = cat
        .pack_versions(pack.name())?
        .into_iter()
        .filter_map(|v| v.pack_version.strip_prefix(&prefix)?.parse::<u32>().ok())
        .max()
        .unwrap_or(0);
    let mut n = recorded + 1;
    loop {
        let version = format!("{prefix}{n}");
        let dir = version_dir(cat, pack.name(), &version)?;
        if !dir.exists() && !staging_dir(&dir).exists() {
            return Ok(version);
        }
        n += 1;
    }
}

fn path_text(p: &Path) -> Result<String> {
    let abs = p.canonicalize().map_err(|e| Error::io(p, e))?;
    abs.to_str()
        .map(String::from)
        .ok_or_else(|| Error::Invalid(format!("{}: not a UTF-8 path", abs.display())))
}

/// Write the trained version of `pack` into the folder `staging` (created
/// here, replacing what was there); [`adopt_with`] renames it into place.
fn write_pack(
    pack: &Pack,
    trained: &Finetuned,
    version: &str,
    threshold: Option<f32>,
    info: TrainingInfo,
    staging: &Path,
) -> Result<()> {
    if let Some(code) = trained.classes.iter().find(|c| c.contains(['\n', '\r'])) {
        return Err(Error::Invalid(format!(
            "individual code {code:?} contains a line break"
        )));
    }
    if staging.exists() {
        std::fs::remove_dir_all(staging).map_err(|e| Error::io(staging, e))?;
    }
    std::fs::create_dir_all(staging).map_err(|e| Error::io(staging, e))?;

    let mut m = pack.manifest.clone();
    // Files the new version writes itself; everything else is shared.
    let replaced: HashSet<&str> = m
        .backbones
        .iter()
        .flat_map(|b| {
            let mut files = vec![b.neck.file.as_str()];
            if let Some(h) = &b.head {
                files.extend([h.file.as_str(), h.classes.as_str()]);
            }
            files
        })
        .collect();
    let mut checksums = std::collections::BTreeMap::new();
    for (rel, sha) in &pack.manifest.checksums {
        if replaced.contains(rel.as_str()) {
            continue;
        }
        // From where the file really is (checked inside the parent pack
        // when it was loaded), never through a link.
        let from = pack.files.get(rel).ok_or_else(|| {
            Error::Invalid(format!(
                "{rel} is in the checksums of pack {} but was not checked when it was loaded",
                pack.name()
            ))
        })?;
        link_or_copy(from, &staging.join(rel))?;
        checksums.insert(rel.clone(), sha.clone());
    }
    let mut write = |rel: String, bytes: &[u8]| -> Result<String> {
        let path = staging.join(&rel);
        std::fs::write(&path, bytes).map_err(|e| Error::io(&path, e))?;
        checksums.insert(rel.clone(), hex::encode(Sha256::digest(bytes)));
        Ok(rel)
    };
    let mut classes = trained.classes.join("\n");
    classes.push('\n');
    let classes_file = write(CLASSES_FILE.into(), classes.as_bytes())?;
    for (spec, t) in m.backbones.iter_mut().zip(&trained.backbones) {
        debug_assert_eq!(spec.name, t.name);
        // The name becomes a file name: one plain name, inside `staging`.
        check_name("backbones.name", &spec.name).map_err(Error::Invalid)?;
        spec.neck.file = write(format!("{}.neck.safetensors", spec.name), &t.neck)?;
        spec.head = Some(HeadSpec {
            file: write(format!("{}.head.safetensors", spec.name), &t.head)?,
            classes: classes_file.clone(),
            s: trained.s,
            m: trained.m,
            subcenters: trained.report.subcenters,
        });
    }
    m.pack.version = version.to_string();
    m.pack.description = format!(
        "{} — fine-tuned from {} on {} detections of {} individuals",
        pack.manifest.pack.description,
        pack.version(),
        info.detections,
        info.individuals
    );
    if let Some(t) = threshold {
        m.matching.new_individual_threshold = t.clamp(-1.0, 1.0);
    }
    m.training = Some(info);
    m.checksums = checksums;
    let text = toml::to_string_pretty(&m)
        .map_err(|e| Error::Invalid(format!("writing {MANIFEST_FILE}: {e}")))?;
    let manifest = staging.join(MANIFEST_FILE);
    std::fs::write(&manifest, text).map_err(|e| Error::io(&manifest, e))?;
    Ok(())
}

/// Hard-link `from` to `to` (same bytes, no space), else copy.
fn link_or_copy(from: &Path, to: &Path) -> Result<()> {
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    if std::fs::hard_link(from, to).is_ok() {
        return Ok(());
    }
    std::fs::copy(from, to).map_err(|e| Error::io(from, e))?;
    Ok(())
}
