//! The feature cache and what fine-tuning reads from the catalogue.
//!
//! Ingest stores each detection's backbone features beside its embedding
//! (`features`, keyed by [`crate::packs::Backbone::feature_key`]). Catalogues
//! made before the cache existed, or detections whose rows were lost, are
//! listed by [`Catalogue::features_missing`] so they can be computed once
//! from the photos. Training examples are the confirmed detections, with
//! their individual resolved through merges ([`Catalogue::training_examples`]).
//!
//! Fine-tuning also caches K augmented views of each confirmed detection
//! (`feature_views`, see [`crate::train::views`]): one row per detection and
//! key holding every view as half floats, written by [`super::Tx::insert_views`],
//! listed when missing by [`Catalogue::views_missing`] and read back as f32
//! by [`Catalogue::load_views`].

use std::collections::{HashMap, HashSet};

use ndarray::Array2;
use rusqlite::params;

use super::records::{blob_to_vector, f16_blob_to_vector};
use super::sql::RESOLVED_CTE;
use super::Catalogue;
use crate::detect::BBox;
use crate::error::{Error, Result};

/// A detection whose features must be computed, with where to read it from.
#[derive(Debug, Clone)]
pub struct FeatureTask {
    pub detection_id: i64,
    pub photo_path: String,
    /// The region that was embedded, in the oriented photo's pixels.
    pub region: BBox,
    /// The stored crop (relative to the media folder), a fallback.
    pub crop_file: Option<String>,
}

/// A confirmed detection: a training example.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingExample {
    pub detection_id: i64,
    pub photo_id: i64,
    /// Resolved through merges.
    pub individual_id: i64,
    pub code: String,
    pub species: Option<String>,
}

/// Cached features of a set of detections, one block per feature key.
#[derive(Debug, Clone)]
pub struct FeatureTable {
    /// Row order of every block.
    pub detection_ids: Vec<i64>,
    /// `blocks[k]` is `[detections, F_k]` for the `k`-th key asked for.
    pub blocks: Vec<Array2<f32>>,
}

impl FeatureTable {
    pub fn len(&self) -> usize {
        self.detection_ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.detection_ids.is_empty()
    }
}

/// Cached augmented views of a set of detections, one block per feature key.
#[derive(Debug, Clone)]
pub struct ViewTable {
    /// Detection order of every block.
    pub detection_ids: Vec<i64>,
    /// Views per detection.
    pub views: usize,
    /// `blocks[k]` is `[detections · views, F_k]` for the `k`-th key asked
    /// for: the views of `detection_ids[i]` are rows `i · views ..`.
    pub blocks: Vec<Array2<f32>>,
}

/// How much the view cache holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ViewCacheSize {
    /// Detections with cached views.
    pub detections: usize,
    /// Bytes of their rows' vectors (all feature keys, all views).
    pub vector_bytes: u64,
}

impl ViewCacheSize {
    /// Vector bytes per detection (0 when empty).
    pub fn bytes_per_detection(&self) -> u64 {
        self.vector_bytes
            .checked_div(self.detections as u64)
            .unwrap_or(0)
    }
}

impl Catalogue {
    /// Detections embedded with `pack` that lack cached features for any
    /// of `keys`, in detection order.
    pub fn features_missing(
        &self,
        pack: (&str, &str),
        keys: &[String],
    ) -> Result<Vec<FeatureTask>> {
        let mut have: HashMap<i64, usize> = HashMap::new();
        {
            let mut stmt = self
                .conn()
                .prepare_cached("SELECT detection_id FROM features WHERE feature_key = ?1")?;
            for key in keys {
                for id in stmt.query_map([key], |r| r.get::<_, i64>(0))? {
                    *have.entry(id?).or_default() += 1;
                }
            }
        }
        let mut stmt = self.conn().prepare(
            "SELECT d.id, p.original_path, d.x1, d.y1, d.x2, d.y2, d.crop_file
             FROM embeddings e
             JOIN detections d ON d.id = e.detection_id
             JOIN photos p ON p.id = d.photo_id
             WHERE e.pack_name = ?1 AND e.pack_version = ?2 AND d.removed_at IS NULL
             ORDER BY d.id",
        )?;
        let rows = stmt.query_map(params![pack.0, pack.1], feature_task)?;
        let mut out = Vec::new();
        for task in rows {
            let task = task?;
            if have.get(&task.detection_id).copied().unwrap_or(0) < keys.len() {
                out.push(task);
            }
        }
        Ok(out)
    }

    /// Detections embedded with `pack`, in detection order.
    pub fn embedded_detections(&self, pack: (&str, &str)) -> Result<Vec<i64>> {
        let mut stmt = self.conn().prepare(
            "SELECT e.detection_id FROM embeddings e JOIN detections d ON d.id = e.detection_id
             WHERE e.pack_name = ?1 AND e.pack_version = ?2 AND d.removed_at IS NULL
             ORDER BY e.detection_id",
        )?;
        let rows = stmt.query_map(params![pack.0, pack.1], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Every detection with a current confirmed identification, its
    /// individual resolved through merges, in detection order.
    pub fn training_examples(&self) -> Result<Vec<TrainingExample>> {
        let mut stmt = self.conn().prepare(&format!(
            "{RESOLVED_CTE}
             SELECT d.id, d.photo_id, r.id, ind.code, ind.species
             FROM identifications idn
             JOIN detections d ON d.id = idn.detection_id
             JOIN resolved r ON r.start = idn.individual_id
             JOIN individuals ind ON ind.id = r.id
             WHERE idn.superseded_by IS NULL AND idn.withdrawn_at IS NULL
               AND idn.verdict = 'confirmed' AND d.removed_at IS NULL
             ORDER BY d.id"
        ))?;
        let rows = stmt.query_map([], |r| {
            Ok(TrainingExample {
                detection_id: r.get(0)?,
                photo_id: r.get(1)?,
                individual_id: r.get(2)?,
                code: r.get(3)?,
                species: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The cached features for `keys` of the detections in `only` (every
    /// cached detection when `None`) that have all of them, in detection order.
    pub fn load_features(
        &self,
        keys: &[String],
        only: Option<&HashSet<i64>>,
    ) -> Result<FeatureTable> {
        let mut per_key: Vec<HashMap<i64, Vec<f32>>> = Vec::with_capacity(keys.len());
        let mut dims = Vec::with_capacity(keys.len());
        let mut stmt = self.conn().prepare_cached(
            "SELECT detection_id, dim, vector FROM features WHERE feature_key = ?1",
        )?;
        for key in keys {
            let mut map = HashMap::new();
            let mut dim = None;
            let rows = stmt.query_map([key], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)? as usize,
                    r.get::<_, Vec<u8>>(2)?,
                ))
            })?;
            for row in rows {
                let (id, d, blob) = row?;
                if only.is_some_and(|o| !o.contains(&id)) {
                    continue;
                }
                if *dim.get_or_insert(d) != d {
                    return Err(Error::Catalogue {
                        path: self.root().to_path_buf(),
                        reason: format!(
                            "cached features of detection {id} have {d} values, others {}",
                            dim.unwrap_or(0)
                        ),
                    });
                }
                map.insert(id, blob_to_vector(&blob));
            }
            dims.push(dim.unwrap_or(0));
            per_key.push(map);
        }
        let (ids, blocks) = join_blocks(per_key, &dims, 1);
        Ok(FeatureTable {
            detection_ids: ids,
            blocks,
        })
    }

    /// Of `detections`, those that lack `views` views made by `recipe` under
    /// any of `keys`, in detection order, with where to read them from.
    pub fn views_missing(
        &self,
        keys: &[String],
        recipe: &str,
        views: usize,
        detections: &[i64],
    ) -> Result<Vec<FeatureTask>> {
        let wanted: HashSet<i64> = detections.iter().copied().collect();
        let mut have: HashMap<i64, usize> = HashMap::new();
        {
            let mut stmt = self.conn().prepare_cached(
                "SELECT detection_id FROM feature_views
                 WHERE feature_key = ?1 AND recipe = ?2 AND views >= ?3",
            )?;
            for key in keys {
                for id in
                    stmt.query_map(params![key, recipe, views as i64], |r| r.get::<_, i64>(0))?
                {
                    *have.entry(id?).or_default() += 1;
                }
            }
        }
        let mut stmt = self.conn().prepare(
            "SELECT d.id, p.original_path, d.x1, d.y1, d.x2, d.y2, d.crop_file
             FROM detections d JOIN photos p ON p.id = d.photo_id
             WHERE d.removed_at IS NULL
             ORDER BY d.id",
        )?;
        let rows = stmt.query_map([], feature_task)?;
        let mut out = Vec::new();
        for task in rows {
            let task = task?;
            if wanted.contains(&task.detection_id)
                && have.get(&task.detection_id).copied().unwrap_or(0) < keys.len()
            {
                out.push(task);
            }
        }
        Ok(out)
    }

    /// The first `views` cached views made by `recipe` for `keys` of the
    /// detections in `only` that have them under every key, in detection order.
    pub fn load_views(
        &self,
        keys: &[String],
        recipe: &str,
        views: usize,
        only: &HashSet<i64>,
    ) -> Result<ViewTable> {
        let mut per_key: Vec<HashMap<i64, Vec<f32>>> = Vec::with_capacity(keys.len());
        let mut dims = Vec::with_capacity(keys.len());
        let mut stmt = self.conn().prepare_cached(
            "SELECT detection_id, views, dim, vector FROM feature_views
             WHERE feature_key = ?1 AND recipe = ?2 AND views >= ?3",
        )?;
        for key in keys {
            let mut map = HashMap::new();
            let mut dim = None;
            let rows = stmt.query_map(params![key, recipe, views as i64], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)? as usize,
                    r.get::<_, i64>(2)? as usize,
                    r.get::<_, Vec<u8>>(3)?,
                ))
            })?;
            for row in rows {
                let (id, _, d, blob) = row?;
                if !only.contains(&id) {
                    continue;
                }
                if *dim.get_or_insert(d) != d {
                    return Err(Error::Catalogue {
                        path: self.root().to_path_buf(),
                        reason: format!(
                            "cached views of detection {id} have {d} values, others {}",
                            dim.unwrap_or(0)
                        ),
                    });
                }
                // The first `views` views: a prefix of the view-major blob.
                map.insert(id, f16_blob_to_vector(&blob[..2 * views * d]));
            }
            dims.push(dim.unwrap_or(0));
            per_key.push(map);
        }
        let (ids, blocks) = join_blocks(per_key, &dims, views);
        Ok(ViewTable {
            detection_ids: ids,
            views,
            blocks,
        })
    }

    /// How many detections have cached views, and their vectors' bytes.
    pub fn view_cache_size(&self) -> Result<ViewCacheSize> {
        let (detections, bytes): (i64, i64) = self.conn().query_row(
            "SELECT count(DISTINCT detection_id), coalesce(sum(length(vector)), 0) FROM feature_views",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(ViewCacheSize {
            detections: detections as usize,
            vector_bytes: bytes as u64,
        })
    }
}

/// A [`FeatureTask`] from a row of `d.id, p.original_path, d.x1, d.y1, d.x2,
/// d.y2, d.crop_file`.
fn feature_task(r: &rusqlite::Row<'_>) -> rusqlite::Result<FeatureTask> {
    Ok(FeatureTask {
        detection_id: r.get(0)?,
        photo_path: r.get(1)?,
        region: BBox {
            x1: r.get::<_, f64>(2)? as f32,
            y1: r.get::<_, f64>(3)? as f32,
            x2: r.get::<_, f64>(4)? as f32,
            y2: r.get::<_, f64>(5)? as f32,
        },
        crop_file: r.get(6)?,
    })
}

/// The detections every key has, in order, and one block per key of
/// `rows_per_detection` rows of `dims[k]` values each (the maps hold each
/// detection's rows back to back).
fn join_blocks(
    mut per_key: Vec<HashMap<i64, Vec<f32>>>,
    dims: &[usize],
    rows_per_detection: usize,
) -> (Vec<i64>, Vec<Array2<f32>>) {
    let mut ids: Vec<i64> = match per_key.first() {
        Some(first) => first
            .keys()
            .copied()
            .filter(|id| per_key.iter().all(|m| m.contains_key(id)))
            .collect(),
        None => Vec::new(),
    };
    ids.sort_unstable();
    let rows = ids.len() * rows_per_detection;
    let blocks = per_key
        .iter_mut()
        .zip(dims)
        .map(|(map, &dim)| {
            let mut data = Vec::with_capacity(rows * dim);
            for id in &ids {
                data.extend(map.remove(id).expect("filtered to ids every key has"));
            }
            Array2::from_shape_vec((rows, dim), data).expect("rows of one dimension")
        })
        .collect();
    (ids, blocks)
}
