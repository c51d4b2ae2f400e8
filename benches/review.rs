//! Time per review decision with a long queue, printed as a table.
//!
//! `cargo bench --bench review -- [--individuals N] [--sightings N]
//! [--waiting N] [--decisions N] [--dim D] [--merges N]`
//!
//! Builds a catalogue in a temporary folder with the engine's own write API,
//! without photos or a model: individuals with confirmed sightings (each an
//! embedding of the pack's dimension around its individual's centre), some of
//! them merged after the survey was ranked, and a survey of waiting
//! detections with embeddings and stored suggestions (the five best
//! individuals by score, with "new individual" where a threshold puts it).
//! Then it decides the queue's head `--decisions` times, accepting its best
//! individual, and times what the app does around each decision:
//! `review_accept`, `to_review`, `review_queue` with 500 and 50 items, and
//! the path the app waits for before it shows the next photo (the accept,
//! then the queue of 500 and its count, as the Review screen asks for them).
//! The reference, measured in the same run on the same items, is the queue's
//! suggestions read one detection at a time through `review_suggestions`
//! (what `review_queue` did for each item before it read them in batches);
//! the bench checks that both give the same suggestions.
//!
//! Measured on this project's 2-core machine with the defaults (300
//! individuals, 3,000 sightings, 1,000 waiting, 512-d; release, while other
//! builds ran), median (p95) ms:
//!
//! | path | one item at a time | batched |
//! |---|---:|---:|
//! | `review_accept` | 1.9 (5.9) | 1.7 (5.9) |
//! | `to_review` | 1.2 (1.3) | 1.4 (3.7) |
//! | `review_queue(Some(500))` | 2,030 (2,543) | 51 (69) |
//! | `review_queue(Some(50))` | 204 (293) | 19 (28) |
//! | next photo: accept + queue(500) + to_review | 2,034 (2,547) | 56 (73) |
//! | next photo with a queue of 50 | 208 (300) | 24 (35) |
//! | reference: `review_suggestions` per item, same 500 | 2,023 (2,618) | 293 (362) |
//!
//! Before, the queue cost what the per-item reference costs (1.0×); after,
//! the reference takes 5.7× the queue's time. The old queue also counted
//! each row's encounter photos by scanning `photos` (no index on
//! `encounter_id`); it now groups them once.

use std::path::PathBuf;
use std::time::Instant;

use whaleid::catalogue::records::{NewPhoto, Source};
use whaleid::catalogue::review::{QueueItem, ReviewSuggestion};
use whaleid::catalogue::{keys, Catalogue};
use whaleid::detect::BBox;
use whaleid::ingest::encounters::EncounterRules;
use whaleid::ingest::survey::{assign_encounters, IngestedFile};
use whaleid::photo::Meta;
use whaleid::rng::SplitMix64;

fn main() {
    // `cargo test --all-targets` runs bench binaries too, unoptimised.
    if !std::env::args().any(|a| a == "--bench") {
        println!("review bench: run it with `cargo bench --bench review`");
        return;
    }
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

struct Opts {
    individuals: usize,
    sightings: usize,
    waiting: usize,
    decisions: usize,
    dim: usize,
    merges: usize,
}

fn parse() -> Result<Opts, String> {
    let mut o = Opts {
        individuals: 300,
        sightings: 3_000,
        waiting: 1_000,
        decisions: 50,
        dim: 512,
        merges: 10,
    };
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    while let Some(arg) = args.next() {
        let value = args
            .next()
            .ok_or(format!("{arg} needs a value"))?
            .parse::<usize>()
            .map_err(|e| format!("{arg}: {e}"))?;
        match arg.as_str() {
            "--individuals" => o.individuals = value,
            "--sightings" => o.sightings = value,
            "--waiting" => o.waiting = value,
            "--decisions" => o.decisions = value,
            "--dim" => o.dim = value,
            "--merges" => o.merges = value,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if o.individuals < 6 || o.dim == 0 || o.decisions == 0 {
        return Err("need at least 6 individuals, a positive --dim and --decisions".into());
    }
    if 3 * o.merges + 2 > o.individuals {
        return Err(format!(
            "{} merges need at least {} individuals",
            o.merges,
            3 * o.merges + 2
        ));
    }
    if o.waiting <= o.decisions {
        return Err("--waiting must be larger than --decisions".into());
    }
    Ok(o)
}

fn unit(v: &mut [f32]) {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= n);
}

/// `centre` plus noise of relative size `sigma`, of unit length.
fn around(rng: &mut SplitMix64, centre: &[f32], sigma: f32) -> Vec<f32> {
    let scale = sigma / (centre.len() as f32).sqrt();
    let mut v: Vec<f32> = centre
        .iter()
        .map(|c| c + scale * rng.normal() as f32)
        .collect();
    unit(&mut v);
    v
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Below this score "new individual" ranks above an individual.
const THRESHOLD: f32 = 0.6;

fn build(cat: &mut Catalogue, o: &Opts) -> Result<(), String> {
    let e = |e: whaleid::Error| e.to_string();
    let (pack_name, pack_version) = ("generic", "1.0.0");
    cat.set_setting(keys::PACK_NAME, pack_name).map_err(e)?;
    cat.set_setting(keys::PACK_VERSION, pack_version)
        .map_err(e)?;
    let mut rng = SplitMix64::new(13);
    let centres: Vec<Vec<f32>> = (0..o.individuals)
        .map(|_| {
            let mut c: Vec<f32> = (0..o.dim).map(|_| rng.normal() as f32).collect();
            unit(&mut c);
            c
        })
        .collect();
    let species = ["beluga", "humpback_whale", "killer_whale"];
    let mut photo_no = 0usize;
    let mut survey: Vec<IngestedFile> = Vec::new();
    let mut photo = |tx: &whaleid::catalogue::Tx<'_>, taken_at: String, folder: &str| {
        photo_no += 1;
        let sha = format!("{photo_no:064x}");
        let path = format!("/surveys/{folder}/IMG_{photo_no:05}.JPG");
        let meta = Meta {
            taken_at: Some(taken_at),
            ..Meta::default()
        };
        if folder != "catalogue" {
            survey.push(IngestedFile {
                path: PathBuf::from(&path),
                sha256: sha.clone(),
                modified: None,
            });
        }
        let id = tx.insert_photo(&NewPhoto {
            sha256: &sha,
            original_path: &path,
            byte_size: 4_000_000,
            width: 4000,
            height: 3000,
            meta: &meta,
        })?;
        let bbox = BBox {
            x1: 800.0,
            y1: 600.0,
            x2: 2400.0,
            y2: 1800.0,
        };
        let crop = format!("crops/{}_0.jpg", &sha[48..]);
        tx.insert_detection(id, bbox, "whale", Some(0.9), Some(&crop))
    };
    cat.with_tx(|tx| {
        let ids: Vec<i64> = (0..o.individuals)
            .map(|k| tx.ensure_individual(&format!("B{k:04}"), Some(species[k % 3])))
            .collect::<whaleid::Result<_>>()?;
        for s in 0..o.sightings {
            let k = s % o.individuals;
            let taken = format!(
                "{}-{:02}-{:02}T{:02}:{:02}:00",
                2015 + rng.below(9),
                1 + rng.below(12),
                1 + rng.below(28),
                8 + rng.below(10),
                rng.below(60)
            );
            let d = photo(tx, taken, "catalogue")?;
            tx.insert_embedding(
                d,
                pack_name,
                pack_version,
                &around(&mut rng, &centres[k], 0.7),
            )?;
            tx.decide(d, ids[k], true, Source::Import, None, None)?;
        }
        // The survey: twenty photos a day ten minutes apart (an encounter
        // a day), 85% known
        // animals, the rest strangers.
        for w in 0..o.waiting {
            let taken = format!(
                "2024-{:02}-{:02}T{:02}:{:02}:00",
                6 + w / 560,
                1 + (w / 20) % 28,
                9 + (w % 20) / 4,
                (w % 4) * 10
            );
            let d = photo(tx, taken, "survey-2024")?;
            let centre = if rng.below(100) < 85 {
                centres[rng.below(o.individuals)].clone()
            } else {
                let mut c: Vec<f32> = (0..o.dim).map(|_| rng.normal() as f32).collect();
                unit(&mut c);
                c
            };
            let v = around(&mut rng, &centre, 0.7);
            tx.insert_embedding(d, pack_name, pack_version, &v)?;
            let mut scored: Vec<(f32, i64)> = centres
                .iter()
                .zip(&ids)
                .map(|(c, &id)| (dot(&v, c), id))
                .collect();
            scored.sort_by(|a, b| b.0.total_cmp(&a.0));
            let mut ranked: Vec<(Option<i64>, Option<f32>)> = Vec::new();
            for &(score, id) in &scored {
                if score < THRESHOLD && !ranked.iter().any(|r| r.0.is_none()) {
                    ranked.push((None, Some(THRESHOLD)));
                }
                ranked.push((Some(id), Some(score)));
                if ranked.len() >= 5 {
                    break;
                }
            }
            ranked.truncate(5);
            tx.set_suggestions(d, (pack_name, pack_version), &ranked)?;
        }
        Ok(())
    })
    .map_err(e)?;
    assign_encounters(cat, &survey, &EncounterRules::default()).map_err(e)?;
    // Merges found after the survey was ranked: its suggestions still name
    // the merged individuals. One chain of two.
    for m in 0..o.merges {
        let (from, into) = (format!("B{:04}", 3 * m), format!("B{:04}", 3 * m + 1));
        cat.merge(&from, &into, Some("bench")).map_err(e)?;
    }
    if o.merges > 0 {
        cat.merge("B0001", &format!("B{:04}", 3 * o.merges + 1), Some("bench"))
            .map_err(e)?;
    }
    Ok(())
}

/// What the Review screen shows of a suggestion, to compare two readings.
fn shown(s: &ReviewSuggestion) -> String {
    format!(
        "{} {:?} {:?} {:?} {:?} {:?}",
        s.rank,
        s.individual.as_ref().map(|i| (i.id, &i.code, &i.species)),
        s.score,
        s.best_crop,
        s.strip,
        s.individual.as_ref().map(|i| i.merged_into)
    )
}

fn percentiles(ms: &mut [f64]) -> (f64, f64) {
    ms.sort_by(f64::total_cmp);
    let at = |p: f64| ms[((ms.len() - 1) as f64 * p).round() as usize];
    (at(0.5), at(0.95))
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1e3
}

fn run() -> Result<(), String> {
    let o = parse()?;
    let e = |e: whaleid::Error| e.to_string();
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut cat = Catalogue::create(dir.path().join("cat")).map_err(e)?;
    let started = Instant::now();
    build(&mut cat, &o)?;
    println!(
        "catalogue: {} individuals ({} merged), {} confirmed sightings, {} waiting, {}-d embeddings; built in {:.1} s",
        o.individuals,
        o.merges + usize::from(o.merges > 0),
        o.sightings,
        cat.to_review().map_err(e)?,
        o.dim,
        started.elapsed().as_secs_f64()
    );
    let names = [
        "review_accept",
        "to_review",
        "review_queue(Some(500))",
        "review_queue(Some(50))",
        "next photo as the app asks today: accept + queue(500) + to_review",
        "next photo with a queue of 50: accept + queue(50) + to_review",
        "reference: review_suggestions per item over the same 500",
    ];
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    // One unmeasured round first, so every measured one finds the same caches.
    let mut items: Vec<QueueItem> = cat.review_queue(Some(500)).map_err(e)?;
    for round in 0..=o.decisions {
        let head = items.first().ok_or("the queue ran out")?.clone();
        let top = head
            .suggestions
            .iter()
            .find(|s| s.individual.is_some())
            .ok_or(format!(
                "detection {} has no individual suggested",
                head.detection_id
            ))?;
        let individual = top.individual.as_ref().map(|i| i.id).unwrap_or_default();

        let t = Instant::now();
        cat.review_accept(
            head.detection_id,
            individual,
            top.score,
            Some(top.rank),
            Some("bench"),
        )
        .map_err(e)?;
        let accept = ms(t);
        let t = Instant::now();
        items = cat.review_queue(Some(500)).map_err(e)?;
        let q500 = ms(t);
        let t = Instant::now();
        let left = cat.to_review().map_err(e)?;
        let count = ms(t);
        let ui = accept + q500 + count;
        let t = Instant::now();
        let short = cat.review_queue(Some(50)).map_err(e)?;
        let q50 = ms(t);
        if short.len() != 50.min(left) || items.len() != 500.min(left) {
            return Err(format!(
                "queue of {} and {} items with {left} waiting",
                short.len(),
                items.len()
            ));
        }

        let t = Instant::now();
        let one_by_one: Vec<Vec<ReviewSuggestion>> = items
            .iter()
            .map(|i| cat.review_suggestions(i.detection_id))
            .collect::<whaleid::Result<_>>()
            .map_err(e)?;
        let reference = ms(t);
        for (item, single) in items.iter().zip(&one_by_one) {
            let a: Vec<String> = item.suggestions.iter().map(shown).collect();
            let b: Vec<String> = single.iter().map(shown).collect();
            if a != b {
                return Err(format!(
                    "detection {}: the queue shows {a:?}, review_suggestions {b:?}",
                    item.detection_id
                ));
            }
        }
        if round > 0 {
            let all = [
                accept,
                count,
                q500,
                q50,
                ui,
                accept + q50 + count,
                reference,
            ];
            for (t, v) in times.iter_mut().zip(all) {
                t.push(v);
            }
        }
    }
    println!(
        "{} decisions, each accepting the queue head's best individual (release build, one thread)",
        o.decisions
    );
    println!("| path | median ms | p95 ms |");
    println!("|---|---:|---:|");
    let mut medians = Vec::new();
    for (name, t) in names.iter().zip(&mut times) {
        let (p50, p95) = percentiles(t);
        medians.push(p50);
        println!("| {name} | {p50:.1} | {p95:.1} |");
    }
    println!(
        "review_suggestions item by item takes {:.1}× the time of review_queue(Some(500)) for the same suggestions",
        medians[6] / medians[2]
    );
    Ok(())
}
