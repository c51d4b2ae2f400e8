//! The planner: what applying a batch of operations to a catalogue will do,
//! computed without touching it.
//!
//! [`plan`] takes what the catalogue already holds ([`LocalState`]) and the
//! incoming operations, and returns the [`Action`]s an applier performs and
//! the [`Conflict`]s a person should look at. It is a pure function: the app
//! shows the plan before anything is applied, and the same inputs always
//! give the same plan. Operations are taken in timestamp order, each seeing
//! what the earlier ones did, so a batch may create a photo, its detection
//! and a decision about it together.
//!
//! The merge rules, in the order a reader meets them:
//!
//! * **Idempotence.** An operation whose id was already applied is skipped.
//! * **Same photo, one photo.** A photo whose sha256 is already here under
//!   another UUID is the same photo: its UUID becomes an alias of the one
//!   here, and everything that names it lands on the one here.
//! * **Same detection.** A detection on the same photo with the same class
//!   and box (same pack, same detector, same pixels) is the same detection,
//!   aliased likewise.
//! * **Codes.** Each individual claims a code: the one it was created with,
//!   or its latest rename (the latest timestamp wins, everywhere). Codes
//!   shown are unique by construction: of the individuals claiming one
//!   code, the earliest claim keeps it and the others show `CODE~xxxxxxxx`
//!   (the last, random, eight hex digits of their UUID; longer when that is
//!   taken too). Codes are derived from all claims ([`resolve_codes`]), so
//!   every catalogue shows the same ones whatever order the claims arrived
//!   in, and a clash is reported.
//! * **Ties.** Every order the rules take is total: timestamp, then the
//!   operation's UUID, so two events with one timestamp (a node whose clock
//!   repeated itself) are taken in the same order everywhere.
//! * **Merges** are events; the state they leave is recomputed from all of
//!   them in timestamp order ([`resolve_merges`]), so every catalogue ends up
//!   with the same individuals whatever order the merges arrived in. A merge
//!   of two individuals that are already one is kept but does nothing.
//! * **Decisions** are events, never overwritten: every decision is stored,
//!   and a detection's current decision is its latest one that was not
//!   withdrawn. Two different decisions about one detection by different
//!   people are reported as a conflict (both kept, the later counts).
//! * **Boxes drawn by hand** are their own records: a drawn box is never
//!   taken for the same detection as another (two people drawing the same
//!   rectangle drew two boxes), so both laptops adding boxes to one photo
//!   keep both.
//! * **Removed or live.** Removing a box and restoring it are events; a
//!   box's state is that of its latest event (the greatest timestamp, so
//!   every catalogue agrees whatever order they arrive in). An older event
//!   arriving after a newer one is recorded, not applied.
//! * **One box moved on two laptops.** Two boxes replacing the same box
//!   that overlap (intersection over union at least [`SAME_ANIMAL_IOU`])
//!   show the same animal: the one added later (greater timestamp, then
//!   UUID) stays live, and the other is removed as of that later addition
//!   (an event like any other, so a person can restore it). Both arrive and
//!   the pair is reported. Replacements that do not overlap are two animals
//!   (the first boxes drawn on one whole-frame photo on two laptops): both
//!   stay.
//! * **No decision is lost with a box.** A decision stays with its box when
//!   the box is removed. A removal of a box whose current confirmed
//!   decision is another person's (and was not carried to the box that
//!   replaced it), and a decision arriving for a box removed here, are both
//!   reported for a person to look at.
//! * **Attributes** (quality, distinctiveness, side, part): per detection
//!   and per attribute, the latest setting wins (timestamp, then the
//!   operation's UUID); a clearing is a setting too. Settings of different
//!   attributes of one detection never touch each other, so two people
//!   grading one photo on two laptops keep both gradings. An older setting
//!   arriving after a newer one is recorded, not applied.
//! * **Encounters**: per encounter and per field (time, place, position,
//!   observers, group size...), the latest setting wins, and per photo its
//!   latest encounter; an encounter named for the first time is made. A
//!   split (a new encounter, its fields, photos moved to it) and a join
//!   (photos moved, the other marked joined) are only such settings, so
//!   one laptop splitting while another edits keeps both: the new
//!   encounter has the fields as they were copied, the old one the edits.
//! * **Opinions** of the second reviewer are events: every one is kept
//!   (see `second_review.rs`); a later round must name a first opinion on
//!   the same detection. Switching the second reviewer on or off is an
//!   event too: all are kept, and the latest holds.
//! * **References.** An operation naming a record that is neither here nor
//!   earlier in the batch is refused with the reason; nothing of it is stored.
//! * **Embeddings fit their pack version.** An embedding whose number of
//!   values is not its pack version's, where the receiver knows that number
//!   ([`LocalState::pack_dims`]), is refused: one bad vector would break
//!   every search it entered.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

use super::hlc::Hlc;
use super::ops::{Op, Verdict};

mod attributes;
mod batch;
mod boxes;
mod decisions;
mod encounters;
mod individuals;
mod second_review;
mod summary;

pub use attributes::{later_wins, record_attribute};
use batch::Batch;
pub use boxes::{iou, is_removed, moved_twice, moved_twice_removal, record_liveness};
pub use encounters::{record_encounter_field, record_photo_encounter};
pub use second_review::OpinionState;
pub use summary::PlanSummary;

/// A detection as the planner knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectionKey {
    pub photo: String,
    pub bbox: [f32; 4],
    pub class: String,
    /// Drawn by a person: never the same detection as another.
    pub drawn: bool,
}

/// Two boxes replacing one box show the same animal from this overlap
/// (intersection over union) on.
pub const SAME_ANIMAL_IOU: f32 = 0.5;

/// A detection's latest removal or restoration.
#[derive(Debug, Clone, PartialEq)]
pub struct Liveness {
    pub hlc: Hlc,
    /// What breaks a tie of timestamps: the operation's UUID (for a removal
    /// by the moved-twice rule, the kept box's UUID).
    pub event: String,
    pub removed: bool,
    pub by: String,
}

/// A box made by moving or resizing another.
#[derive(Debug, Clone, PartialEq)]
pub struct Replacement {
    /// The box it replaced.
    pub replaces: String,
    /// When it was added.
    pub hlc: Hlc,
    pub bbox: [f32; 4],
    pub author: String,
}

/// The code an individual claims (at creation or by its latest rename) and
/// when it claimed it; the code it shows is [`resolve_codes`]'s.
#[derive(Debug, Clone, PartialEq)]
pub struct Named {
    pub code: String,
    pub hlc: Hlc,
    /// The claiming operation's UUID: the tie-break after the timestamp.
    pub op: String,
}

/// A merge event.
#[derive(Debug, Clone, PartialEq)]
pub struct MergeEvent {
    pub hlc: Hlc,
    /// The merging operation's UUID: the tie-break after the timestamp.
    pub op: String,
    pub from: String,
    pub into: String,
    pub undone: bool,
}

/// A decision about a detection.
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionState {
    pub hlc: Hlc,
    pub detection: String,
    pub individual: String,
    pub verdict: Verdict,
    pub author: String,
    pub withdrawn: bool,
}

/// The setting in force of one attribute of one detection.
#[derive(Debug, Clone, PartialEq)]
pub struct AttributeState {
    pub hlc: Hlc,
    /// The setting operation's UUID: the tie-break after the timestamp.
    pub op: String,
    /// `None`: cleared.
    pub value: Option<String>,
}

/// What the planner needs to know of the local catalogue.
#[derive(Debug, Clone, Default)]
pub struct LocalState {
    /// Operations already applied here (made here or received before).
    pub applied: HashSet<String>,
    /// Photo → sha256.
    pub photos: HashMap<String, String>,
    pub detections: HashMap<String, DetectionKey>,
    pub individuals: HashMap<String, Named>,
    pub merges: HashMap<String, MergeEvent>,
    pub decisions: HashMap<String, DecisionState>,
    /// `(detection, pack name, pack version)` that have an embedding.
    pub embeddings: HashSet<(String, String, String)>,
    /// A UUID from elsewhere → the record here it was recognised as.
    pub aliases: HashMap<String, String>,
    /// Detections removed or restored at least once: the latest event.
    pub liveness: HashMap<String, Liveness>,
    /// Boxes made by moving or resizing another, by their UUID.
    pub replacements: HashMap<String, Replacement>,
    /// `(pack name, pack version)` → how many values its embeddings have,
    /// for the versions this receiver knows (from the manifests of the
    /// packs it has: `crate::catalogue::vectors::known_dims`). An
    /// embedding of another size for one of them is refused; one of a
    /// version not known is stored, and kept out of searches if it does
    /// not fit (`crate::catalogue::vectors`).
    pub pack_dims: BTreeMap<(String, String), usize>,
    /// `(detection, attribute)` → its latest setting (or clearing).
    pub attributes: HashMap<(String, String), AttributeState>,
    /// The second reviewer's opinions, by UUID.
    pub opinions: HashMap<String, OpinionState>,
    /// The switchings of the second reviewer held, by UUID.
    pub switches: HashSet<String>,
    /// `(encounter, field)` → its latest setting (or clearing).
    pub encounter_fields: HashMap<(String, String), AttributeState>,
    /// Photo → its latest encounter setting (`value`: the encounter).
    pub photo_encounters: HashMap<String, AttributeState>,
}

/// One step for the applier. `op` is the operation's id; record ids are
/// already resolved through aliases.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Applied before: nothing to do.
    AlreadyApplied {
        op: String,
    },
    AddPhoto {
        op: String,
        photo: String,
    },
    /// The same bytes are here as `local`: `remote` becomes its alias.
    SamePhoto {
        op: String,
        remote: String,
        local: String,
    },
    AddDetection {
        op: String,
        detection: String,
        photo: String,
    },
    SameDetection {
        op: String,
        remote: String,
        local: String,
    },
    AddEmbedding {
        op: String,
        detection: String,
    },
    /// Mark a detection removed by `by`; `op` is the removal, or the
    /// addition of the box that won it (one box moved on two laptops).
    RemoveDetection {
        op: String,
        detection: String,
        by: String,
    },
    RestoreDetection {
        op: String,
        detection: String,
    },
    /// A removal or restoration older than the detection's latest one:
    /// recorded, not applied.
    StaleLiveness {
        op: String,
        detection: String,
    },
    /// The latest setting of one attribute of a detection: store it
    /// (`value` `None`: cleared).
    SetAttribute {
        op: String,
        detection: String,
        attribute: String,
        value: Option<String>,
    },
    /// A setting older than the one in force: recorded, not applied.
    StaleAttribute {
        op: String,
        detection: String,
    },
    /// The latest setting of a field of an encounter (made if not here).
    SetEncounterField {
        op: String,
        encounter: String,
        field: String,
        value: Option<String>,
    },
    /// The latest encounter of a photo (`None`: none).
    SetPhotoEncounter {
        op: String,
        photo: String,
        encounter: Option<String>,
    },
    /// An encounter setting older than the one in force: recorded, not
    /// applied. `record` is the encounter or the photo.
    StaleEncounter {
        op: String,
        record: String,
    },
    /// Store a second reviewer's opinion.
    AddOpinion {
        op: String,
        opinion: String,
        detection: String,
    },
    /// Store a switching of the second reviewer (the latest holds).
    SwitchSecondReview {
        op: String,
    },
    /// That detection already has an embedding of that pack version.
    EmbeddingPresent {
        op: String,
        detection: String,
    },
    /// Create an individual (its code follows from [`Action::ResolveCodes`]).
    CreateIndividual {
        op: String,
        individual: String,
    },
    /// The latest claim of a code by an individual: record it.
    Rename {
        op: String,
        individual: String,
    },
    /// A rename older than the claim in force: recorded, not applied.
    StaleRename {
        op: String,
        individual: String,
    },
    /// Record a merge event (the state follows from [`Action::ResolveMerges`]).
    RecordMerge {
        op: String,
        event: String,
        from: String,
        into: String,
    },
    UndoMerge {
        op: String,
        event: String,
    },
    /// Store a decision; `current` when it becomes its detection's current one.
    Decide {
        op: String,
        decision: String,
        detection: String,
        individual: String,
        current: bool,
    },
    /// Withdraw a decision; `current` names the decision current after it.
    Withdraw {
        op: String,
        decision: String,
        current: Option<String>,
    },
    /// Set every individual's `merged_into` from all merge events.
    ResolveMerges {
        merged_into: BTreeMap<String, String>,
    },
    /// Individuals (new ones among them) whose shown code is now this.
    ResolveCodes {
        codes: BTreeMap<String, String>,
    },
    /// Not applied, and why.
    Refuse {
        op: String,
        reason: String,
    },
}

/// What a person should look at after the sync.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(tag = "conflict", rename_all = "snake_case")]
pub enum Conflict {
    /// Different decisions about one detection by different people; both are
    /// kept and `current` counts.
    Decisions {
        detection: String,
        current: String,
        other: String,
    },
    /// Individuals claim one code: `kept` shows it, `renamed` shows `renamed_to`.
    CodeClash {
        code: String,
        kept: String,
        renamed: String,
        renamed_to: String,
    },
    /// A box with a person's `decision` was removed elsewhere (or the
    /// decision was taken on a box removed here): the decision is kept with
    /// the removed box.
    RemovedBox { detection: String, decision: String },
    /// One box was moved on two laptops: `kept` stays live, `other` was
    /// removed by the rule.
    BoxMoves {
        replaced: String,
        kept: String,
        other: String,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Plan {
    pub actions: Vec<Action>,
    pub conflicts: Vec<Conflict>,
}

impl Plan {
    /// Actions that change the catalogue (everything but skips and refusals).
    pub fn changes(&self) -> usize {
        self.actions
            .iter()
            .filter(|a| !matches!(a, Action::AlreadyApplied { .. } | Action::Refuse { .. }))
            .count()
    }
}

/// The `merged_into` of every merged individual after the events not
/// undone, taken in timestamp order (then operation UUID, then event UUID:
/// two merges with one timestamp are taken in the same order everywhere): a
/// merge of individuals that are already one (directly or through others)
/// does nothing. Pointers go to the final individual, so no chain is left.
pub fn resolve_merges(events: &HashMap<String, MergeEvent>) -> BTreeMap<String, String> {
    let mut ordered: Vec<(&String, &MergeEvent)> =
        events.iter().filter(|(_, e)| !e.undone).collect();
    ordered.sort_by(|(a, x), (b, y)| (x.hlc, &x.op, a).cmp(&(y.hlc, &y.op, b)));
    let mut parent: HashMap<String, String> = HashMap::new();
    fn root(parent: &HashMap<String, String>, mut x: String) -> String {
        while let Some(p) = parent.get(&x) {
            x = p.clone();
        }
        x
    }
    for (_, e) in ordered {
        let (a, b) = (root(&parent, e.from.clone()), root(&parent, e.into.clone()));
        if a != b {
            parent.insert(a, b);
        }
    }
    parent
        .keys()
        .map(|k| (k.clone(), root(&parent, k.clone())))
        .collect()
}

/// The order claims of a code are taken in: timestamp, then the claiming
/// operation's UUID, then the individual's (a total order, the same on
/// every catalogue).
fn claim_key<'a>((id, n): &(&'a String, &'a Named)) -> (Hlc, &'a str, &'a str) {
    (n.hlc, n.op.as_str(), id.as_str())
}

/// The code each individual shows, unique by construction: every code
/// claimed is shown by its first claimant (in [`claim_key`] order); each
/// later claimant of a taken code moves to the first of its
/// [`clash_codes`] that no individual claims and no earlier loser was
/// given. The result follows from the claims alone, so every catalogue
/// shows the same codes whatever order the claims arrived in.
pub fn resolve_codes(individuals: &HashMap<String, Named>) -> BTreeMap<String, String> {
    let mut claims: Vec<(&String, &Named)> = individuals.iter().collect();
    claims.sort_by(|a, b| claim_key(a).cmp(&claim_key(b)));
    let mut taken: HashSet<String> = HashSet::with_capacity(claims.len());
    let mut shown = BTreeMap::new();
    let mut losers = Vec::new();
    for (id, n) in claims {
        if taken.insert(n.code.clone()) {
            shown.insert(id.clone(), n.code.clone());
        } else {
            losers.push((id, n));
        }
    }
    for (id, n) in losers {
        let code = clash_codes(&n.code, id)
            .find(|c| !taken.contains(c))
            .expect("clash_codes never ends");
        taken.insert(code.clone());
        shown.insert(id.clone(), code);
    }
    shown
}

/// The code a clash's loser moves to when nothing else holds it:
/// `CODE~xxxxxxxx`, the last eight hex digits of its UUID (the random ones
/// of a v4 or v7 UUID; the first ones of a v7 are its creation time, which
/// individuals made within a minute share).
pub fn clash_code(code: &str, individual: &str) -> String {
    clash_codes(code, individual)
        .next()
        .expect("clash_codes never ends")
}

/// The codes a clash's loser may move to, in order: `CODE~` and the last 8,
/// 12, 16 ... 32 hex digits of its UUID, then those 32 followed by `~2`,
/// `~3`... Endless, so a free one is always found.
pub fn clash_codes<'a>(code: &'a str, individual: &str) -> impl Iterator<Item = String> + 'a {
    let hex = match uuid::Uuid::parse_str(individual) {
        Ok(u) => u.simple().to_string(),
        // Ids are checked to be UUIDs before they get here; anything else
        // still gets a suffix made of its own letters and digits.
        Err(_) => individual
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect(),
    };
    let hex = if hex.is_empty() { "0".to_string() } else { hex };
    let tails: Vec<String> = (8..hex.len())
        .step_by(4)
        .chain([hex.len()])
        .map(|n| hex[hex.len() - n..].to_string())
        .collect();
    let whole = hex.clone();
    tails
        .into_iter()
        .map(move |t| format!("{code}~{t}"))
        .chain((2u64..).map(move |n| format!("{code}~{whole}~{n}")))
}

/// The order a batch is taken in: timestamp, then operation UUID, then (for
/// two different operations sent under one UUID and timestamp) their
/// content, so the plan follows from the operations, not the order they
/// came in.
pub fn batch_order(a: &Op, b: &Op) -> std::cmp::Ordering {
    a.hlc
        .cmp(&b.hlc)
        .then_with(|| a.id.cmp(&b.id))
        .then_with(|| {
            let text = |o: &Op| serde_json::to_string(o).unwrap_or_default();
            text(a).cmp(&text(b))
        })
}

/// See the module docs.
pub fn plan(local: &LocalState, incoming: &[Op]) -> Plan {
    simulate(local, incoming).0
}

/// [`plan`], and the state the catalogue will be in once it is applied.
pub fn simulate(local: &LocalState, incoming: &[Op]) -> (Plan, LocalState) {
    simulate_owned(local.clone(), incoming)
}

/// [`simulate`] on a state it may change (no copy): replaying a long log.
pub fn simulate_owned(local: LocalState, incoming: &[Op]) -> (Plan, LocalState) {
    let codes_before = resolve_codes(&local.individuals);
    let mut batch = Batch::new(local);
    let mut actions = Vec::new();
    let mut ops: Vec<&Op> = incoming.iter().collect();
    ops.sort_by(|a, b| batch_order(a, b));
    let mut seen_in_batch: HashSet<&str> = HashSet::new();
    for op in ops {
        if batch.s.applied.contains(&op.id) || !seen_in_batch.insert(op.id.as_str()) {
            actions.push(Action::AlreadyApplied { op: op.id.clone() });
            continue;
        }
        match op.validate().and_then(|()| batch.step(op)) {
            Ok(done) => {
                actions.extend(done);
                batch.s.applied.insert(op.id.clone());
            }
            Err(reason) => actions.push(Action::Refuse {
                op: op.id.clone(),
                reason,
            }),
        }
    }
    let mut out = Plan {
        actions,
        conflicts: std::mem::take(&mut batch.conflicts),
    };
    let s = batch.s;
    let merges_touched = out
        .actions
        .iter()
        .any(|a| matches!(a, Action::RecordMerge { .. } | Action::UndoMerge { .. }));
    if merges_touched {
        out.actions.push(Action::ResolveMerges {
            merged_into: resolve_merges(&s.merges),
        });
    }
    settle_codes(&mut out, &s, &codes_before);
    (out, s)
}

/// The codes shown that the batch changed (from `before`), and a clash
/// reported for each individual whose claim another keeps.
fn settle_codes(out: &mut Plan, s: &LocalState, before: &BTreeMap<String, String>) {
    let after = resolve_codes(&s.individuals);
    let changed: BTreeMap<String, String> = after
        .iter()
        .filter(|(id, code)| before.get(*id) != Some(*code))
        .map(|(id, code)| (id.clone(), code.clone()))
        .collect();
    if changed.is_empty() {
        return;
    }
    // Who shows each code (the first in UUID order, should two show one).
    let mut shown_by: HashMap<&str, &str> = HashMap::new();
    for (id, code) in &after {
        shown_by.entry(code.as_str()).or_insert(id.as_str());
    }
    for (id, shown) in &changed {
        let claim = &s.individuals[id].code;
        if shown != claim {
            out.conflicts.push(Conflict::CodeClash {
                code: claim.clone(),
                kept: shown_by
                    .get(claim.as_str())
                    .map_or_else(String::new, |k| k.to_string()),
                renamed: id.clone(),
                renamed_to: shown.clone(),
            });
        }
    }
    out.actions.push(Action::ResolveCodes { codes: changed });
}
