//! How the review shows stored suggestions, read in batches.
//!
//! A queue of 500 detections names a few hundred individuals, most of them
//! many times. Reading each suggestion on its own (resolving merges with a
//! recursive query over every individual, then that individual's sightings)
//! cost 1.6–2 s per queue of 500 on a 1,000-detection survey (release build,
//! `benches/review.rs`; about 50 ms now, with the queue's encounter count
//! grouped once). [`Shown`]
//! reads once per call what every item shares: where each individual now
//! resolves to, the detections' query embeddings and stored suggestions (one
//! query each for all of them), and the sightings of every individual the
//! suggestions name (one query), each individual read once. A single
//! detection's suggestions go through the same code with a batch of one.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use rusqlite::params;

use super::{dot, ReviewSuggestion, Sighting, STRIP_LEN};
use crate::catalogue::individuals::Individual;
use crate::catalogue::records::blob_to_vector;
use crate::catalogue::Catalogue;
use crate::error::Result;
use crate::sync::accounts::account_column;

/// `(rank, individual or None for new_individual, score)` as stored.
type Stored = (u32, Option<i64>, Option<f32>);

/// What the suggestions of a batch of detections need, read once.
pub(super) struct Shown {
    /// Every individual whose merge chain ends → the one it counts as now.
    resolved: HashMap<i64, i64>,
    /// Each detection's stored suggestions, in rank order.
    stored: HashMap<i64, Vec<Stored>>,
    /// Each detection's embedding under the bound pack.
    queries: HashMap<i64, Vec<f32>>,
    /// The sightings of every individual the suggestions name (resolved).
    sightings: HashMap<i64, Vec<Sighting>>,
    /// Individuals read so far, by resolved id.
    individuals: HashMap<i64, Individual>,
}

/// `ids` as a JSON array, bound as one parameter and read with `json_each`.
fn json_ids(ids: impl IntoIterator<Item = i64>) -> String {
    let list: Vec<String> = ids.into_iter().map(|i| i.to_string()).collect();
    format!("[{}]", list.join(","))
}

impl Shown {
    /// Read what the suggestions of `detections` need.
    pub(super) fn read(cat: &Catalogue, detections: &[i64]) -> Result<Self> {
        let ids = json_ids(detections.iter().copied());
        let mut stored: HashMap<i64, Vec<Stored>> = HashMap::new();
        {
            let mut stmt = cat.conn().prepare_cached(
                "SELECT detection_id, rank, individual_id, score FROM suggestions
                 WHERE detection_id IN (SELECT value FROM json_each(?1))
                 ORDER BY detection_id, rank",
            )?;
            let mut rows = stmt.query([&ids])?;
            while let Some(r) = rows.next()? {
                stored
                    .entry(r.get(0)?)
                    .or_default()
                    .push((r.get(1)?, r.get(2)?, r.get(3)?));
            }
        }
        Self::with_stored(cat, detections, stored)
    }

    /// What the suggestions of `detections` need, their ranked lists given
    /// rather than read (a ranking nothing stores: the scope bar's).
    fn with_stored(
        cat: &Catalogue,
        detections: &[i64],
        stored: HashMap<i64, Vec<Stored>>,
    ) -> Result<Self> {
        let pack = cat.bound_pack()?;
        let ids = json_ids(detections.iter().copied());
        let mut queries = HashMap::new();
        if let Some((name, version)) = &pack {
            let mut stmt = cat.conn().prepare_cached(
                "SELECT detection_id, vector FROM embeddings
                 WHERE detection_id IN (SELECT value FROM json_each(?1))
                   AND pack_name = ?2 AND pack_version = ?3",
            )?;
            let mut rows = stmt.query(params![ids, name, version])?;
            while let Some(r) = rows.next()? {
                queries.insert(r.get(0)?, blob_to_vector(&r.get::<_, Vec<u8>>(1)?));
            }
        }
        let mut shown = Shown {
            resolved: cat.resolved_individuals()?,
            stored,
            queries,
            sightings: HashMap::new(),
            individuals: HashMap::new(),
        };
        let mut named = HashSet::new();
        for id in shown.stored.values().flatten().filter_map(|s| s.1) {
            named.insert(shown.resolve(cat, id)?);
        }
        shown.sightings = cat.sightings_of(&named, &shown.resolved, pack.as_ref())?;
        Ok(shown)
    }

    fn resolve(&self, cat: &Catalogue, id: i64) -> Result<i64> {
        match self.resolved.get(&id) {
            Some(&r) => Ok(r),
            // Not in the map: a chain that does not end (or an unknown id);
            // `resolve` says which.
            None => cat.resolve(id),
        }
    }

    fn individual(&mut self, cat: &Catalogue, id: i64) -> Result<Individual> {
        if let Some(i) = self.individuals.get(&id) {
            return Ok(i.clone());
        }
        let i = cat.individual_by_id(id)?;
        self.individuals.insert(id, i.clone());
        Ok(i)
    }

    /// The suggestions of `detection_id` (one of those read), resolved
    /// through merges (an individual merged into another ranked above it is
    /// shown once, ranks renumbered 1.. in order), each with the crop most
    /// similar to the detection and a strip of the individual's other crops.
    pub(super) fn suggestions(
        &mut self,
        cat: &Catalogue,
        detection_id: i64,
    ) -> Result<Vec<ReviewSuggestion>> {
        let stored = self.stored.remove(&detection_id).unwrap_or_default();
        let query = self.queries.remove(&detection_id);
        let mut out: Vec<ReviewSuggestion> = Vec::new();
        for (rank, individual, score) in stored {
            let Some(id) = individual else {
                out.push(ReviewSuggestion {
                    rank,
                    individual: None,
                    score,
                    best_crop: None,
                    strip: Vec::new(),
                });
                continue;
            };
            let resolved = self.resolve(cat, id)?;
            if out
                .iter()
                .any(|s| s.individual.as_ref().is_some_and(|i| i.id == resolved))
            {
                continue;
            }
            let sightings = self.sightings.get(&resolved).map_or(&[][..], Vec::as_slice);
            let (best_crop, strip) = crops(sightings, query.as_deref(), detection_id);
            out.push(ReviewSuggestion {
                rank,
                individual: Some(self.individual(cat, resolved)?),
                score,
                best_crop,
                strip,
            });
        }
        // Ranks stay 1.. in order after merged duplicates were dropped.
        for (i, s) in out.iter_mut().enumerate() {
            s.rank = i as u32 + 1;
        }
        Ok(out)
    }
}

/// The crop of `sightings` most similar to `query` (else the first with a
/// crop), and up to [`STRIP_LEN`] of the other crops, newest first. The
/// detection shown (`shown`) is never among them: a detection already
/// decided (in the second reviewer's blind queue) would otherwise show
/// itself beside the individual it was put with.
fn crops(
    sightings: &[Sighting],
    query: Option<&[f32]>,
    shown: i64,
) -> (Option<PathBuf>, Vec<PathBuf>) {
    let sightings: Vec<&Sighting> = sightings
        .iter()
        .filter(|s| s.detection_id != shown)
        .collect();
    let best = match query {
        Some(q) => sightings
            .iter()
            .filter(|s| s.crop.is_some())
            .filter_map(|s| Some((dot(q, s.vector.as_ref()?), s)))
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, s)| s),
        None => None,
    }
    .or_else(|| sightings.iter().find(|s| s.crop.is_some()));
    let best_crop = best.and_then(|s| s.crop.clone());
    let mut strip: Vec<&Sighting> = sightings
        .iter()
        .copied()
        .filter(|s| s.crop.is_some() && s.crop != best_crop)
        .collect();
    strip.sort_by(|a, b| {
        b.taken_at
            .cmp(&a.taken_at)
            .then(b.detection_id.cmp(&a.detection_id))
    });
    let strip = strip
        .into_iter()
        .take(STRIP_LEN)
        .filter_map(|s| s.crop.clone())
        .collect();
    (best_crop, strip)
}

impl Catalogue {
    /// `ranked` (`(individual or None for new_individual, score)` in rank
    /// order, as `crate::matching::rerank::suggestion_rows` gives them)
    /// shown as detection `detection_id`'s stored suggestions are: resolved
    /// through merges, with crops. Nothing is stored.
    pub fn review_suggestions_ranked(
        &self,
        detection_id: i64,
        ranked: &[(Option<i64>, Option<f32>)],
    ) -> Result<Vec<ReviewSuggestion>> {
        let stored = ranked
            .iter()
            .enumerate()
            .map(|(i, &(individual, score))| (i as u32 + 1, individual, score))
            .collect();
        let stored = HashMap::from([(detection_id, stored)]);
        Shown::with_stored(self, &[detection_id], stored)?.suggestions(self, detection_id)
    }

    /// Every individual whose merge chain ends, mapped to its end: what
    /// `RESOLVED_CTE` computes, read in one pass.
    pub(super) fn resolved_individuals(&self) -> Result<HashMap<i64, i64>> {
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT id, merged_into FROM individuals")?;
        let next: HashMap<i64, Option<i64>> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut resolved = HashMap::with_capacity(next.len());
        for &start in next.keys() {
            let mut current = start;
            // A chain longer than there are individuals goes round a cycle.
            for _ in 0..=next.len() {
                match next.get(&current) {
                    Some(Some(n)) => current = *n,
                    Some(None) => {
                        resolved.insert(start, current);
                        break;
                    }
                    None => break,
                }
            }
        }
        Ok(resolved)
    }

    /// The sightings of each of `targets` (resolved individuals): the
    /// detections whose current confirmed decision names an individual that
    /// resolves to it, oldest first, with the embedding of `pack` when given.
    pub(super) fn sightings_of(
        &self,
        targets: &HashSet<i64>,
        resolved: &HashMap<i64, i64>,
        pack: Option<&(String, String)>,
    ) -> Result<HashMap<i64, Vec<Sighting>>> {
        let mut out: HashMap<i64, Vec<Sighting>> = HashMap::new();
        if targets.is_empty() {
            return Ok(out);
        }
        let members = json_ids(
            resolved
                .iter()
                .filter(|(_, r)| targets.contains(r))
                .map(|(&start, _)| start),
        );
        let (name, version) = pack.map_or((None, None), |(n, v)| (Some(n), Some(v)));
        let mut stmt = self.conn().prepare_cached(&format!(
            "SELECT idn.individual_id, d.id, p.id, d.crop_file, p.original_path, p.taken_at,
                    p.latitude, p.longitude, p.encounter_id, idn.source, idn.decided_by,
                    idn.score, idn.created_at, emb.vector, {}
             FROM identifications idn
             JOIN detections d ON d.id = idn.detection_id
             JOIN photos p ON p.id = d.photo_id
             LEFT JOIN embeddings emb ON emb.detection_id = d.id
                  AND emb.pack_name = ?2 AND emb.pack_version = ?3
             WHERE idn.individual_id IN (SELECT value FROM json_each(?1))
               AND idn.superseded_by IS NULL AND idn.withdrawn_at IS NULL
               AND idn.verdict = 'confirmed' AND d.removed_at IS NULL",
            account_column(self.conn(), "decided", "idn.uuid")?
        ))?;
        let media = self.media_dir();
        let rows = stmt.query_map(params![members, name, version], |r| {
            let start: i64 = r.get(0)?;
            Ok(Sighting {
                individual_id: resolved[&start],
                detection_id: r.get(1)?,
                photo_id: r.get(2)?,
                crop: r.get::<_, Option<String>>(3)?.map(|c| media.join(c)),
                photo_path: PathBuf::from(r.get::<_, String>(4)?),
                taken_at: r.get(5)?,
                latitude: r.get(6)?,
                longitude: r.get(7)?,
                encounter_id: r.get(8)?,
                source: r.get(9)?,
                decided_by: r.get(10)?,
                decided_by_account: r.get(14)?,
                score: r.get(11)?,
                decided_at: r.get(12)?,
                vector: r.get::<_, Option<Vec<u8>>>(13)?.map(|b| blob_to_vector(&b)),
            })
        })?;
        for s in rows {
            let s = s?;
            out.entry(s.individual_id).or_default().push(s);
        }
        // Oldest first (undated first), as `ORDER BY p.taken_at, d.id` would
        // give; sorting here spares SQLite a sort of every row's vector.
        for list in out.values_mut() {
            list.sort_by(|a, b| {
                a.taken_at
                    .cmp(&b.taken_at)
                    .then(a.detection_id.cmp(&b.detection_id))
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::catalogue::keys;
    use crate::catalogue::records::{NewPhoto, Source, Tx};
    use crate::detect::BBox;
    use crate::photo::Meta;

    /// A detection in a photo of its own, taken on `day` of June 2024.
    fn detection(tx: &Tx<'_>, n: usize, day: Option<u32>, crop: bool) -> i64 {
        let meta = Meta {
            taken_at: day.map(|d| format!("2024-06-{d:02}T10:00:00")),
            ..Meta::default()
        };
        let photo = tx
            .insert_photo(&NewPhoto {
                sha256: &format!("{n:064x}"),
                original_path: &format!("/photos/{n}.jpg"),
                byte_size: 1,
                width: 100,
                height: 100,
                meta: &meta,
            })
            .unwrap();
        let bbox = BBox {
            x1: 0.0,
            y1: 0.0,
            x2: 10.0,
            y2: 10.0,
        };
        let crop = crop.then(|| format!("crops/{n}.jpg"));
        tx.insert_detection(photo, bbox, "whale", None, crop.as_deref())
            .unwrap()
    }

    fn unit(v: [f32; 4]) -> Vec<f32> {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / n).collect()
    }

    struct Fixture {
        cat: Catalogue,
        _dir: tempfile::TempDir,
        /// A, B (merged into A), C, D (no sightings), E (merged into B).
        ind: [i64; 5],
        /// A's sighting closest to `waiting[0]`.
        a_closest: i64,
        waiting: Vec<i64>,
    }

    /// Individual A has ten sightings (more than a strip), one without a
    /// crop and one without a date; B two and is merged into A, E one and
    /// is merged into B (a chain); C one with and one without a crop; D none.
    /// Three waiting detections with suggestions naming A and B both.
    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let mut cat = Catalogue::create(dir.path().join("cat")).unwrap();
        cat.set_setting(keys::PACK_NAME, "p").unwrap();
        cat.set_setting(keys::PACK_VERSION, "1").unwrap();
        let mut n = 0;
        let (ind, a_closest, waiting) = cat
            .with_tx(|tx| {
                let ind = ["A", "B", "C", "D", "E"]
                    .map(|c| tx.ensure_individual(c, Some("beluga")).unwrap());
                let mut sighting = |who: i64, day: Option<u32>, crop: bool, v: [f32; 4]| {
                    n += 1;
                    let d = detection(tx, n, day, crop);
                    tx.insert_embedding(d, "p", "1", &unit(v)).unwrap();
                    tx.decide(d, who, true, Source::Import, None, None).unwrap();
                    d
                };
                let mut a_closest = 0;
                for k in 0..10u32 {
                    let day = (k != 4).then_some(k + 1);
                    let d = sighting(ind[0], day, k != 7, [1.0, k as f32 * 0.1, 0.0, 0.0]);
                    if k == 6 {
                        a_closest = d;
                    }
                }
                sighting(ind[1], Some(20), true, [1.0, 0.0, 0.3, 0.0]);
                sighting(ind[1], Some(21), true, [1.0, 0.0, 0.0, 0.3]);
                sighting(ind[4], Some(22), true, [1.0, 0.2, 0.2, 0.2]);
                sighting(ind[2], Some(3), true, [0.0, 0.0, 1.0, 0.0]);
                sighting(ind[2], Some(4), false, [0.0, 0.0, 1.0, 0.1]);
                let mut waiting = Vec::new();
                for (k, ranked) in [
                    vec![
                        (Some(ind[0]), 0.9),
                        (None, 0.5),
                        (Some(ind[1]), 0.4),
                        (Some(ind[2]), 0.3),
                        (Some(ind[3]), 0.2),
                    ],
                    vec![
                        (Some(ind[4]), 0.8),
                        (Some(ind[2]), 0.7),
                        (Some(ind[0]), 0.6),
                        (None, 0.5),
                        (Some(ind[3]), 0.1),
                    ],
                    vec![
                        (None, 0.5),
                        (Some(ind[3]), 0.4),
                        (Some(ind[1]), 0.3),
                        (Some(ind[4]), 0.2),
                        (Some(ind[2]), 0.1),
                    ],
                ]
                .into_iter()
                .enumerate()
                {
                    n += 1;
                    let d = detection(tx, n, Some(28), true);
                    // The third has no embedding: its best crop is A's first.
                    if k < 2 {
                        tx.insert_embedding(d, "p", "1", &unit([1.0, 0.6, 0.0, 0.0]))
                            .unwrap();
                    }
                    let ranked: Vec<_> = ranked.into_iter().map(|(i, s)| (i, Some(s))).collect();
                    tx.set_suggestions(d, ("p", "1"), &ranked).unwrap();
                    waiting.push(d);
                }
                Ok((ind, a_closest, waiting))
            })
            .unwrap();
        cat.merge("E", "B", None).unwrap();
        cat.merge("B", "A", None).unwrap();
        Fixture {
            cat,
            _dir: dir,
            ind,
            a_closest,
            waiting,
        }
    }

    /// What the review shows of a suggestion.
    type Seen = (u32, Option<i64>, Option<f32>, Option<PathBuf>, Vec<PathBuf>);

    fn seen(s: &[ReviewSuggestion]) -> Vec<Seen> {
        s.iter()
            .map(|s| {
                let id = s.individual.as_ref().map(|i| i.id);
                (s.rank, id, s.score, s.best_crop.clone(), s.strip.clone())
            })
            .collect()
    }

    #[test]
    fn the_queue_shows_what_each_detection_shows_alone() {
        let f = fixture();
        let queue = f.cat.review_queue(None).unwrap();
        assert_eq!(
            queue.iter().map(|i| i.detection_id).collect::<HashSet<_>>(),
            f.waiting.iter().copied().collect()
        );
        for item in &queue {
            let alone = f.cat.review_suggestions(item.detection_id).unwrap();
            assert_eq!(
                seen(&item.suggestions),
                seen(&alone),
                "detection {}",
                item.detection_id
            );
        }
        // A queue of two reads the same for its two.
        for item in f.cat.review_queue(Some(2)).unwrap() {
            let full = queue
                .iter()
                .find(|i| i.detection_id == item.detection_id)
                .unwrap();
            assert_eq!(seen(&item.suggestions), seen(&full.suggestions));
        }
    }

    #[test]
    fn merged_individuals_show_once_with_their_best_crop_and_strip() {
        let f = fixture();
        let [a, _, c, d, _] = f.ind;
        let media = f.cat.media_dir();
        let crop_of = |det: i64| -> PathBuf {
            let file: String = f
                .cat
                .conn()
                .query_row(
                    "SELECT crop_file FROM detections WHERE id = ?1",
                    [det],
                    |r| r.get(0),
                )
                .unwrap();
            media.join(file)
        };
        let ids = |s: &[ReviewSuggestion]| {
            s.iter()
                .map(|s| s.individual.as_ref().map(|i| i.id))
                .collect::<Vec<_>>()
        };

        // B is A now: shown once, below it; ranks close up.
        let first = f.cat.review_suggestions(f.waiting[0]).unwrap();
        assert_eq!(ids(&first), [Some(a), None, Some(c), Some(d)]);
        assert_eq!(
            first.iter().map(|s| s.rank).collect::<Vec<_>>(),
            [1, 2, 3, 4]
        );
        assert_eq!(first[2].score, Some(0.3));
        let top = &first[0];
        assert_eq!(top.best_crop, Some(crop_of(f.a_closest)));
        // A's 13 sightings with those of B and E, 12 with a crop: of the 11
        // other than the best, the newest 8 (E's, B's, then A's by date).
        let a_all = f.cat.sightings(a, None).unwrap();
        assert_eq!(a_all.len(), 13);
        assert_eq!(top.strip.len(), STRIP_LEN);
        assert!(!top.strip.contains(top.best_crop.as_ref().unwrap()));
        let mut newest: Vec<&Sighting> = a_all
            .iter()
            .filter(|s| s.crop.is_some() && s.crop != top.best_crop)
            .collect();
        newest.sort_by(|x, y| y.taken_at.cmp(&x.taken_at));
        assert_eq!(newest[0].taken_at.as_deref(), Some("2024-06-22T10:00:00"));
        let want: Vec<PathBuf> = newest
            .iter()
            .take(STRIP_LEN)
            .map(|s| s.crop.clone().unwrap())
            .collect();
        assert_eq!(top.strip, want);
        // C's crop is the one it has; D, with no sightings, has none.
        assert_eq!(first[2].strip, Vec::<PathBuf>::new());
        assert!(first[2].best_crop.is_some());
        assert_eq!(
            (first[3].best_crop.clone(), first[3].strip.len()),
            (None, 0)
        );

        // E → B → A first: A at rank 1, its later mention dropped.
        let second = f.cat.review_suggestions(f.waiting[1]).unwrap();
        assert_eq!(ids(&second), [Some(a), Some(c), None, Some(d)]);
        assert_eq!(second[0].score, Some(0.8));
        assert_eq!(second[0].individual.as_ref().unwrap().code, "A");

        // Without an embedding, the best crop is A's first crop by date.
        let third = f.cat.review_suggestions(f.waiting[2]).unwrap();
        assert_eq!(ids(&third), [None, Some(d), Some(a), Some(c)]);
        assert_eq!(
            third[2].best_crop,
            a_all.iter().find_map(|s| s.crop.clone())
        );
        assert_eq!(
            third.iter().map(|s| s.rank).collect::<Vec<_>>(),
            [1, 2, 3, 4]
        );
    }

    #[test]
    fn sightings_resolve_through_merge_chains() {
        let f = fixture();
        let [a, b, _, d, e] = f.ind;
        let of = |id| {
            let s = f.cat.sightings(id, None).unwrap();
            assert!(s
                .iter()
                .all(|s| s.individual_id == a || s.individual_id == d));
            s.into_iter().map(|s| s.detection_id).collect::<Vec<_>>()
        };
        assert_eq!(of(a), of(e));
        assert_eq!(of(a), of(b));
        assert_eq!(of(d), Vec::<i64>::new());
        // Oldest first, the undated one first of all.
        let a_all = f.cat.sightings(a, None).unwrap();
        assert!(a_all[0].taken_at.is_none());
        assert!(a_all
            .windows(2)
            .skip(1)
            .all(|w| w[0].taken_at <= w[1].taken_at));
        // With the pack, each carries its vector.
        let pack = f.cat.bound_pack().unwrap();
        assert!(f
            .cat
            .sightings(b, pack.as_ref())
            .unwrap()
            .iter()
            .all(|s| s.vector.is_some()));
    }

    #[test]
    fn resolved_individuals_follow_chains_to_their_end() {
        let f = fixture();
        let [a, b, c, d, e] = f.ind;
        let map = f.cat.resolved_individuals().unwrap();
        assert_eq!(map.len(), 5);
        assert_eq!(
            (map[&a], map[&b], map[&c], map[&d], map[&e]),
            (a, a, c, d, a)
        );
    }
}
