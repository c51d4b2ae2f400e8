//! Sync throughput: one laptop pushes a large catalogue to a real server on
//! loopback, and a second, empty laptop pulls all of it.
//!
//! `cargo bench -p whaleid-server --bench sync -- [--photos N] [--dim D] [--crops N] [--originals N] [--original-mb M]`
//!
//! The catalogue is synthetic but real: N photos, each with a detection, a
//! D-dimensional embedding and a confirmed decision, N/10 individuals, and
//! one in ten decisions later replaced (so about 4.2 N operations), and a
//! 4 KB crop file for each of the first `--crops` detections. It is
//! written through the catalogue API, so the capture triggers log it as
//! ingest would. Printed: operations, seconds, operations per second and
//! bytes on the wire for the push and the pull, and whether the two
//! catalogues ended equal. Then the first `--originals` photos' original
//! files (`--original-mb` each, real files whose sha256 names them) go up
//! and down in 4 MiB chunks (`whaleid sync --photos`), in MB/s.
//!
//! Measured on this project's 2-core machine (defaults: 24,000 photos,
//! 100,800 operations, 10,000 crops, 50 originals of 4 MiB): push 43.0 s
//! (2,346 operations/s, the laptop's own pull-back included), pull into an
//! empty catalogue 21.0 s (4,804 operations/s); 97 MB of operations (mostly
//! 512-d embeddings, as base64) and 41 MB of crops each way; originals up at
//! 157 MB/s, down at 262 MB/s.

use std::time::Instant;

use whaleid::catalogue::records::{NewPhoto, Source};
use whaleid::catalogue::Catalogue;
use whaleid::detect::BBox;
use whaleid::photo::Meta;
use whaleid::sync::client::{sync, Remote};
use whaleid::sync::log::collect;
use whaleid::sync::photos::{sync_photos, CHUNK};
use whaleid::sync::state::canonical;
use whaleid::CancelToken;

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("sync bench: run it with `cargo bench -p whaleid-server --bench sync`");
        return;
    }
    let mut photos = 24_000usize;
    let mut dim = 512usize;
    let mut crops = 10_000usize;
    let mut originals = 50usize;
    let mut original_mb = 4usize;
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    while let Some(a) = args.next() {
        let v = args.next().and_then(|v| v.parse().ok()).expect("a number");
        match a.as_str() {
            "--photos" => photos = v,
            "--dim" => dim = v,
            "--crops" => crops = v,
            "--originals" => originals = v,
            "--original-mb" => original_mb = v,
            other => panic!("unknown argument {other}"),
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let mut store = whaleid_server::store::SqliteStore::open(&dir.path().join("server")).unwrap();
    let token = store.add_user("bench").unwrap();
    let url = whaleid_server::spawn_local(store, 64 << 20).unwrap();

    let started = Instant::now();
    let mut ana = Catalogue::create(dir.path().join("ana")).unwrap();
    let crops_dir = ana.media_dir().join("crops");
    std::fs::create_dir_all(&crops_dir).unwrap();
    let mut crop_bytes = 0usize;
    for p in 0..crops.min(photos) {
        let bytes: Vec<u8> = (0..4096u32)
            .map(|i| (i.wrapping_mul(2_654_435_761).wrapping_add(p as u32 * 97) >> 13) as u8)
            .collect();
        crop_bytes += bytes.len();
        std::fs::write(crops_dir.join(format!("c{p}.jpg")), bytes).unwrap();
    }
    // Original files for the first photos: pseudo-random bytes (as
    // incompressible as JPEG), named in the catalogue by their real sha256.
    let originals_dir = dir.path().join("survey");
    std::fs::create_dir_all(&originals_dir).unwrap();
    let mut original_files = Vec::new();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for p in 0..originals.min(photos) {
        let bytes: Vec<u8> = (0..original_mb << 20)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        let path = originals_dir.join(format!("IMG_{p:05}.JPG"));
        std::fs::write(&path, &bytes).unwrap();
        let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
        original_files.push((sha, path.to_string_lossy().into_owned()));
    }
    let individuals = (photos / 10).max(2);
    ana.with_tx(|tx| {
        let ids: Vec<i64> = (0..individuals)
            .map(|i| tx.ensure_individual(&format!("W{i:06}"), Some("humpback_whale")))
            .collect::<whaleid::Result<_>>()?;
        let meta = Meta::default();
        for p in 0..photos {
            let (sha, path) = original_files
                .get(p)
                .cloned()
                .unwrap_or_else(|| (format!("{p:064x}"), "/survey/p.jpg".into()));
            let photo = tx.insert_photo(&NewPhoto {
                sha256: &sha,
                original_path: &path,
                byte_size: 1,
                width: 1600,
                height: 1067,
                meta: &meta,
            })?;
            let det = tx.insert_detection(
                photo,
                BBox {
                    x1: 10.0,
                    y1: 20.0,
                    x2: 300.0,
                    y2: 200.0,
                },
                "fin",
                Some(0.9),
                (p < crops).then(|| format!("crops/c{p}.jpg")).as_deref(),
            )?;
            let v: Vec<f32> = (0..dim)
                .map(|k| ((p * 31 + k) % 97) as f32 / 97.0)
                .collect();
            tx.insert_embedding(det, "generic", "1.0.0", &v)?;
            tx.decide(
                det,
                ids[p % individuals],
                true,
                Source::Person,
                Some("ana"),
                Some(0.8),
            )?;
            if p % 10 == 0 {
                tx.decide(
                    det,
                    ids[(p + 1) % individuals],
                    true,
                    Source::Person,
                    Some("ana"),
                    None,
                )?;
            }
        }
        Ok(())
    })
    .unwrap();
    let ops = collect(&mut ana, "ana").unwrap();
    println!(
        "made a catalogue of {photos} photos, {individuals} individuals: {ops} operations in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let remote = Remote::new(&url, &token).unwrap();
    let t = Instant::now();
    let up = sync(
        &mut ana,
        &remote,
        "ana",
        &CancelToken::new(),
        &mut |_, _| {},
    )
    .unwrap();
    let push_s = t.elapsed().as_secs_f64();
    let mut ben = Catalogue::create(dir.path().join("ben")).unwrap();
    let t = Instant::now();
    let down = sync(
        &mut ben,
        &remote,
        "ben",
        &CancelToken::new(),
        &mut |_, _| {},
    )
    .unwrap();
    let pull_s = t.elapsed().as_secs_f64();
    let wire: usize = {
        let db = whaleid_testkit::sql(&ana);
        let mut stmt = db
            .prepare("SELECT sum(length(body)) FROM sync_ops")
            .unwrap();
        stmt.query_row([], |r| r.get::<_, i64>(0)).unwrap() as usize
    };
    println!("| step | operations | seconds | operations/s | MB of operations |");
    println!("|---|---:|---:|---:|---:|");
    println!(
        "| push (ana → server, includes ana's own pull-back) | {} | {push_s:.1} | {:.0} | {:.1} |",
        up.pushed,
        up.pushed as f64 / push_s,
        wire as f64 / 1e6
    );
    println!(
        "| pull (server → empty ben) | {} | {pull_s:.1} | {:.0} | {:.1} |",
        down.pulled,
        down.pulled as f64 / pull_s,
        wire as f64 / 1e6
    );
    println!(
        "crops: {} sent with the push, {} fetched with the pull, {:.1} MB each way",
        up.media_sent,
        down.media_fetched,
        crop_bytes as f64 / 1e6
    );
    assert_eq!(
        (up.media_sent, down.media_fetched),
        (crops.min(photos), crops.min(photos))
    );
    let equal = canonical(&ana).unwrap() == canonical(&ben).unwrap();
    println!("catalogues equal after sync: {equal}");
    assert!(equal);

    if !original_files.is_empty() {
        let mb = (original_files.len() * (original_mb << 20)) as f64 / 1e6;
        let t = Instant::now();
        let sent = sync_photos(&mut ana, &remote, CHUNK, &CancelToken::new(), &mut |_| {}).unwrap();
        let up_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let got = sync_photos(&mut ben, &remote, CHUNK, &CancelToken::new(), &mut |_| {}).unwrap();
        let down_s = t.elapsed().as_secs_f64();
        assert_eq!(
            (sent.sent, got.fetched),
            (original_files.len(), original_files.len())
        );
        println!(
            "originals: {} × {original_mb} MiB in {} KiB chunks: sent {mb:.0} MB in {up_s:.1} s ({:.0} MB/s), fetched in {down_s:.1} s ({:.0} MB/s)",
            original_files.len(),
            CHUNK >> 10,
            mb / up_s,
            mb / down_s
        );
    }
}
