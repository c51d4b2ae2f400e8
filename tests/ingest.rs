//! `whaleid ingest` over a generated survey folder full of what real folders
//! hold: good photos in every colour type, broken and hostile files, odd
//! names, a symlink loop. Then a kill -9 in the middle of a run and a resume.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use whaleid_testkit as kit;

use image::{DynamicImage, ImageBuffer, Luma, Rgba};
use whaleid::catalogue::Catalogue;
use whaleid_testkit::{dark_shape, jpeg_with_exif, pack_dir, photo};

use support::{ingest_args, s, whaleid, BIN};

/// A PNG whose header declares 100000×100000 pixels: a decompression bomb.
fn png_bomb() -> Vec<u8> {
    let mut png = Vec::new();
    DynamicImage::ImageRgb8(dark_shape(8, 8, (2, 2, 6, 6)))
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    // IHDR data starts at byte 16: width, height (big-endian); fix the CRC.
    png[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    png[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    let crc = crc32(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    png
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A minimal little-endian EXIF block holding only an Orientation tag.
fn exif_orientation(o: u16) -> Vec<u8> {
    let mut e = b"II*\0".to_vec();
    e.extend_from_slice(&8u32.to_le_bytes());
    e.extend_from_slice(&1u16.to_le_bytes());
    e.extend_from_slice(&0x0112u16.to_le_bytes());
    e.extend_from_slice(&3u16.to_le_bytes());
    e.extend_from_slice(&1u32.to_le_bytes());
    e.extend_from_slice(&o.to_le_bytes());
    e.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    e
}

/// The survey folder; returns it and how many files are good photos.
fn survey(dir: &Path) -> (PathBuf, usize) {
    let root = dir.join("survey 2026 – Baie d'Audierne");
    let day = root.join("day 1").join("étape 2");
    std::fs::create_dir_all(&day).unwrap();
    let mut good = 0;
    let mut save = |name: &str, img: DynamicImage, format: image::ImageFormat| {
        img.save_with_format(day.join(name), format).unwrap();
        good += 1;
    };
    save(
        "fin a.jpg",
        DynamicImage::ImageRgb8(photo(1, 30, 20)),
        image::ImageFormat::Jpeg,
    );
    save(
        "fin b.png",
        DynamicImage::ImageRgb8(photo(2, 60, 50)),
        image::ImageFormat::Png,
    );
    // A PNG named .jpg is read by its content.
    save(
        "really a png.jpg",
        DynamicImage::ImageRgb8(photo(3, 10, 10)),
        image::ImageFormat::Png,
    );
    let grey = ImageBuffer::from_fn(160, 120, |x, y| {
        Luma([if (40..100).contains(&x) && (30..80).contains(&y) {
            10u16 * 256
        } else {
            60000
        }])
    });
    save(
        "grey16.png",
        DynamicImage::ImageLuma16(grey),
        image::ImageFormat::Png,
    );
    let alpha = ImageBuffer::from_fn(160, 120, |x, y| {
        let v = if (40..100).contains(&x) && (30..80).contains(&y) {
            5
        } else {
            240
        };
        Rgba([v, v, v, 200])
    });
    save(
        "alpha ü.png",
        DynamicImage::ImageRgba8(alpha),
        image::ImageFormat::Png,
    );
    save(
        "8bit grey.tif",
        DynamicImage::ImageRgb8(photo(4, 40, 40)).grayscale(),
        image::ImageFormat::Tiff,
    );
    // Open sea: nothing to detect, kept and flagged.
    save(
        "empty sea.webp",
        DynamicImage::ImageRgb8(image::RgbImage::from_pixel(
            120,
            90,
            image::Rgb([230, 235, 240]),
        )),
        image::ImageFormat::WebP,
    );

    // A CMYK JPEG (print workflows, some scanners): C, M, Y = 255 − R, G, B.
    let cmyk: Vec<u8> = photo(6, 70, 30)
        .pixels()
        .flat_map(|p| [255 - p[0], 255 - p[1], 255 - p[2], 0])
        .collect();
    let mut bytes = Vec::new();
    jpeg_encoder::Encoder::new(&mut bytes, 95)
        .encode(&cmyk, 200, 150, jpeg_encoder::ColorType::Cmyk)
        .unwrap();
    std::fs::write(day.join("cmyk.jpg"), bytes).unwrap();
    good += 1;
    // Shot in portrait: stored landscape with EXIF orientation 6.
    std::fs::write(
        day.join("portrait.jpg"),
        jpeg_with_exif(&photo(7, 40, 60), exif_orientation(6)),
    )
    .unwrap();
    good += 1;
    // EXIF that claims TIFF and then is garbage: the photo is still read.
    std::fs::write(
        day.join("bad exif.jpg"),
        jpeg_with_exif(&photo(8, 90, 20), b"II*\0\xff\xff garbage".to_vec()),
    )
    .unwrap();
    good += 1;

    std::fs::write(day.join("zero.jpg"), b"").unwrap();
    let mut jpeg = Vec::new();
    DynamicImage::ImageRgb8(photo(5, 20, 20))
        .write_to(
            &mut std::io::Cursor::new(&mut jpeg),
            image::ImageFormat::Jpeg,
        )
        .unwrap();
    std::fs::write(day.join("truncated.jpg"), &jpeg[..jpeg.len() / 2]).unwrap();
    std::fs::write(
        day.join("random.jpg"),
        (0..5000u32)
            .map(|i| (i * 7919 % 251) as u8)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    std::fs::write(root.join("bomb.png"), png_bomb()).unwrap();
    std::fs::write(root.join("notes.txt"), b"sighting notes").unwrap();
    std::fs::write(root.join("IMG_0001.HEIC"), b"heic").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(&root, day.join("loop")).unwrap();
    // A file whose read fails with an I/O error, as on a failing memory card.
    // (Reading /proc/self/mem at offset 0 always does, even for root, whom
    // file permissions do not stop.)
    #[cfg(target_os = "linux")]
    std::os::unix::fs::symlink("/proc/self/mem", root.join("card error.jpg")).unwrap();
    (root, good)
}

#[test]
fn a_hostile_survey_folder_is_ingested_with_every_bad_file_named() {
    let dir = tempfile::tempdir().unwrap();
    let (root, good) = survey(dir.path());
    let cat = dir.path().join("cat");
    let args = ingest_args(&root, &cat, &[]);
    let out = whaleid(&args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(2),
        "bad files make exit code 2\n{stdout}"
    );
    for (file, reason) in [
        ("zero.jpg", "empty"),
        ("truncated.jpg", "truncated"),
        ("random.jpg", "unsupported"),
        ("bomb.png", "over the limit"),
        ("notes.txt", "unsupported"),
        ("IMG_0001.HEIC", "unsupported"),
        #[cfg(target_os = "linux")]
        ("card error.jpg", "input/output error"),
    ] {
        let line = stdout
            .lines()
            .find(|l| l.starts_with("skipped:") && l.contains(file))
            .unwrap_or_else(|| panic!("{file} not reported:\n{stdout}"));
        assert!(line.to_lowercase().contains(reason), "{line}");
    }
    assert!(
        stdout.contains("no detection (kept, box it by hand)") && stdout.contains("empty sea.webp"),
        "{stdout}"
    );

    // A reader: the second ingest below may write meanwhile.
    let catalogue = Catalogue::open_read_only(&cat).unwrap();
    let stats = catalogue.stats().unwrap();
    assert_eq!(stats.photos as usize, good, "{stdout}");
    // Every photo but the empty sea has its detection, embedding and thumbnail.
    assert_eq!(stats.detections as usize, good - 1);
    assert_eq!(stats.embeddings as usize, good - 1);
    assert_eq!(
        std::fs::read_dir(cat.join("media/thumbs")).unwrap().count(),
        good
    );
    let in_encounters: i64 = kit::sql(&catalogue)
        .query_row(
            "SELECT count(*) FROM photos WHERE encounter_id IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(in_encounters as usize, good);
    assert!(catalogue.check().unwrap().is_empty());
    // The portrait photo is stored upright, as its EXIF says.
    let portrait: (u32, u32, Option<u32>) = kit::sql(&catalogue)
        .query_row(
            "SELECT width, height, orientation FROM photos WHERE original_path LIKE '%portrait.jpg'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(portrait, (150, 200, Some(6)));

    // Again: nothing new, no model work.
    let out = whaleid(&args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    // zero, truncated, random, bomb (and the card error on Linux) fail again.
    let failed = if cfg!(target_os = "linux") { 5 } else { 4 };
    assert!(
        stdout.contains(&format!("| 0 | {good} | {failed} |")),
        "{stdout}"
    );
    assert_eq!(
        Catalogue::open(&cat).unwrap().stats().unwrap().photos as usize,
        good
    );
}

#[test]
fn killed_mid_run_then_resumed_leaves_every_photo_once() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("photos");
    let n = 120;
    kit::survey_photos(&root, n, 9);
    let cat = dir.path().join("cat");
    let args = ingest_args(&root, &cat, &["--batch", "1"]);
    let mut child = Command::new(BIN)
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until some photos are committed, then kill -9.
    let started = std::time::Instant::now();
    loop {
        std::thread::sleep(std::time::Duration::from_millis(20));
        let committed = kit::committed_photos(&cat);
        if committed >= 5 {
            break;
        }
        assert!(started.elapsed().as_secs() < 60, "ingest never committed");
        assert!(
            child.try_wait().unwrap().is_none(),
            "ingest ended before it could be killed"
        );
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let partial = Catalogue::open(&cat).unwrap().stats().unwrap().photos;
    assert!(partial >= 5 && partial < n as i64, "{partial}");

    let out = whaleid(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cat = Catalogue::open(&cat).unwrap();
    let stats = cat.stats().unwrap();
    assert_eq!(stats.photos, n as i64);
    assert_eq!(stats.detections, n as i64);
    assert_eq!(stats.embeddings, n as i64);
    let distinct: i64 = kit::sql(&cat)
        .query_row("SELECT count(DISTINCT sha256) FROM photos", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(distinct, n as i64);
    // The photos the killed run committed are grouped by the resumed one,
    // with the rest: written seconds apart in one folder, one encounter.
    let grouped: (i64, i64) = kit::sql(&cat)
        .query_row(
            "SELECT count(*), count(DISTINCT encounter_id) FROM photos WHERE encounter_id IS NOT NULL",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(grouped, (n as i64, 1));
    assert!(cat.check().unwrap().is_empty());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("| {} | {partial} |", n as i64 - partial)),
        "{stdout}"
    );
}

/// Set a file's modification time to `minutes` after a fixed moment.
fn set_mtime(path: &Path, minutes: u64) {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_750_000_000 + minutes * 60);
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(t)
        .unwrap();
}

/// Issue 13: the first ingest after a `catalogue import` grouped the 143
/// imported photos too ("Encounters 164" for 21 photos), and each undated
/// photo was an encounter of its own.
#[test]
fn an_ingest_groups_only_its_own_photos_and_undated_ones_by_folder_and_file_time() {
    let dir = tempfile::tempdir().unwrap();
    let labels = kit::labelled_folder(dir.path());
    let images = dir.path().join("images");
    let cat = dir.path().join("cat");
    let pack = pack_dir("tiny");
    let pack_args = ["--pack", s(&pack), "--threads", "1"];
    let run = |args: &[&str]| {
        let out = whaleid(&[args, &pack_args[..]].concat());
        assert!(
            out.status.success(),
            "{args:?}\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    run(&["catalogue", "create", s(&cat)]);
    let out = run(&[
        "catalogue",
        "import",
        s(&cat),
        "--labels",
        s(&labels),
        "--images",
        s(&images),
        "--no-boxes",
    ]);
    assert!(out.contains("imported 24 photos"), "{out}");

    // The survey lies in the same folder as the labelled photos, as in the
    // README's walkthrough. No photo has an EXIF time. In boat A, file-name
    // order is IMG_2, IMG_9, IMG_10 (25 min apart each: one encounter; in
    // plain text order IMG_10 would come first, 50 min from IMG_2), then
    // IMG_11 three hours later. Boat B's photos are as close in time as boat
    // A's first, but another folder.
    let survey = [
        ("boat A/IMG_2.png", 0),
        ("boat A/IMG_9.png", 25),
        ("boat A/IMG_10.png", 50),
        ("boat A/IMG_11.png", 230),
        ("boat B/IMG_1.png", 1),
        ("boat B/IMG_3.png", 2),
    ];
    for (i, (name, minutes)) in survey.iter().enumerate() {
        let path = images.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        photo(i as u32 % 6, 130, 100).save(&path).unwrap();
        set_mtime(&path, *minutes);
    }
    let out = run(&["ingest", s(&images), "-c", s(&cat)]);
    // | new | known | failed | skipped | detections | no detection | encounters |
    assert!(out.contains("| 6 | 24 | 0 | 0 | "), "{out}");
    let row = out.lines().last().unwrap();
    assert_eq!(row.split('|').nth(7).map(str::trim), Some("3"), "{out}");

    // A reader: the ingest below may write meanwhile.
    let catalogue = Catalogue::open_read_only(&cat).unwrap();
    let encounters = |like: &str| -> Vec<Option<i64>> {
        let db = kit::sql(&catalogue);
        let mut stmt = db
            .prepare("SELECT encounter_id FROM photos WHERE original_path LIKE ?1 ORDER BY original_path")
            .unwrap();
        let rows = stmt.query_map([like], |r| r.get(0)).unwrap();
        rows.collect::<rusqlite::Result<_>>().unwrap()
    };
    // The imported photos keep no encounter.
    let imported = encounters("%/images/ind%");
    assert_eq!(imported.len(), 24);
    assert!(imported.iter().all(Option::is_none), "{imported:?}");
    // Boat A by path: IMG_10, IMG_11, IMG_2, IMG_9.
    let a = encounters("%/boat A/%");
    assert!(a.iter().all(Option::is_some), "{a:?}");
    assert_eq!(a[0], a[2]);
    assert_eq!(a[0], a[3]);
    assert_ne!(a[0], a[1]);
    let b = encounters("%/boat B/%");
    assert_eq!(b.len(), 2);
    assert!(b[0].is_some() && b[0] == b[1], "{b:?}");
    assert!(!a.contains(&b[0]));
    let total: i64 = kit::sql(&catalogue)
        .query_row("SELECT count(*) FROM encounters", [], |r| r.get(0))
        .unwrap();
    assert_eq!(total, 3);

    // Again: nothing new, and no encounter made or changed.
    let out = run(&["ingest", s(&images), "-c", s(&cat)]);
    assert!(out.contains("| 0 | 30 | 0 | 0 | 0 | 0 | 0 |"), "{out}");
    assert_eq!(encounters("%/boat A/%"), a);
}

/// The engine as the app drives it: scan, then ingest with a progress sink
/// and a cancel token.
mod engine {
    use super::*;
    use whaleid::ingest::scan;
    use whaleid::ingest::survey::{ingest, IngestOptions, IngestProgress};
    use whaleid::{CancelToken, Error};
    use whaleid_testkit::pipeline;

    fn folder(root: &Path, n: u32) {
        for i in 0..n {
            let day = root.join(format!("card {}", i % 3));
            std::fs::create_dir_all(&day).unwrap();
            photo(i % 9, 5 + (i * 7) % 120, 5 + (i * 13) % 90)
                .save(day.join(format!("p{i:03}.png")))
                .unwrap();
        }
    }

    #[test]
    fn a_card_pulled_after_the_scan_is_reported_file_by_file() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("survey");
        folder(&root, 12);
        let files = scan::scan(&root).unwrap().photos;
        assert_eq!(files.len(), 12);
        // The folder vanishes between the scan and the reads.
        std::fs::remove_dir_all(root.join("card 1")).unwrap();
        let mut cat = Catalogue::create(dir.path().join("cat")).unwrap();
        let mut events = Vec::new();
        let report = ingest(
            &mut cat,
            &pipeline(),
            &files,
            &IngestOptions {
                batch: 2,
                ..IngestOptions::default()
            },
            &mut |p| events.push(p),
            &CancelToken::new(),
        )
        .unwrap();
        assert_eq!(report.new_photos, 8);
        assert_eq!(report.failed.len(), 4);
        for (path, reason) in &report.failed {
            assert!(path.starts_with(root.join("card 1")), "{}", path.display());
            assert!(reason.contains(&*path.to_string_lossy()), "{reason}");
            assert!(reason.contains("No such file"), "{reason}");
        }
        assert_eq!(cat.stats().unwrap().photos, 8);
        // The last event is the end of the job.
        let last: &IngestProgress = events.last().unwrap();
        assert_eq!((last.read, last.done, last.total), (12, 12, 12));
        assert!(events.windows(2).all(|w| w[0].done <= w[1].done));
    }

    #[test]
    fn cancelled_run_keeps_what_was_committed_and_resumes() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("survey");
        folder(&root, 40);
        let files = scan::scan(&root).unwrap().photos;
        let mut cat = Catalogue::create(dir.path().join("cat")).unwrap();
        let pipeline = pipeline();
        let options = IngestOptions {
            batch: 2,
            decode_threads: 1,
            ..IngestOptions::default()
        };
        // A first run got through ten photos.
        ingest(
            &mut cat,
            &pipeline,
            &files[..10],
            &options,
            &mut |_| {},
            &CancelToken::new(),
        )
        .unwrap();
        // The next is cancelled at its first progress event.
        let cancel = CancelToken::new();
        let result = ingest(
            &mut cat,
            &pipeline,
            &files,
            &options,
            &mut |_| cancel.cancel(),
            &cancel,
        );
        assert!(matches!(result, Err(Error::Cancelled)), "{result:?}");
        let kept = cat.stats().unwrap().photos;
        assert!((10..40).contains(&kept), "{kept}");
        assert!(cat.check().unwrap().is_empty());

        let report = ingest(
            &mut cat,
            &pipeline,
            &files,
            &options,
            &mut |_| {},
            &CancelToken::new(),
        )
        .unwrap();
        assert_eq!(report.known_photos, kept as usize);
        assert_eq!(report.new_photos, 40 - kept as usize);
        assert_eq!(cat.stats().unwrap().photos, 40);
        assert!(cat.check().unwrap().is_empty());
    }

    /// Regression: a cancel that landed before any decode worker read a file
    /// returned Ok with an empty report.
    #[test]
    fn a_cancel_before_the_first_read_is_reported_as_cancelled() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("survey");
        folder(&root, 6);
        let files = scan::scan(&root).unwrap().photos;
        let mut cat = Catalogue::create(dir.path().join("cat")).unwrap();
        let cancel = CancelToken::new();
        cancel.cancel();
        let result = ingest(
            &mut cat,
            &pipeline(),
            &files,
            &IngestOptions::default(),
            &mut |_| {},
            &cancel,
        );
        assert!(matches!(result, Err(Error::Cancelled)), "{result:?}");
        assert_eq!(cat.stats().unwrap().photos, 0);
    }
}
