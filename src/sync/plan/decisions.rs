//! The rules for decisions: every decision is kept, a detection's current
//! one is its latest not withdrawn, and different decisions by different
//! people, or a confirmed one on a box removed here, are reported.

use super::batch::{missing, Batch};
use super::{is_removed, Action, Conflict, DecisionState};
use crate::sync::ops::{Op, Verdict};

impl Batch {
    pub(super) fn decided(
        &mut self,
        op: &Op,
        decision: &str,
        detection: &str,
        individual: &str,
        verdict: Verdict,
    ) -> Result<Vec<Action>, String> {
        let detection = self.known_detection(detection)?;
        if !self.s.individuals.contains_key(individual) {
            return Err(missing("individual", individual));
        }
        if self.s.decisions.contains_key(decision) {
            return Ok(vec![Action::AlreadyApplied { op: op.id.clone() }]);
        }
        let before = self.current_decision(&detection);
        self.insert_decision(
            decision,
            DecisionState {
                hlc: op.hlc,
                detection: detection.clone(),
                individual: individual.to_string(),
                verdict,
                author: op.author.clone(),
                withdrawn: false,
            },
        );
        let after = self.current_decision(&detection);
        let current = after.as_deref() == Some(decision);
        if current && verdict == Verdict::Confirmed && is_removed(&self.s, &detection) {
            self.conflicts.push(Conflict::RemovedBox {
                detection: detection.clone(),
                decision: decision.to_string(),
            });
        }
        if let Some(other) = before {
            self.report_disagreement(&detection, decision, other, after, current);
        }
        Ok(vec![Action::Decide {
            op: op.id.clone(),
            decision: decision.to_string(),
            detection,
            individual: individual.to_string(),
            current,
        }])
    }

    /// `decision` arrived for `detection`, whose current decision was
    /// `other` and now is `after`: a conflict when another person decided
    /// otherwise.
    fn report_disagreement(
        &mut self,
        detection: &str,
        decision: &str,
        other: String,
        after: Option<String>,
        current: bool,
    ) {
        let (o, d) = (&self.s.decisions[&other], &self.s.decisions[decision]);
        if o.author != d.author && (o.individual != d.individual || o.verdict != d.verdict) {
            self.conflicts.push(Conflict::Decisions {
                detection: detection.to_string(),
                current: after.unwrap_or_default(),
                other: if current { other } else { decision.to_string() },
            });
        }
    }

    pub(super) fn decision_withdrawn(
        &mut self,
        op: &Op,
        decision: &str,
    ) -> Result<Vec<Action>, String> {
        let Some(d) = self.s.decisions.get_mut(decision) else {
            return Err(missing("decision", decision));
        };
        d.withdrawn = true;
        let detection = d.detection.clone();
        Ok(vec![Action::Withdraw {
            op: op.id.clone(),
            decision: decision.to_string(),
            current: self.current_decision(&detection),
        }])
    }
}
