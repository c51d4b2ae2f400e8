//! The versions of a catalogue's pack: the one it started with and each
//! fine-tuned version adopted since, and the switches between them.
//!
//! Switching is one transaction: the pack setting, its folder, the
//! new-individual threshold that goes with the version, and a row in
//! `pack_switches`. Embeddings of every version stay in the catalogue, so
//! switching back needs no recomputation for what was embedded before.

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::{keys, new_uuid, Catalogue, Tx};
use crate::error::Result;

/// One row of `pack_versions`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PackVersion {
    pub pack_name: String,
    pub pack_version: String,
    /// `None` for the version the catalogue started with.
    pub parent_version: Option<String>,
    /// The pack folder.
    pub path: String,
    /// The new-individual threshold in force with this version (`None`: the pack's own).
    pub threshold: Option<f32>,
    /// The training run's report, JSON (`{}` for the starting version).
    pub report: String,
    pub created_at: String,
}

/// Why the active version changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SwitchAction {
    Adopt,
    Rollback,
    Switch,
}

impl SwitchAction {
    fn as_str(self) -> &'static str {
        match self {
            SwitchAction::Adopt => "adopt",
            SwitchAction::Rollback => "rollback",
            SwitchAction::Switch => "switch",
        }
    }
}

const COLUMNS: &str =
    "pack_name, pack_version, parent_version, path, threshold, report, created_at";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PackVersion> {
    Ok(PackVersion {
        pack_name: r.get(0)?,
        pack_version: r.get(1)?,
        parent_version: r.get(2)?,
        path: r.get(3)?,
        threshold: r.get::<_, Option<f64>>(4)?.map(|t| t as f32),
        report: r.get(5)?,
        created_at: r.get(6)?,
    })
}

impl Catalogue {
    /// Every recorded version of pack `name`, oldest first.
    pub fn pack_versions(&self, name: &str) -> Result<Vec<PackVersion>> {
        let mut stmt = self.conn().prepare(&format!(
            "SELECT {COLUMNS} FROM pack_versions WHERE pack_name = ?1 ORDER BY id"
        ))?;
        let rows = stmt.query_map([name], row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn pack_version(&self, name: &str, version: &str) -> Result<Option<PackVersion>> {
        Ok(self
            .conn()
            .query_row(
                &format!(
                    "SELECT {COLUMNS} FROM pack_versions WHERE pack_name = ?1 AND pack_version = ?2"
                ),
                [name, version],
                row,
            )
            .optional()?)
    }

    /// The threshold setting, when the catalogue has one.
    pub fn threshold_setting(&self) -> Result<Option<f32>> {
        Ok(self
            .setting(keys::THRESHOLD)?
            .and_then(|t| t.parse::<f32>().ok()))
    }
}

impl Tx<'_> {
    /// Record a version (kept as it is when already recorded).
    pub fn record_pack_version(&self, v: &PackVersion) -> Result<()> {
        self.conn().execute(
            "INSERT INTO pack_versions
                 (uuid, pack_name, pack_version, parent_version, path, threshold, report)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (pack_name, pack_version) DO NOTHING",
            params![
                new_uuid(),
                v.pack_name,
                v.pack_version,
                v.parent_version,
                v.path,
                v.threshold.map(f64::from),
                v.report
            ],
        )?;
        Ok(())
    }

    /// Make `to` the catalogue's active version: its folder, its threshold,
    /// and a `pack_switches` row saying who did it and why.
    pub fn switch_pack(
        &self,
        from: &str,
        to: &PackVersion,
        action: SwitchAction,
        actor: Option<&str>,
    ) -> Result<()> {
        let set = |key: &str, value: &str| super::upsert_setting(self.conn(), key, value);
        set(keys::PACK_NAME, &to.pack_name)?;
        set(keys::PACK_VERSION, &to.pack_version)?;
        set(keys::PACK_PATH, &to.path)?;
        match to.threshold {
            Some(t) => {
                set(keys::THRESHOLD, &t.to_string())?;
                set(keys::THRESHOLD_SOURCE, "calibrated")?;
            }
            None => {
                self.conn().execute(
                    "DELETE FROM settings WHERE key IN (?1, ?2)",
                    [keys::THRESHOLD, keys::THRESHOLD_SOURCE],
                )?;
            }
        }
        self.conn().execute(
            "INSERT INTO pack_switches (uuid, pack_name, from_version, to_version, action, actor)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                new_uuid(),
                to.pack_name,
                from,
                to.pack_version,
                action.as_str(),
                actor
            ],
        )?;
        Ok(())
    }
}
