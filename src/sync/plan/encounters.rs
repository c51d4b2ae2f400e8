//! The rules for encounters: per encounter and per field, the latest
//! setting wins, and per photo its latest encounter (timestamp, then the
//! operation's UUID, as for attributes), whatever order they arrive in.
//! An encounter is made by the first operation naming it, so nothing
//! about one is refused for arriving before another.

use super::attributes::later_wins;
use super::batch::Batch;
use super::{Action, AttributeState, LocalState};
use crate::sync::ops::Op;

/// Take `set` as the setting of `field` of `encounter` if it is later than
/// the one in force; whether it was.
pub fn record_encounter_field(
    s: &mut LocalState,
    encounter: String,
    field: String,
    set: AttributeState,
) -> bool {
    later_wins(&mut s.encounter_fields, (encounter, field), set)
}

/// Take `set` (its value: the encounter) as `photo`'s encounter if it is
/// later than the one in force; whether it was.
pub fn record_photo_encounter(s: &mut LocalState, photo: String, set: AttributeState) -> bool {
    later_wins(&mut s.photo_encounters, photo, set)
}

fn setting(op: &Op, value: Option<&str>) -> AttributeState {
    AttributeState {
        hlc: op.hlc,
        op: op.id.clone(),
        value: value.map(str::to_string),
    }
}

impl Batch {
    pub(super) fn encounter_set(
        &mut self,
        op: &Op,
        encounter: &str,
        field: &str,
        value: Option<&str>,
    ) -> Result<Vec<Action>, String> {
        let set = setting(op, value);
        let newer =
            record_encounter_field(&mut self.s, encounter.to_string(), field.to_string(), set);
        Ok(vec![if newer {
            Action::SetEncounterField {
                op: op.id.clone(),
                encounter: encounter.to_string(),
                field: field.to_string(),
                value: value.map(str::to_string),
            }
        } else {
            Action::StaleEncounter {
                op: op.id.clone(),
                record: encounter.to_string(),
            }
        }])
    }

    pub(super) fn photo_encounter(
        &mut self,
        op: &Op,
        photo: &str,
        encounter: Option<&str>,
    ) -> Result<Vec<Action>, String> {
        let photo = self.known_photo(photo)?;
        let newer = record_photo_encounter(&mut self.s, photo.clone(), setting(op, encounter));
        Ok(vec![if newer {
            Action::SetPhotoEncounter {
                op: op.id.clone(),
                photo,
                encounter: encounter.map(str::to_string),
            }
        } else {
            Action::StaleEncounter {
                op: op.id.clone(),
                record: photo,
            }
        }])
    }
}
