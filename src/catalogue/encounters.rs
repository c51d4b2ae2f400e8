//! Encounters as records a research group edits: when (start, end), where
//! (place name, position), who watched (observers, vessel or platform),
//! what was seen (group size best/min/max, behaviour) and notes, beside
//! the survey. Ingest makes encounters by grouping photos
//! (`crate::ingest::survey::assign_encounters`); here they are listed,
//! edited field by field, split and joined.
//!
//! Values live in the `encounters` columns; `encounter_edits` (migration
//! 13) keeps who set each field and when. Triggers fill it whatever code
//! changes a column, naming the editor this module puts in
//! `encounter_editor` for the length of its transaction, and note each
//! field for sync, where it becomes an `encounter_set` operation carrying
//! the field's [`Field::value_of`] text; a photo moved between encounters
//! becomes a `photo_encounter` operation. Per field, and per photo, the
//! latest wins (`crate::sync::plan`), so a split (a new encounter with the
//! fields copied, and its photos moved) and a join (photos moved, the
//! other encounter marked joined) are plain sequences of those operations.
//!
//! Nothing is deleted: a joined encounter keeps its fields, marked as
//! joined into the kept one, and drops out of the list once empty.

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::sql::NOW;
use super::Catalogue;
use crate::error::{Error, Result};

mod regroup;
mod synced;
pub use regroup::SplitAt;
pub(crate) use synced::{set_photo_encounter, store_field, synced_field};

/// A field as stored in `encounter_edits` and synced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    StartedAt,
    EndedAt,
    Place,
    /// Latitude and longitude together.
    Position,
    Observers,
    Vessel,
    /// Best, minimum and maximum together.
    Group,
    Behaviour,
    Notes,
    Survey,
    JoinedInto,
}

impl Field {
    pub const ALL: [Field; 11] = [
        Field::StartedAt,
        Field::EndedAt,
        Field::Place,
        Field::Position,
        Field::Observers,
        Field::Vessel,
        Field::Group,
        Field::Behaviour,
        Field::Notes,
        Field::Survey,
        Field::JoinedInto,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Field::StartedAt => "started_at",
            Field::EndedAt => "ended_at",
            Field::Place => "place",
            Field::Position => "position",
            Field::Observers => "observers",
            Field::Vessel => "vessel",
            Field::Group => "group",
            Field::Behaviour => "behaviour",
            Field::Notes => "notes",
            Field::Survey => "survey",
            Field::JoinedInto => "joined_into",
        }
    }

    pub fn parse(s: &str) -> std::result::Result<Field, String> {
        Field::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| {
                let all: Vec<&str> = Field::ALL.iter().map(|f| f.as_str()).collect();
                format!(
                    "encounter field `{}` is not one of {}",
                    super::codes::clipped(s),
                    all.join(", ")
                )
            })
    }

    /// The field's value in `e` as synced text; `None` when empty.
    /// `joined_into` is the kept encounter's UUID, which the caller reads.
    pub fn value_of(self, e: &Encounter, joined_uuid: Option<&str>) -> Option<String> {
        match self {
            Field::StartedAt => e.started_at.clone(),
            Field::EndedAt => e.ended_at.clone(),
            Field::Place => e.place.clone(),
            Field::Position => match (e.latitude, e.longitude) {
                (Some(a), Some(b)) => Some(format!("{a},{b}")),
                _ => None,
            },
            Field::Observers => (!e.observers.is_empty()).then(|| e.observers.join("; ")),
            Field::Vessel => e.vessel.clone(),
            Field::Group => e.group.text(),
            Field::Behaviour => e.behaviour.clone(),
            Field::Notes => e.notes.clone(),
            Field::Survey => e.survey.clone(),
            Field::JoinedInto => joined_uuid.map(str::to_string),
        }
    }

    /// Check a synced value of this field: it must be written exactly as
    /// every catalogue stores it, so all of them hold the same text.
    pub fn check(self, value: &str) -> std::result::Result<(), String> {
        let normal = match self {
            Field::StartedAt | Field::EndedAt => time(value).map_err(|e| e.to_string())?,
            Field::Place | Field::Vessel | Field::Behaviour | Field::Survey => {
                text(self, value).map_err(|e| e.to_string())?
            }
            Field::Notes => notes(value).map_err(|e| e.to_string())?,
            Field::Position => {
                let (a, b) = position_of(value)?;
                format!("{a},{b}")
            }
            Field::Observers => observers(value).map_err(|e| e.to_string())?.join("; "),
            Field::Group => GroupSize::of_text(value)?.text().unwrap_or_default(),
            Field::JoinedInto => {
                uuid::Uuid::parse_str(value)
                    .map_err(|_| format!("joined_into `{}` is not a UUID", clip(value)))?;
                value.to_string()
            }
        };
        if normal != value {
            return Err(format!(
                "encounter {} `{}` is not written as stored (`{}`)",
                self.as_str(),
                clip(value),
                clip(&normal)
            ));
        }
        Ok(())
    }
}

fn clip(v: &str) -> String {
    super::codes::clipped(v)
}

/// Group size: best estimate, minimum, maximum; `min <= best <= max`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct GroupSize {
    pub best: Option<u32>,
    pub min: Option<u32>,
    pub max: Option<u32>,
}

impl GroupSize {
    /// `best,min,max`, each empty when not given; `None` when none is.
    pub fn text(self) -> Option<String> {
        if self == GroupSize::default() {
            return None;
        }
        let n = |v: Option<u32>| v.map(|v| v.to_string()).unwrap_or_default();
        Some(format!("{},{},{}", n(self.best), n(self.min), n(self.max)))
    }

    fn of_text(s: &str) -> std::result::Result<GroupSize, String> {
        let parts: Vec<&str> = s.split(',').collect();
        let [best, min, max] = parts.as_slice() else {
            return Err(format!("group `{}` is not best,min,max", clip(s)));
        };
        let n = |p: &str| -> std::result::Result<Option<u32>, String> {
            if p.is_empty() {
                return Ok(None);
            }
            p.parse()
                .map(Some)
                .map_err(|_| format!("group `{}`: `{}` is not a count", clip(s), clip(p)))
        };
        let g = GroupSize {
            best: n(best)?,
            min: n(min)?,
            max: n(max)?,
        };
        g.check().map_err(|e| e.to_string())?;
        Ok(g)
    }

    /// `min <= best <= max` where given.
    pub fn check(self) -> Result<()> {
        let pairs = [
            ("minimum", self.min, "best", self.best),
            ("best", self.best, "maximum", self.max),
            ("minimum", self.min, "maximum", self.max),
        ];
        for (a, x, b, y) in pairs {
            if let (Some(x), Some(y)) = (x, y) {
                if x > y {
                    return Err(Error::Invalid(format!(
                        "group size: the {a} ({x}) is greater than the {b} ({y})"
                    )));
                }
            }
        }
        Ok(())
    }
}

/// An encounter as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Encounter {
    /// Its number here (`#12`).
    pub id: i64,
    pub uuid: String,
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
    /// The place name.
    pub place: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub observers: Vec<String>,
    /// Vessel or platform.
    pub vessel: Option<String>,
    pub group: GroupSize,
    pub behaviour: Option<String>,
    pub notes: Option<String>,
    pub survey: Option<String>,
    /// The encounter this one was joined into.
    pub joined_into: Option<i64>,
    /// How many photos it holds.
    pub photos: i64,
}

/// Who set a field and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldSet {
    pub field: Field,
    pub by: Option<String>,
    /// UTC, as every `*_at` column.
    pub at: String,
}

/// An encounter with who set each field, and its photos.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EncounterRecord {
    #[serde(flatten)]
    pub encounter: Encounter,
    pub edits: Vec<FieldSet>,
    /// Its photos, by number, in time order.
    pub photo_ids: Vec<i64>,
}

const COLUMNS: &str = "e.id, e.uuid, e.started_at, e.ended_at, e.location, e.latitude, e.longitude,
    e.observers, e.vessel, e.group_best, e.group_min, e.group_max, e.behaviour, e.notes,
    e.survey, e.joined_into, (SELECT count(*) FROM photos p WHERE p.encounter_id = e.id)";

fn encounter_row(r: &rusqlite::Row) -> rusqlite::Result<Encounter> {
    let observers: Option<String> = r.get(7)?;
    Ok(Encounter {
        id: r.get(0)?,
        uuid: r.get(1)?,
        started_at: r.get(2)?,
        ended_at: r.get(3)?,
        place: r.get(4)?,
        latitude: r.get(5)?,
        longitude: r.get(6)?,
        observers: observers.map_or_else(Vec::new, |o| split_observers(&o)),
        vessel: r.get(8)?,
        group: GroupSize {
            best: r.get(9)?,
            min: r.get(10)?,
            max: r.get(11)?,
        },
        behaviour: r.get(12)?,
        notes: r.get(13)?,
        survey: r.get(14)?,
        joined_into: r.get(15)?,
        photos: r.get(16)?,
    })
}

fn split_observers(s: &str) -> Vec<String> {
    s.split(';')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .collect()
}

/// Observers given as `"Ana; Ben"`: each name trimmed, none empty.
pub fn observers(s: &str) -> Result<Vec<String>> {
    let names = split_observers(s);
    if names.is_empty() {
        return Err(Error::Invalid(format!(
            "observers `{}` name nobody: give names separated by `;`",
            clip(s)
        )));
    }
    for n in &names {
        crate::catalogue::observer::validate(n, "observers")?;
    }
    Ok(names)
}

/// A date `YYYY-MM-DD` or a date and time `YYYY-MM-DDTHH:MM[:SS]` (a
/// space for the `T` too), as stored: `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SS`.
pub fn time(s: &str) -> Result<String> {
    let t = s.trim();
    let bad = || {
        Error::Invalid(format!(
            "time `{}` is not YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS]",
            clip(s)
        ))
    };
    let day = t.get(..10).ok_or_else(bad)?;
    if !crate::photo::meta::is_calendar_day(day) {
        return Err(bad());
    }
    let rest = &t[10..];
    if rest.is_empty() {
        return Ok(day.to_string());
    }
    let clock = rest
        .strip_prefix('T')
        .or_else(|| rest.strip_prefix(' '))
        .ok_or_else(bad)?;
    let parts: Vec<&str> = clock.split(':').collect();
    let n = |p: &str, most: u32| {
        (p.len() == 2 && p.bytes().all(|b| b.is_ascii_digit()))
            .then(|| p.parse::<u32>().ok())
            .flatten()
            .filter(|v| *v <= most)
    };
    let (h, m, sec) = match parts.as_slice() {
        [h, m] => (n(h, 23), n(m, 59), Some(0)),
        [h, m, s] => (n(h, 23), n(m, 59), n(s, 59)),
        _ => return Err(bad()),
    };
    match (h, m, sec) {
        (Some(h), Some(m), Some(s)) => Ok(format!("{day}T{h:02}:{m:02}:{s:02}")),
        _ => Err(bad()),
    }
}

/// A short text field: trimmed, not empty, one line.
fn text(field: Field, s: &str) -> Result<String> {
    let t = s.trim();
    if t.is_empty() {
        return Err(Error::Invalid(format!(
            "{} is empty: clear it instead",
            field.as_str()
        )));
    }
    if t.chars().count() > crate::sync::ops::MAX_TEXT || t.chars().any(char::is_control) {
        return Err(Error::Invalid(format!(
            "{} `{}` is longer than {} characters or holds control characters",
            field.as_str(),
            clip(t),
            crate::sync::ops::MAX_TEXT
        )));
    }
    Ok(t.to_string())
}

/// The longest notes, in characters.
pub const MAX_NOTES: usize = 4000;

/// Notes: trimmed, not empty, line breaks and tabs allowed.
fn notes(s: &str) -> Result<String> {
    let t = s.trim();
    if t.is_empty() {
        return Err(Error::Invalid("notes are empty: clear them instead".into()));
    }
    if t.chars().count() > MAX_NOTES || t.chars().any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(Error::Invalid(format!(
            "notes are longer than {MAX_NOTES} characters or hold control characters"
        )));
    }
    Ok(t.to_string())
}

/// Latitude and longitude in range.
pub fn position(latitude: f64, longitude: f64) -> Result<(f64, f64)> {
    if !(-90.0..=90.0).contains(&latitude) || !(-180.0..=180.0).contains(&longitude) {
        return Err(Error::Invalid(format!(
            "position {latitude},{longitude} is out of range (latitude -90..90, longitude -180..180)"
        )));
    }
    Ok((latitude, longitude))
}

fn position_of(s: &str) -> std::result::Result<(f64, f64), String> {
    let (a, b) = s
        .split_once(',')
        .ok_or_else(|| format!("position `{}` is not lat,lon", clip(s)))?;
    let num = |p: &str| {
        p.trim()
            .parse::<f64>()
            .map_err(|_| format!("position `{}` is not lat,lon", clip(s)))
    };
    position(num(a)?, num(b)?).map_err(|e| e.to_string())
}

/// Changes to an encounter: `None` leaves a field, `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Patch {
    pub started_at: Option<Option<String>>,
    pub ended_at: Option<Option<String>>,
    pub place: Option<Option<String>>,
    pub position: Option<Option<(f64, f64)>>,
    /// Names; an empty list clears them.
    pub observers: Option<Vec<String>>,
    pub vessel: Option<Option<String>>,
    pub group_best: Option<Option<u32>>,
    pub group_min: Option<Option<u32>>,
    pub group_max: Option<Option<u32>>,
    pub behaviour: Option<Option<String>>,
    pub notes: Option<Option<String>>,
    pub survey: Option<Option<String>>,
}

impl Patch {
    fn is_empty(&self) -> bool {
        *self == Patch::default()
    }

    /// The names [`Patch::set`] takes, as the app's form sends them.
    pub const NAMES: [&'static str; 12] = [
        "start",
        "end",
        "place",
        "position",
        "observers",
        "vessel",
        "groupBest",
        "groupMin",
        "groupMax",
        "behaviour",
        "notes",
        "survey",
    ];

    /// Set field `name` (one of [`Patch::NAMES`]) from text, or clear it
    /// (`None` or blank): a position is `lat,lon`, observers `Ana; Ben`, a group
    /// size a count. Values are checked when the patch is applied; what
    /// cannot be parsed at all is refused here, naming the field.
    pub fn set(&mut self, name: &str, value: Option<&str>) -> Result<()> {
        // An emptied box of the form clears its field.
        let v = value.map(str::trim).filter(|t| !t.is_empty());
        let text = || v.map(str::to_string);
        let count = |f: &str| -> Result<Option<u32>> {
            v.map(|t| {
                t.parse::<u32>()
                    .map_err(|_| Error::Invalid(format!("{f} `{}` is not a whole number", clip(t))))
            })
            .transpose()
        };
        match name {
            "start" => self.started_at = Some(text()),
            "end" => self.ended_at = Some(text()),
            "place" => self.place = Some(text()),
            "position" => {
                self.position = Some(v.map(position_of).transpose().map_err(Error::Invalid)?)
            }
            "observers" => self.observers = Some(v.map(observers).transpose()?.unwrap_or_default()),
            "vessel" => self.vessel = Some(text()),
            "groupBest" => self.group_best = Some(count("group best")?),
            "groupMin" => self.group_min = Some(count("group minimum")?),
            "groupMax" => self.group_max = Some(count("group maximum")?),
            "behaviour" => self.behaviour = Some(text()),
            "notes" => self.notes = Some(text()),
            "survey" => self.survey = Some(text()),
            other => {
                return Err(Error::Invalid(format!(
                    "encounter field `{}` is not one of {}",
                    clip(other),
                    Patch::NAMES.join(", ")
                )))
            }
        }
        Ok(())
    }
}

/// The encounter a user names: its number (`12` or `#12`) or its UUID.
pub fn find_encounter(cat: &Catalogue, name: &str) -> Result<i64> {
    let n = name.trim();
    let found: Option<i64> = match n.strip_prefix('#').unwrap_or(n).parse::<i64>() {
        Ok(id) => cat
            .conn()
            .query_row("SELECT id FROM encounters WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?,
        Err(_) => cat
            .conn()
            .query_row("SELECT id FROM encounters WHERE uuid = ?1", [n], |r| {
                r.get(0)
            })
            .optional()?,
    };
    found.ok_or_else(|| {
        Error::NotFound(format!(
            "encounter {} is not in this catalogue (give its number or UUID)",
            clip(n)
        ))
    })
}

/// Run `f` in one transaction with `by` recorded as the editor of every
/// field it changes.
fn as_editor<T>(
    cat: &mut Catalogue,
    by: &str,
    f: impl FnOnce(&rusqlite::Connection) -> Result<T>,
) -> Result<T> {
    let by = crate::catalogue::observer::validate(by, "editor")?;
    cat.with_tx(|tx| {
        let c = tx.conn();
        c.execute("INSERT INTO encounter_editor (name) VALUES (?1)", [&by])?;
        let out = f(c)?;
        c.execute("DELETE FROM encounter_editor", [])?;
        Ok(out)
    })
}

impl Catalogue {
    /// Encounters in time order (undated last), each with its photo count;
    /// joined ones only while they still hold photos. `from`/`to`
    /// (`YYYY-MM-DD`, inclusive) keep those started within.
    pub fn encounters(&self, from: Option<&str>, to: Option<&str>) -> Result<Vec<Encounter>> {
        for d in [from, to].into_iter().flatten() {
            if !crate::photo::meta::is_calendar_day(d) {
                return Err(Error::Invalid(format!(
                    "`{}` is not a day YYYY-MM-DD",
                    clip(d)
                )));
            }
        }
        let mut stmt = self.conn().prepare(&format!(
            "SELECT {COLUMNS} FROM encounters e
             WHERE (e.joined_into IS NULL
                    OR EXISTS (SELECT 1 FROM photos p WHERE p.encounter_id = e.id))
               AND (?1 IS NULL OR substr(e.started_at, 1, 10) >= ?1)
               AND (?2 IS NULL OR substr(e.started_at, 1, 10) <= ?2)
             ORDER BY e.started_at IS NULL, e.started_at, e.id"
        ))?;
        let rows = stmt.query_map(params![from, to], encounter_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Every encounter (joined ones too) by UUID: what the publication
    /// formats look a sighting's encounter up in.
    pub fn encounters_by_uuid(&self) -> Result<std::collections::HashMap<String, Encounter>> {
        let mut stmt = self
            .conn()
            .prepare(&format!("SELECT {COLUMNS} FROM encounters e"))?;
        let rows = stmt.query_map([], encounter_row)?;
        rows.map(|r| r.map(|e| (e.uuid.clone(), e)).map_err(Into::into))
            .collect()
    }

    /// One encounter.
    pub fn encounter(&self, id: i64) -> Result<Encounter> {
        self.conn()
            .query_row(
                &format!("SELECT {COLUMNS} FROM encounters e WHERE e.id = ?1"),
                [id],
                encounter_row,
            )
            .optional()?
            .ok_or_else(|| Error::NotFound(format!("encounter #{id} is not in this catalogue")))
    }

    /// One encounter with who set each field and its photos.
    pub fn encounter_record(&self, id: i64) -> Result<EncounterRecord> {
        let encounter = self.encounter(id)?;
        let mut stmt = self.conn().prepare(
            "SELECT field, set_by, set_at FROM encounter_edits WHERE encounter_id = ?1 ORDER BY id",
        )?;
        let mut edits = Vec::new();
        for row in stmt.query_map([id], |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?)))? {
            let (field, by, at) = row?;
            if let Ok(field) = Field::parse(&field) {
                edits.push(FieldSet { field, by, at });
            }
        }
        let mut stmt = self.conn().prepare(
            "SELECT id FROM photos WHERE encounter_id = ?1 ORDER BY taken_at IS NULL, taken_at, id",
        )?;
        let photo_ids = stmt
            .query_map([id], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(EncounterRecord {
            encounter,
            edits,
            photo_ids,
        })
    }

    /// Set or clear fields of encounter `id` as `by`; the record after.
    /// Values are checked first (a bad one changes nothing), and the group
    /// size as it will be: `min <= best <= max`.
    pub fn edit_encounter(&mut self, id: i64, patch: &Patch, by: &str) -> Result<EncounterRecord> {
        if patch.is_empty() {
            return Err(Error::Invalid(
                "nothing to change: give a field to set or to clear".into(),
            ));
        }
        let now = self.encounter(id)?;
        if let Some(into) = now.joined_into {
            return Err(Error::Invalid(format!(
                "encounter #{id} was joined into #{into}: edit that one"
            )));
        }
        let t = |v: &Option<Option<String>>, f: fn(&str) -> Result<String>| {
            v.as_ref()
                .map(|o| o.as_deref().map(f).transpose())
                .transpose()
        };
        let started_at = t(&patch.started_at, time)?;
        let ended_at = t(&patch.ended_at, time)?;
        let place = t(&patch.place, |s| text(Field::Place, s))?;
        let vessel = t(&patch.vessel, |s| text(Field::Vessel, s))?;
        let behaviour = t(&patch.behaviour, |s| text(Field::Behaviour, s))?;
        let survey = t(&patch.survey, |s| text(Field::Survey, s))?;
        let notes = t(&patch.notes, notes)?;
        if let Some(Some((a, b))) = patch.position {
            position(a, b)?;
        }
        let observers = match &patch.observers {
            Some(names) if names.is_empty() => Some(None),
            Some(names) => Some(Some(observers(&names.join(";"))?.join("; "))),
            None => None,
        };
        let group = GroupSize {
            best: patch.group_best.unwrap_or(now.group.best),
            min: patch.group_min.unwrap_or(now.group.min),
            max: patch.group_max.unwrap_or(now.group.max),
        };
        group.check()?;
        let start = started_at.clone().unwrap_or(now.started_at.clone());
        let end = ended_at.clone().unwrap_or(now.ended_at.clone());
        if let (Some(s), Some(e)) = (&start, &end) {
            if s > e {
                return Err(Error::Invalid(format!(
                    "encounter #{id} would end ({e}) before it starts ({s})"
                )));
            }
        }
        let mut sets: Vec<(&str, Box<dyn rusqlite::ToSql>)> = Vec::new();
        let mut put = |col: &'static str, v: Option<Option<String>>| {
            if let Some(v) = v {
                sets.push((col, Box::new(v)));
            }
        };
        put("started_at", started_at);
        put("ended_at", ended_at);
        put("location", place);
        put("vessel", vessel);
        put("behaviour", behaviour);
        put("survey", survey);
        put("notes", notes);
        put("observers", observers);
        if let Some(p) = patch.position {
            sets.push(("latitude", Box::new(p.map(|p| p.0))));
            sets.push(("longitude", Box::new(p.map(|p| p.1))));
        }
        if group != now.group {
            sets.push(("group_best", Box::new(group.best)));
            sets.push(("group_min", Box::new(group.min)));
            sets.push(("group_max", Box::new(group.max)));
        }
        if sets.is_empty() {
            return self.encounter_record(id);
        }
        // One statement, so a field of two columns is noted once.
        let columns: Vec<String> = sets
            .iter()
            .enumerate()
            .map(|(i, (col, _))| format!("{col} = ?{}", i + 2))
            .collect();
        let sql = format!(
            "UPDATE encounters SET {}, updated_at = {NOW} WHERE id = ?1",
            columns.join(", ")
        );
        as_editor(self, by, |c| {
            let mut args: Vec<&dyn rusqlite::ToSql> = vec![&id];
            args.extend(sets.iter().map(|(_, v)| v.as_ref()));
            c.execute(&sql, args.as_slice())?;
            Ok(())
        })?;
        self.encounter_record(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A catalogue made before encounters synced sends each once: the
    /// fields they hold, then every photo's encounter, after the photos.
    #[test]
    fn encounters_of_a_version_12_catalogue_are_noted_for_sync_once() {
        use crate::catalogue::migrate::migrate;
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        migrate(&mut conn, Some(12)).unwrap();
        conn.execute_batch(
            "INSERT INTO photos (uuid, sha256, original_path, byte_size, width, height)
                VALUES ('p1', 'abc', '/a.jpg', 10, 100, 80);
             INSERT INTO encounters (uuid, started_at, latitude, longitude, location)
                VALUES ('e1', '2024-06-01T10:00:00', -35.2, 174.1, 'Reef');
             INSERT INTO encounters (uuid) VALUES ('e2');
             UPDATE photos SET encounter_id = 1;",
        )
        .unwrap();
        migrate(&mut conn, None).unwrap();
        let notes: Vec<(String, String)> = conn
            .prepare(
                "SELECT o.tbl, coalesce(x.field, '') FROM sync_outbox o
                 LEFT JOIN encounter_edits x ON o.tbl = 'encounter_edits' AND x.id = o.row_id
                 ORDER BY o.seq",
            )
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let want: Vec<(String, String)> = [
            ("photos", ""),
            ("encounter_edits", "started_at"),
            ("encounter_edits", "place"),
            ("encounter_edits", "position"),
            ("photo_encounters", ""),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        assert_eq!(notes, want);
        // From now on an edit is noted once per field, not per column.
        conn.execute(
            "UPDATE encounters SET latitude = 1, longitude = 2 WHERE id = 1",
            [],
        )
        .unwrap();
        let more: i64 = conn
            .query_row("SELECT count(*) FROM sync_outbox", [], |r| r.get(0))
            .unwrap();
        assert_eq!(more, 6);
    }

    #[test]
    fn times_are_stored_in_one_spelling_and_impossible_ones_are_refused() {
        assert_eq!(time("2024-05-01").unwrap(), "2024-05-01");
        assert_eq!(time(" 2024-05-01 09:30 ").unwrap(), "2024-05-01T09:30:00");
        assert_eq!(time("2024-05-01T09:30:05").unwrap(), "2024-05-01T09:30:05");
        for bad in [
            "2024-02-30",
            "2024-05-01T24:00",
            "yesterday",
            "2024-05-01T9:30",
        ] {
            assert!(time(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn synced_values_must_be_written_as_stored() {
        assert!(Field::Group.check("12,10,15").is_ok());
        assert!(Field::Group.check("12,,").is_ok());
        assert!(Field::Group
            .check("9,10,15")
            .unwrap_err()
            .contains("minimum"));
        assert!(Field::Group.check(",,").is_err());
        assert!(Field::Position.check("-33.5,151.25").is_ok());
        assert!(Field::Position.check("-33.50,151.25").is_err());
        assert!(Field::Position.check("91,0").unwrap_err().contains("range"));
        assert!(Field::Observers.check("Ana; Ben").is_ok());
        assert!(Field::Observers.check("Ana;Ben").is_err());
        assert!(Field::StartedAt.check("2024-05-01 09:30").is_err());
        assert!(Field::Notes.check("two\nlines").is_ok());
        assert!(Field::Place.check("two\nlines").is_err());
        assert!(Field::parse("mood").unwrap_err().contains("mood"));
    }
}
