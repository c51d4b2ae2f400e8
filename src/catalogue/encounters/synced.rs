//! The encounter side of sync: a field's synced text read for an
//! operation ([`synced_field`]), and received settings stored
//! ([`store_field`], [`set_photo_encounter`]) while the capture triggers
//! are off, with the sender's name and time.

use rusqlite::{params, OptionalExtension};

use super::{encounter_row, position_of, Field, GroupSize, COLUMNS};
use crate::catalogue::sql::NOW;
use crate::error::{Error, Result};

/// One field of one encounter as an `encounter_set` operation carries it.
pub(crate) struct SyncedField {
    pub encounter: String,
    pub field: Field,
    /// `None`: cleared.
    pub value: Option<String>,
    /// Who set it, when the edit named someone.
    pub by: Option<String>,
}

/// Sync's side: the synced text of one field of encounter `id` (row id)
/// and who last set it; `None` when the edit row is gone.
pub(crate) fn synced_field(c: &rusqlite::Connection, edit_row: i64) -> Result<Option<SyncedField>> {
    let found: Option<(i64, String, Option<String>)> = c
        .query_row(
            "SELECT encounter_id, field, set_by FROM encounter_edits WHERE id = ?1",
            [edit_row],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((id, field, by)) = found else {
        return Ok(None);
    };
    let field = Field::parse(&field).map_err(Error::Invalid)?;
    let e = c.query_row(
        &format!("SELECT {COLUMNS} FROM encounters e WHERE e.id = ?1"),
        [id],
        encounter_row,
    )?;
    let joined: Option<String> = match e.joined_into {
        Some(j) => c
            .query_row("SELECT uuid FROM encounters WHERE id = ?1", [j], |r| {
                r.get(0)
            })
            .optional()?,
        None => None,
    };
    let value = field.value_of(&e, joined.as_deref());
    Ok(Some(SyncedField {
        encounter: e.uuid,
        field,
        value,
        by,
    }))
}

/// Sync's side: store a field's synced text (already checked, see
/// [`Field::check`]) in encounter `uuid`, made if it is not here yet, with
/// who set it and when (`at_millis`, Unix ms).
pub(crate) fn store_field(
    c: &rusqlite::Connection,
    uuid: &str,
    field: Field,
    value: Option<&str>,
    by: &str,
    at_millis: i64,
) -> Result<()> {
    let id = ensure(c, uuid)?;
    let set = |cols: &[&str], vals: Vec<Box<dyn rusqlite::ToSql>>| -> Result<()> {
        for (col, v) in cols.iter().zip(vals) {
            c.execute(
                &format!("UPDATE encounters SET {col} = ?2, updated_at = {NOW} WHERE id = ?1"),
                params![id, v],
            )?;
        }
        Ok(())
    };
    let s = |v: Option<&str>| -> Box<dyn rusqlite::ToSql> { Box::new(v.map(str::to_string)) };
    match field {
        Field::StartedAt => set(&["started_at"], vec![s(value)])?,
        Field::EndedAt => set(&["ended_at"], vec![s(value)])?,
        Field::Place => set(&["location"], vec![s(value)])?,
        Field::Observers => set(&["observers"], vec![s(value)])?,
        Field::Vessel => set(&["vessel"], vec![s(value)])?,
        Field::Behaviour => set(&["behaviour"], vec![s(value)])?,
        Field::Notes => set(&["notes"], vec![s(value)])?,
        Field::Survey => set(&["survey"], vec![s(value)])?,
        Field::Position => {
            let p = value.map(position_of).transpose().map_err(Error::Invalid)?;
            set(
                &["latitude", "longitude"],
                vec![Box::new(p.map(|p| p.0)), Box::new(p.map(|p| p.1))],
            )?
        }
        Field::Group => {
            let g = value
                .map(GroupSize::of_text)
                .transpose()
                .map_err(Error::Invalid)?
                .unwrap_or_default();
            set(
                &["group_best", "group_min", "group_max"],
                vec![Box::new(g.best), Box::new(g.min), Box::new(g.max)],
            )?
        }
        Field::JoinedInto => {
            let into = value.map(|u| ensure(c, u)).transpose()?;
            set(&["joined_into"], vec![Box::new(into)])?
        }
    }
    c.execute(
        "INSERT INTO encounter_edits (encounter_id, field, set_by, set_at)
         VALUES (?1, ?2, ?3, strftime('%Y-%m-%dT%H:%M:%fZ', ?4 / 1000.0, 'unixepoch'))
         ON CONFLICT (encounter_id, field) DO UPDATE
         SET set_by = excluded.set_by, set_at = excluded.set_at",
        params![id, field.as_str(), by, at_millis],
    )?;
    Ok(())
}

/// Sync's side: photo `photo` (UUID) is now in encounter `encounter`
/// (made if not here), or in none.
pub(crate) fn set_photo_encounter(
    c: &rusqlite::Connection,
    photo: &str,
    encounter: Option<&str>,
) -> Result<()> {
    let id = encounter.map(|u| ensure(c, u)).transpose()?;
    c.execute(
        &format!("UPDATE photos SET encounter_id = ?2, updated_at = {NOW} WHERE uuid = ?1"),
        params![photo, id],
    )?;
    Ok(())
}

/// Sync's side: the row id of encounter `uuid`, made empty if it is not here.
pub(crate) fn ensure(c: &rusqlite::Connection, uuid: &str) -> Result<i64> {
    c.execute(
        "INSERT INTO encounters (uuid) VALUES (?1) ON CONFLICT (uuid) DO NOTHING",
        [uuid],
    )?;
    Ok(
        c.query_row("SELECT id FROM encounters WHERE uuid = ?1", [uuid], |r| {
            r.get(0)
        })?,
    )
}
