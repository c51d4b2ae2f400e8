//! Individuals, and the operations researchers do on them: create, rename,
//! merge two that turned out to be one animal, split one that turned out to
//! be two — each recorded as an event that can be undone.
//!
//! A merge does not rewrite identifications: the merged individual points at
//! the one it joined (`merged_into`) and everything resolves through that
//! pointer, so undoing it is clearing the pointer. A split moves chosen
//! detections to a new individual by recording new decisions (the old ones
//! stay in the history); undoing it records decisions back.

use std::collections::HashMap;

use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::records::Source;
use super::sql::NOW;
use super::{new_uuid, Catalogue};
use crate::error::{Error, Result};

/// An individual animal.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Individual {
    pub id: i64,
    pub uuid: String,
    pub code: String,
    pub name: Option<String>,
    pub species: Option<String>,
    pub sex: Option<String>,
    pub notes: Option<String>,
    pub merged_into: Option<i64>,
}

/// A recorded merge, split, rename or undo.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    pub id: i64,
    pub kind: String,
    pub individual_id: i64,
    pub other_id: Option<i64>,
    pub payload: String,
    pub actor: Option<String>,
    /// For a merge received through sync, the server account that pushed
    /// it (`actor` is the author it claims); `None` for an edit made here.
    pub actor_account: Option<String>,
    pub undone_at: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct SplitPayload {
    /// `(detection, individual it showed before, decision made by the split)`
    moved: Vec<(i64, i64, i64)>,
}

#[derive(Debug, Serialize, Deserialize)]
struct RenamePayload {
    old: String,
    new: String,
    /// Set on the rename that undid another (which is not undone in turn).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    undo_of: Option<i64>,
}

/// Whether an event is the undo of another: `Some(the event it undid, when
/// recorded)`. Only merges, splits and renames can be undone, not their undo.
pub fn undo_of(e: &Event) -> Option<Option<i64>> {
    let payload = || {
        serde_json::from_str::<serde_json::Value>(&e.payload)
            .ok()
            .and_then(|v| v["undo_of"].as_i64())
    };
    match e.kind.as_str() {
        "unmerge" | "unsplit" => Some(payload()),
        "rename" => payload().map(Some),
        _ => None,
    }
}

pub(crate) const INDIVIDUAL_COLUMNS: &str =
    "id, uuid, code, name, species, sex, notes, merged_into";

pub(crate) fn individual_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Individual> {
    Ok(Individual {
        id: r.get(0)?,
        uuid: r.get(1)?,
        code: r.get(2)?,
        name: r.get(3)?,
        species: r.get(4)?,
        sex: r.get(5)?,
        notes: r.get(6)?,
        merged_into: r.get(7)?,
    })
}

impl Catalogue {
    /// The individual with this code, UUID or alias, or this id in `#12` form.
    pub fn individual(&self, key: &str) -> Result<Individual> {
        let by_id = key.strip_prefix('#').and_then(|n| n.parse::<i64>().ok());
        let sql = format!(
            "SELECT {INDIVIDUAL_COLUMNS} FROM individuals
             WHERE id = ?2 OR code = ?1 OR uuid = ?1
                OR id = (SELECT individual_id FROM individual_aliases WHERE alias = ?1 ORDER BY id LIMIT 1)
             ORDER BY code = ?1 DESC LIMIT 1"
        );
        self.conn()
            .query_row(&sql, params![key, by_id], individual_row)
            .optional()?
            .ok_or_else(|| Error::NotFound(format!("no individual {key:?} in the catalogue")))
    }

    pub fn individual_by_id(&self, id: i64) -> Result<Individual> {
        self.individual(&format!("#{id}"))
    }

    /// The individual `id` counts as now: itself, or the end of its merge chain.
    pub fn resolve(&self, id: i64) -> Result<i64> {
        let mut current = id;
        for _ in 0..10_000 {
            let next: Option<i64> = self.conn().query_row(
                "SELECT merged_into FROM individuals WHERE id = ?1",
                [current],
                |r| r.get(0),
            )?;
            match next {
                Some(n) => current = n,
                None => return Ok(current),
            }
        }
        Err(Error::Invalid(format!(
            "individual #{id}: merge chain does not end"
        )))
    }

    /// Every individual's code and species by id, merged ones included:
    /// a gallery or a trained head may still name a merged individual's id,
    /// and it has to be shown by its code.
    pub fn individual_codes(&self) -> Result<HashMap<i64, (String, Option<String>)>> {
        let mut stmt = self
            .conn()
            .prepare("SELECT id, code, species FROM individuals")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Create an individual, or return the existing one with this code.
    pub fn ensure_individual(&mut self, code: &str, species: Option<&str>) -> Result<i64> {
        self.with_tx(|tx| tx.ensure_individual(code, species))
    }

    /// Which way to merge two individuals by default: `(from, into)`, where
    /// `into` (the one kept) has more sightings, or on a tie is the older
    /// (created first, then the lower id). Merging a throwaway code made
    /// during review into the long-known animal is then the default, from
    /// whichever of the two pages the merge starts.
    pub fn merge_direction(&self, a_id: i64, b_id: i64) -> Result<(i64, i64)> {
        let rank = |id: i64| -> Result<(usize, String, i64)> {
            let id = self.resolve(self.individual_by_id(id)?.id)?;
            let created: String = self.conn().query_row(
                "SELECT created_at FROM individuals WHERE id = ?1",
                [id],
                |r| r.get(0),
            )?;
            Ok((self.detections_of(id)?.len(), created, id))
        };
        let (a, b) = (rank(a_id)?, rank(b_id)?);
        if a.2 == b.2 {
            return Err(Error::Invalid(format!(
                "#{a_id} and #{b_id} are already the same individual"
            )));
        }
        // More sightings wins; then the earlier creation, then the lower id.
        let a_keeps = a.0 > b.0 || (a.0 == b.0 && (&a.1, a.2) < (&b.1, b.2));
        Ok(if a_keeps { (b.2, a.2) } else { (a.2, b.2) })
    }

    /// Merge `from` into `into`: `from`'s photos count for `into` from now on.
    /// When `into` has no species and `from` has one, `into` takes it (a
    /// merge never loses what was known about the animal).
    pub fn merge(&mut self, from: &str, into: &str, actor: Option<&str>) -> Result<Event> {
        let a = self.individual(from)?;
        let b = self.individual(into)?;
        let (a_id, b_id) = (self.resolve(a.id)?, self.resolve(b.id)?);
        if a_id == b_id {
            return Err(Error::Invalid(format!(
                "{from} and {into} are already the same individual"
            )));
        }
        if a.merged_into.is_some() {
            return Err(Error::Invalid(format!(
                "{from} is already merged into #{}; merge that one instead",
                a_id
            )));
        }
        let id = self.with_tx(|tx| {
            tx.conn().execute(
                &format!(
                    "UPDATE individuals SET merged_into = ?2,
                     updated_at = {NOW} WHERE id = ?1"
                ),
                [a.id, b_id],
            )?;
            tx.conn().execute(
                &format!(
                    "UPDATE individuals SET species = ?2,
                     updated_at = {NOW}
                 WHERE id = ?1 AND species IS NULL AND ?2 IS NOT NULL"
                ),
                params![b_id, a.species],
            )?;
            record_event(tx.conn(), "merge", a.id, Some(b_id), "{}", actor)
        })?;
        self.event(id)
    }

    /// Move `detections` (which must currently show `from`) to a new
    /// individual `new_code`.
    pub fn split(
        &mut self,
        from: &str,
        detections: &[i64],
        new_code: &str,
        actor: Option<&str>,
    ) -> Result<(Individual, Event)> {
        let new_code = super::codes::normalise_code(new_code)?;
        let a = self.individual(from)?;
        let a_id = self.resolve(a.id)?;
        if detections.is_empty() {
            return Err(Error::Invalid(
                "a split needs at least one detection to move".into(),
            ));
        }
        let mut previous = Vec::new();
        for &d in detections {
            match self.current_individual(d)? {
                Some(i) if i == a_id => previous.push(self.current_decision_individual(d)?),
                Some(i) => {
                    return Err(Error::Invalid(format!(
                        "detection {d} shows individual #{i}, not {from}"
                    )))
                }
                None => {
                    return Err(Error::Invalid(format!(
                        "detection {d} has no confirmed identification"
                    )))
                }
            }
        }
        if self.individual(new_code).is_ok() {
            return Err(Error::Invalid(format!(
                "individual {new_code:?} already exists"
            )));
        }
        let (new_id, event_id) = self.with_tx(|tx| {
            let new_id = ensure_individual(tx.conn(), new_code, a.species.as_deref())?;
            let mut moved = Vec::new();
            for (&d, &prev) in detections.iter().zip(&previous) {
                let decision = tx.decide(d, new_id, true, Source::Person, actor, None)?;
                moved.push((d, prev, decision));
            }
            let payload = serde_json::to_string(&SplitPayload { moved }).expect("plain data");
            let event = record_event(tx.conn(), "split", a_id, Some(new_id), &payload, actor)?;
            Ok((new_id, event))
        })?;
        Ok((self.individual_by_id(new_id)?, self.event(event_id)?))
    }

    /// Give an individual a new code; the old one stays findable as an alias.
    pub fn rename(&mut self, key: &str, new_code: &str, actor: Option<&str>) -> Result<Event> {
        let new_code = super::codes::normalise_code(new_code)?;
        let a = self.individual(key)?;
        if let Ok(other) = self.individual(new_code) {
            if other.id != a.id || other.code == new_code {
                return Err(Error::Invalid(format!("{new_code:?} is already taken")));
            }
        }
        let payload = serde_json::to_string(&RenamePayload {
            old: a.code.clone(),
            new: new_code.to_string(),
            undo_of: None,
        })
        .expect("plain data");
        let id = self.with_tx(|tx| {
            set_code(tx.conn(), a.id, &a.code, new_code)?;
            record_event(tx.conn(), "rename", a.id, None, &payload, actor)
        })?;
        self.event(id)
    }

    /// Undo a merge, split or rename. The undo is recorded too; an event is
    /// undone at most once, and only while what it did is still in place.
    pub fn undo(&mut self, event_id: i64, actor: Option<&str>) -> Result<Event> {
        let e = self.event(event_id)?;
        if let Some(undone) = undo_of(&e) {
            return Err(Error::Invalid(format!(
                "event {event_id} ({}) is itself an undo{}; an undo cannot be undone: {} again instead",
                e.kind,
                undone.map(|u| format!(" of event {u}")).unwrap_or_default(),
                match e.kind.as_str() {
                    "unmerge" => "merge",
                    "unsplit" => "split",
                    _ => "rename",
                }
            )));
        }
        if e.undone_at.is_some() {
            return Err(Error::Invalid(format!(
                "event {event_id} was already undone"
            )));
        }
        let undo_id = match e.kind.as_str() {
            "merge" => {
                let into = e.other_id.expect("a merge has a target");
                let current = self.individual_by_id(e.individual_id)?.merged_into;
                if current != Some(into) {
                    return Err(Error::Invalid(format!(
                        "event {event_id}: #{} is no longer merged into #{into}",
                        e.individual_id
                    )));
                }
                self.with_tx(|tx| {
                    tx.conn().execute(
                        &format!(
                            "UPDATE individuals SET merged_into = NULL,
                             updated_at = {NOW} WHERE id = ?1"
                        ),
                        [e.individual_id],
                    )?;
                    mark_undone(tx.conn(), event_id)?;
                    record_event(
                        tx.conn(),
                        "unmerge",
                        e.individual_id,
                        Some(into),
                        &format!("{{\"undo_of\":{event_id}}}"),
                        actor,
                    )
                })?
            }
            "split" => {
                let payload: SplitPayload = serde_json::from_str(&e.payload).map_err(|err| {
                    Error::Invalid(format!("event {event_id}: bad payload: {err}"))
                })?;
                for &(d, _, decision) in &payload.moved {
                    let current: Option<i64> = self
                        .conn()
                        .query_row(
                            "SELECT id FROM identifications WHERE detection_id = ?1 AND superseded_by IS NULL",
                            [d],
                            |r| r.get(0),
                        )
                        .optional()?;
                    if current != Some(decision) {
                        return Err(Error::Invalid(format!(
                            "event {event_id}: detection {d} was decided again since the split; undo by hand"
                        )));
                    }
                }
                self.with_tx(|tx| {
                    for &(d, before, _) in &payload.moved {
                        tx.decide(d, before, true, Source::Person, actor, None)?;
                    }
                    mark_undone(tx.conn(), event_id)?;
                    record_event(
                        tx.conn(),
                        "unsplit",
                        e.individual_id,
                        e.other_id,
                        &e.payload,
                        actor,
                    )
                })?
            }
            "rename" => {
                let p: RenamePayload = serde_json::from_str(&e.payload).map_err(|err| {
                    Error::Invalid(format!("event {event_id}: bad payload: {err}"))
                })?;
                let a = self.individual_by_id(e.individual_id)?;
                if a.code != p.new {
                    return Err(Error::Invalid(format!(
                        "event {event_id}: #{} is now called {:?}, not {:?}",
                        a.id, a.code, p.new
                    )));
                }
                let payload = serde_json::to_string(&RenamePayload {
                    old: p.new.clone(),
                    new: p.old.clone(),
                    undo_of: Some(event_id),
                })
                .expect("plain data");
                self.with_tx(|tx| {
                    set_code(tx.conn(), a.id, &p.new, &p.old)?;
                    mark_undone(tx.conn(), event_id)?;
                    record_event(tx.conn(), "rename", a.id, None, &payload, actor)
                })?
            }
            other => {
                return Err(Error::Invalid(format!(
                    "event {event_id} ({other}) cannot be undone"
                )))
            }
        };
        self.event(undo_id)
    }

    pub fn event(&self, id: i64) -> Result<Event> {
        self.events_where("id = ?1", id)?
            .pop()
            .ok_or_else(|| Error::NotFound(format!("no event {id}")))
    }

    /// Every event that involves an individual, oldest first.
    pub fn events(&self, individual_id: i64) -> Result<Vec<Event>> {
        self.events_where("individual_id = ?1 OR other_id = ?1", individual_id)
    }

    fn events_where(&self, condition: &str, value: i64) -> Result<Vec<Event>> {
        let mut stmt = self.conn().prepare(&format!(
            "SELECT id, kind, individual_id, other_id, payload, actor, undone_at, created_at, {}
             FROM individual_events WHERE {condition} ORDER BY id",
            crate::sync::accounts::account_column(
                self.conn(),
                "individuals_merged",
                "individual_events.uuid"
            )?
        ))?;
        let rows = stmt.query_map([value], |r| {
            Ok(Event {
                id: r.get(0)?,
                kind: r.get(1)?,
                individual_id: r.get(2)?,
                other_id: r.get(3)?,
                payload: r.get(4)?,
                actor: r.get(5)?,
                actor_account: r.get(8)?,
                undone_at: r.get(6)?,
                created_at: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The detections that currently show an individual (through merges).
    pub fn detections_of(&self, individual_id: i64) -> Result<Vec<i64>> {
        let target = self.resolve(individual_id)?;
        let mut stmt = self.conn().prepare(
            "SELECT detection_id, individual_id FROM identifications
             WHERE superseded_by IS NULL AND withdrawn_at IS NULL AND verdict = 'confirmed' ORDER BY detection_id",
        )?;
        let rows: Vec<(i64, i64)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut out = Vec::new();
        for (d, i) in rows {
            if self.resolve(i)? == target {
                out.push(d);
            }
        }
        Ok(out)
    }

    /// The individual named by the current confirmed decision, unresolved.
    fn current_decision_individual(&self, detection_id: i64) -> Result<i64> {
        Ok(self.conn().query_row(
            "SELECT individual_id FROM identifications
             WHERE detection_id = ?1 AND superseded_by IS NULL AND withdrawn_at IS NULL AND verdict = 'confirmed'",
            [detection_id],
            |r| r.get(0),
        )?)
    }
}

pub(crate) fn ensure_individual(
    conn: &rusqlite::Connection,
    code: &str,
    species: Option<&str>,
) -> Result<i64> {
    let code = super::codes::normalise_code(code)?;
    if let Some(id) = conn
        .query_row("SELECT id FROM individuals WHERE code = ?1", [code], |r| {
            r.get(0)
        })
        .optional()?
    {
        return Ok(id);
    }
    conn.execute(
        "INSERT INTO individuals (uuid, code, species) VALUES (?1, ?2, ?3)",
        params![new_uuid(), code, species],
    )?;
    Ok(conn.last_insert_rowid())
}

fn set_code(conn: &rusqlite::Connection, id: i64, old: &str, new: &str) -> Result<()> {
    conn.execute(
        "DELETE FROM individual_aliases WHERE individual_id = ?1 AND alias = ?2",
        params![id, new],
    )?;
    conn.execute(
        &format!("UPDATE individuals SET code = ?2, updated_at = {NOW} WHERE id = ?1"),
        params![id, new],
    )?;
    conn.execute(
        "INSERT OR IGNORE INTO individual_aliases (uuid, individual_id, alias) VALUES (?1, ?2, ?3)",
        params![new_uuid(), id, old],
    )?;
    Ok(())
}

fn record_event(
    conn: &rusqlite::Connection,
    kind: &str,
    individual_id: i64,
    other_id: Option<i64>,
    payload: &str,
    actor: Option<&str>,
) -> Result<i64> {
    conn.execute(
        "INSERT INTO individual_events (uuid, kind, individual_id, other_id, payload, actor)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![new_uuid(), kind, individual_id, other_id, payload, actor],
    )?;
    Ok(conn.last_insert_rowid())
}

fn mark_undone(conn: &rusqlite::Connection, event_id: i64) -> Result<()> {
    conn.execute(
        &format!(
            "UPDATE individual_events SET undone_at = {NOW},
             updated_at = {NOW} WHERE id = ?1"
        ),
        [event_id],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::records::NewPhoto;
    use crate::detect::BBox;
    use crate::photo::Meta;

    /// A catalogue whose individuals have the given codes, species and
    /// sightings (one confirmed detection each), created in this order.
    fn catalogue(dir: &std::path::Path, individuals: &[(&str, Option<&str>, usize)]) -> Catalogue {
        let mut cat = Catalogue::create(dir.join("c")).unwrap();
        let mut n = 0;
        for &(code, species, sightings) in individuals {
            cat.with_tx(|tx| {
                let ind = tx.ensure_individual(code, species)?;
                for _ in 0..sightings {
                    n += 1;
                    let photo = tx.insert_photo(&NewPhoto {
                        sha256: &format!("{n:064x}"),
                        original_path: &format!("/p/{n}.jpg"),
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
                    let det = tx.insert_detection(photo, bbox, "fin", None, None)?;
                    tx.decide(det, ind, true, Source::Person, Some("kim"), None)?;
                }
                Ok(())
            })
            .unwrap();
        }
        cat
    }

    fn id(cat: &Catalogue, code: &str) -> i64 {
        cat.individual(code).unwrap().id
    }

    #[test]
    fn the_default_merge_keeps_the_one_with_more_sightings_from_either_page() {
        let dir = tempfile::tempdir().unwrap();
        // The case: a throwaway code (1 sighting) made after the
        // beluga (11): from either page the throwaway goes into the beluga.
        let cat = catalogue(
            dir.path(),
            &[("beluga-7", Some("beluga"), 11), ("tmp-1", None, 1)],
        );
        let (beluga, tmp) = (id(&cat, "beluga-7"), id(&cat, "tmp-1"));
        assert_eq!(cat.merge_direction(tmp, beluga).unwrap(), (tmp, beluga));
        assert_eq!(cat.merge_direction(beluga, tmp).unwrap(), (tmp, beluga));
        // Even when the throwaway is the older one.
        cat.conn()
            .execute(
                "UPDATE individuals SET created_at = '2000-01-01T00:00:00.000Z' WHERE id = ?1",
                [tmp],
            )
            .unwrap();
        assert_eq!(cat.merge_direction(beluga, tmp).unwrap(), (tmp, beluga));
        let err = cat.merge_direction(tmp, tmp).unwrap_err().to_string();
        assert!(err.contains("already the same"), "{err}");
    }

    #[test]
    fn on_a_tie_the_default_merge_keeps_the_older_individual() {
        let dir = tempfile::tempdir().unwrap();
        let mut cat = catalogue(
            dir.path(),
            &[("A", None, 2), ("B", None, 2), ("C", None, 1)],
        );
        let (a, b, c) = (id(&cat, "A"), id(&cat, "B"), id(&cat, "C"));
        // Same creation time (to the millisecond or not): the lower id is older.
        cat.conn()
            .execute(
                "UPDATE individuals SET created_at = '2024-05-01T00:00:00.000Z'",
                [],
            )
            .unwrap();
        assert_eq!(cat.merge_direction(b, a).unwrap(), (b, a));
        assert_eq!(cat.merge_direction(a, b).unwrap(), (b, a));
        // An earlier creation wins over a lower id.
        cat.conn()
            .execute(
                "UPDATE individuals SET created_at = '2020-01-01T00:00:00.000Z' WHERE id = ?1",
                [b],
            )
            .unwrap();
        assert_eq!(cat.merge_direction(a, b).unwrap(), (a, b));
        // A merged individual counts as the one it joined: C into A leaves
        // A with 3 sightings, so B (2) now goes into A whichever is named.
        cat.merge("C", "A", None).unwrap();
        assert_eq!(cat.merge_direction(b, c).unwrap(), (b, a));
    }

    #[test]
    fn a_merge_keeps_the_species_when_the_kept_individual_has_none() {
        let dir = tempfile::tempdir().unwrap();
        let mut cat = catalogue(
            dir.path(),
            &[
                ("beluga-7", Some("beluga"), 3),
                ("tmp-1", None, 1),
                ("hw-2", Some("humpback_whale"), 1),
            ],
        );
        cat.merge("beluga-7", "tmp-1", Some("kim")).unwrap();
        assert_eq!(
            cat.individual("tmp-1").unwrap().species.as_deref(),
            Some("beluga")
        );
        // A species already there is not overwritten.
        cat.merge("hw-2", "tmp-1", None).unwrap();
        assert_eq!(
            cat.individual("tmp-1").unwrap().species.as_deref(),
            Some("beluga")
        );
    }

    #[test]
    fn an_undo_cannot_itself_be_undone() {
        let dir = tempfile::tempdir().unwrap();
        let mut cat = catalogue(dir.path(), &[("A", None, 2), ("B", None, 1)]);
        let merge = cat.merge("B", "A", Some("kim")).unwrap();
        let unmerge = cat.undo(merge.id, Some("kim")).unwrap();
        assert_eq!(unmerge.kind, "unmerge");
        assert_eq!(unmerge.actor.as_deref(), Some("kim"));
        let err = cat.undo(unmerge.id, None).unwrap_err().to_string();
        assert!(
            err.contains("cannot be undone")
                && err.contains(&format!("undo of event {}", merge.id)),
            "{err}"
        );
        assert_eq!(cat.individual("B").unwrap().merged_into, None);

        let a_det = cat.detections_of(id(&cat, "A")).unwrap()[0];
        let (_, split) = cat.split("A", &[a_det], "A2", None).unwrap();
        let unsplit = cat.undo(split.id, None).unwrap();
        let err = cat.undo(unsplit.id, None).unwrap_err().to_string();
        assert!(err.contains("cannot be undone"), "{err}");

        let rename = cat.rename("A", "Sputnik", None).unwrap();
        let back = cat.undo(rename.id, None).unwrap();
        assert_eq!(back.kind, "rename");
        assert_eq!(undo_of(&back), Some(Some(rename.id)));
        assert_eq!(undo_of(&rename), None);
        let err = cat.undo(back.id, None).unwrap_err().to_string();
        assert!(err.contains("cannot be undone"), "{err}");
        assert_eq!(cat.individual("A").unwrap().code, "A");
        // A merge made again after its undo is a merge like any other.
        let again = cat.merge("B", "A", None).unwrap();
        cat.undo(again.id, None).unwrap();
    }

    #[test]
    fn individual_codes_name_every_individual_merged_ones_too() {
        let dir = tempfile::tempdir().unwrap();
        let mut cat = catalogue(
            dir.path(),
            &[("A-001", Some("humpback"), 2), ("tmp-1", None, 1)],
        );
        let (a, tmp) = (id(&cat, "A-001"), id(&cat, "tmp-1"));
        cat.merge("tmp-1", "A-001", Some("kim")).unwrap();
        let codes = cat.individual_codes().unwrap();
        assert_eq!(codes.len(), 2);
        assert_eq!(
            codes[&a],
            ("A-001".to_string(), Some("humpback".to_string()))
        );
        assert_eq!(codes[&tmp], ("tmp-1".to_string(), None));
    }
}
