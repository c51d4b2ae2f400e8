//! Fine-tuning on a real catalogue, end to end on the tiny test pack through
//! the real ONNX Runtime and SQLite: the feature cache ingest writes, the
//! features computed for detections that lack them, training and
//! validation, adoption as a new pack version (written, reloaded, and the
//! catalogue re-embedded from the cache), ingest with the new version, and
//! rolling back.
//!
//! The "not adopted" path is a run with a learning rate far too high, which
//! must make validation worse; adoption itself is exercised by asking for it
//! whatever the gain (`min_gain` below zero), which is what its mechanics need.
//! Whether training helps on real photos is the closing note's check on the
//! Happywhale sample.

use std::collections::HashSet;
use whaleid_testkit as kit;

use ndarray::ArrayView2;
use whaleid::catalogue::{keys, Catalogue};
use whaleid::embed::embed_features;
use whaleid::ingest::{self, Pipeline, Region};
use whaleid::packs::Pack;
use whaleid::train::finetune::{
    compute_missing_features, feature_keys, finetune, overview, FinetuneOptions,
};
use whaleid::train::job::{self, JobOptions};
use whaleid::train::versions::{adopt, refresh, switch_version};
use whaleid::train::views::{compute_missing_views, recipe, training_detections, views_missing};
use whaleid::train::{ArcFaceConfig, FitConfig};
use whaleid::CancelToken;
use whaleid_testkit::{import_all, imported, photo, session, PATCH};

fn options(subcenters: usize, min_gain: f64) -> FinetuneOptions {
    FinetuneOptions {
        fit: FitConfig {
            epochs: 4,
            batch_size: 8,
            seed: 7,
            patience: None,
            arcface: ArcFaceConfig {
                k: subcenters,
                ..ArcFaceConfig::default()
            },
            ..FitConfig::default()
        },
        val_individual_share: 0.34,
        min_gain,
        ..FinetuneOptions::default()
    }
}

/// A whole run on the CPU that adopts when it may.
fn job_options(finetune: FinetuneOptions) -> JobOptions {
    JobOptions {
        finetune,
        session: session(),
        device: whaleid::train::TrainDevice::cpu().device,
        adopt: true,
        actor: None,
    }
}

fn assert_close(a: &[f32], b: &[f32], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}");
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() < 1e-5, "{what}: {x} vs {y}");
    }
}

/// Embeddings of the cached features of every detection with `pack`'s necks.
fn from_cache(cat: &Catalogue, pack: &Pack) -> Vec<(i64, Vec<f32>)> {
    let table = cat.load_features(&feature_keys(pack), None).unwrap();
    let views: Vec<ArrayView2<f32>> = table.blocks.iter().map(|b| b.view()).collect();
    let vectors = embed_features(&pack.backbones, &views).unwrap();
    table.detection_ids.into_iter().zip(vectors).collect()
}

#[test]
fn ingest_caches_features_and_missing_ones_are_computed_from_the_photos() {
    let dir = tempfile::tempdir().unwrap();
    let (pipeline, mut cat) = imported(dir.path());
    let pack = pipeline.pack().clone();

    let ov = overview(&cat, &pack).unwrap();
    assert_eq!(
        (ov.individuals, ov.detections, ov.individuals_with_repeats),
        (6, 24, 6)
    );
    assert_eq!(
        ov.missing_features, 0,
        "import caches every detection's features"
    );
    assert!(ov.can_train, "{:?}", ov.reason);

    // The cache is what the embeddings were made from.
    let cached = from_cache(&cat, &pack);
    let embedded = kit::stored_embeddings(&cat, "0.1.0");
    assert_eq!(cached.len(), 24);
    for ((d1, a), (d2, b)) in cached.iter().zip(&embedded) {
        assert_eq!(d1, d2);
        assert_close(a, b, "embedding from the cache vs at ingest");
    }

    // Lose the features of three detections and the photo of one of them:
    // two are computed from their photos, one from its stored crop.
    let lost: Vec<i64> = embedded.iter().take(3).map(|(d, _)| *d).collect();
    for d in &lost {
        kit::sql(&cat)
            .execute("DELETE FROM features WHERE detection_id = ?1", [d])
            .unwrap();
    }
    let gone: String = kit::sql(&cat)
        .query_row(
            "SELECT p.original_path FROM detections d JOIN photos p ON p.id = d.photo_id WHERE d.id = ?1",
            [lost[2]],
            |r| r.get(0),
        )
        .unwrap();
    std::fs::remove_file(&gone).unwrap();
    assert_eq!(overview(&cat, &pack).unwrap().missing_features, 3);

    let mut phases = 0;
    let backfill = compute_missing_features(
        &mut cat,
        &pack,
        pipeline.embedder(),
        &CancelToken::new(),
        &mut |_| phases += 1,
    )
    .unwrap();
    assert!(phases >= 2, "progress is reported");
    assert_eq!(
        (
            backfill.computed,
            backfill.from_crops,
            backfill.failed.len()
        ),
        (3, 1, 0),
        "{:?}",
        backfill.failed
    );
    assert_eq!(overview(&cat, &pack).unwrap().missing_features, 0);
    let again = from_cache(&cat, &pack);
    for (d, original) in &embedded[..2] {
        let (_, v) = again.iter().find(|(x, _)| x == d).unwrap();
        assert_close(v, original, "recomputed from the photo");
    }
    let origin: String = kit::sql(&cat)
        .query_row(
            "SELECT origin FROM features WHERE detection_id = ?1 LIMIT 1",
            [lost[2]],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(origin, "crop");
}

#[test]
fn training_that_does_not_improve_is_not_adopted() {
    let dir = tempfile::tempdir().unwrap();
    let (pipeline, mut cat) = imported(dir.path());
    let pack = pipeline.pack().clone();
    let mut epochs_seen = 0;
    // A learning rate far too high wrecks the necks: validation must see it.
    let mut harmful = options(1, 0.0);
    harmful.fit.lr = 50.0;
    let outcome = job::run(
        &mut cat,
        &pack,
        &job_options(harmful),
        &CancelToken::new(),
        &mut |p| {
            if let whaleid::train::finetune::Progress::Epoch { .. } = p {
                epochs_seen += 1
            }
        },
    )
    .unwrap();
    let r = &outcome.report;
    // Two backbones × 4 epochs, each reported.
    assert_eq!(epochs_seen, 8);
    assert_eq!(r.histories.len(), 2);
    assert_eq!(r.before.known.map_at_5, 1.0);
    assert!(r.after.open.map_at_5 < r.before.open.map_at_5, "{r:#?}");
    assert!(
        r.validation_photos > 0 && r.validation_individuals == 2,
        "{r:?}"
    );
    assert_eq!(r.classes, 4, "held-out individuals are not classes");
    assert!(!r.improved, "{r:#?}");
    assert!(r.reason.contains("did not improve"), "{}", r.reason);
    assert!(outcome.adopted.is_none());
    assert_eq!(
        cat.setting(keys::PACK_VERSION).unwrap().as_deref(),
        Some("0.1.0")
    );
    assert!(cat.pack_versions("tiny").unwrap().is_empty());
    assert!(!cat.root().join("packs").exists());
}

#[test]
fn an_adopted_version_is_a_pack_the_catalogue_uses_and_can_roll_back() {
    let dir = tempfile::tempdir().unwrap();
    let (pipeline, mut cat) = imported(dir.path());
    let pack = pipeline.pack().clone();
    cat.set_setting(keys::THRESHOLD, "0.77").unwrap();

    let trained = finetune(
        &cat,
        &pack,
        &options(2, -1.0),
        &whaleid::train::TrainDevice::cpu().device,
        &CancelToken::new(),
        &mut |_| {},
    )
    .unwrap();
    // Deterministic for a seed.
    let again = finetune(
        &cat,
        &pack,
        &options(2, -1.0),
        &whaleid::train::TrainDevice::cpu().device,
        &CancelToken::new(),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(trained.backbones[0].neck, again.backbones[0].neck);
    let losses = |f: &whaleid::train::finetune::Finetuned| -> Vec<f64> {
        f.report
            .histories
            .iter()
            .flat_map(|(_, h)| h.iter().map(|e| e.loss))
            .collect()
    };
    assert_eq!(losses(&trained), losses(&again));

    let adopted = adopt(&mut cat, &pack, &trained, Some("tester")).unwrap();
    assert_eq!(adopted.version, "0.1.0+ft.1");
    assert_eq!(adopted.reembedded, 24);
    let r = refresh(&mut cat).unwrap();
    assert_eq!(r.suggestions, 0, "every imported detection is confirmed");

    // The version is a pack like any other: it loads and validates, shares
    // the backbones' feature keys, and carries the trained weights.
    let new_pack = Pack::load(&adopted.path).unwrap();
    assert_eq!(new_pack.version(), "0.1.0+ft.1");
    assert_eq!(feature_keys(&new_pack), feature_keys(&pack));
    let training = new_pack.manifest.training.as_ref().unwrap();
    assert_eq!(training.parent_version, "0.1.0");
    assert_eq!(training.seed, 7);
    for (b, t) in new_pack.backbones.iter().zip(&trained.backbones) {
        let neck_file = std::fs::read(adopted.path.join(&b.spec.neck.file)).unwrap();
        assert_eq!(neck_file, t.neck, "the trained neck, byte for byte");
        let head = b.head.as_ref().unwrap();
        assert_eq!(head.classes, trained.classes);
        assert_eq!(b.spec.head.as_ref().unwrap().subcenters, 2);
    }
    // The catalogue switched, and its new embeddings are the new pack's
    // embeddings of the cached features.
    assert_eq!(
        cat.setting(keys::PACK_VERSION).unwrap().as_deref(),
        Some("0.1.0+ft.1")
    );
    let new_embeddings = kit::stored_embeddings(&cat, "0.1.0+ft.1");
    assert_eq!(new_embeddings.len(), 24);
    for ((d1, a), (d2, b)) in new_embeddings.iter().zip(from_cache(&cat, &new_pack)) {
        assert_eq!(*d1, d2);
        assert_close(a, &b, "re-embedded vs the new pack");
    }
    assert_ne!(
        new_embeddings[0].1,
        kit::stored_embeddings(&cat, "0.1.0")[0].1,
        "the necks changed"
    );
    assert!(cat
        .root()
        .join("index")
        .join("tiny-0.1.0+ft.1.hnsw")
        .is_file());

    // Ingest with the new version: features are cached and it is embedded
    // with the new necks.
    let new_pipeline = Pipeline::open(new_pack.clone(), &session()).unwrap();
    let stranger = dir.path().join("stranger.png");
    photo(9, 40, 30).save(&stranger).unwrap();
    let items = vec![ingest::Labelled {
        path: stranger.clone(),
        individual: "W009".into(),
        species: None,
        bbox: Some(whaleid::detect::BBox {
            x1: 40.0,
            y1: 30.0,
            x2: 40.0 + PATCH.0 as f32,
            y2: 30.0 + PATCH.1 as f32,
        }),
    }];
    import_all(&mut cat, &new_pipeline, &items);
    assert_eq!(kit::stored_embeddings(&cat, "0.1.0+ft.1").len(), 25);
    assert_eq!(kit::stored_embeddings(&cat, "0.1.0").len(), 24);

    // Roll back: the stranger gets a 0.1.0 embedding from its cached
    // features, equal to what the original pack computes from the photo;
    // the old threshold comes back.
    let s = switch_version(&mut cat, None, Some("tester")).unwrap();
    assert_eq!((s.from.as_str(), s.to.as_str()), ("0.1.0+ft.1", "0.1.0"));
    assert_eq!(s.reembedded, 1);
    assert_eq!(
        cat.setting(keys::PACK_VERSION).unwrap().as_deref(),
        Some("0.1.0")
    );
    assert_eq!(
        cat.setting(keys::THRESHOLD).unwrap().as_deref(),
        Some("0.77")
    );
    let old = kit::stored_embeddings(&cat, "0.1.0");
    assert_eq!(old.len(), 25);
    let image = pipeline
        .open_photo(&stranger, whaleid::photo::DEFAULT_MAX_PIXELS, true)
        .unwrap();
    let direct = pipeline
        .run(
            &[(&image, Region::Box(items[0].bbox.unwrap()))],
            &CancelToken::new(),
        )
        .unwrap();
    assert_close(
        &old.last().unwrap().1,
        &direct[0][0].embedding.vector,
        "rolled-back embedding vs the original pack on the photo",
    );

    // Forward again, by name; then the errors a user can meet.
    switch_version(&mut cat, Some("0.1.0+ft.1"), None).unwrap();
    switch_version(&mut cat, None, None).unwrap();
    let err = switch_version(&mut cat, None, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("nothing to roll back to"), "{err}");
    let err = switch_version(&mut cat, Some("9.9"), None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("no version 9.9"), "{err}");

    let switches: Vec<(String, String, String, Option<String>)> = {
        let db = kit::sql(&cat);
        let mut stmt = db
            .prepare(
                "SELECT from_version, to_version, action, actor FROM pack_switches ORDER BY id",
            )
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let actions: Vec<&str> = switches.iter().map(|s| s.2.as_str()).collect();
    assert_eq!(actions, ["adopt", "rollback", "switch", "rollback"]);
    assert_eq!(switches[0].3.as_deref(), Some("tester"));

    // A second adoption gets the next number; the first version's folder stays.
    let trained = finetune(
        &cat,
        &pack,
        &options(1, -1.0),
        &whaleid::train::TrainDevice::cpu().device,
        &CancelToken::new(),
        &mut |_| {},
    )
    .unwrap();
    let second = adopt(&mut cat, &pack, &trained, None).unwrap();
    assert_eq!(second.version, "0.1.0+ft.2");
    let versions: HashSet<String> = cat
        .pack_versions("tiny")
        .unwrap()
        .into_iter()
        .map(|v| v.pack_version)
        .collect();
    assert_eq!(versions.len(), 3);
    assert!(adopted.path.join("pack.toml").is_file());

    // A photo awaiting review, ingested with that version, gets its
    // suggestions ranked again by the version switched to.
    let second_pipeline = Pipeline::open(Pack::load(&second.path).unwrap(), &session()).unwrap();
    let waiting = dir.path().join("waiting.png");
    photo(2, 70, 50).save(&waiting).unwrap();
    let report = ingest::survey::ingest(
        &mut cat,
        &second_pipeline,
        std::slice::from_ref(&waiting),
        &ingest::survey::IngestOptions {
            settings: Some(whaleid::matching::MatchSettings::new(0.5)),
            ..Default::default()
        },
        &mut |_| {},
        &CancelToken::new(),
    )
    .unwrap();
    assert_eq!(report.detections, 1);
    let queued = cat.queued_detections().unwrap();
    assert_eq!(queued.len(), 1);
    let suggested_by = |cat: &Catalogue| -> Vec<String> {
        let db = kit::sql(cat);
        let mut stmt = db
            .prepare("SELECT DISTINCT pack_version FROM suggestions WHERE detection_id = ?1")
            .unwrap();
        stmt.query_map([queued[0]], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert_eq!(suggested_by(&cat), ["0.1.0+ft.2"]);
    switch_version(&mut cat, None, None).unwrap();
    let r = refresh(&mut cat).unwrap();
    assert_eq!(r.suggestions, 1);
    assert_eq!(suggested_by(&cat), ["0.1.0"]);
    assert!(cat.check().unwrap().is_empty());
}

#[test]
fn a_cancelled_run_adopts_nothing_and_keeps_the_features_it_computed() {
    let dir = tempfile::tempdir().unwrap();
    let (pipeline, mut cat) = imported(dir.path());
    let pack = pipeline.pack().clone();
    // Some features to compute first, so the run has a first phase to pass.
    kit::sql(&cat)
        .execute(
            "DELETE FROM features WHERE detection_id IN (SELECT id FROM detections LIMIT 20)",
            [],
        )
        .unwrap();
    let cancel = CancelToken::new();
    let mut phases = Vec::new();
    let err = job::run(
        &mut cat,
        &pack,
        &job_options(options(1, -1.0)),
        &cancel,
        &mut |p| {
            if let whaleid::train::finetune::Progress::Phase { phase, done, .. } = p {
                phases.push((phase, done));
                // Cancel once the features are done: training must stop.
                if phase == whaleid::train::finetune::Phase::Features && done == 20 {
                    cancel.cancel();
                }
            }
        },
    )
    .unwrap_err();
    assert!(matches!(err, whaleid::Error::Cancelled), "{err:?}");
    assert!(!phases
        .iter()
        .any(|(p, _)| *p == whaleid::train::finetune::Phase::Adopting));
    assert_eq!(
        overview(&cat, &pack).unwrap().missing_features,
        0,
        "features are kept"
    );
    assert_eq!(
        cat.setting(keys::PACK_VERSION).unwrap().as_deref(),
        Some("0.1.0")
    );
    assert!(cat.pack_versions("tiny").unwrap().is_empty());
}

/// Rows `from..to` of `block` as one flat vector.
fn rows(block: &ndarray::Array2<f32>, from: usize, to: usize) -> Vec<f32> {
    block
        .slice(ndarray::s![from..to, ..])
        .iter()
        .copied()
        .collect()
}

fn sync_outbox(cat: &Catalogue) -> i64 {
    kit::sql(cat)
        .query_row("SELECT count(*) FROM sync_outbox", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn augmented_views_are_cached_once_deterministic_and_never_synced() {
    let dir = tempfile::tempdir().unwrap();
    let (pipeline, mut cat) = imported(dir.path());
    let pack = pipeline.pack().clone();
    let keys = feature_keys(&pack);
    let confirmed = training_detections(&cat).unwrap();
    assert_eq!(confirmed.len(), 24);
    let logged = sync_outbox(&cat);
    // Ten detections, four views each; the photo of the tenth is gone, so
    // its views come from its stored crop.
    let some = &confirmed[..10];
    let gone: String = kit::sql(&cat)
        .query_row(
            "SELECT p.original_path FROM detections d JOIN photos p ON p.id = d.photo_id WHERE d.id = ?1",
            [some[9]],
            |r| r.get(0),
        )
        .unwrap();
    let mut phases = Vec::new();
    let compute = |cat: &mut Catalogue, phases: &mut Vec<(usize, usize)>| {
        compute_missing_views(
            cat,
            &pack,
            pipeline.embedder(),
            some,
            4,
            9,
            &CancelToken::new(),
            &mut |p| {
                if let whaleid::train::finetune::Progress::Phase { phase, done, total } = p {
                    assert_eq!(phase, whaleid::train::finetune::Phase::Views);
                    phases.push((done, total));
                }
            },
        )
        .unwrap()
    };
    std::fs::remove_file(&gone).unwrap();
    let b = compute(&mut cat, &mut phases);
    assert_eq!(
        (b.computed, b.from_crops, b.failed.len()),
        (10, 1, 0),
        "{:?}",
        b.failed
    );
    assert_eq!(phases.last(), Some(&(10, 10)));
    let per_detection: u64 = pack
        .backbones
        .iter()
        .map(|bb| 2 * 4 * bb.spec.feature_dim as u64)
        .sum();
    assert_eq!(b.cache.detections, 10);
    assert_eq!(b.cache.bytes_per_detection(), per_detection, "half floats");
    assert_eq!(sync_outbox(&cat), logged, "views are not in the sync log");

    // Cached: nothing to do for those ten; more views or another seed redo them.
    assert_eq!(views_missing(&cat, &pack, &confirmed, 4, 9).unwrap(), 14);
    assert_eq!(views_missing(&cat, &pack, &confirmed, 3, 9).unwrap(), 14);
    assert_eq!(views_missing(&cat, &pack, &confirmed, 5, 9).unwrap(), 24);
    assert_eq!(views_missing(&cat, &pack, &confirmed, 4, 10).unwrap(), 24);
    assert_eq!(compute(&mut cat, &mut phases).computed, 0);

    let only: HashSet<i64> = some.iter().copied().collect();
    let views = cat.load_views(&keys, &recipe(9), 4, &only).unwrap();
    let plain = cat.load_features(&keys, Some(&only)).unwrap();
    assert_eq!(views.detection_ids, some);
    for (b, (block, bb)) in views.blocks.iter().zip(&pack.backbones).enumerate() {
        assert_eq!(block.dim(), (40, bb.spec.feature_dim));
        for (i, detection) in some.iter().enumerate() {
            let p = rows(&plain.blocks[b], i, i + 1);
            for v in 0..4 {
                let view = rows(block, i * 4 + v, i * 4 + v + 1);
                let far = view.iter().zip(&p).any(|(a, b)| (a - b).abs() > 1e-2);
                assert!(far, "view {v} of detection {detection} is its plain crop");
            }
            // The tiny backbone pools 8 features over a small grid, so two
            // views can pool alike (their pixels differ: see views.rs);
            // they are not all one.
            let first = rows(block, i * 4, i * 4 + 1);
            assert!(
                (1..4).any(|v| rows(block, i * 4 + v, i * 4 + v + 1) != first),
                "the views of detection {detection} are all alike"
            );
        }
    }
    // The first views alone are the cache's prefix; a recomputation is identical.
    let two = cat.load_views(&keys, &recipe(9), 2, &only).unwrap();
    assert_eq!(rows(&two.blocks[0], 0, 2), rows(&views.blocks[0], 0, 2));
    assert_eq!(rows(&two.blocks[0], 2, 4), rows(&views.blocks[0], 4, 6));
    kit::sql(&cat)
        .execute("DELETE FROM feature_views", [])
        .unwrap();
    compute(&mut cat, &mut phases);
    let again = cat.load_views(&keys, &recipe(9), 4, &only).unwrap();
    assert_eq!(again.blocks, views.blocks, "views are deterministic");
    let origin: String = kit::sql(&cat)
        .query_row(
            "SELECT origin FROM feature_views WHERE detection_id = ?1 LIMIT 1",
            [some[9]],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(origin, "crop");
}

#[test]
fn a_run_trains_over_views_of_training_photos_and_a_cancelled_one_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let (pipeline, mut cat) = imported(dir.path());
    let pack = pipeline.pack().clone();
    let mut o = options(1, -1.0);
    o.views = 3;
    // Cancelled after the first committed batch of views.
    let cancel = CancelToken::new();
    let err = job::run(
        &mut cat,
        &pack,
        &job_options(o.clone()),
        &cancel,
        &mut |p| {
            if let whaleid::train::finetune::Progress::Phase { phase, done, .. } = p {
                if phase == whaleid::train::finetune::Phase::Views && done > 0 {
                    cancel.cancel();
                }
            }
        },
    )
    .unwrap_err();
    assert!(matches!(err, whaleid::Error::Cancelled), "{err:?}");
    let confirmed = training_detections(&cat).unwrap();
    let left = views_missing(&cat, &pack, &confirmed, 3, o.view_seed).unwrap();
    assert!(left > 0 && left < 24, "{left} of 24 still missing");

    let logged = sync_outbox(&cat);
    let outcome = job::run(
        &mut cat,
        &pack,
        &JobOptions {
            adopt: false,
            ..job_options(o.clone())
        },
        &CancelToken::new(),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(outcome.views.computed, left, "the rest, once");
    assert_eq!(outcome.views.cache.detections, 24);
    let r = &outcome.report;
    assert_eq!(r.views, 3);
    assert_eq!(r.train_detections_with_views, r.train_detections);
    assert!(r.validation_photos > 0);
    assert!(r.histories.iter().all(|(_, h)| h.len() == 4));
    // Re-running computes nothing, and nothing went to the sync log.
    let again = job::run(
        &mut cat,
        &pack,
        &JobOptions {
            adopt: false,
            ..job_options(o)
        },
        &CancelToken::new(),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(again.views.computed, 0);
    assert_eq!(
        again.report.after, outcome.report.after,
        "same seed, same run"
    );
    assert_eq!(sync_outbox(&cat), logged);
}
