//! One score per individual from the photo-level kNN hits and the head.
//!
//! Pure kNN favours individuals with many catalogue photos: more photos, more
//! chances that one of them lands close to the query. Taking each
//! individual's best neighbour (not a sum or a count) limits that, and
//! blending in the cosine to the individual's ArcFace class centre, which has
//! one vote per individual whatever its photo count, counters it further (the
//! 1st-place Happywhale solution mixed kNN and head scores the same way).

use std::collections::HashMap;
use std::hash::Hash;

use super::sort_ranked;

/// Scores each individual and returns them best first (ties by key).
///
/// * `neighbours`: `(individual, cosine)` for each catalogue photo the index
///   returned; an individual may appear many times. Its kNN score is the
///   maximum over its photos.
/// * `head`: cosine of the query to each individual's class centre, when the
///   pack has a head.
/// * `head_weight` (`w`): the score is `(1 - w) * knn + w * head`. `w = 0` is
///   pure kNN (the default for packs without a head) and ignores `head`;
///   `w = 1` ranks by the head alone. Values outside `[0, 1]` are clamped and
///   NaN counts as 0.
///
/// Where one side is missing:
///
/// * an individual with neighbours but no head score (catalogued after the
///   head was trained) keeps its plain kNN score;
/// * when `w > 0`, an individual with a head score but no neighbour is a
///   candidate too. It either has no catalogue photo or none of its photos was
///   among the k nearest, so its kNN score is at most the weakest neighbour
///   returned, and that bound stands in for its kNN score. Without any
///   neighbour the head score is used alone. This lets the head propose an
///   individual the kNN missed, without letting it jump ahead of individuals
///   the kNN did find unless its head score earns it.
///
/// Non-finite scores are ignored.
pub fn rank_individuals<K>(
    neighbours: &[(K, f32)],
    head: Option<&HashMap<K, f32>>,
    head_weight: f32,
) -> Vec<(K, f32)>
where
    K: Clone + Eq + Hash + Ord,
{
    let w = if head_weight.is_nan() {
        0.0
    } else {
        head_weight.clamp(0.0, 1.0)
    };

    let mut knn: HashMap<&K, f32> = HashMap::new();
    let mut weakest: Option<f32> = None;
    for (key, score) in neighbours.iter().filter(|(_, s)| s.is_finite()) {
        let best = knn.entry(key).or_insert(*score);
        *best = best.max(*score);
        weakest = Some(weakest.map_or(*score, |w| w.min(*score)));
    }

    let head = head.filter(|_| w > 0.0);
    let head_of = |key: &K| {
        head.and_then(|h| h.get(key))
            .copied()
            .filter(|s| s.is_finite())
    };
    let blend = |knn: f32, head: f32| (1.0 - w) * knn + w * head;

    let mut ranked: Vec<(K, f32)> = knn
        .iter()
        .map(|(&key, &knn)| {
            let score = head_of(key).map_or(knn, |h| blend(knn, h));
            (key.clone(), score)
        })
        .collect();
    if let Some(head) = head {
        ranked.extend(
            head.iter()
                .filter(|(key, h)| h.is_finite() && !knn.contains_key(key))
                .map(|(key, &h)| (key.clone(), blend(weakest.unwrap_or(h), h))),
        );
    }
    sort_ranked(&mut ranked);
    ranked
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &[(&str, f32)], b: &[(&str, f32)]) -> bool {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(x, y)| x.0 == y.0 && (x.1 - y.1).abs() < 1e-6)
    }

    #[test]
    fn each_individual_scores_its_best_photo() {
        let hits = [("a", 0.5), ("b", 0.7), ("a", 0.9), ("a", 0.2), ("c", 0.1)];
        let ranked = rank_individuals(&hits, None, 0.0);
        assert_eq!(ranked, vec![("a", 0.9), ("b", 0.7), ("c", 0.1)]);
    }

    #[test]
    fn equal_scores_are_ordered_by_key_whatever_the_input_order() {
        let one = rank_individuals(&[("b", 0.5), ("a", 0.5), ("c", 0.6)], None, 0.0);
        let two = rank_individuals(&[("a", 0.5), ("c", 0.6), ("b", 0.5)], None, 0.0);
        assert_eq!(one, vec![("c", 0.6), ("a", 0.5), ("b", 0.5)]);
        assert_eq!(one, two);
    }

    #[test]
    fn zero_weight_ignores_the_head() {
        let head = HashMap::from([("a", 1.0), ("z", 1.0)]);
        let ranked = rank_individuals(&[("a", 0.4), ("b", 0.6)], Some(&head), 0.0);
        assert_eq!(ranked, vec![("b", 0.6), ("a", 0.4)]);
    }

    #[test]
    fn head_blend_can_overturn_a_many_photo_individual() {
        // "many" has three close photos, "few" one slightly further; the head
        // says "few".
        let hits = [
            ("many", 0.80),
            ("many", 0.79),
            ("many", 0.78),
            ("few", 0.70),
        ];
        let head = HashMap::from([("many", 0.30), ("few", 0.90)]);
        let ranked = rank_individuals(&hits, Some(&head), 0.5);
        // few: 0.5*0.70 + 0.5*0.90 = 0.80; many: 0.5*0.80 + 0.5*0.30 = 0.55
        assert!(
            close(&ranked, &[("few", 0.80), ("many", 0.55)]),
            "{ranked:?}"
        );
    }

    #[test]
    fn missing_head_keeps_knn_and_head_only_is_bounded_by_weakest_neighbour() {
        let hits = [("a", 0.9), ("b", 0.6), ("a", 0.5)];
        // "b" has no class centre; "z" has no neighbour.
        let head = HashMap::from([("a", 0.7), ("z", 0.95)]);
        let ranked = rank_individuals(&hits, Some(&head), 0.25);
        // a: 0.75*0.9 + 0.25*0.7 = 0.85; b: 0.6 (kNN only);
        // z: 0.75*0.5 (weakest neighbour) + 0.25*0.95 = 0.6125
        assert!(
            close(&ranked, &[("a", 0.85), ("z", 0.6125), ("b", 0.6)]),
            "{ranked:?}"
        );
    }

    #[test]
    fn without_neighbours_the_head_ranks_alone() {
        let head = HashMap::from([("a", 0.2), ("b", 0.4)]);
        let ranked = rank_individuals::<&str>(&[], Some(&head), 0.3);
        assert!(close(&ranked, &[("b", 0.4), ("a", 0.2)]), "{ranked:?}");
        assert!(rank_individuals::<&str>(&[], Some(&head), 0.0).is_empty());
    }

    #[test]
    fn weight_is_clamped_and_non_finite_scores_ignored() {
        let head = HashMap::from([("a", 0.2), ("b", f32::NAN)]);
        let hits = [("a", 0.6), ("b", 0.5), ("c", f32::NAN)];
        let ranked = rank_individuals(&hits, Some(&head), 7.0);
        // w = 1: a by head alone; b has no usable head score and keeps kNN.
        assert!(close(&ranked, &[("b", 0.5), ("a", 0.2)]), "{ranked:?}");
        let nan_weight = rank_individuals(&hits, Some(&head), f32::NAN);
        assert!(close(&nan_weight, &[("a", 0.6), ("b", 0.5)]));
    }
}
