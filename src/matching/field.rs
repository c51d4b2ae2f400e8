//! The new-individual threshold in force, and how it is chosen for the field.
//!
//! One function, [`threshold_in_use`], says which threshold the CLI, the app,
//! ingest, training and re-ranking use for a catalogue: the value saved in
//! the catalogue (calibrated, trained or set by a person), else the pack's
//! default, with where it came from.
//!
//! Calibration ([`calibrate_for_field`]) weighs its leave-one-out queries to
//! the share of new individuals expected among survey detections
//! ([`expected_new_share`]): the catalogue's own history when people have
//! made enough review decisions (detections named as a new individual against
//! those accepted as a catalogued one), else the catalogue's setting, else
//! [`DEFAULT_NEW_SHARE`]. What the chosen threshold means for a reviewer (the
//! share of known animals shown "new" first, the share of new ones caught) is
//! saved beside it for the pack version it was calibrated for
//! ([`FieldCalibration`]), so Settings and `catalogue calibrate` show it.
//!
//! Whenever the threshold, the pack version or the share changes, the
//! detections waiting for review are ranked again ([`super::rerank`]).

use serde::{Deserialize, Serialize};

use super::identify::{calibrate_gallery_for_share, catalogue_pack};
use crate::catalogue::{keys, Catalogue};
use crate::error::{Error, Result};
use crate::eval::Calibration;
use crate::packs::Pack;

/// The expected share of new individuals when the catalogue has no history
/// and no setting: the Happywhale test set had roughly 15–20% new.
pub const DEFAULT_NEW_SHARE: f64 = 0.15;
/// Review decisions needed before the history is trusted over the setting.
pub const MIN_HISTORY_DECISIONS: usize = 30;
/// Species with fewer individuals than this use the overall threshold.
pub const MIN_SPECIES_INDIVIDUALS: usize = 5;

/// Where the expected share of new individuals came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShareSource {
    /// The catalogue's review decisions.
    History,
    /// The catalogue's `match.expected_new_share` setting.
    Setting,
    /// [`DEFAULT_NEW_SHARE`].
    Default,
}

/// The expected share of new individuals among survey detections.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct NewShare {
    pub share: f64,
    pub source: ShareSource,
    /// Review decisions naming a new individual, and accepting a known one.
    pub new_decisions: usize,
    pub known_decisions: usize,
}

impl std::fmt::Display for NewShare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pct = self.share * 100.0;
        match self.source {
            ShareSource::History => write!(
                f,
                "{pct:.0}% new, from the catalogue's history ({} of {} review decisions named a new individual)",
                self.new_decisions,
                self.new_decisions + self.known_decisions
            ),
            ShareSource::Setting => write!(f, "{pct:.0}% new, as set for this catalogue"),
            ShareSource::Default => write!(
                f,
                "{pct:.0}% new, the default ({} review decisions so far; {MIN_HISTORY_DECISIONS} are needed to use the catalogue's own)",
                self.new_decisions + self.known_decisions
            ),
        }
    }
}

/// The share of new individuals to calibrate for (see the module docs).
pub fn expected_new_share(cat: &Catalogue) -> Result<NewShare> {
    // Decisions still standing: N naming a code the catalogue did not have
    // is a new animal; accepting a suggestion, "same as previous", or N with
    // an existing code is a known one.
    let (new, known): (i64, i64) = cat.conn().query_row(
        "SELECT
             coalesce(sum(action = 'new_individual' AND created_individual IS NOT NULL), 0),
             coalesce(sum(action IN ('accept', 'same_as')
                 OR (action = 'new_individual' AND created_individual IS NULL)), 0)
         FROM review_log WHERE undone_at IS NULL",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let (new_decisions, known_decisions) = (new as usize, known as usize);
    let with = |share, source| NewShare {
        share,
        source,
        new_decisions,
        known_decisions,
    };
    if new_decisions + known_decisions >= MIN_HISTORY_DECISIONS {
        let share = new_decisions as f64 / (new_decisions + known_decisions) as f64;
        return Ok(with(share, ShareSource::History));
    }
    Ok(match share_setting(cat)? {
        Some(s) => with(s, ShareSource::Setting),
        None => with(DEFAULT_NEW_SHARE, ShareSource::Default),
    })
}

/// The catalogue's expected-share setting, checked.
fn share_setting(cat: &Catalogue) -> Result<Option<f64>> {
    let Some(text) = cat.setting(keys::NEW_SHARE)? else {
        return Ok(None);
    };
    match text.parse::<f64>() {
        Ok(s) if (0.0..=1.0).contains(&s) => Ok(Some(s)),
        _ => Err(Error::Catalogue {
            path: cat.root().to_path_buf(),
            reason: format!(
                "setting {} = {text:?}: expected a share between 0 and 1",
                keys::NEW_SHARE
            ),
        }),
    }
}

/// Set the expected share of new individuals (used until the catalogue has
/// enough review history of its own). A calibrated threshold was chosen for
/// the old share, so it is calibrated again and saved; the new calibration
/// is returned (`None` when the threshold was set by hand or is the pack's,
/// or there is nothing to calibrate on). The caller ranks the waiting
/// detections again.
pub fn set_expected_new_share(cat: &mut Catalogue, share: f64) -> Result<Option<Calibration>> {
    if !(0.0..=1.0).contains(&share) {
        return Err(Error::Invalid(format!(
            "expected share of new individuals {share} is not between 0 and 1"
        )));
    }
    cat.set_setting(keys::NEW_SHARE, &share.to_string())?;
    if threshold_in_use(cat, f32::NAN)?.source != ThresholdSource::Calibrated {
        return Ok(None);
    }
    let Some((c, share)) = calibrate_for_field(cat, MIN_SPECIES_INDIVIDUALS)? else {
        return Ok(None);
    };
    save_calibration(cat, &c, share)?;
    Ok(Some(c))
}

/// Where the threshold in force came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdSource {
    /// Chosen by `catalogue calibrate` (or recalibrated by training).
    Calibrated,
    /// Typed by a person (Settings, `catalogue config --threshold`).
    Set,
    /// The pack's `new_individual_threshold`: nothing saved in the catalogue.
    PackDefault,
}

/// What a calibration means for the reviewer, saved with the threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldCalibration {
    pub threshold: f32,
    pub share: NewShare,
    /// Expected share of known animals shown "new" first.
    pub known_shown_new: f64,
    /// Expected share of new animals caught ("new" first).
    pub new_caught: f64,
    /// MAP@5 of the weighted leave-one-out queries at `threshold`.
    pub map_at_5: f64,
    pub queries: usize,
    /// Per species with a threshold of its own: `(species, threshold)`.
    pub per_species: Vec<(String, f32)>,
}

impl FieldCalibration {
    pub fn new(c: &Calibration, share: NewShare) -> Self {
        Self {
            threshold: c.threshold,
            share,
            known_shown_new: c.known_shown_new,
            new_caught: c.new_caught,
            map_at_5: c.map_at_5,
            queries: c.queries,
            per_species: c
                .per_species
                .iter()
                .filter(|(_, s)| s.own_threshold)
                .map(|(name, s)| (name.clone(), s.threshold))
                .collect(),
        }
    }
}

/// The threshold in force for a catalogue, with where it came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThresholdInUse {
    pub value: f32,
    pub source: ThresholdSource,
    /// When `source` is `Calibrated`: what the calibration measured, if it
    /// was saved for the pack version in use.
    pub calibration: Option<FieldCalibration>,
}

/// [`threshold_in_use`] where the pack may be missing (a catalogue whose
/// pack is not on this machine): the pack's default stands in when there is
/// a pack; `None` with neither a saved threshold nor a pack.
pub fn threshold_with(cat: &Catalogue, pack: Option<&Pack>) -> Result<Option<ThresholdInUse>> {
    let default = pack.map_or(f32::NAN, |p| p.manifest.matching.new_individual_threshold);
    let in_use = threshold_in_use(cat, default)?;
    Ok((!in_use.value.is_nan()).then_some(in_use))
}

/// The threshold the catalogue's searches use; `pack_default` is the pack's
/// `new_individual_threshold` (used when the catalogue saved none).
pub fn threshold_in_use(cat: &Catalogue, pack_default: f32) -> Result<ThresholdInUse> {
    let Some(text) = cat.setting(keys::THRESHOLD)? else {
        return Ok(ThresholdInUse {
            value: pack_default,
            source: ThresholdSource::PackDefault,
            calibration: None,
        });
    };
    let value = text
        .parse::<f32>()
        .ok()
        .filter(|t| t.is_finite())
        .ok_or_else(|| Error::Catalogue {
            path: cat.root().to_path_buf(),
            reason: format!("setting {} = {text:?} is not a number", keys::THRESHOLD),
        })?;
    let source = match cat.setting(keys::THRESHOLD_SOURCE)?.as_deref() {
        Some("set") => ThresholdSource::Set,
        _ => ThresholdSource::Calibrated,
    };
    let calibration = match source {
        ThresholdSource::Calibrated => saved_calibration(cat)?.filter(|c| c.threshold == value),
        _ => None,
    };
    Ok(ThresholdInUse {
        value,
        source,
        calibration,
    })
}

/// The calibration saved for the catalogue's pack version, if any.
fn saved_calibration(cat: &Catalogue) -> Result<Option<FieldCalibration>> {
    let Ok(pack) = catalogue_pack(cat) else {
        return Ok(None);
    };
    Ok(cat
        .setting(&keys::calibration(&pack.0, &pack.1))?
        .and_then(|json| serde_json::from_str(&json).ok()))
}

/// A threshold typed by a person.
pub fn set_threshold(cat: &mut Catalogue, threshold: f32) -> Result<()> {
    if !(-1.0..=1.0).contains(&threshold) {
        return Err(Error::Invalid(format!(
            "threshold {threshold} is not a cosine similarity in [-1, 1]"
        )));
    }
    cat.with_tx(|tx| {
        crate::catalogue::upsert_setting(tx.conn(), keys::THRESHOLD, &threshold.to_string())?;
        crate::catalogue::upsert_setting(tx.conn(), keys::THRESHOLD_SOURCE, "set")
    })
}

/// Calibrate the catalogue's threshold for the field: leave-one-out queries
/// over its confirmed photos, weighed to [`expected_new_share`]. `None` when
/// there is nothing to calibrate on (fewer than two individuals).
pub fn calibrate_for_field(
    cat: &Catalogue,
    min_individuals: usize,
) -> Result<Option<(Calibration, NewShare)>> {
    let share = expected_new_share(cat)?;
    let pack = catalogue_pack(cat)?;
    let items = cat.gallery((&pack.0, &pack.1))?;
    Ok(calibrate_gallery_for_share(items, min_individuals, Some(share.share))?.map(|c| (c, share)))
}

/// Save a calibration as the catalogue's threshold, with what it means, for
/// the pack version in use.
pub fn save_calibration(cat: &mut Catalogue, c: &Calibration, share: NewShare) -> Result<()> {
    let pack = catalogue_pack(cat)?;
    cat.with_tx(|tx| save_calibration_in(tx.conn(), &pack, c, share))
}

/// [`save_calibration`] for `pack`, inside a transaction that already runs
/// (adoption saves the new version's calibration with its switch).
pub(crate) fn save_calibration_in(
    conn: &rusqlite::Connection,
    pack: &(String, String),
    c: &Calibration,
    share: NewShare,
) -> Result<()> {
    use crate::catalogue::upsert_setting;
    let json = serde_json::to_string(&FieldCalibration::new(c, share))
        .map_err(|e| Error::Invalid(e.to_string()))?;
    upsert_setting(conn, keys::THRESHOLD, &c.threshold.to_string())?;
    upsert_setting(conn, keys::THRESHOLD_SOURCE, "calibrated")?;
    upsert_setting(conn, &keys::calibration(&pack.0, &pack.1), &json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_pack_only_a_saved_threshold_is_in_use() {
        let dir = tempfile::tempdir().unwrap();
        let mut cat = Catalogue::create(dir.path()).unwrap();
        assert!(threshold_with(&cat, None).unwrap().is_none());
        let pack =
            Pack::load(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/packs/tiny"))
                .unwrap();
        let t = threshold_with(&cat, Some(&pack)).unwrap().unwrap();
        assert_eq!(
            (t.value, t.source),
            (
                pack.manifest.matching.new_individual_threshold,
                ThresholdSource::PackDefault
            )
        );
        cat.set_setting(keys::THRESHOLD, "0.61").unwrap();
        cat.set_setting(keys::THRESHOLD_SOURCE, "set").unwrap();
        let t = threshold_with(&cat, None).unwrap().unwrap();
        assert_eq!((t.value, t.source), (0.61, ThresholdSource::Set));
    }

    #[test]
    fn the_share_comes_from_history_then_the_setting_then_the_default() {
        let dir = tempfile::tempdir().unwrap();
        let mut cat = Catalogue::create(dir.path()).unwrap();
        let s = expected_new_share(&cat).unwrap();
        assert_eq!(
            (s.share, s.source),
            (DEFAULT_NEW_SHARE, ShareSource::Default)
        );

        set_expected_new_share(&mut cat, 0.3).unwrap();
        let s = expected_new_share(&cat).unwrap();
        assert_eq!((s.share, s.source), (0.3, ShareSource::Setting));
        assert!(set_expected_new_share(&mut cat, 1.5).is_err());

        cat.set_setting(keys::NEW_SHARE, "lots").unwrap();
        let err = expected_new_share(&cat).unwrap_err().to_string();
        assert!(err.contains(keys::NEW_SHARE), "{err}");
    }

    /// `new` detections named as new individuals and `known` accepted, as
    /// review_log rows (one photo and detection each), plus one undone.
    fn decisions(cat: &Catalogue, new: usize, known: usize) {
        let c = cat.conn();
        for i in 0..new + known + 1 {
            c.execute(
                "INSERT INTO photos (uuid, sha256, original_path, byte_size, width, height)
                 VALUES (?1, ?1, 'p.jpg', 1, 10, 10)",
                [format!("p{i}")],
            )
            .unwrap();
            let photo = c.last_insert_rowid();
            c.execute(
                "INSERT INTO detections (uuid, photo_id, x1, y1, x2, y2, class)
                 VALUES (?1, ?2, 0, 0, 5, 5, 'whole')",
                rusqlite::params![format!("d{i}"), photo],
            )
            .unwrap();
            let detection = c.last_insert_rowid();
            let (action, created, undone) = if i == new + known {
                ("new_individual", Some(1), Some("2026-01-01"))
            } else if i < new {
                ("new_individual", Some(1), None)
            } else if i % 2 == 0 {
                ("accept", None, None)
            } else {
                ("same_as", None, None)
            };
            if created.is_some() {
                c.execute(
                    "INSERT OR IGNORE INTO individuals (id, uuid, code) VALUES (1, 'i1', 'NEW')",
                    [],
                )
                .unwrap();
            }
            c.execute(
                "INSERT INTO review_log (uuid, detection_id, action, created_individual, undone_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                rusqlite::params![format!("r{i}"), detection, action, created, undone],
            )
            .unwrap();
        }
    }

    #[test]
    fn the_catalogues_history_sets_the_share_once_it_has_enough_decisions() {
        let dir = tempfile::tempdir().unwrap();
        let mut cat = Catalogue::create(dir.path()).unwrap();
        set_expected_new_share(&mut cat, 0.3).unwrap();
        // 29 standing decisions (the undone one does not count): not enough.
        decisions(&cat, 5, 24);
        let s = expected_new_share(&cat).unwrap();
        assert_eq!((s.share, s.source), (0.3, ShareSource::Setting));
        assert_eq!((s.new_decisions, s.known_decisions), (5, 24));

        let dir = tempfile::tempdir().unwrap();
        let cat = Catalogue::create(dir.path()).unwrap();
        decisions(&cat, 8, 32);
        let s = expected_new_share(&cat).unwrap();
        assert_eq!(s.source, ShareSource::History);
        assert!((s.share - 0.2).abs() < 1e-12, "{s:?}");
        assert!(s.to_string().contains("8 of 40 review decisions"), "{s}");
    }

    #[test]
    fn the_threshold_in_use_says_where_it_came_from() {
        let dir = tempfile::tempdir().unwrap();
        let mut cat = Catalogue::create(dir.path()).unwrap();
        let t = threshold_in_use(&cat, 0.5).unwrap();
        assert_eq!((t.value, t.source), (0.5, ThresholdSource::PackDefault));

        set_threshold(&mut cat, 0.7).unwrap();
        let t = threshold_in_use(&cat, 0.5).unwrap();
        assert_eq!((t.value, t.source), (0.7, ThresholdSource::Set));
        assert!(set_threshold(&mut cat, 2.0).is_err());

        cat.set_setting(keys::THRESHOLD, "high").unwrap();
        assert!(threshold_in_use(&cat, 0.5).is_err());
    }
}
