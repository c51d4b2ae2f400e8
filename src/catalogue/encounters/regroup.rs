//! Splitting and joining encounters. Both are edits like any other: the
//! new encounter of a split is an insert with the fields copied, the photos
//! move by their `encounter_id`, and a join marks the other encounter
//! `joined_into` the kept one, so the triggers of migration 13 turn each
//! into the `encounter_set` and `photo_encounter` operations that sync.

use rusqlite::params;

use super::{as_editor, time, EncounterRecord};
use crate::catalogue::sql::NOW;
use crate::catalogue::Catalogue;
use crate::error::{Error, Result};

/// How a split chooses the photos that go to the new encounter.
#[derive(Debug, Clone, PartialEq)]
pub enum SplitAt {
    /// Photos taken at or after this time (see [`time`]).
    Time(String),
    /// These photos (by number).
    Photos(Vec<i64>),
}

impl Catalogue {
    /// Move some photos of encounter `id` to a new encounter with a copy of
    /// its fields, as `by`; the new encounter. Refused when no photo or
    /// every photo would move, or a photo named is not in the encounter.
    pub fn split_encounter(&mut self, id: i64, at: &SplitAt, by: &str) -> Result<EncounterRecord> {
        let e = self.encounter(id)?;
        let held: Vec<(i64, Option<String>)> = {
            let mut stmt = self
                .conn()
                .prepare("SELECT id, taken_at FROM photos WHERE encounter_id = ?1")?;
            let rows = stmt.query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let moving: Vec<i64> = match at {
            SplitAt::Time(t) => {
                let t = time(t)?;
                held.iter()
                    .filter(|(_, taken)| taken.as_deref().is_some_and(|x| x >= t.as_str()))
                    .map(|(p, _)| *p)
                    .collect()
            }
            SplitAt::Photos(ids) => {
                for p in ids {
                    if !held.iter().any(|(h, _)| h == p) {
                        return Err(Error::Invalid(format!(
                            "photo #{p} is not in encounter #{id}"
                        )));
                    }
                }
                ids.clone()
            }
        };
        if moving.is_empty() || moving.len() >= held.len() {
            return Err(Error::Invalid(format!(
                "splitting encounter #{id} ({} photos) would move {} of them: a split leaves photos on both sides",
                held.len(),
                moving.len()
            )));
        }
        let uuid = crate::catalogue::new_uuid();
        let new = as_editor(self, by, |c| {
            c.execute(
                "INSERT INTO encounters (uuid, started_at, ended_at, latitude, longitude, location,
                     survey, vessel, notes, observers, group_best, group_min, group_max, behaviour)
                 SELECT ?2, started_at, ended_at, latitude, longitude, location, survey, vessel,
                     notes, observers, group_best, group_min, group_max, behaviour
                 FROM encounters WHERE id = ?1",
                params![e.id, uuid],
            )?;
            let new = c.last_insert_rowid();
            for p in &moving {
                c.execute(
                    &format!(
                        "UPDATE photos SET encounter_id = ?1, updated_at = {NOW} WHERE id = ?2"
                    ),
                    [new, *p],
                )?;
            }
            Ok(new)
        })?;
        self.encounter_record(new)
    }

    /// Join encounters `others` into `keep`, as `by`: their photos move to
    /// it, its empty fields take theirs (its own values win), its times
    /// widen to cover theirs, and each is marked joined into it (kept with
    /// its fields, so nothing is lost). The kept encounter after.
    pub fn join_encounters(
        &mut self,
        keep: i64,
        others: &[i64],
        by: &str,
    ) -> Result<EncounterRecord> {
        if others.is_empty() {
            return Err(Error::Invalid(
                "join needs the encounter kept and at least one other".into(),
            ));
        }
        let kept = self.encounter(keep)?;
        if let Some(into) = kept.joined_into {
            return Err(Error::Invalid(format!(
                "encounter #{keep} was joined into #{into} already"
            )));
        }
        let mut seen = vec![keep];
        for o in others {
            if seen.contains(o) {
                return Err(Error::Invalid(format!("encounter #{o} is given twice")));
            }
            seen.push(*o);
            let e = self.encounter(*o)?;
            if let Some(into) = e.joined_into {
                return Err(Error::Invalid(format!(
                    "encounter #{o} was joined into #{into} already"
                )));
            }
        }
        as_editor(self, by, |c| {
            for o in others {
                // Empty fields of the kept one take the other's; times widen.
                c.execute(
                    &format!(
                        "UPDATE encounters SET
                            started_at = CASE WHEN o.started_at IS NOT NULL
                                AND (encounters.started_at IS NULL OR o.started_at < encounters.started_at)
                                THEN o.started_at ELSE encounters.started_at END,
                            ended_at = CASE WHEN o.ended_at IS NOT NULL
                                AND (encounters.ended_at IS NULL OR o.ended_at > encounters.ended_at)
                                THEN o.ended_at ELSE encounters.ended_at END,
                            latitude = CASE WHEN encounters.latitude IS NULL OR encounters.longitude IS NULL
                                THEN o.latitude ELSE encounters.latitude END,
                            longitude = CASE WHEN encounters.latitude IS NULL OR encounters.longitude IS NULL
                                THEN o.longitude ELSE encounters.longitude END,
                            location = coalesce(encounters.location, o.location),
                            survey = coalesce(encounters.survey, o.survey),
                            vessel = coalesce(encounters.vessel, o.vessel),
                            notes = coalesce(encounters.notes, o.notes),
                            observers = coalesce(encounters.observers, o.observers),
                            behaviour = coalesce(encounters.behaviour, o.behaviour),
                            group_best = CASE WHEN coalesce(encounters.group_best, encounters.group_min,
                                encounters.group_max) IS NULL THEN o.group_best ELSE encounters.group_best END,
                            group_min = CASE WHEN coalesce(encounters.group_best, encounters.group_min,
                                encounters.group_max) IS NULL THEN o.group_min ELSE encounters.group_min END,
                            group_max = CASE WHEN coalesce(encounters.group_best, encounters.group_min,
                                encounters.group_max) IS NULL THEN o.group_max ELSE encounters.group_max END,
                            updated_at = {NOW}
                         FROM (SELECT * FROM encounters WHERE id = ?2) o
                         WHERE encounters.id = ?1"
                    ),
                    [keep, *o],
                )?;
                c.execute(
                    &format!("UPDATE photos SET encounter_id = ?1, updated_at = {NOW} WHERE encounter_id = ?2"),
                    [keep, *o],
                )?;
                c.execute(
                    &format!(
                        "UPDATE encounters SET joined_into = ?1, updated_at = {NOW} WHERE id = ?2"
                    ),
                    [keep, *o],
                )?;
            }
            Ok(())
        })?;
        self.encounter_record(keep)
    }
}
