//! Vector search over the catalogue: "which stored embeddings are most like
//! this one?"
//!
//! [`SearchIndex`] is what the app queries. Every vector lives in a
//! [`VectorStore`] (exact, authoritative scores); above
//! [`IndexConfig::exact_threshold`] vectors an HNSW snapshot ([`hnsw`])
//! proposes candidates that are re-ranked exactly, and vectors added since
//! the snapshot (the *delta*) are scanned exactly, so a new photo is
//! searchable at once. The snapshot is rebuilt on a background thread and
//! swapped in under a lock held only for the swap; queries never wait for a
//! build. Snapshots are saved next to the database and refused on load when
//! they do not match the store, so the caller knows to rebuild.

mod error;
mod file;
pub mod hnsw;
pub mod kernel;
mod store;
#[cfg(test)]
mod tests;
mod topk;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub use error::IndexError;
pub use hnsw::{BuildCancel, HnswIndex, HnswParams, StoreSnapshot};
pub use store::{Filter, Precision, VectorStore};
pub use topk::Hit;
use topk::TopK;

/// How a [`SearchIndex`] searches and builds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IndexConfig {
    pub dim: usize,
    pub precision: Precision,
    /// Below this many live vectors every query is an exact scan, snapshot
    /// or not. Measured at 512-d on two cores: exact 0.6 ms at 10k and
    /// 6.6 ms at 100k, HNSW 1.0 ms at 10k and 2.7 ms at 100k, so they cross
    /// near 35–40k (and HNSW builds take minutes).
    pub exact_threshold: usize,
    pub hnsw: HnswParams,
    /// Threads for exact scans; 0 means all available cores.
    pub threads: usize,
    /// HNSW candidates re-ranked per query: `max(k * oversample, min_candidates)`,
    /// capped by `hnsw.ef_search`.
    pub oversample: usize,
    pub min_candidates: usize,
}

impl IndexConfig {
    pub fn new(dim: usize) -> Self {
        Self {
            dim,
            precision: Precision::F32,
            exact_threshold: 40_000,
            hnsw: HnswParams::default(),
            threads: 0,
            oversample: 4,
            min_candidates: 64,
        }
    }
}

/// The dimension to index vectors of these `lengths` at when it is not
/// known beforehand: the most common one (`preferred` on a tie with it,
/// else the larger), so a stray vector of another size, even the first,
/// is the one left out. `None` when there are none.
pub fn usual_dim(lengths: impl IntoIterator<Item = usize>, preferred: usize) -> Option<usize> {
    let mut counts: std::collections::BTreeMap<usize, usize> = std::collections::BTreeMap::new();
    for n in lengths {
        *counts.entry(n).or_default() += 1;
    }
    counts
        .into_iter()
        .max_by_key(|&(dim, count)| (count, dim == preferred, dim))
        .map(|(dim, _)| dim)
}

/// A built graph and the slot range it covers: slots `[0, slot_end)`.
#[derive(Debug)]
struct Snapshot {
    hnsw: HnswIndex,
    slot_end: usize,
}

#[derive(Debug)]
struct Shared {
    config: IndexConfig,
    store: RwLock<VectorStore>,
    snapshot: RwLock<Option<Arc<Snapshot>>>,
    /// Set by the build thread for its whole run, so waiting on it does not
    /// hide that a build is in progress.
    building: AtomicBool,
}

#[derive(Debug)]
struct Job {
    cancel: BuildCancel,
    handle: JoinHandle<Result<RebuildReport, IndexError>>,
}

/// What a finished background rebuild did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RebuildReport {
    pub vectors: usize,
    pub elapsed: Duration,
}

/// Result of [`SearchIndex::load_snapshot`]. Anything but `Loaded` means the
/// caller should call [`SearchIndex::rebuild_in_background`].
#[derive(Debug)]
pub enum LoadStatus {
    Loaded {
        vectors: usize,
        delta: usize,
    },
    Missing,
    /// The file exists but cannot be used; the error names it and says why.
    Rejected(IndexError),
}

/// Counts for status displays and rebuild decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexStats {
    pub live: usize,
    pub snapshot_vectors: usize,
    /// Slots added since the snapshot (scanned exactly on every query).
    pub delta_slots: usize,
    pub rebuilding: bool,
}

/// The live, thread-safe search index. All methods take `&self`.
#[derive(Debug)]
pub struct SearchIndex {
    shared: Arc<Shared>,
    job: Mutex<Option<Job>>,
}

impl SearchIndex {
    pub fn new(config: IndexConfig) -> Self {
        Self {
            shared: Arc::new(Shared {
                config,
                store: RwLock::new(VectorStore::new(config.dim, config.precision)),
                snapshot: RwLock::new(None),
                building: AtomicBool::new(false),
            }),
            job: Mutex::new(None),
        }
    }

    pub fn config(&self) -> &IndexConfig {
        &self.shared.config
    }

    /// Add (or replace) the vector for `id`. Searchable immediately.
    pub fn add(&self, id: i64, vector: &[f32]) -> Result<(), IndexError> {
        write(&self.shared.store).push(id, vector)
    }

    /// Add every vector that can be indexed; each one that cannot (another
    /// dimension, a value that is not a number) is left out and returned
    /// with why, so one bad vector never costs the whole index.
    pub fn add_all<'a>(
        &self,
        vectors: impl IntoIterator<Item = (i64, &'a [f32])>,
    ) -> Vec<IndexError> {
        let mut store = write(&self.shared.store);
        vectors
            .into_iter()
            .filter_map(|(id, vector)| store.push(id, vector).err())
            .collect()
    }

    /// Remove `id`; it is never returned again. Returns whether it was present.
    pub fn remove(&self, id: i64) -> bool {
        write(&self.shared.store).remove(id)
    }

    pub fn len(&self) -> usize {
        read(&self.shared.store).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn contains(&self, id: i64) -> bool {
        read(&self.shared.store).contains(id)
    }

    pub fn stats(&self) -> IndexStats {
        let store = read(&self.shared.store);
        let snapshot = self.current_snapshot();
        let (snapshot_vectors, slot_end) = snapshot
            .as_ref()
            .map_or((0, 0), |s| (s.hnsw.len(), s.slot_end));
        IndexStats {
            live: store.len(),
            snapshot_vectors,
            delta_slots: store.slot_count() - slot_end,
            rebuilding: self.is_rebuilding(),
        }
    }

    /// The `k` stored vectors most similar to `query`, best first, with exact
    /// scores; removed ids and ids the filter rejects are never returned.
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        filter: Option<Filter<'_>>,
    ) -> Result<Vec<Hit>, IndexError> {
        let config = &self.shared.config;
        if query.len() != config.dim {
            return Err(IndexError::DimMismatch {
                id: None,
                expected: config.dim,
                got: query.len(),
            });
        }
        let snapshot = self.current_snapshot();
        let store = read(&self.shared.store);
        let snapshot = match snapshot {
            Some(s) if store.len() >= config.exact_threshold => s,
            _ => return Ok(store.exact(query, k, filter, config.threads)),
        };
        let wanted = (k * config.oversample).max(config.min_candidates);
        let mut top = TopK::new(k);
        let mut passed = 0;
        for candidate in snapshot.hnsw.search(query, wanted) {
            // A replaced id lives in the delta now; a removed one nowhere.
            let Some(slot) = store.slot_of(candidate.id) else {
                continue;
            };
            if slot >= snapshot.slot_end || !filter.is_none_or(|f| f(candidate.id)) {
                continue;
            }
            passed += 1;
            top.push(Hit {
                id: candidate.id,
                score: store.score_slot(slot, query),
            });
        }
        if passed < k {
            // A selective scope (or many removals) left too few candidates:
            // only an exact scan can promise the true top k.
            return Ok(store.exact(query, k, filter, config.threads));
        }
        let delta = snapshot.slot_end..store.slot_count();
        top.extend(store.exact_slots(query, k, filter, config.threads, delta));
        Ok(top.into_sorted())
    }

    /// Start building a fresh snapshot of all current vectors on a background
    /// thread. Returns `false` (and starts nothing) when a build is running.
    pub fn rebuild_in_background(&self) -> bool {
        let mut job = lock(&self.job);
        if job.as_ref().is_some_and(|j| !j.handle.is_finished()) {
            return false;
        }
        if let Some(old) = job.take() {
            // Its outcome was never collected; it already swapped if it succeeded.
            let _ = old.handle.join();
        }
        let cancel = BuildCancel::new();
        let shared = Arc::clone(&self.shared);
        shared.building.store(true, Ordering::SeqCst);
        let flag = cancel.clone();
        let handle = std::thread::Builder::new()
            .name("whaleid-index-build".into())
            .spawn(move || {
                let outcome = rebuild(&shared, &flag);
                shared.building.store(false, Ordering::SeqCst);
                outcome
            })
            .expect("spawn index build thread");
        *job = Some(Job { cancel, handle });
        true
    }

    pub fn is_rebuilding(&self) -> bool {
        self.shared.building.load(Ordering::SeqCst)
    }

    /// Stop a running build; queries keep using the old snapshot. Returns
    /// whether a build was stopped.
    pub fn cancel_rebuild(&self) -> bool {
        let job = lock(&self.job).take();
        match job {
            Some(job) => {
                let stopped = job.cancel.cancel();
                let _ = job.handle.join();
                stopped
            }
            None => false,
        }
    }

    /// Block until the current build ends; `None` when there was none.
    pub fn wait_for_rebuild(&self) -> Option<Result<RebuildReport, IndexError>> {
        let job = lock(&self.job).take()?;
        Some(
            job.handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
        )
    }

    /// Save the current snapshot (atomically). Returns `false` when there is
    /// none to save.
    pub fn save_snapshot(&self, path: &Path) -> Result<bool, IndexError> {
        match self.current_snapshot() {
            Some(snapshot) => snapshot.hnsw.save(path).map(|()| true),
            None => Ok(false),
        }
    }

    /// Load a snapshot saved by [`save_snapshot`](Self::save_snapshot) for the
    /// vectors already in the store. It is used only if it was built from
    /// exactly the store's first live vectors (same ids, same values); vectors
    /// added after it become the delta.
    pub fn load_snapshot(&self, path: &Path) -> LoadStatus {
        if !path.exists() {
            return LoadStatus::Missing;
        }
        let hnsw = match HnswIndex::load(path) {
            Ok(hnsw) => hnsw,
            Err(e) => return LoadStatus::Rejected(e),
        };
        let store = read(&self.shared.store);
        let slot_end = match matches_store(&hnsw, &store) {
            Ok(slot_end) => slot_end,
            Err(reason) => {
                let reason =
                    format!("{reason}; it was built for other vectors and must be rebuilt");
                return LoadStatus::Rejected(IndexError::bad(path, reason));
            }
        };
        let status = LoadStatus::Loaded {
            vectors: hnsw.len(),
            delta: store.slot_count() - slot_end,
        };
        *write(&self.shared.snapshot) = Some(Arc::new(Snapshot { hnsw, slot_end }));
        status
    }

    fn current_snapshot(&self) -> Option<Arc<Snapshot>> {
        read(&self.shared.snapshot).clone()
    }
}

impl Drop for SearchIndex {
    fn drop(&mut self) {
        self.cancel_rebuild();
    }
}

fn rebuild(shared: &Shared, cancel: &BuildCancel) -> Result<RebuildReport, IndexError> {
    let started = Instant::now();
    let (snapshot, slot_end) = {
        // Copying under the read lock only blocks writers, for one memcpy.
        let store = read(&shared.store);
        let mut ids = Vec::with_capacity(store.len());
        let mut vectors = Vec::with_capacity(store.len());
        for slot in (0..store.slot_count()).filter(|s| store.is_live(*s)) {
            let mut v = Vec::with_capacity(store.dim());
            store.copy_slot(slot, &mut v);
            ids.push(store.id_at(slot));
            vectors.push(v.into_boxed_slice());
        }
        let snapshot = StoreSnapshot {
            dim: store.dim(),
            precision: store.precision(),
            ids,
            vectors,
        };
        (snapshot, store.slot_count())
    };
    let vectors = snapshot.ids.len();
    let hnsw = HnswIndex::build(snapshot, shared.config.hnsw, cancel)?;
    *write(&shared.snapshot) = Some(Arc::new(Snapshot { hnsw, slot_end }));
    Ok(RebuildReport {
        vectors,
        elapsed: started.elapsed(),
    })
}

/// The slot end a loaded graph covers, if it was built from the store's first
/// `hnsw.len()` live vectors with identical values.
fn matches_store(hnsw: &HnswIndex, store: &VectorStore) -> Result<usize, String> {
    if hnsw.dim() != store.dim() {
        return Err(format!(
            "dimension {} but the catalogue has {}",
            hnsw.dim(),
            store.dim()
        ));
    }
    if hnsw.precision() != store.precision() {
        return Err(format!(
            "built at {:?} but the catalogue is {:?}",
            hnsw.precision(),
            store.precision()
        ));
    }
    let count = hnsw.len();
    let mut slot_end = 0;
    let mut live = 0;
    while live < count && slot_end < store.slot_count() {
        live += usize::from(store.is_live(slot_end));
        slot_end += 1;
    }
    if live < count {
        return Err(format!(
            "covers {count} vectors but the catalogue has {}",
            store.len()
        ));
    }
    let prefix = (0..slot_end)
        .filter(|s| store.is_live(*s))
        .map(|s| store.id_at(s));
    if hnsw::ids_checksum(prefix) != hnsw.ids_checksum() {
        return Err("its ids differ from the catalogue's".into());
    }
    let mut stored = Vec::with_capacity(store.dim());
    for (id, vector) in hnsw.points() {
        stored.clear();
        let slot = store
            .slot_of(id)
            .filter(|s| *s < slot_end)
            .ok_or("its ids differ from the catalogue's")?;
        store.copy_slot(slot, &mut stored);
        if stored.as_slice() != vector {
            return Err(format!("the vector of id {id} has changed"));
        }
    }
    Ok(slot_end)
}

// The locks guard plain data that stays consistent even if a holder panicked.
fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|e| e.into_inner())
}

fn lock<T>(lock: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    lock.lock().unwrap_or_else(|e| e.into_inner())
}
