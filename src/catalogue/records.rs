//! Photos, detections, embeddings, identifications and suggestions: the
//! records an import or a review writes, and the gallery a search reads.
//!
//! Writes happen on a [`Tx`] (one transaction). Identifications are
//! append-only: a new decision for a detection supersedes the current one and
//! the chain of `superseded_by` is its history.

use rusqlite::{params, OptionalExtension, Transaction};
use serde::Serialize;

use super::sql::NOW;
use super::{new_uuid, Catalogue};
use crate::detect::BBox;
use crate::error::{Error, Result};
use crate::photo::Meta;

/// A transaction on the catalogue; see [`Catalogue::with_tx`].
#[derive(Debug)]
pub struct Tx<'c>(Transaction<'c>);

/// A photo as the catalogue records it.
#[derive(Debug, Clone)]
pub struct NewPhoto<'a> {
    pub sha256: &'a str,
    pub original_path: &'a str,
    pub byte_size: u64,
    pub width: u32,
    pub height: u32,
    pub meta: &'a Meta,
}

/// Who decided an identification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Person,
    Import,
    Model,
}

impl Source {
    pub(crate) fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "person" => Source::Person,
            "import" => Source::Import,
            "model" => Source::Model,
            other => return Err(Error::Invalid(format!("unknown decision source {other:?}"))),
        })
    }

    fn as_str(self) -> &'static str {
        match self {
            Source::Person => "person",
            Source::Import => "import",
            Source::Model => "model",
        }
    }
}

/// One step of a detection's identification history, newest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    pub id: i64,
    pub individual_id: i64,
    pub verdict: String,
    pub source: String,
    pub decided_by: Option<String>,
    pub score: Option<f64>,
    pub current: bool,
    pub created_at: String,
}

/// A searchable embedding: a detection with a current confirmed
/// identification, its individual resolved through merges.
#[derive(Debug, Clone)]
pub struct GalleryItem {
    pub embedding_id: i64,
    pub detection_id: i64,
    pub individual_id: i64,
    pub species: Option<String>,
    pub taken_at: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub vector: Vec<f32>,
}

/// Limits a search to part of the catalogue.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Scope {
    pub species: Option<String>,
    /// With `species`: also admit individuals whose species is not recorded
    /// (they may be of that species). The scope of a detection whose survey
    /// species is known ([`Scope::for_detection`]).
    pub or_unknown_species: bool,
    /// Inclusive `YYYY-MM-DD` bounds on the photo's EXIF date.
    pub date_from: Option<String>,
    pub date_to: Option<String>,
    /// `(lat_min, lon_min, lat_max, lon_max)`.
    pub region: Option<(f64, f64, f64, f64)>,
}

impl Scope {
    pub fn is_everything(&self) -> bool {
        self.species.is_none()
            && self.date_from.is_none()
            && self.date_to.is_none()
            && self.region.is_none()
    }

    /// The default scope of a detection's suggestions: its survey species
    /// (and individuals of unknown species) when known, else everything.
    pub fn for_detection(species: Option<&str>) -> Self {
        Scope {
            species: species.map(str::to_owned),
            or_unknown_species: species.is_some(),
            ..Scope::default()
        }
    }

    /// Whether a gallery item is inside the scope. Items without a date or
    /// position are outside a date or region scope: a scope is a promise
    /// about what was searched.
    pub fn admits(&self, item: &GalleryItem) -> bool {
        if let Some(s) = &self.species {
            let unknown_ok = self.or_unknown_species && item.species.is_none();
            if item.species.as_deref() != Some(s.as_str()) && !unknown_ok {
                return false;
            }
        }
        let day = item.taken_at.as_deref().map(|t| &t[..t.len().min(10)]);
        if let Some(from) = &self.date_from {
            if day.is_none_or(|d| d < from.as_str()) {
                return false;
            }
        }
        if let Some(to) = &self.date_to {
            if day.is_none_or(|d| d > to.as_str()) {
                return false;
            }
        }
        if let Some((lat0, lon0, lat1, lon1)) = self.region {
            match (item.latitude, item.longitude) {
                (Some(lat), Some(lon))
                    if (lat0..=lat1).contains(&lat) && (lon0..=lon1).contains(&lon) => {}
                _ => return false,
            }
        }
        true
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_everything() {
            return f.write_str("whole catalogue");
        }
        let mut parts = Vec::new();
        if let Some(s) = &self.species {
            if self.or_unknown_species {
                parts.push(format!("species {s} (and individuals of unknown species)"));
            } else {
                parts.push(format!("species {s}"));
            }
        }
        if self.date_from.is_some() || self.date_to.is_some() {
            parts.push(format!(
                "dates {}..{}",
                self.date_from.as_deref().unwrap_or(""),
                self.date_to.as_deref().unwrap_or("")
            ));
        }
        if let Some((a, b, c, d)) = self.region {
            parts.push(format!("region lat {a}..{c}, lon {b}..{d}"));
        }
        f.write_str(&parts.join(", "))
    }
}

pub(crate) fn vector_to_blob(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub(crate) fn blob_to_vector(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// `v` as little-endian IEEE half floats (the view cache's storage).
pub(crate) fn vector_to_f16_blob(v: &[f32]) -> Vec<u8> {
    v.iter()
        .flat_map(|&x| half::f16::from_f32(x).to_le_bytes())
        .collect()
}

pub(crate) fn f16_blob_to_vector(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(2)
        .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
        .collect()
}

/// Where cached features were computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeatureOrigin {
    /// The original photo with the detection's box (as ingest computes them).
    Photo,
    /// The stored crop, when the original photo could no longer be read.
    Crop,
}

impl FeatureOrigin {
    pub fn as_str(self) -> &'static str {
        match self {
            FeatureOrigin::Photo => "photo",
            FeatureOrigin::Crop => "crop",
        }
    }
}

impl<'c> Tx<'c> {
    pub(super) fn new(tx: Transaction<'c>) -> Self {
        Tx(tx)
    }

    pub(super) fn commit(self) -> Result<()> {
        Ok(self.0.commit()?)
    }

    pub(crate) fn conn(&self) -> &rusqlite::Connection {
        &self.0
    }

    /// The individual with this code, created when new.
    pub fn ensure_individual(&self, code: &str, species: Option<&str>) -> Result<i64> {
        super::individuals::ensure_individual(&self.0, code, species)
    }

    pub fn insert_photo(&self, p: &NewPhoto<'_>) -> Result<i64> {
        self.0.execute(
            "INSERT INTO photos (uuid, sha256, original_path, byte_size, width, height,
                taken_at, latitude, longitude, camera_model, orientation)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                new_uuid(),
                p.sha256,
                p.original_path,
                p.byte_size as i64,
                p.width,
                p.height,
                p.meta.taken_at,
                p.meta.latitude,
                p.meta.longitude,
                p.meta.camera_model,
                p.meta.orientation,
            ],
        )?;
        Ok(self.0.last_insert_rowid())
    }

    /// Record who imported a photo (the observer name; `None` leaves it
    /// unknown).
    pub fn set_photo_imported_by(&self, photo_id: i64, by: Option<&str>) -> Result<()> {
        if by.is_some() {
            self.0.execute(
                "UPDATE photos SET imported_by = ?2 WHERE id = ?1",
                params![photo_id, by],
            )?;
        }
        Ok(())
    }

    /// Record the species a detection shows, as given for its survey or its
    /// label (`None` leaves it unknown). Its suggestions are then scoped to it.
    pub fn set_detection_species(&self, detection_id: i64, species: Option<&str>) -> Result<()> {
        self.0.execute(
            "UPDATE detections SET species = ?2 WHERE id = ?1",
            params![detection_id, species],
        )?;
        Ok(())
    }

    pub fn insert_detection(
        &self,
        photo_id: i64,
        bbox: BBox,
        class: &str,
        score: Option<f32>,
        crop_file: Option<&str>,
    ) -> Result<i64> {
        self.0.execute(
            "INSERT INTO detections (uuid, photo_id, x1, y1, x2, y2, class, score, crop_file)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                new_uuid(),
                photo_id,
                bbox.x1,
                bbox.y1,
                bbox.x2,
                bbox.y2,
                class,
                score,
                crop_file
            ],
        )?;
        Ok(self.0.last_insert_rowid())
    }

    pub fn insert_embedding(
        &self,
        detection_id: i64,
        pack_name: &str,
        pack_version: &str,
        vector: &[f32],
    ) -> Result<i64> {
        self.0.execute(
            "INSERT INTO embeddings (uuid, detection_id, pack_name, pack_version, dim, vector)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                new_uuid(),
                detection_id,
                pack_name,
                pack_version,
                vector.len() as i64,
                vector_to_blob(vector)
            ],
        )?;
        Ok(self.0.last_insert_rowid())
    }

    /// Cache a detection's backbone features: `features[i]` under `keys[i]`
    /// (the pack's backbones in order); rows already cached are left as they are.
    pub fn insert_features(
        &self,
        detection_id: i64,
        keys: &[String],
        features: &[Vec<f32>],
        origin: FeatureOrigin,
    ) -> Result<()> {
        let mut stmt = self.0.prepare_cached(
            "INSERT INTO features (detection_id, feature_key, origin, dim, vector)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (detection_id, feature_key) DO NOTHING",
        )?;
        for (key, values) in keys.iter().zip(features) {
            stmt.execute(params![
                detection_id,
                key,
                origin.as_str(),
                values.len() as i64,
                vector_to_blob(values)
            ])?;
        }
        Ok(())
    }

    /// Cache a detection's augmented views made by `recipe`: `views[i]` (the
    /// views of backbone `i`, view-major, `n · dim` values) under `keys[i]`.
    /// Views of another recipe or fewer views are replaced.
    pub fn insert_views(
        &self,
        detection_id: i64,
        keys: &[String],
        recipe: &str,
        n: usize,
        views: &[Vec<f32>],
        origin: FeatureOrigin,
    ) -> Result<()> {
        let mut stmt = self.0.prepare_cached(
            "INSERT INTO feature_views (detection_id, feature_key, recipe, origin, views, dim, vector)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (detection_id, feature_key) DO UPDATE SET
                recipe = excluded.recipe, origin = excluded.origin, views = excluded.views,
                dim = excluded.dim, vector = excluded.vector",
        )?;
        for (key, values) in keys.iter().zip(views) {
            if n == 0 || values.len() % n != 0 {
                return Err(Error::Invalid(format!(
                    "{} view values are not {n} views of one width",
                    values.len()
                )));
            }
            stmt.execute(params![
                detection_id,
                key,
                recipe,
                origin.as_str(),
                n as i64,
                (values.len() / n) as i64,
                vector_to_f16_blob(values)
            ])?;
        }
        Ok(())
    }

    /// Record a decision about a detection. The current decision, if any, is
    /// kept and marked as superseded by this one.
    pub fn decide(
        &self,
        detection_id: i64,
        individual_id: i64,
        confirmed: bool,
        source: Source,
        decided_by: Option<&str>,
        score: Option<f32>,
    ) -> Result<i64> {
        let previous: Option<i64> = self
            .0
            .query_row(
                "SELECT id FROM identifications
                 WHERE detection_id = ?1 AND superseded_by IS NULL
                 ORDER BY id DESC LIMIT 1",
                [detection_id],
                |r| r.get(0),
            )
            .optional()?;
        // The previous row leaves the "current" unique index before the new
        // one enters it; it points at its successor right after.
        if let Some(prev) = previous {
            self.0.execute(
                &format!(
                    "UPDATE identifications SET superseded_by = ?1,
                     updated_at = {NOW} WHERE id = ?1"
                ),
                [prev],
            )?;
        }
        self.0.execute(
            "INSERT INTO identifications (uuid, detection_id, individual_id, verdict, source, decided_by, score)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                new_uuid(),
                detection_id,
                individual_id,
                if confirmed { "confirmed" } else { "rejected" },
                source.as_str(),
                decided_by,
                score
            ],
        )?;
        let id = self.0.last_insert_rowid();
        if let Some(prev) = previous {
            self.0.execute(
                "UPDATE identifications SET superseded_by = ?1 WHERE id = ?2",
                [id, prev],
            )?;
        }
        Ok(id)
    }

    /// Replace the model's suggestions for a detection: `(individual or None
    /// for new_individual, score)` in rank order, at most 6 (the five best
    /// candidates and where new_individual ranks among them, see
    /// [`crate::matching::suggest`]).
    pub fn set_suggestions(
        &self,
        detection_id: i64,
        pack: (&str, &str),
        ranked: &[(Option<i64>, Option<f32>)],
    ) -> Result<()> {
        if ranked.len() > crate::matching::TOP_K + 1 {
            return Err(Error::Invalid(format!(
                "{} suggestions for detection {detection_id}; at most 6 are kept",
                ranked.len()
            )));
        }
        self.0.execute(
            "DELETE FROM suggestions WHERE detection_id = ?1",
            [detection_id],
        )?;
        for (rank, (individual, score)) in ranked.iter().enumerate() {
            self.0.execute(
                "INSERT INTO suggestions (uuid, detection_id, rank, individual_id, score, pack_name, pack_version)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![new_uuid(), detection_id, rank as i64 + 1, individual, score, pack.0, pack.1],
            )?;
        }
        Ok(())
    }
}

impl Catalogue {
    /// The photo with this content, if the catalogue has it.
    pub fn photo_by_sha256(&self, sha256: &str) -> Result<Option<i64>> {
        Ok(self
            .conn()
            .query_row("SELECT id FROM photos WHERE sha256 = ?1", [sha256], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// Whether every detection of a photo has an embedding from this pack
    /// (and it has at least one): then an import can skip it.
    pub fn photo_is_embedded(&self, photo_id: i64, pack: (&str, &str)) -> Result<bool> {
        Ok(self.conn().query_row(
            "SELECT count(*) > 0 AND count(*) = count(e.id) FROM detections d
             LEFT JOIN embeddings e ON e.detection_id = d.id AND e.pack_name = ?2 AND e.pack_version = ?3
             WHERE d.photo_id = ?1",
            params![photo_id, pack.0, pack.1],
            |r| r.get(0),
        )?)
    }

    /// A detection's decisions, newest first.
    pub fn history(&self, detection_id: i64) -> Result<Vec<Decision>> {
        let mut stmt = self.conn().prepare(
            "SELECT id, individual_id, verdict, source, decided_by, score, superseded_by IS NULL AND withdrawn_at IS NULL, created_at
             FROM identifications WHERE detection_id = ?1 ORDER BY id DESC",
        )?;
        let rows = stmt.query_map([detection_id], |r| {
            Ok(Decision {
                id: r.get(0)?,
                individual_id: r.get(1)?,
                verdict: r.get(2)?,
                source: r.get(3)?,
                decided_by: r.get(4)?,
                score: r.get(5)?,
                current: r.get(6)?,
                created_at: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The individual a detection currently shows (confirmed, resolved
    /// through merges), if any.
    pub fn current_individual(&self, detection_id: i64) -> Result<Option<i64>> {
        let id: Option<i64> = self
            .conn()
            .query_row(
                "SELECT individual_id FROM identifications
                 WHERE detection_id = ?1 AND superseded_by IS NULL AND withdrawn_at IS NULL AND verdict = 'confirmed'",
                [detection_id],
                |r| r.get(0),
            )
            .optional()?;
        id.map(|i| self.resolve(i)).transpose()
    }

    /// Every searchable embedding of a pack: detections with a current
    /// confirmed identification, individuals resolved through merges.
    pub fn gallery(&self, pack: (&str, &str)) -> Result<Vec<GalleryItem>> {
        let mut stmt = self.conn().prepare(&format!(
            "{}
             SELECT e.id, d.id, r.id, ind.species, p.taken_at, p.latitude, p.longitude, e.vector
             FROM embeddings e
             JOIN detections d ON d.id = e.detection_id
             JOIN photos p ON p.id = d.photo_id
             JOIN identifications idn ON idn.detection_id = d.id
                  AND idn.superseded_by IS NULL AND idn.withdrawn_at IS NULL AND idn.verdict = 'confirmed'
             JOIN resolved r ON r.start = idn.individual_id
             JOIN individuals ind ON ind.id = r.id
             WHERE e.pack_name = ?1 AND e.pack_version = ?2 AND d.removed_at IS NULL
             ORDER BY e.id",
            super::sql::RESOLVED_CTE
        ))?;
        let rows = stmt.query_map(params![pack.0, pack.1], |r| {
            Ok(GalleryItem {
                embedding_id: r.get(0)?,
                detection_id: r.get(1)?,
                individual_id: r.get(2)?,
                species: r.get(3)?,
                taken_at: r.get(4)?,
                latitude: r.get(5)?,
                longitude: r.get(6)?,
                vector: blob_to_vector(&r.get::<_, Vec<u8>>(7)?),
            })
        })?;
        let items = rows.collect::<rusqlite::Result<_>>()?;
        // A vector that does not fit its version never reaches a search.
        super::vectors::keep_fitting(self, pack, items)
    }
}
