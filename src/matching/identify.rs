//! Identification against a gallery: the searchable embeddings of a
//! catalogue (or of an evaluation split) behind a [`SearchIndex`], with what
//! each embedding shows, and the pack's ArcFace heads when it has them.
//!
//! The index holds the gallery's embeddings; which of them count for a query
//! (a species/date/region scope, leave-one-out in calibration) is a filter at
//! query time, so one index serves every scope.

use std::collections::HashMap;

use serde::Serialize;

use super::top5::five_with_new;
use super::{rank_individuals, NewIndividualPolicy, Prediction};
use std::path::PathBuf;

use crate::catalogue::{keys, Catalogue, GalleryItem, Scope};
use crate::error::{Error, Result};
use crate::eval::{calibrate_for_share, Calibration, CalibrationQuery};
use crate::index::{usual_dim, IndexConfig, IndexError, LoadStatus, Precision, SearchIndex};
use crate::packs::{Head, Pack};

/// How neighbours become the five suggestions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MatchSettings {
    /// Catalogue photos retrieved per query before grouping by individual.
    pub neighbours: usize,
    /// Below this score `new_individual` goes first.
    pub threshold: f32,
    pub policy: NewIndividualPolicy,
    /// Weight of the ArcFace class-centre score (0: pure kNN).
    pub head_weight: f32,
}

impl MatchSettings {
    pub fn new(threshold: f32) -> Self {
        Self {
            neighbours: 100,
            threshold,
            policy: NewIndividualPolicy::Threshold,
            head_weight: 0.0,
        }
    }
}

/// The gallery's embeddings, indexed, with what each shows.
#[derive(Debug)]
pub struct Gallery {
    index: SearchIndex,
    /// By embedding id; `vector` emptied (the index holds the vectors).
    items: HashMap<i64, GalleryItem>,
    /// The items that could not be indexed, and why.
    skipped: Vec<IndexError>,
}

impl Gallery {
    /// Index `items`, at the dimension most of them have (`config.dim` on a
    /// tie). An item that cannot be indexed (another dimension, a value
    /// that is not a number) is left out and kept in [`Gallery::skipped`]:
    /// one bad vector never costs the whole gallery.
    pub fn new(items: Vec<GalleryItem>, mut config: IndexConfig) -> Result<Self> {
        if let Some(dim) = usual_dim(items.iter().map(|i| i.vector.len()), config.dim) {
            config.dim = dim;
        }
        // An empty gallery (a new catalogue) still needs a valid index.
        config.dim = config.dim.max(1);
        let index = SearchIndex::new(config);
        let skipped = index.add_all(items.iter().map(|i| (i.embedding_id, &i.vector[..])));
        let mut by_id = HashMap::with_capacity(items.len());
        for mut item in items {
            if index.contains(item.embedding_id) {
                item.vector = Vec::new();
                by_id.insert(item.embedding_id, item);
            }
        }
        for e in &skipped {
            tracing::warn!("left out of the gallery: {e}");
        }
        Ok(Self {
            index,
            items: by_id,
            skipped,
        })
    }

    /// The items [`Gallery::new`] could not index, and why.
    pub fn skipped(&self) -> &[IndexError] {
        &self.skipped
    }

    /// The catalogue's gallery for its pack, with the saved HNSW snapshot
    /// when it still matches (else the caller may rebuild it: see
    /// [`Gallery::save_index`]).
    /// The catalogue's `index.precision` setting overrides `config.precision`.
    pub fn from_catalogue(cat: &Catalogue, mut config: IndexConfig) -> Result<(Self, LoadStatus)> {
        let pack = catalogue_pack(cat)?;
        config.precision = match cat.setting(keys::INDEX_PRECISION)?.as_deref() {
            None => config.precision,
            Some("f32") => Precision::F32,
            Some("f16") => Precision::F16,
            Some(other) => {
                return Err(Error::Catalogue {
                    path: cat.root().to_path_buf(),
                    reason: format!(
                        "setting {} = {other:?}: expected f32 or f16",
                        keys::INDEX_PRECISION
                    ),
                })
            }
        };
        let gallery = Self::new(cat.gallery((&pack.0, &pack.1))?, config)?;
        let status = gallery.index.load_snapshot(&index_path(cat, &pack));
        Ok((gallery, status))
    }

    /// Build the HNSW snapshot now and save it beside the catalogue database.
    pub fn save_index(&self, cat: &Catalogue) -> Result<PathBuf> {
        let pack = catalogue_pack(cat)?;
        let path = index_path(cat, &pack);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        self.index.rebuild_in_background();
        if let Some(result) = self.index.wait_for_rebuild() {
            result?;
        }
        self.index.save_snapshot(&path)?;
        Ok(path)
    }

    pub fn index(&self) -> &SearchIndex {
        &self.index
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn item(&self, embedding_id: i64) -> Option<&GalleryItem> {
        self.items.get(&embedding_id)
    }

    /// Every indexed item, in no particular order.
    pub fn items(&self) -> impl Iterator<Item = &GalleryItem> {
        self.items.values()
    }

    /// `(individual, score)` of the nearest gallery embeddings that `admit`
    /// accepts, best first.
    pub fn neighbours(
        &self,
        query: &[f32],
        k: usize,
        admit: &(dyn Fn(&GalleryItem) -> bool + Sync),
    ) -> Result<Vec<(i64, f32)>> {
        let filter = |id: i64| self.items.get(&id).is_some_and(admit);
        let hits = self.index.search(query, k, Some(&filter))?;
        Ok(hits
            .into_iter()
            .map(|h| (self.items[&h.id].individual_id, h.score))
            .collect())
    }
}

/// `(name, version)` of the pack a catalogue is bound to.
pub fn catalogue_pack(cat: &Catalogue) -> Result<(String, String)> {
    match (
        cat.setting(keys::PACK_NAME)?,
        cat.setting(keys::PACK_VERSION)?,
    ) {
        (Some(n), Some(v)) => Ok((n, v)),
        _ => Err(Error::Catalogue {
            path: cat.root().to_path_buf(),
            reason: "no pack yet: import photos first".into(),
        }),
    }
}

/// Where a catalogue's HNSW snapshot for a pack lives.
pub fn index_path(cat: &Catalogue, pack: &(String, String)) -> PathBuf {
    cat.root()
        .join("index")
        .join(format!("{}-{}.hnsw", pack.0, pack.1))
}

/// The pack's ArcFace heads, mapped to catalogue individuals: the cosine of
/// a query to each individual's class centre, averaged over backbones.
#[derive(Debug)]
pub struct HeadScorer {
    /// `(offset of the backbone's slice in the ensemble vector, its length, head)`.
    heads: Vec<(usize, usize, Head)>,
    /// Class name (individual code) → catalogue individual.
    individuals: HashMap<String, i64>,
}

impl HeadScorer {
    /// `None` when no backbone of the pack has a head.
    pub fn new(pack: &Pack, individuals: HashMap<String, i64>) -> Option<Self> {
        let mut heads = Vec::new();
        let mut offset = 0;
        for b in &pack.backbones {
            let dim = b.neck.embedding_dim();
            if let Some(h) = &b.head {
                heads.push((offset, dim, h.clone()));
            }
            offset += dim;
        }
        (!heads.is_empty()).then_some(Self { heads, individuals })
    }

    /// Head scores of the individuals the heads know. Each backbone's slice of
    /// the ensemble vector is re-normalised, which recovers that backbone's
    /// unit embedding exactly (the ensemble is a scaled concatenation).
    pub fn scores(&self, vector: &[f32]) -> HashMap<i64, f32> {
        let mut sums: HashMap<i64, (f32, u32)> = HashMap::new();
        for (offset, dim, head) in &self.heads {
            let mut part = vector[*offset..offset + dim].to_vec();
            crate::embed::l2_normalise(&mut part);
            for (class, cos) in head.classes.iter().zip(head.cosines(&part)) {
                if let Some(&id) = self.individuals.get(class) {
                    let e = sums.entry(id).or_insert((0.0, 0));
                    e.0 += cos;
                    e.1 += 1;
                }
            }
        }
        sums.into_iter()
            .map(|(id, (s, n))| (id, s / n as f32))
            .collect()
    }
}

/// The five suggestions for one query embedding (the Kaggle-style list:
/// `new_individual` takes one of the five places when it ranks among them).
pub fn identify(
    gallery: &Gallery,
    query: &[f32],
    scope: &Scope,
    settings: &MatchSettings,
    head: Option<&HeadScorer>,
) -> Result<Vec<Prediction<i64>>> {
    let mut five = suggest(gallery, query, scope, settings, head)?;
    five.truncate(super::top5::TOP_K);
    Ok(five)
}

/// What the review stores for a detection: the five best catalogue
/// candidates with `new_individual` placed among them (up to six entries,
/// see [`five_with_new`]). Its first five are [`identify`]'s list.
pub fn suggest(
    gallery: &Gallery,
    query: &[f32],
    scope: &Scope,
    settings: &MatchSettings,
    head: Option<&HeadScorer>,
) -> Result<Vec<Prediction<i64>>> {
    let admit = |item: &GalleryItem| scope.admits(item);
    suggest_admitting(
        gallery,
        query,
        &admit,
        scope.is_everything(),
        settings,
        head,
    )
}

/// [`suggest`] over the gallery items `admit` accepts (`everything`: it
/// accepts them all), as a scope of grades adds its own test to the
/// catalogue scope's ([`super::scope`]).
pub(crate) fn suggest_admitting(
    gallery: &Gallery,
    query: &[f32],
    admit: &(dyn Fn(&GalleryItem) -> bool + Sync),
    everything: bool,
    settings: &MatchSettings,
    head: Option<&HeadScorer>,
) -> Result<Vec<Prediction<i64>>> {
    let neighbours = gallery.neighbours(query, settings.neighbours, admit)?;
    let head_scores = match head {
        Some(h) if settings.head_weight > 0.0 => {
            let mut s = h.scores(query);
            // A scope limits the head's candidates too.
            if !everything {
                let inside: std::collections::HashSet<i64> = gallery
                    .items
                    .values()
                    .filter(|i| admit(i))
                    .map(|i| i.individual_id)
                    .collect();
                s.retain(|id, _| inside.contains(id));
            }
            Some(s)
        }
        _ => None,
    };
    let ranked = rank_individuals(&neighbours, head_scores.as_ref(), settings.head_weight);
    Ok(five_with_new(&ranked, settings.threshold, settings.policy))
}

/// Calibrate the new-individual threshold on gallery items (leave one out,
/// see [`crate::eval::calibrate`]) over thresholds 0.00, 0.01 … 0.99. (1.00
/// is left out: it would only let bit-identical crops through, and whether
/// their cosine rounds to 1 or just below it is float noise.)
/// Species with fewer than `min_individuals` individuals use the overall
/// threshold. `None` when there is nothing to calibrate on (fewer than two
/// individuals).
pub fn calibrate_gallery(
    items: Vec<GalleryItem>,
    min_individuals: usize,
) -> Result<Option<Calibration>> {
    calibrate_gallery_for_share(items, min_individuals, None)
}

/// [`calibrate_gallery`] with the queries weighed to an expected share of
/// new individuals (see [`crate::eval::calibrate_for_share`]); `None`
/// counts every query once.
pub fn calibrate_gallery_for_share(
    items: Vec<GalleryItem>,
    min_individuals: usize,
    new_share: Option<f64>,
) -> Result<Option<Calibration>> {
    let gallery = Gallery::new(items.clone(), IndexConfig::new(0))?;
    // What the gallery could not index cannot be a query either.
    let items: Vec<GalleryItem> = items
        .into_iter()
        .filter(|i| gallery.item(i.embedding_id).is_some())
        .collect();
    let queries = calibration_queries(&gallery, &items, CALIBRATION_NEIGHBOURS)?;
    let grid: Vec<f32> = (0..100).map(|i| i as f32 / 100.0).collect();
    Ok(calibrate_for_share(
        &queries,
        &grid,
        min_individuals,
        NewIndividualPolicy::default(),
        new_share,
    ))
}

/// Neighbours each calibration query retrieves.
const CALIBRATION_NEIGHBOURS: usize = 100;

/// Leave-one-out calibration queries from the gallery itself (see
/// [`crate::eval::calibrate`]): for each item, a search without that photo
/// (truth: its individual, when it has other photos) and a search without any
/// photo of its individual (truth: new). Scores are kNN only: the head was
/// trained on these individuals, so it would leak the answer to the "new"
/// searches. `items` must carry their vectors.
pub fn calibration_queries(
    gallery: &Gallery,
    items: &[GalleryItem],
    neighbours: usize,
) -> Result<Vec<CalibrationQuery<i64, String>>> {
    let mut photos: HashMap<i64, usize> = HashMap::new();
    for item in items {
        *photos.entry(item.individual_id).or_default() += 1;
    }
    let mut out = Vec::with_capacity(items.len() * 2);
    for item in items {
        let species = item.species.clone().unwrap_or_else(|| "unknown".into());
        let individual = item.individual_id;
        if photos[&individual] > 1 {
            let nb = gallery.neighbours(&item.vector, neighbours, &|g| {
                g.embedding_id != item.embedding_id
            })?;
            out.push((
                rank_individuals(&nb, None, 0.0),
                Some(individual),
                species.clone(),
            ));
        }
        let nb =
            gallery.neighbours(&item.vector, neighbours, &|g| g.individual_id != individual)?;
        out.push((rank_individuals(&nb, None, 0.0), None, species));
    }
    Ok(out)
}
