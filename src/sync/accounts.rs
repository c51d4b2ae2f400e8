//! Who pushed a received operation: the account behind its claimed author.
//!
//! An operation's `author` is text the laptop that made it chose (its
//! observer name, or anything a modified client writes). The server knows
//! the user of the token each operation came with and names it in its
//! pulls ([`super::wire::PullReply::pushed_by`]). A laptop keeps that
//! account on the received operation's row of its log (`sync_ops.account`,
//! `record`) and shows it beside the claimed author wherever a received
//! author is shown, when the two differ ([`shown_author`]: "Kim Lee
//! (account mallory)"): an individual's sightings and merges (the app's
//! individual page, `whaleid individual show`), who drew a box (the Review
//! photo), and the decisions a sync's review names (the Sync screen,
//! `whaleid sync --review`). The claimed author stays what the catalogue
//! calls the decider (the CSV export's `decided_by` is that name alone).
//! This laptop's own operations have no account, nor do those a server
//! sent before it recorded who pushed them.
//!
//! The account is recorded after its batch is applied and before the pull
//! position moves past it: a crash in between pulls the batch again, and
//! recording is idempotent.

use std::collections::BTreeMap;

use rusqlite::{params, Connection};

use super::ops::{Op, MAX_TEXT};
use crate::catalogue::codes::{clipped, shown};
use crate::catalogue::Catalogue;
use crate::error::Result;

/// Why `account` cannot be the name of a server's user, or `Ok`: every
/// WhaleID server took 1 to 100 bytes (this allows the length of any
/// author). Characters are not judged here: a server before issue 19 took
/// invisible ones, and refusing them would stop its team's laptops from
/// pulling for good; laptops keep them escaped instead.
pub fn check_account(account: &str) -> std::result::Result<(), String> {
    if account.trim().is_empty() {
        return Err("is empty".into());
    }
    if account.len() > MAX_TEXT {
        return Err(format!(
            "`{}` is {} bytes long (at most {MAX_TEXT})",
            clipped(account),
            account.len()
        ));
    }
    Ok(())
}

/// Keep the account `pushed_by` names for each of `ops` that this
/// catalogue logged as received (its own operations heard back, and those
/// it refused, are left alone), with control and invisible characters
/// escaped ([`shown`]), so no screen that shows it can be driven by it.
/// Returns how many rows changed.
pub(crate) fn record(
    cat: &mut Catalogue,
    ops: &[Op],
    pushed_by: &BTreeMap<String, String>,
) -> Result<usize> {
    cat.with_tx(|tx| {
        let mut stmt = tx.conn().prepare_cached(
            "UPDATE sync_ops SET account = ?2
             WHERE id = ?1 AND origin = 'remote' AND account IS NOT ?2",
        )?;
        let mut changed = 0;
        for op in ops {
            if let Some(account) = pushed_by.get(&op.id) {
                changed += stmt.execute(params![op.id, shown(account).as_ref()])?;
            }
        }
        Ok(changed)
    })
}

/// SQL for the account of the received operation of `kind` about the
/// record whose UUID is the expression `record` (NULL when there is none):
/// a column of a query on `conn` that shows that record's author. A
/// catalogue opened read-only is not migrated, so one from before
/// accounts were kept has no such column: its accounts are all NULL.
pub(crate) fn account_column(conn: &Connection, kind: &str, record: &str) -> Result<String> {
    let kept: bool = conn.query_row(
        "SELECT count(*) > 0 FROM pragma_table_info('sync_ops') WHERE name = 'account'",
        [],
        |r| r.get(0),
    )?;
    Ok(if kept {
        format!(
            "(SELECT o.account FROM sync_ops o
              WHERE o.record = {record} AND o.kind = '{kind}' AND o.origin = 'remote'
              ORDER BY o.seq LIMIT 1)"
        )
    } else {
        "NULL".into()
    })
}

/// An author as shown to a person: the claimed name, with the account that
/// pushed it beside it when that is another name ("Kim Lee (account
/// mallory)"); `None` when neither is known.
pub fn shown_author(author: Option<&str>, account: Option<&str>) -> Option<String> {
    match (author, account) {
        (Some(a), Some(acc)) if a != acc => Some(format!("{a} (account {acc})")),
        (None, Some(acc)) => Some(format!("(account {acc})")),
        (a, _) => a.map(str::to_string),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_account_is_shown_only_where_it_is_another_name() {
        let by = |a, b| shown_author(a, b);
        assert_eq!(
            by(Some("Kim Lee"), Some("mallory")).as_deref(),
            Some("Kim Lee (account mallory)")
        );
        assert_eq!(by(Some("cai"), Some("cai")).as_deref(), Some("cai"));
        assert_eq!(by(Some("Ben"), None).as_deref(), Some("Ben"));
        assert_eq!(by(None, Some("ana")).as_deref(), Some("(account ana)"));
        assert_eq!(by(None, None), None);
    }

    /// A catalogue opened read-only is not migrated: one from before
    /// migration 11 has no `sync_ops.account`, and what shows authors must
    /// still read it (commands that only read open read-only, to run
    /// beside the app).
    #[test]
    fn a_catalogue_from_before_accounts_opened_read_only_still_shows_its_authors() {
        let dir = tempfile::tempdir().unwrap();
        let mut cat = Catalogue::create(dir.path()).unwrap();
        let w1 = cat.ensure_individual("W1", None).unwrap();
        let w2 = cat.ensure_individual("W2", None).unwrap();
        cat.merge("W1", "W2", Some("Kim Lee")).unwrap();
        cat.conn()
            .execute_batch(
                "INSERT INTO photos (uuid, sha256, original_path, byte_size, width, height)
                 VALUES ('p', 'aa', 'a.jpg', 1, 100, 100);
                 ALTER TABLE sync_ops DROP COLUMN account;
                 DELETE FROM schema_migrations WHERE version = 11;",
            )
            .unwrap();
        drop(cat);
        let old = Catalogue::open_read_only(dir.path()).unwrap();
        assert!(old.sightings(w2, None).unwrap().is_empty());
        let events = old.events(w1).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].actor.as_deref(), Some("Kim Lee"));
        assert_eq!(events[0].actor_account, None);
        let photo: i64 = old
            .conn()
            .query_row("SELECT id FROM photos", [], |r| r.get(0))
            .unwrap();
        assert!(crate::ingest::boxes::boxes_of(&old, photo)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn an_account_is_a_name_of_a_length_a_server_gives() {
        assert!(check_account("mallory").is_ok());
        assert!(check_account("Kim Lee").is_ok());
        // Escaped when kept, not refused (older servers took these).
        assert!(check_account("ana\u{200b}").is_ok());
        assert!(check_account(" ").unwrap_err().contains("empty"));
        let long = format!("\u{1b}[2J{}", "x".repeat(MAX_TEXT));
        let why = check_account(&long).unwrap_err();
        assert!(why.contains("bytes long (at most 200)"), "{why}");
        assert!(why.contains("\\u{1b}[2J"), "{why}");
        assert!(!why.contains('\u{1b}'), "{why}");
    }
}
