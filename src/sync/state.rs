//! What the planner needs to know of a catalogue ([`LocalState`]), read
//! from its tables and its operation log. Run [`super::log::collect`] first:
//! the timestamps of individuals' codes, merges and decisions come from
//! their operations.

use super::ops::{Change, Op, Verdict};
use super::plan::{
    moved_twice, moved_twice_removal, record_attribute, record_encounter_field, record_liveness,
    record_photo_encounter, AttributeState, DecisionState, DetectionKey, Liveness, LocalState,
    MergeEvent, Named, Replacement,
};
use crate::catalogue::Catalogue;
use crate::error::{Error, Result};

fn bad(cat: &Catalogue, reason: String) -> Error {
    Error::Catalogue {
        path: cat.root().to_path_buf(),
        reason,
    }
}

/// Read the catalogue's state for [`super::plan::plan`].
pub fn load(cat: &Catalogue) -> Result<LocalState> {
    let mut s = LocalState {
        pack_dims: crate::catalogue::vectors::known_dims(cat)?,
        ..LocalState::default()
    };
    load_records(cat, &mut s)?;
    // Everything timed comes from the log: the latest claim of each
    // individual, every merge and decision with when and by whom.
    for op in timed_ops(cat)? {
        replay(&mut s, op);
    }
    load_replacements(cat, &mut s)?;
    Ok(s)
}

/// The operations applied, and the records as the tables hold them:
/// photos, detections, embeddings and aliases.
fn load_records(cat: &Catalogue, s: &mut LocalState) -> Result<()> {
    let c = cat.conn();
    let mut stmt = c.prepare("SELECT id FROM sync_ops")?;
    for id in stmt.query_map([], |r| r.get::<_, String>(0))? {
        s.applied.insert(id?);
    }
    let mut stmt = c.prepare("SELECT uuid, sha256 FROM photos")?;
    for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))? {
        let (u, sha) = row?;
        s.photos.insert(u, sha);
    }
    let mut stmt = c.prepare(
        "SELECT d.uuid, p.uuid, d.x1, d.y1, d.x2, d.y2, d.class, d.drawn_by IS NOT NULL
         FROM detections d JOIN photos p ON p.id = d.photo_id",
    )?;
    let rows = stmt.query_map([], |r| {
        let v = |i| r.get::<_, f64>(i).map(|x| x as f32);
        Ok((
            r.get::<_, String>(0)?,
            DetectionKey {
                photo: r.get(1)?,
                bbox: [v(2)?, v(3)?, v(4)?, v(5)?],
                class: r.get(6)?,
                drawn: r.get(7)?,
            },
        ))
    })?;
    for row in rows {
        let (u, k) = row?;
        s.detections.insert(u, k);
    }
    let mut stmt = c.prepare(
        "SELECT d.uuid, e.pack_name, e.pack_version FROM embeddings e
         JOIN detections d ON d.id = e.detection_id",
    )?;
    for row in stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))? {
        s.embeddings.insert(row?);
    }
    super::opinions::load(c, s)?;
    let mut stmt = c.prepare("SELECT remote, local FROM sync_aliases")?;
    for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))? {
        let (remote, local) = row?;
        s.aliases.insert(remote, local);
    }
    Ok(())
}

/// The logged operations whose time matters, in timestamp order.
fn timed_ops(cat: &Catalogue) -> Result<Vec<Op>> {
    let mut stmt = cat.conn().prepare(
        "SELECT body FROM sync_ops
         WHERE kind IN ('individual_created', 'individual_renamed', 'individuals_merged',
                        'merge_undone', 'decided', 'decision_withdrawn',
                        'detection_removed', 'detection_restored', 'attribute_set',
                        'encounter_set', 'photo_encounter')
         ORDER BY hlc, id",
    )?;
    let ops = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .map(|b| {
            let b = b?;
            serde_json::from_str::<Op>(&b)
                .map_err(|e| bad(cat, format!("sync_ops holds an unreadable operation: {e}")))
        })
        .collect::<Result<_>>()?;
    Ok(ops)
}

/// Take one logged operation (in timestamp order) into the state.
fn replay(s: &mut LocalState, op: Op) {
    let resolve = |s: &LocalState, id: &str| s.aliases.get(id).cloned().unwrap_or(id.to_string());
    match op.change {
        Change::IndividualCreated {
            individual, code, ..
        } => {
            s.individuals.entry(individual).or_insert(Named {
                code,
                hlc: op.hlc,
                op: op.id,
            });
        }
        Change::IndividualRenamed { individual, code } => {
            // The latest claim, ties broken by operation UUID (as the planner).
            let newer = s
                .individuals
                .get(&individual)
                .is_none_or(|n| (n.hlc, n.op.as_str()) < (op.hlc, op.id.as_str()));
            if newer {
                s.individuals.insert(
                    individual,
                    Named {
                        code,
                        hlc: op.hlc,
                        op: op.id,
                    },
                );
            }
        }
        Change::IndividualsMerged { event, from, into } => {
            s.merges.insert(
                event,
                MergeEvent {
                    hlc: op.hlc,
                    op: op.id,
                    from,
                    into,
                    undone: false,
                },
            );
        }
        Change::MergeUndone { event } => {
            if let Some(m) = s.merges.get_mut(&event) {
                m.undone = true;
            }
        }
        Change::Decided {
            decision,
            detection,
            individual,
            verdict,
            ..
        } => {
            let detection = resolve(s, &detection);
            s.decisions.insert(
                decision,
                DecisionState {
                    hlc: op.hlc,
                    detection,
                    individual,
                    verdict,
                    author: op.author,
                    withdrawn: false,
                },
            );
        }
        Change::DecisionWithdrawn { decision } => {
            if let Some(d) = s.decisions.get_mut(&decision) {
                d.withdrawn = true;
            }
        }
        Change::DetectionRemoved { ref detection, .. }
        | Change::DetectionRestored { ref detection } => {
            let removed = matches!(op.change, Change::DetectionRemoved { .. });
            let detection = resolve(s, detection);
            record_liveness(
                s,
                &detection,
                Liveness {
                    hlc: op.hlc,
                    event: op.id,
                    removed,
                    by: op.author,
                },
            );
        }
        Change::AttributeSet {
            detection,
            attribute,
            value,
        } => {
            let detection = resolve(s, &detection);
            let set = AttributeState {
                hlc: op.hlc,
                op: op.id,
                value,
            };
            record_attribute(s, detection, attribute, set);
        }
        Change::EncounterSet {
            encounter,
            field,
            value,
        } => {
            let set = AttributeState {
                hlc: op.hlc,
                op: op.id,
                value,
            };
            record_encounter_field(s, encounter, field, set);
        }
        Change::PhotoEncounter { photo, encounter } => {
            let photo = resolve(s, &photo);
            let set = AttributeState {
                hlc: op.hlc,
                op: op.id,
                value: encounter,
            };
            record_photo_encounter(s, photo, set);
        }
        _ => {}
    }
}

/// The boxes made by moving or resizing another (with when they were added,
/// from the log), and the removals the moved-twice rule made among them.
fn load_replacements(cat: &Catalogue, s: &mut LocalState) -> Result<()> {
    let mut stmt = cat.conn().prepare(
        "SELECT d.uuid, o.uuid, d.x1, d.y1, d.x2, d.y2, op.hlc, op.author
         FROM detections d JOIN detections o ON o.id = d.replaces
         JOIN sync_ops op ON op.record = d.uuid AND op.kind = 'detection_added'",
    )?;
    let rows: Vec<(String, String, [f32; 4], String, String)> = stmt
        .query_map([], |r| {
            let v = |i| r.get::<_, f64>(i).map(|x| x as f32);
            Ok((
                r.get(0)?,
                r.get(1)?,
                [v(2)?, v(3)?, v(4)?, v(5)?],
                r.get(6)?,
                r.get(7)?,
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    for (new, replaces, bbox, hlc, author) in rows {
        let hlc = hlc
            .parse()
            .map_err(|e: String| bad(cat, format!("sync_ops: {e}")))?;
        s.replacements.insert(
            new,
            Replacement {
                replaces,
                hlc,
                bbox,
                author,
            },
        );
    }
    let news: Vec<String> = s.replacements.keys().cloned().collect();
    for new in news {
        for (kept, other) in moved_twice(s, &new) {
            let removal = moved_twice_removal(s, &kept);
            record_liveness(s, &other, removal);
        }
    }
    Ok(())
}

/// Used by tests and the applier: a verdict as stored.
pub fn verdict_text(v: Verdict) -> &'static str {
    match v {
        Verdict::Confirmed => "confirmed",
        Verdict::Rejected => "rejected",
    }
}

/// The catalogue's content as text, independent of local row ids and of
/// the order things arrived in: photos by their bytes, detections by photo
/// and box, embeddings, individuals with their codes and whom they are
/// merged into, each detection's current decision and every decision. Two
/// catalogues that synced the same operations give the same text.
pub fn canonical(cat: &Catalogue) -> Result<String> {
    let rows = |sql: &str| -> Result<Vec<String>> {
        let mut stmt = cat.conn().prepare(sql)?;
        let n = stmt.column_count();
        let mut out: Vec<String> = stmt
            .query_map([], |r| {
                (0..n)
                    .map(|i| r.get_ref(i).map(|v| format!("{v:?}")))
                    .collect::<rusqlite::Result<Vec<_>>>()
                    .map(|v| v.join(" | "))
            })?
            .collect::<rusqlite::Result<_>>()?;
        out.sort();
        Ok(out)
    };
    let parts = [
        rows("SELECT sha256, width, height FROM photos")?,
        rows(
            "SELECT p.sha256, d.x1, d.y1, d.x2, d.y2, d.class, d.drawn_by, d.removed_at IS NULL
             FROM detections d JOIN photos p ON p.id = d.photo_id",
        )?,
        rows(
            "SELECT p.sha256, d.x1, d.y1, e.pack_name, e.pack_version, hex(e.vector) FROM embeddings e
             JOIN detections d ON d.id = e.detection_id JOIN photos p ON p.id = d.photo_id",
        )?,
        rows(
            "SELECT i.uuid, i.code, i.species, m.uuid FROM individuals i
             LEFT JOIN individuals m ON m.id = i.merged_into",
        )?,
        rows(
            "SELECT p.sha256, d.x1, d.y1, ind.uuid, idn.verdict FROM identifications idn
             JOIN detections d ON d.id = idn.detection_id JOIN photos p ON p.id = d.photo_id
             JOIN individuals ind ON ind.id = idn.individual_id
             WHERE idn.superseded_by IS NULL AND idn.withdrawn_at IS NULL",
        )?,
        rows("SELECT uuid, verdict, withdrawn_at IS NOT NULL FROM identifications")?,
        rows("SELECT uuid, undone_at IS NOT NULL FROM individual_events WHERE kind = 'merge'")?,
        rows(
            "SELECT p.sha256, d.x1, d.y1, a.attribute, a.value, a.set_by FROM detection_attributes a
             JOIN detections d ON d.id = a.detection_id JOIN photos p ON p.id = d.photo_id",
        )?,
        rows(
            "SELECT o.uuid, o.case_uuid, p.sha256, d.x1, d.y1, o.round, o.choice, i.uuid, o.given_by
             FROM review_opinions o JOIN detections d ON d.id = o.detection_id
             JOIN photos p ON p.id = d.photo_id LEFT JOIN individuals i ON i.id = o.individual_id",
        )?,
        rows("SELECT uuid, required, set_by FROM second_review_switches")?,
        rows(
            "SELECT e.uuid, e.started_at, e.ended_at, e.location, e.latitude, e.longitude,
                    e.observers, e.vessel, e.group_best, e.group_min, e.group_max, e.behaviour,
                    e.notes, e.survey, j.uuid
             FROM encounters e LEFT JOIN encounters j ON j.id = e.joined_into
             WHERE EXISTS (SELECT 1 FROM encounter_edits x WHERE x.encounter_id = e.id)
                OR EXISTS (SELECT 1 FROM photos p WHERE p.encounter_id = e.id)",
        )?,
        rows(
            "SELECT p.sha256, e.uuid FROM photos p JOIN encounters e ON e.id = p.encounter_id",
        )?,
    ];
    Ok(parts
        .iter()
        .map(|p| p.join("\n"))
        .collect::<Vec<_>>()
        .join("\n--\n"))
}

/// A conflict in words, with the codes and photos a person knows.
pub fn describe(cat: &Catalogue, conflict: &super::plan::Conflict) -> Result<String> {
    use super::plan::Conflict;
    use rusqlite::OptionalExtension;
    let c = cat.conn();
    // A received decision's author with the account that pushed it.
    let account = super::accounts::account_column(c, "decided", "idn.uuid")?;
    let decision = |uuid: &str| -> Result<String> {
        Ok(c.query_row(
            &format!(
                "SELECT ind.code, coalesce(idn.decided_by, idn.source), {account}
                 FROM identifications idn
                 JOIN individuals ind ON ind.id = idn.individual_id WHERE idn.uuid = ?1"
            ),
            [uuid],
            |r| {
                let by = r.get::<_, String>(1)?;
                let account = r.get::<_, Option<String>>(2)?;
                Ok(format!(
                    "{} by {}",
                    r.get::<_, String>(0)?,
                    super::accounts::shown_author(Some(&by), account.as_deref()).unwrap_or(by)
                ))
            },
        )
        .optional()?
        .unwrap_or_else(|| format!("decision {uuid}")))
    };
    let box_name = |uuid: &str| -> Result<String> {
        Ok(c.query_row(
            "SELECT CASE WHEN p.original_path = '' THEN substr(p.sha256, 1, 12)
                         ELSE p.original_path END, d.id
             FROM detections d JOIN photos p ON p.id = d.photo_id WHERE d.uuid = ?1",
            [uuid],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)),
        )
        .optional()?
        .map_or_else(
            || format!("detection {uuid}"),
            |(photo, id)| {
                let name = std::path::Path::new(&photo)
                    .file_name()
                    .map_or(photo.clone(), |n| n.to_string_lossy().into_owned());
                format!("{name} #{id}")
            },
        ))
    };
    Ok(match conflict {
        Conflict::Decisions {
            detection,
            current,
            other,
        } => {
            let photo: String = c
                .query_row(
                    "SELECT CASE WHEN p.original_path = '' THEN substr(p.sha256, 1, 12)
                                 ELSE p.original_path END
                     FROM detections d JOIN photos p ON p.id = d.photo_id WHERE d.uuid = ?1",
                    [detection],
                    |r| r.get(0),
                )
                .optional()?
                .unwrap_or_else(|| detection.clone());
            let name = std::path::Path::new(&photo)
                .file_name()
                .map_or(photo.clone(), |n| n.to_string_lossy().into_owned());
            format!(
                "{name}: {} counts (the later decision) over {}; both are kept",
                decision(current)?,
                decision(other)?
            )
        }
        Conflict::RemovedBox {
            detection,
            decision: d,
        } => format!(
            "{}: a box identified as {} was removed on another laptop; the decision is kept with the removed box (restore the box, or decide on the box that replaced it)",
            box_name(detection)?,
            decision(d)?
        ),
        Conflict::BoxMoves { kept, other, .. } => format!(
            "{}: one box was moved on two laptops; the later move stays and the other box ({}) was removed (restore it if both are right)",
            box_name(kept)?,
            box_name(other)?
        ),
        Conflict::CodeClash {
            code, renamed_to, ..
        } => format!(
            "two individuals were created as {code}: one keeps it, the other is now {renamed_to}; merge them if they are the same animal"
        ),
    })
}
