//! `whaleid ingest` over a generated survey folder full of what real folders
//! hold: good photos in every colour type, broken and hostile files, odd
//! names, a symlink loop. Then a kill -9 in the middle of a run and a resume.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{dark_shape, pack_dir, photo};
use image::{DynamicImage, ImageBuffer, Luma, Rgba};
use whaleid::catalogue::Catalogue;

fn whaleid(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_whaleid"))
        .args(args)
        .output()
        .expect("run whaleid")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

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
    (root, good)
}

#[test]
fn a_hostile_survey_folder_is_ingested_with_every_bad_file_named() {
    let dir = tempfile::tempdir().unwrap();
    let (root, good) = survey(dir.path());
    let cat = dir.path().join("cat");
    let pack = pack_dir("tiny");
    let args = [
        "ingest",
        s(&root),
        "-c",
        s(&cat),
        "--pack",
        s(&pack),
        "--threads",
        "1",
    ];
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

    let catalogue = Catalogue::open(&cat).unwrap();
    let stats = catalogue.stats().unwrap();
    assert_eq!(stats.photos as usize, good, "{stdout}");
    // Every photo but the empty sea has its detection, embedding and thumbnail.
    assert_eq!(stats.detections as usize, good - 1);
    assert_eq!(stats.embeddings as usize, good - 1);
    assert_eq!(
        std::fs::read_dir(cat.join("media/thumbs")).unwrap().count(),
        good
    );
    let in_encounters: i64 = catalogue
        .conn()
        .query_row(
            "SELECT count(*) FROM photos WHERE encounter_id IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(in_encounters as usize, good);
    assert!(catalogue.check().unwrap().is_empty());

    // Again: nothing new, no model work.
    let out = whaleid(&args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(&format!("| 0 | {good} | 4 |")), "{stdout}");
    assert_eq!(
        Catalogue::open(&cat).unwrap().stats().unwrap().photos as usize,
        good
    );
}

#[test]
fn killed_mid_run_then_resumed_leaves_every_photo_once() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("photos");
    std::fs::create_dir_all(&root).unwrap();
    let n = 120;
    for i in 0..n {
        photo(i % 9, 5 + (i * 7) % 120, 5 + (i * 13) % 90)
            .save(root.join(format!("p{i:03}.png")))
            .unwrap();
    }
    let cat = dir.path().join("cat");
    let pack = pack_dir("tiny");
    let args = [
        "ingest",
        s(&root),
        "-c",
        s(&cat),
        "--pack",
        s(&pack),
        "--threads",
        "1",
        "--batch",
        "1",
    ];
    let mut child = Command::new(env!("CARGO_BIN_EXE_whaleid"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until some photos are committed, then kill -9.
    let db = cat.join(whaleid::catalogue::DB_FILE);
    let started = std::time::Instant::now();
    loop {
        std::thread::sleep(std::time::Duration::from_millis(20));
        let committed =
            rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .and_then(|c| {
                    c.query_row("SELECT count(*) FROM photos", [], |r| r.get::<_, i64>(0))
                })
                .unwrap_or(0);
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
    let distinct: i64 = cat
        .conn()
        .query_row("SELECT count(DISTINCT sha256) FROM photos", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(distinct, n as i64);
    assert!(cat.check().unwrap().is_empty());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("| {} | {partial} |", n as i64 - partial)),
        "{stdout}"
    );
}
