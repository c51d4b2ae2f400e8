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
//! "always say new".
//!
//! # Weighing them as in the field
//!
//! Leave-one-out gives about as many "new" queries as known ones, as if half
//! of a survey's animals were new; in the field far fewer are (roughly 15–20%
//! of the Happywhale test set), and an even weighting pushes the threshold up
//! until most known animals are shown "new" first. [`calibrate_for_share`]
//! therefore weighs the two kinds to an expected share `s` of new
//! individuals: each "new" query weighs `s / n_new` and each known one
//! `(1 − s) / n_known`, so MAP@5 is the one a survey with that share would
//! score. The same weights apply within each species. At the chosen
//! threshold the calibration also reports what a reviewer will see: the share
//! of known animals shown "new" first, and the share of new animals caught.

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
    /// The expected share of new individuals the queries were weighed to
    /// (`None`: unweighted, every query counts once).
    #[serde(default)]
    pub new_share: Option<f64>,
    /// At `threshold`: the share of known-truth queries with `new_individual`
    /// first (known animals a reviewer would be told are new).
    #[serde(default)]
    pub known_shown_new: f64,
    /// At `threshold`: the share of new-truth queries with `new_individual`
    /// first (new animals caught).
    #[serde(default)]
    pub new_caught: f64,
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
    calibrate_for_share(queries, grid, min_individuals, policy, None)
}

/// [`calibrate`] with the "new" and known queries weighed to an expected
/// share `new_share` of new individuals (see the module docs); `None` counts
/// every query once. A share outside `[0, 1]` is clamped. Where the queries
/// (of a species) hold only one kind, that kind takes all the weight.
pub fn calibrate_for_share<K, S>(
    queries: &[CalibrationQuery<K, S>],
    grid: &[f32],
    min_individuals: usize,
    policy: NewIndividualPolicy,
    new_share: Option<f64>,
) -> Option<Calibration>
where
    K: Ord,
    S: AsRef<str>,
{
    let new_share = new_share.map(|s| if s.is_nan() { 0.0 } else { s.clamp(0.0, 1.0) });
    let mut grid: Vec<f32> = grid.iter().copied().filter(|t| t.is_finite()).collect();
    grid.sort_by(f32::total_cmp);
    grid.dedup();
    if grid.is_empty() || queries.is_empty() {
        return None;
    }
    let scorer = Scorer {
        queries,
        // Only the best five candidates can be shown, whatever the threshold.
        best: queries
            .iter()
            .map(|(ranked, ..)| best_five(ranked))
            .collect(),
        grid,
        policy,
        new_share,
    };
    let all: Vec<usize> = (0..queries.len()).collect();
    let overall = scorer.curve(&all);
    let pick = best_on_grid(&overall);
    Some(Calibration {
        policy,
        new_share,
        known_shown_new: scorer.new_first_share(true, pick),
        new_caught: scorer.new_first_share(false, pick),
        threshold: scorer.grid[pick],
        map_at_5: overall[pick],
        queries: queries.len(),
        curve: scorer
            .grid
            .iter()
            .zip(&overall)
            .map(|(&threshold, &map_at_5)| CurvePoint {
                threshold,
                map_at_5,
            })
            .collect(),
        per_species: scorer.per_species(min_individuals, pick),
    })
}

/// The queries with their best five, scored over a finite, sorted grid.
struct Scorer<'q, K, S> {
    queries: &'q [CalibrationQuery<K, S>],
    best: Vec<Vec<(&'q K, f32)>>,
    grid: Vec<f32>,
    policy: NewIndividualPolicy,
    new_share: Option<f64>,
}

impl<K: Ord, S: AsRef<str>> Scorer<'_, K, S> {
    /// MAP@5 over the queries `members` at each threshold: the plain mean,
    /// or with a share, the known and "new" means weighed (1 - s) and s.
    fn curve(&self, members: &[usize]) -> Vec<f64> {
        let new = members
            .iter()
            .filter(|&&q| self.queries[q].1.is_none())
            .count();
        let known = members.len() - new;
        self.grid
            .iter()
            .map(|&t| {
                let (mut sum_known, mut sum_new) = (0.0, 0.0);
                for &q in members {
                    let truth = self.queries[q].1.as_ref();
                    let placed = place_new(&self.best[q], t, self.policy);
                    let ap = average_precision_at_5(&placed, truth.as_ref());
                    if truth.is_some() {
                        sum_known += ap;
                    } else {
                        sum_new += ap;
                    }
                }
                match self.new_share {
                    Some(s) if new > 0 && known > 0 => {
                        (1.0 - s) * (sum_known / known as f64) + s * (sum_new / new as f64)
                    }
                    _ => (sum_known + sum_new) / members.len() as f64,
                }
            })
            .collect()
    }

    /// Each species' threshold: its own best when its known-truth queries
    /// name `min_individuals` individuals, else the overall one at `pick`.
    fn per_species(
        &self,
        min_individuals: usize,
        pick: usize,
    ) -> BTreeMap<String, SpeciesCalibration> {
        let mut species: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (q, (_, _, s)) in self.queries.iter().enumerate() {
            species.entry(s.as_ref()).or_default().push(q);
        }
        species
            .into_iter()
            .map(|(name, members)| {
                let individuals = members
                    .iter()
                    .filter_map(|&q| self.queries[q].1.as_ref())
                    .collect::<BTreeSet<_>>()
                    .len();
                let curve = self.curve(&members);
                let own_threshold = individuals >= min_individuals;
                let at = if own_threshold {
                    best_on_grid(&curve)
                } else {
                    pick
                };
                let calibration = SpeciesCalibration {
                    threshold: self.grid[at],
                    map_at_5: curve[at],
                    queries: members.len(),
                    individuals,
                    own_threshold,
                };
                (name.to_owned(), calibration)
            })
            .collect()
    }

    /// What the reviewer sees at the threshold `grid[at]`: the share of the
    /// known-truth (`known`) or new-truth queries with `new_individual` first.
    fn new_first_share(&self, known: bool, at: usize) -> f64 {
        let members: Vec<usize> = (0..self.queries.len())
            .filter(|&q| self.queries[q].1.is_some() == known)
            .collect();
        let first_new = members
            .iter()
            .filter(|&&q| {
                matches!(
                    place_new(&self.best[q], self.grid[at], self.policy).first(),
                    Some(crate::matching::Prediction::NewIndividual)
                )
            })
            .count();
        if members.is_empty() {
            0.0
        } else {
            first_new as f64 / members.len() as f64
        }
    }
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

    /// Three known animals and two new ones, worked by hand (Threshold
    /// policy; a known query scores AP 1 when its animal clears the threshold
    /// and 1/2 when `new` goes first; a new query 1 when `new` goes first and
    /// 1/2 when it is appended after its one candidate):
    ///
    /// | thr  | known mean | new mean | share 0.1 | share 0.5 |
    /// |------|------------|----------|-----------|-----------|
    /// | 0.55 | 1          | 3/4      | 0.975     | 0.875     |
    /// | 0.62 | 5/6        | 3/4      | 0.825     | 0.792     |
    /// | 0.68 | 5/6        | 1        | 0.85      | 0.917     |
    /// | 0.80 | 2/3        | 1        | 0.7       | 0.833     |
    fn survey() -> Vec<Query> {
        vec![
            (vec![("a", 0.9)], Some("a"), "orca"),
            (vec![("b", 0.7)], Some("b"), "orca"),
            (vec![("c", 0.6), ("a", 0.2)], Some("c"), "orca"),
            (vec![("a", 0.65)], None, "orca"),
            (vec![("b", 0.5)], None, "orca"),
        ]
    }

    #[test]
    fn queries_are_weighed_to_the_expected_share_of_new_individuals() {
        let grid = [0.55, 0.62, 0.68, 0.8];
        let few_new = calibrate_for_share(&survey(), &grid, 1, Threshold, Some(0.1)).unwrap();
        assert_eq!(few_new.threshold, 0.55);
        assert!((few_new.map_at_5 - 0.975).abs() < 1e-12);
        assert_eq!(few_new.new_share, Some(0.1));
        assert_eq!(few_new.known_shown_new, 0.0);
        assert_eq!(few_new.new_caught, 0.5);
        let expected = [0.975, 0.825, 0.85, 0.7];
        for (p, e) in few_new.curve.iter().zip(expected) {
            assert!((p.map_at_5 - e).abs() < 1e-12, "{p:?} vs {e}");
        }

        let half_new = calibrate_for_share(&survey(), &grid, 1, Threshold, Some(0.5)).unwrap();
        assert_eq!(half_new.threshold, 0.68);
        assert!((half_new.map_at_5 - (0.5 * 5.0 / 6.0 + 0.5)).abs() < 1e-12);
        assert!((half_new.known_shown_new - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(half_new.new_caught, 1.0);
        // The species' own threshold is weighed the same way.
        assert_eq!(half_new.per_species["orca"].threshold, 0.68);

        // Unweighted, every query counts once: 0.55 and 0.68 tie at 0.9,
        // and the first of the best values is taken.
        let plain = calibrate(&survey(), &grid, 1, Threshold).unwrap();
        assert_eq!(plain.new_share, None);
        assert_eq!(plain.threshold, 0.55);
        assert!((plain.curve[2].map_at_5 - 0.9).abs() < 1e-12);
    }

    #[test]
    fn a_share_with_only_one_kind_of_query_weighs_that_kind_alone() {
        let known_only: Vec<Query> = survey().into_iter().filter(|q| q.1.is_some()).collect();
        let c = calibrate_for_share(&known_only, &[0.55, 0.8], 1, Threshold, Some(0.9)).unwrap();
        assert_eq!(c.threshold, 0.55);
        assert!((c.map_at_5 - 1.0).abs() < 1e-12);
        assert_eq!(c.new_caught, 0.0);
    }

    #[test]
    fn nothing_to_calibrate_gives_none() {
        assert!(calibrate(&orcas(), &[], 1, Threshold).is_none());
        assert!(calibrate(&orcas(), &[f32::NAN], 1, Threshold).is_none());
        assert!(calibrate::<&str, &str>(&[], &[0.5], 1, Threshold).is_none());
    }
}
