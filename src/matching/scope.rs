//! Photo-ID grades as a matching scope: "same side only", "quality ≥ Q2",
//! "flukes only" (issue 16). A [`GradeScope`] says which gallery photos may
//! be proposed for a query, by the grades a person gave them
//! ([`crate::catalogue::attributes`]); it narrows the catalogue scope
//! ([`Scope`]: species, dates, region), it does not replace it.
//!
//! Data flow: the scope as asked ([`GradeScope`]) is bound to the query's
//! side ([`GradeScope::bind`]: the query's own grade in Review, `--side`
//! for a new photo in `whaleid identify`) into a [`BoundScope`]; the
//! gallery's grades are read once ([`GalleryGrades::read`]); the search
//! admits a gallery photo when the catalogue scope and the bound scope both
//! do ([`suggest_scoped`]).
//!
//! What an ungraded gallery photo does, decided per attribute by what the
//! scope is for:
//! - **side**: kept. "Same side only" exists to stop a left fin being
//!   matched to right fins; a photo whose side nobody graded is not known to
//!   show the other side, and grading is new, so most of a catalogue is
//!   ungraded: excluding them would quietly empty the search. A photo graded
//!   `unknown` is kept for the same reason, and one graded `both` shows
//!   either side, so it matches either. A query graded `both` matches every
//!   side. A query whose side is not graded (or `unknown`) cannot be scoped
//!   to its side: binding refuses it rather than search everything under a
//!   "same side" label.
//! - **quality**: excluded. "Quality ≥ Q2" is the capture–recapture rule of
//!   Urian et al. (2015): only photos known to be good enough count, so an
//!   ungraded photo is out, as in the publication filter
//!   ([`crate::catalogue::publish::Filter::min_quality`]).
//! - **body part**: excluded, for the same reason: a scope naming flukes
//!   promises flukes.
//!
//! The search is the index's filtered search ([`Gallery::neighbours`]): the
//! filter is applied to the candidates, and when the candidates it leaves
//! are fewer than asked for (a selective scope), the index scans every
//! stored vector exactly under the filter instead, so a scope never returns
//! fewer photos than it admits, and below the index's exact threshold (and
//! whenever the filter thins the HNSW candidates) the scoped ranking is the
//! brute-force ranking over the admitted photos (`tests/scope.rs` checks it
//! both with and without an HNSW snapshot).

use std::collections::HashMap;
use std::fmt;

use serde::Serialize;

use super::field::ThresholdInUse;
use super::identify::{catalogue_pack, suggest_admitting};
use super::{Gallery, HeadScorer, MatchSettings, Prediction};
use crate::catalogue::attributes::{Grades, Part, Quality, Side};
use crate::catalogue::records::blob_to_vector;
use crate::catalogue::{Catalogue, GalleryItem, Scope};
use crate::error::{Error, Result};

/// Which sides of the animal a query may be matched against.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "side")]
pub enum SideScope {
    /// Every side.
    #[default]
    Any,
    /// The side the query is graded with.
    Same,
    /// The query shows this side (given by the person, not its grade).
    Fixed(Side),
}

/// Which gallery photos may be proposed, by their grades.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GradeScope {
    pub side: SideScope,
    /// Only photos graded this good or better (`Q2`: Q1 and Q2).
    pub min_quality: Option<Quality>,
    /// Only photos of these body parts; empty means any part, ungraded too.
    pub parts: Vec<Part>,
}

impl GradeScope {
    pub fn is_everything(&self) -> bool {
        self.side == SideScope::Any && self.min_quality.is_none() && self.parts.is_empty()
    }

    /// The scope for a query graded `query_side` (`None`: not graded).
    /// `what` names the query in the refusal ("detection #12", a file).
    pub fn bind(&self, query_side: Option<Side>, what: &str) -> Result<BoundScope> {
        let side = match self.side {
            SideScope::Any => None,
            SideScope::Same => Some(known_side(query_side, what, "its side is not graded")?),
            SideScope::Fixed(s) => Some(known_side(Some(s), what, "")?),
        };
        Ok(BoundScope {
            same_side: self.side == SideScope::Same,
            side,
            min_quality: self.min_quality,
            parts: self.parts.clone(),
        })
    }
}

fn known_side(side: Option<Side>, what: &str, missing: &str) -> Result<Side> {
    match side {
        Some(Side::Unknown) => Err(Error::Invalid(format!(
            "{what}: a same-side scope needs the side shown (left, right or both), not unknown"
        ))),
        Some(s) => Ok(s),
        None => Err(Error::Invalid(format!(
            "{what}: {missing}: grade its side, or give it (left, right or both), to scope to the same side"
        ))),
    }
}

/// A [`GradeScope`] with the query's side known: what a search admits.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BoundScope {
    /// The side came from the query's own grade.
    pub same_side: bool,
    /// The query's side; `None`: every side.
    pub side: Option<Side>,
    pub min_quality: Option<Quality>,
    pub parts: Vec<Part>,
}

impl BoundScope {
    pub fn is_everything(&self) -> bool {
        self.side.is_none() && self.min_quality.is_none() && self.parts.is_empty()
    }

    /// Whether a gallery photo graded `grades` (`None`: nothing graded) may
    /// be proposed; the module doc says why ungraded photos go where.
    pub fn admits(&self, grades: Option<&Grades>) -> bool {
        let g = grades.copied().unwrap_or_default();
        let side_ok = match (self.side, g.side) {
            (None | Some(Side::Both), _) => true,
            (_, None | Some(Side::Both | Side::Unknown)) => true,
            (Some(q), Some(s)) => q == s,
        };
        let quality_ok = match self.min_quality {
            None => true,
            Some(min) => g.quality.is_some_and(|q| q <= min),
        };
        let part_ok = self.parts.is_empty() || g.part.is_some_and(|p| self.parts.contains(&p));
        side_ok && quality_ok && part_ok
    }
}

/// "same side (left), quality >= Q2, part fluke": the scope in one line, as
/// the CLI and the Review's scope bar say it. "any photo" when empty.
impl fmt::Display for BoundScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        match (self.side, self.same_side) {
            (Some(s), true) => parts.push(format!("same side ({s})")),
            (Some(s), false) => parts.push(format!("side {s}")),
            (None, _) => {}
        }
        if let Some(q) = self.min_quality {
            parts.push(format!("quality >= {q}"));
        }
        if !self.parts.is_empty() {
            let names: Vec<&str> = self.parts.iter().map(|p| p.as_str()).collect();
            parts.push(format!("part {}", names.join(" or ")));
        }
        if parts.is_empty() {
            return f.write_str("any photo");
        }
        f.write_str(&parts.join(", "))
    }
}

/// The grades of every graded detection, read once per search session.
#[derive(Debug, Clone, Default)]
pub struct GalleryGrades(HashMap<i64, Grades>);

impl GalleryGrades {
    /// Every detection's grades (the gallery's among them).
    pub fn read(cat: &Catalogue) -> Result<Self> {
        let mut stmt = cat.conn().prepare(
            "SELECT detection_id, attribute, value FROM detection_attributes
             WHERE value IS NOT NULL ORDER BY detection_id",
        )?;
        let mut rows = stmt.query([])?;
        let mut stored: HashMap<i64, [Option<String>; 4]> = HashMap::new();
        while let Some(r) = rows.next()? {
            let slot = match r.get::<_, String>(1)?.as_str() {
                "quality" => 0,
                "distinctiveness" => 1,
                "side" => 2,
                "part" => 3,
                _ => continue,
            };
            stored.entry(r.get(0)?).or_default()[slot] = r.get(2)?;
        }
        Ok(Self(
            stored
                .into_iter()
                .map(|(d, v)| (d, Grades::of_stored(v)))
                .collect(),
        ))
    }

    /// From grades known otherwise (tests, evaluation splits).
    pub fn from_map(grades: HashMap<i64, Grades>) -> Self {
        Self(grades)
    }

    pub fn of(&self, detection: i64) -> Option<&Grades> {
        self.0.get(&detection)
    }
}

/// A catalogue scope narrowed by a bound grade scope, with the grades it
/// reads: the one test every search and count below applies.
#[derive(Debug, Clone, Copy)]
pub struct Scoped<'a> {
    pub scope: &'a Scope,
    pub grades: &'a BoundScope,
    pub graded: &'a GalleryGrades,
}

impl Scoped<'_> {
    pub fn admits(&self, item: &GalleryItem) -> bool {
        self.scope.admits(item) && self.grades.admits(self.graded.of(item.detection_id))
    }

    /// Gallery photos inside the catalogue scope that the grades leave out.
    pub fn left_out(&self, gallery: &Gallery) -> usize {
        gallery
            .items()
            .filter(|i| self.scope.admits(i) && !self.grades.admits(self.graded.of(i.detection_id)))
            .count()
    }

    /// `(individual, score)` of the `k` nearest admitted photos, best first.
    pub fn neighbours(
        &self,
        gallery: &Gallery,
        query: &[f32],
        k: usize,
    ) -> Result<Vec<(i64, f32)>> {
        gallery.neighbours(query, k, &|i| self.admits(i))
    }
}

/// [`super::suggest`] within a grade scope too: the five best candidates
/// among the admitted photos, with `new_individual` placed among them.
pub fn suggest_scoped(
    gallery: &Gallery,
    query: &[f32],
    scoped: &Scoped<'_>,
    settings: &MatchSettings,
    head: Option<&HeadScorer>,
) -> Result<Vec<Prediction<i64>>> {
    let everything = scoped.scope.is_everything() && scoped.grades.is_everything();
    suggest_admitting(
        gallery,
        query,
        &|i| scoped.admits(i),
        everything,
        settings,
        head,
    )
}

/// A waiting detection's suggestions ranked again under a grade scope, as
/// the Review's scope bar shows them (nothing is stored).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScopedSuggestions {
    pub scope: BoundScope,
    /// Gallery photos of the detection's species scope the grades left out.
    pub left_out: usize,
    /// As [`super::suggest`] gives them (up to six, `new_individual` placed).
    pub predictions: Vec<Prediction<i64>>,
}

/// Rank detection `detection`'s suggestions again within `scope`, its side
/// taken from its own grade: the same search as the stored suggestions
/// (its survey species scope, the threshold in force for that species, no
/// head), narrowed by the grades.
pub fn scoped_suggestions(
    cat: &Catalogue,
    gallery: &Gallery,
    detection: i64,
    scope: &GradeScope,
    threshold: &ThresholdInUse,
) -> Result<ScopedSuggestions> {
    let what = format!("detection #{detection}");
    let query_side = cat.attributes(detection)?.side.map(|s| s.value);
    let bound = scope.bind(query_side, &what)?;
    let (species, query) = query_of(cat, detection, &what)?;
    let graded = GalleryGrades::read(cat)?;
    let catalogue_scope = Scope::for_detection(species.as_deref());
    let scoped = Scoped {
        scope: &catalogue_scope,
        grades: &bound,
        graded: &graded,
    };
    let settings = MatchSettings::new(threshold.for_species(species.as_deref()));
    // The photo itself is never its own candidate (a waiting detection is
    // not in the gallery; this keeps it so if that changes).
    let admit = |i: &GalleryItem| i.detection_id != detection && scoped.admits(i);
    let predictions = if gallery.is_empty() {
        vec![Prediction::NewIndividual]
    } else {
        suggest_admitting(gallery, &query, &admit, false, &settings, None)?
    };
    Ok(ScopedSuggestions {
        left_out: scoped.left_out(gallery),
        scope: bound,
        predictions,
    })
}

/// A detection's survey species and its embedding under the bound pack.
fn query_of(cat: &Catalogue, detection: i64, what: &str) -> Result<(Option<String>, Vec<f32>)> {
    let pack = catalogue_pack(cat)?;
    let row: Option<(Option<String>, Option<Vec<u8>>)> = {
        use rusqlite::OptionalExtension;
        cat.conn()
            .query_row(
                "SELECT d.species, e.vector FROM detections d
                 LEFT JOIN embeddings e ON e.detection_id = d.id
                      AND e.pack_name = ?2 AND e.pack_version = ?3
                 WHERE d.id = ?1",
                rusqlite::params![detection, pack.0, pack.1],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
    };
    match row {
        None => Err(Error::NotFound(format!("{what} is not in this catalogue"))),
        Some((_, None)) => Err(Error::Invalid(format!(
            "{what} has no embedding of pack {} {}: nothing to match",
            pack.0, pack.1
        ))),
        Some((species, Some(blob))) => Ok((species, blob_to_vector(&blob))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graded(side: Option<Side>, quality: Option<Quality>, part: Option<Part>) -> Grades {
        Grades {
            quality,
            side,
            part,
            ..Grades::default()
        }
    }

    fn same(side: Side) -> BoundScope {
        GradeScope {
            side: SideScope::Same,
            ..GradeScope::default()
        }
        .bind(Some(side), "q")
        .unwrap()
    }

    #[test]
    fn same_side_leaves_out_only_the_opposite_side() {
        let left = same(Side::Left);
        let cases = [
            (None, true),
            (Some(Side::Left), true),
            (Some(Side::Right), false),
            (Some(Side::Both), true),
            (Some(Side::Unknown), true),
        ];
        for (side, kept) in cases {
            assert_eq!(
                left.admits(Some(&graded(side, None, None))),
                kept,
                "{side:?}"
            );
        }
        assert!(left.admits(None), "an ungraded photo stays a candidate");
        let both = same(Side::Both);
        assert!(both.admits(Some(&graded(Some(Side::Right), None, None))));
        assert!(both.admits(Some(&graded(Some(Side::Left), None, None))));
    }

    #[test]
    fn min_quality_keeps_only_photos_graded_that_good() {
        let q2 = GradeScope {
            min_quality: Some(Quality::Q2),
            ..GradeScope::default()
        }
        .bind(None, "q")
        .unwrap();
        assert!(q2.admits(Some(&graded(None, Some(Quality::Q1), None))));
        assert!(q2.admits(Some(&graded(None, Some(Quality::Q2), None))));
        assert!(!q2.admits(Some(&graded(None, Some(Quality::Q3), None))));
        assert!(!q2.admits(None), "ungraded is not known to be good enough");
    }

    #[test]
    fn parts_keep_only_the_parts_named() {
        let flukes = BoundScope {
            parts: vec![Part::Fluke],
            ..BoundScope::default()
        };
        assert!(flukes.admits(Some(&graded(None, None, Some(Part::Fluke)))));
        assert!(!flukes.admits(Some(&graded(None, None, Some(Part::DorsalFin)))));
        assert!(!flukes.admits(None));
    }

    #[test]
    fn same_side_needs_the_query_side_and_says_which_query() {
        let scope = GradeScope {
            side: SideScope::Same,
            ..GradeScope::default()
        };
        let e = scope.bind(None, "detection #7").unwrap_err().to_string();
        assert!(
            e.contains("detection #7") && e.contains("not graded"),
            "{e}"
        );
        let e = scope
            .bind(Some(Side::Unknown), "a.jpg")
            .unwrap_err()
            .to_string();
        assert!(e.contains("a.jpg") && e.contains("unknown"), "{e}");
        assert!(GradeScope::default()
            .bind(None, "x")
            .unwrap()
            .is_everything());
    }

    #[test]
    fn the_scope_reads_as_one_line() {
        let mut b = same(Side::Left);
        b.min_quality = Some(Quality::Q2);
        assert_eq!(b.to_string(), "same side (left), quality >= Q2");
        let fixed = GradeScope {
            side: SideScope::Fixed(Side::Right),
            parts: vec![Part::Fluke, Part::DorsalFin],
            ..GradeScope::default()
        }
        .bind(None, "x")
        .unwrap();
        assert_eq!(fixed.to_string(), "side right, part fluke or dorsal-fin");
        assert_eq!(BoundScope::default().to_string(), "any photo");
    }
}
