//! Sync operations written by hand, as the tests send them to a planner, a
//! catalogue or a server: records with plain defaults, so a test spells out
//! only what matters to it, and the careless push of issue 19 item 2 (a
//! box, an embedding that may not fit its pack version, and a decision).

use whaleid::catalogue::Catalogue;
use whaleid::sync::hlc::{wall_millis, Hlc};
use whaleid::sync::ops::{Change, DecisionSource, Op, Verdict};

use crate::catalogue::sql;

/// Send everything `from` has not pushed to `to`, as a server relays it
/// (`author` and `receiver` are the accounts), and mark it pushed: the plan
/// `to` applied.
pub fn relay(
    from: &mut Catalogue,
    to: &mut Catalogue,
    author: &str,
    receiver: &str,
) -> whaleid::sync::plan::Plan {
    whaleid::sync::log::collect(from, author).unwrap();
    let ops = whaleid::sync::log::unpushed(from, 100_000).unwrap();
    let plan = whaleid::sync::apply::receive(to, &ops, receiver).unwrap();
    let ids: Vec<String> = ops.iter().map(|o| o.id.clone()).collect();
    whaleid::sync::log::mark_pushed(from, &ids).unwrap();
    plan
}

/// [`relay`], and `to` refused none of it.
pub fn relay_all(from: &mut Catalogue, to: &mut Catalogue, author: &str, receiver: &str) {
    let plan = relay(from, to, author, receiver);
    assert!(
        !plan
            .actions
            .iter()
            .any(|a| matches!(a, whaleid::sync::plan::Action::Refuse { .. })),
        "{plan:?}"
    );
}

/// A photo of 100×80 pixels with no date, place or thumbnail.
pub fn photo_added(photo: &str, sha256: String) -> Change {
    Change::PhotoAdded {
        photo: photo.into(),
        sha256,
        width: 100,
        height: 80,
        taken_at: None,
        latitude: None,
        longitude: None,
        thumb: None,
    }
}

/// A fin box on `photo` as the detector finds one (score 0.9): no crop,
/// species or person who drew it, replacing nothing.
pub fn fin_box(detection: &str, photo: &str, bbox: [f32; 4]) -> Change {
    Change::DetectionAdded {
        detection: detection.into(),
        photo: photo.into(),
        bbox,
        class: "fin".into(),
        score: Some(0.9),
        crop: None,
        species: None,
        drawn_by: None,
        replaces: None,
    }
}

/// The UUIDs of `cat`'s first photo and first individual.
pub fn first_photo_and_individual(cat: &Catalogue) -> (String, String) {
    sql(cat)
        .query_row(
            "SELECT p.uuid, i.uuid FROM photos p, individuals i ORDER BY p.id, i.id LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
}

/// What one careless push from Mallory carries: a box drawn on `photo`, an
/// embedding of `values` values for it under pack `(name, version)`, and a
/// decision confirming the box as `individual`, in that order.
///
/// `n` keeps pushes apart: the operations are
/// `01a22700-0000-7000-8000-…` numbered `16n + 1`…`16n + 3`, the box is
/// `…{n:08x}d001` (one pixel lower for each `n`) and the decision
/// `…{n:08x}d002`.
pub fn careless_push(
    n: u32,
    photo: &str,
    individual: &str,
    pack: (&str, &str),
    values: usize,
) -> Vec<Op> {
    let op = |k: u32, change: Change| Op {
        id: format!("01a22700-0000-7000-8000-{:012x}", n * 16 + k),
        hlc: Hlc {
            millis: wall_millis(),
            counter: n * 16 + k,
            node: 99,
        },
        author: "mallory".into(),
        change,
    };
    let detection = format!("01a22700-0000-7000-8000-{n:08x}d001");
    vec![
        op(
            1,
            Change::DetectionAdded {
                detection: detection.clone(),
                photo: photo.into(),
                bbox: [1.0, 1.0 + n as f32, 9.0, 7.0 + n as f32],
                class: "fin".into(),
                score: None,
                crop: None,
                species: None,
                drawn_by: Some("mallory".into()),
                replaces: None,
            },
        ),
        op(
            2,
            Change::EmbeddingAdded {
                detection: detection.clone(),
                pack_name: pack.0.into(),
                pack_version: pack.1.into(),
                vector: (0..values).map(|v| v as f32 + 0.5).collect(),
            },
        ),
        op(
            3,
            Change::Decided {
                decision: format!("01a22700-0000-7000-8000-{n:08x}d002"),
                detection,
                individual: individual.into(),
                verdict: Verdict::Confirmed,
                source: DecisionSource::Person,
                score: None,
            },
        ),
    ]
}
