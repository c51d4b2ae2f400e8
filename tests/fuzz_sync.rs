//! Fuzzing the sync wire format and the planner's input (issue 19).
//!
//! * `fuzz_wire_*`: arbitrary and mutated JSON bodies into every wire type
//!   (what the server reads from a push and a laptop from a reply), hostile
//!   operations into [`Op::validate`], and hostile batches into a real
//!   catalogue through the applier a server and a laptop run: never a
//!   panic, never an error that would fail the whole request (a 500 a
//!   laptop meets on every retry), every refusal names its operation with a
//!   printable reason, and the catalogue stays sound.
//! * `fuzz_plan_*`: arbitrary operation sequences (ids, references and
//!   timestamps drawn from small pools, so they collide, tie and name each
//!   other) into the planner: no panic, one plan whatever order the batch
//!   came in, and the codes it gives are unique.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use serde::de::DeserializeOwned;
use serde::Serialize;
use whaleid::catalogue::codes::is_hidden_char;
use whaleid::catalogue::Catalogue;
use whaleid::sync::apply::receive;
use whaleid::sync::hlc::{wall_millis, Hlc};
use whaleid::sync::ops::{Change, DecisionSource, Op, Verdict};
use whaleid::sync::plan::{resolve_codes, resolve_merges, simulate, Action, LocalState, Plan};
use whaleid::sync::state::canonical;
use whaleid::sync::wire::{Held, PullReply, PushReply, PushRequest, UploadStatus};
use whaleid_testkit::ops::{fin_box, photo_added};

/// Records of the starting catalogue, and a few that are not there.
const PHOTOS: [&str; 3] = [
    "01a22700-0000-7000-8000-00000000a001",
    "01a22700-0000-7000-8000-00000000a002",
    "01a22700-0000-7000-8000-00000000a003",
];
const DETECTIONS: [&str; 3] = [
    "01a22700-0000-7000-8000-00000000b001",
    "01a22700-0000-7000-8000-00000000b002",
    "01a22700-0000-7000-8000-00000000b003",
];
const INDIVIDUALS: [&str; 4] = [
    "01a22700-0000-7000-8000-00000000c001",
    "01a22700-0000-7000-8000-00000000c002",
    "01a22700-0000-7000-8000-00000000c003",
    "01a22700-0000-7000-8000-00000000c004",
];
const DECISIONS: [&str; 2] = [
    "01a22700-0000-7000-8000-00000000d001",
    "01a22700-0000-7000-8000-00000000d002",
];
const MERGES: [&str; 2] = [
    "01a22700-0000-7000-8000-00000000e001",
    "01a22700-0000-7000-8000-00000000e002",
];

fn sha(k: usize) -> String {
    format!("{:02x}", 0xa0 + k).repeat(32)
}

fn stamp(millis: u64, counter: u32) -> Hlc {
    Hlc {
        millis,
        counter,
        node: 1,
    }
}

/// The starting catalogue's operations: two photos with a box each and its
/// embedding, three individuals, a decision and a merge.
fn seed() -> Vec<Op> {
    let mut n = 0u32;
    let mut op = |change: Change| {
        n += 1;
        Op {
            id: format!("01a22700-0000-7000-8000-0000000f{n:04x}"),
            hlc: stamp(1_000 + u64::from(n), 0),
            author: "seed".into(),
            change,
        }
    };
    let mut ops = Vec::new();
    for k in 0..2 {
        ops.push(op(photo_added(PHOTOS[k], sha(k))));
        ops.push(op(fin_box(
            DETECTIONS[k],
            PHOTOS[k],
            [5.0, 5.0, 50.0, 40.0],
        )));
        ops.push(op(Change::EmbeddingAdded {
            detection: DETECTIONS[k].into(),
            pack_name: "tiny".into(),
            pack_version: "0.1.0".into(),
            vector: vec![0.5, 0.5, 0.5, 0.5 - k as f32],
        }));
    }
    for (k, individual) in INDIVIDUALS.iter().take(3).enumerate() {
        ops.push(op(Change::IndividualCreated {
            individual: (*individual).into(),
            code: format!("C{}", k % 2),
            species: None,
        }));
    }
    ops.push(op(Change::Decided {
        decision: DECISIONS[0].into(),
        detection: DETECTIONS[0].into(),
        individual: INDIVIDUALS[0].into(),
        verdict: Verdict::Confirmed,
        source: DecisionSource::Person,
        score: Some(0.7),
    }));
    ops.push(op(Change::IndividualsMerged {
        event: MERGES[0].into(),
        from: INDIVIDUALS[2].into(),
        into: INDIVIDUALS[1].into(),
    }));
    ops
}

/// Short text as a careless or hostile laptop sends it.
fn text() -> BoxedStrategy<String> {
    prop_oneof![
        4 => prop::sample::select(vec!["ana", "C1", "C0", "C1~c0010000", "fin", "tiny", "generic", "1.0.0", "0.1.0"])
            .prop_map(String::from),
        2 => "\\PC{0,12}",
        1 => "[\\x00-\\x1f\\u{7f}\\u{9b}\\u{202e}\\u{200b} a]{1,6}",
        1 => Just(String::new()),
        1 => Just("x".repeat(201)),
        1 => Just(" ".into()),
    ]
    .boxed()
}

/// A UUID from the pools (so references hit, miss and collide), or not one.
fn uuid(pool: &'static [&'static str]) -> BoxedStrategy<String> {
    prop_oneof![
        6 => prop::sample::select(pool.to_vec()).prop_map(String::from),
        2 => (0u32..4).prop_map(|k| format!("01a22700-0000-7000-8000-00000000f{k:03x}")),
        1 => text(),
    ]
    .boxed()
}

fn any_uuid() -> BoxedStrategy<String> {
    static ALL: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    let all = ALL.get_or_init(|| {
        PHOTOS
            .iter()
            .chain(&DETECTIONS)
            .chain(&INDIVIDUALS)
            .chain(&DECISIONS)
            .chain(&MERGES)
            .copied()
            .collect()
    });
    uuid(all.as_slice())
}

fn float() -> BoxedStrategy<f32> {
    prop_oneof![
        6 => -10.0f32..120.0,
        1 => Just(f32::NAN),
        1 => Just(f32::INFINITY),
        1 => any::<f32>(),
    ]
    .boxed()
}

fn sha256() -> BoxedStrategy<String> {
    prop_oneof![
        4 => (0usize..3).prop_map(sha),
        1 => text(),
        1 => Just("AB".repeat(32)),
    ]
    .boxed()
}

/// Any change, its fields drawn to collide with the catalogue's records.
fn change() -> BoxedStrategy<Change> {
    let opt_text = || prop::option::of(text());
    let bbox = || [float(), float(), float(), float()];
    let vector = prop_oneof![
        4 => prop::collection::vec(float(), 0..6),
        1 => Just(vec![0.25f32; 512]),
        1 => Just(vec![0.25f32; 3]),
    ];
    prop_oneof![
        (
            uuid(&PHOTOS),
            sha256(),
            0u32..3,
            0u32..3,
            opt_text(),
            prop::option::of(-200.0f64..200.0),
            prop::option::of(prop_oneof![Just(f64::NAN), -200.0f64..200.0]),
            prop::option::of(sha256()),
        )
            .prop_map(
                |(photo, sha256, width, height, taken_at, latitude, longitude, thumb)| {
                    Change::PhotoAdded {
                        photo,
                        sha256,
                        width,
                        height,
                        taken_at,
                        latitude,
                        longitude,
                        thumb,
                    }
                }
            ),
        (
            uuid(&DETECTIONS),
            uuid(&PHOTOS),
            prop_oneof![3 => Just([5.0f32, 5.0, 50.0, 40.0]), 2 => bbox()],
            text(),
            prop::option::of(float()),
            prop::option::of(sha256()),
            opt_text(),
            opt_text(),
            prop::option::of(uuid(&DETECTIONS)),
        )
            .prop_map(
                |(detection, photo, bbox, class, score, crop, species, drawn_by, replaces)| {
                    Change::DetectionAdded {
                        detection,
                        photo,
                        bbox,
                        class,
                        score,
                        crop,
                        species,
                        drawn_by,
                        replaces,
                    }
                }
            ),
        (uuid(&DETECTIONS), prop::option::of(uuid(&DETECTIONS))).prop_map(
            |(detection, replaced_by)| Change::DetectionRemoved {
                detection,
                replaced_by
            }
        ),
        uuid(&DETECTIONS).prop_map(|detection| Change::DetectionRestored { detection }),
        (uuid(&DETECTIONS), text(), text(), vector).prop_map(
            |(detection, pack_name, pack_version, vector)| Change::EmbeddingAdded {
                detection,
                pack_name,
                pack_version,
                vector,
            }
        ),
        (uuid(&INDIVIDUALS), text(), opt_text()).prop_map(|(individual, code, species)| {
            Change::IndividualCreated {
                individual,
                code,
                species,
            }
        }),
        (uuid(&INDIVIDUALS), text())
            .prop_map(|(individual, code)| Change::IndividualRenamed { individual, code }),
        (uuid(&MERGES), uuid(&INDIVIDUALS), uuid(&INDIVIDUALS))
            .prop_map(|(event, from, into)| Change::IndividualsMerged { event, from, into }),
        uuid(&MERGES).prop_map(|event| Change::MergeUndone { event }),
        (
            uuid(&DECISIONS),
            uuid(&DETECTIONS),
            uuid(&INDIVIDUALS),
            any::<bool>(),
            prop::sample::select(vec![
                DecisionSource::Person,
                DecisionSource::Import,
                DecisionSource::Model
            ]),
            prop::option::of(float()),
        )
            .prop_map(
                |(decision, detection, individual, confirmed, source, score)| Change::Decided {
                    decision,
                    detection,
                    individual,
                    verdict: if confirmed {
                        Verdict::Confirmed
                    } else {
                        Verdict::Rejected
                    },
                    source,
                    score,
                }
            ),
        uuid(&DECISIONS).prop_map(|decision| Change::DecisionWithdrawn { decision }),
        any_uuid().prop_map(|event| Change::MergeUndone { event }),
        (
            uuid(&DETECTIONS),
            prop_oneof![
                3 => prop::sample::select(vec!["quality", "distinctiveness", "side", "part"])
                    .prop_map(String::from),
                1 => text(),
            ],
            prop::option::of(prop_oneof![
                3 => prop::sample::select(vec!["Q1", "Q3", "D2", "left", "both", "fluke", "dorsal-fin"])
                    .prop_map(String::from),
                1 => text(),
            ]),
        )
            .prop_map(|(detection, attribute, value)| Change::AttributeSet {
                detection,
                attribute,
                value,
            }),
        (
            uuid(&MERGES),
            prop_oneof![
                3 => prop::sample::select(vec!["place", "position", "group", "observers", "notes", "joined_into"])
                    .prop_map(String::from),
                1 => text(),
            ],
            prop::option::of(prop_oneof![
                3 => prop::sample::select(vec!["Reef", "-35.5,174.25", "12,10,15", "9,10,", "Ana; Ben", "91,0", MERGES[1]])
                    .prop_map(String::from),
                1 => text(),
            ]),
        )
            .prop_map(|(encounter, field, value)| Change::EncounterSet {
                encounter,
                field,
                value,
            }),
        (uuid(&PHOTOS), prop::option::of(uuid(&MERGES)))
            .prop_map(|(photo, encounter)| Change::PhotoEncounter { photo, encounter }),
        // The second reviewer's opinions: cases that are and are not
        // first opinions, rounds out of range, answers of the wrong shape.
        (
            uuid(&DECISIONS),
            uuid(&DECISIONS),
            uuid(&DETECTIONS),
            0u8..5,
            prop_oneof![
                3 => prop::sample::select(vec!["individual", "new", "unidentifiable"])
                    .prop_map(String::from),
                1 => text(),
            ],
            prop::option::of(uuid(&INDIVIDUALS)),
        )
            .prop_map(|(opinion, case, detection, round, choice, individual)| {
                Change::OpinionGiven {
                    opinion,
                    case,
                    detection,
                    round,
                    choice,
                    individual,
                }
            }),
        (uuid(&MERGES), any::<bool>())
            .prop_map(|(switch, required)| Change::SecondReviewSwitched { switch, required }),
    ]
    .boxed()
}

/// Timestamps from a small range (ties and reorderings), some with the
/// largest counter, some an hour ahead of this computer's clock.
fn hlc() -> BoxedStrategy<Hlc> {
    prop_oneof![
        8 => (1_000u64..1_004, 0u32..3, 0u64..3)
            .prop_map(|(millis, counter, node)| Hlc { millis, counter, node }),
        1 => (0u64..3).prop_map(|node| Hlc { millis: 1_002, counter: u32::MAX, node }),
        1 => Just(()).prop_map(|()| Hlc { millis: wall_millis() + 3_600_000, counter: u32::MAX, node: 2 }),
    ]
    .boxed()
}

fn op() -> BoxedStrategy<Op> {
    (
        prop_oneof![
            6 => (0u32..6).prop_map(|k| format!("01a22700-0000-7000-8000-0000000a{k:04x}")),
            1 => text(),
        ],
        hlc(),
        prop_oneof![6 => Just("ana".to_string()), 1 => text()],
        change(),
    )
        .prop_map(|(id, hlc, author, change)| Op {
            id,
            hlc,
            author,
            change,
        })
        .boxed()
}

fn hidden(s: &str) -> bool {
    s.chars().any(is_hidden_char)
}

fn refusals(plan: &Plan) -> Vec<(&String, &String)> {
    plan.actions
        .iter()
        .filter_map(|a| match a {
            Action::Refuse { op, reason } => Some((op, reason)),
            _ => None,
        })
        .collect()
}

/// A JSON body mutated as a damaged or hostile transfer would: a byte
/// range dropped, characters put in, one replaced, the end cut off.
fn mutate(body: &str, edits: &[(u16, u8, char)]) -> String {
    let mut chars: Vec<char> = body.chars().collect();
    for &(at, how, c) in edits {
        if chars.is_empty() {
            chars.push(c);
            continue;
        }
        let at = usize::from(at) % chars.len();
        match how % 4 {
            0 => {
                let end = (at + usize::from(how) % 7 + 1).min(chars.len());
                chars.drain(at..end);
            }
            1 => chars.insert(at, c),
            2 => chars[at] = c,
            _ => chars.truncate(at),
        }
    }
    chars.into_iter().collect()
}

/// `text` read as a `T`: no panic; an error says where; what is read
/// writes back to text that reads the same again.
fn reads_cleanly<T: DeserializeOwned + Serialize>(text: &str) -> Result<Option<T>, TestCaseError> {
    match serde_json::from_str::<T>(text) {
        Ok(v) => {
            let again = serde_json::to_string(&v).unwrap();
            let back: T = serde_json::from_str(&again)
                .map_err(|e| TestCaseError::fail(format!("{again}: {e}")))?;
            prop_assert_eq!(serde_json::to_string(&back).unwrap(), again);
            Ok(Some(v))
        }
        Err(e) => {
            prop_assert!(e.line() >= 1 && !e.to_string().is_empty(), "{}", e);
            Ok(None)
        }
    }
}

/// What [`Op::validate`] says of `op`, checked: an accepted operation keeps
/// every rule the planner and the database rely on; a refusal names the
/// operation (or the field that keeps it from being named) and is
/// printable.
fn validated(op: &Op) -> Result<bool, TestCaseError> {
    let is_uuid = |v: &str| uuid::Uuid::parse_str(v).is_ok();
    match op.validate() {
        Ok(()) => {
            prop_assert!(is_uuid(&op.id));
            // Printable: shown escaped (the CLI), never acted on by a terminal.
            prop_assert!(!op.author.trim().is_empty() && !op.author.chars().any(char::is_control));
            match &op.change {
                Change::DetectionAdded { bbox, score, .. } => {
                    prop_assert!(bbox.iter().all(|v| v.is_finite()));
                    prop_assert!(bbox[0] < bbox[2] && bbox[1] < bbox[3]);
                    prop_assert!(score.is_none_or(f32::is_finite));
                }
                Change::EmbeddingAdded { vector, .. } => {
                    prop_assert!(!vector.is_empty() && vector.iter().all(|v| v.is_finite()));
                }
                Change::PhotoAdded {
                    sha256,
                    width,
                    height,
                    ..
                } => {
                    prop_assert!(whaleid::sync::ops::is_sha256(sha256));
                    prop_assert!(*width > 0 && *height > 0);
                }
                Change::IndividualCreated { code, .. } | Change::IndividualRenamed { code, .. } => {
                    prop_assert!(!code.trim().is_empty() && !hidden(code), "{:?}", code);
                }
                _ => {}
            }
            Ok(true)
        }
        Err(why) => {
            prop_assert!(!why.is_empty() && !hidden(&why), "{:?}", why);
            let named =
                why.contains(&op.id) || why.starts_with("op id") || why.starts_with("author");
            prop_assert!(named, "{:?} does not name op {:?}", why, op.id);
            Ok(false)
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    /// Every wire type, read from mutated real bodies and from arbitrary
    /// text: never a panic, a clean error saying where, a stable round
    /// trip; every operation read is judged by `validate` cleanly.
    #[test]
    fn fuzz_wire_bodies_parse_or_fail_cleanly(
        ops in prop::collection::vec(op(), 0..4),
        edits in prop::collection::vec((any::<u16>(), any::<u8>(), any::<char>()), 0..4),
        noise in "\\PC{0,40}",
    ) {
        let mut all = seed();
        all.extend(ops);
        let push = serde_json::to_string(&PushRequest { ops: all.clone() }).unwrap();
        let pull = serde_json::to_string(&PullReply {
            ops: all,
            last_seq: 7,
            more: true,
            pushed_by: BTreeMap::from([(PHOTOS[0].to_string(), "ana".to_string())]),
        })
        .unwrap();
        let reply = serde_json::to_string(&PushReply {
            accepted: vec![PHOTOS[0].into()],
            refused: vec![whaleid::sync::wire::Refusal { op: PHOTOS[1].into(), reason: "why".into() }],
            last_seq: 3,
        })
        .unwrap();
        let held = serde_json::to_string(&Held { sha256: vec![sha(0)] }).unwrap();
        let status = serde_json::to_string(&UploadStatus { received: 5, complete: false }).unwrap();
        for body in [mutate(&push, &edits), mutate(&pull, &edits), noise.clone()] {
            if let Some(p) = reads_cleanly::<PushRequest>(&body)? {
                for op in &p.ops {
                    validated(op)?;
                }
            }
            if let Some(p) = reads_cleanly::<PullReply>(&body)? {
                for op in &p.ops {
                    validated(op)?;
                }
            }
        }
        for body in [mutate(&reply, &edits), mutate(&held, &edits), mutate(&status, &edits), noise] {
            reads_cleanly::<PushReply>(&body)?;
            reads_cleanly::<Held>(&body)?;
            reads_cleanly::<UploadStatus>(&body)?;
        }
    }

    /// Hostile operations of every kind into `validate`: no panic, and what
    /// it accepts keeps the rules; what it refuses is named, printably.
    #[test]
    fn fuzz_wire_ops_validate(op in op()) {
        validated(&op)?;
        // And after the trip through JSON (which has no NaN: it becomes
        // null), as the operation reaches a server.
        let text = serde_json::to_string(&op).unwrap();
        if let Ok(back) = serde_json::from_str::<Op>(&text) {
            validated(&back)?;
        }
    }

    /// Arbitrary batches into the planner, from a state that already holds
    /// records they name: no panic; the same plan and state whatever order
    /// the batch came in; every operation applied, skipped or refused with
    /// a printable reason; the codes shown unique; merges without chains.
    #[test]
    fn fuzz_plan_arbitrary_batches(
        batch in prop::collection::vec(op(), 0..12),
        rotate in any::<usize>(),
    ) {
        let start = simulate(&LocalState::default(), &seed()).1;
        let (plan, state) = simulate(&start, &batch);
        let mut turned = batch.clone();
        turned.reverse();
        if !turned.is_empty() {
            let k = rotate % turned.len();
            turned.rotate_left(k);
        }
        let (plan2, state2) = simulate(&start, &turned);
        prop_assert_eq!(&plan, &plan2);
        prop_assert_eq!(resolve_codes(&state.individuals), resolve_codes(&state2.individuals));
        prop_assert_eq!(resolve_merges(&state.merges), resolve_merges(&state2.merges));
        prop_assert_eq!(&state.applied, &state2.applied);
        for (op, why) in refusals(&plan) {
            prop_assert!(!why.is_empty() && !hidden(why), "{}: {:?}", op, why);
        }
        let mentioned: BTreeSet<&str> = plan
            .actions
            .iter()
            .filter_map(|a| match a {
                Action::Refuse { op, .. } | Action::AlreadyApplied { op } => Some(op.as_str()),
                _ => None,
            })
            .collect();
        for op in &batch {
            prop_assert!(
                state.applied.contains(&op.id) || mentioned.contains(op.id.as_str()),
                "{:?} neither applied, skipped nor refused", op.id
            );
        }
        let codes = resolve_codes(&state.individuals);
        let shown: BTreeSet<&String> = codes.values().collect();
        prop_assert_eq!(shown.len(), codes.len(), "codes shown twice: {:?}", codes);
        let merged = resolve_merges(&state.merges);
        for (from, into) in &merged {
            prop_assert!(from != into && !merged.contains_key(into), "{:?}", merged);
        }
    }

    /// Batches planned one after another, as a server takes pushes: no
    /// panic, and the planner's state never names a record it does not
    /// hold.
    #[test]
    fn fuzz_plan_batch_after_batch(
        batches in prop::collection::vec(prop::collection::vec(op(), 0..6), 1..5),
    ) {
        let mut state = simulate(&LocalState::default(), &seed()).1;
        for batch in &batches {
            state = simulate(&state, batch).1;
        }
        for d in state.detections.values() {
            prop_assert!(state.photos.contains_key(&d.photo));
        }
        for d in state.decisions.values() {
            prop_assert!(state.detections.contains_key(&d.detection));
            prop_assert!(state.individuals.contains_key(&d.individual));
        }
        for m in state.merges.values() {
            prop_assert!(state.individuals.contains_key(&m.from) && state.individuals.contains_key(&m.into));
        }
        let codes = resolve_codes(&state.individuals);
        let shown: BTreeSet<&String> = codes.values().collect();
        prop_assert_eq!(shown.len(), codes.len());
    }
}

/// A catalogue holding [`seed`], in `dir`: a copy of one made once.
fn seeded(dir: &std::path::Path) -> Catalogue {
    static TEMPLATE: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    let template = TEMPLATE.get_or_init(|| {
        let keep = tempfile::tempdir().unwrap().keep();
        let mut cat = Catalogue::create(&keep).unwrap();
        let plan = receive(&mut cat, &seed(), "seed").unwrap();
        assert!(refusals(&plan).is_empty(), "{plan:?}");
        drop(cat);
        keep.join(whaleid::catalogue::DB_FILE)
    });
    std::fs::create_dir_all(dir.join(whaleid::catalogue::MEDIA_DIR)).unwrap();
    std::fs::copy(template, dir.join(whaleid::catalogue::DB_FILE)).unwrap();
    Catalogue::open(dir).unwrap()
}

fn logged(cat: &Catalogue, id: &str) -> bool {
    let db = rusqlite::Connection::open(cat.root().join(whaleid::catalogue::DB_FILE)).unwrap();
    db.query_row("SELECT count(*) FROM sync_ops WHERE id = ?1", [id], |r| {
        r.get::<_, i64>(0)
    })
    .unwrap()
        > 0
}

proptest! {
    // Two SQLite catalogues per case, about 15 ms.
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    /// Hostile batches received by a catalogue, as a server applies a push
    /// and a laptop a pull: never an error (it would fail the request, for
    /// good), refused operations are not logged and the others are, the
    /// same batch in another order gives the same catalogue, the catalogue
    /// stays sound (all `check` can find is an embedding that does not fit,
    /// which `repair` removes), and work goes on after it.
    #[test]
    fn fuzz_wire_receive_never_fails(batch in prop::collection::vec(op(), 0..8)) {
        let dir = tempfile::tempdir().unwrap();
        let mut cat = seeded(&dir.path().join("a"));
        let plan = receive(&mut cat, &batch, "fuzz")
            .map_err(|e| TestCaseError::fail(format!("the batch failed: {e}")))?;
        let refused: BTreeSet<&String> = refusals(&plan).into_iter().map(|(op, _)| op).collect();
        for (op, why) in refusals(&plan) {
            prop_assert!(!why.is_empty() && !hidden(why), "{}: {:?}", op, why);
        }
        for op in &batch {
            prop_assert_eq!(logged(&cat, &op.id), !refused.contains(&op.id), "{:?}", op.id);
        }
        let mut other = seeded(&dir.path().join("b"));
        let mut turned = batch.clone();
        turned.reverse();
        receive(&mut other, &turned, "fuzz").unwrap();
        prop_assert_eq!(canonical(&cat).unwrap(), canonical(&other).unwrap());
        let problems = cat.check().unwrap();
        for p in &problems {
            prop_assert!(p.contains("whaleid catalogue repair"), "{}", p);
        }
        cat.remove_misfit_vectors().unwrap();
        prop_assert_eq!(cat.check().unwrap(), Vec::<String>::new());
        // The clock goes on after whatever timestamps arrived.
        cat.ensure_individual("AFTER-1", None).unwrap();
        whaleid::sync::log::collect(&mut cat, "ana").unwrap();
    }
}
