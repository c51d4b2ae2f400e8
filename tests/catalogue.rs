//! The catalogue as the CLI and app use it: a real SQLite file in a folder.

use whaleid::catalogue::records::{NewPhoto, Source};
use whaleid::catalogue::{keys, migrate, Catalogue, Scope, DB_FILE};
use whaleid::detect::BBox;
use whaleid::photo::Meta;
use whaleid::Error;
use whaleid_testkit as kit;

const PACK: (&str, &str) = ("tiny", "1.0.0");

/// A catalogue with individuals A (2 photos), B (1 photo), C (1 photo),
/// one embedding per detection. Returns the detection ids in photo order.
fn sample(dir: &std::path::Path) -> (Catalogue, Vec<i64>) {
    let mut cat = Catalogue::create(dir).unwrap();
    let mut dets = Vec::new();
    for (i, code) in ["A", "A", "B", "C"].iter().enumerate() {
        let meta = Meta {
            taken_at: Some(format!("2021-06-{:02}T10:00:00", i + 1)),
            latitude: Some(-33.0 - i as f64),
            longitude: Some(151.0),
            ..Meta::default()
        };
        let d = cat
            .with_tx(|tx| {
                let ind = tx.ensure_individual(
                    code,
                    Some(if *code == "C" {
                        "beluga"
                    } else {
                        "humpback_whale"
                    }),
                )?;
                let photo = tx.insert_photo(&NewPhoto {
                    sha256: &format!("{i:064x}"),
                    original_path: &format!("/photos/{i}.jpg"),
                    byte_size: 1000,
                    width: 640,
                    height: 480,
                    meta: &meta,
                })?;
                let det = tx.insert_detection(
                    photo,
                    BBox {
                        x1: 1.0,
                        y1: 2.0,
                        x2: 30.0,
                        y2: 40.0,
                    },
                    "fin",
                    Some(0.9),
                    None,
                )?;
                tx.insert_embedding(det, PACK.0, PACK.1, &[i as f32, 1.0, 0.0])?;
                tx.decide(det, ind, true, Source::Import, Some("labels.csv"), None)?;
                Ok(det)
            })
            .unwrap();
        dets.push(d);
    }
    (cat, dets)
}

fn gallery_individuals(cat: &Catalogue) -> Vec<(i64, String)> {
    cat.gallery(PACK)
        .unwrap()
        .iter()
        .map(|g| {
            (
                g.detection_id,
                cat.individual_by_id(g.individual_id).unwrap().code,
            )
        })
        .collect()
}

#[test]
fn create_then_open_keeps_records_and_settings() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (mut cat, _) = sample(dir.path());
        cat.set_setting(keys::PACK_NAME, "tiny").unwrap();
        cat.set_setting(keys::PACK_NAME, "tiny2").unwrap();
    }
    assert!(dir.path().join("media").is_dir());
    let mut cat = Catalogue::open(dir.path()).unwrap();
    assert_eq!(
        cat.setting(keys::PACK_NAME).unwrap().as_deref(),
        Some("tiny2")
    );
    let stats = cat.stats().unwrap();
    assert_eq!(
        (stats.individuals, stats.photos, stats.embeddings),
        (3, 4, 4)
    );
    assert_eq!(stats.confirmed_detections, 4);
    assert_eq!(stats.schema_version, migrate::latest());
    let mode: String = kit::sql(&cat)
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let fk: i64 = kit::sql(&cat)
        .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
        .unwrap();
    assert_eq!(fk, 1);
    // That was the kit's connection; the engine's own enforces foreign keys
    // too: a detection of a photo that does not exist is refused.
    let orphan = cat.with_tx(|tx| {
        let bbox = BBox {
            x1: 1.0,
            y1: 2.0,
            x2: 30.0,
            y2: 40.0,
        };
        tx.insert_detection(999_999, bbox, "fin", None, None)
    });
    assert!(orphan.is_err(), "{orphan:?}");
    // Stable UUIDs on every record.
    let uuids: i64 = kit::sql(&cat)
        .query_row("SELECT count(DISTINCT uuid) FROM photos", [], |r| r.get(0))
        .unwrap();
    assert_eq!(uuids, 4);
}

#[test]
fn opening_a_folder_without_a_catalogue_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let err = Catalogue::open(dir.path()).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(&dir.path().display().to_string())
            && text.contains("not a WhaleID catalogue"),
        "{text}"
    );
    Catalogue::create(dir.path()).unwrap();
    let err = Catalogue::create(dir.path()).unwrap_err();
    assert!(
        err.to_string().contains("already holds a catalogue"),
        "{err}"
    );
}

#[test]
fn a_file_that_is_not_sqlite_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(DB_FILE),
        b"this is not a database at all, just text......",
    )
    .unwrap();
    let err = Catalogue::open(dir.path()).unwrap_err();
    assert!(matches!(err, Error::Catalogue { .. }), "{err:?}");
    assert!(err.to_string().contains(DB_FILE), "{err}");
    // Nothing was overwritten.
    assert!(std::fs::read(dir.path().join(DB_FILE))
        .unwrap()
        .starts_with(b"this is not"));
}

#[test]
fn a_catalogue_from_a_newer_whaleid_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(Catalogue::create(dir.path()).unwrap());
    let conn = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
    conn.execute(
        "INSERT INTO schema_migrations (version, name) VALUES (99, 'future')",
        [],
    )
    .unwrap();
    drop(conn);
    let err = Catalogue::open(dir.path()).unwrap_err();
    assert!(err.to_string().contains("newer WhaleID"), "{err}");
}

#[test]
fn a_catalogue_from_an_older_whaleid_is_backed_up_beside_itself_before_it_is_upgraded() {
    let dir = tempfile::tempdir().unwrap();
    let older = migrate::latest() - 1;
    let mut conn = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
    migrate::migrate(&mut conn, Some(older)).unwrap();
    conn.execute(
        "INSERT INTO settings (key, value) VALUES ('kept', 'as it was')",
        [],
    )
    .unwrap();
    drop(conn);

    let cat = Catalogue::open(dir.path()).unwrap();
    let upgrade = cat.upgraded().expect("an upgrade").clone();
    assert_eq!((upgrade.from, upgrade.to), (older, migrate::latest()));
    assert_eq!(upgrade.backup.parent(), Some(dir.path()));
    let name = upgrade.backup.file_name().unwrap().to_string_lossy();
    assert!(
        name.starts_with(&format!("catalogue.schema-v{older}-backup-")),
        "{name}"
    );
    assert_eq!(cat.setting("kept").unwrap().as_deref(), Some("as it was"));
    drop(cat);

    // The backup is the catalogue as it was: the older schema, its rows.
    let backup = rusqlite::Connection::open(&upgrade.backup).unwrap();
    assert_eq!(migrate::version(&backup).unwrap(), older);
    let kept: String = backup
        .query_row("SELECT value FROM settings WHERE key = 'kept'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(kept, "as it was");
    drop(backup);

    // Opening it again upgrades nothing and copies nothing.
    assert_eq!(Catalogue::open(dir.path()).unwrap().upgraded(), None);
    let backups = kit::names_in(dir.path())
        .iter()
        .filter(|n| n.contains("-backup-"))
        .count();
    assert_eq!(backups, 1);
    // A new catalogue is not an upgrade.
    let fresh = tempfile::tempdir().unwrap();
    assert_eq!(Catalogue::create(fresh.path()).unwrap().upgraded(), None);
}

#[test]
fn decisions_keep_their_history() {
    let dir = tempfile::tempdir().unwrap();
    let (mut cat, dets) = sample(dir.path());
    let b = cat.individual("B").unwrap().id;
    let a = cat.individual("A").unwrap().id;
    cat.with_tx(|tx| tx.decide(dets[0], b, true, Source::Person, Some("ana"), Some(0.8)))
        .unwrap();
    assert_eq!(cat.current_individual(dets[0]).unwrap(), Some(b));
    let history = cat.history(dets[0]).unwrap();
    assert_eq!(history.len(), 2);
    assert!(history[0].current && history[0].individual_id == b && history[0].source == "person");
    assert!(!history[1].current && history[1].individual_id == a && history[1].source == "import");
    // A rejection supersedes too: the detection then shows nobody.
    cat.with_tx(|tx| tx.decide(dets[0], b, false, Source::Person, Some("ana"), None))
        .unwrap();
    assert_eq!(cat.current_individual(dets[0]).unwrap(), None);
    assert_eq!(cat.history(dets[0]).unwrap().len(), 3);
    assert!(!gallery_individuals(&cat).iter().any(|(d, _)| *d == dets[0]));
}

#[test]
fn merge_and_undo_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let (mut cat, dets) = sample(dir.path());
    let before = gallery_individuals(&cat);
    let event = cat.merge("B", "A", Some("ana")).unwrap();
    assert_eq!(event.kind, "merge");
    let merged = gallery_individuals(&cat);
    assert_eq!(merged.iter().filter(|(_, c)| c == "A").count(), 3);
    assert_eq!(
        cat.detections_of(cat.individual("B").unwrap().id).unwrap(),
        vec![dets[0], dets[1], dets[2]]
    );
    assert_eq!(cat.stats().unwrap().individuals, 2);
    // Merging again, or into itself, is refused with a reason.
    assert!(cat
        .merge("B", "A", None)
        .unwrap_err()
        .to_string()
        .contains("already the same"));
    assert!(cat.merge("A", "A", None).is_err());
    // Chains resolve: C into B (already in A) means C counts for A.
    let e2 = cat.merge("C", "B", None).unwrap();
    assert_eq!(
        gallery_individuals(&cat)
            .iter()
            .filter(|(_, c)| c == "A")
            .count(),
        4
    );
    cat.undo(e2.id, None).unwrap();
    let undo = cat.undo(event.id, Some("ana")).unwrap();
    assert_eq!(undo.kind, "unmerge");
    assert_eq!(gallery_individuals(&cat), before);
    assert!(cat
        .undo(event.id, None)
        .unwrap_err()
        .to_string()
        .contains("already undone"));
    let b = cat.individual("B").unwrap().id;
    let kinds: Vec<_> = cat.events(b).unwrap().into_iter().map(|e| e.kind).collect();
    // C was merged into B's end of chain (A), so B's own events are its merge and unmerge.
    assert_eq!(kinds, ["merge", "unmerge"]);
    let c = cat.individual("C").unwrap();
    assert_eq!(c.merged_into, None);
    let a = cat.individual("A").unwrap().id;
    assert_eq!(cat.events(c.id).unwrap()[0].other_id, Some(a));
}

#[test]
fn split_and_undo_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let (mut cat, dets) = sample(dir.path());
    let before = gallery_individuals(&cat);
    let (new, event) = cat.split("A", &[dets[1]], "A2", Some("ana")).unwrap();
    assert_eq!(new.species.as_deref(), Some("humpback_whale"));
    assert_eq!(cat.current_individual(dets[1]).unwrap(), Some(new.id));
    assert_eq!(
        cat.current_individual(dets[0]).unwrap(),
        Some(cat.individual("A").unwrap().id)
    );
    // The old decision is still there, superseded.
    assert_eq!(cat.history(dets[1]).unwrap().len(), 2);
    // Detections that do not show A cannot be split off it.
    let err = cat.split("A", &[dets[2]], "A3", None).unwrap_err();
    assert!(err.to_string().contains("not A"), "{err}");
    assert!(
        cat.individual("A3").is_err(),
        "a refused split created nothing"
    );
    cat.undo(event.id, Some("ana")).unwrap();
    assert_eq!(gallery_individuals(&cat), before);
    assert_eq!(cat.history(dets[1]).unwrap().len(), 3);
}

#[test]
fn split_after_a_merge_moves_photos_of_the_merged_individual() {
    let dir = tempfile::tempdir().unwrap();
    let (mut cat, dets) = sample(dir.path());
    cat.merge("B", "A", None).unwrap();
    let (new, _) = cat.split("A", &[dets[2]], "B-again", None).unwrap();
    assert_eq!(cat.current_individual(dets[2]).unwrap(), Some(new.id));
}

#[test]
fn rename_keeps_the_old_code_as_an_alias_and_undoes() {
    let dir = tempfile::tempdir().unwrap();
    let (mut cat, _) = sample(dir.path());
    let a = cat.individual("A").unwrap();
    let e = cat.rename("A", "Sputnik", None).unwrap();
    assert_eq!(cat.individual("Sputnik").unwrap().id, a.id);
    assert_eq!(
        cat.individual("A").unwrap().id,
        a.id,
        "old code is an alias"
    );
    assert!(cat.rename("B", "Sputnik", None).is_err());
    cat.undo(e.id, None).unwrap();
    assert_eq!(cat.individual("A").unwrap().code, "A");
}

#[test]
fn scope_limits_by_species_date_and_region() {
    let dir = tempfile::tempdir().unwrap();
    let (cat, _) = sample(dir.path());
    let gallery = cat.gallery(PACK).unwrap();
    let count = |s: &Scope| gallery.iter().filter(|g| s.admits(g)).count();
    assert_eq!(count(&Scope::default()), 4);
    assert_eq!(
        count(&Scope {
            species: Some("beluga".into()),
            ..Scope::default()
        }),
        1
    );
    let dates = Scope {
        date_from: Some("2021-06-02".into()),
        date_to: Some("2021-06-03".into()),
        ..Scope::default()
    };
    assert_eq!(count(&dates), 2);
    assert_eq!(dates.to_string(), "dates 2021-06-02..2021-06-03");
    let region = Scope {
        region: Some((-34.5, 150.0, -32.5, 152.0)),
        ..Scope::default()
    };
    assert_eq!(count(&region), 2);
}

#[test]
fn backup_is_a_consistent_openable_copy_and_check_finds_nothing_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let (cat, _) = sample(dir.path());
    std::fs::create_dir_all(cat.media_dir().join("crops")).unwrap();
    std::fs::write(cat.media_dir().join("crops/x.jpg"), b"crop").unwrap();
    assert_eq!(cat.check().unwrap(), Vec::<String>::new());
    let dest = tempfile::tempdir().unwrap();
    let dest = dest.path().join("backup");
    cat.backup(&dest).unwrap();
    let copy = Catalogue::open(&dest).unwrap();
    assert_eq!(copy.stats().unwrap().embeddings, 4);
    assert_eq!(copy.gallery(PACK).unwrap().len(), 4);
    assert_eq!(
        std::fs::read(dest.join("media/crops/x.jpg")).unwrap(),
        b"crop"
    );
    assert!(cat.backup(&dest).is_err(), "never overwrites a catalogue");
}

#[test]
fn check_reports_a_dangling_reference() {
    let dir = tempfile::tempdir().unwrap();
    let (cat, _) = sample(dir.path());
    kit::sql(&cat)
        .execute_batch(
            "PRAGMA foreign_keys = OFF; DELETE FROM photos WHERE id = 1; PRAGMA foreign_keys = ON;",
        )
        .unwrap();
    let problems = cat.check().unwrap();
    assert!(
        problems.iter().any(|p| p.contains("detections")),
        "{problems:?}"
    );
}
