//! The rule for photo-ID attributes of detections: per detection and per
//! attribute, the latest setting wins (timestamp, then the operation's
//! UUID, the planner's total order), whatever order they arrive in.

use super::batch::Batch;
use super::{Action, AttributeState, LocalState};
use crate::sync::ops::Op;

/// Take `set` as the setting of `attribute` of `detection` if it is later
/// than the one in force; whether it was.
pub fn record_attribute(
    s: &mut LocalState,
    detection: String,
    attribute: String,
    set: AttributeState,
) -> bool {
    later_wins(&mut s.attributes, (detection, attribute), set)
}

/// Take `set` as the setting of `key` in `settings` if it is later than
/// the one in force (timestamp, then operation UUID); whether it was. The
/// rule of every latest-wins value: attributes, encounter fields, a
/// photo's encounter.
pub fn later_wins<K: std::hash::Hash + Eq>(
    settings: &mut std::collections::HashMap<K, AttributeState>,
    key: K,
    set: AttributeState,
) -> bool {
    let newer = settings
        .get(&key)
        .is_none_or(|now| (now.hlc, now.op.as_str()) < (set.hlc, set.op.as_str()));
    if newer {
        settings.insert(key, set);
    }
    newer
}

impl Batch {
    pub(super) fn attribute_set(
        &mut self,
        op: &Op,
        detection: &str,
        attribute: &str,
        value: Option<&str>,
    ) -> Result<Vec<Action>, String> {
        let detection = self.known_detection(detection)?;
        let set = AttributeState {
            hlc: op.hlc,
            op: op.id.clone(),
            value: value.map(str::to_string),
        };
        let id = op.id.clone();
        Ok(
            if record_attribute(&mut self.s, detection.clone(), attribute.to_string(), set) {
                vec![Action::SetAttribute {
                    op: id,
                    detection,
                    attribute: attribute.to_string(),
                    value: value.map(str::to_string),
                }]
            } else {
                vec![Action::StaleAttribute { op: id, detection }]
            },
        )
    }
}
