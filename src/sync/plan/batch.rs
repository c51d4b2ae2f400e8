//! One batch being planned: the state as the operations taken so far leave
//! it, the lookups the rules make for every operation, and the conflicts
//! found. The lookups (a photo by its bytes, a detection by its box, a
//! detection's decisions, a box's replacements) are indexed once per batch
//! and kept in step with the state, instead of scanning every photo,
//! detection or decision for each operation.
//!
//! [`Batch::step`] sends each change kind to its own rule: photos and boxes
//! in [`super::boxes`], individuals in [`super::individuals`], decisions in
//! [`super::decisions`].

use std::collections::{BTreeSet, HashMap};

use super::{Action, Conflict, DetectionKey, LocalState};
use crate::sync::ops::{Change, Op};

/// Why an operation naming a record that is not here is refused.
pub(super) fn missing(what: &str, uuid: &str) -> String {
    format!("{what} {uuid} is not in this catalogue")
}

/// A detector's box as a lookup key: photo, box and class. The box is
/// compared by value as `==` on `f32` does (`-0.0` is `0.0`); a box with a
/// NaN equals nothing, so it is never indexed.
type BoxKey = (String, [u32; 4], String);

fn box_key(k: &DetectionKey) -> Option<BoxKey> {
    if k.bbox.iter().any(|v| v.is_nan()) {
        return None;
    }
    let bits = k.bbox.map(|v| {
        let v = if v == 0.0 { 0.0f32 } else { v };
        v.to_bits()
    });
    Some((k.photo.clone(), bits, k.class.clone()))
}

/// The lookups, built once from the state a batch starts from.
#[derive(Debug, Default)]
struct Index {
    /// sha256 → the photos with those bytes.
    photos_by_sha: HashMap<String, BTreeSet<String>>,
    /// A detector's box → the detections with it. Boxes drawn by hand are
    /// left out: they are never the same detection as another.
    detections_by_box: HashMap<BoxKey, BTreeSet<String>>,
    /// Detection → its decisions, withdrawn ones too.
    decisions_of: HashMap<String, BTreeSet<String>>,
    /// A box → the boxes made by moving or resizing it.
    replacements_of: HashMap<String, BTreeSet<String>>,
}

impl Index {
    fn of(s: &LocalState) -> Self {
        let mut ix = Self::default();
        for (photo, sha) in &s.photos {
            ix.add_photo(photo, sha);
        }
        for (detection, key) in &s.detections {
            ix.add_detection(detection, key);
        }
        for (decision, d) in &s.decisions {
            ix.decisions_of
                .entry(d.detection.clone())
                .or_default()
                .insert(decision.clone());
        }
        for (new, r) in &s.replacements {
            ix.replacements_of
                .entry(r.replaces.clone())
                .or_default()
                .insert(new.clone());
        }
        ix
    }

    fn add_photo(&mut self, photo: &str, sha256: &str) {
        self.photos_by_sha
            .entry(sha256.to_string())
            .or_default()
            .insert(photo.to_string());
    }

    fn add_detection(&mut self, detection: &str, key: &DetectionKey) {
        if key.drawn {
            return;
        }
        if let Some(k) = box_key(key) {
            self.detections_by_box
                .entry(k)
                .or_default()
                .insert(detection.to_string());
        }
    }
}

/// A batch being planned; the rules for each change kind are its methods.
#[derive(Debug)]
pub(super) struct Batch {
    pub(super) s: LocalState,
    ix: Index,
    pub(super) conflicts: Vec<Conflict>,
}

impl Batch {
    pub(super) fn new(s: LocalState) -> Self {
        let ix = Index::of(&s);
        Self {
            s,
            ix,
            conflicts: Vec::new(),
        }
    }

    /// The actions of one operation (already checked, not applied before),
    /// or why it is refused.
    pub(super) fn step(&mut self, op: &Op) -> Result<Vec<Action>, String> {
        match &op.change {
            Change::PhotoAdded { photo, sha256, .. } => self.photo_added(op, photo, sha256),
            Change::DetectionAdded {
                detection,
                photo,
                bbox,
                class,
                drawn_by,
                replaces,
                ..
            } => {
                let photo = self.known_photo(photo)?;
                let replaces = replaces
                    .as_deref()
                    .map(|r| self.known_detection(r))
                    .transpose()?;
                let key = DetectionKey {
                    photo,
                    bbox: *bbox,
                    class: class.clone(),
                    drawn: drawn_by.is_some(),
                };
                Ok(self.detection_added(op, detection, key, replaces))
            }
            Change::DetectionRemoved {
                detection,
                replaced_by,
            } => self.detection_removed(op, detection, replaced_by.as_deref()),
            Change::DetectionRestored { detection } => self.detection_restored(op, detection),
            Change::EmbeddingAdded {
                detection,
                pack_name,
                pack_version,
                vector,
            } => {
                let key = (pack_name.clone(), pack_version.clone());
                if let Some(want) = self.s.pack_dims.get(&key).filter(|w| **w != vector.len()) {
                    return Err(format!(
                        "an embedding of {} values does not fit pack {pack_name} {pack_version}, whose embeddings have {want}",
                        vector.len()
                    ));
                }
                self.embedding_added(op, detection, pack_name, pack_version)
            }
            Change::IndividualCreated {
                individual, code, ..
            } => Ok(self.individual_created(op, individual, code)),
            Change::IndividualRenamed { individual, code } => {
                self.individual_renamed(op, individual, code)
            }
            Change::IndividualsMerged { event, from, into } => {
                self.individuals_merged(op, event, from, into)
            }
            Change::MergeUndone { event } => self.merge_undone(op, event),
            Change::Decided {
                decision,
                detection,
                individual,
                verdict,
                ..
            } => self.decided(op, decision, detection, individual, *verdict),
            Change::DecisionWithdrawn { decision } => self.decision_withdrawn(op, decision),
            Change::AttributeSet {
                detection,
                attribute,
                value,
            } => self.attribute_set(op, detection, attribute, value.as_deref()),
            Change::OpinionGiven {
                opinion,
                case,
                detection,
                round,
                individual,
                ..
            } => self.opinion_given(op, opinion, case, detection, *round, individual.as_deref()),
            Change::SecondReviewSwitched { switch, .. } => {
                Ok(self.second_review_switched(op, switch))
            }
            Change::EncounterSet {
                encounter,
                field,
                value,
            } => self.encounter_set(op, encounter, field, value.as_deref()),
            Change::PhotoEncounter { photo, encounter } => {
                self.photo_encounter(op, photo, encounter.as_deref())
            }
        }
    }

    /// The record here that `id` names (itself, or what it was recognised as).
    pub(super) fn resolve(&self, id: &str) -> String {
        self.s
            .aliases
            .get(id)
            .map_or(id, String::as_str)
            .to_string()
    }

    /// The photo `id` names here, or why the operation is refused.
    pub(super) fn known_photo(&self, id: &str) -> Result<String, String> {
        let photo = self.resolve(id);
        if self.s.photos.contains_key(&photo) {
            Ok(photo)
        } else {
            Err(missing("photo", &photo))
        }
    }

    /// The detection `id` names here, or why the operation is refused.
    pub(super) fn known_detection(&self, id: &str) -> Result<String, String> {
        let detection = self.resolve(id);
        if self.s.detections.contains_key(&detection) {
            Ok(detection)
        } else {
            Err(missing("detection", &detection))
        }
    }

    /// A photo here with these bytes.
    pub(super) fn photo_with(&self, sha256: &str) -> Option<String> {
        self.ix.photos_by_sha.get(sha256)?.first().cloned()
    }

    /// A detection here that `key` is the same detection as (never for a
    /// box drawn by hand).
    pub(super) fn same_detection(&self, key: &DetectionKey) -> Option<String> {
        if key.drawn {
            return None;
        }
        self.ix
            .detections_by_box
            .get(&box_key(key)?)?
            .first()
            .cloned()
    }

    pub(super) fn insert_photo(&mut self, photo: &str, sha256: &str) {
        if let Some(old) = self.s.photos.insert(photo.to_string(), sha256.to_string()) {
            if let Some(photos) = self.ix.photos_by_sha.get_mut(&old) {
                photos.remove(photo);
            }
        }
        self.ix.add_photo(photo, sha256);
    }

    /// Add a detection not here yet.
    pub(super) fn insert_detection(&mut self, detection: &str, key: DetectionKey) {
        self.ix.add_detection(detection, &key);
        self.s.detections.insert(detection.to_string(), key);
    }

    /// Add a replacement box not here yet.
    pub(super) fn insert_replacement(&mut self, new: &str, r: super::Replacement) {
        self.ix
            .replacements_of
            .entry(r.replaces.clone())
            .or_default()
            .insert(new.to_string());
        self.s.replacements.insert(new.to_string(), r);
    }

    /// The replacements of the same box as `new`'s, `new` among them.
    pub(super) fn replacing_the_same(&self, new: &str) -> Vec<String> {
        self.s
            .replacements
            .get(new)
            .and_then(|r| self.ix.replacements_of.get(&r.replaces))
            .map(|ids| ids.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Add a decision not here yet.
    pub(super) fn insert_decision(&mut self, decision: &str, d: super::DecisionState) {
        self.ix
            .decisions_of
            .entry(d.detection.clone())
            .or_default()
            .insert(decision.to_string());
        self.s.decisions.insert(decision.to_string(), d);
    }

    /// The current decision of `detection`: its latest one not withdrawn.
    pub(super) fn current_decision(&self, detection: &str) -> Option<String> {
        self.ix
            .decisions_of
            .get(detection)?
            .iter()
            .map(|id| (id, &self.s.decisions[id]))
            .filter(|(_, d)| !d.withdrawn)
            .max_by_key(|(id, d)| (d.hlc, *id))
            .map(|(id, _)| id.clone())
    }
}
