//! Embeddings that do not fit their pack version: found, kept out of every
//! search, and removed on request.
//!
//! An embedding is one pack version's view of a detection, so all of one
//! version's embeddings have the same number of values. One that has
//! another (received from a careless or hostile laptop), or a value that is
//! not a number, would break every index and calibration it entered. Sync
//! refuses such an embedding where the receiver knows the version's
//! dimension ([`known_dims`]: from the manifests of the packs on this
//! machine); what it cannot check is stored but quarantined: the gallery
//! leaves out every embedding that does not fit ([`keep_fitting`]), `catalogue
//! check` names it ([`Catalogue::misfit_vectors`]) and `catalogue repair`
//! removes it ([`Catalogue::remove_misfit_vectors`]).
//!
//! What a version's dimension is here ([`expected_dims`]): its manifest's,
//! when this machine has the pack; else the one most of its embeddings have
//! (the larger on a tie), so one stray vector never outvotes a catalogue.

use std::collections::BTreeMap;
use std::path::Path;

use rusqlite::params;
use serde::Serialize;

use super::records::{blob_to_vector, GalleryItem};
use super::Catalogue;
use crate::error::Result;

/// A pack version: `(name, version)`.
pub type PackVersionKey = (String, String);

/// An embedding that does not fit its pack version.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Misfit {
    pub embedding_id: i64,
    /// The UUID of the detection it embeds.
    pub detection: String,
    pub pack_name: String,
    pub pack_version: String,
    /// How many values it has.
    pub dim: usize,
    /// How many its pack version's embeddings have here, if that is known.
    pub expected: Option<usize>,
    pub reason: String,
}

impl std::fmt::Display for Misfit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "embedding {} (detection {}, pack {} {}) {}",
            self.embedding_id, self.detection, self.pack_name, self.pack_version, self.reason
        )
    }
}

/// The pack version and embedding dimension a pack folder's manifest says,
/// if it has a readable one.
fn manifest_dims(dir: &Path) -> Option<(PackVersionKey, usize)> {
    let text = std::fs::read_to_string(dir.join(crate::packs::MANIFEST_FILE)).ok()?;
    let m: crate::packs::Manifest = toml::from_str(&text).ok()?;
    let mut dim = 0usize;
    for name in &m.ensemble.order {
        let b = m.backbones.iter().find(|b| &b.name == name)?;
        dim = dim.checked_add(b.neck.embedding_dim)?;
    }
    (dim > 0).then_some(((m.pack.name, m.pack.version), dim))
}

/// The embedding dimension of the packs installed with WhaleID on this
/// machine (the generic pack): what a receiver without packs of its own,
/// such as the team's server, knows.
pub fn installed_dims() -> BTreeMap<PackVersionKey, usize> {
    crate::install::generic_pack_dir()
        .ok()
        .and_then(|dir| manifest_dims(&dir))
        .into_iter()
        .collect()
}

/// The embedding dimension of every pack version whose manifest is on this
/// machine: the installed ones ([`installed_dims`]), the catalogue's own
/// pack, and the versions it recorded (trained and adopted ones).
pub fn known_dims(cat: &Catalogue) -> Result<BTreeMap<PackVersionKey, usize>> {
    let mut known = installed_dims();
    let mut dirs: Vec<std::path::PathBuf> = crate::packs::binding::pack_dir_of(cat)?
        .into_iter()
        .collect();
    let mut stmt = cat.conn().prepare("SELECT path FROM pack_versions")?;
    for path in stmt.query_map([], |r| r.get::<_, String>(0))? {
        dirs.push(path?.into());
    }
    for dir in dirs {
        if let Some((key, dim)) = manifest_dims(&dir) {
            known.insert(key, dim);
        }
    }
    Ok(known)
}

/// The dimension the embeddings of each pack version in the catalogue must
/// have here (see the module docs).
pub fn expected_dims(cat: &Catalogue) -> Result<BTreeMap<PackVersionKey, usize>> {
    let known = known_dims(cat)?;
    let mut out = BTreeMap::new();
    let mut stmt = cat.conn().prepare(
        "SELECT pack_name, pack_version, dim FROM embeddings
         GROUP BY 1, 2, 3 ORDER BY count(*), dim",
    )?;
    // Ascending, so the most common (then the larger) is written last.
    for row in stmt.query_map([], |r| {
        Ok(((r.get::<_, String>(0)?, r.get(1)?), r.get::<_, i64>(2)?))
    })? {
        let (key, dim) = row?;
        if !known.contains_key(&key) {
            out.insert(key, dim.max(0) as usize);
        }
    }
    out.extend(known);
    Ok(out)
}

/// Why `vector` does not fit a version whose embeddings have `expected`
/// values, if it does not.
fn misfit_reason(vector: &[f32], expected: Option<usize>, version: &str) -> Option<String> {
    if let Some(want) = expected.filter(|w| *w != vector.len()) {
        return Some(format!(
            "has {} values; version {version}'s embeddings have {want}",
            vector.len()
        ));
    }
    vector
        .iter()
        .position(|v| !v.is_finite())
        .map(|at| format!("holds a value that is not a number (at position {at})"))
}

/// `items` of pack version `pack` without those that do not fit it
/// (logged), so one bad embedding never breaks a search or a calibration.
pub(crate) fn keep_fitting(
    cat: &Catalogue,
    pack: (&str, &str),
    mut items: Vec<GalleryItem>,
) -> Result<Vec<GalleryItem>> {
    let key = (pack.0.to_string(), pack.1.to_string());
    let expected = match known_dims(cat)?.get(&key) {
        Some(d) => Some(*d),
        None => expected_dims(cat)?.get(&key).copied(),
    };
    items.retain(|item| match misfit_reason(&item.vector, expected, pack.1) {
        None => true,
        Some(why) => {
            tracing::warn!(
                embedding = item.embedding_id,
                pack = pack.0,
                version = pack.1,
                "left out of the gallery: {why} (`whaleid catalogue repair` removes it)"
            );
            false
        }
    });
    Ok(items)
}

impl Catalogue {
    /// Every embedding that does not fit its pack version: another number
    /// of values than the version's ([`expected_dims`]), or a value that is
    /// not a number. In embedding id order.
    pub fn misfit_vectors(&self) -> Result<Vec<Misfit>> {
        let expected = expected_dims(self)?;
        let mut stmt = self.conn().prepare(
            "SELECT e.id, d.uuid, e.pack_name, e.pack_version, e.vector
             FROM embeddings e JOIN detections d ON d.id = e.detection_id
             ORDER BY e.id",
        )?;
        let mut out = Vec::new();
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Vec<u8>>(4)?,
            ))
        })?;
        for row in rows {
            let (embedding_id, detection, pack_name, pack_version, blob) = row?;
            let vector = blob_to_vector(&blob);
            let want = expected
                .get(&(pack_name.clone(), pack_version.clone()))
                .copied();
            if let Some(reason) = misfit_reason(&vector, want, &pack_version) {
                out.push(Misfit {
                    embedding_id,
                    detection,
                    pack_name,
                    pack_version,
                    dim: vector.len(),
                    expected: want,
                    reason,
                });
            }
        }
        Ok(out)
    }

    /// Delete every embedding [`Catalogue::misfit_vectors`] finds, in one
    /// transaction; returns them. Their detections stay (embed them again
    /// with the catalogue's pack to search them).
    pub fn remove_misfit_vectors(&mut self) -> Result<Vec<Misfit>> {
        let misfits = self.misfit_vectors()?;
        self.with_tx(|tx| {
            let mut stmt = tx.conn().prepare("DELETE FROM embeddings WHERE id = ?1")?;
            for m in &misfits {
                stmt.execute(params![m.embedding_id])?;
            }
            Ok(())
        })?;
        Ok(misfits)
    }

    /// `check`'s lines for embeddings that do not fit.
    pub(crate) fn vector_problems(&self) -> Result<Vec<String>> {
        Ok(self
            .misfit_vectors()?
            .iter()
            .map(|m| format!("{m}: `whaleid catalogue repair` removes it"))
            .collect())
    }
}
