//! Two laptops' catalogues exchanging operations through the engine's log,
//! planner and applier (the transport comes on top of this): each made with
//! the tiny test pack through real ONNX Runtime and SQLite, then edited
//! offline, then synced both ways. They must end in the same state, and
//! receiving the same operations again must change nothing.

use whaleid::catalogue::records::Source;
use whaleid::catalogue::Catalogue;
use whaleid::ingest::{labels, Labelled, Pipeline};
use whaleid::packs::Pack;
use whaleid::sync::apply::receive;
use whaleid::sync::log::{collect, unpushed};
use whaleid::sync::plan::{Action, Conflict};
use whaleid::CancelToken;
use whaleid_testkit as kit;
use whaleid_testkit::{import_all, labelled_folder, photo, pipeline, session, PATCH};

fn dump(cat: &Catalogue) -> String {
    whaleid::sync::state::canonical(cat).unwrap()
}

#[test]
fn two_laptops_that_worked_offline_converge_and_a_resent_batch_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let labels_csv = labelled_folder(dir.path());
    let items = labels::read_csv(&labels_csv, &dir.path().join("images")).unwrap();
    let pipeline = pipeline();

    // Ana imports the whole labelled set.
    let mut ana = Catalogue::create(dir.path().join("ana")).unwrap();
    import_all(&mut ana, &pipeline, &items);
    // Ben imports the photos of W000..W002 too (the same files) and a photo
    // of his own, then works: a merge, a rename, a decision against Ana's.
    let mut ben = Catalogue::create(dir.path().join("ben")).unwrap();
    let shared: Vec<Labelled> = items
        .iter()
        .filter(|i| ["W000", "W001", "W002"].contains(&i.individual.as_str()))
        .cloned()
        .collect();
    import_all(&mut ben, &pipeline, &shared);
    let own = dir.path().join("ben-own.png");
    photo(9, 50, 40).save(&own).unwrap();
    import_all(
        &mut ben,
        &pipeline,
        &[Labelled {
            path: own,
            individual: "B-NEW".into(),
            species: None,
            bbox: Some(whaleid::detect::BBox {
                x1: 50.0,
                y1: 40.0,
                x2: 50.0 + PATCH.0 as f32,
                y2: 40.0 + PATCH.1 as f32,
            }),
        }],
    );
    ben.merge("W001", "W002", Some("ben")).unwrap();
    ben.rename("W000", "Notch", Some("ben")).unwrap();
    let first_detection: i64 = kit::sql(&ben)
        .query_row("SELECT min(id) FROM detections", [], |r| r.get(0))
        .unwrap();
    let b_new = ben.individual("B-NEW").unwrap().id;
    ben.with_tx(|tx| {
        tx.decide(
            first_detection,
            b_new,
            true,
            Source::Person,
            Some("ben"),
            None,
        )
        .map(|_| ())
    })
    .unwrap();

    // Ana syncs first, then Ben, then Ana again: as a server relays.
    let to_ben = kit::relay(&mut ana, &mut ben, "ana", "ben");
    let to_ana = kit::relay(&mut ben, &mut ana, "ben", "ana");
    for (who, plan) in [("ben", &to_ben), ("ana", &to_ana)] {
        let refused: Vec<&Action> = plan
            .actions
            .iter()
            .filter(|a| matches!(a, Action::Refuse { .. }))
            .collect();
        assert!(refused.is_empty(), "{who}: {refused:?}");
    }
    // The shared photos became one photo each, on both sides.
    let same = to_ben
        .actions
        .iter()
        .filter(|a| matches!(a, Action::SamePhoto { .. }))
        .count();
    assert_eq!(same, 12, "W000..W002 × 4 photos were imported on both");
    // Both made "W000".."W002": clashes are reported, nothing merged silently.
    assert!(to_ben
        .conflicts
        .iter()
        .any(|c| matches!(c, Conflict::CodeClash { code, .. } if code == "W001")));

    assert_eq!(dump(&ana), dump(&ben));
    let photos: i64 = kit::sql(&ana)
        .query_row("SELECT count(*) FROM photos", [], |r| r.get(0))
        .unwrap();
    assert_eq!(photos, 25, "24 shared or Ana's, one Ben's own");
    // Ben's decision about Ana's detection is on both, and it counts.
    assert!(to_ana
        .actions
        .iter()
        .any(|a| matches!(a, Action::Decide { current: true, .. })));
    assert!(ana.check().unwrap().is_empty() && ben.check().unwrap().is_empty());

    // The same batch again (a retry after a cut connection) changes nothing.
    let before = dump(&ana);
    let again = unpushed_all(&mut ben);
    let plan = receive(&mut ana, &again, "ana").unwrap();
    assert_eq!(
        plan.changes(),
        0,
        "{:?}",
        plan.actions.iter().take(3).collect::<Vec<_>>()
    );
    assert_eq!(dump(&ana), before);
    // And nothing received is sent back.
    assert_eq!(collect(&mut ana, "ana").unwrap(), 0);
    assert!(unpushed(&ana, 10).unwrap().is_empty());
}

/// Every operation Ben ever made, as a resend would carry them.
fn unpushed_all(cat: &mut Catalogue) -> Vec<whaleid::sync::ops::Op> {
    let db = kit::sql(cat);
    let mut stmt = db
        .prepare("SELECT body FROM sync_ops WHERE origin = 'local' ORDER BY seq")
        .unwrap();
    stmt.query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(|b| serde_json::from_str(&b.unwrap()).unwrap())
        .collect()
}

/// Two laptops ingest the same whole-frame survey photo (two animals on
/// it), then box it offline: Ana and Ben each box the left animal (their
/// boxes overlap: one box moved on two laptops), and Ben also boxes the
/// right one. After syncing both ways, both have the same live boxes: the
/// later of the two left boxes and Ben's right box, the whole frame removed.
#[test]
fn boxes_drawn_on_one_photo_on_two_laptops_end_the_same_on_both() {
    use whaleid::embed::Embedder;
    use whaleid::ingest::boxes::{self, BoxModels};
    use whaleid::ingest::survey::{ingest, IngestOptions};

    let dir = tempfile::tempdir().unwrap();
    let pack = Pack::load(kit::pack_dir("tiny-nodetector")).unwrap();
    let config = session();
    let pipeline = Pipeline::open(pack.clone(), &config).unwrap();
    let embedder = Embedder::open(&pack, &config).unwrap();
    let models = BoxModels {
        pack: &pack,
        embedder: &embedder,
    };
    let mut img = image::RgbImage::from_pixel(200, 150, image::Rgb([238, 240, 236]));
    image::imageops::replace(&mut img, &kit::patch(3), 20, 30);
    image::imageops::replace(&mut img, &kit::patch(4), 120, 90);
    let file = dir.path().join("survey.png");
    img.save(&file).unwrap();
    let cancel = CancelToken::new();
    let laptop = |name: &str| {
        let mut cat = Catalogue::create(dir.path().join(name)).unwrap();
        ingest(
            &mut cat,
            &pipeline,
            std::slice::from_ref(&file),
            &IngestOptions::default(),
            &mut |_| {},
            &cancel,
        )
        .unwrap();
        let photo = boxes::find_photo(&cat, file.to_str().unwrap()).unwrap();
        let whole = boxes::boxes_of(&cat, photo).unwrap()[0].id;
        (cat, photo, whole)
    };
    let (mut ana, ana_photo, ana_whole) = laptop("ana");
    let (mut ben, ben_photo, ben_whole) = laptop("ben");
    boxes::set_box(
        &mut ana,
        models,
        ana_whole,
        [20.0, 30.0, 80.0, 70.0],
        "ana",
        &cancel,
    )
    .unwrap();
    // Later than Ana's (the clocks are the laptops' own).
    std::thread::sleep(std::time::Duration::from_millis(20));
    boxes::set_box(
        &mut ben,
        models,
        ben_whole,
        [22.0, 31.0, 82.0, 72.0],
        "ben",
        &cancel,
    )
    .unwrap();
    boxes::add_box(
        &mut ben,
        models,
        ben_photo,
        [120.0, 90.0, 180.0, 130.0],
        "ben",
        &cancel,
    )
    .unwrap();

    // Ana syncs first, then Ben, then Ana again: as a server relays.
    kit::relay(&mut ana, &mut ben, "ana", "ben");
    let plan = kit::relay(&mut ben, &mut ana, "ben", "ana");
    kit::relay(&mut ana, &mut ben, "ana", "ben");
    assert!(plan
        .conflicts
        .iter()
        .any(|c| matches!(c, Conflict::BoxMoves { .. })));
    let live = |cat: &Catalogue, photo: i64| -> Vec<([f32; 4], Option<String>)> {
        let mut out: Vec<_> = boxes::boxes_of(cat, photo)
            .unwrap()
            .into_iter()
            .map(|b| (b.bbox, b.drawn_by))
            .collect();
        out.sort_by(|a, b| a.0[0].total_cmp(&b.0[0]));
        out
    };
    let want = vec![
        ([22.0, 31.0, 82.0, 72.0], Some("ben".to_string())),
        ([120.0, 90.0, 180.0, 130.0], Some("ben".to_string())),
    ];
    assert_eq!(live(&ana, ana_photo), want);
    assert_eq!(live(&ben, ben_photo), want);
    assert_eq!(dump(&ana), dump(&ben));
    // The removed boxes are still there, with who removed them.
    let removed: i64 = kit::sql(&ana)
        .query_row(
            "SELECT count(*) FROM detections WHERE removed_at IS NOT NULL AND removed_by IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        removed, 2,
        "the whole frame (one detection on both) and Ana's box"
    );
}
