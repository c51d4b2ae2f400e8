//! One push with an embedding of the wrong size (issue 19 item 2) must not
//! break identification on any laptop. The server refuses it where it knows
//! the pack version's dimension (the generic pack installed with WhaleID);
//! what it cannot check reaches the laptops, whose searches leave it out,
//! whose `check` names it and whose repair removes it.

mod support;

use std::path::Path;

use support::{on_every_store, run_sync, serving, Backend};
use whaleid::catalogue::Catalogue;
use whaleid::index::IndexConfig;
use whaleid::matching::field::calibrate_for_field;
use whaleid::matching::Gallery;
use whaleid::sync::client::Remote;
use whaleid_testkit::ops::{careless_push, first_photo_and_individual};
use whaleid_testkit::{self as kit, import_all, labelled, pipeline};

#[test]
fn a_pushed_vector_of_the_wrong_size_breaks_no_laptop() {
    on_every_store(wrong_size);
}

/// Identification, calibration and the index work on `cat`.
fn searchable(cat: &Catalogue, who: &str) {
    let (gallery, _) = Gallery::from_catalogue(cat, IndexConfig::new(0))
        .unwrap_or_else(|e| panic!("{who}: the gallery: {e}"));
    assert!(!gallery.is_empty(), "{who}");
    gallery
        .save_index(cat)
        .unwrap_or_else(|e| panic!("{who}: the index: {e}"));
    calibrate_for_field(cat, 2).unwrap_or_else(|e| panic!("{who}: calibration: {e}"));
}

fn wrong_size(dir: &Path, backend: &Backend) {
    let (server, [ana_token, mallory_token]) = serving(dir, backend, ["ana", "mallory"], &[]);
    let pipeline = pipeline();
    let mut ana = Catalogue::create(dir.join("ana")).unwrap();
    import_all(&mut ana, &pipeline, &labelled(&dir.join("photos"), &[1, 2]));
    run_sync(&mut ana, &server.url, &ana_token, "ana");
    let (photo, individual) = first_photo_and_individual(&ana);
    let mallory = Remote::new(&server.url, &mallory_token).unwrap();

    // Generic 1.0.0 has 512 values, and the server knows it.
    let generic = careless_push(1, &photo, &individual, ("generic", "1.0.0"), 3);
    let reply = mallory.push(generic.clone()).unwrap();
    assert_eq!(reply.refused.len(), 1, "{reply:?}");
    assert_eq!(reply.refused[0].op, generic[1].id);
    assert!(
        reply.refused[0].reason.contains("3 values") && reply.refused[0].reason.contains("512"),
        "{:?}",
        reply.refused
    );
    // The tiny test pack is not on the server: it cannot check, and keeps it.
    let tiny = careless_push(2, &photo, &individual, ("tiny", "0.1.0"), 3);
    let reply = mallory.push(tiny.clone()).unwrap();
    assert!(reply.refused.is_empty(), "{reply:?}");

    // Every laptop, old or new, syncs and still identifies.
    let mut ben = Catalogue::create(dir.join("ben")).unwrap();
    let tiny_pack = whaleid::packs::Pack::load(kit::tiny_pack()).unwrap();
    whaleid::packs::binding::bind_pack(&mut ben, &tiny_pack).unwrap();
    run_sync(&mut ben, &server.url, &ana_token, "ben");
    run_sync(&mut ana, &server.url, &ana_token, "ana");
    for (who, cat) in [("ana", &mut ana), ("ben", &mut ben)] {
        searchable(cat, who);
        let problems = cat.check().unwrap();
        assert_eq!(problems.len(), 1, "{who}: {problems:?}");
        assert!(problems[0].contains("3 values"), "{who}: {problems:?}");
        let removed = cat.remove_misfit_vectors().unwrap();
        assert_eq!(removed.len(), 1, "{who}");
        assert_eq!(removed[0].dim, 3);
        assert!(cat.check().unwrap().is_empty(), "{who}");
        searchable(cat, who);
    }

    // A laptop with the tiny pack's folder knows its size: it does not
    // apply the vector, and its sync report says which and why.
    let mut cai = Catalogue::create(dir.join("cai")).unwrap();
    whaleid::packs::binding::bind(&mut cai, &tiny_pack, &kit::tiny_pack()).unwrap();
    let report = run_sync(&mut cai, &server.url, &ana_token, "cai");
    assert_eq!(report.declined.len(), 1, "{:?}", report.declined);
    assert_eq!(report.declined[0].op, tiny[1].id);
    assert!(
        report.declined[0].reason.contains("3 values")
            && report.declined[0].reason.contains("tiny 0.1.0"),
        "{:?}",
        report.declined
    );
    assert!(cai.check().unwrap().is_empty());
    searchable(&cai, "cai");
}
