//! Finding any catalogued individual from the review: the researcher often
//! knows (or suspects) which animal a detection shows when it is not among
//! the model's five suggestions, and types part of its code, name, species
//! or an alias.
//!
//! The search reads the catalogue in a fixed number of queries, whatever its
//! size: the individuals that are not merged away, the aliases and codes that
//! resolve to each of them (an individual merged into another is found by its
//! old code, as the one it joined), and one pass over every current sighting
//! with its embedding for the bound pack. For each matching individual it
//! keeps the best cosine between the detection's embedding and its
//! sightings' (unit vectors, so a dot product) and the crop it came from.
//! Sightings on boxes that were removed do not count.
//!
//! Order: an exact code first, then codes that start with the query, then
//! every other match; within each group the most similar to the detection
//! first, then by code. An empty query lists every individual that way, so
//! the researcher can browse beyond the five suggestions.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rusqlite::types::ValueRef;
use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::individuals::{individual_row, Individual, INDIVIDUAL_COLUMNS};
use super::records::blob_to_vector;
use super::sql::RESOLVED_CTE;
use super::Catalogue;
use crate::error::{Error, Result};
use crate::index::kernel::dot;

/// An individual found by [`Catalogue::search_individuals`].
#[derive(Debug, Clone, Serialize)]
pub struct IndividualMatch {
    pub individual: Individual,
    /// Current confirmed sightings on live boxes, through merges.
    pub sightings: usize,
    /// The crop most similar to the detection when one was given (and both
    /// have embeddings), else the newest.
    pub best_crop: Option<PathBuf>,
    /// The best cosine between the detection and the individual's sightings
    /// for the catalogue's pack; `None` without a detection, a bound pack or
    /// embeddings on either side.
    pub similarity: Option<f32>,
}

/// How a candidate matched the query; lower ranks first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Group {
    ExactCode,
    CodePrefix,
    Elsewhere,
}

/// What is known of one listed individual while the sightings are read.
struct Candidate {
    individual: Individual,
    group: Group,
    sightings: usize,
    /// `(taken_at, detection, crop)` of the newest sighting with a crop.
    newest: Option<(Option<String>, i64, String)>,
    best: Option<(f32, Option<String>)>,
}

/// The detection searched from and its embedding.
struct Probe {
    detection: Option<i64>,
    vector: Vec<f32>,
}

impl Candidate {
    /// Keep `crop` when its sighting is the newest yet: by date, then
    /// detection id (undated counts as oldest). Kept here rather than by
    /// ORDER BY, which would sort the blobs.
    fn see_crop(&mut self, taken_at: Option<String>, detection: i64, crop: &str) {
        let newer = self
            .newest
            .as_ref()
            .is_none_or(|(t, d, _)| (&taken_at, detection) > (t, *d));
        if newer {
            self.newest = Some((taken_at, detection, crop.to_owned()));
        }
    }

    /// Keep the sighting's cosine to the probe (and its crop) when it is the
    /// best yet; an embedding of another width is skipped.
    fn compare(&mut self, probe: &Probe, blob: &[u8], crop: Option<String>) {
        let vector = blob_to_vector(blob);
        if vector.len() != probe.vector.len() {
            return;
        }
        let s = dot(&probe.vector, &vector);
        let better = match &self.best {
            None => true,
            // A sighting with a crop to show wins a tie.
            Some((b, b_crop)) => s > *b || (s == *b && b_crop.is_none() && crop.is_some()),
        };
        if better {
            self.best = Some((s, crop));
        }
    }

    /// The match to show, with its group: the best crop is the most similar
    /// sighting's when that has one, else the newest.
    fn into_match(self, media: &Path) -> (Group, IndividualMatch) {
        let newest = self.newest.map(|(_, _, crop)| crop);
        let (similarity, best_crop) = match self.best {
            Some((s, Some(crop))) => (Some(s), Some(crop)),
            Some((s, None)) => (Some(s), newest),
            None => (None, newest),
        };
        let found = IndividualMatch {
            individual: self.individual,
            sightings: self.sightings,
            best_crop: best_crop.map(|f| media.join(f)),
            similarity,
        };
        (self.group, found)
    }
}

impl Catalogue {
    /// Individuals (never merged-away ones) whose code, name, species or an
    /// alias contains `query` (case-insensitive), at most `limit`, ranked as
    /// the module says. With `detection_id`, each carries its similarity to
    /// that detection; an unknown or removed detection is an error.
    pub fn search_individuals(
        &self,
        query: &str,
        detection_id: Option<i64>,
        limit: usize,
    ) -> Result<Vec<IndividualMatch>> {
        let q = query.trim().to_lowercase();
        let pack = self.bound_pack()?;
        let probe = match detection_id {
            Some(id) => self.detection_vector(id, pack.as_ref())?,
            None => None,
        };
        let mut candidates = self.candidates(&q)?;
        // Vectors are read only when there is a probe to compare them with.
        let (name, version) = match (&probe, &pack) {
            (Some(_), Some((n, v))) => (Some(n.as_str()), Some(v.as_str())),
            _ => (None, None),
        };
        let probe = probe.map(|vector| Probe {
            detection: detection_id,
            vector,
        });
        self.read_sightings(&mut candidates, probe.as_ref(), name, version)?;

        let media = self.media_dir();
        let mut out: Vec<(Group, IndividualMatch)> = candidates
            .into_values()
            .map(|c| c.into_match(&media))
            .collect();
        out.sort_by(|(ga, a), (gb, b)| {
            ga.cmp(gb)
                .then_with(|| by_similarity(a.similarity, b.similarity))
                .then_with(|| a.individual.code.cmp(&b.individual.code))
                .then_with(|| a.individual.id.cmp(&b.individual.id))
        });
        Ok(out.into_iter().take(limit).map(|(_, m)| m).collect())
    }

    /// Every individual not merged away that matches the lower-cased query
    /// `q`, by id, with no sightings read yet.
    fn candidates(&self, q: &str) -> Result<HashMap<i64, Candidate>> {
        let texts = self.resolved_texts()?;
        let mut candidates: HashMap<i64, Candidate> = HashMap::new();
        let mut stmt = self.conn().prepare(&format!(
            "SELECT {INDIVIDUAL_COLUMNS} FROM individuals WHERE merged_into IS NULL"
        ))?;
        for individual in stmt.query_map([], individual_row)? {
            let individual = individual?;
            let others = texts.get(&individual.id).map_or(&[][..], Vec::as_slice);
            if let Some(group) = matches(&individual, others, q) {
                candidates.insert(
                    individual.id,
                    Candidate {
                        individual,
                        group,
                        sightings: 0,
                        newest: None,
                        best: None,
                    },
                );
            }
        }
        Ok(candidates)
    }

    /// One pass over every current sighting, each counted for the candidate
    /// it resolves to; embeddings of pack `name` `version` (none when
    /// `None`) are compared with the probe.
    fn read_sightings(
        &self,
        candidates: &mut HashMap<i64, Candidate>,
        probe: Option<&Probe>,
        name: Option<&str>,
        version: Option<&str>,
    ) -> Result<()> {
        let mut stmt = self.conn().prepare(&format!(
            "{RESOLVED_CTE}
             SELECT r.id, d.id, d.crop_file, emb.vector, p.taken_at
             FROM identifications idn
             JOIN resolved r ON r.start = idn.individual_id
             JOIN detections d ON d.id = idn.detection_id
             JOIN photos p ON p.id = d.photo_id
             LEFT JOIN embeddings emb ON emb.detection_id = d.id
                  AND emb.pack_name = ?1 AND emb.pack_version = ?2
             WHERE idn.superseded_by IS NULL AND idn.withdrawn_at IS NULL
               AND idn.verdict = 'confirmed' AND d.removed_at IS NULL"
        ))?;
        let mut rows = stmt.query(params![name, version])?;
        while let Some(row) = rows.next()? {
            let Some(c) = candidates.get_mut(&row.get::<_, i64>(0)?) else {
                continue;
            };
            c.sightings += 1;
            let detection: i64 = row.get(1)?;
            let crop: Option<String> = row.get(2)?;
            if let Some(crop) = &crop {
                c.see_crop(row.get(4)?, detection, crop);
            }
            // The detection itself (when already assigned) is no evidence
            // of its own similarity.
            let Some(probe) = probe.filter(|p| p.detection != Some(detection)) else {
                continue;
            };
            if let ValueRef::Blob(blob) = row.get_ref(3)? {
                c.compare(probe, blob, crop);
            }
        }
        Ok(())
    }

    /// The detection's embedding for `pack` (`None` when it has none or no
    /// pack is bound); an error naming it when it does not exist or its box
    /// was removed.
    pub(crate) fn detection_vector(
        &self,
        detection_id: i64,
        pack: Option<&(String, String)>,
    ) -> Result<Option<Vec<f32>>> {
        let (name, version) = pack.map_or((None, None), |(n, v)| (Some(n), Some(v)));
        let row: Option<(bool, Option<Vec<u8>>)> = self
            .conn()
            .query_row(
                "SELECT d.removed_at IS NOT NULL, emb.vector FROM detections d
                 LEFT JOIN embeddings emb ON emb.detection_id = d.id
                      AND emb.pack_name = ?2 AND emb.pack_version = ?3
                 WHERE d.id = ?1",
                params![detection_id, name, version],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        match row {
            None => Err(Error::NotFound(format!(
                "no detection {detection_id} in the catalogue"
            ))),
            Some((true, _)) => Err(Error::Invalid(format!(
                "detection {detection_id} was removed (its box is no longer on the photo)"
            ))),
            Some((false, blob)) => Ok(blob.map(|b| blob_to_vector(&b))),
        }
    }

    /// Lower-cased aliases, and codes and names of individuals merged into
    /// it, for every individual they resolve to.
    fn resolved_texts(&self) -> Result<HashMap<i64, Vec<String>>> {
        let mut texts: HashMap<i64, Vec<String>> = HashMap::new();
        let mut stmt = self.conn().prepare(&format!(
            "{RESOLVED_CTE}
             SELECT r.id, a.alias FROM individual_aliases a JOIN resolved r ON r.start = a.individual_id
             UNION ALL
             SELECT r.id, i.code FROM individuals i JOIN resolved r ON r.start = i.id WHERE r.id != i.id
             UNION ALL
             SELECT r.id, i.name FROM individuals i JOIN resolved r ON r.start = i.id
             WHERE r.id != i.id AND i.name IS NOT NULL"
        ))?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))? {
            let (id, text) = row?;
            texts.entry(id).or_default().push(text.to_lowercase());
        }
        Ok(texts)
    }
}

/// How `individual` matches the lower-cased query `q`, if it does. `others`
/// are its lower-cased aliases and merged-away codes and names.
fn matches(individual: &Individual, others: &[String], q: &str) -> Option<Group> {
    let code = individual.code.to_lowercase();
    if q.is_empty() {
        return Some(Group::Elsewhere);
    }
    if code == q {
        return Some(Group::ExactCode);
    }
    if code.starts_with(q) {
        return Some(Group::CodePrefix);
    }
    let name = individual.name.as_deref().map(str::to_lowercase);
    // Species are stored as `humpback_whale`; "humpback whale" finds it too.
    let species = individual.species.as_deref().map(str::to_lowercase);
    let spoken = species.as_deref().map(|s| s.replace('_', " "));
    let found = code.contains(q)
        || [name, species, spoken]
            .iter()
            .flatten()
            .chain(others)
            .any(|t| t.contains(q));
    found.then_some(Group::Elsewhere)
}

/// Higher similarity first; individuals without one after those with one.
fn by_similarity(a: Option<f32>, b: Option<f32>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => b.total_cmp(&a),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::keys;
    use crate::catalogue::records::{NewPhoto, Source};
    use crate::detect::BBox;
    use crate::photo::meta::Meta;

    const PACK: (&str, &str) = ("test-pack", "1");

    /// A catalogue bound to [`PACK`], in a temporary folder.
    fn catalogue() -> (tempfile::TempDir, Catalogue) {
        let dir = tempfile::tempdir().unwrap();
        let mut cat = Catalogue::create(dir.path().join("cat")).unwrap();
        cat.set_setting(keys::PACK_NAME, PACK.0).unwrap();
        cat.set_setting(keys::PACK_VERSION, PACK.1).unwrap();
        (dir, cat)
    }

    fn unit(v: &[f32]) -> Vec<f32> {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / n).collect()
    }

    /// A photo with one detection (crop `crop`, embedding `vector` when
    /// given), confirmed as `individual` when given. Returns the detection.
    fn sighting(
        cat: &mut Catalogue,
        taken_at: &str,
        vector: Option<&[f32]>,
        individual: Option<i64>,
    ) -> i64 {
        cat.with_tx(|tx| {
            let n: i64 = tx
                .conn()
                .query_row("SELECT count(*) FROM photos", [], |r| r.get(0))?;
            let meta = Meta {
                taken_at: Some(taken_at.to_string()),
                ..Meta::default()
            };
            let sha = format!("{n:064}");
            let photo = tx.insert_photo(&NewPhoto {
                sha256: &sha,
                original_path: &format!("/survey/p{n}.jpg"),
                byte_size: 1,
                width: 100,
                height: 100,
                meta: &meta,
            })?;
            let bbox = BBox {
                x1: 0.0,
                y1: 0.0,
                x2: 100.0,
                y2: 100.0,
            };
            let crop = format!("crops/c{n}.jpg");
            let d = tx.insert_detection(photo, bbox, "whole", None, Some(&crop))?;
            if let Some(v) = vector {
                tx.insert_embedding(d, PACK.0, PACK.1, v)?;
            }
            if let Some(i) = individual {
                tx.decide(d, i, true, Source::Import, None, None)?;
            }
            Ok(d)
        })
        .unwrap()
    }

    fn individual(cat: &mut Catalogue, code: &str, name: Option<&str>, species: &str) -> i64 {
        let id = cat.ensure_individual(code, Some(species)).unwrap();
        if let Some(name) = name {
            cat.conn()
                .execute(
                    "UPDATE individuals SET name = ?2 WHERE id = ?1",
                    params![id, name],
                )
                .unwrap();
        }
        id
    }

    fn codes(found: &[IndividualMatch]) -> Vec<&str> {
        found.iter().map(|m| m.individual.code.as_str()).collect()
    }

    fn crop_name(m: &IndividualMatch) -> String {
        let crop = m.best_crop.as_ref().expect("a crop");
        crop.file_name().unwrap().to_string_lossy().into_owned()
    }

    #[test]
    fn code_prefix_ranks_before_substring_and_exact_code_first() {
        let (_dir, mut cat) = catalogue();
        for code in ["XBEL1", "BEL10", "BEL1", "BEL2", "HW-BEL"] {
            let id = individual(&mut cat, code, None, "beluga");
            sighting(&mut cat, "2024-01-01T00:00:00", None, Some(id));
        }
        let found = cat.search_individuals("bel1", None, 10).unwrap();
        // Exact "BEL1", then the other code starting with it, then the
        // code that only contains it.
        assert_eq!(codes(&found), ["BEL1", "BEL10", "XBEL1"]);
        let found = cat.search_individuals(" bel", None, 10).unwrap();
        assert_eq!(codes(&found), ["BEL1", "BEL10", "BEL2", "HW-BEL", "XBEL1"]);
        // An exact code stays findable with a limit that the prefix
        // matches would otherwise fill.
        let found = cat.search_individuals("BEL1", None, 1).unwrap();
        assert_eq!(codes(&found), ["BEL1"]);
        assert!(cat
            .search_individuals("nothing", None, 10)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn names_species_and_aliases_are_matched_case_insensitively() {
        let (_dir, mut cat) = catalogue();
        let a = individual(&mut cat, "HW-001", Some("Salt"), "humpback_whale");
        individual(&mut cat, "BEL-007", None, "beluga");
        let c = individual(&mut cat, "HW-002", None, "humpback_whale");
        sighting(&mut cat, "2024-01-01T00:00:00", None, Some(a));
        // Renamed: the old code stays an alias.
        cat.rename("HW-002", "HW-NEW", None).unwrap();
        assert_eq!(
            codes(&cat.search_individuals("sALT", None, 10).unwrap()),
            ["HW-001"]
        );
        // Species, stored with underscores, as typed with or without them.
        for q in ["Humpback Whale", "humpback_wh", "BACK"] {
            let found = cat.search_individuals(q, None, 10).unwrap();
            assert_eq!(codes(&found), ["HW-001", "HW-NEW"], "{q}");
        }
        assert_eq!(
            codes(&cat.search_individuals("belu", None, 10).unwrap()),
            ["BEL-007"]
        );
        // The old code finds the renamed individual by its alias.
        let found = cat.search_individuals("hw-002", None, 10).unwrap();
        assert_eq!(codes(&found), ["HW-NEW"]);
        assert_eq!(found[0].individual.id, c);
        // With no sightings an individual is still listed, with none counted.
        assert_eq!(found[0].sightings, 0);
        assert_eq!(found[0].best_crop, None);
    }

    #[test]
    fn merged_individuals_are_found_as_what_they_resolve_to() {
        let (_dir, mut cat) = catalogue();
        let keep = individual(&mut cat, "BEL-003", Some("Ghost"), "beluga");
        let gone = individual(&mut cat, "BEL-099", Some("Throwaway"), "beluga");
        sighting(&mut cat, "2024-01-01T00:00:00", None, Some(keep));
        sighting(&mut cat, "2024-02-01T00:00:00", None, Some(gone));
        sighting(&mut cat, "2024-03-01T00:00:00", None, Some(gone));
        cat.merge("BEL-099", "BEL-003", None).unwrap();
        let all = cat.search_individuals("", None, 10).unwrap();
        assert_eq!(codes(&all), ["BEL-003"]);
        // Its sightings count for the one it joined, whose newest crop is
        // the merged one's.
        assert_eq!(all[0].sightings, 3);
        assert_eq!(crop_name(&all[0]), "c2.jpg");
        // The old code and name find the individual it joined.
        for q in ["bel-099", "throwaway", "BEL"] {
            assert_eq!(
                codes(&cat.search_individuals(q, None, 10).unwrap()),
                ["BEL-003"],
                "{q}"
            );
        }
    }

    #[test]
    fn similarity_to_the_detection_orders_each_group() {
        let (_dir, mut cat) = catalogue();
        let near = individual(&mut cat, "Z-NEAR", None, "beluga");
        let far = individual(&mut cat, "A-FAR", None, "beluga");
        let mid = individual(&mut cat, "M-MID", None, "beluga");
        let none = individual(&mut cat, "B-NONE", None, "beluga");
        let probe = unit(&[1.0, 0.0, 0.0]);
        // NEAR: one close sighting (older) and one far (newer).
        sighting(
            &mut cat,
            "2024-01-01T00:00:00",
            Some(&unit(&[0.9, 0.1, 0.0])),
            Some(near),
        );
        sighting(
            &mut cat,
            "2024-06-01T00:00:00",
            Some(&unit(&[0.0, 0.0, 1.0])),
            Some(near),
        );
        sighting(
            &mut cat,
            "2024-01-01T00:00:00",
            Some(&unit(&[-1.0, 0.2, 0.0])),
            Some(far),
        );
        sighting(
            &mut cat,
            "2024-01-01T00:00:00",
            Some(&unit(&[0.5, 0.5, 0.0])),
            Some(mid),
        );
        sighting(&mut cat, "2024-01-01T00:00:00", None, Some(none));
        let query = sighting(&mut cat, "2024-07-01T00:00:00", Some(&probe), None);

        let found = cat.search_individuals("", Some(query), 10).unwrap();
        assert_eq!(codes(&found), ["Z-NEAR", "M-MID", "A-FAR", "B-NONE"]);
        let near_sim = found[0].similarity.unwrap();
        assert!(
            (near_sim - unit(&[0.9, 0.1, 0.0])[0]).abs() < 1e-5,
            "{near_sim}"
        );
        assert!(found[1].similarity.unwrap() > found[2].similarity.unwrap());
        assert_eq!(found[3].similarity, None);
        // The best crop is the most similar sighting's, not the newest.
        assert_eq!(crop_name(&found[0]), "c0.jpg");
        assert_eq!(found[0].sightings, 2);
        // Without a detection: no similarity, the newest crop, by code.
        let plain = cat.search_individuals("", None, 10).unwrap();
        assert_eq!(codes(&plain), ["A-FAR", "B-NONE", "M-MID", "Z-NEAR"]);
        assert!(plain.iter().all(|m| m.similarity.is_none()));
        assert_eq!(crop_name(&plain[3]), "c1.jpg");
        // The limit keeps the most similar.
        assert_eq!(
            codes(&cat.search_individuals("", Some(query), 2).unwrap()),
            ["Z-NEAR", "M-MID"]
        );

        // Once the detection is assigned, it is not its own best match.
        cat.review_accept(query, far, None, None, None).unwrap();
        let found = cat.search_individuals("a-far", Some(query), 10).unwrap();
        assert_eq!(found[0].sightings, 2);
        assert!(found[0].similarity.unwrap() < 0.0);

        // A removed box is no sighting: NEAR keeps only its far one.
        cat.conn()
            .execute(
                "UPDATE detections SET removed_at = '2024-08-01T00:00:00Z' WHERE id = 1",
                [],
            )
            .unwrap();
        let found = cat.search_individuals("z-near", Some(query), 10).unwrap();
        assert_eq!(found[0].sightings, 1);
        assert!(found[0].similarity.unwrap().abs() < 1e-5);
        assert_eq!(crop_name(&found[0]), "c1.jpg");
        let _ = mid;
    }

    #[test]
    fn an_unknown_or_removed_detection_is_a_clear_error() {
        let (_dir, mut cat) = catalogue();
        let id = individual(&mut cat, "BEL-1", None, "beluga");
        let d = sighting(&mut cat, "2024-01-01T00:00:00", None, Some(id));
        let err = cat.search_individuals("bel", Some(4242), 10).unwrap_err();
        assert!(matches!(err, Error::NotFound(_)), "{err:?}");
        assert_eq!(err.to_string(), "no detection 4242 in the catalogue");
        cat.conn()
            .execute(
                "UPDATE detections SET removed_at = 'now' WHERE id = ?1",
                [d],
            )
            .unwrap();
        let err = cat.search_individuals("bel", Some(d), 10).unwrap_err();
        assert!(
            err.to_string()
                .contains(&format!("detection {d} was removed")),
            "{err}"
        );
        // A detection with no embedding (or no bound pack) is no error.
        let other = sighting(&mut cat, "2024-01-02T00:00:00", None, None);
        let found = cat.search_individuals("bel", Some(other), 10).unwrap();
        assert_eq!(codes(&found), ["BEL-1"]);
        assert_eq!(found[0].similarity, None);
    }

    /// 1,000 individuals, 5,000 sightings of 512-d embeddings. Run in
    /// release with `--nocapture` to read the time.
    #[test]
    fn a_thousand_individuals_and_five_thousand_sightings_in_one_pass() {
        const DIM: usize = 512;
        let (_dir, mut cat) = catalogue();
        let mut rng = crate::rng::SplitMix64::new(7);
        let mut gauss = |n: usize| -> Vec<f32> { (0..n).map(|_| rng.normal() as f32).collect() };
        let centres: Vec<Vec<f32>> = (0..1000).map(|_| unit(&gauss(DIM))).collect();
        let mut noisy = |c: &[f32]| -> Vec<f32> {
            let e = gauss(DIM);
            unit(
                &c.iter()
                    .zip(&e)
                    .map(|(a, b)| a + 0.01 * b)
                    .collect::<Vec<_>>(),
            )
        };
        let sightings: Vec<Vec<f32>> = (0..5000).map(|k| noisy(&centres[k % 1000])).collect();
        let probe = noisy(&centres[123]);
        cat.with_tx(|tx| {
            let meta = Meta::default();
            let bbox = BBox {
                x1: 0.0,
                y1: 0.0,
                x2: 10.0,
                y2: 10.0,
            };
            let ids: Vec<i64> = (0..1000)
                .map(|i| tx.ensure_individual(&format!("IND-{i:04}"), Some("beluga")))
                .collect::<Result<_>>()?;
            for (k, v) in sightings.iter().chain([&probe]).enumerate() {
                let sha = format!("{k:064}");
                let photo = tx.insert_photo(&NewPhoto {
                    sha256: &sha,
                    original_path: "/p.jpg",
                    byte_size: 1,
                    width: 10,
                    height: 10,
                    meta: &meta,
                })?;
                let d =
                    tx.insert_detection(photo, bbox, "whole", None, Some(&format!("c{k}.jpg")))?;
                tx.insert_embedding(d, PACK.0, PACK.1, v)?;
                if k < 5000 {
                    tx.decide(d, ids[k % 1000], true, Source::Import, None, None)?;
                }
            }
            Ok(())
        })
        .unwrap();
        let query = 5001;
        let t = std::time::Instant::now();
        let all = cat.search_individuals("", Some(query), 20).unwrap();
        let browse = t.elapsed();
        let t = std::time::Instant::now();
        let typed = cat.search_individuals("ind-01", Some(query), 20).unwrap();
        let typing = t.elapsed();
        eprintln!("search over 1000 individuals / 5000 sightings: empty query {browse:?}, 'ind-01' {typing:?}");
        assert_eq!(all.len(), 20);
        assert_eq!(all[0].individual.code, "IND-0123");
        assert!(all[0].similarity.unwrap() > 0.9);
        assert_eq!(all[0].sightings, 5);
        assert!(all[1].similarity.unwrap() < 0.5);
        // "ind-01" is a prefix of IND-0100..IND-0199: IND-0123 first.
        assert_eq!(typed.len(), 20);
        assert_eq!(typed[0].individual.code, "IND-0123");
        assert!(typed
            .iter()
            .all(|m| m.individual.code.starts_with("IND-01")));
    }
}
