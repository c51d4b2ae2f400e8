//! The review as the app drives it: a catalogue of six known individuals, a
//! survey ingested with suggestions, then a person accepting, naming new
//! animals, marking one not identifiable, undoing, browsing the individuals
//! and exporting. Real tiny ONNX pack, real SQLite file.

use std::path::Path;
use whaleid_testkit as kit;

use whaleid::catalogue::browse::IndividualFilter;
use whaleid::catalogue::review::ReviewAction;
use whaleid::catalogue::Catalogue;
use whaleid::ingest::survey::{ingest, IngestOptions};
use whaleid::ingest::{import, labels, ImportOptions};
use whaleid::matching::MatchSettings;
use whaleid::{CancelToken, Error};
use whaleid_testkit::{labelled_folder, photo, pipeline};

/// Six individuals W000..W005 imported from labels, then a survey of five
/// photos: individuals 0..=3 seen again (patch elsewhere) and a stranger.
fn reviewed_catalogue(dir: &Path) -> Catalogue {
    reviewed_catalogue_of(dir, None)
}

/// [`reviewed_catalogue`] with the survey ingested as one species (the even
/// individuals are belugas, the odd ones humpbacks).
fn reviewed_catalogue_of(dir: &Path, survey_species: Option<&str>) -> Catalogue {
    let pipeline = pipeline();
    // Without boxes, so the catalogue's crops come from the same detector as
    // the survey's.
    let labels_csv = labelled_folder(dir);
    let no_boxes: String = std::fs::read_to_string(&labels_csv)
        .unwrap()
        .lines()
        .map(|l| l.rsplit_once(',').unwrap().0.to_string() + "\n")
        .collect();
    std::fs::write(&labels_csv, no_boxes).unwrap();
    let items = labels::read_csv(&labels_csv, &dir.join("images")).unwrap();
    let mut cat = Catalogue::create(dir.join("cat")).unwrap();
    import(
        &mut cat,
        &pipeline,
        &items,
        &ImportOptions::default(),
        &mut |_| {},
        &CancelToken::new(),
    )
    .unwrap();
    let survey = dir.join("survey");
    std::fs::create_dir_all(&survey).unwrap();
    // Known animals at a catalogued position, one corner pixel changed so
    // the file is new to the catalogue (the tiny pack matches by position).
    for k in 0..4u32 {
        let mut img = photo(k, 40, 33);
        img.put_pixel(0, 0, image::Rgb([0, 0, 0]));
        img.save(survey.join(format!("seen{k}.png"))).unwrap();
    }
    photo(17, 40, 33).save(survey.join("stranger.png")).unwrap();
    let files = whaleid::ingest::scan::scan(&survey).unwrap().photos;
    let report = ingest(
        &mut cat,
        &pipeline,
        &files,
        &IngestOptions {
            settings: Some(MatchSettings::new(0.999)),
            species: survey_species.map(str::to_owned),
            ..IngestOptions::default()
        },
        &mut |_| {},
        &CancelToken::new(),
    )
    .unwrap();
    assert_eq!(report.new_photos, 5);
    cat
}

fn item_for<'a>(
    queue: &'a [whaleid::catalogue::review::QueueItem],
    name: &str,
) -> &'a whaleid::catalogue::review::QueueItem {
    queue
        .iter()
        .find(|i| i.photo_path.ends_with(name))
        .unwrap_or_else(|| panic!("{name} not in the queue"))
}

#[test]
fn the_queue_shows_ranked_suggestions_with_crops_of_each_individual() {
    let dir = tempfile::tempdir().unwrap();
    let cat = reviewed_catalogue(dir.path());
    let queue = cat.review_queue(None).unwrap();
    assert_eq!(queue.len(), 5);
    assert_eq!(cat.to_review().unwrap(), 5);
    for k in 0..4 {
        let item = item_for(&queue, &format!("seen{k}.png"));
        assert!(item.crop.as_ref().unwrap().exists());
        assert!(item.thumb.as_ref().unwrap().exists());
        let top = &item.suggestions[0];
        assert_eq!(top.rank, 1);
        let individual = top.individual.as_ref().expect("a known individual first");
        assert_eq!(individual.code, format!("W{k:03}"));
        // Its best crop and a strip of its three other photos, all on disk.
        let best = top.best_crop.as_ref().unwrap();
        assert!(best.exists());
        assert_eq!(top.strip.len(), 3);
        assert!(!top.strip.contains(best));
        assert!(top.strip.iter().all(|p| p.exists()));
    }
    // The stranger: below the threshold everywhere, so "new" comes first.
    let stranger = item_for(&queue, "stranger.png");
    assert!(stranger.suggestions[0].individual.is_none());
    assert!(cat.review_queue(Some(2)).unwrap().len() == 2);
}

#[test]
fn decisions_leave_the_queue_and_undo_takes_them_back_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut cat = reviewed_catalogue(dir.path());
    let queue = cat.review_queue(None).unwrap();
    let seen0 = item_for(&queue, "seen0.png").clone();
    let seen1 = item_for(&queue, "seen1.png").clone();
    let stranger = item_for(&queue, "stranger.png").clone();

    // Accept rank 1 for seen0.
    let top = &seen0.suggestions[0];
    let w0 = top.individual.as_ref().unwrap().id;
    let out = cat
        .review_accept(seen0.detection_id, w0, top.score, Some(1), Some("ana"))
        .unwrap();
    assert_eq!(out.to_review, 4);
    assert_eq!(
        cat.current_individual(seen0.detection_id).unwrap(),
        Some(w0)
    );
    let history = cat.history(seen0.detection_id).unwrap();
    assert_eq!(history[0].source, "person");
    assert_eq!(history[0].decided_by.as_deref(), Some("ana"));

    // Name the stranger; an existing code is refused by name.
    let err = cat
        .review_new_individual(stranger.detection_id, "W001", None, Some("ana"))
        .unwrap_err();
    assert!(matches!(err, Error::Invalid(_)) && err.to_string().contains("W001"));
    let out = cat
        .review_new_individual(stranger.detection_id, "NEW-1", Some("beluga"), Some("ana"))
        .unwrap();
    assert_eq!(out.individual.as_ref().unwrap().code, "NEW-1");
    assert_eq!(out.to_review, 3);

    // seen1 is too blurred to say.
    let out = cat
        .review_unidentifiable(seen1.detection_id, Some("ana"))
        .unwrap();
    assert_eq!(
        (out.action, out.to_review),
        (ReviewAction::Unidentifiable, 2)
    );
    let left: Vec<i64> = cat
        .review_queue(None)
        .unwrap()
        .iter()
        .map(|i| i.detection_id)
        .collect();
    assert!(![
        seen0.detection_id,
        seen1.detection_id,
        stranger.detection_id
    ]
    .iter()
    .any(|d| left.contains(d)));

    // Undo, newest first.
    let undone = cat.review_undo(Some("ana")).unwrap().unwrap();
    assert_eq!(
        (undone.detection_id, undone.action, undone.to_review),
        (seen1.detection_id, ReviewAction::Unidentifiable, 3)
    );
    let undone = cat.review_undo(Some("ana")).unwrap().unwrap();
    assert_eq!(undone.action, ReviewAction::NewIndividual);
    assert_eq!(cat.current_individual(stranger.detection_id).unwrap(), None);
    // NEW-1 has no sighting left, so the grid no longer lists it.
    let codes: Vec<String> = cat
        .list_individuals(&IndividualFilter::default())
        .unwrap()
        .into_iter()
        .map(|s| s.individual.code)
        .collect();
    assert!(!codes.contains(&"NEW-1".to_string()), "{codes:?}");
    let undone = cat.review_undo(Some("ana")).unwrap().unwrap();
    assert_eq!(undone.action, ReviewAction::Accept);
    assert_eq!(cat.current_individual(seen0.detection_id).unwrap(), None);
    assert_eq!(cat.to_review().unwrap(), 5);
    // The withdrawn decision stays in the history.
    assert_eq!(cat.history(seen0.detection_id).unwrap().len(), 1);
    assert!(!cat.history(seen0.detection_id).unwrap()[0].current);
    assert!(cat.review_undo(None).unwrap().is_none());
    // Each undo records who took the decision back.
    let undone_by: Vec<Option<String>> = kit::sql(&cat)
        .prepare("SELECT undone_by FROM review_log ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(undone_by, vec![Some("ana".to_string()); 3]);
    assert!(cat.check().unwrap().is_empty());
}

#[test]
fn undoing_a_correction_restores_the_imported_identification() {
    let dir = tempfile::tempdir().unwrap();
    let mut cat = reviewed_catalogue(dir.path());
    let w2 = cat.individual("W002").unwrap().id;
    let w3 = cat.individual("W003").unwrap().id;
    let imported = cat.detections_of(w2).unwrap()[0];
    cat.review_accept(imported, w3, None, None, Some("ben"))
        .unwrap();
    assert_eq!(cat.current_individual(imported).unwrap(), Some(w3));
    cat.review_undo(Some("ben")).unwrap().unwrap();
    assert_eq!(cat.current_individual(imported).unwrap(), Some(w2));
    let history = cat.history(imported).unwrap();
    assert_eq!(history.len(), 3);
    assert_eq!(history[0].source, "import");
    assert!(history[0].current);
    // A second undo has nothing of this review left to take back.
    assert!(cat.review_undo(None).unwrap().is_none());
}

#[test]
fn same_as_previous_attaches_to_the_individual_just_chosen() {
    let dir = tempfile::tempdir().unwrap();
    let mut cat = reviewed_catalogue(dir.path());
    let queue = cat.review_queue(None).unwrap();
    let a = item_for(&queue, "seen2.png").detection_id;
    let b = item_for(&queue, "seen3.png").detection_id;
    let w2 = cat.individual("W002").unwrap().id;
    cat.review_accept(a, w2, None, Some(1), None).unwrap();
    let out = cat.review_same_as(b, w2, None).unwrap();
    assert_eq!(out.action, ReviewAction::SameAs);
    assert_eq!(cat.current_individual(b).unwrap(), Some(w2));
    let detail = cat.individual_detail("W002").unwrap();
    assert_eq!(detail.summary.sightings, 6);
    assert_eq!(detail.summary.new_sightings, 2);
    assert_eq!(detail.sightings.len(), 6);
    // Unknown ids are a clear error, nothing stored.
    assert!(matches!(
        cat.review_accept(99_999, w2, None, None, None),
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        cat.review_accept(a, 99_999, None, None, None),
        Err(Error::NotFound(_))
    ));
}

#[test]
fn individuals_are_listed_and_filtered_through_merges() {
    let dir = tempfile::tempdir().unwrap();
    let mut cat = reviewed_catalogue(dir.path());
    let all = cat.list_individuals(&IndividualFilter::default()).unwrap();
    assert_eq!(all.len(), 6);
    assert!(all.iter().all(|s| s.sightings == 4 && s.new_sightings == 0));
    assert!(all
        .iter()
        .all(|s| s.representative_crop.as_ref().unwrap().exists()));
    let belugas = cat
        .list_individuals(&IndividualFilter {
            species: Some("beluga".into()),
            ..IndividualFilter::default()
        })
        .unwrap();
    assert_eq!(belugas.len(), 3);
    let found = cat
        .list_individuals(&IndividualFilter {
            search: Some("w00".into()),
            ..IndividualFilter::default()
        })
        .unwrap();
    assert_eq!(found.len(), 6);
    cat.merge("W005", "W004", None).unwrap();
    let all = cat.list_individuals(&IndividualFilter::default()).unwrap();
    assert_eq!(all.len(), 5);
    let w4 = all.iter().find(|s| s.individual.code == "W004").unwrap();
    assert_eq!(w4.sightings, 8);
    let queue = cat.review_queue(None).unwrap();
    let seen0 = item_for(&queue, "seen0.png");
    let w0 = seen0.suggestions[0].individual.as_ref().unwrap().id;
    cat.review_accept(seen0.detection_id, w0, None, Some(1), None)
        .unwrap();
    let fresh = cat
        .list_individuals(&IndividualFilter {
            has_new_sightings: true,
            ..IndividualFilter::default()
        })
        .unwrap();
    assert_eq!(fresh.len(), 1);
    assert_eq!(fresh[0].individual.code, "W000");
}

#[test]
fn exports_write_one_row_per_detection_and_kaggle_predictions() {
    let dir = tempfile::tempdir().unwrap();
    let mut cat = reviewed_catalogue(dir.path());
    let queue = cat.review_queue(None).unwrap();
    let seen0 = item_for(&queue, "seen0.png").clone();
    let seen1 = item_for(&queue, "seen1.png").clone();
    let w0 = seen0.suggestions[0].individual.as_ref().unwrap().id;
    cat.review_accept(seen0.detection_id, w0, Some(0.97), Some(1), Some("ana"))
        .unwrap();
    cat.review_unidentifiable(seen1.detection_id, None).unwrap();

    let csv_path = dir.path().join("identifications.csv");
    let rows = cat.export_csv(&csv_path).unwrap();
    let stats = cat.stats().unwrap();
    assert_eq!(rows as i64, stats.detections);
    let mut reader = csv::Reader::from_path(&csv_path).unwrap();
    let header = reader.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(records.len(), rows);
    let row_of = |name: &str| {
        records
            .iter()
            .find(|r| r[col("photo")].ends_with(name))
            .unwrap()
    };
    let r = row_of("seen0.png");
    assert_eq!(&r[col("individual")], "W000");
    assert_eq!(&r[col("decision")], "person");
    assert_eq!(&r[col("decided_by")], "ana");
    assert_eq!(r[col("score")].parse::<f32>().unwrap(), 0.97);
    assert_eq!(&row_of("seen1.png")[col("decision")], "unidentifiable");
    assert_eq!(&row_of("seen2.png")[col("decision")], "pending");
    assert_eq!(&row_of("ind3_1.png")[col("decision")], "import");
    assert_eq!(&row_of("ind3_1.png")[col("individual")], "W003");
    // The number the app shows (`#146`), appended after the old columns.
    assert_eq!(header.len(), 17);
    assert_eq!(col("detection_number"), header.len() - 1);
    assert_eq!(
        r[col("detection_number")].parse::<i64>().unwrap(),
        seen0.detection_id
    );
    assert!(!csv_path.with_extension("csv.part").exists());

    let kaggle = dir.path().join("submission.csv");
    let rows = cat.export_kaggle(&kaggle).unwrap();
    assert_eq!(rows as i64, stats.photos);
    let text = std::fs::read_to_string(&kaggle).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("image,predictions"));
    let line = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .unwrap()
            .to_string()
    };
    assert!(
        line("seen2.png,").starts_with("seen2.png,W002 "),
        "{}",
        line("seen2.png,")
    );
    assert!(line("stranger.png,").starts_with("stranger.png,new_individual"));
    for l in lines {
        let predictions = l.split(',').nth(1).unwrap();
        let n = predictions.split(' ').count();
        assert!((1..=5).contains(&n), "{l}");
    }
    // A path that cannot be written is an error naming it; nothing is left.
    let bad = dir.path().join("no such folder/out.csv");
    let err = cat.export_csv(&bad).unwrap_err().to_string();
    assert!(err.contains("no such folder"), "{err}");
}

/// The predictions the Kaggle export writes for `image`, freshly exported.
fn kaggle_predictions(cat: &Catalogue, path: &Path, image: &str) -> String {
    cat.export_kaggle(path).unwrap();
    let text = std::fs::read_to_string(path).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with(&format!("{image},")))
        .unwrap_or_else(|| panic!("{image} not in\n{text}"));
    line.split_once(',').unwrap().1.to_string()
}

/// `first`, then `model`'s ids without it, five in all.
fn decided_first(first: &str, model: &str) -> String {
    let mut ids = vec![first];
    ids.extend(model.split(' ').filter(|id| *id != first));
    ids.truncate(5);
    ids.join(" ")
}

#[test]
fn kaggle_export_puts_the_confirmed_individual_before_the_model_suggestions() {
    let dir = tempfile::tempdir().unwrap();
    let mut cat = reviewed_catalogue(dir.path());
    let kaggle = dir.path().join("submission.csv");
    let model_seen2 = kaggle_predictions(&cat, &kaggle, "seen2.png");
    let model_seen3 = kaggle_predictions(&cat, &kaggle, "seen3.png");
    let model_stranger = kaggle_predictions(&cat, &kaggle, "stranger.png");
    assert!(model_seen2.starts_with("W002 "), "{model_seen2}");
    assert!(
        model_stranger.starts_with("new_individual "),
        "{model_stranger}"
    );

    // A person picks the model's second choice for seen2: it leads, once.
    let queue = cat.review_queue(None).unwrap();
    let seen2 = item_for(&queue, "seen2.png").clone();
    let seen3 = item_for(&queue, "seen3.png").clone();
    let stranger = item_for(&queue, "stranger.png").clone();
    let other = seen2
        .suggestions
        .iter()
        .filter_map(|s| s.individual.as_ref().map(|i| (s.rank, i)))
        .find(|(_, i)| i.code != "W002")
        .unwrap();
    cat.review_accept(seen2.detection_id, other.1.id, None, Some(other.0), None)
        .unwrap();
    let decided = kaggle_predictions(&cat, &kaggle, "seen2.png");
    assert_eq!(decided, decided_first(&other.1.code, &model_seen2));
    assert_eq!(decided.split(' ').count(), 5, "{decided}");
    assert_eq!(decided.matches(other.1.code.as_str()).count(), 1);

    // The bug: a photo confirmed as an individual was exported with the
    // model's "new_individual" first.
    cat.review_new_individual(stranger.detection_id, "N001", None, None)
        .unwrap();
    let named = kaggle_predictions(&cat, &kaggle, "stranger.png");
    assert_eq!(named, decided_first("N001", &model_stranger));
    // Through merges, as the catalogue counts it now.
    cat.merge("N001", "W004", None).unwrap();
    let merged = kaggle_predictions(&cat, &kaggle, "stranger.png");
    assert_eq!(merged, decided_first("W004", &model_stranger));
    assert!(!merged.contains("N001"), "{merged}");

    // Not identifiable: the model's list as it was.
    cat.review_unidentifiable(seen3.detection_id, None).unwrap();
    assert_eq!(kaggle_predictions(&cat, &kaggle, "seen3.png"), model_seen3);

    // Undone decisions give the model's list back.
    for _ in 0..3 {
        cat.review_undo(None).unwrap().unwrap();
    }
    assert_eq!(kaggle_predictions(&cat, &kaggle, "seen2.png"), model_seen2);
    assert_eq!(
        kaggle_predictions(&cat, &kaggle, "stranger.png"),
        model_stranger
    );
}

#[test]
fn a_survey_species_scopes_the_suggestions_and_names_new_individuals() {
    let dir = tempfile::tempdir().unwrap();
    let mut cat = reviewed_catalogue_of(dir.path(), Some("beluga"));
    let queue = cat.review_queue(None).unwrap();
    let codes = |item: &whaleid::catalogue::review::QueueItem| -> Vec<String> {
        item.suggestions
            .iter()
            .filter_map(|s| s.individual.as_ref().map(|i| i.code.clone()))
            .collect()
    };
    for k in 0..4 {
        let item = item_for(&queue, &format!("seen{k}.png"));
        assert_eq!(item.species.as_deref(), Some("beluga"));
        assert_eq!(item.suggested_species.as_deref(), Some("beluga"));
        let found = codes(item);
        assert!(!found.is_empty());
        // Only the belugas W000, W002, W004 are searched.
        assert!(
            found
                .iter()
                .all(|c| ["W000", "W002", "W004"].contains(&c.as_str())),
            "seen{k}: {found:?}"
        );
        let first = item.suggestions[0]
            .individual
            .as_ref()
            .map(|i| i.code.clone());
        if k % 2 == 0 {
            assert_eq!(first, Some(format!("W{k:03}")), "a beluga finds itself");
        } else {
            assert_eq!(first, None, "a humpback is new among belugas");
        }
    }
    // Without a survey species, a humpback finds itself.
    let plain_dir = tempfile::tempdir().unwrap();
    let plain = reviewed_catalogue(plain_dir.path());
    let plain_queue = plain.review_queue(None).unwrap();
    let seen1 = item_for(&plain_queue, "seen1.png");
    assert_eq!(seen1.species, None);
    assert_eq!(codes(seen1)[0], "W001");
    assert_eq!(seen1.suggested_species.as_deref(), Some("humpback_whale"));

    // Named as new without a species given, it takes the survey's.
    let stranger = item_for(&queue, "stranger.png").detection_id;
    let out = cat
        .review_new_individual(stranger, "BG-NEW", None, Some("ana"))
        .unwrap();
    assert_eq!(out.individual.unwrap().species.as_deref(), Some("beluga"));
}

#[test]
fn changing_the_threshold_ranks_every_waiting_detection_again() {
    use whaleid::matching::field::{set_threshold, threshold_in_use, ThresholdSource};
    use whaleid::matching::rerank::rerank_waiting;

    let dir = tempfile::tempdir().unwrap();
    let mut cat = reviewed_catalogue(dir.path());
    let first_is_new = |cat: &Catalogue, name: &str| {
        let queue = cat.review_queue(None).unwrap();
        item_for(&queue, name).suggestions[0].individual.is_none()
    };
    assert!(first_is_new(&cat, "stranger.png"));
    assert!(!first_is_new(&cat, "seen0.png"));

    // Nothing is below -1: "new" leaves first place everywhere.
    set_threshold(&mut cat, -1.0).unwrap();
    let in_use = threshold_in_use(&cat, 0.5).unwrap();
    assert_eq!((in_use.value, in_use.source), (-1.0, ThresholdSource::Set));
    let mut seen = Vec::new();
    let r = rerank_waiting(&mut cat, 0.5, &CancelToken::new(), &mut |done, total| {
        seen.push((done, total))
    })
    .unwrap();
    assert_eq!((r.detections, r.new_first, r.threshold), (5, 0, -1.0));
    assert_eq!(seen.last(), Some(&(5, 5)));
    assert!(!first_is_new(&cat, "stranger.png"));

    // At 1 the stranger is new again; the known animals match their
    // catalogued position exactly (cosine 1 with the tiny pack) and stay.
    set_threshold(&mut cat, 1.0).unwrap();
    let r = rerank_waiting(&mut cat, 0.5, &CancelToken::new(), &mut |_, _| {}).unwrap();
    assert_eq!((r.detections, r.new_first), (5, 1));
    assert!(first_is_new(&cat, "stranger.png"));
    assert!(!first_is_new(&cat, "seen0.png"));

    // A decided detection leaves the queue and is not ranked again.
    let queue = cat.review_queue(None).unwrap();
    let seen0 = item_for(&queue, "seen0.png").detection_id;
    cat.review_unidentifiable(seen0, Some("ana")).unwrap();
    let r = rerank_waiting(&mut cat, 0.5, &CancelToken::new(), &mut |_, _| {}).unwrap();
    assert_eq!(r.detections, 4);

    // A cancelled run stops before its first batch.
    let cancel = CancelToken::new();
    cancel.cancel();
    assert!(matches!(
        rerank_waiting(&mut cat, 0.5, &cancel, &mut |_, _| {}),
        Err(Error::Cancelled)
    ));
}

#[test]
fn a_new_share_recalibrates_a_calibrated_threshold_and_leaves_a_typed_one() {
    use whaleid::matching::field::{
        calibrate_for_field, save_calibration, set_expected_new_share, set_threshold,
        threshold_in_use, ThresholdSource,
    };

    let dir = tempfile::tempdir().unwrap();
    let mut cat = reviewed_catalogue(dir.path());
    let (c, share) = calibrate_for_field(&cat, 5)
        .unwrap()
        .expect("six individuals");
    assert_eq!(c.new_share, Some(0.15));
    save_calibration(&mut cat, &c, share).unwrap();
    let in_use = threshold_in_use(&cat, 0.5).unwrap();
    assert_eq!(in_use.source, ThresholdSource::Calibrated);
    assert_eq!(in_use.calibration.as_ref().unwrap().share.share, 0.15);

    let again = set_expected_new_share(&mut cat, 0.5)
        .unwrap()
        .expect("recalibrated");
    assert_eq!(again.new_share, Some(0.5));
    let in_use = threshold_in_use(&cat, 0.5).unwrap();
    assert_eq!(in_use.value, again.threshold);
    assert_eq!(in_use.calibration.unwrap().share.share, 0.5);

    // A threshold typed by a person stays as it is.
    set_threshold(&mut cat, 0.33).unwrap();
    assert!(set_expected_new_share(&mut cat, 0.2).unwrap().is_none());
    let in_use = threshold_in_use(&cat, 0.5).unwrap();
    assert_eq!((in_use.value, in_use.source), (0.33, ThresholdSource::Set));
}
