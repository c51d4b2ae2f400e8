//! The Darwin Core Archive of `whaleid catalogue export --dwca` (issue 16),
//! read back with python-dwca-reader, the reader GBIF's and OBIS's users
//! open archives with (installed in `.venv` by `scripts/setup.sh`), not
//! with the writer's own parser.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use support::{s, text, whaleid};
use whaleid::catalogue::attributes::{Distinctiveness, Edit, Part, Quality, Side};
use whaleid::catalogue::Catalogue;
use whaleid_testkit::{self as kit, import_all, labelled, pipeline};

/// The reader's checks, done in Python with the reader's own objects; it
/// prints what it found as JSON for the test to compare.
const READ: &str = r#"
import json, sys
from dwca.read import DwCAReader

DWC = "http://rs.tdwg.org/dwc/terms/"
REQUIRED = ["occurrenceID", "eventDate", "decimalLatitude", "decimalLongitude",
            "scientificName", "occurrenceStatus", "basisOfRecord"]
with DwCAReader(sys.argv[1]) as archive:
    core = archive.descriptor.core
    assert core.type == DWC + "Occurrence", core.type
    exts = [e.type for e in archive.descriptor.extensions]
    assert exts == ["http://rs.gbif.org/terms/1.0/Multimedia"], exts
    records = []
    for row in archive:
        for term in REQUIRED + ["scientificNameID", "eventID", "organismID"]:
            assert row.data.get(DWC + term, "") != "", (term, row.id, row.data)
        assert row.id == row.data[DWC + "occurrenceID"]
        media = [m for m in row.extensions]
        assert len(media) == 1 and media[0].core_id == row.id, (row.id, media)
        m = media[0].data
        records.append({
            "id": row.id,
            **{k[len(DWC):]: v for k, v in row.data.items() if k.startswith(DWC)},
            "media_type": m["http://purl.org/dc/terms/type"],
            "media_format": m["http://purl.org/dc/terms/format"],
            "media_identifier": m["http://purl.org/dc/terms/identifier"],
        })
    eml = archive.metadata
    print(json.dumps({
        "records": records,
        "title": eml.find("dataset/title").text,
        "contact": eml.find("dataset/contact/electronicMailAddress").text,
        "licence": eml.find("dataset/intellectualRights/para/ulink").get("url"),
    }))
"#;

/// Three individuals, three photos each (`k{K}_{J}.png` of `W{K}`):
/// W1 a humpback, every photo dated and placed, k1_0 and k1_1 in one
/// encounter, k1_2 a model's decision; W2, Kim Lee's decision on k2_0, a killer whale under Kaggle's
/// typo, k2_1 undated and k2_2 with no position; W3 a species the table
/// does not know. k1_0 is graded Q1 D2, left dorsal fin; k1_1 Q3.
fn catalogue(dir: &Path) -> PathBuf {
    let root = dir.join("cat");
    let mut cat = Catalogue::create(&root).unwrap();
    import_all(&mut cat, &pipeline(), &labelled(&dir.join("p"), &[1, 2, 3]));
    let db = kit::sql(&cat);
    db.execute_batch(
            "UPDATE photos SET taken_at = '2024-06-0' || (id % 3 + 1) || 'T10:00:00',
                               latitude = 57.5, longitude = -6.25;
             UPDATE photos SET taken_at = NULL WHERE original_path LIKE '%k2_1.png';
             UPDATE photos SET latitude = NULL, longitude = NULL WHERE original_path LIKE '%k2_2.png';
             UPDATE individuals SET species = 'humpback_whale' WHERE code = 'W1';
             UPDATE individuals SET species = 'kiler_whale', sex = 'female' WHERE code = 'W2';
             UPDATE individuals SET species = 'sea_otter' WHERE code = 'W3';
             INSERT INTO encounters (uuid, started_at) VALUES ('enc-1', '2024-06-01T10:00:00');
             UPDATE photos SET encounter_id = (SELECT id FROM encounters WHERE uuid = 'enc-1')
              WHERE original_path LIKE '%k1_0.png' OR original_path LIKE '%k1_1.png';
             UPDATE identifications SET source = 'person', decided_by = 'Kim Lee'
              WHERE detection_id IN (SELECT d.id FROM detections d JOIN photos p ON p.id = d.photo_id
                                     WHERE p.original_path LIKE '%k2_0.png');
             UPDATE identifications SET source = 'model', decided_by = NULL
              WHERE detection_id IN (SELECT d.id FROM detections d JOIN photos p ON p.id = d.photo_id
                                     WHERE p.original_path LIKE '%k1_2.png');",
        )
        .unwrap();
    let detection = |photo: &str| -> i64 {
        db.query_row(
            "SELECT d.id FROM detections d JOIN photos p ON p.id = d.photo_id
              WHERE p.original_path LIKE '%' || ?1",
            [photo],
            |r| r.get(0),
        )
        .unwrap()
    };
    let grades = [
        Edit::Quality(Quality::Q1),
        Edit::Distinctiveness(Distinctiveness::D2),
        Edit::Side(Side::Left),
        Edit::Part(Part::DorsalFin),
    ];
    cat.set_attributes(detection("k1_0.png"), &grades, "Kim Lee")
        .unwrap();
    cat.set_attributes(
        detection("k1_1.png"),
        &[Edit::Quality(Quality::Q3)],
        "Kim Lee",
    )
    .unwrap();
    root
}

/// `whaleid catalogue export CAT --dwca ZIP` with the dataset's details
/// and `extra`: its output, after checking it succeeded.
fn export(cat: &Path, zip: &Path, extra: &[&str]) -> String {
    let mut args = vec![
        "catalogue",
        "export",
        s(cat),
        "--dwca",
        s(zip),
        "--title",
        "Hebridean humpbacks & killer whales",
        "--contact",
        "Kim Lee <kim@example.org>",
        "--licence",
        "CC-BY-4.0",
    ];
    args.extend(extra);
    let out = whaleid(&args);
    assert!(out.status.success(), "{}", text(&out));
    text(&out)
}

/// The archive as python-dwca-reader reads it.
fn read(zip: &Path) -> Value {
    let out = Command::new(kit::dwca_python())
        .args(["-c", READ, s(zip)])
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "python-dwca-reader refused {}: {}",
        zip.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn records(archive: &Value) -> &Vec<Value> {
    archive["records"].as_array().unwrap()
}

/// The value of `term` in the record whose photo is `photo`.
fn field<'a>(archive: &'a Value, photo: &str, term: &str) -> &'a str {
    records(archive)
        .iter()
        .find(|r| r["media_identifier"] == photo)
        .unwrap_or_else(|| panic!("no record of {photo}"))[term]
        .as_str()
        .unwrap()
}

#[test]
fn dwca_reader_finds_every_obis_field_and_the_left_out_sightings_are_listed() {
    let dir = tempfile::tempdir().unwrap();
    let cat = catalogue(dir.path());
    let zip = dir.path().join("whales.zip");
    let out = export(&cat, &zip, &[]);

    let archive = read(&zip);
    // W1's three and W2's k2_0: the sightings with a date, a position and
    // a species the table resolves.
    let mut photos: Vec<&str> = records(&archive)
        .iter()
        .map(|r| r["media_identifier"].as_str().unwrap())
        .collect();
    photos.sort();
    assert_eq!(photos, ["k1_0.png", "k1_1.png", "k1_2.png", "k2_0.png"]);
    assert!(
        out.contains(&format!("{}: 4 occurrences", zip.display())),
        "{out}"
    );
    for r in records(&archive) {
        assert_eq!(r["occurrenceStatus"], "present");
        assert_eq!(r["geodeticDatum"], "WGS84");
        assert_eq!(r["media_type"], "StillImage");
        assert_eq!(r["media_format"], "image/png");
        assert_eq!(r["decimalLatitude"], "57.5");
        assert_eq!(r["decimalLongitude"], "-6.25");
    }
    assert_eq!(
        field(&archive, "k1_0.png", "scientificName"),
        "Megaptera novaeangliae"
    );
    assert_eq!(
        field(&archive, "k1_0.png", "scientificNameID"),
        "urn:lsid:marinespecies.org:taxname:137092"
    );
    assert_eq!(
        field(&archive, "k2_0.png", "scientificName"),
        "Orcinus orca"
    );
    assert_eq!(field(&archive, "k2_0.png", "sex"), "female");
    assert_eq!(field(&archive, "k2_0.png", "organismName"), "W2");
    // Imported labels are human and verified; the model's decision is not.
    assert_eq!(
        field(&archive, "k1_0.png", "basisOfRecord"),
        "HumanObservation"
    );
    assert_eq!(
        field(&archive, "k1_0.png", "identificationVerificationStatus"),
        "verified"
    );
    assert_eq!(
        field(&archive, "k1_2.png", "basisOfRecord"),
        "MachineObservation"
    );
    assert_eq!(
        field(&archive, "k1_2.png", "identificationVerificationStatus"),
        "unverified"
    );
    // The person who decided recorded the sighting; an import names its
    // source as the identifier only.
    assert_eq!(
        field(&archive, "k2_0.png", "basisOfRecord"),
        "HumanObservation"
    );
    assert_eq!(field(&archive, "k2_0.png", "recordedBy"), "Kim Lee");
    assert_eq!(field(&archive, "k2_0.png", "identifiedBy"), "Kim Lee");
    assert_eq!(field(&archive, "k1_0.png", "recordedBy"), "");
    assert_eq!(field(&archive, "k1_0.png", "identifiedBy"), "import");
    assert_eq!(field(&archive, "k1_2.png", "identifiedBy"), "");
    // The grades, where set.
    let grades: Value =
        serde_json::from_str(field(&archive, "k1_0.png", "dynamicProperties")).unwrap();
    assert_eq!(
        grades,
        serde_json::json!({"photoQuality": "Q1", "distinctiveness": "D2",
                           "side": "left", "bodyPart": "dorsal-fin"})
    );
    assert_eq!(field(&archive, "k1_2.png", "dynamicProperties"), "");
    // The encounter is the event; without one, the photo's day.
    assert_eq!(field(&archive, "k1_0.png", "eventID"), "enc-1");
    assert_eq!(field(&archive, "k1_1.png", "eventID"), "enc-1");
    let day = &field(&archive, "k1_2.png", "eventDate")[..10];
    assert_eq!(field(&archive, "k1_2.png", "eventID"), format!("day:{day}"));
    // One individual, one organismID, in every record.
    assert_eq!(
        field(&archive, "k1_0.png", "organismID"),
        field(&archive, "k1_2.png", "organismID")
    );

    assert_eq!(archive["title"], "Hebridean humpbacks & killer whales");
    assert_eq!(archive["contact"], "kim@example.org");
    assert_eq!(
        archive["licence"],
        "http://creativecommons.org/licenses/by/4.0/legalcode"
    );

    // Left out, each with its reason, never guessed.
    let left: Vec<&str> = out.lines().filter(|l| l.starts_with("left out")).collect();
    assert_eq!(left.len(), 5, "{out}");
    for (photo, reason) in [
        ("k2_1.png", "no date"),
        ("k2_2.png", "no position"),
        (
            "k3_0.png",
            "species \"sea_otter\" is not in the species table",
        ),
        ("k3_1.png", "sea_otter"),
        ("k3_2.png", "sea_otter"),
    ] {
        assert!(
            left.iter().any(|l| l.contains(photo) && l.contains(reason)),
            "{photo}: {out}"
        );
    }
}

#[test]
fn the_catalogue_species_table_and_the_filter_change_what_is_published() {
    let dir = tempfile::tempdir().unwrap();
    let cat = catalogue(dir.path());
    // The research group's own table names the otter.
    std::fs::write(
        cat.join("species.csv"),
        "scientific_name,aphia_id,taxon_rank,common_name,spellings\n\
         Enhydra lutris,242601,species,Sea otter,sea_otter\n",
    )
    .unwrap();
    let zip = dir.path().join("otters.zip");
    export(&cat, &zip, &["--species", "SEA_OTTER"]);
    let archive = read(&zip);
    assert_eq!(records(&archive).len(), 3);
    assert!(records(&archive)
        .iter()
        .all(|r| r["scientificName"] == "Enhydra lutris"
            && r["scientificNameID"] == "urn:lsid:marinespecies.org:taxname:242601"));
}

#[test]
fn the_quality_filter_publishes_only_photos_good_enough() {
    let dir = tempfile::tempdir().unwrap();
    let cat = catalogue(dir.path());
    let zip = dir.path().join("q2.zip");
    let out = export(&cat, &zip, &["--min-quality", "Q2"]);
    let archive = read(&zip);
    let photos: Vec<&Value> = records(&archive)
        .iter()
        .map(|r| &r["media_identifier"])
        .collect();
    assert_eq!(photos, ["k1_0.png"], "{out}");
    // Ungraded and Q3 photos are filtered, not left out for a missing field.
    assert!(!out.contains("left out detection"), "{out}");
}

#[test]
fn an_archive_without_contact_licence_or_valid_table_is_refused_and_not_written() {
    let dir = tempfile::tempdir().unwrap();
    let cat = catalogue(dir.path());
    let zip = dir.path().join("x.zip");
    let run = |extra: &[&str]| {
        let mut args = vec!["catalogue", "export", s(&cat), "--dwca", s(&zip)];
        args.extend(extra);
        let out = whaleid(&args);
        assert!(!out.status.success(), "{}", text(&out));
        text(&out)
    };
    assert!(run(&["--licence", "CC0-1.0"]).contains("--dwca needs --contact"));
    assert!(run(&["--contact", "Kim"]).contains("--dwca needs --licence"));
    assert!(run(&["--contact", "Kim", "--licence", "GPL"]).contains("licence \"GPL\""));
    std::fs::write(cat.join("species.csv"), "name,id\nx,1\n").unwrap();
    let err = run(&["--contact", "Kim", "--licence", "CC0-1.0"]);
    assert!(
        err.contains("species.csv") && err.contains("columns"),
        "{err}"
    );
    assert!(!zip.exists() && !dir.path().join("x.zip.part").exists());
}
