//! The rules for individuals: creation and renames (each individual's
//! latest claim of a code; the codes shown follow from all claims), and
//! merge events and their undoing (the state follows from all events).

use super::batch::{missing, Batch};
use super::{Action, MergeEvent, Named};
use crate::sync::ops::Op;

impl Batch {
    pub(super) fn individual_created(
        &mut self,
        op: &Op,
        individual: &str,
        code: &str,
    ) -> Vec<Action> {
        let id = op.id.clone();
        if self.s.individuals.contains_key(individual) {
            return vec![Action::AlreadyApplied { op: id }];
        }
        self.s.individuals.insert(
            individual.to_string(),
            Named {
                code: code.to_string(),
                hlc: op.hlc,
                op: op.id.clone(),
            },
        );
        vec![Action::CreateIndividual {
            op: id,
            individual: individual.to_string(),
        }]
    }

    pub(super) fn individual_renamed(
        &mut self,
        op: &Op,
        individual: &str,
        code: &str,
    ) -> Result<Vec<Action>, String> {
        let Some(current) = self.s.individuals.get(individual) else {
            return Err(missing("individual", individual));
        };
        let (id, individual) = (op.id.clone(), individual.to_string());
        if (op.hlc, op.id.as_str()) <= (current.hlc, current.op.as_str()) {
            return Ok(vec![Action::StaleRename { op: id, individual }]);
        }
        self.s.individuals.insert(
            individual.clone(),
            Named {
                code: code.to_string(),
                hlc: op.hlc,
                op: op.id.clone(),
            },
        );
        Ok(vec![Action::Rename { op: id, individual }])
    }

    pub(super) fn individuals_merged(
        &mut self,
        op: &Op,
        event: &str,
        from: &str,
        into: &str,
    ) -> Result<Vec<Action>, String> {
        for who in [from, into] {
            if !self.s.individuals.contains_key(who) {
                return Err(missing("individual", who));
            }
        }
        let id = op.id.clone();
        if self.s.merges.contains_key(event) {
            return Ok(vec![Action::AlreadyApplied { op: id }]);
        }
        self.s.merges.insert(
            event.to_string(),
            MergeEvent {
                hlc: op.hlc,
                op: op.id.clone(),
                from: from.to_string(),
                into: into.to_string(),
                undone: false,
            },
        );
        Ok(vec![Action::RecordMerge {
            op: id,
            event: event.to_string(),
            from: from.to_string(),
            into: into.to_string(),
        }])
    }

    pub(super) fn merge_undone(&mut self, op: &Op, event: &str) -> Result<Vec<Action>, String> {
        let Some(m) = self.s.merges.get_mut(event) else {
            return Err(missing("merge", event));
        };
        m.undone = true;
        Ok(vec![Action::UndoMerge {
            op: op.id.clone(),
            event: event.to_string(),
        }])
    }
}
