//! Measures the vector index on synthetic catalogues and prints one table.
//!
//! `cargo bench --bench index -- [--sizes 10k,100k,1m-f16,100k-4608] [--quick]
//! [--queries N] [--hnsw-budget N|--hnsw-all] [--ef-construction N]
//! [--ef-search N] [--faiss-python PATH] [--no-faiss]`
//!
//! Data are clustered like a real catalogue (individuals of 5–20 photos, each
//! photo its individual's centre plus noise); uniform random vectors are the
//! HNSW worst case and would mislead. Queries are new photos of catalogued
//! individuals. For every size it times exact scans (f32 and f16, one and two
//! threads), builds HNSW through `SearchIndex` when the size fits the budget,
//! compares f16 rankings with f32, and times the same data in faiss when a
//! Python with faiss is available (`benches/faiss_peer.py`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use whaleid::index::{Hit, IndexConfig, LoadStatus, Precision, SearchIndex, VectorStore};

fn main() {
    // `cargo test --all-targets` runs bench binaries too, without `--bench`
    // and unoptimised: the measurements belong to `cargo bench` only.
    if !std::env::args().any(|a| a == "--bench") {
        println!("index bench: run it with `cargo bench --bench index`");
        return;
    }
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

#[derive(Debug, Clone)]
struct Size {
    label: String,
    n: usize,
    dim: usize,
    hnsw_precision: Precision,
}

#[derive(Debug)]
struct Opts {
    sizes: Vec<Size>,
    queries: usize,
    hnsw_budget: usize,
    ef_construction: usize,
    ef_search: usize,
    faiss_python: Option<String>,
}

fn parse() -> Result<Opts, String> {
    let mut sizes = "10k,100k".to_string();
    let mut queries = None;
    let mut quick = false;
    let mut hnsw_budget = 100_000 * 512;
    let defaults = whaleid::index::HnswParams::default();
    let (mut ef_construction, mut ef_search) = (defaults.ef_construction, defaults.ef_search);
    let mut faiss_python = Some("python3".to_string());
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--sizes" => sizes = value()?,
            "--quick" => quick = true,
            "--queries" => queries = Some(value()?.parse().map_err(|e| format!("--queries: {e}"))?),
            "--hnsw-budget" => {
                hnsw_budget = value()?
                    .parse()
                    .map_err(|e| format!("--hnsw-budget: {e}"))?
            }
            "--hnsw-all" => hnsw_budget = usize::MAX,
            "--ef-construction" => {
                ef_construction = value()?.parse().map_err(|e| format!("{e}"))?
            }
            "--ef-search" => ef_search = value()?.parse().map_err(|e| format!("{e}"))?,
            "--faiss-python" => faiss_python = Some(value()?),
            "--no-faiss" => faiss_python = None,
            "--bench" => {} // passed by `cargo bench`
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if quick && !std::env::args().any(|a| a == "--sizes") {
        sizes = "10k".into();
    }
    let sizes = sizes
        .split(',')
        .map(|s| {
            let (n, dim, precision) = match s.trim() {
                "10k" => (10_000, 512, Precision::F32),
                "50k" => (50_000, 512, Precision::F32),
                "100k" => (100_000, 512, Precision::F32),
                "1m-f16" => (1_000_000, 512, Precision::F16),
                "10k-4608" => (10_000, 4608, Precision::F32),
                "100k-4608" => (100_000, 4608, Precision::F32),
                other => return Err(format!("unknown size {other}")),
            };
            Ok(Size {
                label: s.trim().to_string(),
                n,
                dim,
                hnsw_precision: precision,
            })
        })
        .collect::<Result<_, String>>()?;
    Ok(Opts {
        sizes,
        queries: queries.unwrap_or(if quick { 50 } else { 300 }),
        hnsw_budget,
        ef_construction,
        ef_search,
        faiss_python,
    })
}

/// One line of the final table.
#[derive(Default)]
struct Row {
    config: String,
    method: String,
    build_s: Option<f64>,
    vectors_mb: Option<f64>,
    file_mb: Option<f64>,
    hwm_mb: Option<f64>,
    p50_ms: Option<f64>,
    p99_ms: Option<f64>,
    recall: Option<f64>,
    note: String,
}

fn run() -> Result<(), String> {
    let opts = parse()?;
    let faiss = opts
        .faiss_python
        .as_deref()
        .filter(|py| faiss_available(py));
    eprintln!("faiss peer: {}", faiss.unwrap_or("not available"));
    let tmp = std::env::temp_dir().join(format!("whaleid-index-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    let mut rows = Vec::new();
    for size in &opts.sizes {
        bench_size(size, &opts, faiss, &tmp, &mut rows)?;
    }
    let _ = std::fs::remove_dir_all(&tmp);
    print_table(&rows, &opts);
    Ok(())
}

/// A synthetic catalogue: flat vectors, the individual of each, and queries
/// (new photos) with their true individual.
struct Data {
    vectors: Vec<f32>,
    individual: Vec<u32>,
    queries: Vec<Vec<f32>>,
    query_individual: Vec<u32>,
}

fn generate(n: usize, dim: usize, queries: usize, seed: u64) -> Data {
    let mut rng = Rng(seed);
    let noise = 0.6 / (dim as f32).sqrt();
    let mut vectors = Vec::with_capacity(n * dim);
    let mut individual = Vec::with_capacity(n);
    let mut centres: Vec<Vec<f32>> = Vec::new();
    let photo = |rng: &mut Rng, centre: &[f32], out: &mut Vec<f32>| {
        let start = out.len();
        out.extend(centre.iter().map(|c| c + noise * rng.gauss()));
        normalise(&mut out[start..]);
    };
    while individual.len() < n {
        let mut centre: Vec<f32> = (0..dim).map(|_| rng.gauss()).collect();
        normalise(&mut centre);
        let photos = 5 + (rng.next() % 16) as usize;
        for _ in 0..photos.min(n - individual.len()) {
            photo(&mut rng, &centre, &mut vectors);
            individual.push(centres.len() as u32);
        }
        centres.push(centre);
    }
    let mut qs = Vec::with_capacity(queries);
    let mut query_individual = Vec::with_capacity(queries);
    for _ in 0..queries {
        let who = (rng.next() % centres.len() as u64) as usize;
        let mut q = Vec::with_capacity(dim);
        photo(&mut rng, &centres[who], &mut q);
        qs.push(q);
        query_individual.push(who as u32);
    }
    Data {
        vectors,
        individual,
        queries: qs,
        query_individual,
    }
}

fn bench_size(
    size: &Size,
    opts: &Opts,
    faiss: Option<&str>,
    tmp: &Path,
    rows: &mut Vec<Row>,
) -> Result<(), String> {
    let Size { n, dim, .. } = *size;
    let config = size.label.clone();
    eprintln!("== {config}: generating");
    let data = generate(n, dim, opts.queries, 0x5eed ^ n as u64 ^ dim as u64);

    // Exact scans at both precisions; the f32 single-thread result is the truth.
    let mut truth_f32 = Vec::new();
    let mut truth_by_precision = HashMap::new();
    for precision in [Precision::F32, Precision::F16] {
        let hwm = vm_hwm_mb();
        let mut store = VectorStore::new(dim, precision);
        store.reserve(n);
        for (i, v) in data.vectors.chunks_exact(dim).enumerate() {
            store.push(i as i64, v).map_err(|e| e.to_string())?;
        }
        let hwm_mb = delta(hwm);
        let mut results = Vec::new();
        for threads in [1, 2] {
            eprintln!("== {config}: exact {precision:?} {threads} thread(s)");
            let (lat, hits) = time_queries(&data.queries, |q| store.exact(q, 10, None, threads));
            if threads == 1 {
                results = hits;
            }
            rows.push(Row {
                config: config.clone(),
                method: format!("exact {precision:?} {threads}T"),
                vectors_mb: Some(mb(store.memory_bytes())),
                hwm_mb: (threads == 1).then_some(hwm_mb),
                p50_ms: Some(lat.0),
                p99_ms: Some(lat.1),
                recall: Some(1.0),
                ..Row::default()
            });
        }
        if precision == Precision::F32 {
            truth_f32 = results.clone();
        } else {
            let (overlap, concordance, max_diff) =
                agreement(&truth_f32, &results, &store, &data.queries);
            rows.push(Row {
                config: config.clone(),
                method: "f16 vs f32 exact top-10".into(),
                recall: Some(overlap),
                note: format!("pair-order agreement {concordance:.4}, max |Δscore| {max_diff:.1e}"),
                ..Row::default()
            });
        }
        truth_by_precision.insert(precision, results);
    }

    // Identification by exact scan on one core, for comparison with HNSW.
    if n == 100_000 && dim == 512 {
        let store = {
            let mut s = VectorStore::new(dim, Precision::F32);
            for (i, v) in data.vectors.chunks_exact(dim).enumerate() {
                s.push(i as i64, v).map_err(|e| e.to_string())?;
            }
            s
        };
        rows.push(identification(&config, "top-5 id, exact 1T", &data, |q| {
            store.exact(q, 50, None, 1)
        }));
    }

    let hnsw_ran = n * dim <= opts.hnsw_budget;
    if hnsw_ran {
        bench_hnsw(
            size,
            opts,
            &data,
            &truth_by_precision[&size.hnsw_precision],
            tmp,
            rows,
        )?;
    } else {
        rows.push(Row {
            config: config.clone(),
            method: "HNSW".into(),
            note: format!("not built: n×dim over --hnsw-budget {}", opts.hnsw_budget),
            ..Row::default()
        });
    }

    if let Some(python) = faiss {
        eprintln!("== {config}: faiss");
        let dir = tmp.join("faiss");
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        whaleid::npy::write_f32(&dir.join("data.npy"), &[n, dim], &data.vectors)
            .map_err(|e| e.to_string())?;
        let flat: Vec<f32> = data.queries.concat();
        whaleid::npy::write_f32(&dir.join("queries.npy"), &[data.queries.len(), dim], &flat)
            .map_err(|e| e.to_string())?;
        let peer = run_faiss(python, &dir, opts, hnsw_ran);
        let _ = std::fs::remove_dir_all(&dir);
        match peer {
            Ok(peer) => faiss_rows(&config, &peer, rows),
            Err(e) => rows.push(Row {
                config: config.clone(),
                method: "faiss".into(),
                note: e,
                ..Row::default()
            }),
        }
    }
    Ok(())
}

fn bench_hnsw(
    size: &Size,
    opts: &Opts,
    data: &Data,
    truth: &[Vec<Hit>],
    tmp: &Path,
    rows: &mut Vec<Row>,
) -> Result<(), String> {
    let config = size.label.clone();
    let mut cfg = IndexConfig::new(size.dim);
    cfg.precision = size.hnsw_precision;
    cfg.exact_threshold = 0;
    cfg.threads = 1;
    cfg.hnsw.ef_construction = opts.ef_construction;
    cfg.hnsw.ef_search = opts.ef_search;
    let index = SearchIndex::new(cfg);
    for (i, v) in data.vectors.chunks_exact(size.dim).enumerate() {
        index.add(i as i64, v).map_err(|e| e.to_string())?;
    }
    eprintln!(
        "== {config}: building HNSW (ef_construction {})",
        opts.ef_construction
    );
    let hwm = vm_hwm_mb();
    index.rebuild_in_background();
    let report = index
        .wait_for_rebuild()
        .ok_or("no build ran")?
        .map_err(|e| e.to_string())?;
    let hwm_mb = delta(hwm);
    let path = tmp.join("catalogue.hnsw");
    let started = Instant::now();
    index.save_snapshot(&path).map_err(|e| e.to_string())?;
    let save_s = started.elapsed().as_secs_f64();
    let file_mb = mb(std::fs::metadata(&path).map_err(|e| e.to_string())?.len() as usize);
    let started = Instant::now();
    let loaded = index.load_snapshot(&path);
    let load_s = started.elapsed().as_secs_f64();
    if !matches!(loaded, LoadStatus::Loaded { .. }) {
        return Err(format!("reloading the snapshot failed: {loaded:?}"));
    }
    let _ = std::fs::remove_file(&path);

    eprintln!("== {config}: HNSW queries");
    let (lat, hits) = time_queries(&data.queries, |q| index.search(q, 10, None).expect("query"));
    let vector_bytes = size.n
        * size.dim
        * if size.hnsw_precision == Precision::F16 {
            2
        } else {
            4
        };
    rows.push(Row {
        config: config.clone(),
        method: format!("HNSW+rerank {:?} 1T", size.hnsw_precision),
        build_s: Some(report.elapsed.as_secs_f64()),
        vectors_mb: Some(mb(vector_bytes)),
        file_mb: Some(file_mb),
        hwm_mb: Some(hwm_mb),
        p50_ms: Some(lat.0),
        p99_ms: Some(lat.1),
        recall: Some(recall(truth, &hits)),
        note: format!(
            "ef_c {} ef_s {}; save {save_s:.2} s, load+verify {load_s:.2} s",
            opts.ef_construction, opts.ef_search
        ),
    });
    if size.n == 100_000 && size.dim == 512 {
        rows.push(identification(&config, "top-5 id, HNSW 1T", data, |q| {
            index.search(q, 50, None).expect("query")
        }));
    }
    Ok(())
}

/// Search k=50 and group hits by individual (best score each), top 5.
fn identification(
    config: &str,
    method: &str,
    data: &Data,
    search: impl Fn(&[f32]) -> Vec<Hit>,
) -> Row {
    eprintln!("== {config}: {method}");
    let mut correct = 0;
    let mut times = Vec::with_capacity(data.queries.len());
    for (q, who) in data.queries.iter().zip(&data.query_individual) {
        let started = Instant::now();
        let hits = search(q);
        let mut best: HashMap<u32, f32> = HashMap::with_capacity(hits.len());
        for h in &hits {
            let ind = data.individual[h.id as usize];
            let e = best.entry(ind).or_insert(f32::MIN);
            *e = e.max(h.score);
        }
        let mut ranked: Vec<(u32, f32)> = best.into_iter().collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked.truncate(5);
        times.push(started.elapsed().as_secs_f64() * 1e3);
        correct += usize::from(ranked.iter().any(|(ind, _)| ind == who));
    }
    let (p50, p99) = percentiles(&mut times);
    Row {
        config: config.into(),
        method: method.into(),
        p50_ms: Some(p50),
        p99_ms: Some(p99),
        note: format!(
            "k=50 + grouping; true individual in top 5: {:.3}",
            correct as f64 / data.queries.len() as f64
        ),
        ..Row::default()
    }
}

fn time_queries(
    queries: &[Vec<f32>],
    search: impl Fn(&[f32]) -> Vec<Hit>,
) -> ((f64, f64), Vec<Vec<Hit>>) {
    // One warm-up query so page faults and thread-locals are not timed.
    let _ = search(&queries[0]);
    let mut times = Vec::with_capacity(queries.len());
    let mut results = Vec::with_capacity(queries.len());
    for q in queries {
        let started = Instant::now();
        let hits = search(q);
        times.push(started.elapsed().as_secs_f64() * 1e3);
        results.push(hits);
    }
    (percentiles(&mut times), results)
}

fn percentiles(ms: &mut [f64]) -> (f64, f64) {
    ms.sort_by(f64::total_cmp);
    let at = |p: f64| ms[((ms.len() - 1) as f64 * p).round() as usize];
    (at(0.5), at(0.99))
}

fn recall(truth: &[Vec<Hit>], got: &[Vec<Hit>]) -> f64 {
    let mut found = 0;
    let mut total = 0;
    for (t, g) in truth.iter().zip(got) {
        found += g.iter().filter(|h| t.iter().any(|x| x.id == h.id)).count();
        total += t.len();
    }
    found as f64 / total as f64
}

/// Top-10 overlap, pairwise order agreement of f32's top 10 under f16
/// scores (1 = same order), and the largest score difference.
fn agreement(
    f32_hits: &[Vec<Hit>],
    f16_hits: &[Vec<Hit>],
    f16_store: &VectorStore,
    queries: &[Vec<f32>],
) -> (f64, f64, f32) {
    let (mut overlap, mut pairs, mut concordant, mut max_diff) = (0.0, 0usize, 0usize, 0f32);
    for ((a, b), q) in f32_hits.iter().zip(f16_hits).zip(queries) {
        overlap +=
            b.iter().filter(|h| a.iter().any(|x| x.id == h.id)).count() as f64 / a.len() as f64;
        let scores: Vec<f32> = a
            .iter()
            .map(|h| {
                let v = f16_store.get(h.id).expect("stored");
                let s: f32 = v.iter().zip(q).map(|(x, y)| x * y).sum();
                max_diff = max_diff.max((s - h.score).abs());
                s
            })
            .collect();
        for i in 0..scores.len() {
            for j in i + 1..scores.len() {
                pairs += 1;
                concordant += usize::from(scores[i] >= scores[j]);
            }
        }
    }
    (
        overlap / f32_hits.len() as f64,
        concordant as f64 / pairs as f64,
        max_diff,
    )
}

fn faiss_available(python: &str) -> bool {
    Command::new(python)
        .args(["-c", "import faiss, numpy"])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn run_faiss(
    python: &str,
    dir: &Path,
    opts: &Opts,
    hnsw: bool,
) -> Result<HashMap<String, f64>, String> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/faiss_peer.py");
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut cmd = Command::new(python);
    cmd.arg(&script)
        .arg(dir)
        .arg("32")
        .arg(opts.ef_construction.to_string())
        .arg(opts.ef_search.to_string())
        .arg(threads.to_string());
    if !hnsw {
        cmd.arg("--no-hnsw");
    }
    let out = cmd.output().map_err(|e| format!("running {python}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "faiss_peer.py failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    // The script prints one flat JSON object of numbers (and a version string).
    let json: serde_json::Value =
        serde_json::from_str(text.trim()).map_err(|e| format!("faiss output: {e}"))?;
    let map = json
        .as_object()
        .ok_or("faiss output is not an object")?
        .iter()
        .filter_map(|(k, v)| v.as_f64().map(|x| (k.clone(), x)))
        .collect();
    Ok(map)
}

fn faiss_rows(config: &str, peer: &HashMap<String, f64>, rows: &mut Vec<Row>) {
    let ours = |method: &str| {
        rows.iter()
            .find(|r| r.config == config && r.method == method)
            .and_then(|r| r.p50_ms)
    };
    let ratio = |ours: Option<f64>, theirs: Option<&f64>| match (ours, theirs) {
        (Some(a), Some(b)) => format!("ours/faiss p50 = {:.2}", a / b),
        _ => String::new(),
    };
    rows.push(Row {
        config: config.into(),
        method: "faiss FlatIP 1T".into(),
        p50_ms: peer.get("flat_p50_ms").copied(),
        p99_ms: peer.get("flat_p99_ms").copied(),
        recall: Some(1.0),
        note: ratio(ours("exact F32 1T"), peer.get("flat_p50_ms")),
        ..Row::default()
    });
    if let Some(build) = peer.get("hnsw_build_s") {
        let our_build = rows
            .iter()
            .find(|r| r.config == config && r.method.starts_with("HNSW+rerank"))
            .and_then(|r| r.build_s);
        let build_ratio = our_build.map_or(String::new(), |b| format!(", build {:.2}", b / build));
        rows.push(Row {
            config: config.into(),
            method: "faiss HNSWFlat 1T".into(),
            build_s: Some(*build),
            p50_ms: peer.get("hnsw_p50_ms").copied(),
            p99_ms: peer.get("hnsw_p99_ms").copied(),
            recall: peer.get("hnsw_recall10").copied(),
            note: format!(
                "M 32, no rerank; {}{build_ratio}",
                ratio(
                    rows.iter()
                        .find(|r| r.config == config && r.method.starts_with("HNSW+rerank"))
                        .and_then(|r| r.p50_ms),
                    peer.get("hnsw_p50_ms")
                )
            ),
            ..Row::default()
        });
    }
}

fn print_table(rows: &[Row], opts: &Opts) {
    let f =
        |x: Option<f64>, digits: usize| x.map_or("–".to_string(), |x| format!("{x:.digits$}"));
    println!(
        "\nindex bench: {} queries, k=10, clustered data (individuals of 5–20 photos), {} cores",
        opts.queries,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!("| config | method | build s | vectors MB | file MB | ΔHWM MB | p50 ms | p99 ms | recall@10 | notes |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---|");
    for r in rows {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.config,
            r.method,
            f(r.build_s, 1),
            f(r.vectors_mb, 0),
            f(r.file_mb, 0),
            f(r.hwm_mb, 0),
            f(r.p50_ms, 3),
            f(r.p99_ms, 3),
            f(r.recall, 4),
            r.note
        );
    }
}

fn mb(bytes: usize) -> f64 {
    bytes as f64 / 1e6
}

/// Peak resident set size so far (VmHWM), in MB; 0 where /proc is absent.
fn vm_hwm_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1e3)
}

fn delta(before_mb: f64) -> f64 {
    (vm_hwm_mb() - before_mb).max(0.0)
}

fn normalise(v: &mut [f32]) {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= n);
}

/// splitmix64, with a cheap approximately normal draw (Irwin–Hall, 4 terms).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn gauss(&mut self) -> f32 {
        let r = self.next();
        let sum: u32 = (0..4).map(|i| ((r >> (16 * i)) & 0xffff) as u32).sum();
        (sum as f32 / 65536.0 - 2.0) * 3f32.sqrt()
    }
}
