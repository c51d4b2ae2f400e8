//! The five identities proposed for a crop, with `new_individual` placed by a
//! threshold.
//!
//! Happywhale scored five guesses per image, one of which could be
//! `new_individual`; the app shows the same list to the reviewer. Where
//! `new_individual` goes is the only decision here, and there are two ways of
//! making it ([`NewIndividualPolicy`]).

use serde::{Deserialize, Serialize};

use super::sort_ranked;

/// How many identities are proposed.
pub const TOP_K: usize = 5;

/// One proposed identity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Prediction<K> {
    /// A catalogued individual and its score.
    Individual { key: K, score: f32 },
    /// Someone not in the catalogue.
    NewIndividual,
}

/// Where `new_individual` goes in the list.
///
/// Both compare scores with the same threshold; they differ in which scores
/// they look at. Given candidates `a 0.9, b 0.8, c 0.3` and threshold 0.5:
///
/// * [`Threshold`](Self::Threshold): `[a, b, new, c]`;
/// * [`KaggleNotebook`](Self::KaggleNotebook): `[a, new, b, c]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NewIndividualPolicy {
    /// `new_individual` goes before the first candidate scoring below the
    /// threshold, so it ranks exactly where "nobody this close" starts; a
    /// score equal to the threshold stays above it. When every candidate
    /// clears the threshold it is left out, unless fewer than five
    /// candidates leave room for it at the end.
    #[default]
    Threshold,
    /// The post-processing of the widely copied Happywhale ArcFace notebooks.
    /// There, per image, the targets' confidences are sorted; if the top one
    /// is strictly greater than `thr` the list starts
    /// `[t1, 'new_individual', t2, ...]`, otherwise
    /// `['new_individual', t1, t2, ...]`. Only the top score is looked at, so
    /// `new_individual` is always first or second. The notebook then pads
    /// short lists with five fixed, frequent training-set ids; those are
    /// specific to that data set, so here a short list stays short.
    KaggleNotebook,
}

/// The five proposals under the default [`NewIndividualPolicy::Threshold`].
///
/// `ranked` holds one `(individual, score)` per candidate, as
/// [`rank_individuals`](super::rank_individuals) returns; it is sorted here
/// anyway (score descending, ties by key), a repeated key counts once at its
/// best score and NaN scores are dropped. Compared with that sorted list:
///
/// * `new_individual` is inserted before the first candidate whose score is
///   below `threshold`, and the candidate that then no longer fits drops off
///   the end: the list stays [`TOP_K`] long;
/// * if every candidate is at or above `threshold`, and there are at least
///   five, `new_individual` is not among them;
/// * with fewer than five candidates and no insertion, `new_individual` is
///   appended;
/// * an empty catalogue gives `[NewIndividual]`.
pub fn top5<K: Clone + Ord>(ranked: &[(K, f32)], threshold: f32) -> Vec<Prediction<K>> {
    top5_with(ranked, threshold, NewIndividualPolicy::Threshold)
}

/// [`top5`] with a chosen [`NewIndividualPolicy`].
pub fn top5_with<K: Clone + Ord>(
    ranked: &[(K, f32)],
    threshold: f32,
    policy: NewIndividualPolicy,
) -> Vec<Prediction<K>> {
    let mut five = five_with_new(ranked, threshold, policy);
    five.truncate(TOP_K);
    five
}

/// The five best candidates with `new_individual` placed among them, not
/// cut to five: up to six entries, whose first [`TOP_K`] are exactly
/// [`top5_with`]'s list. The review keeps all five catalogue candidates
/// (its keys 1–5) and shows where `new_individual` would rank.
pub fn five_with_new<K: Clone + Ord>(
    ranked: &[(K, f32)],
    threshold: f32,
    policy: NewIndividualPolicy,
) -> Vec<Prediction<K>> {
    place_new_uncut(&best_five(ranked), threshold, policy)
        .into_iter()
        .map(|p| match p {
            Prediction::Individual { key, score } => Prediction::Individual {
                key: key.clone(),
                score,
            },
            Prediction::NewIndividual => Prediction::NewIndividual,
        })
        .collect()
}

/// The best five distinct candidates, sorted. Only these can appear in the
/// list, whatever the threshold, which lets calibration sort once and try
/// many thresholds.
pub(crate) fn best_five<K: Ord>(ranked: &[(K, f32)]) -> Vec<(&K, f32)> {
    let mut sorted: Vec<(&K, f32)> = ranked
        .iter()
        .filter(|(_, s)| !s.is_nan())
        .map(|(k, s)| (k, *s))
        .collect();
    sort_ranked(&mut sorted);
    let mut best: Vec<(&K, f32)> = Vec::with_capacity(TOP_K);
    for (key, score) in sorted {
        if best.len() == TOP_K {
            break;
        }
        if !best.iter().any(|(k, _)| *k == key) {
            best.push((key, score));
        }
    }
    best
}

/// Places `new_individual` among `best` (sorted, distinct, at most five).
pub(crate) fn place_new<K: Copy>(
    best: &[(K, f32)],
    threshold: f32,
    policy: NewIndividualPolicy,
) -> Vec<Prediction<K>> {
    let mut out = place_new_uncut(best, threshold, policy);
    out.truncate(TOP_K);
    out
}

/// [`place_new`] before the list is cut to [`TOP_K`].
fn place_new_uncut<K: Copy>(
    best: &[(K, f32)],
    threshold: f32,
    policy: NewIndividualPolicy,
) -> Vec<Prediction<K>> {
    let individual = |&(key, score): &(K, f32)| Prediction::Individual { key, score };
    let mut out: Vec<Prediction<K>> = Vec::with_capacity(TOP_K + 1);
    match policy {
        NewIndividualPolicy::Threshold => {
            let cut = best.iter().position(|(_, s)| *s < threshold);
            let cut = cut.unwrap_or(best.len());
            out.extend(best[..cut].iter().map(individual));
            // Appended when nobody is below: truncation removes it again if
            // five candidates cleared the threshold.
            out.push(Prediction::NewIndividual);
            out.extend(best[cut..].iter().map(individual));
        }
        NewIndividualPolicy::KaggleNotebook => match best.split_first() {
            None => out.push(Prediction::NewIndividual),
            Some((top, rest)) => {
                if top.1 > threshold {
                    out.extend([individual(top), Prediction::NewIndividual]);
                } else {
                    out.extend([Prediction::NewIndividual, individual(top)]);
                }
                out.extend(rest.iter().map(individual));
            }
        },
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use NewIndividualPolicy::{KaggleNotebook, Threshold};

    /// The list as labels: keys, and "new" for `new_individual`.
    fn labels(preds: &[Prediction<&'static str>]) -> Vec<&'static str> {
        preds
            .iter()
            .map(|p| match p {
                Prediction::Individual { key, .. } => *key,
                Prediction::NewIndividual => "new",
            })
            .collect()
    }

    fn run(
        ranked: &[(&'static str, f32)],
        thr: f32,
        policy: NewIndividualPolicy,
    ) -> Vec<&'static str> {
        labels(&top5_with(ranked, thr, policy))
    }

    const SIX: [(&str, f32); 6] = [
        ("a", 0.9),
        ("b", 0.8),
        ("c", 0.7),
        ("d", 0.6),
        ("e", 0.5),
        ("f", 0.4),
    ];

    #[test]
    fn threshold_inserts_new_before_first_candidate_below() {
        assert_eq!(run(&SIX, 0.65, Threshold), ["a", "b", "c", "new", "d"]);
        assert_eq!(top5(&SIX, 0.65), top5_with(&SIX, 0.65, Threshold));
        // Scores travel with their keys.
        assert_eq!(
            top5(&SIX, 0.65)[4],
            Prediction::Individual {
                key: "d",
                score: 0.6
            }
        );
    }

    #[test]
    fn threshold_all_above_leaves_new_out() {
        assert_eq!(run(&SIX, 0.1, Threshold), ["a", "b", "c", "d", "e"]);
    }

    #[test]
    fn threshold_all_below_puts_new_first() {
        assert_eq!(run(&SIX, 0.95, Threshold), ["new", "a", "b", "c", "d"]);
    }

    #[test]
    fn threshold_score_equal_to_threshold_stays_above() {
        assert_eq!(run(&SIX, 0.8, Threshold), ["a", "b", "new", "c", "d"]);
    }

    #[test]
    fn threshold_fewer_than_five_all_above_appends_new() {
        let three = [("a", 0.9), ("b", 0.8), ("c", 0.7)];
        assert_eq!(run(&three, 0.5, Threshold), ["a", "b", "c", "new"]);
        assert_eq!(run(&three, 0.75, Threshold), ["a", "b", "new", "c"]);
    }

    #[test]
    fn empty_catalogue_gives_only_new() {
        assert_eq!(run(&[], 0.5, Threshold), ["new"]);
        assert_eq!(run(&[], 0.5, KaggleNotebook), ["new"]);
    }

    #[test]
    fn input_order_does_not_matter_and_ties_break_by_key() {
        let shuffled = [("c", 0.7), ("b", 0.7), ("z", 0.9), ("a", 0.7)];
        assert_eq!(run(&shuffled, 0.8, Threshold), ["z", "new", "a", "b", "c"]);
        let reversed: Vec<_> = shuffled.iter().rev().copied().collect();
        assert_eq!(run(&reversed, 0.8, Threshold), ["z", "new", "a", "b", "c"]);
    }

    #[test]
    fn repeated_key_counts_once_and_nan_is_dropped() {
        let ranked = [("a", 0.6), ("b", 0.5), ("a", 0.9), ("c", f32::NAN)];
        assert_eq!(run(&ranked, 0.0, Threshold), ["a", "b", "new"]);
        assert_eq!(
            top5(&ranked, 0.0)[0],
            Prediction::Individual {
                key: "a",
                score: 0.9
            }
        );
    }

    #[test]
    fn kaggle_top_above_puts_new_second_whatever_the_rest() {
        assert_eq!(run(&SIX, 0.65, KaggleNotebook), ["a", "new", "b", "c", "d"]);
        // All above: the notebook still inserts it.
        assert_eq!(run(&SIX, 0.1, KaggleNotebook), ["a", "new", "b", "c", "d"]);
    }

    #[test]
    fn kaggle_top_at_or_below_puts_new_first() {
        assert_eq!(run(&SIX, 0.95, KaggleNotebook), ["new", "a", "b", "c", "d"]);
        // Strictly greater than thr is needed to stay first.
        assert_eq!(run(&SIX, 0.9, KaggleNotebook), ["new", "a", "b", "c", "d"]);
    }

    #[test]
    fn kaggle_short_list_is_not_padded() {
        assert_eq!(run(&[("a", 0.9)], 0.5, KaggleNotebook), ["a", "new"]);
        let ties = [("b", 0.3), ("a", 0.3)];
        assert_eq!(run(&ties, 0.5, KaggleNotebook), ["new", "a", "b"]);
    }

    #[test]
    fn policies_serialize_in_snake_case() {
        let json = serde_json::to_string(&NewIndividualPolicy::KaggleNotebook).unwrap();
        assert_eq!(json, "\"kaggle_notebook\"");
        let pred: Prediction<String> = Prediction::NewIndividual;
        assert_eq!(
            serde_json::to_string(&pred).unwrap(),
            r#"{"kind":"new_individual"}"#
        );
        assert_eq!(NewIndividualPolicy::default(), Threshold);
    }

    #[test]
    fn five_with_new_keeps_all_five_candidates_and_starts_with_the_top5_list() {
        for policy in [Threshold, KaggleNotebook] {
            for thr in [0.0, 0.55, 0.65, 0.85, 0.95] {
                let all = five_with_new(&SIX, thr, policy);
                let individuals = all
                    .iter()
                    .filter(|p| matches!(p, Prediction::Individual { .. }))
                    .count();
                assert_eq!(individuals, 5, "{policy:?} at {thr}");
                assert!(
                    all.contains(&Prediction::NewIndividual),
                    "{policy:?} at {thr}"
                );
                assert_eq!(
                    all[..TOP_K],
                    top5_with(&SIX, thr, policy)[..],
                    "{policy:?} at {thr}"
                );
            }
        }
        // Where every candidate clears the threshold, "new" comes sixth.
        assert_eq!(
            labels(&five_with_new(&SIX, 0.0, Threshold)),
            ["a", "b", "c", "d", "e", "new"]
        );
    }
}
