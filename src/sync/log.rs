//! The catalogue's operation log: local changes become operations, and
//! received operations are kept, so a sync knows what to send and what it
//! has already applied.
//!
//! Triggers (migration `0005_sync.sql`) note every change to the synced
//! tables in `sync_outbox` as it happens, in the same transaction, whatever
//! code made it. [`collect`] turns those notes into [`Op`]s: it reads the
//! rows' current UUIDs and values, stamps each with this catalogue's
//! [`Clock`] (at the time the change was made, never before an operation
//! already logged), and moves them to `sync_ops`.

use rusqlite::{params, OptionalExtension};
use sha2::Digest;

use super::hlc::{wall_millis, Clock, Hlc};
use super::ops::{Change, DecisionSource, Op, Verdict};
use super::wire::PullReply;
use crate::catalogue::{new_uuid, Catalogue};
use crate::error::{Error, Result};

/// Setting keys.
pub mod keys {
    /// This catalogue's node id in timestamps (16 hex digits, random).
    pub const NODE: &str = "sync.node";
    /// Who the operations made here are by, unless a row says.
    pub const AUTHOR: &str = "sync.author";
}

/// This catalogue's node id, made on first use.
pub fn node(cat: &mut Catalogue) -> Result<u64> {
    if let Some(n) = cat.setting(keys::NODE)? {
        return u64::from_str_radix(&n, 16).map_err(|_| Error::Catalogue {
            path: cat.root().to_path_buf(),
            reason: format!("setting {} = {n:?} is not 16 hex digits", keys::NODE),
        });
    }
    // The random tail of a v7 UUID.
    let bytes = uuid::Uuid::now_v7();
    let n = u64::from_le_bytes(bytes.as_bytes()[8..].try_into().expect("8 bytes"));
    cat.set_setting(keys::NODE, &format!("{n:016x}"))?;
    Ok(n)
}

/// The latest timestamp logged here (made or received).
pub fn last_hlc(cat: &Catalogue) -> Result<Option<Hlc>> {
    let text: Option<String> = cat
        .conn()
        .query_row("SELECT max(hlc) FROM sync_ops", [], |r| r.get(0))?;
    text.map(|t| {
        t.parse().map_err(|e: String| Error::Catalogue {
            path: cat.root().to_path_buf(),
            reason: format!("sync_ops: {e}"),
        })
    })
    .transpose()
}

/// A clock that continues after everything logged here.
pub fn clock(cat: &mut Catalogue) -> Result<Clock> {
    let node = node(cat)?;
    Ok(Clock::new(node, last_hlc(cat)?))
}

fn millis_of(at: &str) -> u64 {
    // `YYYY-MM-DDTHH:MM:SS.sssZ` → Unix ms, without a date crate.
    let n = |r: std::ops::Range<usize>| at.get(r).and_then(|s| s.parse::<i64>().ok());
    let (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(s)) =
        (n(0..4), n(5..7), n(8..10), n(11..13), n(14..16), n(17..19))
    else {
        return 0;
    };
    let ms = n(20..23).unwrap_or(0);
    // Days from civil (Howard Hinnant's algorithm).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    (((days * 24 + h) * 60 + mi) * 60 + s).max(0) as u64 * 1000 + ms as u64
}

/// Turn every noted change into an operation by `author` (a row's own
/// `decided_by`/`actor` wins where it has one). Returns how many.
pub fn collect(cat: &mut Catalogue, author: &str) -> Result<usize> {
    let mut clock = clock(cat)?;
    let notes: Vec<(i64, String, i64, String, String)> = {
        let mut stmt = cat
            .conn()
            .prepare("SELECT seq, tbl, row_id, what, at FROM sync_outbox ORDER BY seq")?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    if notes.is_empty() {
        return Ok(0);
    }
    let mut ops = Vec::with_capacity(notes.len());
    for (_, tbl, row, what, at) in &notes {
        let Some((change, by)) = change_of(cat, tbl, *row, what)? else {
            continue; // the row is gone (a rolled-back import, a deleted photo)
        };
        let hlc = clock.tick(millis_of(at).max(1).min(wall_millis().max(1)));
        ops.push(Op {
            id: new_uuid(),
            hlc,
            author: by.unwrap_or_else(|| author.to_string()),
            change,
        });
    }
    let last = notes.last().map_or(0, |n| n.0);
    cat.with_tx(|tx| {
        for op in &ops {
            log_op(tx.conn(), op, "local")?;
        }
        tx.conn()
            .execute("DELETE FROM sync_outbox WHERE seq <= ?1", [last])?;
        Ok(())
    })?;
    Ok(ops.len())
}

/// Store an operation in `sync_ops`.
pub(crate) fn log_op(conn: &rusqlite::Connection, op: &Op, origin: &str) -> Result<()> {
    let body = serde_json::to_string(op).map_err(|e| Error::Invalid(e.to_string()))?;
    conn.execute(
        "INSERT INTO sync_ops (id, hlc, author, kind, record, body, origin)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (id) DO NOTHING",
        params![
            op.id,
            op.hlc.to_string(),
            op.author,
            op.kind(),
            record_of(&op.change),
            body,
            origin
        ],
    )?;
    Ok(())
}

/// The UUID an operation is about.
pub fn record_of(c: &Change) -> &str {
    match c {
        Change::PhotoAdded { photo, .. } => photo,
        Change::DetectionAdded { detection, .. }
        | Change::EmbeddingAdded { detection, .. }
        | Change::DetectionRemoved { detection, .. }
        | Change::DetectionRestored { detection } => detection,
        Change::IndividualCreated { individual, .. }
        | Change::IndividualRenamed { individual, .. } => individual,
        Change::IndividualsMerged { event, .. } | Change::MergeUndone { event } => event,
        Change::Decided { decision, .. } | Change::DecisionWithdrawn { decision } => decision,
        Change::AttributeSet { detection, .. } => detection,
        Change::OpinionGiven { opinion, .. } => opinion,
        Change::SecondReviewSwitched { switch, .. } => switch,
        Change::EncounterSet { encounter, .. } => encounter,
        Change::PhotoEncounter { photo, .. } => photo,
    }
}

/// Local operations the server has not acknowledged, oldest first.
pub fn unpushed(cat: &Catalogue, limit: usize) -> Result<Vec<Op>> {
    let mut stmt = cat.conn().prepare(
        "SELECT body FROM sync_ops WHERE origin = 'local' AND pushed = 0 ORDER BY seq LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit as i64], |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    for body in rows {
        out.push(serde_json::from_str(&body?).map_err(|e| Error::Catalogue {
            path: cat.root().to_path_buf(),
            reason: format!("sync_ops holds an unreadable operation: {e}"),
        })?);
    }
    Ok(out)
}

/// The operations logged after position `after` (the `seq` a pull reply
/// reports), oldest first, at most `limit`: what the server sends a laptop
/// that has applied up to `after`.
pub fn page_after(cat: &Catalogue, after: i64, limit: usize) -> Result<PullReply> {
    let mut stmt = cat
        .conn()
        .prepare("SELECT seq, body FROM sync_ops WHERE seq > ?1 ORDER BY seq LIMIT ?2")?;
    // One more than asked for says whether more wait.
    let rows: Vec<(i64, String)> = stmt
        .query_map(params![after, limit as i64 + 1], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let more = rows.len() > limit;
    let mut ops = Vec::with_capacity(rows.len().min(limit));
    let mut last_seq = after;
    for (seq, body) in rows.into_iter().take(limit) {
        ops.push(serde_json::from_str(&body).map_err(|e| Error::Catalogue {
            path: cat.root().to_path_buf(),
            reason: format!("sync_ops holds an unreadable operation at seq {seq}: {e}"),
        })?);
        last_seq = seq;
    }
    Ok(PullReply {
        ops,
        last_seq,
        more,
        pushed_by: Default::default(),
    })
}

/// The position of the latest operation logged here; 0 when none is.
pub fn last_seq(cat: &Catalogue) -> Result<i64> {
    Ok(cat
        .conn()
        .query_row("SELECT coalesce(max(seq), 0) FROM sync_ops", [], |r| {
            r.get(0)
        })?)
}

/// The server acknowledged these operations.
pub fn mark_pushed(cat: &mut Catalogue, ids: &[String]) -> Result<()> {
    cat.with_tx(|tx| {
        let mut stmt = tx
            .conn()
            .prepare_cached("UPDATE sync_ops SET pushed = 1 WHERE id = ?1")?;
        for id in ids {
            stmt.execute([id])?;
        }
        Ok(())
    })
}

fn f32_of(v: Option<f64>) -> Option<f32> {
    v.map(|x| x as f32)
}

/// An operation and the author its row names; `None` when the row is gone.
type Noted = Option<(Change, Option<String>)>;

/// The operation a noted change is, with the author the row names.
fn change_of(cat: &Catalogue, tbl: &str, row: i64, what: &str) -> Result<Noted> {
    let c = cat.conn();
    match (tbl, what) {
        ("photos", _) => photo_added(cat, row),
        ("detections", "remove") => detection_removed(c, row),
        ("detections", "restore") => detection_restored(c, row),
        ("detections", _) => detection_added(cat, row),
        ("embeddings", _) => embedding_added(c, row),
        ("individuals", "insert") => individual_created(c, row),
        ("individuals", _) => individual_renamed(c, row),
        ("identifications", "insert") => decided(c, row),
        ("identifications", _) => decision_withdrawn(c, row),
        ("individual_events", "insert") => individuals_merged(c, row),
        ("individual_events", _) => merge_undone(c, row),
        ("detection_attributes", _) => attribute_set(c, row),
        ("review_opinions", _) => super::opinions::opinion_given(c, row),
        ("second_review_switches", _) => super::opinions::switched(c, row),
        ("encounter_edits", _) => encounter_set(c, row),
        ("photo_encounters", _) => photo_encounter(c, row),
        (other, _) => Err(Error::Catalogue {
            path: cat.root().to_path_buf(),
            reason: format!("sync_outbox names table {other}, which is not synced"),
        }),
    }
}

/// The author a row names in column `i`, unless it is blank.
fn author_in(r: &rusqlite::Row, i: usize) -> rusqlite::Result<Option<String>> {
    Ok(r.get::<_, Option<String>>(i)?
        .filter(|a| !a.trim().is_empty()))
}

/// The sha256 of a media file's bytes, when it can be read.
fn media_sha(cat: &Catalogue, file: impl AsRef<std::path::Path>) -> Option<String> {
    std::fs::read(cat.media_dir().join(file))
        .ok()
        .map(|bytes| hex::encode(sha2::Sha256::digest(&bytes)))
}

fn photo_added(cat: &Catalogue, row: i64) -> Result<Noted> {
    let found = cat
        .conn()
        .query_row(
            "SELECT uuid, sha256, width, height, taken_at, latitude, longitude, imported_by
             FROM photos WHERE id = ?1",
            [row],
            |r| {
                Ok((
                    Change::PhotoAdded {
                        photo: r.get(0)?,
                        sha256: r.get(1)?,
                        width: r.get(2)?,
                        height: r.get(3)?,
                        taken_at: r.get(4)?,
                        latitude: r.get(5)?,
                        longitude: r.get(6)?,
                        thumb: None,
                    },
                    author_in(r, 7)?,
                ))
            },
        )
        .optional()?;
    Ok(found.map(|(mut change, author)| {
        // The thumbnail travels by content too.
        if let Change::PhotoAdded { sha256, thumb, .. } = &mut change {
            *thumb = media_sha(cat, crate::ingest::media::thumb_file(sha256));
        }
        (change, author)
    }))
}

fn detection_removed(c: &rusqlite::Connection, row: i64) -> Result<Noted> {
    Ok(c.query_row(
        "SELECT d.uuid, d.removed_by,
                (SELECT n.uuid FROM detections n WHERE n.replaces = d.id AND n.removed_at IS NULL
                 ORDER BY n.id DESC LIMIT 1)
         FROM detections d WHERE d.id = ?1",
        [row],
        |r| {
            Ok((
                Change::DetectionRemoved {
                    detection: r.get(0)?,
                    replaced_by: r.get(2)?,
                },
                author_in(r, 1)?,
            ))
        },
    )
    .optional()?)
}

fn detection_restored(c: &rusqlite::Connection, row: i64) -> Result<Noted> {
    Ok(
        c.query_row("SELECT uuid FROM detections WHERE id = ?1", [row], |r| {
            Ok((
                Change::DetectionRestored {
                    detection: r.get(0)?,
                },
                None,
            ))
        })
        .optional()?,
    )
}

fn detection_added(cat: &Catalogue, row: i64) -> Result<Noted> {
    let found = cat
        .conn()
        .query_row(
            "SELECT d.uuid, p.uuid, d.x1, d.y1, d.x2, d.y2, d.class, d.score, d.crop_file, d.species,
                    d.drawn_by, o.uuid
             FROM detections d JOIN photos p ON p.id = d.photo_id
             LEFT JOIN detections o ON o.id = d.replaces WHERE d.id = ?1",
            [row],
            |r| {
                let v = |i| r.get::<_, f64>(i).map(|x| x as f32);
                Ok((
                    Change::DetectionAdded {
                        detection: r.get(0)?,
                        photo: r.get(1)?,
                        bbox: [v(2)?, v(3)?, v(4)?, v(5)?],
                        class: r.get(6)?,
                        score: f32_of(r.get(7)?),
                        crop: None,
                        species: r.get(9)?,
                        drawn_by: r.get(10)?,
                        replaces: r.get(11)?,
                    },
                    r.get::<_, Option<String>>(8)?,
                ))
            },
        )
        .optional()?;
    Ok(found.map(|(mut change, crop_file)| {
        // The crop travels by content: name it by its sha256.
        let crop_sha = crop_file.and_then(|f| media_sha(cat, f));
        let mut by = None;
        if let Change::DetectionAdded { crop, drawn_by, .. } = &mut change {
            *crop = crop_sha;
            by = drawn_by.clone().filter(|a| !a.trim().is_empty());
        }
        (change, by)
    }))
}

fn embedding_added(c: &rusqlite::Connection, row: i64) -> Result<Noted> {
    Ok(c.query_row(
        "SELECT d.uuid, e.pack_name, e.pack_version, e.vector
         FROM embeddings e JOIN detections d ON d.id = e.detection_id WHERE e.id = ?1",
        [row],
        |r| {
            Ok((
                Change::EmbeddingAdded {
                    detection: r.get(0)?,
                    pack_name: r.get(1)?,
                    pack_version: r.get(2)?,
                    vector: crate::catalogue::records::blob_to_vector(&r.get::<_, Vec<u8>>(3)?),
                },
                None,
            ))
        },
    )
    .optional()?)
}

fn individual_created(c: &rusqlite::Connection, row: i64) -> Result<Noted> {
    Ok(c.query_row(
        "SELECT uuid, code, species FROM individuals WHERE id = ?1",
        [row],
        |r| {
            Ok((
                Change::IndividualCreated {
                    individual: r.get(0)?,
                    code: r.get(1)?,
                    species: r.get(2)?,
                },
                None,
            ))
        },
    )
    .optional()?)
}

fn individual_renamed(c: &rusqlite::Connection, row: i64) -> Result<Noted> {
    Ok(c.query_row(
        "SELECT uuid, code FROM individuals WHERE id = ?1",
        [row],
        |r| {
            Ok((
                Change::IndividualRenamed {
                    individual: r.get(0)?,
                    code: r.get(1)?,
                },
                None,
            ))
        },
    )
    .optional()?)
}

fn decided(c: &rusqlite::Connection, row: i64) -> Result<Noted> {
    Ok(c.query_row(
        "SELECT idn.uuid, d.uuid, ind.uuid, idn.verdict, idn.source, idn.score, idn.decided_by
         FROM identifications idn
         JOIN detections d ON d.id = idn.detection_id
         JOIN individuals ind ON ind.id = idn.individual_id
         WHERE idn.id = ?1",
        [row],
        |r| {
            let verdict = match r.get::<_, String>(3)?.as_str() {
                "rejected" => Verdict::Rejected,
                _ => Verdict::Confirmed,
            };
            let source = match r.get::<_, String>(4)?.as_str() {
                "import" => DecisionSource::Import,
                "model" => DecisionSource::Model,
                _ => DecisionSource::Person,
            };
            Ok((
                Change::Decided {
                    decision: r.get(0)?,
                    detection: r.get(1)?,
                    individual: r.get(2)?,
                    verdict,
                    source,
                    score: f32_of(r.get(5)?),
                },
                author_in(r, 6)?,
            ))
        },
    )
    .optional()?)
}

fn decision_withdrawn(c: &rusqlite::Connection, row: i64) -> Result<Noted> {
    Ok(c.query_row(
        "SELECT uuid FROM identifications WHERE id = ?1",
        [row],
        |r| {
            Ok((
                Change::DecisionWithdrawn {
                    decision: r.get(0)?,
                },
                None,
            ))
        },
    )
    .optional()?)
}

fn individuals_merged(c: &rusqlite::Connection, row: i64) -> Result<Noted> {
    Ok(c.query_row(
        "SELECT e.uuid, a.uuid, b.uuid, e.actor FROM individual_events e
         JOIN individuals a ON a.id = e.individual_id
         JOIN individuals b ON b.id = e.other_id
         WHERE e.id = ?1",
        [row],
        |r| {
            Ok((
                Change::IndividualsMerged {
                    event: r.get(0)?,
                    from: r.get(1)?,
                    into: r.get(2)?,
                },
                author_in(r, 3)?,
            ))
        },
    )
    .optional()?)
}

fn merge_undone(c: &rusqlite::Connection, row: i64) -> Result<Noted> {
    Ok(c.query_row(
        "SELECT uuid FROM individual_events WHERE id = ?1",
        [row],
        |r| Ok((Change::MergeUndone { event: r.get(0)? }, None)),
    )
    .optional()?)
}

fn attribute_set(c: &rusqlite::Connection, row: i64) -> Result<Noted> {
    Ok(c.query_row(
        "SELECT d.uuid, a.attribute, a.value, a.set_by FROM detection_attributes a
         JOIN detections d ON d.id = a.detection_id WHERE a.id = ?1",
        [row],
        |r| {
            Ok((
                Change::AttributeSet {
                    detection: r.get(0)?,
                    attribute: r.get(1)?,
                    value: r.get(2)?,
                },
                author_in(r, 3)?,
            ))
        },
    )
    .optional()?)
}

fn encounter_set(c: &rusqlite::Connection, row: i64) -> Result<Noted> {
    Ok(
        crate::catalogue::encounters::synced_field(c, row)?.map(|f| {
            let change = Change::EncounterSet {
                encounter: f.encounter,
                field: f.field.as_str().to_string(),
                value: f.value,
            };
            (change, f.by.filter(|a| !a.trim().is_empty()))
        }),
    )
}

fn photo_encounter(c: &rusqlite::Connection, row: i64) -> Result<Noted> {
    Ok(c.query_row(
        "SELECT p.uuid, e.uuid FROM photos p LEFT JOIN encounters e ON e.id = p.encounter_id
         WHERE p.id = ?1",
        [row],
        |r| {
            Ok((
                Change::PhotoEncounter {
                    photo: r.get(0)?,
                    encounter: r.get(1)?,
                },
                None,
            ))
        },
    )
    .optional()?)
}

/// Changes made here that the server has not received: logged and not
/// acknowledged, plus noted and not logged yet.
pub fn pending(cat: &Catalogue) -> Result<usize> {
    let n: i64 = cat.conn().query_row(
        "SELECT (SELECT count(*) FROM sync_ops WHERE origin = 'local' AND pushed = 0)
              + (SELECT count(*) FROM sync_outbox)",
        [],
        |r| r.get(0),
    )?;
    Ok(n as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A catalogue with `n` individuals created and logged as operations.
    fn logged(n: usize) -> (tempfile::TempDir, Catalogue) {
        let dir = tempfile::tempdir().unwrap();
        let mut cat = Catalogue::create(dir.path().join("c")).unwrap();
        for i in 0..n {
            cat.ensure_individual(&format!("A-{i:03}"), Some("humpback"))
                .unwrap();
        }
        assert_eq!(collect(&mut cat, "ana").unwrap(), n);
        (dir, cat)
    }

    #[test]
    fn pages_follow_each_other_until_nothing_more_waits() {
        let (_dir, cat) = logged(5);
        let first = page_after(&cat, 0, 2).unwrap();
        assert_eq!(first.ops.len(), 2);
        assert!(first.more);
        let second = page_after(&cat, first.last_seq, 2).unwrap();
        let third = page_after(&cat, second.last_seq, 2).unwrap();
        assert_eq!((second.ops.len(), second.more), (2, true));
        assert_eq!((third.ops.len(), third.more), (1, false));
        assert_eq!(third.last_seq, last_seq(&cat).unwrap());
        // The pages hold every operation once, in the order logged.
        let ids: Vec<String> = [&first, &second, &third]
            .iter()
            .flat_map(|p| p.ops.iter().map(|o| o.id.clone()))
            .collect();
        let all = unpushed(&cat, 100).unwrap();
        assert_eq!(ids, all.iter().map(|o| o.id.clone()).collect::<Vec<_>>());
        // Past the end: nothing, and the position stays.
        let past = page_after(&cat, third.last_seq, 2).unwrap();
        assert!(past.ops.is_empty() && !past.more);
        assert_eq!(past.last_seq, third.last_seq);
    }

    #[test]
    fn an_empty_log_is_at_position_zero() {
        let (_dir, cat) = logged(0);
        assert_eq!(last_seq(&cat).unwrap(), 0);
        let page = page_after(&cat, 0, 10).unwrap();
        assert!(page.ops.is_empty() && !page.more);
        assert_eq!(page.last_seq, 0);
    }

    #[test]
    fn an_unreadable_logged_operation_is_named_by_its_position() {
        let (_dir, cat) = logged(2);
        let seq = last_seq(&cat).unwrap();
        cat.conn()
            .execute(
                "UPDATE sync_ops SET body = '{not json' WHERE seq = ?1",
                [seq],
            )
            .unwrap();
        let text = page_after(&cat, 0, 10).unwrap_err().to_string();
        assert!(
            text.contains("unreadable operation") && text.contains(&format!("seq {seq}")),
            "{text}"
        );
        // The readable ones before it are still served.
        assert_eq!(page_after(&cat, 0, 1).unwrap().ops.len(), 1);
    }
}
