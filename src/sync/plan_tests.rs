//! The planner's rules, one test each, then convergence: three laptops
//! whose operations reach each other in different orders and batches end in
//! the same state.

use std::collections::{BTreeMap, BTreeSet};

use super::hlc::{Clock, Hlc};
use super::ops::{Change, DecisionSource, Op, Verdict};
use super::plan::*;
use crate::rng::SplitMix64;

/// A laptop making operations: its own clock and a counter for UUIDs.
struct Laptop {
    node: u64,
    clock: Clock,
    n: u64,
    wall: u64,
    author: String,
}

impl Laptop {
    fn new(node: u64, author: &str) -> Self {
        Self {
            node,
            clock: Clock::new(node, None),
            n: 0,
            wall: 1_000_000,
            author: author.into(),
        }
    }

    /// A UUID unique to this laptop and counter (v4 layout, deterministic).
    fn uuid(&mut self) -> String {
        self.n += 1;
        format!("{:08x}-0000-4000-8000-{:012x}", self.node, self.n)
    }

    fn op(&mut self, change: Change) -> Op {
        self.wall += 1;
        let id = self.uuid();
        Op {
            id,
            hlc: self.clock.tick(self.wall),
            author: self.author.clone(),
            change,
        }
    }

    fn photo(&mut self, sha: u8) -> (String, Op) {
        let photo = self.uuid();
        let op = self.op(Change::PhotoAdded {
            photo: photo.clone(),
            sha256: format!("{sha:02x}").repeat(32),
            width: 100,
            height: 80,
            taken_at: None,
            latitude: None,
            longitude: None,
            thumb: None,
        });
        (photo, op)
    }

    fn detection(&mut self, photo: &str, x: f32) -> (String, Op) {
        let detection = self.uuid();
        let op = self.op(Change::DetectionAdded {
            detection: detection.clone(),
            photo: photo.into(),
            bbox: [x, 1.0, x + 10.0, 9.0],
            class: "fin".into(),
            score: Some(0.9),
            crop: None,
            species: None,
            drawn_by: None,
            replaces: None,
        });
        (detection, op)
    }

    fn individual(&mut self, code: &str) -> (String, Op) {
        let individual = self.uuid();
        let op = self.op(Change::IndividualCreated {
            individual: individual.clone(),
            code: code.into(),
            species: None,
        });
        (individual, op)
    }

    fn rename(&mut self, individual: &str, code: &str) -> Op {
        self.op(Change::IndividualRenamed {
            individual: individual.into(),
            code: code.into(),
        })
    }

    /// `from` merged into `into`, under a new merge event.
    fn merge(&mut self, from: &str, into: &str) -> Op {
        let event = self.uuid();
        self.op(Change::IndividualsMerged {
            event,
            from: from.into(),
            into: into.into(),
        })
    }

    fn decide(&mut self, detection: &str, individual: &str) -> (String, Op) {
        let decision = self.uuid();
        let op = self.op(Change::Decided {
            decision: decision.clone(),
            detection: detection.into(),
            individual: individual.into(),
            verdict: Verdict::Confirmed,
            source: DecisionSource::Person,
            score: None,
        });
        (decision, op)
    }
}

/// Apply operations to a state, as a catalogue applying each plan would.
fn apply(state: &LocalState, ops: &[Op]) -> (Plan, LocalState) {
    simulate(state, ops)
}

/// `base` after batch `x` then batch `y`, and after `y` then `x`: for each
/// order, the plan of its second batch and the state it ends in.
fn both_orders(base: &LocalState, x: &[Op], y: &[Op]) -> ((Plan, LocalState), (Plan, LocalState)) {
    (apply(&apply(base, x).1, y), apply(&apply(base, y).1, x))
}

/// A catalogue's state as a person sees it, independent of how it got there:
/// photos by content, detections, codes, who is merged into whom, each
/// detection's current decision, and every decision kept.
fn canonical(s: &LocalState) -> String {
    let photos: BTreeSet<&String> = s.photos.values().collect();
    let detection_key = |d: &str| -> String {
        let k = &s.detections[d];
        format!("{}:{:?}:{}", s.photos[&k.photo], k.bbox, k.class)
    };
    let detections: BTreeSet<String> = s.detections.keys().map(|d| detection_key(d)).collect();
    let codes = resolve_codes(&s.individuals);
    let merged = resolve_merges(&s.merges);
    let mut current: BTreeMap<String, String> = BTreeMap::new();
    for (id, d) in &s.decisions {
        if d.withdrawn {
            continue;
        }
        let key = detection_key(&d.detection);
        let better = s
            .decisions
            .iter()
            .filter(|(_, o)| o.detection == d.detection && !o.withdrawn)
            .all(|(oid, o)| (o.hlc, oid) <= (d.hlc, id));
        if better {
            current.insert(key, id.clone());
        }
    }
    let decisions: BTreeSet<(&String, bool)> =
        s.decisions.iter().map(|(i, d)| (i, d.withdrawn)).collect();
    let removed: BTreeSet<String> = s
        .detections
        .keys()
        .filter(|d| is_removed(s, d))
        .map(|d| detection_key(d))
        .collect();
    let embeddings: BTreeSet<(String, &String, &String)> = s
        .embeddings
        .iter()
        .map(|(d, name, version)| (detection_key(d), name, version))
        .collect();
    format!(
        "{photos:?}\n{detections:?}\n{codes:?}\n{merged:?}\n{current:?}\n{decisions:?}\n{removed:?}\n{embeddings:?}"
    )
}

#[test]
fn an_operation_applied_twice_is_applied_once() {
    let mut a = Laptop::new(1, "ana");
    let (_, p) = a.photo(1);
    let (_, i) = a.individual("HW-1");
    let ops = vec![p.clone(), i.clone(), p.clone()];
    let (first, state) = apply(&LocalState::default(), &ops);
    assert_eq!(first.changes(), 3, "photo, individual, its code");
    let skipped = first
        .actions
        .iter()
        .filter(|a| matches!(a, Action::AlreadyApplied { op } if *op == p.id))
        .count();
    assert_eq!(skipped, 1, "{first:?}");
    let (again, after) = apply(&state, &ops);
    assert_eq!(again.changes(), 0);
    assert!(again
        .actions
        .iter()
        .all(|a| matches!(a, Action::AlreadyApplied { .. })));
    assert_eq!(canonical(&after), canonical(&state));
}

#[test]
fn a_batch_is_taken_in_timestamp_order_whatever_order_it_arrives_in() {
    let mut a = Laptop::new(1, "ana");
    let (photo, p) = a.photo(1);
    let (det, d) = a.detection(&photo, 5.0);
    let (ind, i) = a.individual("HW-1");
    let (_, dec) = a.decide(&det, &ind);
    let (plan, _) = apply(&LocalState::default(), &[dec, i, d, p]);
    let kinds: Vec<&str> = plan
        .actions
        .iter()
        .map(|a| match a {
            Action::AddPhoto { .. } => "photo",
            Action::AddDetection { .. } => "detection",
            Action::CreateIndividual { .. } => "individual",
            Action::ResolveCodes { .. } => "codes",
            Action::Decide { current: true, .. } => "decide",
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        ["photo", "detection", "individual", "decide", "codes"]
    );
}

#[test]
fn the_same_photo_imported_on_two_laptops_becomes_one_photo() {
    let mut a = Laptop::new(1, "ana");
    let mut b = Laptop::new(2, "ben");
    let (pa, opa) = a.photo(7);
    let (da, oda) = a.detection(&pa, 5.0);
    let (pb, opb) = b.photo(7);
    let (db, odb) = b.detection(&pb, 5.0); // same box: the same detection
    let (db2, odb2) = b.detection(&pb, 40.0); // another fin on it
    let (ib, oib) = b.individual("HW-9");
    let (decb, odec) = b.decide(&db, &ib);
    let (_, here) = apply(&LocalState::default(), &[opa, oda]);
    let (plan, after) = apply(&here, &[opb, odb, odb2, oib, odec]);
    assert!(plan.actions.contains(&Action::SamePhoto {
        op: plan_op(&plan, 0),
        remote: pb.clone(),
        local: pa.clone()
    }));
    assert!(plan
        .actions
        .iter()
        .any(|x| matches!(x, Action::SameDetection { remote, local, .. } if *remote == db && *local == da)));
    assert!(plan
        .actions
        .iter()
        .any(|x| matches!(x, Action::AddDetection { detection, photo, .. } if *detection == db2 && *photo == pa)));
    // The decision about Ben's detection lands on Ana's.
    assert!(plan.actions.iter().any(
        |x| matches!(x, Action::Decide { decision, detection, current: true, .. } if *decision == decb && *detection == da)
    ));
    assert_eq!(after.photos.len(), 1);
    assert_eq!(after.detections.len(), 2);
}

fn plan_op(plan: &Plan, i: usize) -> String {
    match &plan.actions[i] {
        Action::SamePhoto { op, .. } => op.clone(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_operation_naming_a_missing_record_or_with_a_bad_payload_is_refused() {
    let mut a = Laptop::new(1, "ana");
    let (ind, oi) = a.individual("HW-1");
    let ghost = "00000000-0000-4000-8000-00000000dead";
    let (_, dec) = a.decide(ghost, &ind);
    let mut bad_box = a.detection(ghost, 5.0).1;
    if let Change::DetectionAdded { bbox, .. } = &mut bad_box.change {
        *bbox = [5.0, 1.0, f32::NAN, 9.0];
    }
    let mut bad_id = a.individual("HW-2").1;
    bad_id.id = "../../etc/passwd".into();
    let (plan, after) = apply(&LocalState::default(), &[oi, dec.clone(), bad_box, bad_id]);
    let refused: Vec<&String> = plan
        .actions
        .iter()
        .filter_map(|x| match x {
            Action::Refuse { reason, .. } => Some(reason),
            _ => None,
        })
        .collect();
    assert_eq!(refused.len(), 3, "{plan:?}");
    assert!(refused[0].contains(ghost) && refused[0].contains("not in this catalogue"));
    assert!(refused[1].contains("box"), "{}", refused[1]);
    assert!(refused[2].contains("not a UUID"), "{}", refused[2]);
    assert!(after.decisions.is_empty() && after.detections.is_empty());
    assert!(
        !after.applied.contains(&dec.id),
        "a refused op may come again later"
    );
    assert_eq!(after.individuals.len(), 1);
}

#[test]
fn two_individuals_created_with_one_code_end_the_same_everywhere() {
    let mut a = Laptop::new(1, "ana");
    let mut b = Laptop::new(2, "ben");
    let (x, ox) = a.individual("HW-1");
    b.wall += 50; // Ben's is created later
    let (y, oy) = b.individual("HW-1");
    let ((_, on_a), (plan_b, on_b)) = both_orders(&LocalState::default(), &[ox], &[oy]);
    assert_eq!(canonical(&on_a), canonical(&on_b));
    let shown = resolve_codes(&on_a.individuals);
    assert_eq!(shown[&x], "HW-1");
    assert_eq!(shown[&y], clash_code("HW-1", &y));
    // On Ben's laptop his own individual moves aside for Ana's.
    let Some(Action::ResolveCodes { codes }) = plan_b.actions.last() else {
        panic!("{plan_b:?}");
    };
    assert_eq!(codes[&y], clash_code("HW-1", &y));
    assert_eq!(codes[&x], "HW-1");
    assert!(plan_b.conflicts.iter().any(
        |c| matches!(c, Conflict::CodeClash { kept, renamed, .. } if *kept == x && *renamed == y)
    ));
}

#[test]
fn the_latest_rename_wins_everywhere() {
    let mut a = Laptop::new(1, "ana");
    let mut b = Laptop::new(2, "ben");
    let (x, ox) = a.individual("HW-1");
    let (_, base) = apply(&LocalState::default(), &[ox]);
    let ra = a.rename(&x, "Notch");
    b.wall = a.wall + 100;
    let rb = b.rename(&x, "Scar");
    let ((_, one), (plan, two)) = both_orders(&base, &[ra], &[rb]);
    assert_eq!(resolve_codes(&one.individuals)[&x], "Scar");
    assert_eq!(canonical(&one), canonical(&two));
    assert!(matches!(plan.actions[0], Action::StaleRename { .. }));
}

#[test]
fn concurrent_merges_of_the_same_individuals_converge() {
    let mut a = Laptop::new(1, "ana");
    let mut b = Laptop::new(2, "ben");
    let (p, op) = a.individual("P");
    let (q, oq) = a.individual("Q");
    let (r, or) = a.individual("R");
    let (_, base) = apply(&LocalState::default(), &[op, oq, or]);
    // Ana merges P into Q, Ben (later, not having seen it) Q into P, then Q into R.
    let ma = a.merge(&p, &q);
    b.wall = a.wall + 10;
    let mb = b.merge(&q, &p);
    let mb2 = b.merge(&q, &r);
    let ((_, one), (plan, two)) = both_orders(&base, &[ma], &[mb, mb2]);
    assert_eq!(canonical(&one), canonical(&two));
    let merged = resolve_merges(&one.merges);
    // P → Q happened first; Q → P then did nothing; Q → R took both.
    assert_eq!(merged[&p], r);
    assert_eq!(merged[&q], r);
    assert!(!merged.contains_key(&r));
    assert!(
        matches!(plan.actions.last(), Some(Action::ResolveMerges { merged_into }) if *merged_into == merged)
    );

    // Undoing Q → R: P → Q stands, Q → P still does nothing.
    let Change::IndividualsMerged { event, .. } = &one
        .merges
        .iter()
        .max_by_key(|(_, m)| m.hlc)
        .map(|(e, _)| Change::IndividualsMerged {
            event: e.clone(),
            from: String::new(),
            into: String::new(),
        })
        .unwrap()
    else {
        unreachable!()
    };
    let undo = a.op(Change::MergeUndone {
        event: event.clone(),
    });
    let (_, undone) = apply(&one, &[undo]);
    let merged = resolve_merges(&undone.merges);
    assert_eq!(merged[&p], q);
    assert_eq!(merged.get(&q), None);
}

#[test]
fn conflicting_decisions_keep_both_and_the_later_counts_everywhere() {
    let mut a = Laptop::new(1, "ana");
    let mut b = Laptop::new(2, "ben");
    let (photo, p) = a.photo(3);
    let (det, d) = a.detection(&photo, 5.0);
    let (x, ox) = a.individual("HW-1");
    let (y, oy) = a.individual("HW-2");
    let shared = [p, d, ox, oy];
    let (_, base) = apply(&LocalState::default(), &shared);
    let (da, opa) = a.decide(&det, &x);
    b.clock.observe(a.clock.last(), b.wall).unwrap();
    b.wall = a.wall + 5;
    let (db, opb) = b.decide(&det, &y);
    let ((plan_a, on_a), (plan_b, on_b)) = both_orders(&base, &[opa], &[opb]);
    assert_eq!(canonical(&on_a), canonical(&on_b));
    assert_eq!(on_a.decisions.len(), 2, "both decisions are kept");
    // Ben's is later: it becomes current on Ana's laptop, and stays current on his.
    assert!(plan_a
        .actions
        .iter()
        .any(|x| matches!(x, Action::Decide { decision, current: true, .. } if *decision == db)));
    assert!(plan_b
        .actions
        .iter()
        .any(|x| matches!(x, Action::Decide { decision, current: false, .. } if *decision == da)));
    for plan in [&plan_a, &plan_b] {
        assert!(
            plan.conflicts.contains(&Conflict::Decisions {
                detection: det.clone(),
                current: db.clone(),
                other: da.clone(),
            }),
            "{:?}",
            plan.conflicts
        );
    }
    // Ben takes his back: Ana's counts again, on both.
    let w = b.op(Change::DecisionWithdrawn {
        decision: db.clone(),
    });
    let (plan, _) = apply(&on_a, &[w]);
    assert_eq!(
        plan.actions,
        vec![Action::Withdraw {
            op: plan_op_id(&plan),
            decision: db,
            current: Some(da)
        }]
    );
}

fn plan_op_id(plan: &Plan) -> String {
    match &plan.actions[0] {
        Action::Withdraw { op, .. } => op.clone(),
        other => panic!("{other:?}"),
    }
}

/// Three laptops work offline on the same shared start, each making
/// photos (some of the same files), detections, individuals (some with the
/// same codes), decisions, renames, merges and withdrawals. Then every
/// laptop receives everyone's operations, each origin's in its own order
/// but interleaved at random and cut into random batches (as pulls from a
/// server would bring them): all three end in the same state, for many
/// seeds.
#[test]
fn three_laptops_converge_whatever_order_operations_arrive_in() {
    // What the runs exercised, so the test cannot pass by doing nothing.
    let (mut clashes, mut merges, mut decision_conflicts, mut aliases) = (0, 0, 0, 0);
    for seed in 0..40u64 {
        let mut rng = SplitMix64::new(seed);
        let mut laptops: Vec<Laptop> = (1..=3)
            .map(|n| Laptop::new(n, ["ana", "ben", "cai"][n as usize - 1]))
            .collect();
        let mut made: Vec<Vec<Op>> = vec![Vec::new(); 3];
        for (k, l) in laptops.iter_mut().enumerate() {
            l.wall += rng.below(50) as u64;
            let mut dets = Vec::new();
            let mut inds = Vec::new();
            let mut decisions = Vec::new();
            for _ in 0..12 {
                match rng.below(7) {
                    0 | 1 => {
                        let (p, op) = l.photo(rng.below(4) as u8);
                        made[k].push(op);
                        let (d, od) = l.detection(&p, 5.0 * rng.below(3) as f32);
                        made[k].push(od);
                        dets.push(d);
                    }
                    2 => {
                        let code = format!("HW-{}", rng.below(4));
                        let (i, op) = l.individual(&code);
                        made[k].push(op);
                        inds.push(i);
                    }
                    3 if !dets.is_empty() && !inds.is_empty() => {
                        let d = dets[rng.below(dets.len())].clone();
                        let i = inds[rng.below(inds.len())].clone();
                        let (dec, op) = l.decide(&d, &i);
                        made[k].push(op);
                        decisions.push(dec);
                    }
                    4 if inds.len() >= 2 => {
                        let (f, t) = (rng.below(inds.len()), rng.below(inds.len()));
                        if f != t {
                            let op = l.merge(&inds[f], &inds[t]);
                            made[k].push(op);
                        }
                    }
                    5 if !inds.is_empty() => {
                        let i = inds[rng.below(inds.len())].clone();
                        let code = format!("{}-{}", l.author, rng.below(1000));
                        let op = l.rename(&i, &code);
                        made[k].push(op);
                    }
                    6 if !decisions.is_empty() => {
                        let d = decisions.swap_remove(rng.below(decisions.len()));
                        let op = l.op(Change::DecisionWithdrawn { decision: d });
                        made[k].push(op);
                    }
                    _ => {}
                }
            }
        }
        let mut finals = Vec::new();
        for k in 0..3 {
            // Its own work first, then the others', interleaved and batched.
            let (_, mut state) = apply(&LocalState::default(), &made[k]);
            let mut queues: Vec<std::collections::VecDeque<Op>> = (0..3)
                .filter(|&o| o != k)
                .map(|o| made[o].iter().cloned().collect())
                .collect();
            let mut batch = Vec::new();
            while queues.iter().any(|q| !q.is_empty()) {
                let live: Vec<usize> = (0..queues.len())
                    .filter(|&q| !queues[q].is_empty())
                    .collect();
                let q = live[rng.below(live.len())];
                batch.push(queues[q].pop_front().unwrap());
                if rng.below(4) == 0 {
                    let (plan, next) = apply(&state, &batch);
                    for c in &plan.conflicts {
                        match c {
                            Conflict::CodeClash { .. } => clashes += 1,
                            Conflict::Decisions { .. } => decision_conflicts += 1,
                            Conflict::RemovedBox { .. } | Conflict::BoxMoves { .. } => {}
                        }
                    }
                    merges += plan
                        .actions
                        .iter()
                        .filter(|a| matches!(a, Action::RecordMerge { .. }))
                        .count();
                    aliases += plan
                        .actions
                        .iter()
                        .filter(|a| {
                            matches!(a, Action::SamePhoto { .. } | Action::SameDetection { .. })
                        })
                        .count();
                    assert!(
                        !plan
                            .actions
                            .iter()
                            .any(|a| matches!(a, Action::Refuse { .. })),
                        "seed {seed}: {plan:?}"
                    );
                    state = next;
                    batch.clear();
                }
            }
            state = apply(&state, &batch).1;
            // A second delivery of everything changes nothing.
            let all: Vec<Op> = made.iter().flatten().cloned().collect();
            let (again, after) = apply(&state, &all);
            assert_eq!(again.changes(), 0, "seed {seed}");
            assert_eq!(canonical(&after), canonical(&state));
            finals.push(canonical(&state));
        }
        assert_eq!(finals[0], finals[1], "seed {seed}");
        assert_eq!(finals[1], finals[2], "seed {seed}");
    }
    eprintln!(
        "code clashes {clashes}, merges {merges}, decision conflicts {decision_conflicts}, aliases {aliases}"
    );
    assert!(clashes > 0 && merges > 0 && decision_conflicts > 0 && aliases > 0);
}

#[test]
fn a_timestamp_orders_before_its_successors_in_text_too() {
    // The planner sorts by Hlc; the server and SQL sort the text.
    let a: Hlc = "000000000001-00000000-0000000000000002".parse().unwrap();
    let b: Hlc = "000000000001-00000001-0000000000000001".parse().unwrap();
    assert!(a < b && a.to_string() < b.to_string());
}

// Boxes drawn by hand.

impl Laptop {
    /// A box drawn by hand on `photo`, replacing `replaces` when it was
    /// moved or resized from it.
    fn drawn(&mut self, photo: &str, bbox: [f32; 4], replaces: Option<&str>) -> (String, Op) {
        let detection = self.uuid();
        let op = self.op(Change::DetectionAdded {
            detection: detection.clone(),
            photo: photo.into(),
            bbox,
            class: "box".into(),
            score: None,
            crop: None,
            species: None,
            drawn_by: Some(self.author.clone()),
            replaces: replaces.map(String::from),
        });
        (detection, op)
    }

    fn remove(&mut self, detection: &str, replaced_by: Option<&str>) -> Op {
        self.op(Change::DetectionRemoved {
            detection: detection.into(),
            replaced_by: replaced_by.map(String::from),
        })
    }

    fn restore(&mut self, detection: &str) -> Op {
        self.op(Change::DetectionRestored {
            detection: detection.into(),
        })
    }

    /// Move `old` to `bbox`: the replacement, the carried decision (when
    /// `carry` names an individual) and the removal, as `set_box` logs them.
    fn move_box(
        &mut self,
        photo: &str,
        old: &str,
        bbox: [f32; 4],
        carry: Option<&str>,
    ) -> (String, Vec<Op>) {
        let (new, add) = self.drawn(photo, bbox, Some(old));
        let mut ops = vec![add];
        if let Some(individual) = carry {
            ops.push(self.decide(&new, individual).1);
        }
        ops.push(self.remove(old, Some(&new)));
        (new, ops)
    }
}

/// The live detections of a state.
fn live(s: &LocalState) -> BTreeSet<String> {
    s.detections
        .keys()
        .filter(|d| !is_removed(s, d))
        .cloned()
        .collect()
}

/// A photo with a whole-frame detection, made on laptop `a`.
fn whole_frame_photo(a: &mut Laptop) -> (String, String, Vec<Op>) {
    let (p, op) = a.photo(7);
    let whole = a.uuid();
    let det = a.op(Change::DetectionAdded {
        detection: whole.clone(),
        photo: p.clone(),
        bbox: [0.0, 0.0, 100.0, 80.0],
        class: "whole".into(),
        score: None,
        crop: None,
        species: None,
        drawn_by: None,
        replaces: None,
    });
    (p, whole, vec![op, det])
}

#[test]
fn boxes_drawn_on_one_photo_on_two_laptops_are_both_kept_even_with_equal_rectangles() {
    let (mut a, mut b) = (Laptop::new(1, "ana"), Laptop::new(2, "ben"));
    let (p, _, base) = whole_frame_photo(&mut a);
    let (da, oa) = a.drawn(&p, [10.0, 10.0, 40.0, 40.0], None);
    let (db, ob) = b.drawn(&p, [10.0, 10.0, 40.0, 40.0], None);
    let (_, s) = apply(&LocalState::default(), &base);
    let (plan, s) = apply(&s, &[oa, ob]);
    assert!(plan
        .actions
        .iter()
        .all(|a| !matches!(a, Action::SameDetection { .. })));
    assert!(live(&s).contains(&da) && live(&s).contains(&db));
    // A detector's box seen twice is still one detection.
    let (_, det) = a.detection(&p, 50.0);
    let mut again = det.clone();
    again.id = b.uuid();
    if let Change::DetectionAdded { detection, .. } = &mut again.change {
        *detection = b.uuid();
    }
    let (plan, _) = apply(&s, &[det, again]);
    assert!(plan
        .actions
        .iter()
        .any(|a| matches!(a, Action::SameDetection { .. })));
}

#[test]
fn the_latest_removal_or_restoration_of_a_box_wins_whatever_order_they_arrive_in() {
    let (mut a, mut b) = (Laptop::new(1, "ana"), Laptop::new(2, "ben"));
    let (p, _, base) = whole_frame_photo(&mut a);
    let (d, add) = a.drawn(&p, [10.0, 10.0, 40.0, 40.0], None);
    let removed = a.remove(&d, None);
    b.wall = a.wall + 10;
    let restored = b.restore(&d);
    let (_, s0) = apply(&LocalState::default(), &[base, vec![add]].concat());
    // In order: removed, then live again.
    let (_, s1) = apply(&s0, std::slice::from_ref(&removed));
    assert!(!live(&s1).contains(&d));
    let (plan, s1) = apply(&s1, std::slice::from_ref(&restored));
    assert!(matches!(plan.actions[0], Action::RestoreDetection { .. }));
    // The restoration first: the older removal arriving later is stale.
    let (_, s2) = apply(&s0, &[restored]);
    let (plan, s2) = apply(&s2, &[removed]);
    assert!(
        matches!(plan.actions[0], Action::StaleLiveness { .. }),
        "{plan:?}"
    );
    assert_eq!(live(&s1), live(&s2));
    assert!(live(&s2).contains(&d));
    // A removal naming a box that is not here is refused.
    let (plan, _) = apply(&s0, &[a.remove(&b.uuid(), None)]);
    assert!(matches!(plan.actions[0], Action::Refuse { .. }));
}

#[test]
fn one_box_moved_on_two_laptops_keeps_the_later_move_everywhere_and_is_reported() {
    let (mut a, mut b) = (Laptop::new(1, "ana"), Laptop::new(2, "ben"));
    let (p, whole, base) = whole_frame_photo(&mut a);
    let (_, s0) = apply(&LocalState::default(), &base);
    // Both box the same fin (overlapping), on their own laptops.
    let (na, ops_a) = a.move_box(&p, &whole, [10.0, 10.0, 50.0, 50.0], None);
    b.wall = a.wall + 5;
    let (nb, ops_b) = b.move_box(&p, &whole, [12.0, 12.0, 52.0, 50.0], None);
    let (_, at_a) = apply(&s0, &ops_a);
    let (_, at_b) = apply(&s0, &ops_b);
    let (plan_a, at_a) = apply(&at_a, &ops_b);
    let (plan_b, at_b) = apply(&at_b, &ops_a);
    let (_, all) = apply(&s0, &[ops_b.clone(), ops_a.clone()].concat());
    let want: BTreeSet<String> = [nb.clone()].into();
    assert_eq!(live(&at_a), want);
    assert_eq!(live(&at_b), want);
    assert_eq!(live(&all), want);
    let moves = Conflict::BoxMoves {
        replaced: whole.clone(),
        kept: nb.clone(),
        other: na.clone(),
    };
    assert!(plan_a.conflicts.contains(&moves), "{plan_a:?}");
    assert!(plan_b.conflicts.contains(&moves), "{plan_b:?}");
    // The rule's removal is an event like any other: restoring the loser
    // later makes it live everywhere.
    a.wall = b.wall + 5;
    let back = a.restore(&na);
    let (_, at_a) = apply(&at_a, std::slice::from_ref(&back));
    let (_, at_b) = apply(&at_b, &[back]);
    assert_eq!(live(&at_a), live(&at_b));
    assert!(live(&at_a).contains(&na));
}

#[test]
fn first_boxes_drawn_apart_on_a_whole_frame_photo_on_two_laptops_are_two_animals() {
    let (mut a, mut b) = (Laptop::new(1, "ana"), Laptop::new(2, "ben"));
    let (p, whole, base) = whole_frame_photo(&mut a);
    let (_, s0) = apply(&LocalState::default(), &base);
    let (na, ops_a) = a.move_box(&p, &whole, [0.0, 0.0, 30.0, 30.0], None);
    let (nb, ops_b) = b.move_box(&p, &whole, [60.0, 40.0, 100.0, 80.0], None);
    let (plan, s) = apply(&s0, &[ops_a, ops_b].concat());
    assert!(plan.conflicts.is_empty(), "{plan:?}");
    assert_eq!(live(&s), [na, nb].into());
}

#[test]
fn a_decision_on_a_box_removed_elsewhere_is_kept_and_reported_on_both_laptops() {
    let (mut a, mut b) = (Laptop::new(1, "ana"), Laptop::new(2, "ben"));
    let (p, whole, mut base) = whole_frame_photo(&mut a);
    let (x, ox) = a.individual("HW-1");
    base.push(ox);
    let (_, s0) = apply(&LocalState::default(), &base);
    // Ana moves the whole frame to a box; Ben identifies the whole frame.
    let (na, ops_a) = a.move_box(&p, &whole, [10.0, 10.0, 40.0, 40.0], None);
    let (decision, ob) = b.decide(&whole, &x);
    let (_, at_a) = apply(&s0, &ops_a);
    let (_, at_b) = apply(&s0, std::slice::from_ref(&ob));
    let (plan_a, at_a) = apply(&at_a, &[ob]);
    let (plan_b, at_b) = apply(&at_b, &ops_a);
    let report = Conflict::RemovedBox {
        detection: whole.clone(),
        decision: decision.clone(),
    };
    assert!(plan_a.conflicts.contains(&report), "{plan_a:?}");
    assert!(plan_b.conflicts.contains(&report), "{plan_b:?}");
    for s in [&at_a, &at_b] {
        assert_eq!(live(s), [na.clone()].into());
        assert_eq!(
            s.decisions[&decision].detection, whole,
            "the decision is kept"
        );
    }
}

#[test]
fn moving_a_box_with_its_own_decision_carried_reports_nothing() {
    let (mut a, mut b) = (Laptop::new(1, "ana"), Laptop::new(2, "ben"));
    let (p, whole, mut base) = whole_frame_photo(&mut a);
    let (x, ox) = a.individual("HW-1");
    base.push(ox);
    // Ben identified the frame; Ana, who has that decision, moves the box.
    b.wall = a.wall;
    let (_, ob) = b.decide(&whole, &x);
    base.push(ob);
    a.wall = b.wall + 1;
    let (_, s0) = apply(&LocalState::default(), &base);
    let (_, ops) = a.move_box(&p, &whole, [10.0, 10.0, 40.0, 40.0], Some(&x));
    let (plan, _) = apply(&s0, &ops);
    assert!(plan.conflicts.is_empty(), "{plan:?}");
    // Without the carried decision, Ben's is reported.
    let (_, ops) = a.move_box(&p, &whole, [10.0, 10.0, 40.0, 40.0], None);
    let (plan, _) = apply(&s0, &ops);
    assert!(
        matches!(plan.conflicts.as_slice(), [Conflict::RemovedBox { .. }]),
        "{plan:?}"
    );
}

/// Three laptops drawing, moving, removing and restoring boxes on shared
/// photos reach the same live boxes whatever order and batches the
/// operations arrive in.
#[test]
fn boxes_converge_whatever_order_operations_arrive_in() {
    let mut moved_twice = 0;
    for seed in 0..40u64 {
        let mut rng = SplitMix64::new(seed);
        let mut laptops: Vec<Laptop> = (1..=3)
            .map(|n| Laptop::new(n, ["ana", "ben", "cai"][n as usize - 1]))
            .collect();
        let (p, whole, base) = whole_frame_photo(&mut laptops[0]);
        let mut made: Vec<Vec<Op>> = vec![Vec::new(); 3];
        for (k, l) in laptops.iter_mut().enumerate() {
            l.wall += rng.below(50) as u64;
            let mut mine: Vec<String> = Vec::new();
            for _ in 0..6 {
                let x = 10.0 * rng.below(4) as f32;
                let bbox = [x, 10.0, x + 30.0, 50.0];
                match rng.below(4) {
                    0 => {
                        let (d, op) = l.drawn(&p, bbox, None);
                        made[k].push(op);
                        mine.push(d);
                    }
                    1 => {
                        let (d, ops) = l.move_box(&p, &whole, bbox, None);
                        made[k].extend(ops);
                        mine.push(d);
                    }
                    2 if !mine.is_empty() => {
                        let d = mine[rng.below(mine.len())].clone();
                        made[k].push(l.remove(&d, None));
                    }
                    _ if !mine.is_empty() => {
                        let d = mine[rng.below(mine.len())].clone();
                        made[k].push(l.restore(&d));
                    }
                    _ => {}
                }
            }
        }
        let (_, s0) = apply(&LocalState::default(), &base);
        let mut results = Vec::new();
        for _ in 0..3 {
            let mut queues: Vec<std::collections::VecDeque<Op>> =
                made.iter().map(|m| m.iter().cloned().collect()).collect();
            let mut s = s0.clone();
            while queues.iter().any(|q| !q.is_empty()) {
                let mut batch = Vec::new();
                for _ in 0..=rng.below(4) {
                    let k = rng.below(3);
                    if let Some(op) = queues[k].pop_front() {
                        batch.push(op);
                    }
                }
                let (plan, next) = apply(&s, &batch);
                assert!(
                    plan.actions
                        .iter()
                        .all(|a| !matches!(a, Action::Refuse { .. })),
                    "{plan:?}"
                );
                moved_twice += plan
                    .conflicts
                    .iter()
                    .filter(|c| matches!(c, Conflict::BoxMoves { .. }))
                    .count();
                s = next;
            }
            results.push(live(&s));
        }
        assert_eq!(results[0], results[1], "seed {seed}");
        assert_eq!(results[1], results[2], "seed {seed}");
    }
    assert!(moved_twice > 0, "no run moved one box twice");
}

/// Issue 19 item 3: two merges with the same timestamp (A into B and B into
/// A, from a node whose clock repeated itself) must leave the same survivor
/// on every catalogue, whatever order they arrived in and however each
/// catalogue's maps happen to iterate.
#[test]
fn tied_merges_of_a_into_b_and_b_into_a_leave_the_same_survivor_everywhere() {
    let mut a = Laptop::new(1, "ana");
    let (x, ox) = a.individual("A");
    let (y, oy) = a.individual("B");
    let xy = a.merge(&x, &y);
    let mut yx = a.merge(&y, &x);
    yx.hlc = xy.hlc;
    let mut survivors = BTreeSet::new();
    for round in 0..20 {
        let ops = if round % 2 == 0 {
            [xy.clone(), yx.clone()]
        } else {
            [yx.clone(), xy.clone()]
        };
        // Each catalogue is its own (its maps hash with their own keys).
        let base = apply(&LocalState::default(), &[ox.clone(), oy.clone()]).1;
        // One batch, or one merge per batch.
        let state = if round % 4 < 2 {
            apply(&base, &ops).1
        } else {
            apply(&apply(&base, &ops[..1]).1, &ops[1..]).1
        };
        let merged = resolve_merges(&state.merges);
        assert_eq!(merged.len(), 1, "{merged:?}");
        survivors.extend(merged.values().cloned());
    }
    assert_eq!(survivors.len(), 1, "survivors differ: {survivors:?}");
}

/// Two renames of one individual with the same timestamp: the same code
/// wins everywhere (timestamp, then operation UUID).
#[test]
fn tied_renames_give_the_same_code_everywhere() {
    let mut a = Laptop::new(1, "ana");
    let (x, ox) = a.individual("A");
    let (_, base) = apply(&LocalState::default(), &[ox]);
    let r1 = a.rename(&x, "Scar");
    let mut r2 = a.rename(&x, "Notch");
    r2.hlc = r1.hlc;
    let ((_, one), (_, two)) = both_orders(&base, &[r1], &[r2]);
    assert_eq!(
        resolve_codes(&one.individuals)[&x],
        resolve_codes(&two.individuals)[&x]
    );
    // The greater operation UUID wins the tie.
    assert_eq!(resolve_codes(&one.individuals)[&x], "Notch");
}

/// A removal and a restoration of one box with the same timestamp: the
/// same state everywhere.
#[test]
fn tied_removal_and_restoration_give_the_same_state_everywhere() {
    let mut a = Laptop::new(1, "ana");
    let (photo, p) = a.photo(1);
    let (det, d) = a.detection(&photo, 5.0);
    let (_, base) = apply(&LocalState::default(), &[p, d]);
    let removal = a.remove(&det, None);
    let mut restore = a.restore(&det);
    restore.hlc = removal.hlc;
    let ((_, one), (_, two)) = both_orders(&base, &[removal], &[restore]);
    assert_eq!(is_removed(&one, &det), is_removed(&two, &det));
}

impl Laptop {
    fn grade(&mut self, detection: &str, attribute: &str, value: Option<&str>) -> Op {
        self.op(Change::AttributeSet {
            detection: detection.into(),
            attribute: attribute.into(),
            value: value.map(String::from),
        })
    }
}

/// The value in force of each attribute of `detection`.
fn grades_of(s: &LocalState, detection: &str) -> BTreeMap<String, Option<String>> {
    s.attributes
        .iter()
        .filter(|((d, _), _)| d == detection)
        .map(|((_, a), set)| (a.clone(), set.value.clone()))
        .collect()
}

/// Two laptops grading one detection: per attribute the later setting wins
/// in both orders, and settings of different attributes are both kept.
#[test]
fn the_latest_setting_of_each_attribute_wins_and_different_attributes_are_both_kept() {
    let (mut a, mut b) = (Laptop::new(1, "ana"), Laptop::new(2, "ben"));
    let (photo, p) = a.photo(1);
    let (det, d) = a.detection(&photo, 5.0);
    let (_, base) = apply(&LocalState::default(), &[p, d]);
    let ana = [
        a.grade(&det, "quality", Some("Q2")),
        a.grade(&det, "side", Some("left")),
    ];
    b.wall = a.wall + 10; // ben grades later
    let ben = [
        b.grade(&det, "quality", Some("Q1")),
        b.grade(&det, "part", Some("dorsal-fin")),
    ];
    let ((second, one), (_, two)) = both_orders(&base, &ana, &ben);
    let want = BTreeMap::from([
        ("part".to_string(), Some("dorsal-fin".to_string())),
        ("quality".to_string(), Some("Q1".to_string())),
        ("side".to_string(), Some("left".to_string())),
    ]);
    assert_eq!(grades_of(&one, &det), want);
    assert_eq!(grades_of(&two, &det), want);
    assert!(second
        .actions
        .iter()
        .all(|x| matches!(x, Action::SetAttribute { .. })));
    // Ben's quality first, then ana's older one: recorded, not applied.
    let (_, ben_first) = apply(&base, &ben);
    let (late, _) = apply(&ben_first, &ana[..1]);
    assert!(
        matches!(late.actions[..], [Action::StaleAttribute { .. }]),
        "{late:?}"
    );
}

/// A later clearing wins over an earlier setting, and a tie of timestamps
/// is broken by the operation's UUID the same way in both orders.
#[test]
fn a_clearing_is_a_setting_and_ties_break_by_operation_uuid() {
    let (mut a, mut b) = (Laptop::new(1, "ana"), Laptop::new(2, "ben"));
    let (photo, p) = a.photo(1);
    let (det, d) = a.detection(&photo, 5.0);
    let (_, base) = apply(&LocalState::default(), &[p, d]);
    let set = a.grade(&det, "distinctiveness", Some("D1"));
    let clear = a.grade(&det, "distinctiveness", None);
    let ((_, one), (_, two)) = both_orders(&base, &[set], &[clear]);
    for s in [&one, &two] {
        assert_eq!(grades_of(s, &det)["distinctiveness"], None);
    }
    let x = a.grade(&det, "side", Some("left"));
    let mut y = b.grade(&det, "side", Some("right"));
    y.hlc = x.hlc;
    let winner = if y.id > x.id { "right" } else { "left" };
    let ((_, one), (_, two)) = both_orders(&base, &[x], &[y]);
    for s in [&one, &two] {
        assert_eq!(grades_of(s, &det)["side"].as_deref(), Some(winner));
    }
}

/// A setting for a detection this catalogue does not hold is refused, as
/// other detection operations are; a value not of its attribute too.
#[test]
fn an_attribute_of_a_missing_detection_or_a_wrong_value_is_refused() {
    let mut a = Laptop::new(1, "ana");
    let (photo, p) = a.photo(1);
    let (det, d) = a.detection(&photo, 5.0);
    let (_, base) = apply(&LocalState::default(), &[p, d]);
    let missing = a.uuid();
    let ops = [
        a.grade(&missing, "quality", Some("Q1")),
        a.grade(&det, "quality", Some("left")),
        a.grade(&det, "colour", Some("grey")),
        a.grade(&det, "quality", Some("q1")),
    ];
    let (plan, after) = apply(&base, &ops);
    let reasons: Vec<&str> = plan
        .actions
        .iter()
        .filter_map(|x| match x {
            Action::Refuse { reason, .. } => Some(reason.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(reasons.len(), 4, "{plan:?}");
    assert!(reasons[0].contains("not in this catalogue"), "{reasons:?}");
    assert!(reasons[1].contains("left") && reasons[2].contains("colour"));
    assert!(reasons[3].contains("not written as stored"), "{reasons:?}");
    assert!(after.attributes.is_empty());
}

mod encounters;
