//! The applier: carry out a plan on the catalogue, in one transaction.
//!
//! [`receive`] reads the catalogue's state, plans the incoming operations
//! ([`super::plan::plan`]), performs the actions and logs every operation it
//! did not refuse, all or nothing: a crash mid-apply leaves the catalogue as
//! it was, and receiving the same operations again finishes the job. While
//! it runs, the capture triggers are switched off (`sync_applying`), so what
//! arrives is not sent back as a local change.
//!
//! Decisions are stored as they come; which one is current for a detection
//! is then set from their timestamps ([`rematerialize`]): the latest not
//! withdrawn, the others chained behind it, as local decisions are. The
//! codes individuals show are set from all claims after every batch
//! ([`settle_codes`]), so a row whose code drifted (a clash code of an
//! earlier WhaleID) cannot collide with the codes the planner gives.
//!
//! An operation that the planner lets through but that breaks a rule of the
//! database (a unique key) cannot fail the whole batch: the batch is then
//! applied one operation at a time, and each one that breaks a rule is
//! refused with SQLite's reason, like any other refusal. A server never
//! answers such a push with an error the laptop would meet on every retry,
//! and a laptop never stops pulling at it.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rusqlite::{params, Connection, OptionalExtension};

use super::hlc::Hlc;
use super::log::log_op;
use super::ops::{Change, Op};
use super::plan::{batch_order, resolve_codes, simulate, Action, LocalState, Plan};
use super::state::{self, verdict_text};
use crate::catalogue::encounters::{set_photo_encounter, store_field, Field};
use crate::catalogue::records::vector_to_blob;
use crate::catalogue::sql::NOW;
use crate::catalogue::Catalogue;
use crate::error::{Error, Result};

fn id_of(c: &Connection, table: &str, uuid: &str) -> Result<i64> {
    c.query_row(
        &format!("SELECT id FROM {table} WHERE uuid = ?1"),
        [uuid],
        |r| r.get(0),
    )
    .optional()?
    .ok_or_else(|| Error::Invalid(format!("{table} {uuid} is not in this catalogue")))
}

/// Plan `ops` against the catalogue and apply the plan. Returns the plan
/// (what was done, what was refused, the conflicts to look at). Local
/// changes not yet logged are logged first (by `author`), so the plan sees
/// everything the catalogue holds.
pub fn receive(cat: &mut Catalogue, ops: &[Op], author: &str) -> Result<Plan> {
    receive_with(cat, ops, author, &mut None)
}

/// [`receive`], keeping the catalogue's planner state in `cache` between
/// calls: a server applying push after push, or a client applying pulled
/// batch after batch, then reads the catalogue once instead of once a batch.
/// The cache is dropped whenever something else may have changed the
/// catalogue (local changes were logged, or applying failed).
pub fn receive_with(
    cat: &mut Catalogue,
    ops: &[Op],
    author: &str,
    cache: &mut Option<LocalState>,
) -> Result<Plan> {
    if super::log::collect(cat, author)? > 0 {
        *cache = None;
    }
    let local = match cache.take() {
        Some(s) => s,
        None => state::load(cat)?,
    };
    match apply_plan(cat, &local, ops) {
        Ok((plan, next)) => {
            *cache = Some(next);
            Ok(plan)
        }
        // Rolled back: the catalogue is still what `local` says.
        Err(e) if breaks_a_rule(&e) => one_at_a_time(cat, local, ops, cache),
        Err(e) => Err(e),
    }
}

/// Whether applying failed because of what an operation holds (a unique
/// key taken, a record the plan expected and the database lacks), not
/// because of the machine (a full disk, a locked file): refusing the
/// operation is then the answer, not failing the sync.
fn breaks_a_rule(e: &Error) -> bool {
    use rusqlite::ErrorCode;
    match e {
        Error::Sql(rusqlite::Error::SqliteFailure(f, _)) => matches!(
            f.code,
            ErrorCode::ConstraintViolation | ErrorCode::TypeMismatch | ErrorCode::TooBig
        ),
        Error::Invalid(_) | Error::NotFound(_) => true,
        _ => false,
    }
}

/// Apply `ops` one at a time in the planner's order, refusing each one
/// that breaks a rule of the database (with the reason) and applying the
/// others; what depends on a refused one is then refused by the planner.
fn one_at_a_time(
    cat: &mut Catalogue,
    mut state: LocalState,
    ops: &[Op],
    cache: &mut Option<LocalState>,
) -> Result<Plan> {
    let mut ordered: Vec<&Op> = ops.iter().collect();
    ordered.sort_by(|a, b| batch_order(a, b));
    let mut out = Plan::default();
    for op in ordered {
        match apply_plan(cat, &state, std::slice::from_ref(op)) {
            Ok((plan, next)) => {
                out.actions.extend(plan.actions);
                out.conflicts.extend(plan.conflicts);
                state = next;
            }
            Err(e) if breaks_a_rule(&e) => out.actions.push(Action::Refuse {
                op: op.id.clone(),
                reason: format!("it cannot be stored in this catalogue: {e}"),
            }),
            Err(e) => return Err(e),
        }
    }
    *cache = Some(state);
    Ok(out)
}

/// Plan `ops` against `local` and carry the plan out in one transaction;
/// the plan and the state after it.
fn apply_plan(cat: &mut Catalogue, local: &LocalState, ops: &[Op]) -> Result<(Plan, LocalState)> {
    let (plan, next) = simulate(local, ops);
    // In the planner's order: of two operations sent under one id, the one
    // it took (the first) is the one carried out and logged.
    let mut ordered: Vec<&Op> = ops.iter().collect();
    ordered.sort_by(|a, b| batch_order(a, b));
    let mut by_id: HashMap<&str, &Op> = HashMap::with_capacity(ordered.len());
    for op in &ordered {
        by_id.entry(op.id.as_str()).or_insert(op);
    }
    let times: HashMap<String, Hlc> = next
        .decisions
        .iter()
        .map(|(id, d)| (id.clone(), d.hlc))
        .collect();
    let refused: BTreeSet<&str> = plan
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::Refuse { op, .. } => Some(op.as_str()),
            _ => None,
        })
        .collect();
    let codes = resolve_codes(&next.individuals);
    cat.with_tx(|tx| {
        let c = tx.conn();
        c.execute("INSERT INTO sync_applying (applying) VALUES (1)", [])?;
        let mut touched = BTreeSet::new();
        for action in &plan.actions {
            perform(c, action, &by_id, &mut touched)?;
        }
        settle_codes(c, &codes)?;
        for detection in &touched {
            rematerialize(c, detection, &times)?;
        }
        for op in ordered.iter().filter(|o| !refused.contains(o.id.as_str())) {
            log_op(c, op, "remote")?;
        }
        c.execute("DELETE FROM sync_applying", [])?;
        Ok(())
    })?;
    Ok((plan, next))
}

/// Carry out one action of the plan. `ops` are the incoming operations by
/// id; the detections whose decisions changed are added to `touched`.
fn perform(
    c: &Connection,
    action: &Action,
    ops: &HashMap<&str, &Op>,
    touched: &mut BTreeSet<String>,
) -> Result<()> {
    let op = |id: &str| -> &Op { ops[id] };
    match action {
        Action::AlreadyApplied { .. }
        | Action::Refuse { .. }
        | Action::EmbeddingPresent { .. }
        | Action::Rename { .. }
        | Action::StaleRename { .. }
        | Action::StaleLiveness { .. }
        | Action::StaleAttribute { .. }
        | Action::StaleEncounter { .. } => Ok(()),
        Action::SetEncounterField {
            op: id,
            encounter,
            field,
            value,
        } => {
            let field = Field::parse(field).map_err(Error::Invalid)?;
            let (by, at) = (&op(id).author, op(id).hlc.millis as i64);
            store_field(c, encounter, field, value.as_deref(), by, at)
        }
        Action::SetPhotoEncounter {
            photo, encounter, ..
        } => set_photo_encounter(c, photo, encounter.as_deref()),
        Action::SetAttribute {
            op: id,
            detection,
            attribute,
            value,
        } => set_attribute(c, op(id), detection, attribute, value.as_deref()),
        Action::AddOpinion {
            op: id, detection, ..
        } => super::opinions::add_opinion(c, op(id), detection),
        Action::SwitchSecondReview { op: id } => super::opinions::add_switch(c, op(id)),
        Action::RemoveDetection { detection, by, .. } => remove_detection(c, detection, by),
        Action::RestoreDetection { detection, .. } => restore_detection(c, detection),
        Action::AddPhoto { op: id, .. } => add_photo(c, op(id)),
        Action::SamePhoto { remote, local, .. } => alias(c, remote, local, "photo"),
        Action::AddDetection {
            op: id,
            detection,
            photo,
        } => add_detection(c, op(id), detection, photo),
        Action::SameDetection { remote, local, .. } => alias(c, remote, local, "detection"),
        Action::AddEmbedding { op: id, detection } => add_embedding(c, op(id), detection),
        Action::CreateIndividual { op: id, individual } => create_individual(c, op(id), individual),
        Action::RecordMerge {
            op: id,
            event,
            from,
            into,
        } => record_merge(c, op(id), event, from, into),
        Action::UndoMerge { event, .. } => undo_merge(c, event),
        Action::ResolveMerges { merged_into } => resolve_merges(c, merged_into),
        // Settled from every claim once all actions are done (settle_codes).
        Action::ResolveCodes { .. } => Ok(()),
        Action::Decide {
            op: id,
            decision,
            detection,
            individual,
            ..
        } => decide(c, op(id), decision, detection, individual, touched),
        Action::Withdraw { decision, .. } => {
            touched.insert(withdraw(c, decision)?);
            Ok(())
        }
    }
}

fn remove_detection(c: &Connection, detection: &str, by: &str) -> Result<()> {
    c.execute(
        &format!(
            "UPDATE detections SET removed_at = {NOW}, removed_by = ?2, updated_at = {NOW}
             WHERE uuid = ?1 AND removed_at IS NULL"
        ),
        [detection, by],
    )?;
    Ok(())
}

/// The latest setting of a detection's attribute: who set it, and when
/// (its operation's timestamp, so every catalogue shows the same time).
fn set_attribute(
    c: &Connection,
    op: &Op,
    detection: &str,
    attribute: &str,
    value: Option<&str>,
) -> Result<()> {
    let detection_id = id_of(c, "detections", detection)?;
    c.execute(
        "INSERT INTO detection_attributes (detection_id, attribute, value, set_by, set_at)
         VALUES (?1, ?2, ?3, ?4, strftime('%Y-%m-%dT%H:%M:%fZ', ?5 / 1000.0, 'unixepoch'))
         ON CONFLICT (detection_id, attribute) DO UPDATE
         SET value = excluded.value, set_by = excluded.set_by, set_at = excluded.set_at",
        params![
            detection_id,
            attribute,
            value,
            op.author,
            op.hlc.millis as i64
        ],
    )?;
    Ok(())
}

fn restore_detection(c: &Connection, detection: &str) -> Result<()> {
    c.execute(
        &format!(
            "UPDATE detections SET removed_at = NULL, removed_by = NULL, updated_at = {NOW}
             WHERE uuid = ?1 AND removed_at IS NOT NULL"
        ),
        [detection],
    )?;
    Ok(())
}

/// `remote` (a photo or detection from elsewhere) is `local` here.
fn alias(c: &Connection, remote: &str, local: &str, kind: &str) -> Result<()> {
    c.execute(
        "INSERT OR IGNORE INTO sync_aliases (remote, local, kind) VALUES (?1, ?2, ?3)",
        [remote, local, kind],
    )?;
    Ok(())
}

fn add_photo(c: &Connection, op: &Op) -> Result<()> {
    if let Change::PhotoAdded {
        photo,
        sha256,
        width,
        height,
        taken_at,
        latitude,
        longitude,
        ..
    } = &op.change
    {
        // Only the record travels: the original file is not here.
        c.execute(
            "INSERT INTO photos (uuid, sha256, original_path, byte_size, width, height,
                                 taken_at, latitude, longitude)
             VALUES (?1, ?2, '', 0, ?3, ?4, ?5, ?6, ?7)",
            params![photo, sha256, width, height, taken_at, latitude, longitude],
        )?;
    }
    Ok(())
}

fn add_detection(c: &Connection, op: &Op, detection: &str, photo: &str) -> Result<()> {
    let Change::DetectionAdded {
        bbox,
        class,
        score,
        crop,
        species,
        drawn_by,
        replaces,
        ..
    } = &op.change
    else {
        return Ok(());
    };
    let photo_id = id_of(c, "photos", photo)?;
    let replaces = match replaces {
        Some(r) => Some(id_of(c, "detections", &local_of(c, r)?)?),
        None => None,
    };
    let [x1, y1, x2, y2] = bbox.map(f64::from);
    // Named by content; the file itself is fetched after the records (see
    // `super::media`).
    let crop_file = crop.as_ref().map(|sha| super::media::crop_path(sha));
    c.execute(
        "INSERT INTO detections (uuid, photo_id, x1, y1, x2, y2, class, score, crop_file,
                                 species, drawn_by, replaces)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
            detection,
            photo_id,
            x1,
            y1,
            x2,
            y2,
            class,
            score.map(f64::from),
            crop_file,
            species,
            drawn_by,
            replaces
        ],
    )?;
    Ok(())
}

/// The record here that a UUID from elsewhere was recognised as (itself
/// when it was not).
fn local_of(c: &Connection, remote: &str) -> Result<String> {
    Ok(c.query_row(
        "SELECT local FROM sync_aliases WHERE remote = ?1",
        [remote],
        |row| row.get(0),
    )
    .optional()?
    .unwrap_or_else(|| remote.to_string()))
}

fn add_embedding(c: &Connection, op: &Op, detection: &str) -> Result<()> {
    if let Change::EmbeddingAdded {
        pack_name,
        pack_version,
        vector,
        ..
    } = &op.change
    {
        let detection_id = id_of(c, "detections", detection)?;
        c.execute(
            "INSERT INTO embeddings (uuid, detection_id, pack_name, pack_version, dim, vector)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                crate::catalogue::new_uuid(),
                detection_id,
                pack_name,
                pack_version,
                vector.len() as i64,
                vector_to_blob(vector)
            ],
        )?;
    }
    Ok(())
}

/// A code no claim can take (claims are printable), holding an
/// individual's place until [`settle_codes`] gives it its own.
fn placeholder(individual: &str) -> String {
    format!("\u{1}{individual}")
}

fn create_individual(c: &Connection, op: &Op, individual: &str) -> Result<()> {
    if let Change::IndividualCreated { species, .. } = &op.change {
        c.execute(
            "INSERT INTO individuals (uuid, code, species) VALUES (?1, ?2, ?3)",
            params![individual, placeholder(individual), species],
        )?;
    }
    Ok(())
}

fn record_merge(c: &Connection, op: &Op, event: &str, from: &str, into: &str) -> Result<()> {
    let (a, b) = (
        id_of(c, "individuals", from)?,
        id_of(c, "individuals", into)?,
    );
    c.execute(
        "INSERT INTO individual_events (uuid, kind, individual_id, other_id, actor)
         VALUES (?1, 'merge', ?2, ?3, ?4)",
        params![event, a, b, op.author],
    )?;
    Ok(())
}

fn undo_merge(c: &Connection, event: &str) -> Result<()> {
    c.execute(
        &format!(
            "UPDATE individual_events SET undone_at = {NOW}, updated_at = {NOW}
             WHERE uuid = ?1 AND undone_at IS NULL"
        ),
        [event],
    )?;
    Ok(())
}

/// Set every individual's `merged_into` from the planner's resolution.
fn resolve_merges(c: &Connection, merged_into: &BTreeMap<String, String>) -> Result<()> {
    c.execute(
        &format!(
            "UPDATE individuals SET merged_into = NULL, updated_at = {NOW}
             WHERE merged_into IS NOT NULL"
        ),
        [],
    )?;
    for (from, into) in merged_into {
        let into = id_of(c, "individuals", into)?;
        c.execute(
            &format!("UPDATE individuals SET merged_into = ?2, updated_at = {NOW} WHERE uuid = ?1"),
            params![from, into],
        )?;
    }
    Ok(())
}

/// Give every individual the code [`resolve_codes`] says it shows, where
/// its row says otherwise: first all of those out of the way (under
/// placeholders), so no two rows share a code midway.
fn settle_codes(c: &Connection, codes: &BTreeMap<String, String>) -> Result<()> {
    let differ: Vec<(String, &String)> = {
        let mut stmt = c.prepare("SELECT uuid, code FROM individuals")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (uuid, code) = row?;
            if let Some(want) = codes.get(&uuid).filter(|w| **w != code) {
                out.push((uuid, want));
            }
        }
        out
    };
    let mut stmt = c.prepare("UPDATE individuals SET code = ?2 WHERE uuid = ?1")?;
    for (uuid, _) in &differ {
        stmt.execute([uuid.as_str(), placeholder(uuid).as_str()])?;
    }
    let mut stmt = c.prepare(&format!(
        "UPDATE individuals SET code = ?2, updated_at = {NOW} WHERE uuid = ?1"
    ))?;
    for (uuid, code) in &differ {
        stmt.execute([uuid.as_str(), code.as_str()])?;
    }
    Ok(())
}

/// Store a decision, out of the "current" chain: [`rematerialize`] places
/// it once every action is done (`detection` is added to `touched`).
fn decide(
    c: &Connection,
    op: &Op,
    decision: &str,
    detection: &str,
    individual: &str,
    touched: &mut BTreeSet<String>,
) -> Result<()> {
    let Change::Decided {
        verdict,
        source,
        score,
        ..
    } = &op.change
    else {
        return Ok(());
    };
    let detection_id = id_of(c, "detections", detection)?;
    let individual_id = id_of(c, "individuals", individual)?;
    let source = serde_json::to_value(source)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_else(|| "person".into());
    // Out of the "current" index until rematerialize places it.
    let placeholder: Option<i64> = c
        .query_row(
            "SELECT id FROM identifications WHERE detection_id = ?1 LIMIT 1",
            [detection_id],
            |r| r.get(0),
        )
        .optional()?;
    c.execute(
        "INSERT INTO identifications (uuid, detection_id, individual_id, verdict, source,
                                      decided_by, score, superseded_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            decision,
            detection_id,
            individual_id,
            verdict_text(*verdict),
            source,
            op.author,
            score.map(f64::from),
            placeholder
        ],
    )?;
    touched.insert(detection.to_string());
    Ok(())
}

/// Withdraw a decision; returns its detection (to rematerialize).
fn withdraw(c: &Connection, decision: &str) -> Result<String> {
    c.execute(
        &format!(
            "UPDATE identifications SET withdrawn_at = {NOW}, updated_at = {NOW}
             WHERE uuid = ?1 AND withdrawn_at IS NULL"
        ),
        [decision],
    )?;
    Ok(c.query_row(
        "SELECT d.uuid FROM identifications i JOIN detections d ON d.id = i.detection_id
         WHERE i.uuid = ?1",
        [decision],
        |r| r.get(0),
    )?)
}

/// Chain a detection's decisions by timestamp: the latest not withdrawn is
/// current (`superseded_by` NULL); each earlier one points at the next; a
/// withdrawn one after the current points at it.
pub(crate) fn rematerialize(
    c: &Connection,
    detection: &str,
    times: &HashMap<String, Hlc>,
) -> Result<()> {
    let detection_id = id_of(c, "detections", detection)?;
    let mut rows: Vec<(i64, String, bool)> = {
        let mut stmt = c.prepare(
            "SELECT id, uuid, withdrawn_at IS NOT NULL FROM identifications WHERE detection_id = ?1",
        )?;
        let rows = stmt.query_map([detection_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let zero = Hlc {
        millis: 0,
        counter: 0,
        node: 0,
    };
    // Timestamp, then UUID, as the planner orders them: never the local row
    // id, which differs between catalogues.
    rows.sort_by(|(_, a, _), (_, b, _)| {
        let at = |u: &String| times.get(u).copied().unwrap_or(zero);
        (at(a), a).cmp(&(at(b), b))
    });
    let current = rows.iter().rposition(|r| !r.2);
    // Everyone out of the unique "current" index first.
    c.execute(
        "UPDATE identifications SET superseded_by = id WHERE detection_id = ?1",
        [detection_id],
    )?;
    let mut last = None;
    for (i, (id, _, _)) in rows.iter().enumerate() {
        let next = match current {
            Some(cur) if i == cur => {
                last = Some(*id);
                continue;
            }
            Some(cur) if i > cur => Some(rows[cur].0),
            _ => rows.get(i + 1).map(|r| r.0),
        };
        if next.is_none() {
            last = Some(*id);
            continue;
        }
        c.execute(
            "UPDATE identifications SET superseded_by = ?2 WHERE id = ?1",
            params![id, next],
        )?;
    }
    if let Some(id) = last {
        c.execute(
            "UPDATE identifications SET superseded_by = NULL WHERE id = ?1",
            [id],
        )?;
    }
    Ok(())
}

#[cfg(test)]
#[path = "apply_tests.rs"]
mod tests;
