//! Gallery/query splits that imitate what the engine meets in the field.
//!
//! A query photo either shows a catalogued individual (seen) or someone not
//! in the catalogue yet (unseen, truth `new_individual`). The split holds out
//! whole individuals for the second case and some photos of the others for
//! the first, per species so that small species are represented. It is
//! deterministic for a seed: a tiny splitmix64 generator, and every grouping
//! in sorted maps, so the same records always give the same split whatever
//! their order.

use std::collections::BTreeMap;

use crate::rng::SplitMix64;

/// One held-out photo and who it should be identified as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitQuery<I, S, K> {
    pub image: I,
    pub species: S,
    /// `None` for an unseen individual: the right answer is `new_individual`.
    pub truth: Option<K>,
}

/// Gallery records and query photos; no image is in both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split<I, S, K> {
    /// `(image, species, individual)`, in input order.
    pub gallery: Vec<(I, S, K)>,
    /// In input order.
    pub queries: Vec<SplitQuery<I, S, K>>,
    /// The individuals held out entirely, sorted.
    pub unseen: Vec<K>,
}

/// Splits `(image, species, individual)` records into a gallery and queries.
///
/// * About `unseen_fraction` of the individuals (rounded, allotted to species
///   in proportion to their individual counts) become unseen: all their
///   photos are queries with truth `None`. A species with two or more
///   individuals always keeps at least one seen; a species with a single
///   individual may lose it.
/// * Of each seen individual with at least two photos, about
///   `query_fraction` of the photos (at least one, and always leaving one in
///   the gallery) are queries with truth = the individual.
/// * Everything else is the gallery.
///
/// Fractions are clamped to `[0, 1]` (NaN is 0). An individual listed under
/// several species belongs, for the allotment, to the first in sort order.
pub fn split<I, S, K>(
    records: &[(I, S, K)],
    seed: u64,
    unseen_fraction: f64,
    query_fraction: f64,
) -> Split<I, S, K>
where
    I: Clone + Ord,
    S: Clone + Ord,
    K: Clone + Ord,
{
    let unseen_fraction = clamp_fraction(unseen_fraction);
    let query_fraction = clamp_fraction(query_fraction);
    let mut rng = SplitMix64::new(seed);

    // Individual -> its record indices, sorted by image for order independence.
    let mut photos: BTreeMap<&K, Vec<usize>> = BTreeMap::new();
    for (i, (_, _, individual)) in records.iter().enumerate() {
        photos.entry(individual).or_default().push(i);
    }
    let mut by_species: BTreeMap<&S, Vec<&K>> = BTreeMap::new();
    for (individual, idx) in &mut photos {
        idx.sort_by(|&a, &b| records[a].0.cmp(&records[b].0).then(a.cmp(&b)));
        let species = idx.iter().map(|&i| &records[i].1).min().expect("non-empty");
        by_species.entry(species).or_default().push(individual);
    }

    let sizes: Vec<usize> = by_species.values().map(Vec::len).collect();
    let quotas = allot(&sizes, unseen_fraction, &mut rng);
    let mut unseen: Vec<&K> = Vec::new();
    for (individuals, quota) in by_species.values_mut().zip(quotas) {
        rng.shuffle(individuals);
        unseen.extend(&individuals[..quota]);
    }
    unseen.sort();

    let mut is_query = vec![false; records.len()];
    for (individual, idx) in &photos {
        if unseen.binary_search(individual).is_ok() {
            idx.iter().for_each(|&i| is_query[i] = true);
        } else if idx.len() >= 2 {
            let wanted = (query_fraction * idx.len() as f64).round() as usize;
            let mut idx = idx.clone();
            rng.shuffle(&mut idx);
            for &i in &idx[..wanted.clamp(1, idx.len() - 1)] {
                is_query[i] = true;
            }
        }
    }

    let mut out = Split {
        gallery: Vec::new(),
        queries: Vec::new(),
        unseen: unseen.iter().map(|&k| k.clone()).collect(),
    };
    for (record, query) in records.iter().zip(is_query) {
        let (image, species, individual) = record;
        if !query {
            out.gallery.push(record.clone());
        } else {
            let seen = unseen.binary_search(&individual).is_err();
            out.queries.push(SplitQuery {
                image: image.clone(),
                species: species.clone(),
                truth: seen.then(|| individual.clone()),
            });
        }
    }
    out
}

fn clamp_fraction(f: f64) -> f64 {
    if f.is_nan() {
        0.0
    } else {
        f.clamp(0.0, 1.0)
    }
}

/// How many individuals each species loses: `round(fraction * total)` in
/// all, shared by largest remainder (equal remainders in random order) and
/// capped so that a species of two or more keeps one.
fn allot(sizes: &[usize], fraction: f64, rng: &mut SplitMix64) -> Vec<usize> {
    let cap = |n: usize| if n >= 2 { n - 1 } else { n };
    let total: usize = sizes.iter().sum();
    let target = (fraction * total as f64).round() as usize;
    let mut quotas: Vec<usize> = sizes
        .iter()
        .map(|&n| ((fraction * n as f64).floor() as usize).min(cap(n)))
        .collect();
    let mut order: Vec<(f64, u64, usize)> = sizes
        .iter()
        .enumerate()
        .map(|(s, &n)| (fraction * n as f64 - quotas[s] as f64, rng.next_u64(), s))
        .collect();
    order.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut left = target.saturating_sub(quotas.iter().sum());
    while left > 0 {
        let before = left;
        for &(_, _, s) in &order {
            if left > 0 && quotas[s] < cap(sizes[s]) {
                quotas[s] += 1;
                left -= 1;
            }
        }
        if left == before {
            break;
        }
    }
    quotas
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    type Rec = (String, &'static str, String);

    /// 10 belugas with 1..=4 photos, 2 humpbacks with 3 each, 1 orca with 2.
    fn records() -> Vec<Rec> {
        let mut out = Vec::new();
        let mut add = |species: &'static str, individual: String, n: usize| {
            for p in 0..n {
                out.push((format!("{individual}-{p}.jpg"), species, individual.clone()));
            }
        };
        for i in 0..10 {
            add("beluga", format!("bel{i}"), 1 + i % 4);
        }
        add("humpback", "hw0".into(), 3);
        add("humpback", "hw1".into(), 3);
        add("orca", "orc0".into(), 2);
        out
    }

    fn check_invariants(records: &[Rec], s: &Split<String, &'static str, String>) {
        let gallery_images: BTreeSet<&String> = s.gallery.iter().map(|r| &r.0).collect();
        let query_images: BTreeSet<&String> = s.queries.iter().map(|q| &q.image).collect();
        assert!(gallery_images.is_disjoint(&query_images));
        assert_eq!(gallery_images.len() + query_images.len(), records.len());

        let gallery_individuals: BTreeSet<&String> = s.gallery.iter().map(|r| &r.2).collect();
        for k in &s.unseen {
            assert!(!gallery_individuals.contains(k), "unseen {k} in gallery");
        }
        for q in &s.queries {
            match &q.truth {
                Some(k) => assert!(gallery_individuals.contains(k), "{k} not in gallery"),
                None => assert!(s
                    .unseen
                    .iter()
                    .any(|u| q.image.starts_with(&format!("{u}-")))),
            }
        }
    }

    #[test]
    fn splitmix64_matches_the_reference_sequence() {
        let mut rng = SplitMix64::new(1_234_567);
        let first: Vec<u64> = (0..3).map(|_| rng.next_u64()).collect();
        assert_eq!(
            first,
            [
                6457827717110365317,
                3203168211198807973,
                9817491932198370423
            ]
        );
    }

    #[test]
    fn same_seed_same_split_whatever_the_record_order() {
        let recs = records();
        let a = split(&recs, 7, 0.3, 0.5);
        let mut reversed = recs.clone();
        reversed.reverse();
        let b = split(&reversed, 7, 0.3, 0.5);
        assert_eq!(a.unseen, b.unseen);
        let sorted = |s: &Split<String, &str, String>| {
            let mut q: Vec<_> = s
                .queries
                .iter()
                .map(|q| (q.image.clone(), q.truth.clone()))
                .collect();
            q.sort();
            q
        };
        assert_eq!(sorted(&a), sorted(&b));
        assert_eq!(a, split(&recs, 7, 0.3, 0.5));
        let differs = (0..20).any(|seed| split(&recs, seed, 0.3, 0.5).unseen != a.unseen);
        assert!(differs, "the seed should matter");
    }

    #[test]
    fn invariants_hold_for_many_seeds() {
        let recs = records();
        for seed in 0..50 {
            let s = split(&recs, seed, 0.3, 0.5);
            check_invariants(&recs, &s);
            // round(0.3 * 13) = 4 individuals held out.
            assert_eq!(s.unseen.len(), 4, "seed {seed}");
            // Every seen individual with two or more photos gives a query.
            for (k, n) in [("hw0", 3), ("bel1", 2), ("bel3", 4)] {
                if !s.unseen.iter().any(|u| u == k) {
                    let queries = s
                        .queries
                        .iter()
                        .filter(|q| q.truth.as_deref() == Some(k))
                        .count();
                    assert!((1..n).contains(&queries), "seed {seed}: {k} gave {queries}");
                }
            }
        }
    }

    #[test]
    fn every_species_of_two_or_more_keeps_a_seen_individual() {
        let recs = records();
        for seed in 0..20 {
            let s = split(&recs, seed, 1.0, 0.5);
            check_invariants(&recs, &s);
            let gallery_species: BTreeSet<&str> = s.gallery.iter().map(|r| r.1).collect();
            assert!(gallery_species.contains("beluga") && gallery_species.contains("humpback"));
            // 9 belugas + 1 humpback + the lone orca.
            assert_eq!(s.unseen.len(), 11);
        }
    }

    #[test]
    fn zero_fractions_hold_out_one_photo_per_individual_with_two() {
        let recs = records();
        let s = split(&recs, 3, 0.0, 0.0);
        assert!(s.unseen.is_empty());
        // Individuals with two or more photos: 7 belugas + 2 humpbacks + orca.
        assert_eq!(s.queries.len(), 10);
        assert!(s.queries.iter().all(|q| q.truth.is_some()));
        check_invariants(&recs, &s);
    }
}
