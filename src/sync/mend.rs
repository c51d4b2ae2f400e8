//! Operations logged before individual codes had one rule
//! ([`crate::catalogue::codes`]), mended before they are pushed.
//!
//! An older WhaleID imported codes the server refuses (10,000 characters, a
//! newline, a terminal escape) and logged them in `individual_created` and
//! `individual_renamed` operations. The server refuses those for good, and
//! with the creation refused every later operation about the animal is
//! refused too ("is not in this catalogue"); renaming the individual here
//! only added a rename the server refused for the same reason.
//!
//! Such an operation was never accepted anywhere (every server refuses
//! it), so it can still be changed: before each push, an unpushed local
//! operation whose code breaks the rule takes the individual's code as it
//! is now, when that one passes. Renaming the individual to a good code is
//! then all it takes; until then the operation stays refused and reported,
//! and nothing else waits for it.

use rusqlite::{params, OptionalExtension};

use super::ops::{Change, Op};
use crate::catalogue::codes::check_code;
use crate::catalogue::Catalogue;
use crate::error::{Error, Result};

/// Give each unpushed local operation whose code breaks the rule the
/// individual's current code, where that passes. Returns how many were
/// mended.
pub fn mend_unpushed_codes(cat: &mut Catalogue) -> Result<usize> {
    let logged: Vec<(i64, String)> = {
        let mut stmt = cat.conn().prepare(
            "SELECT seq, body FROM sync_ops
             WHERE origin = 'local' AND pushed = 0
               AND kind IN ('individual_created', 'individual_renamed')",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let mut mended = Vec::new();
    for (seq, body) in logged {
        let mut op: Op = serde_json::from_str(&body).map_err(|e| Error::Catalogue {
            path: cat.root().to_path_buf(),
            reason: format!("sync_ops holds an unreadable operation at seq {seq}: {e}"),
        })?;
        let (Change::IndividualCreated {
            individual, code, ..
        }
        | Change::IndividualRenamed { individual, code }) = &mut op.change
        else {
            continue;
        };
        if check_code(code).is_ok() {
            continue;
        }
        let current: Option<String> = cat
            .conn()
            .query_row(
                "SELECT code FROM individuals WHERE uuid = ?1",
                [&*individual],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(current) = current.filter(|c| check_code(c).is_ok()) {
            *code = current;
            let body = serde_json::to_string(&op).map_err(|e| Error::Invalid(e.to_string()))?;
            mended.push((seq, body));
        }
    }
    cat.with_tx(|tx| {
        for (seq, body) in &mended {
            tx.conn().execute(
                "UPDATE sync_ops SET body = ?2 WHERE seq = ?1",
                params![seq, body],
            )?;
        }
        Ok(())
    })?;
    Ok(mended.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::log::{collect, unpushed};

    fn code_of(op: &Op) -> &str {
        match &op.change {
            Change::IndividualCreated { code, .. } | Change::IndividualRenamed { code, .. } => code,
            _ => panic!("{op:?}"),
        }
    }

    #[test]
    fn a_refused_code_takes_the_individuals_good_code_and_nothing_else_changes() {
        let dir = tempfile::tempdir().unwrap();
        let mut cat = Catalogue::create(dir.path().join("cat")).unwrap();
        cat.ensure_individual("W1", None).unwrap();
        // As an older WhaleID stored it.
        cat.conn()
            .execute(
                "INSERT INTO individuals (uuid, code) VALUES ('01a22700-0000-7000-8000-0000000000c1', 'W2\nx')",
                [],
            )
            .unwrap();
        collect(&mut cat, "ana").unwrap();
        // Not renamed yet: nothing to take, nothing changes.
        assert_eq!(mend_unpushed_codes(&mut cat).unwrap(), 0);
        let before = unpushed(&cat, 10).unwrap();
        assert_eq!(code_of(&before[1]), "W2\nx");
        cat.rename("01a22700-0000-7000-8000-0000000000c1", "W2", None)
            .unwrap();
        collect(&mut cat, "ana").unwrap();
        assert_eq!(mend_unpushed_codes(&mut cat).unwrap(), 1);
        let after = unpushed(&cat, 10).unwrap();
        assert_eq!(after.len(), 3);
        assert_eq!(after[0], before[0], "the good one is untouched");
        assert_eq!(code_of(&after[1]), "W2");
        assert_eq!((&after[1].id, after[1].hlc), (&before[1].id, before[1].hlc));
        assert!(after.iter().all(|op| op.validate().is_ok()), "{after:?}");
        assert_eq!(mend_unpushed_codes(&mut cat).unwrap(), 0);
    }
}
