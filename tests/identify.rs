//! Import → identify → eval, end to end on the tiny test pack through the
//! real ONNX Runtime, a real SQLite catalogue and the real index, as the CLI
//! and the app drive the engine.
//!
//! The fixtures are drawn here: each "individual" is a distinctive dark
//! patch (its own colour and stripe pattern) pasted into bright photos at
//! different places. With the labels' boxes the crops of one individual are
//! pixel-identical wherever the patch sits, so a seen query must score 1.0
//! and come first, and an unseen one must not reach a 0.999 threshold.

use image::RgbImage;
use whaleid::catalogue::{Catalogue, Scope};
use whaleid::eval::run::{run as run_eval, EvalOptions};
use whaleid::index::IndexConfig;
use whaleid::ingest::{self, labels, ImportOptions};
use whaleid::matching::{identify, Gallery, MatchSettings, Prediction};
use whaleid::packs::Pack;
use whaleid::photo::Picture;
use whaleid::CancelToken;
use whaleid_testkit as kit;
use whaleid_testkit::{import_all, imported, labelled_folder, photo, pipeline, PATCH};

#[test]
fn import_resumes_and_reports_bad_files_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let labels_csv = labelled_folder(dir.path());
    let mut items = labels::read_csv(&labels_csv, &dir.path().join("images")).unwrap();
    std::fs::write(dir.path().join("images/broken.jpg"), b"not a jpeg").unwrap();
    items.push(ingest::Labelled {
        path: dir.path().join("images/broken.jpg"),
        individual: "W999".into(),
        species: None,
        bbox: None,
    });
    let pipeline = pipeline();
    let mut cat = Catalogue::create(dir.path().join("cat")).unwrap();
    let cancel = CancelToken::new();
    let options = ImportOptions {
        chunk: 5,
        ..ImportOptions::default()
    };

    // Cancel after the second chunk: what was committed stays.
    let mut chunks = 0;
    let mut stop = |p: ingest::Progress| {
        if p.stage == ingest::Stage::Reading {
            chunks += 1;
            if chunks == 3 {
                cancel.cancel();
            }
        }
    };
    let err =
        ingest::import(&mut cat, &pipeline, &items, &options, &mut stop, &cancel).unwrap_err();
    assert!(matches!(err, whaleid::Error::Cancelled), "{err:?}");
    let after_cancel = cat.stats().unwrap().photos;
    assert_eq!(after_cancel, 10, "two chunks of five were committed");

    let report = ingest::import(
        &mut cat,
        &pipeline,
        &items,
        &options,
        &mut |_| {},
        &CancelToken::new(),
    )
    .unwrap();
    assert_eq!(
        report.skipped, 10,
        "the committed photos are not embedded again"
    );
    assert_eq!(report.imported, 14);
    assert_eq!(report.failed.len(), 1);
    let (path, reason) = &report.failed[0];
    assert!(
        path.ends_with("broken.jpg") && reason.contains("broken.jpg"),
        "{reason}"
    );
    let stats = cat.stats().unwrap();
    assert_eq!(
        (stats.photos, stats.embeddings, stats.individuals),
        (24, 24, 6)
    );
    assert_eq!(stats.confirmed_detections, 24);
    // Crops for review exist.
    let crops = std::fs::read_dir(cat.media_dir().join("crops"))
        .unwrap()
        .count();
    assert_eq!(crops, 24);
}

#[test]
fn identify_finds_a_catalogued_individual_and_says_new_for_a_stranger() {
    let dir = tempfile::tempdir().unwrap();
    let (pipeline, mut cat) = imported(dir.path());
    let (gallery, _) = Gallery::from_catalogue(&cat, IndexConfig::new(0)).unwrap();
    assert_eq!(gallery.len(), 24);

    let settings = MatchSettings::new(0.999);
    let embed = |img: &RgbImage, x: u32, y: u32| {
        let region = ingest::Region::Box(whaleid::detect::BBox {
            x1: x as f32,
            y1: y as f32,
            x2: (x + PATCH.0) as f32,
            y2: (y + PATCH.1) as f32,
        });
        pipeline
            .run(
                &[(&Picture::from_image("query.png", img.clone()), region)],
                &CancelToken::new(),
            )
            .unwrap()
            .remove(0)
            .remove(0)
            .embedding
            .vector
    };
    // Individual 3 at a place none of its catalogue photos had.
    let seen = embed(&photo(3, 120, 100), 120, 100);
    let top = identify(&gallery, &seen, &Scope::default(), &settings, None).unwrap();
    let w003 = cat.individual("W003").unwrap().id;
    match &top[0] {
        Prediction::Individual { key, score } => {
            assert_eq!(*key, w003);
            assert!(*score > 0.9999, "{score}");
        }
        other => panic!("expected W003 first, got {other:?}"),
    }
    assert_eq!(top.len(), 5);
    assert_eq!(
        top[1],
        Prediction::NewIndividual,
        "the rest are below 0.999"
    );

    // A scope that excludes the individual's species cannot return it.
    let belugas = Scope {
        species: Some("beluga".into()),
        ..Scope::default()
    };
    let scoped = identify(&gallery, &seen, &belugas, &settings, None).unwrap();
    assert_eq!(scoped[0], Prediction::NewIndividual);
    for p in &scoped {
        if let Prediction::Individual { key, .. } = p {
            let ind = cat.individual_by_id(*key).unwrap();
            assert_eq!(ind.species.as_deref(), Some("beluga"));
        }
    }

    // An individual the catalogue has never seen.
    let stranger = embed(&photo(11, 50, 50), 50, 50);
    let top = identify(&gallery, &stranger, &Scope::default(), &settings, None).unwrap();
    assert_eq!(top[0], Prediction::NewIndividual);
    assert_eq!(top.len(), 5);

    // Half-precision storage gives the same answer.
    cat.set_setting(whaleid::catalogue::keys::INDEX_PRECISION, "f16")
        .unwrap();
    let (half, _) = Gallery::from_catalogue(&cat, IndexConfig::new(0)).unwrap();
    assert_eq!(
        half.index().config().precision,
        whaleid::index::Precision::F16
    );
    let top = identify(&half, &seen, &Scope::default(), &settings, None).unwrap();
    assert!(
        matches!(top[0], Prediction::Individual { key, score } if key == w003 && score > 0.999),
        "{top:?}"
    );
    cat.set_setting(whaleid::catalogue::keys::INDEX_PRECISION, "f64")
        .unwrap();
    assert!(Gallery::from_catalogue(&cat, IndexConfig::new(0)).is_err());
    cat.set_setting(whaleid::catalogue::keys::INDEX_PRECISION, "f32")
        .unwrap();

    // After a merge the same query names the merged-into individual.
    cat.merge("W003", "W001", None).unwrap();
    let (gallery, _) = Gallery::from_catalogue(&cat, IndexConfig::new(0)).unwrap();
    let top = identify(&gallery, &seen, &Scope::default(), &settings, None).unwrap();
    let w001 = cat.individual("W001").unwrap().id;
    assert!(
        matches!(top[0], Prediction::Individual { key, .. } if key == w001),
        "{top:?}"
    );
}

#[test]
fn eval_on_a_labelled_folder_scores_a_perfect_split_perfectly() {
    let dir = tempfile::tempdir().unwrap();
    let labels_csv = labelled_folder(dir.path());
    let items = labels::read_csv(&labels_csv, &dir.path().join("images")).unwrap();
    let pipeline = pipeline();
    let eval = |threshold: f32| {
        let mut options = EvalOptions::new(threshold);
        options.unseen_fraction = 0.34;
        options.query_fraction = 0.25;
        run_eval(
            &pipeline,
            &items,
            &options,
            &mut |_| {},
            &CancelToken::new(),
        )
        .unwrap()
    };
    let r = eval(0.999);
    assert_eq!(r.photos, 24);
    assert!(r.failed.is_empty());
    assert_eq!(r.crops.get("box"), Some(&24));
    assert_eq!(r.unseen_individuals, 2);
    // 2 unseen individuals × 4 photos + 4 seen individuals × 1 photo.
    assert_eq!(r.queries, 12);
    assert_eq!(r.gallery_photos, 12);
    // Seen queries score 1.0 and come first; unseen ones fall below 0.999.
    assert_eq!(r.report.overall.map_at_5, 1.0, "{}", r.report);
    assert_eq!(r.report.overall.top1, 1.0);
    assert_eq!(r.report.new_individual.correct, 8);
    assert_eq!(r.report.per_species.len(), 2);
    // The calibration saw the same separation in the gallery.
    let c = r.calibration.expect("calibrated");
    assert_eq!(c.map_at_5, 1.0, "{c:?}");
    assert!(c.threshold > 0.9, "{}", c.threshold);

    // With a threshold nothing reaches, every query says new first:
    // seen queries then score 1/2 each, unseen ones 1.
    let r = eval(1.5);
    let want = (8.0 * 1.0 + 4.0 * 0.5) / 12.0;
    assert!(
        (r.report.overall.map_at_5 - want).abs() < 1e-12,
        "{}",
        r.report
    );
}

#[test]
fn head_blend_scores_individuals_by_their_class_centres() {
    let pack = Pack::load(kit::pack_dir("tiny")).unwrap();
    let pipeline = pipeline();
    // Three individuals named as the heads' classes, one photo each.
    let dir = tempfile::tempdir().unwrap();
    let mut cat = Catalogue::create(dir.path().join("cat")).unwrap();
    let mut items = Vec::new();
    for (k, code) in ["whale_a", "whale_b", "whale_c"].iter().enumerate() {
        let path = dir.path().join(format!("{code}.png"));
        photo(k as u32, 20, 20).save(&path).unwrap();
        items.push(ingest::Labelled {
            path,
            individual: code.to_string(),
            species: None,
            bbox: None,
        });
    }
    import_all(&mut cat, &pipeline, &items);
    let (gallery, _) = Gallery::from_catalogue(&cat, IndexConfig::new(0)).unwrap();
    let ids: std::collections::HashMap<String, i64> = ["whale_a", "whale_b", "whale_c"]
        .iter()
        .map(|c| (c.to_string(), cat.individual(c).unwrap().id))
        .collect();
    let head = whaleid::matching::HeadScorer::new(&pack, ids.clone()).expect("tiny has heads");

    let query = pipeline
        .run(
            &[(
                &Picture::from_image("query.png", photo(4, 90, 60)),
                ingest::Region::Whole,
            )],
            &CancelToken::new(),
        )
        .unwrap()
        .remove(0)
        .remove(0)
        .embedding;
    // Expected head score per class: the mean over backbones of the cosine
    // between the backbone's unit embedding and the class centre.
    let mut expected = std::collections::HashMap::new();
    for (b, backbone) in pack.backbones.iter().enumerate() {
        let mut part = query.parts[b].clone();
        whaleid::embed::l2_normalise(&mut part);
        let h = backbone.head.as_ref().unwrap();
        for (class, cos) in h.classes.iter().zip(h.cosines(&part)) {
            *expected.entry(ids[class]).or_insert(0.0f32) += cos / 2.0;
        }
    }
    let scores = head.scores(&query.vector);
    for (id, want) in &expected {
        assert!(
            (scores[id] - want).abs() < 1e-5,
            "{id}: {} vs {want}",
            scores[id]
        );
    }

    // Head alone (w = 1): the order is the head's.
    let settings = MatchSettings {
        head_weight: 1.0,
        ..MatchSettings::new(-1.0)
    };
    let top = identify(
        &gallery,
        &query.vector,
        &Scope::default(),
        &settings,
        Some(&head),
    )
    .unwrap();
    let mut by_head: Vec<(i64, f32)> = expected.into_iter().collect();
    by_head.sort_by(|a, b| b.1.total_cmp(&a.1));
    let got: Vec<i64> = top
        .iter()
        .filter_map(|p| match p {
            Prediction::Individual { key, .. } => Some(*key),
            Prediction::NewIndividual => None,
        })
        .collect();
    assert_eq!(got, by_head.iter().map(|x| x.0).collect::<Vec<_>>());
    // And w = 0 ignores the head: pure kNN order.
    let knn = identify(
        &gallery,
        &query.vector,
        &Scope::default(),
        &MatchSettings::new(-1.0),
        Some(&head),
    )
    .unwrap();
    let nearest = gallery.neighbours(&query.vector, 1, &|_| true).unwrap()[0].0;
    assert!(matches!(knn[0], Prediction::Individual { key, .. } if key == nearest));
}

#[test]
fn saved_index_is_loaded_beside_the_catalogue_and_answers_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let (pipeline, mut cat) = imported(dir.path());
    // HNSW from the first vector on, so the snapshot path is the one used.
    let config = IndexConfig {
        exact_threshold: 1,
        ..IndexConfig::new(0)
    };
    let (exact, status) = Gallery::from_catalogue(&cat, IndexConfig::new(0)).unwrap();
    assert!(
        matches!(status, whaleid::index::LoadStatus::Missing),
        "{status:?}"
    );
    let path = exact.save_index(&cat).unwrap();
    assert!(path.starts_with(cat.root()) && path.is_file());

    let (hnsw, status) = Gallery::from_catalogue(&cat, config).unwrap();
    assert!(
        matches!(
            status,
            whaleid::index::LoadStatus::Loaded {
                vectors: 24,
                delta: 0
            }
        ),
        "{status:?}"
    );
    let settings = MatchSettings::new(0.999);
    for k in 0..6 {
        let query = pipeline
            .run(
                &[(
                    &Picture::from_image("query.png", photo(k, 130, 100)),
                    ingest::Region::Box(whaleid::detect::BBox {
                        x1: 130.0,
                        y1: 100.0,
                        x2: 190.0,
                        y2: 140.0,
                    }),
                )],
                &CancelToken::new(),
            )
            .unwrap()
            .remove(0)
            .remove(0)
            .embedding
            .vector;
        let a = identify(&exact, &query, &Scope::default(), &settings, None).unwrap();
        let b = identify(&hnsw, &query, &Scope::default(), &settings, None).unwrap();
        assert_eq!(a, b, "individual {k}");
    }

    // A new confirmed photo comes after the snapshot's vectors: the snapshot
    // still serves them and the new one is scanned exactly (the delta).
    let extra = dir.path().join("extra.png");
    photo(2, 5, 5).save(&extra).unwrap();
    let more = [ingest::Labelled {
        path: extra,
        individual: "W002".into(),
        species: Some("beluga".into()),
        bbox: None,
    }];
    import_all(&mut cat, &pipeline, &more);
    let (_, status) = Gallery::from_catalogue(&cat, config).unwrap();
    assert!(
        matches!(
            status,
            whaleid::index::LoadStatus::Loaded { delta: 1, .. }
                | whaleid::index::LoadStatus::Rejected(_)
        ),
        "{status:?}"
    );
}
