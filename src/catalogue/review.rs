//! The review: a person goes through the detections the model has ranked and
//! decides each one — accept a suggestion, name a new individual, mark it not
//! identifiable — and can take any decision back.
//!
//! The queue is every detection with no current confirmed identification and
//! no "not identifiable" mark, in encounter order (then time), so the photos
//! of one sighting come together. Each action is one transaction that writes
//! the decision (with its source and author, see [`super::records::Tx::decide`])
//! and a `review_log` row saying what it wrote; undo reads the newest log row
//! and withdraws exactly that, re-asserting the decision it had replaced.
//! Nothing is deleted: withdrawn decisions and marks stay in the history.

use std::collections::HashSet;
use std::path::PathBuf;

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::individuals::Individual;
use super::records::{Source, Tx};
use super::second_review::{self, Choice};
use super::sql::NOW;
use super::{keys, new_uuid, Catalogue};
use crate::error::{Error, Result};

mod shown;
use shown::Shown;

/// Crops of an individual shown beside each suggestion.
pub const STRIP_LEN: usize = 8;

/// One of the model's ranked suggestions for a detection, resolved to what
/// the individual is now.
#[derive(Debug, Clone, Serialize)]
pub struct ReviewSuggestion {
    pub rank: u32,
    /// `None`: "new individual".
    pub individual: Option<Individual>,
    pub score: Option<f32>,
    /// The individual's crop most similar to the query.
    pub best_crop: Option<PathBuf>,
    /// Up to [`STRIP_LEN`] of its other crops, newest first.
    pub strip: Vec<PathBuf>,
}

/// A detection waiting for a decision, with what the review shows of it.
#[derive(Debug, Clone, Serialize)]
pub struct QueueItem {
    pub detection_id: i64,
    pub photo_id: i64,
    pub encounter_id: Option<i64>,
    pub encounter_started_at: Option<String>,
    pub encounter_photos: i64,
    pub photo_path: PathBuf,
    pub thumb: Option<PathBuf>,
    pub crop: Option<PathBuf>,
    pub width: u32,
    pub height: u32,
    /// x1, y1, x2, y2 in photo pixels.
    pub bbox: [f32; 4],
    pub taken_at: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    /// The species given for the detection's survey, when one was; its
    /// suggestions are scoped to it.
    pub species: Option<String>,
    /// The species to offer when a person names it as a new individual.
    pub suggested_species: Option<String>,
    pub suggestions: Vec<ReviewSuggestion>,
}

/// What a review action did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewAction {
    Accept,
    NewIndividual,
    Unidentifiable,
    SameAs,
}

impl ReviewAction {
    fn as_str(self) -> &'static str {
        match self {
            ReviewAction::Accept => "accept",
            ReviewAction::NewIndividual => "new_individual",
            ReviewAction::Unidentifiable => "unidentifiable",
            ReviewAction::SameAs => "same_as",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "accept" => ReviewAction::Accept,
            "new_individual" => ReviewAction::NewIndividual,
            "unidentifiable" => ReviewAction::Unidentifiable,
            "same_as" => ReviewAction::SameAs,
            other => return Err(Error::Invalid(format!("unknown review action {other:?}"))),
        })
    }
}

/// The result of one review action.
#[derive(Debug, Clone, Serialize)]
pub struct ReviewOutcome {
    pub detection_id: i64,
    pub action: ReviewAction,
    /// The individual now shown (none for "not identifiable").
    pub individual: Option<Individual>,
    /// Detections left in the queue.
    pub to_review: usize,
}

/// What an undo took back.
#[derive(Debug, Clone, Serialize)]
pub struct Undone {
    pub detection_id: i64,
    pub action: ReviewAction,
    pub to_review: usize,
}

/// A detection that currently shows an individual.
#[derive(Debug, Clone, Serialize)]
pub struct Sighting {
    pub individual_id: i64,
    pub detection_id: i64,
    pub photo_id: i64,
    pub crop: Option<PathBuf>,
    pub photo_path: PathBuf,
    pub taken_at: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub encounter_id: Option<i64>,
    /// person, import or model.
    pub source: String,
    /// Who decided, as the deciding laptop names them (for a decision
    /// received through sync: the author its operation claims).
    pub decided_by: Option<String>,
    /// For a received decision, the server account that pushed it (the
    /// user of the token it came with), when the server said; `None` for a
    /// decision made here. See [`crate::sync::accounts`].
    pub decided_by_account: Option<String>,
    pub score: Option<f64>,
    pub decided_at: String,
    #[serde(skip)]
    pub vector: Option<Vec<f32>>,
}

const QUEUE_WHERE: &str = "d.removed_at IS NULL AND NOT EXISTS (
         SELECT 1 FROM identifications idn WHERE idn.detection_id = d.id
         AND idn.superseded_by IS NULL AND idn.withdrawn_at IS NULL AND idn.verdict = 'confirmed')
     AND NOT EXISTS (
         SELECT 1 FROM review_marks m WHERE m.detection_id = d.id AND m.withdrawn_at IS NULL)";

impl Catalogue {
    /// How many detections wait for a decision.
    pub fn to_review(&self) -> Result<usize> {
        let n: i64 = self.conn().query_row(
            &format!("SELECT count(*) FROM detections d WHERE {QUEUE_WHERE}"),
            [],
            |r| r.get(0),
        )?;
        Ok(n as usize)
    }

    /// Every detection waiting for a decision, by id.
    pub fn queued_detections(&self) -> Result<Vec<i64>> {
        let mut stmt = self.conn().prepare(&format!(
            "SELECT d.id FROM detections d WHERE {QUEUE_WHERE} ORDER BY d.id"
        ))?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The first `limit` detections waiting for a decision (all when `None`),
    /// by encounter, then time, with their suggestions.
    pub fn review_queue(&self, limit: Option<usize>) -> Result<Vec<QueueItem>> {
        self.queue_items(QUEUE_WHERE, limit)
    }

    /// These detections as the review shows them, in the queue's order
    /// (the second reviewer's queue: `super::second_review`).
    pub(crate) fn review_items(&self, ids: &[i64]) -> Result<Vec<QueueItem>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
        self.queue_items(
            &format!("d.removed_at IS NULL AND d.id IN ({})", ids.join(",")),
            None,
        )
    }

    /// The detections `filter` (SQL over `d`, a detection) selects, by
    /// encounter, then time, with their suggestions.
    fn queue_items(&self, filter: &str, limit: Option<usize>) -> Result<Vec<QueueItem>> {
        let mut stmt = self.conn().prepare(&format!(
            "SELECT d.id, p.id, p.encounter_id, e.started_at,
                    coalesce(ec.photos, 0),
                    p.original_path, p.sha256, d.crop_file, p.width, p.height,
                    d.x1, d.y1, d.x2, d.y2, p.taken_at, p.latitude, p.longitude, d.species
             FROM detections d JOIN photos p ON p.id = d.photo_id
             LEFT JOIN encounters e ON e.id = p.encounter_id
             -- Counted once for all encounters: photos has no index on
             -- encounter_id, and a count per row scanned it per waiting row.
             LEFT JOIN (SELECT encounter_id, count(*) AS photos FROM photos
                        WHERE encounter_id IS NOT NULL GROUP BY encounter_id) ec
                  ON ec.encounter_id = p.encounter_id
             WHERE {filter}
             ORDER BY e.started_at IS NULL, e.started_at, p.encounter_id, p.taken_at, p.id, d.id
             LIMIT ?1"
        ))?;
        let media = self.media_dir();
        let limit = limit.map_or(-1, |l| l as i64);
        let rows = stmt.query_map([limit], |r| {
            let sha: String = r.get(6)?;
            let thumb = media.join(crate::ingest::media::thumb_file(&sha));
            Ok(QueueItem {
                detection_id: r.get(0)?,
                photo_id: r.get(1)?,
                encounter_id: r.get(2)?,
                encounter_started_at: r.get(3)?,
                encounter_photos: r.get(4)?,
                photo_path: PathBuf::from(r.get::<_, String>(5)?),
                thumb: thumb.exists().then_some(thumb),
                crop: r.get::<_, Option<String>>(7)?.map(|c| media.join(c)),
                width: r.get(8)?,
                height: r.get(9)?,
                bbox: [r.get(10)?, r.get(11)?, r.get(12)?, r.get(13)?],
                taken_at: r.get(14)?,
                latitude: r.get(15)?,
                longitude: r.get(16)?,
                species: r.get(17)?,
                suggested_species: None,
                suggestions: Vec::new(),
            })
        })?;
        let mut items: Vec<QueueItem> = rows.collect::<rusqlite::Result<_>>()?;
        let ids: Vec<i64> = items.iter().map(|i| i.detection_id).collect();
        let mut shown = Shown::read(self, &ids)?;
        for item in &mut items {
            item.suggestions = shown.suggestions(self, item.detection_id)?;
            // A new individual's species: the survey's, else the nearest
            // suggestion's (the person confirms it when naming the animal).
            item.suggested_species = item.species.clone().or_else(|| {
                item.suggestions
                    .iter()
                    .find_map(|s| s.individual.as_ref().and_then(|i| i.species.clone()))
            });
        }
        Ok(items)
    }

    /// The stored suggestions of a detection, resolved through merges (an
    /// individual merged into another ranked above it is shown once), each
    /// with its best-matching crop and a strip of other crops.
    pub fn review_suggestions(&self, detection_id: i64) -> Result<Vec<ReviewSuggestion>> {
        Shown::read(self, &[detection_id])?.suggestions(self, detection_id)
    }

    /// The detections that currently show `individual_id` (resolved through
    /// merges), with the embedding of `pack` when given.
    pub fn sightings(
        &self,
        individual_id: i64,
        pack: Option<&(String, String)>,
    ) -> Result<Vec<Sighting>> {
        let target = self.resolve(individual_id)?;
        let resolved = self.resolved_individuals()?;
        let mut by = self.sightings_of(&HashSet::from([target]), &resolved, pack)?;
        Ok(by.remove(&target).unwrap_or_default())
    }

    /// The pack the catalogue's embeddings were made with, if bound.
    pub fn bound_pack(&self) -> Result<Option<(String, String)>> {
        Ok(
            match (
                self.setting(keys::PACK_NAME)?,
                self.setting(keys::PACK_VERSION)?,
            ) {
                (Some(n), Some(v)) => Some((n, v)),
                _ => None,
            },
        )
    }

    /// A person confirms that the detection shows `individual` (a suggestion
    /// of rank `rank`, with the model's `score`).
    pub fn review_accept(
        &mut self,
        detection_id: i64,
        individual: i64,
        score: Option<f32>,
        rank: Option<u32>,
        by: Option<&str>,
    ) -> Result<ReviewOutcome> {
        self.review_decide(
            detection_id,
            individual,
            score,
            rank,
            by,
            ReviewAction::Accept,
            None,
        )
    }

    /// A person attaches the detection to the individual chosen just before
    /// in the same encounter.
    pub fn review_same_as(
        &mut self,
        detection_id: i64,
        individual: i64,
        by: Option<&str>,
    ) -> Result<ReviewOutcome> {
        self.review_decide(
            detection_id,
            individual,
            None,
            None,
            by,
            ReviewAction::SameAs,
            None,
        )
    }

    /// A person names a new individual for the detection. The code must be
    /// new: an existing code is an error naming it (accept that individual
    /// instead).
    pub fn review_new_individual(
        &mut self,
        detection_id: i64,
        code: &str,
        species: Option<&str>,
        by: Option<&str>,
    ) -> Result<ReviewOutcome> {
        let code = code.trim();
        if code.is_empty() {
            return Err(Error::Invalid("a new individual needs a code".into()));
        }
        match self.individual(code) {
            Ok(existing) => {
                return Err(Error::Invalid(format!(
                "{code:?} is already individual #{} ({}): accept it instead of creating a new one",
                existing.id, existing.code
            )))
            }
            Err(Error::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
        self.require_detection(detection_id)?;
        // Without a species given, the survey's (when it had one).
        let survey_species: Option<String> = self.conn().query_row(
            "SELECT species FROM detections WHERE id = ?1",
            [detection_id],
            |r| r.get(0),
        )?;
        let species = species
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(crate::ingest::labels::normalise_species)
            .or(survey_species);
        // One transaction: a decision that fails leaves no individual behind.
        let action = ReviewAction::NewIndividual;
        let individual = self.with_tx(|tx| {
            let individual = tx.ensure_individual(code, species.as_deref())?;
            let decision = Decision {
                detection_id,
                individual,
                score: None,
                rank: None,
                action,
                created: Some(individual),
            };
            record_decision(tx, &decision, by)?;
            Ok(individual)
        })?;
        Ok(ReviewOutcome {
            detection_id,
            action,
            individual: Some(self.individual_by_id(self.resolve(individual)?)?),
            to_review: self.to_review()?,
        })
    }

    /// A person marks the detection as not identifiable.
    pub fn review_unidentifiable(
        &mut self,
        detection_id: i64,
        by: Option<&str>,
    ) -> Result<ReviewOutcome> {
        self.require_detection(detection_id)?;
        self.with_tx(|tx| {
            tx.conn().execute(
                "INSERT INTO review_marks (uuid, detection_id, mark, decided_by) VALUES (?1, ?2, 'unidentifiable', ?3)",
                params![new_uuid(), detection_id, by],
            )?;
            let mark = tx.conn().last_insert_rowid();
            tx.conn().execute(
                "INSERT INTO review_log (uuid, detection_id, action, mark_id, decided_by) VALUES (?1, ?2, 'unidentifiable', ?3, ?4)",
                params![new_uuid(), detection_id, mark, by],
            )?;
            second_review::note_decision(tx, detection_id, Choice::Unidentifiable, None, by)
        })?;
        Ok(ReviewOutcome {
            detection_id,
            action: ReviewAction::Unidentifiable,
            individual: None,
            to_review: self.to_review()?,
        })
    }

    /// Take back the newest review action not yet undone. `Ok(None)` when
    /// there is nothing to undo. Refused when a later decision (a split, a
    /// new review) has already replaced the one to withdraw.
    pub fn review_undo(&mut self, by: Option<&str>) -> Result<Option<Undone>> {
        let last: Option<LogRow> = self
            .conn()
            .query_row(
                "SELECT id, detection_id, action, identification_id, mark_id FROM review_log
                 WHERE undone_at IS NULL ORDER BY id DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()?;
        let Some((log, detection_id, action, identification, mark)) = last else {
            return Ok(None);
        };
        let action = ReviewAction::parse(&action)?;
        self.with_tx(|tx| {
            let conn = tx.conn();
            if let Some(id) = identification {
                let (current, withdrawn): (bool, bool) = conn.query_row(
                    "SELECT superseded_by IS NULL, withdrawn_at IS NOT NULL FROM identifications WHERE id = ?1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?;
                if !current || withdrawn {
                    return Err(Error::Invalid(format!(
                        "cannot undo the review of detection {detection_id}: a later decision replaced it"
                    )));
                }
                conn.execute(
                    &format!("UPDATE identifications SET withdrawn_at = {NOW},
                         updated_at = {NOW} WHERE id = ?1"),
                    [id],
                )?;
                // The decision it had replaced holds again, as a new row.
                let previous: Option<DecisionRow> = conn
                    .query_row(
                        "SELECT individual_id, verdict, source, decided_by, score FROM identifications
                         WHERE superseded_by = ?1 AND withdrawn_at IS NULL",
                        [id],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                    )
                    .optional()?;
                if let Some((individual, verdict, source, decided_by, score)) = previous {
                    tx.decide(
                        detection_id,
                        individual,
                        verdict == "confirmed",
                        Source::parse(&source)?,
                        decided_by.as_deref(),
                        score,
                    )?;
                }
            }
            if let Some(m) = mark {
                conn.execute(
                    &format!("UPDATE review_marks SET withdrawn_at = {NOW},
                         updated_at = {NOW} WHERE id = ?1"),
                    [m],
                )?;
            }
            conn.execute(
                &format!("UPDATE review_log SET undone_at = {NOW},
                     undone_by = ?2, updated_at = {NOW} WHERE id = ?1"),
                params![log, by],
            )?;
            Ok(())
        })?;
        Ok(Some(Undone {
            detection_id,
            action,
            to_review: self.to_review()?,
        }))
    }

    #[allow(clippy::too_many_arguments)]
    fn review_decide(
        &mut self,
        detection_id: i64,
        individual: i64,
        score: Option<f32>,
        rank: Option<u32>,
        by: Option<&str>,
        action: ReviewAction,
        created: Option<i64>,
    ) -> Result<ReviewOutcome> {
        self.require_detection(detection_id)?;
        self.individual_by_id(individual)?;
        let shown = self.individual_by_id(self.resolve(individual)?)?;
        let decision = Decision {
            detection_id,
            individual,
            score,
            rank,
            action,
            created,
        };
        self.with_tx(|tx| record_decision(tx, &decision, by))?;
        Ok(ReviewOutcome {
            detection_id,
            action,
            individual: Some(shown),
            to_review: self.to_review()?,
        })
    }

    fn require_detection(&self, detection_id: i64) -> Result<()> {
        let exists: bool = self.conn().query_row(
            "SELECT count(*) > 0 FROM detections WHERE id = ?1",
            [detection_id],
            |r| r.get(0),
        )?;
        if exists {
            Ok(())
        } else {
            Err(Error::NotFound(format!("detection {detection_id}")))
        }
    }
}

/// A person's decision that a detection is `individual`, as the review log
/// records it.
struct Decision {
    detection_id: i64,
    individual: i64,
    score: Option<f32>,
    rank: Option<u32>,
    action: ReviewAction,
    /// The individual this action created (calibration counts these as new
    /// animals).
    created: Option<i64>,
}

/// Write the decision and the `review_log` row that says what it wrote.
fn record_decision(tx: &Tx<'_>, d: &Decision, by: Option<&str>) -> Result<()> {
    let id = tx.decide(
        d.detection_id,
        d.individual,
        true,
        Source::Person,
        by,
        d.score,
    )?;
    tx.conn().execute(
        "INSERT INTO review_log (uuid, detection_id, action, identification_id, created_individual, rank, decided_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![new_uuid(), d.detection_id, d.action.as_str(), id, d.created, d.rank, by],
    )?;
    let choice = match d.created {
        Some(_) => Choice::New,
        None => Choice::Individual,
    };
    second_review::note_decision(tx, d.detection_id, choice, Some(d.individual), by)
}

/// `(log id, detection, action, identification, mark)` of a review_log row.
type LogRow = (i64, i64, String, Option<i64>, Option<i64>);
/// `(individual, verdict, source, decided_by, score)` of an identification.
type DecisionRow = (i64, String, String, Option<String>, Option<f32>);

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::records::NewPhoto;
    use crate::detect::BBox;
    use crate::photo::Meta;

    /// A catalogue with one photo and one detection waiting for review.
    fn one_detection(dir: &std::path::Path) -> (Catalogue, i64) {
        let mut cat = Catalogue::create(dir.join("c")).unwrap();
        let detection = cat
            .with_tx(|tx| {
                let photo = tx.insert_photo(&NewPhoto {
                    sha256: &format!("{:064x}", 1),
                    original_path: "/p/1.jpg",
                    byte_size: 1,
                    width: 10,
                    height: 10,
                    meta: &Meta::default(),
                })?;
                let bbox = BBox {
                    x1: 0.0,
                    y1: 0.0,
                    x2: 5.0,
                    y2: 5.0,
                };
                tx.insert_detection(photo, bbox, "fin", None, None)
            })
            .unwrap();
        (cat, detection)
    }

    fn individuals(cat: &Catalogue) -> i64 {
        cat.conn()
            .query_row("SELECT count(*) FROM individuals", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn a_failing_new_individual_decision_leaves_no_orphan_individual() {
        let dir = tempfile::tempdir().unwrap();
        let (mut cat, detection) = one_detection(dir.path());
        // The decision's write fails after the individual's.
        cat.conn()
            .execute_batch(
                "CREATE TEMP TRIGGER refuse BEFORE INSERT ON review_log
                 BEGIN SELECT RAISE(ABORT, 'review log refused'); END;",
            )
            .unwrap();
        let err = cat
            .review_new_individual(detection, "NEW-1", None, Some("ana"))
            .unwrap_err();
        assert!(err.to_string().contains("review log refused"), "{err}");
        assert_eq!(individuals(&cat), 0);
        assert!(matches!(cat.individual("NEW-1"), Err(Error::NotFound(_))));
        assert_eq!(cat.to_review().unwrap(), 1);

        // Once the log takes it, the same decision goes through whole.
        cat.conn().execute_batch("DROP TRIGGER refuse").unwrap();
        let out = cat
            .review_new_individual(detection, "NEW-1", None, Some("ana"))
            .unwrap();
        assert_eq!(out.individual.unwrap().code, "NEW-1");
        assert_eq!((individuals(&cat), out.to_review), (1, 0));
    }

    #[test]
    fn a_new_individual_reports_a_failing_code_lookup_instead_of_creating_it() {
        let dir = tempfile::tempdir().unwrap();
        let (mut cat, detection) = one_detection(dir.path());
        // The lookup of the code (aliases included) cannot run.
        cat.conn()
            .execute_batch("ALTER TABLE individual_aliases RENAME TO aliases_away")
            .unwrap();
        let err = cat
            .review_new_individual(detection, "NEW-1", None, None)
            .unwrap_err();
        assert!(matches!(err, Error::Sql(_)), "{err:?}");
        assert!(err.to_string().contains("individual_aliases"), "{err}");
        assert_eq!(individuals(&cat), 0);
    }
}
