//! Choosing the `new_individual` threshold from the catalogue's own
//! confirmed identifications.
//!
//! The threshold trades finding new individuals against missing known ones,
//! and the best value depends on the pack and the population, so it is
//! measured rather than guessed: MAP@5 is computed for each threshold of a
//! grid over queries whose answer is known, and the best one is kept, overall
//! and for each species with enough individuals to trust its own value.
//!
//! # Building the queries (leave one individual out)
//!
//! The caller builds the queries from confirmed detections. For each one:
//!
//! 1. if its individual has other photos, search the gallery without this
//!    photo, and rank individuals
//!    ([`rank_individuals`](crate::matching::rank_individuals)); the truth
//!    is the individual;
//! 2. search the gallery without any photo of its individual; the truth is
//!    `None` (new), since as far as that search knows, the whale is new.
//!
//! Each query is `(ranked individuals, truth, species)`. Both kinds matter:
//! with only (1) the best threshold is "never say new", with only (2) it is
//! "always say new". To weigh them as in the field, the caller may subsample
//! (2) to the expected share of new individuals.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::metrics::average_precision_at_5;
use crate::matching::{best_five, place_new, NewIndividualPolicy};

/// `(individuals ranked by score, truth, species)`; truth `None` is new.
pub type CalibrationQuery<K, S> = (Vec<(K, f32)>, Option<K>, S);

/// MAP@5 at one threshold.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    pub threshold: f32,
    pub map_at_5: f64,
}

/// A species' threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpeciesCalibration {
    pub threshold: f32,
    /// The species' MAP@5 at `threshold`.
    pub map_at_5: f64,
    pub queries: usize,
    /// Distinct individuals among the species' known-truth queries.
    pub individuals: usize,
    /// False when the species has too few individuals and uses the overall
    /// threshold.
    pub own_threshold: bool,
}

/// The outcome of [`calibrate`]; serializable so it can be stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    pub policy: NewIndividualPolicy,
    pub threshold: f32,
    pub map_at_5: f64,
    pub queries: usize,
    /// MAP@5 over all queries for each grid threshold, ascending.
    pub curve: Vec<CurvePoint>,
    pub per_species: BTreeMap<String, SpeciesCalibration>,
}

impl Calibration {
    /// The threshold to use for a species: its own, else the overall one.
    pub fn threshold_for(&self, species: &str) -> f32 {
        self.per_species
            .get(species)
            .map_or(self.threshold, |s| s.threshold)
    }
}

/// Finds the threshold with the best MAP@5 over `queries`, trying each value
/// of `grid`, with `policy` placing `new_individual`.
///
/// `queries` are `(individuals ranked by score, truth, species)`, truth
/// `None` for new (see the module docs for how to build them). A species
/// gets its own threshold when its known-truth queries name at least
/// `min_individuals` distinct individuals; otherwise it falls back to the
/// overall one.
///
/// MAP@5 is a step function of the threshold, so several grid values often
/// tie for best; the middle of the first run of best values is taken, the
/// value farthest from the steps on either side. Returns `None` when there
/// are no queries or no finite grid value.
pub fn calibrate<K, S>(
    queries: &[CalibrationQuery<K, S>],
    grid: &[f32],
    min_individuals: usize,
    policy: NewIndividualPolicy,
) -> Option<Calibration>
where
    K: Ord,
    S: AsRef<str>,
{
    let mut grid: Vec<f32> = grid.iter().copied().filter(|t| t.is_finite()).collect();
    grid.sort_by(f32::total_cmp);
    grid.dedup();
    if grid.is_empty() || queries.is_empty() {
        return None;
    }
    // Only the best five candidates can be shown, whatever the threshold.
    let best: Vec<_> = queries
        .iter()
        .map(|(ranked, ..)| best_five(ranked))
        .collect();
    let curve_over = |members: &[usize]| -> Vec<f64> {
        grid.iter()
            .map(|&t| {
                let sum: f64 = members
                    .iter()
                    .map(|&q| {
                        average_precision_at_5(
                            &place_new(&best[q], t, policy),
                            queries[q].1.as_ref().as_ref(),
                        )
                    })
                    .sum();
                sum / members.len() as f64
            })
            .collect()
    };

    let all: Vec<usize> = (0..queries.len()).collect();
    let overall = curve_over(&all);
    let pick = best_on_grid(&overall);

    let mut species: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (q, (_, _, s)) in queries.iter().enumerate() {
        species.entry(s.as_ref()).or_default().push(q);
    }
    let per_species = species
        .into_iter()
        .map(|(name, members)| {
            let individuals = members
                .iter()
                .filter_map(|&q| queries[q].1.as_ref())
                .collect::<BTreeSet<_>>()
                .len();
            let curve = curve_over(&members);
            let own_threshold = individuals >= min_individuals;
            let at = if own_threshold {
                best_on_grid(&curve)
            } else {
                pick
            };
            let calibration = SpeciesCalibration {
                threshold: grid[at],
                map_at_5: curve[at],
                queries: members.len(),
                individuals,
                own_threshold,
            };
            (name.to_owned(), calibration)
        })
        .collect();

    Some(Calibration {
        policy,
        threshold: grid[pick],
        map_at_5: overall[pick],
        queries: queries.len(),
        curve: grid
            .iter()
            .zip(&overall)
            .map(|(&threshold, &map_at_5)| CurvePoint {
                threshold,
                map_at_5,
            })
            .collect(),
        per_species,
    })
}

/// Index of the middle of the first run of maximal values.
fn best_on_grid(curve: &[f64]) -> usize {
    // Sums of the same per-query terms can differ in the last bits.
    const TIE: f64 = 1e-9;
    let max = curve.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let start = curve.iter().position(|&v| v >= max - TIE).unwrap_or(0);
    let len = curve[start..]
        .iter()
        .take_while(|&&v| v >= max - TIE)
        .count();
    start + (len.max(1) - 1) / 2
}

#[cfg(test)]
mod tests {
    use super::*;
    use NewIndividualPolicy::{KaggleNotebook, Threshold};

    type Query = CalibrationQuery<&'static str, &'static str>;

    /// Three queries worked by hand (Threshold policy):
    ///
    /// | thr  | q1 (a)        | q2 (new)      | q3 (b)        | MAP@5 |
    /// |------|---------------|---------------|---------------|-------|
    /// | 0.35 | a b new: 1    | a new b: 1/2  | b new a: 1    | 5/6   |
    /// | 0.45 | a b new: 1    | new a b: 1    | b new a: 1    | 1     |
    /// | 0.80 | a new b: 1    | new a b: 1    | new b a: 1/2  | 5/6   |
    /// | 0.95 | new a b: 1/2  | new a b: 1    | new b a: 1/2  | 2/3   |
    fn orcas() -> Vec<Query> {
        vec![
            (vec![("a", 0.9), ("b", 0.5)], Some("a"), "orca"),
            (vec![("a", 0.4), ("b", 0.3)], None, "orca"),
            (vec![("b", 0.7), ("a", 0.2)], Some("b"), "orca"),
        ]
    }

    #[test]
    fn best_threshold_by_hand() {
        let c = calibrate(&orcas(), &[0.95, 0.35, 0.8, 0.45], 1, Threshold).unwrap();
        assert_eq!(c.threshold, 0.45);
        assert!((c.map_at_5 - 1.0).abs() < 1e-12);
        let curve: Vec<(f32, f64)> = c.curve.iter().map(|p| (p.threshold, p.map_at_5)).collect();
        let expected = [
            (0.35, 5.0 / 6.0),
            (0.45, 1.0),
            (0.8, 5.0 / 6.0),
            (0.95, 2.0 / 3.0),
        ];
        for ((t, m), (et, em)) in curve.iter().zip(expected) {
            assert_eq!(*t, et);
            assert!((m - em).abs() < 1e-12, "{t}: {m} vs {em}");
        }
        assert_eq!(c.queries, 3);
    }

    #[test]
    fn a_plateau_of_best_values_gives_its_middle() {
        // 0.45, 0.5, 0.6 and 0.65 all score 1 on the table's queries.
        let grid = [0.35, 0.45, 0.5, 0.6, 0.65, 0.8];
        let c = calibrate(&orcas(), &grid, 1, Threshold).unwrap();
        assert_eq!(c.threshold, 0.5);
    }

    #[test]
    fn kaggle_policy_is_calibrated_with_its_own_placement() {
        // q1: a>thr for thr<0.9; q2: truth new, first if 0.4<=thr; q3: b>thr
        // for thr<0.7. At 0.5: a new b (1) | new a b (1) | b new a (1).
        // At 0.3: a new b (1) | a new b (1/2) | b new a (1).
        let c = calibrate(&orcas(), &[0.3, 0.5, 0.75], 1, KaggleNotebook).unwrap();
        assert_eq!(c.threshold, 0.5);
        assert_eq!(c.policy, KaggleNotebook);
        assert!((c.curve[0].map_at_5 - 2.5 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn species_with_few_individuals_fall_back_to_the_overall_threshold() {
        let mut queries = orcas();
        // Belugas would take 0.35 but have only one known individual;
        // humpbacks want 0.87 and have two. Overall sums: 0.35: 7,
        // 0.45: 7.5, 0.8: 6.5, 0.87: 6.5, 0.95: 5.
        queries.push((vec![("c", 0.85)], Some("c"), "beluga"));
        queries.push((vec![("c", 0.6)], Some("c"), "beluga"));
        queries.push((vec![("h", 0.85)], None, "humpback"));
        queries.push((vec![("h", 0.9)], Some("h"), "humpback"));
        queries.push((vec![("g", 0.88)], Some("g"), "humpback"));
        let grid = [0.35, 0.45, 0.8, 0.87, 0.95];
        let c = calibrate(&queries, &grid, 2, Threshold).unwrap();

        assert_eq!(c.threshold, 0.45);
        let orca = &c.per_species["orca"];
        assert!(orca.own_threshold && orca.threshold == 0.45 && orca.individuals == 2);
        let humpback = &c.per_species["humpback"];
        // 0.87: h new (1 for the 0.9 query), new h (1), g new (1).
        assert!(
            humpback.own_threshold && humpback.threshold == 0.87,
            "{humpback:?}"
        );
        let beluga = &c.per_species["beluga"];
        assert!(!beluga.own_threshold && beluga.individuals == 1);
        assert_eq!(beluga.threshold, c.threshold);
        assert_eq!(c.threshold_for("beluga"), c.threshold);
        assert_eq!(c.threshold_for("humpback"), 0.87);
        assert_eq!(c.threshold_for("narwhal"), c.threshold);
        assert_eq!(beluga.queries, 2);
        assert_eq!(beluga.map_at_5, 1.0);
    }

    #[test]
    fn nothing_to_calibrate_gives_none() {
        assert!(calibrate(&orcas(), &[], 1, Threshold).is_none());
        assert!(calibrate(&orcas(), &[f32::NAN], 1, Threshold).is_none());
        assert!(calibrate::<&str, &str>(&[], &[0.5], 1, Threshold).is_none());
    }
}
