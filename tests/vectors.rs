//! Embeddings that do not fit their pack version (issue 19 item 2): one
//! received vector of the wrong size must not break identification,
//! calibration, indexing or ingest anywhere. Where the receiver knows the
//! version's dimension it refuses the operation; otherwise the vector is
//! stored but kept out of every search, `catalogue check` names it and
//! `catalogue repair` removes it.

use std::path::Path;

use whaleid::catalogue::Catalogue;
use whaleid::index::IndexConfig;
use whaleid::matching::field::calibrate_for_field;
use whaleid::matching::Gallery;
use whaleid::sync::apply::receive;
use whaleid::sync::ops::Op;
use whaleid::sync::plan::Action;
use whaleid_testkit::{self as kit, ops};

/// A new box on a catalogued photo, an embedding of `values` values for it
/// (pack `pack`), and a decision confirming it as an individual already
/// here: what one careless push carries.
fn poisoned_push(cat: &Catalogue, pack: (&str, &str), values: usize) -> Vec<Op> {
    let (photo, individual) = ops::first_photo_and_individual(cat);
    ops::careless_push(0, &photo, &individual, pack, values)
}

fn refused(plan: &whaleid::sync::plan::Plan) -> Vec<(String, String)> {
    plan.actions
        .iter()
        .filter_map(|a| match a {
            Action::Refuse { op, reason } => Some((op.clone(), reason.clone())),
            _ => None,
        })
        .collect()
}

/// The catalogue's gallery, calibration and index all work.
fn searchable(cat: &Catalogue, dir: &Path) {
    let (gallery, _) = Gallery::from_catalogue(cat, IndexConfig::new(0))
        .unwrap_or_else(|e| panic!("the gallery: {e}"));
    assert_eq!(gallery.len(), 24, "the catalogue's own 24 embeddings");
    gallery
        .save_index(cat)
        .unwrap_or_else(|e| panic!("the index: {e}"));
    calibrate_for_field(cat, 2).unwrap_or_else(|e| panic!("calibration: {e}"));
    let _ = dir;
}

#[test]
fn a_vector_of_the_wrong_size_for_an_unknown_version_is_kept_out_of_every_search() {
    let dir = tempfile::tempdir().unwrap();
    let (_, mut cat) = kit::imported(dir.path());
    // The tiny pack's embeddings have 32 values; this catalogue was made
    // without remembering the pack's folder, so it cannot read the manifest.
    let push = poisoned_push(&cat, ("tiny", "0.1.0"), 3);
    let plan = receive(&mut cat, &push, "ana").unwrap();
    assert!(refused(&plan).is_empty(), "{:?}", refused(&plan));
    searchable(&cat, dir.path());
    // Found by check.
    let problems = cat.check().unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].contains("3 values") && problems[0].contains("32"),
        "{problems:?}"
    );
}

#[test]
fn a_vector_that_does_not_fit_a_version_the_receiver_knows_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (_, mut cat) = kit::imported(dir.path());
    // The generic pack is installed with WhaleID (here: models/generic):
    // every receiver knows its 1.0.0 has 512 values.
    let push = poisoned_push(&cat, ("generic", "1.0.0"), 3);
    let plan = receive(&mut cat, &push, "ana").unwrap();
    let refused = refused(&plan);
    assert_eq!(refused.len(), 1, "{plan:?}");
    assert_eq!(refused[0].0, push[1].id);
    assert!(
        refused[0].1.contains("3 values")
            && refused[0].1.contains("generic 1.0.0")
            && refused[0].1.contains("512"),
        "{}",
        refused[0].1
    );
    // The box and the decision about it went in; nothing breaks.
    searchable(&cat, dir.path());
    assert!(cat.check().unwrap().is_empty());

    // A catalogue that remembers its pack's folder knows its version too.
    let dir2 = tempfile::tempdir().unwrap();
    let (_, mut bound) = kit::imported(dir2.path());
    let pack = whaleid::packs::Pack::load(kit::tiny_pack()).unwrap();
    whaleid::packs::binding::bind(&mut bound, &pack, &kit::tiny_pack()).unwrap();
    let push = poisoned_push(&bound, ("tiny", "0.1.0"), 31);
    let plan = receive(&mut bound, &push, "ana").unwrap();
    let refused = refused_ops(&plan);
    assert_eq!(refused, vec![push[1].id.clone()], "{plan:?}");
}

fn refused_ops(plan: &whaleid::sync::plan::Plan) -> Vec<String> {
    refused(plan).into_iter().map(|(op, _)| op).collect()
}

/// Index building from items (evaluation, calibration, fine-tuning build
/// galleries this way): one vector of another size, even the first, or
/// one holding a NaN, is left out and reported; the rest is indexed.
#[test]
fn index_building_skips_and_reports_a_bad_vector_instead_of_failing() {
    use whaleid::catalogue::GalleryItem;
    use whaleid::matching::identify::calibrate_gallery_for_share;
    let item = |id: i64, individual: i64, vector: Vec<f32>| GalleryItem {
        embedding_id: id,
        detection_id: id,
        individual_id: individual,
        species: None,
        taken_at: None,
        latitude: None,
        longitude: None,
        vector,
    };
    let unit = |k: usize, j: usize| {
        let mut v = vec![0.0f32; 8];
        v[k] = 1.0;
        v[(k + 1) % 8] = 0.1 * j as f32;
        v
    };
    let mut items = vec![item(1, 1, vec![0.5, 0.5, 0.5])];
    for k in 0..4 {
        for j in 0..3 {
            let id = 10 + (k * 3 + j) as i64;
            items.push(item(id, k as i64, unit(k, j)));
        }
    }
    let mut nan = unit(1, 1);
    nan[3] = f32::NAN;
    items.push(item(99, 1, nan));
    let gallery = Gallery::new(items.clone(), IndexConfig::new(0))
        .unwrap_or_else(|e| panic!("one bad vector failed the whole index: {e}"));
    assert_eq!(gallery.len(), 12);
    let skipped: Vec<String> = gallery.skipped().iter().map(|e| e.to_string()).collect();
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    assert!(
        skipped[0].contains("id 1") && skipped[0].contains("dimension 3"),
        "{skipped:?}"
    );
    assert!(
        skipped[1].contains("id 99") && skipped[1].contains("non-finite"),
        "{skipped:?}"
    );
    let hits = gallery.neighbours(&unit(2, 0), 3, &|_| true).unwrap();
    assert_eq!(hits[0].0, 2);
    calibrate_gallery_for_share(items, 2, Some(0.15))
        .unwrap_or_else(|e| panic!("calibration: {e}"));
}
