//! What a sync leaves for a person: the conflicts the merge rules settled
//! one way (two people decided differently about one detection; two
//! individuals were created with one code) and individuals that look like
//! one animal named twice. Each sync adds what it found (once: a later sync
//! finding the same thing again adds nothing), and they stay listed until a
//! person dismisses them. A duplicate pair that has since been merged is
//! done and no longer listed.

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::duplicates::Duplicate;
use super::plan::Conflict;
use crate::catalogue::Catalogue;
use crate::error::{Error, Result};

/// One thing to look at.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReviewItem {
    pub id: i64,
    pub found_at: String,
    pub what: Found,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Found {
    Conflict(Conflict),
    Duplicate(Duplicate),
}

fn key_of(found: &Found) -> (&'static str, String) {
    match found {
        Found::Conflict(Conflict::Decisions {
            detection,
            current,
            other,
        }) => {
            let (a, b) = if current < other {
                (current, other)
            } else {
                (other, current)
            };
            ("decisions", format!("decisions:{detection}:{a}:{b}"))
        }
        Found::Conflict(Conflict::CodeClash { code, renamed, .. }) => {
            ("code_clash", format!("code_clash:{code}:{renamed}"))
        }
        Found::Conflict(Conflict::RemovedBox {
            detection,
            decision,
        }) => ("removed_box", format!("removed_box:{detection}:{decision}")),
        Found::Conflict(Conflict::BoxMoves { kept, other, .. }) => {
            ("box_moves", format!("box_moves:{kept}:{other}"))
        }
        Found::Duplicate(d) => {
            let (a, b) = if d.individual < d.other {
                (&d.individual, &d.other)
            } else {
                (&d.other, &d.individual)
            };
            ("duplicate", format!("duplicate:{a}:{b}"))
        }
    }
}

/// Keep what a sync found (each once). Returns how many were new.
pub fn record(
    cat: &mut Catalogue,
    conflicts: &[Conflict],
    duplicates: &[Duplicate],
) -> Result<usize> {
    let found: Vec<Found> = conflicts
        .iter()
        .cloned()
        .map(Found::Conflict)
        .chain(duplicates.iter().cloned().map(Found::Duplicate))
        .collect();
    cat.with_tx(|tx| {
        let mut stmt = tx.conn().prepare_cached(
            "INSERT OR IGNORE INTO sync_review (kind, key, body) VALUES (?1, ?2, ?3)",
        )?;
        let mut added = 0;
        for f in &found {
            let (kind, key) = key_of(f);
            let body = match f {
                Found::Conflict(c) => serde_json::to_string(c),
                Found::Duplicate(d) => serde_json::to_string(d),
            }
            .expect("plain data");
            added += stmt.execute(params![kind, key, body])?;
        }
        Ok(added)
    })
}

/// The local id of an individual's UUID, followed through merges; `None`
/// when the catalogue does not have it.
pub fn current_individual(cat: &Catalogue, uuid: &str) -> Result<Option<i64>> {
    let id: Option<i64> = cat
        .conn()
        .query_row("SELECT id FROM individuals WHERE uuid = ?1", [uuid], |r| {
            r.get(0)
        })
        .optional()?;
    id.map(|i| cat.resolve(i)).transpose()
}

/// What is still to look at, oldest first.
pub fn open_items(cat: &Catalogue) -> Result<Vec<ReviewItem>> {
    let mut stmt = cat.conn().prepare(
        "SELECT id, kind, body, found_at FROM sync_review
         WHERE dismissed_at IS NULL ORDER BY id",
    )?;
    let rows: Vec<(i64, String, String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let unreadable = |e: serde_json::Error| Error::Catalogue {
        path: cat.root().to_path_buf(),
        reason: format!("sync_review holds an unreadable item: {e}"),
    };
    let mut out = Vec::new();
    for (id, kind, body, found_at) in rows {
        let what = if kind == "duplicate" {
            let d: Duplicate = serde_json::from_str(&body).map_err(unreadable)?;
            // Merged since (here or elsewhere): nothing left to decide.
            let a = current_individual(cat, &d.individual)?;
            let b = current_individual(cat, &d.other)?;
            if a.is_none() || a == b {
                continue;
            }
            Found::Duplicate(d)
        } else {
            Found::Conflict(serde_json::from_str(&body).map_err(unreadable)?)
        };
        out.push(ReviewItem { id, found_at, what });
    }
    Ok(out)
}

/// A person has looked at item `id`.
pub fn dismiss(cat: &mut Catalogue, id: i64) -> Result<()> {
    let n = cat.conn().execute(
        &format!(
            "UPDATE sync_review SET dismissed_at = {}
             WHERE id = ?1 AND dismissed_at IS NULL",
            crate::catalogue::sql::NOW
        ),
        [id],
    )?;
    if n == 0 {
        return Err(Error::Invalid(format!(
            "no sync item {id} to dismiss (dismissed already?)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uuid_of(cat: &Catalogue, code: &str) -> String {
        cat.conn()
            .query_row(
                "SELECT uuid FROM individuals WHERE code = ?1",
                [code],
                |r| r.get(0),
            )
            .unwrap()
    }

    #[test]
    fn items_are_kept_once_until_dismissed_and_a_merged_pair_is_done() {
        let dir = tempfile::tempdir().unwrap();
        let mut cat = Catalogue::create(dir.path().join("c")).unwrap();
        for code in ["A", "B", "C"] {
            cat.ensure_individual(code, None).unwrap();
        }
        let (a, b, c) = (uuid_of(&cat, "A"), uuid_of(&cat, "B"), uuid_of(&cat, "C"));
        let dup = |x: &str, y: &str, xc: &str, yc: &str| Duplicate {
            individual: x.into(),
            code: xc.into(),
            other: y.into(),
            other_code: yc.into(),
            score: 0.93,
        };
        let clash = Conflict::CodeClash {
            code: "C".into(),
            kept: c.clone(),
            renamed: a.clone(),
            renamed_to: "C-2".into(),
        };
        let found = [dup(&a, &b, "A", "B"), dup(&c, &a, "C", "A")];
        assert_eq!(
            record(&mut cat, std::slice::from_ref(&clash), &found).unwrap(),
            3
        );
        // The next sync finds them again (the pair seen from the other side too).
        assert_eq!(
            record(&mut cat, &[clash], &[dup(&b, &a, "B", "A")]).unwrap(),
            0
        );
        let items = open_items(&cat).unwrap();
        assert_eq!(items.len(), 3);
        assert!(matches!(
            items[0].what,
            Found::Conflict(Conflict::CodeClash { .. })
        ));

        dismiss(&mut cat, items[0].id).unwrap();
        let err = dismiss(&mut cat, items[0].id).unwrap_err().to_string();
        assert!(err.contains("dismissed already"), "{err}");
        // A and B merged: that suggestion is done; C and A still open.
        cat.merge("B", "A", Some("ana")).unwrap();
        let left = open_items(&cat).unwrap();
        assert_eq!(left.len(), 1, "{left:?}");
        assert!(matches!(&left[0].what, Found::Duplicate(d) if d.code == "C"));
    }
}
