//! Boxes by hand: a person draws, moves, resizes or removes the box around
//! an animal on a photo, and can take the latest of those back.
//!
//! A new or changed box is treated exactly as ingest treats a detector's
//! box: the region is read from the ORIGINAL photo (not the thumbnail),
//! cropped into the media folder's `crops/`, embedded with every backbone's
//! features cached, and ranked against the catalogue's gallery at the
//! threshold in use, scoped to the species the photo's other boxes agree
//! on. All of it lands in one transaction, so a box is never stored without
//! its embedding and suggestions.
//!
//! Nothing is deleted. Moving or resizing a box ([`set_box`]) makes a new
//! detection that `replaces` the old one, and the old one is removed
//! (`removed_at`, `removed_by`): it keeps its decisions as history, and
//! other catalogues learn of the change through sync (see
//! [`crate::sync::plan`] for the merge rules). A confirmed identification
//! of the old box is carried to the new one as a person's decision by
//! whoever moved it. Every live view (the review queue, the gallery,
//! exports, training) skips removed boxes.
//!
//! A photo ingested without a detector has one detection of class `whole`
//! (the whole frame). Drawing the first box on such a photo is a
//! [`set_box`] on that whole-frame detection: the box replaces the frame,
//! and further animals in the photo are [`add_box`]es.
//!
//! Each action is logged in `box_log` so [`undo_box`] can take back the
//! newest one not yet undone: an added box is removed, a move removes the
//! new box and restores the old one, a removal is restored.

use std::path::Path;

use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use sha2::Digest;

use super::media::{save_region, CROP_SIDE};
use super::pipeline;
use crate::catalogue::records::{FeatureOrigin, Source};
use crate::catalogue::sql::NOW;
use crate::catalogue::{Catalogue, Scope, Tx};
use crate::detect::BBox;
use crate::embed::{Crop, Embedder};
use crate::error::{Error, Result};
use crate::index::IndexConfig;
use crate::matching::field::threshold_in_use;
use crate::matching::rerank::suggestion_rows;
use crate::matching::{suggest, Gallery, MatchSettings};
use crate::packs::Pack;
use crate::{photo, CancelToken};

/// The smallest side a box may have, in photo pixels (after clipping to
/// the photo): below it there is nothing to identify.
pub const MIN_BOX_SIDE: f32 = 8.0;

/// What a box action did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BoxChange {
    /// `add`, `set` or `remove` (for [`undo_box`], the action taken back).
    pub action: String,
    /// Whether this change took an earlier action back.
    pub undone: bool,
    pub photo_id: i64,
    /// The box the action is about: the one added, the replacement a move
    /// made, or the one removed.
    pub detection_id: i64,
    /// Boxes that became live (added, replacement, restored).
    pub live: Vec<i64>,
    /// Boxes that were removed.
    pub removed: Vec<i64>,
    /// Detections waiting for review afterwards.
    pub to_review: usize,
}

/// A live box of a photo.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BoxRow {
    pub id: i64,
    pub uuid: String,
    /// `[x1, y1, x2, y2]` in the photo's pixels.
    pub bbox: [f32; 4],
    /// `fin`, `fullbody`... (detector), `box` (drawn or given), `whole`.
    pub class: String,
    pub score: Option<f32>,
    /// Who drew it; `None` for the detector's and imports' boxes.
    pub drawn_by: Option<String>,
    /// For a box received through sync, the server account that pushed it
    /// (`drawn_by` is the name its laptop gave); `None` for one made here.
    pub drawn_by_account: Option<String>,
    pub created_at: String,
    /// The box it replaced, when it was made by moving or resizing one.
    pub replaces: Option<i64>,
    /// Whether it has a current decision (confirmed or rejected).
    pub decided: bool,
    /// The individual it is confirmed as (through merges), by code.
    pub individual: Option<String>,
}

/// The models a box is embedded with: the pack (name, version, default
/// threshold, JPEG decoder) and its embedder, as a
/// [`super::Pipeline`] holds them (`pipeline.pack()`, `pipeline.embedder()`).
#[derive(Debug, Clone, Copy)]
pub struct BoxModels<'a> {
    pub pack: &'a Pack,
    pub embedder: &'a Embedder,
}

impl<'a> BoxModels<'a> {
    pub fn of(pipeline: &'a super::Pipeline) -> Self {
        Self {
            pack: pipeline.pack(),
            embedder: pipeline.embedder(),
        }
    }
}

struct PhotoRow {
    id: i64,
    sha256: String,
    path: String,
    width: u32,
    height: u32,
}

fn photo_row(cat: &Catalogue, photo_id: i64) -> Result<PhotoRow> {
    cat.conn()
        .query_row(
            "SELECT id, sha256, original_path, width, height FROM photos WHERE id = ?1",
            [photo_id],
            |r| {
                Ok(PhotoRow {
                    id: r.get(0)?,
                    sha256: r.get(1)?,
                    path: r.get(2)?,
                    width: r.get(3)?,
                    height: r.get(4)?,
                })
            },
        )
        .optional()?
        .ok_or_else(|| Error::NotFound(format!("photo #{photo_id} is not in this catalogue")))
}

/// A photo's name for messages: its file and number.
fn photo_name(p: &PhotoRow) -> String {
    let file = Path::new(&p.path).file_name().map_or_else(
        || p.sha256[..12].to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    format!("photo {file} (#{})", p.id)
}

/// `bbox` clipped to the photo, or why it is no box.
pub fn check_box(bbox: [f32; 4], width: u32, height: u32, photo: &str) -> Result<BBox> {
    let [x1, y1, x2, y2] = bbox;
    if !bbox.iter().all(|v| v.is_finite()) {
        return Err(Error::Invalid(format!(
            "box {x1},{y1},{x2},{y2} on {photo}: the corners must be numbers"
        )));
    }
    if x2 <= x1 || y2 <= y1 {
        return Err(Error::Invalid(format!(
            "box {x1},{y1},{x2},{y2} on {photo} is empty: give x1,y1,x2,y2 with x1 < x2 and y1 < y2"
        )));
    }
    let b = BBox { x1, y1, x2, y2 }.clip(width as f32, height as f32);
    if b.x2 - b.x1 < MIN_BOX_SIDE || b.y2 - b.y1 < MIN_BOX_SIDE {
        return Err(Error::Invalid(format!(
            "box {x1},{y1},{x2},{y2} on {photo} ({width}×{height} px) is {:.0}×{:.0} px inside the photo; a box must be at least {MIN_BOX_SIDE} px on each side",
            (b.x2 - b.x1).max(0.0),
            (b.y2 - b.y1).max(0.0)
        )));
    }
    Ok(b)
}

/// A detection's photo and whether it is live.
fn detection_row(cat: &Catalogue, detection_id: i64) -> Result<(i64, bool)> {
    cat.conn()
        .query_row(
            "SELECT photo_id, removed_at IS NULL FROM detections WHERE id = ?1",
            [detection_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
        .ok_or_else(|| {
            Error::NotFound(format!(
                "detection #{detection_id} is not in this catalogue"
            ))
        })
}

/// The species the photo's live boxes all give, when they agree and give
/// one.
fn agreed_species(cat: &Catalogue, photo_id: i64) -> Result<Option<String>> {
    let mut stmt = cat.conn().prepare(
        "SELECT DISTINCT species FROM detections WHERE photo_id = ?1 AND removed_at IS NULL",
    )?;
    let all: Vec<Option<String>> = stmt
        .query_map([photo_id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(match all.as_slice() {
        [Some(s)] => Some(s.clone()),
        _ => None,
    })
}

/// A box cropped, embedded and ranked, not stored yet.
struct Prepared {
    bbox: BBox,
    crop_file: String,
    species: Option<String>,
    vector: Vec<f32>,
    features: Vec<Vec<f32>>,
    ranked: Vec<(Option<i64>, Option<f32>)>,
    pack: (String, String),
    feature_keys: Vec<String>,
}

fn prepare(
    cat: &mut Catalogue,
    models: BoxModels<'_>,
    photo: &PhotoRow,
    bbox: [f32; 4],
    cancel: &CancelToken,
) -> Result<Prepared> {
    let name = photo_name(photo);
    let region = check_box(bbox, photo.width, photo.height, &name)?;
    let pack = super::import::bind_pack(cat, models.pack)?;
    if photo.path.is_empty() {
        return Err(Error::NotFound(format!(
            "{name}: its original file is not on this laptop (it came by sync); fetch the photos first"
        )));
    }
    let path = Path::new(&photo.path);
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    // Decoded as ingest decodes it: a camera-size JPEG at a DCT scale and
    // the box's region again at the detail the backbones need, so a drawn
    // box costs no full-size photo and embeds as ingest's boxes do.
    let picture = pipeline::decode_for(models.pack, path, &bytes, photo::DEFAULT_MAX_PIXELS, true)?;
    if (picture.width(), picture.height()) != (photo.width, photo.height) {
        return Err(Error::photo(
            path,
            format!(
                "is {}×{} px now; {name} was {}×{} px when it was imported (the file changed)",
                picture.width(),
                picture.height(),
                photo.width,
                photo.height
            ),
        ));
    }
    if cancel.is_cancelled() {
        return Err(Error::Cancelled);
    }
    let pixels = pipeline::crop_pixels(models.pack, &picture, region);
    let mut embedded = models.embedder.embed(
        &[Crop {
            image: &pixels.image,
            region: Some(pixels.region),
        }],
        cancel,
    )?;
    let embedding = embedded.pop().ok_or_else(|| {
        Error::runtime(format!("the embedder returned nothing for a box on {name}"))
    })?;
    let crops = cat.media_dir().join("crops");
    std::fs::create_dir_all(&crops).map_err(|e| Error::io(&crops, e))?;
    let crop_name = format!(
        "{}_box_{}.jpg",
        &photo.sha256[..16.min(photo.sha256.len())],
        uuid::Uuid::now_v7().simple()
    );
    save_region(
        &pixels.image,
        pixels.region,
        CROP_SIDE,
        &crops.join(&crop_name),
    )?;
    let species = agreed_species(cat, photo.id)?;
    let threshold = threshold_in_use(cat, models.pack.manifest.matching.new_individual_threshold)?;
    let (gallery, _) = Gallery::from_catalogue(cat, IndexConfig::new(0))?;
    let ranked = if gallery.is_empty() {
        Vec::new()
    } else {
        // As ingest and `rerank_waiting` rank a detection of this species.
        let scope = Scope::for_detection(species.as_deref());
        let settings = MatchSettings::new(threshold.for_species(species.as_deref()));
        suggestion_rows(&suggest(
            &gallery,
            &embedding.vector,
            &scope,
            &settings,
            None,
        )?)
    };
    Ok(Prepared {
        bbox: region,
        crop_file: format!("crops/{crop_name}"),
        species,
        vector: embedding.vector,
        features: embedding.features,
        ranked,
        pack,
        feature_keys: models
            .embedder
            .backbones()
            .iter()
            .map(|b| b.feature_key.clone())
            .collect(),
    })
}

/// Store a prepared box drawn by `by`; returns its detection id.
fn store(tx: &Tx<'_>, photo_id: i64, p: &Prepared, by: &str, replaces: Option<i64>) -> Result<i64> {
    let det = tx.insert_detection(photo_id, p.bbox, "box", None, Some(&p.crop_file))?;
    tx.conn().execute(
        "UPDATE detections SET drawn_by = ?2, replaces = ?3 WHERE id = ?1",
        params![det, by, replaces],
    )?;
    if p.species.is_some() {
        tx.set_detection_species(det, p.species.as_deref())?;
    }
    tx.insert_embedding(det, &p.pack.0, &p.pack.1, &p.vector)?;
    tx.insert_features(det, &p.feature_keys, &p.features, FeatureOrigin::Photo)?;
    if !p.ranked.is_empty() {
        tx.set_suggestions(det, (&p.pack.0, &p.pack.1), &p.ranked)?;
    }
    Ok(det)
}

fn remove(tx: &Tx<'_>, detection_id: i64, by: &str) -> Result<()> {
    tx.conn().execute(
        &format!(
            "UPDATE detections SET removed_at = {NOW}, removed_by = ?2, updated_at = {NOW}
             WHERE id = ?1 AND removed_at IS NULL"
        ),
        params![detection_id, by],
    )?;
    Ok(())
}

fn restore(tx: &Tx<'_>, detection_id: i64) -> Result<()> {
    tx.conn().execute(
        &format!(
            "UPDATE detections SET removed_at = NULL, removed_by = NULL, updated_at = {NOW}
             WHERE id = ?1 AND removed_at IS NOT NULL"
        ),
        [detection_id],
    )?;
    Ok(())
}

fn log(tx: &Tx<'_>, action: &str, detection: i64, previous: Option<i64>, by: &str) -> Result<()> {
    tx.conn().execute(
        "INSERT INTO box_log (action, detection_id, previous_id, by) VALUES (?1, ?2, ?3, ?4)",
        params![action, detection, previous, by],
    )?;
    Ok(())
}

fn author(by: &str) -> Result<String> {
    crate::catalogue::observer::validate(by, "the name of who drew the box")
}

/// Draw a new box on photo `photo_id` (another animal in the photo).
pub fn add_box(
    cat: &mut Catalogue,
    models: BoxModels<'_>,
    photo_id: i64,
    bbox: [f32; 4],
    by: &str,
    cancel: &CancelToken,
) -> Result<BoxChange> {
    let by = author(by)?;
    let photo = photo_row(cat, photo_id)?;
    let prepared = prepare(cat, models, &photo, bbox, cancel)?;
    let det = cat.with_tx(|tx| {
        let det = store(tx, photo.id, &prepared, &by, None)?;
        log(tx, "add", det, None, &by)?;
        Ok(det)
    })?;
    change(cat, "add", false, photo.id, det, vec![det], vec![])
}

/// Move or resize box `detection_id` to `bbox`: a new detection replaces
/// it (the old one is removed, its decisions kept), and a confirmed
/// identification of the old box carries over as `by`'s decision.
pub fn set_box(
    cat: &mut Catalogue,
    models: BoxModels<'_>,
    detection_id: i64,
    bbox: [f32; 4],
    by: &str,
    cancel: &CancelToken,
) -> Result<BoxChange> {
    let by = author(by)?;
    let (photo_id, live) = detection_row(cat, detection_id)?;
    if !live {
        return Err(Error::Invalid(format!(
            "detection #{detection_id} was removed; undo the removal before moving it"
        )));
    }
    let photo = photo_row(cat, photo_id)?;
    let prepared = prepare(cat, models, &photo, bbox, cancel)?;
    let individual = cat.current_individual(detection_id)?;
    let det = cat.with_tx(|tx| {
        let det = store(tx, photo.id, &prepared, &by, Some(detection_id))?;
        if let Some(individual) = individual {
            tx.decide(det, individual, true, Source::Person, Some(&by), None)?;
        }
        remove(tx, detection_id, &by)?;
        log(tx, "set", det, Some(detection_id), &by)?;
        Ok(det)
    })?;
    change(
        cat,
        "set",
        false,
        photo.id,
        det,
        vec![det],
        vec![detection_id],
    )
}

/// Remove box `detection_id` (it stays as a row with its decisions; every
/// live view skips it).
pub fn remove_box(cat: &mut Catalogue, detection_id: i64, by: &str) -> Result<BoxChange> {
    let by = author(by)?;
    let (photo_id, live) = detection_row(cat, detection_id)?;
    if !live {
        return Err(Error::Invalid(format!(
            "detection #{detection_id} is already removed"
        )));
    }
    cat.with_tx(|tx| {
        remove(tx, detection_id, &by)?;
        log(tx, "remove", detection_id, None, &by)
    })?;
    change(
        cat,
        "remove",
        false,
        photo_id,
        detection_id,
        vec![],
        vec![detection_id],
    )
}

/// Take back the newest box action not yet undone; `None` when there is
/// none.
pub fn undo_box(cat: &mut Catalogue, by: &str) -> Result<Option<BoxChange>> {
    let by = author(by)?;
    let last: Option<(i64, String, i64, Option<i64>)> = cat
        .conn()
        .query_row(
            "SELECT id, action, detection_id, previous_id FROM box_log
             WHERE undone_at IS NULL ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let Some((id, action, detection, previous)) = last else {
        return Ok(None);
    };
    let (photo_id, _) = detection_row(cat, detection)?;
    let (live, removed) = cat.with_tx(|tx| {
        let (live, removed) = match (action.as_str(), previous) {
            ("remove", _) => {
                restore(tx, detection)?;
                (vec![detection], vec![])
            }
            ("set", Some(old)) => {
                remove(tx, detection, &by)?;
                restore(tx, old)?;
                (vec![old], vec![detection])
            }
            _ => {
                remove(tx, detection, &by)?;
                (vec![], vec![detection])
            }
        };
        tx.conn().execute(
            &format!("UPDATE box_log SET undone_at = {NOW}, undone_by = ?2 WHERE id = ?1"),
            params![id, by],
        )?;
        Ok((live, removed))
    })?;
    change(cat, &action, true, photo_id, detection, live, removed).map(Some)
}

fn change(
    cat: &Catalogue,
    action: &str,
    undone: bool,
    photo_id: i64,
    detection_id: i64,
    live: Vec<i64>,
    removed: Vec<i64>,
) -> Result<BoxChange> {
    Ok(BoxChange {
        action: action.to_string(),
        undone,
        photo_id,
        detection_id,
        live,
        removed,
        to_review: cat.to_review()?,
    })
}

/// The live boxes of photo `photo_id`, in the order they were made.
pub fn boxes_of(cat: &Catalogue, photo_id: i64) -> Result<Vec<BoxRow>> {
    photo_row(cat, photo_id)?;
    let mut stmt = cat.conn().prepare(&format!(
        "SELECT d.id, d.uuid, d.x1, d.y1, d.x2, d.y2, d.class, d.score, d.drawn_by, d.created_at,
                d.replaces, idn.verdict, idn.individual_id, {}
         FROM detections d
         LEFT JOIN identifications idn ON idn.detection_id = d.id
              AND idn.superseded_by IS NULL AND idn.withdrawn_at IS NULL
         WHERE d.photo_id = ?1 AND d.removed_at IS NULL ORDER BY d.id",
        crate::sync::accounts::account_column(cat.conn(), "detection_added", "d.uuid")?
    ))?;
    let rows: Vec<(BoxRow, Option<String>, Option<i64>)> = stmt
        .query_map([photo_id], |r| {
            let v = |i| r.get::<_, f64>(i).map(|x| x as f32);
            Ok((
                BoxRow {
                    id: r.get(0)?,
                    uuid: r.get(1)?,
                    bbox: [v(2)?, v(3)?, v(4)?, v(5)?],
                    class: r.get(6)?,
                    score: r.get::<_, Option<f64>>(7)?.map(|s| s as f32),
                    drawn_by: r.get(8)?,
                    drawn_by_account: r.get(13)?,
                    created_at: r.get(9)?,
                    replaces: r.get(10)?,
                    decided: false,
                    individual: None,
                },
                r.get(11)?,
                r.get(12)?,
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut out = Vec::with_capacity(rows.len());
    for (mut row, verdict, individual) in rows {
        row.decided = verdict.is_some();
        if let (Some("confirmed"), Some(i)) = (verdict.as_deref(), individual) {
            let id = cat.resolve(i)?;
            row.individual = Some(cat.conn().query_row(
                "SELECT code FROM individuals WHERE id = ?1",
                [id],
                |r| r.get(0),
            )?);
        }
        out.push(row);
    }
    Ok(out)
}

/// The photo a user names: its number (`12` or `#12`) or its file (found
/// by content, so a moved or renamed file is still found).
pub fn find_photo(cat: &Catalogue, name: &str) -> Result<i64> {
    let n = name.trim();
    let path = Path::new(n);
    if !path.is_file() {
        if let Ok(id) = n.strip_prefix('#').unwrap_or(n).parse::<i64>() {
            return photo_row(cat, id).map(|p| p.id);
        }
        return Err(Error::NotFound(format!(
            "{n} is neither a photo number nor a photo file"
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let sha = hex::encode(sha2::Sha256::digest(&bytes));
    cat.photo_by_sha256(&sha)?.ok_or_else(|| {
        Error::NotFound(format!(
            "{n} is not a photo of this catalogue (ingest it first)"
        ))
    })
}

/// The detection a user names: its number (`146` or `#146`, as the app and
/// the CSV export's `detection_number` show it) or its UUID.
pub fn find_detection(cat: &Catalogue, name: &str) -> Result<i64> {
    let n = name.trim();
    let by_number = n.strip_prefix('#').unwrap_or(n).parse::<i64>().ok();
    let found: Option<i64> = match by_number {
        Some(id) => cat
            .conn()
            .query_row("SELECT id FROM detections WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?,
        None => cat
            .conn()
            .query_row("SELECT id FROM detections WHERE uuid = ?1", [n], |r| {
                r.get(0)
            })
            .optional()?,
    };
    found.ok_or_else(|| {
        Error::NotFound(format!(
            "detection {n} is not in this catalogue (give its number, as #146, or its UUID)"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_box_is_clipped_to_the_photo_and_a_sliver_is_refused_naming_the_photo() {
        let b = check_box([-5.0, 10.0, 500.0, 90.0], 400, 300, "photo a.jpg (#3)").unwrap();
        assert_eq!((b.x1, b.y1, b.x2, b.y2), (0.0, 10.0, 400.0, 90.0));
        let e = check_box([10.0, 10.0, 15.0, 90.0], 400, 300, "photo a.jpg (#3)")
            .unwrap_err()
            .to_string();
        assert!(e.contains("photo a.jpg (#3)") && e.contains("5×80"), "{e}");
        let e = check_box([395.0, 10.0, 600.0, 90.0], 400, 300, "p").unwrap_err();
        assert!(e.to_string().contains("5×80"), "{e}");
        let e = check_box([50.0, 10.0, 20.0, 90.0], 400, 300, "p").unwrap_err();
        assert!(e.to_string().contains("empty"), "{e}");
        assert!(check_box([f32::NAN, 0.0, 1.0, 1.0], 400, 300, "p").is_err());
    }
}
