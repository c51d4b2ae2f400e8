//! The Happywhale competition metric and plain top-k accuracy.
//!
//! MAP@5 is computed exactly as Kaggle scored Happywhale, so numbers from this
//! engine can be compared with the leaderboard and with published solutions.

use crate::matching::{Prediction, TOP_K};

/// Whether a prediction is the truth; `None` is `new_individual`.
pub fn is_correct<K: PartialEq>(prediction: &Prediction<K>, truth: Option<&K>) -> bool {
    match (prediction, truth) {
        (Prediction::Individual { key, .. }, Some(truth)) => key == truth,
        (Prediction::NewIndividual, None) => true,
        _ => false,
    }
}

/// The 1-based rank of the first correct label among the first five.
pub fn rank_of_truth<K: PartialEq>(
    predictions: &[Prediction<K>],
    truth: Option<&K>,
) -> Option<usize> {
    predictions
        .iter()
        .take(TOP_K)
        .position(|p| is_correct(p, truth))
        .map(|i| i + 1)
}

/// One image's precision at 5: `1 / rank` of the first correct label within
/// the first five, else 0.
///
/// With one true label per image this is Kaggle's `apk(actual, predicted, 5)`
/// and the reference `map_per_image(label, predictions)`: labels after the
/// first correct one add nothing, and a label repeated in the list counts only
/// at its first position (it still takes up the later slots).
pub fn average_precision_at_5<K: PartialEq>(
    predictions: &[Prediction<K>],
    truth: Option<&K>,
) -> f64 {
    rank_of_truth(predictions, truth).map_or(0.0, |rank| 1.0 / rank as f64)
}

/// MAP@5: the mean of [`average_precision_at_5`] over images. The truth of an
/// individual absent from the gallery is `None` (`new_individual`). No images
/// give 0.
///
/// # Panics
///
/// If `predictions` and `truth` differ in length.
pub fn map_at_5<K: PartialEq>(predictions: &[Vec<Prediction<K>>], truth: &[Option<K>]) -> f64 {
    mean_over(predictions, truth, |p, t| average_precision_at_5(p, t))
}

/// The share of images whose truth is among the first `k` predictions.
///
/// # Panics
///
/// If `predictions` and `truth` differ in length.
pub fn top_k_accuracy<K: PartialEq>(
    predictions: &[Vec<Prediction<K>>],
    truth: &[Option<K>],
    k: usize,
) -> f64 {
    mean_over(predictions, truth, |p, t| {
        let hit = p.iter().take(k).any(|p| is_correct(p, t));
        f64::from(u8::from(hit))
    })
}

fn mean_over<K>(
    predictions: &[Vec<Prediction<K>>],
    truth: &[Option<K>],
    per_image: impl Fn(&[Prediction<K>], Option<&K>) -> f64,
) -> f64 {
    assert_eq!(
        predictions.len(),
        truth.len(),
        "one truth per prediction list"
    );
    if predictions.is_empty() {
        return 0.0;
    }
    let sum: f64 = predictions
        .iter()
        .zip(truth)
        .map(|(p, t)| per_image(p, t.as_ref()))
        .sum();
    sum / predictions.len() as f64
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A prediction list from labels; "new_individual" is the new label.
    pub(crate) fn preds(labels: &[&'static str]) -> Vec<Prediction<&'static str>> {
        labels
            .iter()
            .map(|&l| match l {
                "new_individual" => Prediction::NewIndividual,
                key => Prediction::Individual { key, score: 0.0 },
            })
            .collect()
    }

    fn ap(truth: &'static str, labels: &[&'static str]) -> f64 {
        let truth = (truth != "new_individual").then_some(truth);
        average_precision_at_5(&preds(labels), truth.as_ref())
    }

    #[test]
    fn kaggle_reference_map_per_image_cases() {
        // Worked by hand against Kaggle's reference implementation,
        // `1 / (predictions[:5].index(label) + 1)`, or 0 when absent.
        assert_eq!(ap("x", &["x", "y", "z"]), 1.0);
        assert_eq!(ap("x", &["y", "x", "x"]), 0.5);
        assert_eq!(ap("x", &["y", "z"]), 0.0);
        assert_eq!(ap("x", &["y", "x", "x", "y", "y"]), 0.5);
    }

    #[test]
    fn rank_counts_up_to_five_and_no_further() {
        assert_eq!(ap("x", &["a", "b", "c", "x"]), 0.25);
        assert_eq!(ap("x", &["a", "b", "c", "d", "x"]), 0.2);
        assert_eq!(ap("x", &["a", "b", "c", "d", "e", "x"]), 0.0);
    }

    #[test]
    fn duplicates_take_slots_but_count_once() {
        // The repeated wrong label still pushes x to rank 3.
        assert_eq!(ap("x", &["y", "y", "x"]), 1.0 / 3.0);
        // A repeated right label does not add to the first.
        assert_eq!(ap("x", &["x", "x", "x"]), 1.0);
    }

    #[test]
    fn new_individual_is_a_label_like_any_other() {
        assert_eq!(ap("new_individual", &["a", "new_individual", "b"]), 0.5);
        assert_eq!(ap("a", &["new_individual", "a"]), 0.5);
        assert_eq!(ap("new_individual", &["a", "b"]), 0.0);
    }

    #[test]
    fn map_is_the_mean_over_images() {
        let predictions = [
            preds(&["x", "y"]),                     // 1
            preds(&["new_individual", "a", "b"]),   // truth b: 1/3
            preds(&["a", "new_individual"]),        // truth new: 1/2
            preds(&["a", "b", "c", "d", "e", "f"]), // truth f: 0
        ];
        let truth = [Some("x"), Some("b"), None, Some("f")];
        let expected = (1.0 + 1.0 / 3.0 + 0.5 + 0.0) / 4.0;
        assert!((map_at_5(&predictions, &truth) - expected).abs() < 1e-12);
        assert_eq!(top_k_accuracy(&predictions, &truth, 1), 0.25);
        assert_eq!(top_k_accuracy(&predictions, &truth, 5), 0.75);
        assert_eq!(map_at_5::<&str>(&[], &[]), 0.0);
    }
}
