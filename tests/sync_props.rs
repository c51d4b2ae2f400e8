//! Convergence as a property (issue 19 item 3): laptops make operations
//! (photos, some of the same bytes; boxes; embeddings; individuals, some
//! claiming one code; decisions, merges, renames, withdrawals, removals and
//! restorations, photo-ID attributes set and cleared, encounters edited
//! and photos moved between them, some pairs stamped with one timestamp as a node whose
//! clock repeated itself would), then every replica receives all of them
//! in its own order (any order that brings a record before what names it),
//! cut into batches of its own, with operations sent again at random.
//! Every replica must end in the same state: the planner's
//! ([`prop_planner_replicas_converge`]) and the catalogues' own canonical
//! dump, through the real applier and SQLite ([`prop_replicas_converge`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use proptest::prelude::*;
use whaleid::catalogue::attributes::Attribute;
use whaleid::catalogue::Catalogue;
use whaleid::sync::apply::receive_with;
use whaleid::sync::hlc::{Clock, Hlc};
use whaleid::sync::ops::{Change, DecisionSource, Op, Verdict};
use whaleid::sync::plan::{
    is_removed, resolve_codes, resolve_merges, simulate, Action, LocalState, Plan,
};
use whaleid::sync::state::canonical;
use whaleid_testkit::ops::{fin_box, photo_added};

/// What a laptop does next; indices pick among the records it knows.
#[derive(Debug, Clone)]
enum Step {
    /// A photo (one of 4 contents) with a box at one of 3 places, and the
    /// box's embedding.
    Photo {
        sha: u8,
        x: u8,
    },
    Individual {
        code: u8,
    },
    /// `tied`: a second decision about the same box, with the same timestamp.
    Decide {
        det: usize,
        ind: usize,
        confirmed: bool,
        tied: bool,
    },
    /// `tied`: the reverse merge too, with the same timestamp.
    Merge {
        from: usize,
        into: usize,
        tied: bool,
    },
    Undo {
        merge: usize,
    },
    /// `tied`: a second rename with the same timestamp.
    Rename {
        ind: usize,
        code: u8,
        tied: bool,
    },
    Withdraw {
        decision: usize,
    },
    /// `tied`: a restoration with the same timestamp.
    Remove {
        det: usize,
        tied: bool,
    },
    Restore {
        det: usize,
    },
    /// Set (or clear) one photo-ID attribute of a box; `tied`: another
    /// value of the same attribute with the same timestamp.
    Grade {
        det: usize,
        attribute: u8,
        value: u8,
        tied: bool,
    },
    /// Name the place of one of 3 encounters (or clear it) and move a
    /// photo into it; `tied`: the photo also moved to the next encounter
    /// with the same timestamp.
    Encounter {
        photo: usize,
        encounter: u8,
        place: u8,
        tied: bool,
    },
    /// The laptop hears of everything made so far, anywhere.
    Sync,
}

fn step() -> impl Strategy<Value = Step> {
    let i = || 0usize..64;
    prop_oneof![
        3 => (0u8..4, 0u8..3).prop_map(|(sha, x)| Step::Photo { sha, x }),
        2 => (0u8..3).prop_map(|code| Step::Individual { code }),
        3 => (i(), i(), any::<bool>(), any::<bool>()).prop_map(|(det, ind, confirmed, tied)| {
            Step::Decide { det, ind, confirmed, tied }
        }),
        2 => (i(), i(), any::<bool>()).prop_map(|(from, into, tied)| Step::Merge { from, into, tied }),
        1 => i().prop_map(|merge| Step::Undo { merge }),
        1 => (i(), 0u8..3, any::<bool>()).prop_map(|(ind, code, tied)| Step::Rename { ind, code, tied }),
        1 => i().prop_map(|decision| Step::Withdraw { decision }),
        1 => (i(), any::<bool>()).prop_map(|(det, tied)| Step::Remove { det, tied }),
        1 => i().prop_map(|det| Step::Restore { det }),
        2 => (i(), 0u8..4, any::<u8>(), any::<bool>()).prop_map(|(det, attribute, value, tied)| {
            Step::Grade { det, attribute, value, tied }
        }),
        2 => (i(), 0u8..3, 0u8..3, any::<bool>()).prop_map(|(photo, encounter, place, tied)| {
            Step::Encounter { photo, encounter, place, tied }
        }),
        2 => Just(Step::Sync),
    ]
}

/// A record and the operation that made it (what an operation naming the
/// record depends on).
#[derive(Debug, Clone)]
struct Known {
    uuid: String,
    op: String,
}

#[derive(Debug, Default, Clone)]
struct Records {
    photos: Vec<Known>,
    dets: Vec<Known>,
    inds: Vec<Known>,
    merges: Vec<Known>,
    decisions: Vec<Known>,
}

struct Laptop {
    node: u64,
    clock: Clock,
    wall: u64,
    n: u64,
    known: Records,
}

/// The operations made, each with the operations it depends on.
#[derive(Debug, Default)]
struct World {
    ops: Vec<Op>,
    deps: Vec<Vec<usize>>,
    by_id: HashMap<String, usize>,
    all: Records,
}

impl Laptop {
    fn uuid(&mut self) -> String {
        self.n += 1;
        format!("{:08x}-0000-4000-8000-{:012x}", self.node, self.n)
    }

    fn op(&mut self, world: &mut World, change: Change, deps: &[&str]) -> Op {
        self.wall += 1;
        let op = Op {
            id: self.uuid(),
            hlc: self.clock.tick(self.wall),
            author: format!("laptop{}", self.node),
            change,
        };
        world.add(op.clone(), deps);
        op
    }

    /// Another operation with `like`'s timestamp.
    fn tied(&mut self, world: &mut World, like: &Op, change: Change, deps: &[&str]) -> Op {
        let op = Op {
            id: self.uuid(),
            hlc: like.hlc,
            author: like.author.clone(),
            change,
        };
        world.add(op.clone(), deps);
        op
    }
}

impl World {
    fn add(&mut self, op: Op, deps: &[&str]) {
        self.by_id.insert(op.id.clone(), self.ops.len());
        self.deps
            .push(deps.iter().map(|d| self.by_id[*d]).collect());
        self.ops.push(op);
    }

    fn max_hlc(&self) -> Option<Hlc> {
        self.ops.iter().map(|o| o.hlc).max()
    }
}

fn pick(list: &[Known], i: usize) -> Option<Known> {
    (!list.is_empty()).then(|| list[i % list.len()].clone())
}

/// The operations three laptops make by `steps` (`(laptop, step)`).
fn make(steps: &[(usize, Step)]) -> World {
    let mut world = World::default();
    let mut laptops: Vec<Laptop> = (1..=3u64)
        .map(|node| Laptop {
            node,
            clock: Clock::new(node, None),
            wall: 1_000 + 3 * node,
            n: 0,
            known: Records::default(),
        })
        .collect();
    for (k, step) in steps {
        let l = &mut laptops[*k];
        match step.clone() {
            Step::Photo { sha, x } => {
                let photo = l.uuid();
                let sha256 = format!("{sha:02x}").repeat(32);
                let p = l.op(&mut world, photo_added(&photo, sha256), &[]);
                let detection = l.uuid();
                let x1 = 5.0 + 20.0 * f32::from(x);
                let bbox = [x1, 10.0, x1 + 15.0, 30.0];
                let d = l.op(&mut world, fin_box(&detection, &photo, bbox), &[&p.id]);
                // The same box of the same bytes embeds the same everywhere.
                let vector = vec![f32::from(sha) + 1.0, f32::from(x) + 1.0, 0.5, -0.25];
                l.op(
                    &mut world,
                    Change::EmbeddingAdded {
                        detection: detection.clone(),
                        pack_name: "tiny".into(),
                        pack_version: "0.1.0".into(),
                        vector,
                    },
                    &[&d.id],
                );
                let known = Known {
                    uuid: detection,
                    op: d.id,
                };
                l.known.dets.push(known.clone());
                world.all.dets.push(known);
                let known = Known {
                    uuid: photo,
                    op: p.id,
                };
                l.known.photos.push(known.clone());
                world.all.photos.push(known);
            }
            Step::Individual { code } => {
                let individual = l.uuid();
                let o = l.op(
                    &mut world,
                    Change::IndividualCreated {
                        individual: individual.clone(),
                        code: format!("C{code}"),
                        species: None,
                    },
                    &[],
                );
                let known = Known {
                    uuid: individual,
                    op: o.id,
                };
                l.known.inds.push(known.clone());
                world.all.inds.push(known);
            }
            Step::Decide {
                det,
                ind,
                confirmed,
                tied,
            } => {
                let (Some(d), Some(i)) = (pick(&l.known.dets, det), pick(&l.known.inds, ind))
                else {
                    continue;
                };
                let decide = |l: &mut Laptop, i: &Known| {
                    let decision = l.uuid();
                    let change = Change::Decided {
                        decision: decision.clone(),
                        detection: d.uuid.clone(),
                        individual: i.uuid.clone(),
                        verdict: if confirmed {
                            Verdict::Confirmed
                        } else {
                            Verdict::Rejected
                        },
                        source: DecisionSource::Person,
                        score: None,
                    };
                    (decision, change)
                };
                let (decision, change) = decide(l, &i);
                let o = l.op(&mut world, change, &[&d.op, &i.op]);
                let mut made = vec![(decision, o.id.clone())];
                if tied {
                    let other = pick(&l.known.inds, ind + 1).unwrap();
                    let (decision, change) = decide(l, &other);
                    let t = l.tied(&mut world, &o, change, &[&d.op, &other.op]);
                    made.push((decision, t.id));
                }
                for (uuid, op) in made {
                    let known = Known { uuid, op };
                    l.known.decisions.push(known.clone());
                    world.all.decisions.push(known);
                }
            }
            Step::Merge { from, into, tied } => {
                let (Some(f), Some(t)) = (pick(&l.known.inds, from), pick(&l.known.inds, into))
                else {
                    continue;
                };
                if f.uuid == t.uuid {
                    continue;
                }
                let merge = |l: &mut Laptop, a: &Known, b: &Known| {
                    let event = l.uuid();
                    let change = Change::IndividualsMerged {
                        event: event.clone(),
                        from: a.uuid.clone(),
                        into: b.uuid.clone(),
                    };
                    (event, change)
                };
                let (event, change) = merge(l, &f, &t);
                let o = l.op(&mut world, change, &[&f.op, &t.op]);
                let mut made = vec![(event, o.id.clone())];
                if tied {
                    let (event, change) = merge(l, &t, &f);
                    let r = l.tied(&mut world, &o, change, &[&f.op, &t.op]);
                    made.push((event, r.id));
                }
                for (uuid, op) in made {
                    let known = Known { uuid, op };
                    l.known.merges.push(known.clone());
                    world.all.merges.push(known);
                }
            }
            Step::Undo { merge } => {
                let Some(m) = pick(&l.known.merges, merge) else {
                    continue;
                };
                l.op(&mut world, Change::MergeUndone { event: m.uuid }, &[&m.op]);
            }
            Step::Rename { ind, code, tied } => {
                let Some(i) = pick(&l.known.inds, ind) else {
                    continue;
                };
                let rename = |code: String| Change::IndividualRenamed {
                    individual: i.uuid.clone(),
                    code,
                };
                let o = l.op(&mut world, rename(format!("R{code}")), &[&i.op]);
                if tied {
                    l.tied(&mut world, &o, rename(format!("T{code}")), &[&i.op]);
                }
            }
            Step::Withdraw { decision } => {
                let Some(d) = pick(&l.known.decisions, decision) else {
                    continue;
                };
                l.op(
                    &mut world,
                    Change::DecisionWithdrawn { decision: d.uuid },
                    &[&d.op],
                );
            }
            Step::Remove { det, tied } => {
                let Some(d) = pick(&l.known.dets, det) else {
                    continue;
                };
                let o = l.op(
                    &mut world,
                    Change::DetectionRemoved {
                        detection: d.uuid.clone(),
                        replaced_by: None,
                    },
                    &[&d.op],
                );
                if tied {
                    let change = Change::DetectionRestored {
                        detection: d.uuid.clone(),
                    };
                    l.tied(&mut world, &o, change, &[&d.op]);
                }
            }
            Step::Restore { det } => {
                let Some(d) = pick(&l.known.dets, det) else {
                    continue;
                };
                l.op(
                    &mut world,
                    Change::DetectionRestored { detection: d.uuid },
                    &[&d.op],
                );
            }
            Step::Grade {
                det,
                attribute,
                value,
                tied,
            } => {
                let Some(d) = pick(&l.known.dets, det) else {
                    continue;
                };
                let a = Attribute::ALL[usize::from(attribute) % Attribute::ALL.len()];
                let grade = |v: u8| Change::AttributeSet {
                    detection: d.uuid.clone(),
                    attribute: a.as_str().into(),
                    value: attribute_value(a, v),
                };
                let o = l.op(&mut world, grade(value), &[&d.op]);
                if tied {
                    l.tied(&mut world, &o, grade(value.wrapping_add(1)), &[&d.op]);
                }
            }
            Step::Encounter {
                photo,
                encounter,
                place,
                tied,
            } => {
                let Some(p) = pick(&l.known.photos, photo) else {
                    continue;
                };
                // Three encounters every laptop names alike.
                let enc = |e: u8| format!("0000000{}-0000-4000-8000-0000000000ee", e % 3);
                let named = ["Reef", "Bay"]
                    .get(usize::from(place))
                    .map(|v| v.to_string());
                l.op(
                    &mut world,
                    Change::EncounterSet {
                        encounter: enc(encounter),
                        field: "place".into(),
                        value: named,
                    },
                    &[],
                );
                let moved = |e: u8| Change::PhotoEncounter {
                    photo: p.uuid.clone(),
                    encounter: Some(enc(e)),
                };
                let o = l.op(&mut world, moved(encounter), &[&p.op]);
                if tied {
                    l.tied(&mut world, &o, moved(encounter + 1), &[&p.op]);
                }
            }
            Step::Sync => {
                if let Some(last) = world.max_hlc() {
                    l.clock.observe(last, l.wall).unwrap();
                }
                l.known = world.all.clone();
            }
        }
    }
    world
}

/// The `v`-th value of attribute `a`, or (one past the last) a clearing.
fn attribute_value(a: Attribute, v: u8) -> Option<String> {
    use whaleid::catalogue::attributes::{Distinctiveness, Part, Quality, Side};
    let all: Vec<&str> = match a {
        Attribute::Quality => Quality::ALL.iter().map(|x| x.as_str()).collect(),
        Attribute::Distinctiveness => Distinctiveness::ALL.iter().map(|x| x.as_str()).collect(),
        Attribute::Side => Side::ALL.iter().map(|x| x.as_str()).collect(),
        Attribute::Part => Part::ALL.iter().map(|x| x.as_str()).collect(),
    };
    all.get(usize::from(v) % (all.len() + 1))
        .map(|s| s.to_string())
}

/// One replica's delivery: the operations in batches, in an order that
/// brings every record before what names it, with some sent again.
/// `choices` drive the order, the cuts and the repeats.
fn deliveries(world: &World, choices: &[(u16, u8)]) -> Vec<Vec<Op>> {
    let n = world.ops.len();
    let mut sent = vec![false; n];
    let mut batches = Vec::new();
    let mut batch: Vec<Op> = Vec::new();
    let mut delivered: Vec<usize> = Vec::new();
    let mut choice = choices.iter().cycle();
    while delivered.len() < n {
        let ready: Vec<usize> = (0..n)
            .filter(|&i| !sent[i] && world.deps[i].iter().all(|&d| sent[d]))
            .collect();
        let (c, flags) = if choices.is_empty() {
            (0, 0)
        } else {
            *choice.next().unwrap()
        };
        let i = ready[usize::from(c) % ready.len()];
        sent[i] = true;
        delivered.push(i);
        batch.push(world.ops[i].clone());
        if flags % 5 == 0 {
            let again = delivered[usize::from(c) % delivered.len()];
            batch.push(world.ops[again].clone());
        }
        if flags % 3 == 0 {
            batches.push(std::mem::take(&mut batch));
        }
    }
    batches.push(batch);
    batches
}

fn refusals(plan: &Plan) -> Vec<&Action> {
    plan.actions
        .iter()
        .filter(|a| matches!(a, Action::Refuse { .. }))
        .collect()
}

/// The planner's state as a person sees it: contents, not UUIDs, where two
/// catalogues may hold one thing under two (the same photo imported twice).
fn planner_dump(s: &LocalState) -> String {
    let key = |d: &str| {
        let k = &s.detections[d];
        format!("{}:{:?}:{}", s.photos[&k.photo], k.bbox, k.class)
    };
    let photos: BTreeSet<&String> = s.photos.values().collect();
    let detections: BTreeSet<String> = s.detections.keys().map(|d| key(d)).collect();
    let removed: BTreeSet<String> = s
        .detections
        .keys()
        .filter(|d| is_removed(s, d))
        .map(|d| key(d))
        .collect();
    let embeddings: BTreeSet<(String, &String, &String)> = s
        .embeddings
        .iter()
        .map(|(d, n, v)| (key(d), n, v))
        .collect();
    let mut current: BTreeMap<String, (Hlc, &String)> = BTreeMap::new();
    for (id, d) in s.decisions.iter().filter(|(_, d)| !d.withdrawn) {
        let k = key(&d.detection);
        if current.get(&k).is_none_or(|c| *c < (d.hlc, id)) {
            current.insert(k, (d.hlc, id));
        }
    }
    let current: BTreeMap<&String, &String> = current.iter().map(|(k, v)| (k, v.1)).collect();
    let decisions: BTreeSet<(&String, bool)> =
        s.decisions.iter().map(|(i, d)| (i, d.withdrawn)).collect();
    let merges: BTreeSet<(&String, bool)> = s.merges.iter().map(|(e, m)| (e, m.undone)).collect();
    let attributes: BTreeSet<(String, &String, &Option<String>)> = s
        .attributes
        .iter()
        .map(|((d, a), set)| (key(d), a, &set.value))
        .collect();
    let encounters: BTreeSet<(&(String, String), &Option<String>)> = s
        .encounter_fields
        .iter()
        .map(|(k, set)| (k, &set.value))
        .collect();
    let photo_encounters: BTreeSet<(&String, &Option<String>)> = s
        .photo_encounters
        .iter()
        .map(|(p, set)| (&s.photos[p], &set.value))
        .collect();
    format!(
        "{photos:?}\n{detections:?}\n{removed:?}\n{embeddings:?}\n{:?}\n{:?}\n{current:?}\n{decisions:?}\n{merges:?}\n{attributes:?}\n{encounters:?}\n{photo_encounters:?}",
        resolve_codes(&s.individuals),
        resolve_merges(&s.merges),
    )
}

/// What each laptop does, in turn: `(laptop, step)`.
type Steps = Vec<(usize, Step)>;
/// Each replica's choices for [`deliveries`].
type Orders = Vec<Vec<(u16, u8)>>;

fn scenario() -> impl Strategy<Value = (Steps, Orders)> {
    (
        prop::collection::vec((0usize..3, step()), 1..40),
        prop::collection::vec(
            prop::collection::vec((any::<u16>(), any::<u8>()), 0..120),
            3,
        ),
    )
}

proptest! {
    // The planner alone: cheap, so the default 256 cases. A failure is
    // printed, not written into the source tree.
    #![proptest_config(ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn prop_planner_replicas_converge((steps, orders) in scenario()) {
        let world = make(&steps);
        let mut dumps = BTreeSet::new();
        for choices in &orders {
            let mut state = LocalState::default();
            for batch in deliveries(&world, choices) {
                let (plan, next) = simulate(&state, &batch);
                prop_assert!(refusals(&plan).is_empty(), "{:?}", refusals(&plan));
                state = next;
            }
            prop_assert_eq!(state.applied.len(), world.ops.len());
            dumps.insert(planner_dump(&state));
        }
        prop_assert_eq!(dumps.len(), 1, "replicas differ:\n{:#?}", dumps);
    }
}

/// An empty catalogue in `dir`: a copy of one made once (creating and
/// migrating three per case would cost most of the run).
fn empty_catalogue(dir: &std::path::Path) -> Catalogue {
    static TEMPLATE: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    let template = TEMPLATE.get_or_init(|| {
        let keep = tempfile::tempdir().unwrap().keep();
        drop(Catalogue::create(&keep).unwrap());
        keep.join(whaleid::catalogue::DB_FILE)
    });
    std::fs::create_dir_all(dir.join(whaleid::catalogue::MEDIA_DIR)).unwrap();
    std::fs::copy(template, dir.join(whaleid::catalogue::DB_FILE)).unwrap();
    Catalogue::open(dir).unwrap()
}

proptest! {
    // Three SQLite catalogues per case (about 0.1 s): 64 cases, unless
    // PROPTEST_CASES says how many.
    #![proptest_config(ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Through the real applier: every replica's catalogue gives the same
    /// canonical dump (`whaleid::sync::state::canonical`).
    #[test]
    fn prop_replicas_converge((steps, orders) in scenario()) {
        let world = make(&steps);
        let dir = tempfile::tempdir().unwrap();
        let mut dumps = BTreeSet::new();
        for (r, choices) in orders.iter().enumerate() {
            let mut cat = empty_catalogue(&dir.path().join(format!("replica{r}")));
            // As a laptop pulls: the planner's state kept between batches.
            let mut cache = None;
            for batch in deliveries(&world, choices) {
                let plan = receive_with(&mut cat, &batch, "replica", &mut cache).unwrap();
                prop_assert!(refusals(&plan).is_empty(), "{:?}", refusals(&plan));
            }
            dumps.insert(canonical(&cat).unwrap());
        }
        prop_assert_eq!(dumps.len(), 1, "replicas differ:\n{:#?}", dumps);
    }
}
