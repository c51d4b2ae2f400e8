//! Behaviour of the live index against the exact scan it approximates.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use super::store::tests::{clustered, Rng};
use super::*;

const DIM: usize = 32;

/// An index that always uses HNSW once a snapshot exists.
fn config() -> IndexConfig {
    IndexConfig {
        exact_threshold: 0,
        ..IndexConfig::new(DIM)
    }
}

/// 200 clusters of ~10 noisy photos each, ids 1..=n.
fn filled(n: usize, precision: Precision) -> (SearchIndex, Vec<Vec<f32>>) {
    let index = SearchIndex::new(IndexConfig {
        precision,
        ..config()
    });
    let data = clustered(42, 200, n, DIM, 0.7);
    for (i, v) in data.iter().enumerate() {
        index.add(i as i64 + 1, v).unwrap();
    }
    (index, data)
}

fn queries(seed: u64, n: usize) -> Vec<Vec<f32>> {
    // Queries are new photos of known individuals: perturbed catalogue vectors.
    let base = clustered(42, 200, 200, DIM, 0.7);
    let mut rng = Rng(seed);
    (0..n)
        .map(|i| {
            let mut q: Vec<f32> = base[i % 200]
                .iter()
                .map(|x| x + 0.1 * rng.gauss() / (DIM as f32).sqrt())
                .collect();
            super::store::tests::normalise(&mut q);
            q
        })
        .collect()
}

fn exact(index: &SearchIndex, q: &[f32], k: usize) -> Vec<Hit> {
    read(&index.shared.store).exact(q, k, None, 1)
}

fn ids(hits: &[Hit]) -> Vec<i64> {
    hits.iter().map(|h| h.id).collect()
}

#[test]
fn hnsw_search_recalls_exact_top10_on_clustered_data() {
    let (index, _) = filled(1000, Precision::F32);
    index.rebuild_in_background();
    index.wait_for_rebuild().unwrap().unwrap();
    assert_eq!(index.stats().snapshot_vectors, 1000);
    let (mut found, mut total) = (0, 0);
    for q in queries(1, 100) {
        let want = exact(&index, &q, 10);
        let got = index.search(&q, 10, None).unwrap();
        let want_ids: HashSet<i64> = ids(&want).into_iter().collect();
        found += got.iter().filter(|h| want_ids.contains(&h.id)).count();
        total += 10;
        // Scores are exact, recomputed from the store.
        for h in &got {
            let stored = index.shared.store.read().unwrap().get(h.id).unwrap();
            assert!((h.score - kernel::dot(&q, &stored)).abs() < 1e-6);
        }
    }
    let recall = found as f64 / total as f64;
    assert!(recall >= 0.99, "recall@10 {recall}");
}

#[test]
fn vectors_added_after_the_snapshot_are_found_before_a_rebuild() {
    let (index, _) = filled(1000, Precision::F32);
    index.rebuild_in_background();
    index.wait_for_rebuild().unwrap().unwrap();
    let fresh = clustered(99, 3, 3, DIM, 0.0);
    for (i, v) in fresh.iter().enumerate() {
        index.add(10_000 + i as i64, v).unwrap();
    }
    assert_eq!(index.stats().delta_slots, 3);
    for (i, v) in fresh.iter().enumerate() {
        let hits = index.search(v, 5, None).unwrap();
        assert_eq!(hits[0].id, 10_000 + i as i64);
        assert!((hits[0].score - 1.0).abs() < 1e-5);
    }
}

#[test]
fn removed_ids_are_never_returned() {
    let (index, data) = filled(1000, Precision::F32);
    index.rebuild_in_background();
    index.wait_for_rebuild().unwrap().unwrap();
    // Remove a whole cluster (ids ≡ 1 mod 200) and search right at it.
    let removed: HashSet<i64> = (0..1000).filter(|i| i % 200 == 0).map(|i| i + 1).collect();
    for id in &removed {
        assert!(index.remove(*id));
    }
    let hits = index.search(&data[0], 20, None).unwrap();
    assert_eq!(hits.len(), 20);
    assert!(hits.iter().all(|h| !removed.contains(&h.id)), "{hits:?}");
    assert_eq!(ids(&hits), ids(&exact(&index, &data[0], 20)));
}

#[test]
fn filter_is_respected_and_a_selective_filter_falls_back_to_exact() {
    let (index, data) = filled(1000, Precision::F32);
    index.rebuild_in_background();
    index.wait_for_rebuild().unwrap().unwrap();
    let calls = AtomicUsize::new(0);
    // A narrow scope: one id in 100, none near the query's cluster.
    let scope = |id: i64| {
        calls.fetch_add(1, Ordering::Relaxed);
        id % 100 == 7
    };
    let hits = index.search(&data[0], 10, Some(&scope)).unwrap();
    assert_eq!(hits.len(), 10);
    assert!(hits.iter().all(|h| h.id % 100 == 7));
    let want = read(&index.shared.store).exact(&data[0], 10, Some(&scope), 1);
    assert_eq!(hits, want);
    assert!(calls.load(Ordering::Relaxed) > 0);
    // A broad filter is answered from HNSW candidates and still respected.
    let even = |id: i64| id % 2 == 0;
    let hits = index.search(&data[5], 10, Some(&even)).unwrap();
    assert!(hits.iter().all(|h| h.id % 2 == 0));
}

#[test]
fn snapshot_round_trip_gives_identical_results() {
    let (index, data) = filled(1000, Precision::F16);
    index.rebuild_in_background();
    index.wait_for_rebuild().unwrap().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("catalogue.hnsw");
    assert!(index.save_snapshot(&path).unwrap());

    let reopened = SearchIndex::new(IndexConfig {
        precision: Precision::F16,
        ..config()
    });
    for (i, v) in data.iter().enumerate() {
        reopened.add(i as i64 + 1, v).unwrap();
    }
    reopened.add(5000, &data[3]).unwrap();
    match reopened.load_snapshot(&path) {
        LoadStatus::Loaded { vectors, delta } => assert_eq!((vectors, delta), (1000, 1)),
        other => panic!("{other:?}"),
    }
    for q in queries(3, 30) {
        let before = index.search(&q, 10, None).unwrap();
        let after = reopened.search(&q, 10, None).unwrap();
        let after: Vec<Hit> = after
            .into_iter()
            .filter(|h| h.id != 5000)
            .take(before.len())
            .collect();
        assert_eq!(before[..9], after[..9]);
    }
    // The graph itself answers identically after the round trip.
    let a = read(&index.shared.snapshot).clone().unwrap();
    let b = read(&reopened.shared.snapshot).clone().unwrap();
    assert_eq!(a.hnsw.search(&data[7], 30), b.hnsw.search(&data[7], 30));
}

#[test]
fn damaged_foreign_or_stale_snapshots_are_rejected_naming_the_file() {
    let (index, data) = filled(600, Precision::F32);
    index.rebuild_in_background();
    index.wait_for_rebuild().unwrap().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("catalogue.hnsw");
    index.save_snapshot(&path).unwrap();
    let good = std::fs::read(&path).unwrap();
    let name = path.display().to_string();

    let rejected = |index: &SearchIndex, bytes: &[u8], why: &str| {
        std::fs::write(&path, bytes).unwrap();
        match index.load_snapshot(&path) {
            LoadStatus::Rejected(e) => {
                let msg = e.to_string();
                assert!(msg.contains(&name) && msg.contains(why), "{msg}");
            }
            other => panic!("{why}: {other:?}"),
        }
    };
    let fresh = || {
        let fresh = SearchIndex::new(config());
        for (i, v) in data.iter().enumerate() {
            fresh.add(i as i64 + 1, v).unwrap();
        }
        fresh
    };
    let target = fresh();
    let mut flipped = good.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x10;
    rejected(&target, &flipped, "damaged");
    rejected(&target, &good[..good.len() - 100], "truncated");
    let mut zip = b"PK\x03\x04".to_vec();
    zip.resize(4096, b'.');
    rejected(&target, &zip, "not a WhaleID");
    let mut future = good.clone();
    future[8] = 9;
    rejected(&target, &future, "version 9");

    // Stale: one vector removed from the catalogue since the save.
    let stale = fresh();
    stale.remove(17);
    rejected(&stale, &good, "must be rebuilt");
    // Stale: same ids but a re-embedded vector.
    let changed = fresh();
    changed.add(1, &data[1]).unwrap();
    rejected(&changed, &good, "must be rebuilt");
    // Wrong dimension.
    let other = SearchIndex::new(IndexConfig::new(DIM * 2));
    rejected(&other, &good, "dimension");

    std::fs::write(&path, &good).unwrap();
    assert!(matches!(
        target.load_snapshot(&path),
        LoadStatus::Loaded { .. }
    ));
    assert!(matches!(
        target.load_snapshot(&dir.path().join("none")),
        LoadStatus::Missing
    ));
    // Nothing is left behind by atomic writes.
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(leftovers.len(), 1);
}

#[test]
fn queries_are_answered_while_a_rebuild_runs() {
    let index = Arc::new(filled(1000, Precision::F32).0);
    let q = queries(5, 1).remove(0);
    let expected = exact(&index, &q, 10);
    let stop = Arc::new(AtomicBool::new(false));
    let querier = {
        let (index, stop, q) = (Arc::clone(&index), Arc::clone(&stop), q.clone());
        std::thread::spawn(move || {
            let mut answered = 0usize;
            let mut during_build = 0usize;
            while !stop.load(Ordering::SeqCst) {
                let building = index.is_rebuilding();
                let hits = index.search(&q, 10, None).unwrap();
                assert_eq!(hits.len(), 10);
                answered += 1;
                during_build += usize::from(building && index.is_rebuilding());
                // Leave the build its cores: this test is about never blocking.
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            (answered, during_build)
        })
    };
    assert!(index.rebuild_in_background());
    assert!(!index.rebuild_in_background(), "one build at a time");
    // Writes also proceed during the build, and land in the delta.
    index.add(77_777, &q).unwrap();
    let report = index.wait_for_rebuild().unwrap().unwrap();
    stop.store(true, Ordering::SeqCst);
    let (answered, during_build) = querier.join().unwrap();
    assert!(
        during_build > 0,
        "no query ran during the build ({answered} total)"
    );
    assert_eq!(report.vectors + index.stats().delta_slots, 1001);
    let hits = index.search(&q, 10, None).unwrap();
    assert_eq!(hits[0].id, 77_777);
    assert_eq!(ids(&hits[1..]), ids(&expected[..9]));
}

#[test]
fn a_cancelled_rebuild_keeps_the_old_snapshot() {
    let (index, _) = filled(1000, Precision::F32);
    assert!(index.rebuild_in_background());
    assert!(index.cancel_rebuild() || index.stats().snapshot_vectors == 1000);
    assert!(!index.is_rebuilding());
    assert!(index.wait_for_rebuild().is_none());
    // Without a snapshot, searches are exact scans.
    let q = queries(9, 1).remove(0);
    if index.stats().snapshot_vectors == 0 {
        assert_eq!(index.search(&q, 10, None).unwrap(), exact(&index, &q, 10));
    }
}

#[test]
fn below_the_threshold_search_is_exact_and_checks_the_query_dimension() {
    let index = SearchIndex::new(IndexConfig::new(DIM));
    let data = clustered(5, 10, 100, DIM, 0.5);
    for (i, v) in data.iter().enumerate() {
        index.add(i as i64, v).unwrap();
    }
    assert_eq!(
        index.search(&data[4], 3, None).unwrap(),
        exact(&index, &data[4], 3)
    );
    let err = index.search(&[0.0; 3], 3, None).unwrap_err();
    assert!(err.to_string().contains("dimension 3"), "{err}");
}

#[test]
fn add_all_leaves_out_and_reports_each_vector_it_cannot_index() {
    let index = SearchIndex::new(IndexConfig::new(4));
    let good = [1.0f32, 0.0, 0.0, 0.0];
    let short = [1.0f32, 0.0, 0.0];
    let nan = [0.0f32, f32::NAN, 0.0, 1.0];
    let other = [0.0f32, 1.0, 0.0, 0.0];
    let skipped = index.add_all([
        (1, &good[..]),
        (2, &short[..]),
        (3, &nan[..]),
        (4, &other[..]),
    ]);
    assert_eq!(index.len(), 2);
    assert!(index.contains(1) && index.contains(4));
    let said: Vec<String> = skipped.iter().map(|e| e.to_string()).collect();
    assert_eq!(said.len(), 2, "{said:?}");
    assert!(
        said[0].contains("id 2") && said[0].contains("dimension 3"),
        "{said:?}"
    );
    assert!(said[1].contains("id 3"), "{said:?}");
}

#[test]
fn the_usual_dimension_is_the_most_common_one_not_the_first() {
    assert_eq!(usual_dim([3, 512, 512], 0), Some(512));
    assert_eq!(usual_dim([512, 3], 512), Some(512));
    assert_eq!(usual_dim([3, 512], 0), Some(512));
    assert_eq!(usual_dim([3, 3, 512], 512), Some(3));
    assert_eq!(usual_dim([], 7), None);
}
