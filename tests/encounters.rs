//! Encounters as edited records (issue 16): fields set and cleared with
//! who and when, split and join losing nothing, synced between two
//! laptops' catalogues through the real log, planner and applier, and the
//! `whaleid encounter` commands.

mod support;

use whaleid::catalogue::encounters::{find_encounter, Patch, SplitAt};
use whaleid::catalogue::Catalogue;
use whaleid::sync::log::collect;
use whaleid_testkit::{self as kit, import_all, labelled, pipeline};

use support::{s, stdout, text, whaleid};

/// Six photos of two whales, taken a minute apart from 10:00 on 1 June
/// 2024 (in the order of their bytes), in one encounter made as an ingest
/// makes them: a row with the photos' span and mean position, then each
/// photo moved into it.
fn surveyed(dir: &std::path::Path, name: &str) -> (Catalogue, Vec<i64>) {
    let mut cat = Catalogue::create(dir.join(name)).unwrap();
    import_all(&mut cat, &pipeline(), &labelled(&dir.join("p"), &[1, 2]));
    let photos = photos(&cat);
    let db = kit::sql(&cat);
    for (i, p) in photos.iter().enumerate() {
        db.execute(
            "UPDATE photos SET taken_at = ?2 WHERE id = ?1",
            rusqlite::params![p, format!("2024-06-01T10:{i:02}:00")],
        )
        .unwrap();
    }
    (cat, photos)
}

/// Put every photo of `cat` in one new encounter with UUID `uuid`.
fn one_encounter(cat: &Catalogue, uuid: &str) -> i64 {
    let db = kit::sql(cat);
    db.execute(
        "INSERT INTO encounters (uuid, started_at, ended_at, latitude, longitude)
         VALUES (?1, '2024-06-01T10:00:00', '2024-06-01T10:05:00', -35.2, 174.1)",
        [uuid],
    )
    .unwrap();
    let id = db.last_insert_rowid();
    db.execute("UPDATE photos SET encounter_id = ?1", [id])
        .unwrap();
    id
}

/// Photo numbers in the order of their bytes (the same order on every
/// laptop that imported the same files).
fn photos(cat: &Catalogue) -> Vec<i64> {
    let db = kit::sql(cat);
    let mut stmt = db.prepare("SELECT id FROM photos ORDER BY sha256").unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

const UUID: &str = "0190f000-0000-7000-8000-00000000e001";

#[test]
fn an_encounter_is_edited_field_by_field_with_who_and_when_and_bad_values_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (mut cat, _) = surveyed(dir.path(), "cat");
    let e = one_encounter(&cat, UUID);
    let patch = Patch {
        place: Some(Some("Bay of Islands".into())),
        observers: Some(vec!["Ana Silva".into(), " Ben Cole ".into()]),
        group_best: Some(Some(12)),
        group_min: Some(Some(10)),
        group_max: Some(Some(15)),
        behaviour: Some(Some("travelling".into())),
        notes: Some(Some("calf with a nicked fin\nseen twice".into())),
        ..Patch::default()
    };
    let r = cat.edit_encounter(e, &patch, "ana").unwrap();
    assert_eq!(r.encounter.place.as_deref(), Some("Bay of Islands"));
    assert_eq!(r.encounter.observers, ["Ana Silva", "Ben Cole"]);
    assert_eq!(r.encounter.group.best, Some(12));
    assert_eq!(r.encounter.photos, 6);
    assert_eq!(r.photo_ids.len(), 6);
    let by = |r: &whaleid::catalogue::encounters::EncounterRecord, f: &str| {
        r.edits
            .iter()
            .find(|x| x.field.as_str() == f)
            .and_then(|x| x.by.clone())
    };
    assert_eq!(by(&r, "place").as_deref(), Some("ana"));
    assert_eq!(by(&r, "group").as_deref(), Some("ana"));
    // The fields the encounter was made with have no editor.
    assert_eq!(by(&r, "position"), None);
    assert!(r.edits.iter().all(|x| x.at.ends_with('Z')));

    // Ben clears the place and moves the best estimate; the rest stays.
    let r = cat
        .edit_encounter(
            e,
            &Patch {
                place: Some(None),
                group_best: Some(Some(11)),
                position: Some(Some((-35.25, 174.125))),
                ..Patch::default()
            },
            "ben",
        )
        .unwrap();
    assert_eq!(r.encounter.place, None);
    assert_eq!(r.encounter.group.best, Some(11));
    assert_eq!(r.encounter.latitude, Some(-35.25));
    assert_eq!(by(&r, "place").as_deref(), Some("ben"));
    assert_eq!(by(&r, "position").as_deref(), Some("ben"));
    assert_eq!(by(&r, "behaviour").as_deref(), Some("ana"));

    // Refused, each with its reason, and nothing changed.
    let before = cat.encounter_record(e).unwrap();
    for (bad, why) in [
        (
            Patch {
                group_min: Some(Some(13)),
                ..Patch::default()
            },
            "minimum (13) is greater than the best (11)",
        ),
        (
            Patch {
                position: Some(Some((91.0, 0.0))),
                ..Patch::default()
            },
            "out of range",
        ),
        (
            Patch {
                started_at: Some(Some("2024-02-30".into())),
                ..Patch::default()
            },
            "2024-02-30",
        ),
        (
            Patch {
                ended_at: Some(Some("2024-05-31".into())),
                ..Patch::default()
            },
            "before it starts",
        ),
        (
            Patch {
                vessel: Some(Some("Ocean\u{7}Spirit".into())),
                ..Patch::default()
            },
            "control characters",
        ),
        (Patch::default(), "nothing to change"),
    ] {
        let e = cat.edit_encounter(e, &bad, "ana").unwrap_err().to_string();
        assert!(e.contains(why), "{e}");
    }
    assert_eq!(cat.encounter_record(e).unwrap(), before);
    let some = Patch {
        place: Some(None),
        ..Patch::default()
    };
    let missing = cat
        .edit_encounter(9999, &some, "ana")
        .unwrap_err()
        .to_string();
    assert!(missing.contains("#9999"), "{missing}");
    assert_eq!(find_encounter(&cat, UUID).unwrap(), e);
    assert_eq!(find_encounter(&cat, &format!("#{e}")).unwrap(), e);
}

#[test]
fn split_and_join_move_photos_copy_fields_and_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (mut cat, photos) = surveyed(dir.path(), "cat");
    let e = one_encounter(&cat, UUID);
    cat.edit_encounter(
        e,
        &Patch {
            place: Some(Some("Reef".into())),
            notes: Some(Some("first notes".into())),
            ..Patch::default()
        },
        "ana",
    )
    .unwrap();

    // Photos taken at or after 10:04 go to a new encounter with the fields.
    let late = cat
        .split_encounter(e, &SplitAt::Time("2024-06-01T10:04".into()), "ana")
        .unwrap();
    assert_eq!(late.photo_ids, photos[4..]);
    assert_eq!(late.encounter.place.as_deref(), Some("Reef"));
    assert_eq!(late.encounter.latitude, Some(-35.2));
    assert_ne!(late.encounter.uuid, UUID);
    assert_eq!(cat.encounter(e).unwrap().photos, 4);
    // A list of photos; one not in the encounter is refused by number.
    let mid = cat
        .split_encounter(e, &SplitAt::Photos(vec![photos[2]]), "ben")
        .unwrap();
    assert_eq!(mid.photo_ids, [photos[2]]);
    let err = cat
        .split_encounter(e, &SplitAt::Photos(vec![photos[5]]), "ben")
        .unwrap_err()
        .to_string();
    assert!(err.contains(&format!("photo #{}", photos[5])), "{err}");
    let err = cat
        .split_encounter(e, &SplitAt::Time("2024-06-01T09:00".into()), "ben")
        .unwrap_err()
        .to_string();
    assert!(err.contains("leaves photos on both sides"), "{err}");
    assert_eq!(cat.encounters(None, None).unwrap().len(), 3);

    // Join the split-off parts back: the kept one's fields win, its empty
    // ones take the others', the others are marked and kept.
    cat.edit_encounter(
        late.encounter.id,
        &Patch {
            notes: Some(Some("later notes".into())),
            vessel: Some(Some("RV Tui".into())),
            ..Patch::default()
        },
        "ben",
    )
    .unwrap();
    let joined = cat
        .join_encounters(e, &[late.encounter.id, mid.encounter.id], "ana")
        .unwrap();
    assert_eq!(joined.encounter.photos, 6);
    assert_eq!(joined.encounter.notes.as_deref(), Some("first notes"));
    assert_eq!(joined.encounter.vessel.as_deref(), Some("RV Tui"));
    let gone = cat.encounter(late.encounter.id).unwrap();
    assert_eq!(gone.joined_into, Some(e));
    assert_eq!(
        gone.notes.as_deref(),
        Some("later notes"),
        "kept, not deleted"
    );
    assert_eq!(gone.photos, 0);
    let listed: Vec<i64> = cat
        .encounters(None, None)
        .unwrap()
        .iter()
        .map(|x| x.id)
        .collect();
    assert_eq!(listed, [e]);
    let err = cat
        .join_encounters(e, &[late.encounter.id], "ana")
        .unwrap_err()
        .to_string();
    assert!(err.contains("joined into"), "{err}");
    let err = cat
        .edit_encounter(
            late.encounter.id,
            &Patch {
                place: Some(None),
                ..Patch::default()
            },
            "ana",
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains(&format!("joined into #{e}")), "{err}");
    // Date filters.
    assert_eq!(cat.encounters(Some("2024-06-02"), None).unwrap().len(), 0);
    assert_eq!(cat.encounters(None, Some("2024-06-01")).unwrap().len(), 1);
    assert!(cat.encounters(Some("June"), None).is_err());
}

/// Ana's survey encounter reaches Ben (he imported the same photos); then,
/// offline, Ana splits it at 10:03 and sets its group size, while Ben,
/// later, sets its place and notes. After syncing both ways both hold the
/// same two encounters: the old one with Ben's edits and Ana's group size,
/// the new one with the fields as Ana copied them, and the photos where
/// Ana's split put them.
#[test]
fn two_laptops_splitting_and_editing_one_encounter_converge() {
    let dir = tempfile::tempdir().unwrap();
    let (mut ana, _) = surveyed(dir.path(), "ana");
    let (mut ben, _) = surveyed(dir.path(), "ben");
    let e = one_encounter(&ana, UUID);
    kit::relay_all(&mut ana, &mut ben, "ana", "ben");
    kit::relay_all(&mut ben, &mut ana, "ben", "ana");
    let dump = |c: &Catalogue| whaleid::sync::state::canonical(c).unwrap();
    assert_eq!(dump(&ana), dump(&ben));
    let on_ben = find_encounter(&ben, UUID).unwrap();
    assert_eq!(ben.encounter(on_ben).unwrap().photos, 6);
    assert_eq!(ben.encounter(on_ben).unwrap().latitude, Some(-35.2));

    let new = ana
        .split_encounter(e, &SplitAt::Time("2024-06-01T10:03".into()), "ana")
        .unwrap();
    ana.edit_encounter(
        e,
        &Patch {
            group_best: Some(Some(4)),
            ..Patch::default()
        },
        "ana",
    )
    .unwrap();
    collect(&mut ana, "ana").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    ben.edit_encounter(
        on_ben,
        &Patch {
            place: Some(Some("Russell".into())),
            notes: Some(Some("dolphins bow-riding".into())),
            ..Patch::default()
        },
        "ben",
    )
    .unwrap();
    collect(&mut ben, "ben").unwrap();

    kit::relay_all(&mut ana, &mut ben, "ana", "ben");
    kit::relay_all(&mut ben, &mut ana, "ben", "ana");
    assert_eq!(dump(&ana), dump(&ben));
    for cat in [&ana, &ben] {
        let old = cat
            .encounter_record(find_encounter(cat, UUID).unwrap())
            .unwrap();
        assert_eq!(old.encounter.place.as_deref(), Some("Russell"));
        assert_eq!(old.encounter.group.best, Some(4));
        assert_eq!(old.encounter.photos, 3);
        let place_by = old.edits.iter().find(|x| x.field.as_str() == "place");
        assert_eq!(place_by.unwrap().by.as_deref(), Some("ben"));
        let split = cat
            .encounter(find_encounter(cat, &new.encounter.uuid).unwrap())
            .unwrap();
        assert_eq!(split.photos, 3);
        assert_eq!(split.place, None, "copied before Ben named the place");
        assert_eq!(split.started_at.as_deref(), Some("2024-06-01T10:00:00"));
    }

    // Ben joins them back, later: both end with one encounter of six.
    let split_on_ben = find_encounter(&ben, &new.encounter.uuid).unwrap();
    ben.join_encounters(on_ben, &[split_on_ben], "ben").unwrap();
    kit::relay_all(&mut ben, &mut ana, "ben", "ana");
    assert_eq!(dump(&ana), dump(&ben));
    let listed = ana.encounters(None, None).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].uuid.as_str(), listed[0].photos), (UUID, 6));
    assert_eq!(
        ana.encounter(new.encounter.id).unwrap().joined_into,
        Some(e)
    );
}

#[test]
fn the_cli_lists_shows_edits_splits_and_joins_encounters() {
    let dir = tempfile::tempdir().unwrap();
    let (cat, photos) = surveyed(dir.path(), "cat");
    let e = one_encounter(&cat, UUID).to_string();
    let c = s(cat.root()).to_string();
    drop(cat);
    let run = |args: &[&str]| -> serde_json::Value {
        let out = whaleid(args);
        assert!(out.status.success(), "{}", text(&out));
        serde_json::from_str(stdout(&out).trim()).unwrap()
    };
    let v = run(&[
        "encounter",
        "edit",
        &e,
        "-c",
        &c,
        "--author",
        "ana",
        "--place",
        "Bay of \u{202e}Islands",
        "--lat",
        "-35.25",
        "--lon",
        "174.5",
        "--observers",
        "Ana Silva; Ben Cole",
        "--vessel",
        "RV Tui",
        "--group-best",
        "12",
        "--group-min",
        "10",
        "--group-max",
        "15",
        "--behaviour",
        "feeding",
        "--notes",
        "calm sea",
        "--start",
        "2024-06-01 09:58",
    ]);
    assert_eq!(v["observers"], serde_json::json!(["Ana Silva", "Ben Cole"]));
    assert_eq!(v["group"]["max"], 15);
    assert_eq!(v["latitude"], -35.25);
    assert_eq!(v["started_at"], "2024-06-01T09:58:00");
    assert_eq!(v["uuid"], UUID);
    // Hidden characters in user text are escaped on the way out.
    let out = whaleid(&["encounter", "show", UUID, "-c", &c]);
    let shown = stdout(&out);
    assert!(shown.contains("Bay of \\u202eIslands"), "{shown}");
    assert!(!shown.contains('\u{202e}'));

    let v = run(&[
        "encounter",
        "edit",
        &e,
        "-c",
        &c,
        "--author",
        "ben",
        "--clear",
        "place,group",
    ]);
    assert!(v["place"].is_null() && v["group"]["best"].is_null());
    assert_eq!(v["vessel"], "RV Tui");
    let out = whaleid(&[
        "encounter",
        "edit",
        &e,
        "-c",
        &c,
        "--author",
        "ben",
        "--group-min",
        "3",
        "--group-best",
        "2",
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("greater than the best"),
        "{}",
        text(&out)
    );

    let new = run(&[
        "encounter",
        "split",
        &e,
        "-c",
        &c,
        "--author",
        "ana",
        "--at",
        "2024-06-01T10:03",
    ]);
    assert_eq!(new["photos"], 3);
    assert_eq!(new["vessel"], "RV Tui");
    let p = photos[0].to_string();
    let mid = run(&[
        "encounter",
        "split",
        &e,
        "-c",
        &c,
        "--author",
        "ana",
        "--photos",
        &p,
    ]);
    assert_eq!(mid["photo_ids"], serde_json::json!([photos[0]]));

    let out = whaleid(&["encounter", "list", "-c", &c, "--from", "2024-06-01"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(stdout(&out).lines().count(), 3);

    let (n, m) = (new["id"].to_string(), mid["id"].to_string());
    let kept = run(&["encounter", "join", &e, &n, &m, "-c", &c, "--author", "ben"]);
    assert_eq!(kept["photos"], 6);
    let out = whaleid(&["encounter", "list", "-c", &c]);
    assert_eq!(stdout(&out).lines().count(), 1);
    let out = whaleid(&["encounter", "show", "#999", "-c", &c]);
    assert!(!out.status.success());
    assert!(text(&out).contains("encounter #999 is not in this catalogue"));
}

/// The publication formats take the encounter record: Darwin Core's
/// eventID, recordedBy (the observers), locality, behavior, eventRemarks
/// and the group size in dynamicProperties; the Wildbook sheet's
/// occurrenceID, locationID and photographer; SOCPROG's group.
#[test]
fn exports_carry_the_encounter_record() {
    use whaleid::catalogue::publish::dwca::DatasetInfo;
    use whaleid::catalogue::publish::Filter;
    let dir = tempfile::tempdir().unwrap();
    let (mut cat, _) = surveyed(dir.path(), "cat");
    let e = one_encounter(&cat, UUID);
    let db = kit::sql(&cat);
    db.execute_batch(
        "UPDATE photos SET latitude = -35.2, longitude = 174.1;
         UPDATE individuals SET species = 'humpback_whale';",
    )
    .unwrap();
    cat.edit_encounter(
        e,
        &Patch {
            place: Some(Some("Bay of Islands".into())),
            observers: Some(vec!["Ana Silva".into(), "Ben Cole".into()]),
            group_best: Some(Some(7)),
            group_min: Some(Some(5)),
            behaviour: Some(Some("feeding".into())),
            notes: Some(Some("calm\tsea".into())),
            vessel: Some(Some("RV Tui".into())),
            ..Patch::default()
        },
        "ana",
    )
    .unwrap();

    let zip_path = dir.path().join("a.zip");
    let info = DatasetInfo {
        title: "Bay dolphins".into(),
        contact: "Ana Silva <ana@example.org>".into(),
        licence: "CC-BY-4.0".into(),
        description: None,
    };
    let report = cat
        .export_dwca(&zip_path, &Filter::default(), &info)
        .unwrap();
    assert_eq!(report.records, 6, "{:?}", report.left_out);
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&zip_path).unwrap()).unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("occurrence.txt").unwrap(), &mut text).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let row: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let cell = |name: &str| row[header.iter().position(|h| *h == name).unwrap()];
    assert_eq!(cell("eventID"), UUID);
    assert_eq!(cell("recordedBy"), "Ana Silva | Ben Cole");
    assert_eq!(cell("locality"), "Bay of Islands");
    assert_eq!(cell("behavior"), "feeding");
    assert_eq!(cell("eventRemarks"), "calm sea");
    let props: serde_json::Value = serde_json::from_str(cell("dynamicProperties")).unwrap();
    assert_eq!(props["groupSize"]["best"], 7);
    assert_eq!(props["groupSize"]["min"], 5);
    assert_eq!(props["platform"], "RV Tui");

    let sheet = dir.path().join("w.csv");
    cat.export_wildbook(&sheet, &Filter::default()).unwrap();
    let mut r = csv::Reader::from_path(&sheet).unwrap();
    let header = r.headers().unwrap().clone();
    let first = r.records().next().unwrap().unwrap();
    let col = |name: &str| &first[header.iter().position(|h| h == name).unwrap()];
    assert_eq!(col("Encounter.occurrenceID"), UUID);
    assert_eq!(col("Encounter.locationID"), "Bay of Islands");
    assert_eq!(col("Encounter.photographer0.fullName"), "Ana Silva");

    let table = dir.path().join("s.csv");
    cat.export_socprog(&table, &Filter::default()).unwrap();
    let mut r = csv::Reader::from_path(&table).unwrap();
    let groups: std::collections::BTreeSet<String> =
        r.records().map(|x| x.unwrap()[4].to_string()).collect();
    assert_eq!(groups, [e.to_string()].into());
}
