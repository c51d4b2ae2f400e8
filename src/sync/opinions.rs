//! The second reviewer's opinions (`review_opinions`, migration 14) as
//! operations: made from a noted row ([`opinion_given`]), stored when one
//! arrives ([`add_opinion`]), and read for the planner ([`load`]). See
//! `crate::catalogue::second_review` for what they mean and
//! `super::plan` (`second_review.rs`) for the rule.

use rusqlite::{params, Connection, OptionalExtension};

use super::ops::{Change, Op};
use super::plan::{LocalState, OpinionState};
use crate::error::{Error, Result};

/// The operation an opinion row is, with who gave it.
pub(super) fn opinion_given(c: &Connection, row: i64) -> Result<Option<(Change, Option<String>)>> {
    Ok(c.query_row(
        "SELECT o.uuid, o.case_uuid, d.uuid, o.round, o.choice, i.uuid, o.given_by
         FROM review_opinions o JOIN detections d ON d.id = o.detection_id
         LEFT JOIN individuals i ON i.id = o.individual_id WHERE o.id = ?1",
        [row],
        |r| {
            Ok((
                Change::OpinionGiven {
                    opinion: r.get(0)?,
                    case: r.get(1)?,
                    detection: r.get(2)?,
                    round: r.get(3)?,
                    choice: r.get(4)?,
                    individual: r.get(5)?,
                },
                Some(r.get::<_, String>(6)?),
            ))
        },
    )
    .optional()?)
}

/// Store an opinion that arrived, on `detection` (resolved through
/// aliases), by its operation's author, at its operation's time (so every
/// catalogue orders opinions the same way).
pub(super) fn add_opinion(c: &Connection, op: &Op, detection: &str) -> Result<()> {
    let Change::OpinionGiven {
        opinion,
        case,
        round,
        choice,
        individual,
        ..
    } = &op.change
    else {
        return Err(Error::Invalid(format!(
            "operation {} is not an opinion",
            op.id
        )));
    };
    c.execute(
        "INSERT INTO review_opinions
             (uuid, case_uuid, detection_id, round, choice, individual_id, given_by, given_at)
         VALUES (?1, ?2, (SELECT id FROM detections WHERE uuid = ?3), ?4, ?5,
                 (SELECT id FROM individuals WHERE uuid = ?6), ?7,
                 strftime('%Y-%m-%dT%H:%M:%fZ', ?8 / 1000.0, 'unixepoch'))",
        params![
            opinion,
            case,
            detection,
            round,
            choice,
            individual,
            op.author,
            op.hlc.millis as i64
        ],
    )?;
    Ok(())
}

/// Every opinion held, for the planner.
pub(super) fn load(c: &Connection, s: &mut LocalState) -> Result<()> {
    let mut stmt = c.prepare(
        "SELECT o.uuid, o.round, d.uuid FROM review_opinions o
         JOIN detections d ON d.id = o.detection_id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            OpinionState {
                round: r.get(1)?,
                detection: r.get(2)?,
            },
        ))
    })?;
    for row in rows {
        let (uuid, state) = row?;
        s.opinions.insert(uuid, state);
    }
    let mut stmt = c.prepare("SELECT uuid FROM second_review_switches")?;
    for uuid in stmt.query_map([], |r| r.get::<_, String>(0))? {
        s.switches.insert(uuid?);
    }
    Ok(())
}

/// The operation a switching of the second reviewer is, with who did it.
pub(super) fn switched(c: &Connection, row: i64) -> Result<Option<(Change, Option<String>)>> {
    Ok(c.query_row(
        "SELECT uuid, required, set_by FROM second_review_switches WHERE id = ?1",
        [row],
        |r| {
            Ok((
                Change::SecondReviewSwitched {
                    switch: r.get(0)?,
                    required: r.get(1)?,
                },
                r.get::<_, Option<String>>(2)?,
            ))
        },
    )
    .optional()?)
}

/// Store a switching that arrived, at its operation's time: the latest
/// switching holds, on every catalogue alike.
pub(super) fn add_switch(c: &Connection, op: &Op) -> Result<()> {
    let Change::SecondReviewSwitched { switch, required } = &op.change else {
        return Err(Error::Invalid(format!(
            "operation {} is not a switching of the second reviewer",
            op.id
        )));
    };
    c.execute(
        "INSERT INTO second_review_switches (uuid, required, set_by, set_at)
         VALUES (?1, ?2, ?3, strftime('%Y-%m-%dT%H:%M:%fZ', ?4 / 1000.0, 'unixepoch'))",
        params![switch, required, op.author, op.hlc.millis as i64],
    )?;
    Ok(())
}
