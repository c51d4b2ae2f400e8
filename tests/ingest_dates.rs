//! EXIF dates that no calendar has (issue 19, item 12): `2021:13:45` is
//! stored as no date at all, and the ingest says so, naming the file.

mod support;

use std::path::Path;

use whaleid::catalogue::Catalogue;
use whaleid_testkit::{self as kit, jpeg_with_exif, photo};

use support::{ingest_args, text, whaleid};

/// A little-endian EXIF block holding only `DateTime` = `date`.
fn exif_date(date: &str) -> Vec<u8> {
    let mut value = date.as_bytes().to_vec();
    value.push(0);
    let mut e = b"II*\0".to_vec();
    e.extend_from_slice(&8u32.to_le_bytes());
    e.extend_from_slice(&1u16.to_le_bytes());
    e.extend_from_slice(&0x0132u16.to_le_bytes());
    e.extend_from_slice(&2u16.to_le_bytes());
    e.extend_from_slice(&(value.len() as u32).to_le_bytes());
    e.extend_from_slice(&26u32.to_le_bytes());
    e.extend_from_slice(&0u32.to_le_bytes());
    assert_eq!(e.len(), 26);
    e.extend_from_slice(&value);
    e
}

fn jpeg_dated(k: u32, date: &str) -> Vec<u8> {
    jpeg_with_exif(&photo(k, 30, 20), exif_date(date))
}

#[test]
fn an_impossible_exif_date_is_not_stored_and_the_ingest_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let photos = dir.path().join("photos");
    std::fs::create_dir_all(&photos).unwrap();
    std::fs::write(
        photos.join("broken clock.jpg"),
        jpeg_dated(1, "2021:13:45 10:00:00"),
    )
    .unwrap();
    std::fs::write(
        photos.join("leap.jpg"),
        jpeg_dated(2, "2021:02:29 08:00:00"),
    )
    .unwrap();
    std::fs::write(
        photos.join("good.jpg"),
        jpeg_dated(3, "2024:02:29 08:00:00"),
    )
    .unwrap();
    let cat = dir.path().join("cat");
    let out = whaleid(&ingest_args(&photos, &cat, &[]));
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    for (file, date) in [
        ("broken clock.jpg", "2021:13:45 10:00:00"),
        ("leap.jpg", "2021:02:29 08:00:00"),
    ] {
        let line = all
            .lines()
            .find(|l| l.starts_with("warning:") && l.contains(file))
            .unwrap_or_else(|| panic!("{file} not reported:\n{all}"));
        assert!(line.contains(date), "{line}");
    }
    assert!(!all.contains("good.jpg"), "{all}");

    let cat = Catalogue::open_read_only(&cat).unwrap();
    let taken: Vec<(String, Option<String>)> = kit::sql(&cat)
        .prepare("SELECT original_path, taken_at FROM photos ORDER BY original_path")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    let got: Vec<(&str, Option<&str>)> = taken
        .iter()
        .map(|(p, t)| {
            (
                Path::new(p).file_name().unwrap().to_str().unwrap(),
                t.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("broken clock.jpg", None),
            ("good.jpg", Some("2024-02-29T08:00:00")),
            ("leap.jpg", None),
        ]
    );
}
