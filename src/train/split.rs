//! The train / validation split of a fine-tuning run.
//!
//! Some individuals are held out whole: their photos test `new_individual`,
//! as new animals in the field do. Of the others, some photos of each
//! individual with several are held out: they test recognising a known
//! animal in a new picture. A photo's detections always stay together, so
//! no picture is on both sides. The seed alone decides.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::catalogue::features::TrainingExample;
use crate::rng::SplitMix64;

/// Which examples train and which validate (indices into the examples).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Split {
    pub train: Vec<usize>,
    /// Held-out photos of individuals that are also trained on.
    pub val_photos: Vec<usize>,
    /// Every photo of the held-out individuals.
    pub val_individuals: Vec<usize>,
}

/// Split `examples` by individual and by photo, from `seed`. At least two
/// individuals always stay in training; an individual seen on one photo
/// only is never split by photo.
pub fn split(
    examples: &[TrainingExample],
    seed: u64,
    photo_share: f64,
    individual_share: f64,
) -> Split {
    // individual → photo → example indices, all ordered, so the seed alone decides.
    let mut by_individual: BTreeMap<i64, BTreeMap<i64, Vec<usize>>> = BTreeMap::new();
    for (i, e) in examples.iter().enumerate() {
        by_individual
            .entry(e.individual_id)
            .or_default()
            .entry(e.photo_id)
            .or_default()
            .push(i);
    }
    let mut rng = SplitMix64::new(seed ^ SPLIT_SALT);
    let mut individuals: Vec<i64> = by_individual.keys().copied().collect();
    rng.shuffle(&mut individuals);
    let n = individuals.len();
    let held = ((n as f64 * individual_share).floor() as usize).min(n.saturating_sub(2));
    let held_out: BTreeSet<i64> = individuals[..held].iter().copied().collect();
    let mut out = Split::default();
    for (individual, photos) in &by_individual {
        if held_out.contains(individual) {
            out.val_individuals
                .extend(photos.values().flatten().copied());
            continue;
        }
        let mut ids: Vec<i64> = photos.keys().copied().collect();
        let keep = if ids.len() >= 2 {
            rng.shuffle(&mut ids);
            let k = ((ids.len() as f64 * photo_share).round() as usize).clamp(1, ids.len() - 1);
            ids.len() - k
        } else {
            ids.len()
        };
        for (j, photo) in ids.iter().enumerate() {
            let to = if j < keep {
                &mut out.train
            } else {
                &mut out.val_photos
            };
            to.extend(&photos[photo]);
        }
    }
    for v in [
        &mut out.train,
        &mut out.val_photos,
        &mut out.val_individuals,
    ] {
        v.sort_unstable();
    }
    out
}

/// Mixed into the seed so the split and the batch order differ.
const SPLIT_SALT: u64 = 0x5eed_5917_d00d_0001;

#[cfg(test)]
mod tests {
    use super::*;

    /// Individual `i` has `photos[i]` photos, each with one detection, except
    /// the first photo of every individual, which has two.
    fn examples(photos: &[usize]) -> Vec<TrainingExample> {
        let mut out = Vec::new();
        let mut det = 0;
        for (i, &n) in photos.iter().enumerate() {
            for p in 0..n {
                let copies = if p == 0 { 2 } else { 1 };
                for _ in 0..copies {
                    det += 1;
                    out.push(TrainingExample {
                        detection_id: det,
                        photo_id: (i * 100 + p) as i64,
                        individual_id: i as i64,
                        code: format!("W{i}"),
                        species: None,
                    });
                }
            }
        }
        out
    }

    #[test]
    fn the_split_keeps_photos_and_held_out_individuals_apart() {
        let ex = examples(&[1, 2, 3, 5, 8, 1, 4, 6, 2, 10]);
        let s = split(&ex, 3, 0.2, 0.2);
        let all: BTreeSet<usize> = s
            .train
            .iter()
            .chain(&s.val_photos)
            .chain(&s.val_individuals)
            .copied()
            .collect();
        assert_eq!(all.len(), ex.len(), "every example is used once");
        assert_eq!(
            s.train.len() + s.val_photos.len() + s.val_individuals.len(),
            ex.len()
        );
        let photos =
            |idx: &[usize]| -> BTreeSet<i64> { idx.iter().map(|&i| ex[i].photo_id).collect() };
        let people =
            |idx: &[usize]| -> BTreeSet<i64> { idx.iter().map(|&i| ex[i].individual_id).collect() };
        assert!(photos(&s.train).is_disjoint(&photos(&s.val_photos)));
        assert!(people(&s.train).is_disjoint(&people(&s.val_individuals)));
        assert_eq!(people(&s.val_individuals).len(), 2, "20% of 10 individuals");
        // Held-out photos belong to trained individuals with 2+ photos, and
        // each of those keeps at least one photo in training.
        assert!(people(&s.val_photos).is_subset(&people(&s.train)));
        for i in people(&s.train) {
            let n = ex
                .iter()
                .filter(|e| e.individual_id == i)
                .map(|e| e.photo_id)
                .collect::<BTreeSet<_>>()
                .len();
            let held = s
                .val_photos
                .iter()
                .filter(|&&j| ex[j].individual_id == i)
                .map(|&j| ex[j].photo_id)
                .collect::<BTreeSet<_>>()
                .len();
            if n == 1 {
                assert_eq!(held, 0);
            } else if !people(&s.val_individuals).contains(&i) {
                assert!(held >= 1 && held < n, "individual {i}: {held} of {n}");
            }
        }
        assert_eq!(split(&ex, 3, 0.2, 0.2), s, "the seed decides");
        assert_ne!(split(&ex, 4, 0.2, 0.2), s);
    }

    #[test]
    fn two_individuals_always_stay_in_training() {
        let ex = examples(&[2, 2, 2]);
        let s = split(&ex, 1, 0.5, 0.9);
        let trained: BTreeSet<i64> = s.train.iter().map(|&i| ex[i].individual_id).collect();
        assert_eq!(trained.len(), 2);
    }
}
