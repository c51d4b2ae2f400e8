//! A plan in a few numbers, for a person deciding whether to sync now.
//!
//! The app's sync preview and any other front end show the same counts, so
//! which [`Action`] counts as what is decided here, once. Every action kind
//! is named in the match, so a new kind has to be placed (or left out on
//! purpose) before the engine builds.

use serde::Serialize;

use super::{Action, Plan};

/// How many of a plan's actions fall in each group a person cares about.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PlanSummary {
    /// New photos, detections, embeddings and individuals.
    pub additions: usize,
    /// Decisions stored or withdrawn.
    pub decisions: usize,
    /// Merges recorded or undone.
    pub merges: usize,
    /// Received records that are already here: operations applied before,
    /// the same photo or detection under another UUID, an embedding present.
    pub already_here: usize,
    /// Operations refused (a reference to a record that is not here...).
    pub refused: usize,
}

/// The group an action is counted in; `None` for the bookkeeping a person
/// does not weigh (renames, removals and restorations of boxes, stale
/// events recorded, the codes and merges settled at the end).
enum Group {
    Addition,
    Decision,
    Merge,
    AlreadyHere,
    Refused,
}

fn group(a: &Action) -> Option<Group> {
    match a {
        Action::AddPhoto { .. }
        | Action::AddDetection { .. }
        | Action::AddEmbedding { .. }
        | Action::CreateIndividual { .. } => Some(Group::Addition),
        Action::Decide { .. } | Action::Withdraw { .. } => Some(Group::Decision),
        Action::RecordMerge { .. } | Action::UndoMerge { .. } => Some(Group::Merge),
        Action::AlreadyApplied { .. }
        | Action::SamePhoto { .. }
        | Action::SameDetection { .. }
        | Action::EmbeddingPresent { .. } => Some(Group::AlreadyHere),
        Action::Refuse { .. } => Some(Group::Refused),
        Action::RemoveDetection { .. }
        | Action::RestoreDetection { .. }
        | Action::StaleLiveness { .. }
        | Action::SetAttribute { .. }
        | Action::StaleAttribute { .. }
        | Action::AddOpinion { .. }
        | Action::SwitchSecondReview { .. }
        | Action::SetEncounterField { .. }
        | Action::SetPhotoEncounter { .. }
        | Action::StaleEncounter { .. }
        | Action::Rename { .. }
        | Action::StaleRename { .. }
        | Action::ResolveMerges { .. }
        | Action::ResolveCodes { .. } => None,
    }
}

impl Plan {
    /// The plan's actions counted by [`PlanSummary`]'s groups.
    pub fn summary(&self) -> PlanSummary {
        let mut s = PlanSummary::default();
        for a in &self.actions {
            let slot = match group(a) {
                Some(Group::Addition) => &mut s.additions,
                Some(Group::Decision) => &mut s.decisions,
                Some(Group::Merge) => &mut s.merges,
                Some(Group::AlreadyHere) => &mut s.already_here,
                Some(Group::Refused) => &mut s.refused,
                None => continue,
            };
            *slot += 1;
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn op(n: u32) -> String {
        format!("op-{n}")
    }

    /// One or more of every action kind, with a different count per group
    /// so a kind counted in the wrong group shows.
    fn every_kind() -> Plan {
        let actions = vec![
            Action::AddPhoto {
                op: op(1),
                photo: "p1".into(),
            },
            Action::AddDetection {
                op: op(2),
                detection: "d1".into(),
                photo: "p1".into(),
            },
            Action::AddEmbedding {
                op: op(3),
                detection: "d1".into(),
            },
            Action::CreateIndividual {
                op: op(4),
                individual: "i1".into(),
            },
            Action::Decide {
                op: op(5),
                decision: "c1".into(),
                detection: "d1".into(),
                individual: "i1".into(),
                current: true,
            },
            Action::Withdraw {
                op: op(6),
                decision: "c1".into(),
                current: None,
            },
            Action::Decide {
                op: op(7),
                decision: "c2".into(),
                detection: "d1".into(),
                individual: "i1".into(),
                current: false,
            },
            Action::RecordMerge {
                op: op(8),
                event: "e1".into(),
                from: "i2".into(),
                into: "i1".into(),
            },
            Action::UndoMerge {
                op: op(9),
                event: "e1".into(),
            },
            Action::AlreadyApplied { op: op(10) },
            Action::SamePhoto {
                op: op(11),
                remote: "p9".into(),
                local: "p1".into(),
            },
            Action::SameDetection {
                op: op(12),
                remote: "d9".into(),
                local: "d1".into(),
            },
            Action::EmbeddingPresent {
                op: op(13),
                detection: "d1".into(),
            },
            Action::AlreadyApplied { op: op(14) },
            Action::Refuse {
                op: op(15),
                reason: "names a photo that is not here".into(),
            },
            Action::RemoveDetection {
                op: op(16),
                detection: "d1".into(),
                by: "ana".into(),
            },
            Action::RestoreDetection {
                op: op(17),
                detection: "d1".into(),
            },
            Action::StaleLiveness {
                op: op(18),
                detection: "d1".into(),
            },
            Action::Rename {
                op: op(19),
                individual: "i1".into(),
            },
            Action::StaleRename {
                op: op(20),
                individual: "i1".into(),
            },
            Action::ResolveMerges {
                merged_into: BTreeMap::from([("i2".to_string(), "i1".to_string())]),
            },
            Action::ResolveCodes {
                codes: BTreeMap::from([("i1".to_string(), "A-001".to_string())]),
            },
        ];
        Plan {
            actions,
            conflicts: Vec::new(),
        }
    }

    #[test]
    fn every_action_kind_is_counted_in_its_group_or_left_out() {
        assert_eq!(
            every_kind().summary(),
            PlanSummary {
                additions: 4,
                decisions: 3,
                merges: 2,
                already_here: 5,
                refused: 1,
            }
        );
    }

    #[test]
    fn an_empty_plan_counts_nothing() {
        assert_eq!(Plan::default().summary(), PlanSummary::default());
    }

    #[test]
    fn a_planned_batch_is_summarised_as_it_will_be_applied() {
        use crate::sync::hlc::Hlc;
        use crate::sync::ops::{Change, Op};
        let photo = |id: &str, uuid: &str, sha: &str, at: u64| Op {
            id: id.into(),
            hlc: Hlc {
                millis: at,
                counter: 0,
                node: 1,
            },
            author: "ana".into(),
            change: Change::PhotoAdded {
                photo: uuid.into(),
                sha256: sha.repeat(64),
                width: 10,
                height: 10,
                taken_at: None,
                latitude: None,
                longitude: None,
                thumb: None,
            },
        };
        const OP1: &str = "00000000-0000-4000-8000-000000000001";
        const P1: &str = "00000000-0000-4000-8000-0000000000a1";
        const P2: &str = "00000000-0000-4000-8000-0000000000a2";
        // A new photo, the same bytes again under another UUID, and the
        // first operation sent twice.
        let ops = [
            photo(OP1, P1, "a", 1000),
            photo("00000000-0000-4000-8000-000000000002", P2, "a", 1001),
            photo(OP1, P1, "a", 1000),
        ];
        let plan = super::super::plan(&super::super::LocalState::default(), &ops);
        assert_eq!(
            plan.summary(),
            PlanSummary {
                additions: 1,
                already_here: 2,
                ..PlanSummary::default()
            }
        );
    }
}
