//! An evaluation run summarised: overall, per species, and how well
//! `new_individual` is recognised.
//!
//! The report is what a training run or a pack comparison prints and saves as
//! JSON; it is built from one [`Outcome`] per query image.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::metrics::{average_precision_at_5, is_correct, rank_of_truth};
use crate::matching::Prediction;

/// One query image: what was proposed and who it really is.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome<K, S> {
    pub predictions: Vec<Prediction<K>>,
    /// `None` when the individual is not in the gallery (`new_individual`).
    pub truth: Option<K>,
    pub species: S,
}

/// MAP@5 and accuracies over a set of images.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub count: usize,
    pub map_at_5: f64,
    pub top1: f64,
    pub top5: f64,
}

/// `new_individual` at rank 1 against a truth of new.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NewIndividualStats {
    /// Images with `new_individual` proposed first.
    pub predicted: usize,
    /// Images whose individual is new.
    pub actual: usize,
    /// Both.
    pub correct: usize,
    /// `correct / predicted`; `None` when nothing was predicted new.
    pub precision: Option<f64>,
    /// `correct / actual`; `None` when no image was new.
    pub recall: Option<f64>,
}

/// The whole evaluation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub overall: Metrics,
    pub per_species: BTreeMap<String, Metrics>,
    pub new_individual: NewIndividualStats,
}

/// Sums kept while walking the outcomes.
#[derive(Default)]
struct Tally {
    count: usize,
    ap: f64,
    top1: usize,
    top5: usize,
}

impl Tally {
    fn add<K: PartialEq>(&mut self, outcome: &[Prediction<K>], truth: Option<&K>) {
        self.count += 1;
        self.ap += average_precision_at_5(outcome, truth);
        match rank_of_truth(outcome, truth) {
            Some(1) => (self.top1, self.top5) = (self.top1 + 1, self.top5 + 1),
            Some(_) => self.top5 += 1,
            None => {}
        }
    }

    fn metrics(&self) -> Metrics {
        let share = |n: f64| {
            if self.count == 0 {
                0.0
            } else {
                n / self.count as f64
            }
        };
        Metrics {
            count: self.count,
            map_at_5: share(self.ap),
            top1: share(self.top1 as f64),
            top5: share(self.top5 as f64),
        }
    }
}

/// Builds the [`Report`] for a set of query images.
pub fn evaluate<K: PartialEq, S: AsRef<str>>(outcomes: &[Outcome<K, S>]) -> Report {
    let mut overall = Tally::default();
    let mut species: BTreeMap<&str, Tally> = BTreeMap::new();
    let mut new = NewIndividualStats::default();
    for outcome in outcomes {
        let truth = outcome.truth.as_ref();
        overall.add(&outcome.predictions, truth);
        species
            .entry(outcome.species.as_ref())
            .or_default()
            .add(&outcome.predictions, truth);
        let predicted_new = outcome
            .predictions
            .first()
            .is_some_and(|p| is_correct(p, None));
        new.predicted += usize::from(predicted_new);
        new.actual += usize::from(truth.is_none());
        new.correct += usize::from(predicted_new && truth.is_none());
    }
    let ratio = |n: usize, d: usize| (d > 0).then(|| n as f64 / d as f64);
    new.precision = ratio(new.correct, new.predicted);
    new.recall = ratio(new.correct, new.actual);
    Report {
        overall: overall.metrics(),
        per_species: species
            .into_iter()
            .map(|(s, t)| (s.to_owned(), t.metrics()))
            .collect(),
        new_individual: new,
    }
}

impl fmt::Display for Report {
    /// A table: one row for all images, then one per species.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self
            .per_species
            .keys()
            .map(|s| s.chars().count() + 2)
            .chain([7])
            .max()
            .unwrap_or(7);
        writeln!(
            f,
            "{:<width$} {:>7} {:>6} {:>6} {:>6}",
            "species", "images", "MAP@5", "top-1", "top-5"
        )?;
        let row = |f: &mut fmt::Formatter<'_>, name: &str, m: &Metrics| {
            writeln!(
                f,
                "{name:<width$} {:>7} {:>6.3} {:>6.3} {:>6.3}",
                m.count, m.map_at_5, m.top1, m.top5
            )
        };
        row(f, "all", &self.overall)?;
        for (species, m) in &self.per_species {
            row(f, &format!("  {species}"), m)?;
        }
        let n = &self.new_individual;
        let pct = |v: Option<f64>| v.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.3}"));
        write!(
            f,
            "new_individual at rank 1: precision {} ({}/{}), recall {} ({}/{})",
            pct(n.precision),
            n.correct,
            n.predicted,
            pct(n.recall),
            n.correct,
            n.actual
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::metrics::tests::preds;
    use super::*;

    fn outcome(
        labels: &[&'static str],
        truth: Option<&'static str>,
        species: &'static str,
    ) -> Outcome<&'static str, &'static str> {
        Outcome {
            predictions: preds(labels),
            truth,
            species,
        }
    }

    fn sample() -> Vec<Outcome<&'static str, &'static str>> {
        vec![
            outcome(&["a", "new_individual"], Some("a"), "orca"), // 1, top-1
            outcome(&["new_individual", "b"], Some("b"), "orca"), // 1/2, predicted new wrongly
            outcome(&["new_individual", "a"], None, "beluga"),    // 1, new found
            outcome(&["c", "d", "new_individual"], None, "beluga"), // 1/3, new missed
            outcome(&["c", "d"], Some("e"), "beluga"),            // 0
        ]
    }

    #[test]
    fn overall_and_per_species_by_hand() {
        let report = evaluate(&sample());
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        assert_eq!(report.overall.count, 5);
        assert!(close(
            report.overall.map_at_5,
            (1.0 + 0.5 + 1.0 + 1.0 / 3.0) / 5.0
        ));
        assert!(close(report.overall.top1, 2.0 / 5.0));
        assert!(close(report.overall.top5, 4.0 / 5.0));

        let orca = &report.per_species["orca"];
        assert_eq!(orca.count, 2);
        assert!(close(orca.map_at_5, 0.75));
        assert!(close(orca.top1, 0.5));
        assert!(close(orca.top5, 1.0));
        let beluga = &report.per_species["beluga"];
        assert_eq!(beluga.count, 3);
        assert!(close(beluga.map_at_5, (1.0 + 1.0 / 3.0) / 3.0));
        assert!(close(beluga.top1, 1.0 / 3.0));
        assert!(close(beluga.top5, 2.0 / 3.0));
    }

    #[test]
    fn new_individual_precision_and_recall_at_rank_one() {
        let new = evaluate(&sample()).new_individual;
        assert_eq!((new.predicted, new.actual, new.correct), (2, 2, 1));
        assert_eq!(new.precision, Some(0.5));
        assert_eq!(new.recall, Some(0.5));

        let none_new = evaluate(&[outcome(&["a"], Some("a"), "orca")]).new_individual;
        assert_eq!((none_new.precision, none_new.recall), (None, None));
    }

    #[test]
    fn table_and_json() {
        let report = evaluate(&sample());
        let table = report.to_string();
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 5, "{table}");
        assert!(
            lines[1].starts_with("all") && lines[1].contains("0.567"),
            "{table}"
        );
        assert!(lines[2].starts_with("  beluga"), "{table}");
        assert!(
            lines[4].contains("precision 0.500 (1/2), recall 0.500 (1/2)"),
            "{table}"
        );

        let json: serde_json::Value = serde_json::to_value(&report).unwrap();
        assert_eq!(json["per_species"]["orca"]["count"], 2);
        assert_eq!(json["new_individual"]["precision"], 0.5);
        assert!(evaluate::<&str, &str>(&[]).to_string().contains("n/a"));
    }
}
