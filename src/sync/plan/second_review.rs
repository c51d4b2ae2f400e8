//! The rule for the second reviewer's opinions
//! (`crate::catalogue::second_review`): they are events, so every one is
//! kept, whatever order they arrive in; what they amount to (a detection
//! waiting for a second opinion, agreed, in disagreement, resolved) is
//! derived from all of them where they are read, never stored. A later
//! round must name a first opinion on the same detection, held here or
//! earlier in the batch (it always is: the second reviewer answered it).

use super::batch::{missing, Batch};
use super::Action;
use crate::sync::ops::Op;

/// An opinion as the planner knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct OpinionState {
    pub round: u8,
    pub detection: String,
}

impl Batch {
    /// A switching is stored once: another operation carrying one held
    /// already does nothing.
    pub(super) fn second_review_switched(&mut self, op: &Op, switch: &str) -> Vec<Action> {
        let op = op.id.clone();
        if self.s.switches.insert(switch.to_string()) {
            vec![Action::SwitchSecondReview { op }]
        } else {
            vec![Action::AlreadyApplied { op }]
        }
    }

    pub(super) fn opinion_given(
        &mut self,
        op: &Op,
        opinion: &str,
        case: &str,
        detection: &str,
        round: u8,
        individual: Option<&str>,
    ) -> Result<Vec<Action>, String> {
        let detection = self.known_detection(detection)?;
        if let Some(i) = individual.filter(|i| !self.s.individuals.contains_key(*i)) {
            return Err(missing("individual", i));
        }
        if self.s.opinions.contains_key(opinion) {
            return Ok(vec![Action::AlreadyApplied { op: op.id.clone() }]);
        }
        if round != 1 {
            match self.s.opinions.get(case) {
                Some(first) if first.round == 1 && first.detection == detection => {}
                Some(_) => {
                    return Err(format!(
                        "opinion {case} is not a first opinion on detection {detection}"
                    ))
                }
                None => return Err(missing("first opinion", case)),
            }
        }
        self.s.opinions.insert(
            opinion.to_string(),
            OpinionState {
                round,
                detection: detection.clone(),
            },
        );
        Ok(vec![Action::AddOpinion {
            op: op.id.clone(),
            opinion: opinion.to_string(),
            detection,
        }])
    }
}

#[cfg(test)]
mod tests {
    use super::super::{plan, simulate, DetectionKey, LocalState, Named};
    use super::*;
    use crate::sync::hlc::Clock;
    use crate::sync::ops::Change;

    const DETECTION: &str = "01a22700-0000-7000-8000-0000000000d1";
    const OTHER: &str = "01a22700-0000-7000-8000-0000000000d2";
    const W1: &str = "01a22700-0000-7000-8000-0000000000a1";
    const FIRST: &str = "01a22700-0000-7000-8000-000000000101";
    const SECOND: &str = "01a22700-0000-7000-8000-000000000102";

    /// A catalogue holding two detections and individual W1.
    fn local() -> LocalState {
        let mut s = LocalState::default();
        for d in [DETECTION, OTHER] {
            s.detections.insert(
                d.into(),
                DetectionKey {
                    photo: "01a22700-0000-7000-8000-0000000000f1".into(),
                    bbox: [0.0, 0.0, 5.0, 5.0],
                    class: "fin".into(),
                    drawn: d == OTHER,
                },
            );
        }
        s.individuals.insert(
            W1.into(),
            Named {
                code: "W1".into(),
                hlc: Clock::new(9, None).tick(1),
                op: "01a22700-0000-7000-8000-0000000000b1".into(),
            },
        );
        s
    }

    fn opinion(n: u64, opinion: &str, case: &str, detection: &str, round: u8) -> Op {
        Op {
            id: format!("01a22700-0000-7000-8000-{:012x}", 0x900 + n),
            hlc: Clock::new(1, None).tick(1_000 * n),
            author: if round == 2 { "ben" } else { "ana" }.into(),
            change: Change::OpinionGiven {
                opinion: opinion.into(),
                case: case.into(),
                detection: detection.into(),
                round,
                choice: "individual".into(),
                individual: Some(W1.into()),
            },
        }
    }

    #[test]
    fn opinions_are_all_kept_in_either_order_of_arrival_within_a_batch() {
        let first = opinion(1, FIRST, FIRST, DETECTION, 1);
        let second = opinion(2, SECOND, FIRST, DETECTION, 2);
        for batch in [
            vec![first.clone(), second.clone()],
            vec![second.clone(), first.clone()],
        ] {
            let (p, after) = simulate(&local(), &batch);
            let added: Vec<&Action> = p
                .actions
                .iter()
                .filter(|a| matches!(a, Action::AddOpinion { .. }))
                .collect();
            assert_eq!(added.len(), 2, "{p:?}");
            assert_eq!(after.opinions.len(), 2);
            assert_eq!(after.opinions[SECOND].round, 2);
        }
        // Received again: nothing to do.
        let (_, after) = simulate(&local(), &[first.clone(), second.clone()]);
        let again = plan(&after, &[first, second]);
        assert!(again
            .actions
            .iter()
            .all(|a| matches!(a, Action::AlreadyApplied { .. })));
    }

    #[test]
    fn a_later_round_without_its_first_opinion_on_that_detection_is_refused() {
        let reason = |ops: &[Op]| -> Vec<String> {
            plan(&local(), ops)
                .actions
                .into_iter()
                .filter_map(|a| match a {
                    Action::Refuse { reason, .. } => Some(reason),
                    _ => None,
                })
                .collect()
        };
        let orphan = opinion(2, SECOND, FIRST, DETECTION, 2);
        assert!(reason(&[orphan])[0].contains(&format!("first opinion {FIRST}")));
        // A second opinion naming a case on another detection.
        let first = opinion(1, FIRST, FIRST, OTHER, 1);
        let wrong = opinion(2, SECOND, FIRST, DETECTION, 2);
        assert!(reason(&[first, wrong])[0].contains("is not a first opinion on detection"));
        // A first opinion on a detection or individual not held.
        let mut missing = opinion(1, FIRST, FIRST, DETECTION, 1);
        if let Change::OpinionGiven { individual, .. } = &mut missing.change {
            *individual = Some("01a22700-0000-7000-8000-0000000000a9".into());
        }
        assert!(reason(&[missing])[0].contains("individual"));
        // A round-2 claiming to be its own case fails validation.
        let own = opinion(2, SECOND, SECOND, DETECTION, 2);
        assert!(reason(&[own])[0].contains("its own case"));
    }

    #[test]
    fn a_switching_is_stored_as_an_event_and_a_bad_one_refused() {
        let switch = |id: &str| Op {
            id: "01a22700-0000-7000-8000-000000000950".into(),
            hlc: Clock::new(1, None).tick(5_000),
            author: "ana".into(),
            change: Change::SecondReviewSwitched {
                switch: id.into(),
                required: true,
            },
        };
        let ok = plan(&local(), &[switch(FIRST)]);
        assert!(matches!(
            ok.actions[..],
            [Action::SwitchSecondReview { .. }]
        ));
        // The same switching under another operation: stored once.
        let mut again = switch(FIRST);
        again.id = "01a22700-0000-7000-8000-000000000951".into();
        let twice = plan(&local(), &[switch(FIRST), again]);
        assert!(matches!(
            twice.actions[..],
            [
                Action::SwitchSecondReview { .. },
                Action::AlreadyApplied { .. }
            ]
        ));
        let bad = plan(&local(), &[switch("on")]);
        assert!(
            matches!(&bad.actions[..], [Action::Refuse { reason, .. }] if reason.contains("switch `on` is not a UUID")),
            "{bad:?}"
        );
    }
}
