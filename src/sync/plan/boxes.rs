//! The rules for photos and boxes: the same photo or detection arriving
//! under another UUID, embeddings, removing and restoring a box, and one
//! box moved on two laptops.

use super::batch::Batch;
use super::{Action, Conflict, DetectionKey, Liveness, LocalState, Replacement, SAME_ANIMAL_IOU};
use crate::sync::ops::Op;
use crate::sync::ops::Verdict;

/// Intersection over union of two `[x1, y1, x2, y2]` boxes.
pub fn iou(a: [f32; 4], b: [f32; 4]) -> f32 {
    let w = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let h = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = w * h;
    let area = |x: [f32; 4]| (x[2] - x[0]) * (x[3] - x[1]);
    let union = area(a) + area(b) - inter;
    if union > 0.0 {
        inter / union
    } else {
        0.0
    }
}

/// Whether `detection` is removed (its latest event is a removal).
pub fn is_removed(s: &LocalState, detection: &str) -> bool {
    s.liveness.get(detection).is_some_and(|l| l.removed)
}

/// Record an event on a detection's liveness; whether it is now the latest
/// (by timestamp, then [`Liveness::event`]: one order everywhere, ties too).
pub fn record_liveness(s: &mut LocalState, detection: &str, event: Liveness) -> bool {
    match s.liveness.get(detection) {
        Some(l) if (l.hlc, &l.event) >= (event.hlc, &event.event) => false,
        _ => {
            s.liveness.insert(detection.to_string(), event);
            true
        }
    }
}

/// The pairs `(kept, other)` that the moved-twice rule settles for the
/// replacement `new`: every other replacement of the same box that
/// overlaps it, with the later addition kept.
pub fn moved_twice(s: &LocalState, new: &str) -> Vec<(String, String)> {
    moved_twice_among(s, new, s.replacements.keys())
}

/// [`moved_twice`] among `candidates` (replacements, any that replace the
/// same box as `new` among them).
fn moved_twice_among<'a>(
    s: &LocalState,
    new: &str,
    candidates: impl IntoIterator<Item = &'a String>,
) -> Vec<(String, String)> {
    let Some(r) = s.replacements.get(new) else {
        return Vec::new();
    };
    let mut out: Vec<(String, String)> = candidates
        .into_iter()
        .filter_map(|id| s.replacements.get(id).map(|o| (id, o)))
        .filter(|(id, o)| {
            id.as_str() != new && o.replaces == r.replaces && iou(o.bbox, r.bbox) >= SAME_ANIMAL_IOU
        })
        .map(|(id, o)| {
            if (o.hlc, id.as_str()) > (r.hlc, new) {
                (id.clone(), new.to_string())
            } else {
                (new.to_string(), id.clone())
            }
        })
        .collect();
    out.sort();
    out
}

/// The removal the moved-twice rule makes of `other` (as of `kept`'s addition).
pub fn moved_twice_removal(s: &LocalState, kept: &str) -> Liveness {
    let k = &s.replacements[kept];
    Liveness {
        hlc: k.hlc,
        event: kept.to_string(),
        removed: true,
        by: k.author.clone(),
    }
}

impl Batch {
    pub(super) fn photo_added(
        &mut self,
        op: &Op,
        photo: &str,
        sha256: &str,
    ) -> Result<Vec<Action>, String> {
        let id = op.id.clone();
        // A UUID here (or recognised as one here) names those bytes only.
        let here = self.resolve(photo);
        if let Some(held) = self.s.photos.get(&here).filter(|held| *held != sha256) {
            return Err(format!(
                "photo {photo} is already in this catalogue with other bytes (sha256 {held}, not {sha256})"
            ));
        }
        Ok(match self.photo_with(sha256) {
            Some(local) if local == photo => vec![Action::AlreadyApplied { op: id }],
            Some(local) => {
                self.s.aliases.insert(photo.to_string(), local.clone());
                vec![Action::SamePhoto {
                    op: id,
                    remote: photo.to_string(),
                    local,
                }]
            }
            None => {
                self.insert_photo(photo, sha256);
                vec![Action::AddPhoto {
                    op: id,
                    photo: photo.to_string(),
                }]
            }
        })
    }

    /// `key` names the photo here; `replaces`, the box here it replaces.
    pub(super) fn detection_added(
        &mut self,
        op: &Op,
        detection: &str,
        key: DetectionKey,
        replaces: Option<String>,
    ) -> Vec<Action> {
        let id = op.id.clone();
        // Here, or received before and recognised as a detection here.
        if self.s.detections.contains_key(detection) || self.s.aliases.contains_key(detection) {
            return vec![Action::AlreadyApplied { op: id }];
        }
        match self.same_detection(&key) {
            Some(local) if local == detection => vec![Action::AlreadyApplied { op: id }],
            Some(local) => {
                self.s.aliases.insert(detection.to_string(), local.clone());
                vec![Action::SameDetection {
                    op: id,
                    remote: detection.to_string(),
                    local,
                }]
            }
            None => {
                let (photo, bbox) = (key.photo.clone(), key.bbox);
                self.insert_detection(detection, key);
                let mut actions = vec![Action::AddDetection {
                    op: id,
                    detection: detection.to_string(),
                    photo,
                }];
                if let Some(replaces) = replaces {
                    let r = Replacement {
                        replaces,
                        hlc: op.hlc,
                        bbox,
                        author: op.author.clone(),
                    };
                    actions.extend(self.box_replaced(op, detection, r));
                }
                actions
            }
        }
    }

    /// Record that `new` replaces a box, and settle the moved-twice rule
    /// with the other replacements of that box.
    fn box_replaced(&mut self, op: &Op, new: &str, r: Replacement) -> Vec<Action> {
        let replaced = r.replaces.clone();
        self.insert_replacement(new, r);
        let candidates = self.replacing_the_same(new);
        let mut actions = Vec::new();
        for (kept, other) in moved_twice_among(&self.s, new, &candidates) {
            let removal = moved_twice_removal(&self.s, &kept);
            if record_liveness(&mut self.s, &other, removal.clone()) {
                actions.push(Action::RemoveDetection {
                    op: op.id.clone(),
                    detection: other.clone(),
                    by: removal.by,
                });
            }
            self.conflicts.push(Conflict::BoxMoves {
                replaced: replaced.clone(),
                kept,
                other,
            });
        }
        actions
    }

    pub(super) fn detection_removed(
        &mut self,
        op: &Op,
        detection: &str,
        replaced_by: Option<&str>,
    ) -> Result<Vec<Action>, String> {
        let detection = self.known_detection(detection)?;
        let event = Liveness {
            hlc: op.hlc,
            event: op.id.clone(),
            removed: true,
            by: op.author.clone(),
        };
        if !record_liveness(&mut self.s, &detection, event) {
            return Ok(vec![Action::StaleLiveness {
                op: op.id.clone(),
                detection,
            }]);
        }
        // A person's decision on the box, not carried to its replacement.
        if let Some(current) = self.current_decision(&detection) {
            let d = &self.s.decisions[&current];
            let carried = replaced_by
                .map(|r| self.resolve(r))
                .and_then(|r| self.current_decision(&r))
                .is_some_and(|c| self.s.decisions[&c].individual == d.individual);
            if d.verdict == Verdict::Confirmed && d.author != op.author && !carried {
                self.conflicts.push(Conflict::RemovedBox {
                    detection: detection.clone(),
                    decision: current,
                });
            }
        }
        Ok(vec![Action::RemoveDetection {
            op: op.id.clone(),
            detection,
            by: op.author.clone(),
        }])
    }

    pub(super) fn detection_restored(
        &mut self,
        op: &Op,
        detection: &str,
    ) -> Result<Vec<Action>, String> {
        let detection = self.known_detection(detection)?;
        let event = Liveness {
            hlc: op.hlc,
            event: op.id.clone(),
            removed: false,
            by: op.author.clone(),
        };
        let op = op.id.clone();
        Ok(if record_liveness(&mut self.s, &detection, event) {
            vec![Action::RestoreDetection { op, detection }]
        } else {
            vec![Action::StaleLiveness { op, detection }]
        })
    }

    pub(super) fn embedding_added(
        &mut self,
        op: &Op,
        detection: &str,
        pack_name: &str,
        pack_version: &str,
    ) -> Result<Vec<Action>, String> {
        let detection = self.known_detection(detection)?;
        let key = (
            detection.clone(),
            pack_name.to_string(),
            pack_version.to_string(),
        );
        let op = op.id.clone();
        Ok(if self.s.embeddings.insert(key) {
            vec![Action::AddEmbedding { op, detection }]
        } else {
            vec![Action::EmbeddingPresent { op, detection }]
        })
    }
}
