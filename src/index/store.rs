//! All catalogue vectors in one contiguous buffer, and exact search over them.
//!
//! The store is the source of truth for scores: the HNSW graph only proposes
//! candidates, and every reported score is recomputed here. Vectors live in
//! one `Vec` (row `slot` at `slot * dim`) so a scan streams memory linearly;
//! [`Precision::F16`] halves that memory for large catalogues at a cost of
//! ~1e-3 in scores. Removal leaves a tombstone so slots never move: an HNSW
//! snapshot built over the first `n` slots stays valid while the store grows.

use std::collections::HashMap;
use std::ops::Range;

use half::f16;

use super::error::IndexError;
use super::kernel;
use super::topk::{Hit, TopK};

/// A predicate on embedding ids (species, date or region scope). `Sync`
/// because exact scans evaluate it on several threads.
pub type Filter<'a> = &'a (dyn Fn(i64) -> bool + Sync);

/// How vectors are kept in memory.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
pub enum Precision {
    #[default]
    F32,
    /// Half precision: half the memory, scores within ~1e-3 of f32.
    F16,
}

#[derive(Debug, Clone)]
enum Data {
    F32(Vec<f32>),
    F16(Vec<f16>),
}

/// Below this many multiply-adds a scan runs on the calling thread: spawning
/// costs tens of microseconds, more than scanning a few thousand vectors.
const MIN_PARALLEL_WORK: usize = 1 << 20;

/// N vectors of dimension D with their ids, in insertion order.
#[derive(Debug, Clone)]
pub struct VectorStore {
    dim: usize,
    data: Data,
    ids: Vec<i64>,
    live: Vec<bool>,
    slot_of: HashMap<i64, usize>,
}

impl VectorStore {
    pub fn new(dim: usize, precision: Precision) -> Self {
        assert!(dim > 0, "vector dimension must be positive");
        let data = match precision {
            Precision::F32 => Data::F32(Vec::new()),
            Precision::F16 => Data::F16(Vec::new()),
        };
        Self {
            dim,
            data,
            ids: Vec::new(),
            live: Vec::new(),
            slot_of: HashMap::new(),
        }
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn precision(&self) -> Precision {
        match self.data {
            Data::F32(_) => Precision::F32,
            Data::F16(_) => Precision::F16,
        }
    }

    /// Number of live (not removed) vectors.
    pub fn len(&self) -> usize {
        self.slot_of.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slot_of.is_empty()
    }

    /// Number of slots, removed ones included: the end of the slot range.
    pub fn slot_count(&self) -> usize {
        self.ids.len()
    }

    /// Bytes held by vectors and ids (what f16 halves).
    pub fn memory_bytes(&self) -> usize {
        let vectors = match &self.data {
            Data::F32(v) => v.capacity() * 4,
            Data::F16(v) => v.capacity() * 2,
        };
        vectors + self.ids.capacity() * 8 + self.live.capacity()
    }

    pub fn reserve(&mut self, additional: usize) {
        match &mut self.data {
            Data::F32(v) => v.reserve(additional * self.dim),
            Data::F16(v) => v.reserve(additional * self.dim),
        }
        self.ids.reserve(additional);
        self.live.reserve(additional);
        self.slot_of.reserve(additional);
    }

    /// Append a vector. An id that is already live is replaced (its old slot
    /// becomes a tombstone), so re-embedding a photo needs no remove first.
    pub fn push(&mut self, id: i64, vector: &[f32]) -> Result<(), IndexError> {
        if vector.len() != self.dim {
            return Err(IndexError::DimMismatch {
                id: Some(id),
                expected: self.dim,
                got: vector.len(),
            });
        }
        if let Some(position) = vector.iter().position(|x| !x.is_finite()) {
            return Err(IndexError::NonFinite { id, position });
        }
        self.remove(id);
        match &mut self.data {
            Data::F32(v) => v.extend_from_slice(vector),
            Data::F16(v) => v.extend(vector.iter().map(|x| f16::from_f32(*x))),
        }
        self.slot_of.insert(id, self.ids.len());
        self.ids.push(id);
        self.live.push(true);
        Ok(())
    }

    /// Tombstone `id`; returns whether it was present.
    pub fn remove(&mut self, id: i64) -> bool {
        match self.slot_of.remove(&id) {
            Some(slot) => {
                self.live[slot] = false;
                true
            }
            None => false,
        }
    }

    pub fn contains(&self, id: i64) -> bool {
        self.slot_of.contains_key(&id)
    }

    /// The stored vector (widened to f32 when kept at half precision).
    pub fn get(&self, id: i64) -> Option<Vec<f32>> {
        let slot = *self.slot_of.get(&id)?;
        let mut out = Vec::with_capacity(self.dim);
        self.copy_slot(slot, &mut out);
        Some(out)
    }

    /// Live ids in slot order.
    pub fn ids(&self) -> impl Iterator<Item = i64> + '_ {
        self.ids
            .iter()
            .zip(&self.live)
            .filter(|(_, live)| **live)
            .map(|(id, _)| *id)
    }

    /// Exact top-k by dot product, best first (ties by smaller id), skipping
    /// removed vectors and ids the filter rejects. `threads == 0` means all
    /// available cores.
    ///
    /// # Panics
    /// If `query` does not have the store's dimension.
    pub fn exact(
        &self,
        query: &[f32],
        k: usize,
        filter: Option<Filter<'_>>,
        threads: usize,
    ) -> Vec<Hit> {
        self.exact_slots(query, k, filter, threads, 0..self.slot_count())
    }

    /// [`exact`](Self::exact) restricted to a range of slots.
    pub(crate) fn exact_slots(
        &self,
        query: &[f32],
        k: usize,
        filter: Option<Filter<'_>>,
        threads: usize,
        slots: Range<usize>,
    ) -> Vec<Hit> {
        assert_eq!(query.len(), self.dim, "query dimension");
        let slots = slots.start.min(self.slot_count())..slots.end.min(self.slot_count());
        let threads = match threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let threads = threads
            .min(slots.len() * self.dim / MIN_PARALLEL_WORK)
            .max(1);
        if threads == 1 {
            return self.scan(query, k, filter, slots).into_sorted();
        }
        let chunk = slots.len().div_ceil(threads);
        let mut top = TopK::new(k);
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|t| {
                    let start = slots.start + t * chunk;
                    let end = (start + chunk).min(slots.end);
                    scope.spawn(move || self.scan(query, k, filter, start..end).into_sorted())
                })
                .collect();
            for worker in workers {
                top.extend(worker.join().expect("scan thread panicked"));
            }
        });
        top.into_sorted()
    }

    fn scan(
        &self,
        query: &[f32],
        k: usize,
        filter: Option<Filter<'_>>,
        slots: Range<usize>,
    ) -> TopK {
        let mut top = TopK::new(k);
        let d = self.dim;
        let mut consider = |slot: usize, score: f32| {
            if self.live[slot] && top.admits(score) {
                let id = self.ids[slot];
                if filter.is_none_or(|f| f(id)) {
                    top.push(Hit { id, score });
                }
            }
        };
        match &self.data {
            Data::F32(v) => {
                for (i, row) in v[slots.start * d..slots.end * d]
                    .chunks_exact(d)
                    .enumerate()
                {
                    consider(slots.start + i, kernel::dot(query, row));
                }
            }
            Data::F16(v) => {
                for (i, row) in v[slots.start * d..slots.end * d]
                    .chunks_exact(d)
                    .enumerate()
                {
                    consider(slots.start + i, kernel::dot_f16(query, row));
                }
            }
        }
        top
    }

    pub(crate) fn slot_of(&self, id: i64) -> Option<usize> {
        self.slot_of.get(&id).copied()
    }

    pub(crate) fn is_live(&self, slot: usize) -> bool {
        self.live[slot]
    }

    pub(crate) fn id_at(&self, slot: usize) -> i64 {
        self.ids[slot]
    }

    pub(crate) fn score_slot(&self, slot: usize, query: &[f32]) -> f32 {
        let row = slot * self.dim..(slot + 1) * self.dim;
        match &self.data {
            Data::F32(v) => kernel::dot(query, &v[row]),
            Data::F16(v) => kernel::dot_f16(query, &v[row]),
        }
    }

    pub(crate) fn copy_slot(&self, slot: usize, out: &mut Vec<f32>) {
        let row = slot * self.dim..(slot + 1) * self.dim;
        match &self.data {
            Data::F32(v) => out.extend_from_slice(&v[row]),
            Data::F16(v) => out.extend(v[row].iter().map(|x| kernel::widen(*x))),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// splitmix64: a tiny deterministic generator, enough for test data.
    pub(crate) struct Rng(pub u64);

    impl Rng {
        pub(crate) fn next_u64(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }

        /// Uniform in (0, 1].
        fn unit(&mut self) -> f64 {
            ((self.next_u64() >> 11) + 1) as f64 / (1u64 << 53) as f64
        }

        /// Standard normal (Box–Muller).
        pub(crate) fn gauss(&mut self) -> f32 {
            let (u, v) = (self.unit(), self.unit());
            ((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
        }
    }

    pub(crate) fn normalise(v: &mut [f32]) {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter_mut().for_each(|x| *x /= n);
    }

    /// Clustered unit vectors, like several photos of each individual:
    /// `clusters` random centres, each point a centre plus gaussian noise.
    pub(crate) fn clustered(
        seed: u64,
        clusters: usize,
        n: usize,
        dim: usize,
        noise: f32,
    ) -> Vec<Vec<f32>> {
        let mut rng = Rng(seed);
        let centres: Vec<Vec<f32>> = (0..clusters)
            .map(|_| {
                let mut c: Vec<f32> = (0..dim).map(|_| rng.gauss()).collect();
                normalise(&mut c);
                c
            })
            .collect();
        (0..n)
            .map(|i| {
                let centre = &centres[i % clusters];
                let scale = noise / (dim as f32).sqrt();
                let mut v: Vec<f32> = centre.iter().map(|c| c + scale * rng.gauss()).collect();
                normalise(&mut v);
                v
            })
            .collect()
    }

    fn naive_top(vectors: &[(i64, Vec<f32>)], q: &[f32], k: usize) -> Vec<i64> {
        let mut all: Vec<(f64, i64)> = vectors
            .iter()
            .map(|(id, v)| {
                (
                    v.iter().zip(q).map(|(a, b)| *a as f64 * *b as f64).sum(),
                    *id,
                )
            })
            .collect();
        all.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        all.into_iter().take(k).map(|(_, id)| id).collect()
    }

    #[test]
    fn exact_matches_naive_ranking_on_any_thread_count() {
        let data = clustered(7, 20, 3000, 64, 0.5);
        let mut store = VectorStore::new(64, Precision::F32);
        let items: Vec<(i64, Vec<f32>)> = data
            .into_iter()
            .enumerate()
            .map(|(i, v)| (i as i64 * 3, v))
            .collect();
        for (id, v) in &items {
            store.push(*id, v).unwrap();
        }
        for q in 0..5 {
            let query = &items[q * 101].1;
            let want = naive_top(&items, query, 10);
            for threads in [1, 2, 3] {
                let got: Vec<i64> = store
                    .exact_slots(query, 10, None, threads, 0..store.slot_count())
                    .iter()
                    .map(|h| h.id)
                    .collect();
                assert_eq!(got, want, "threads {threads}");
            }
        }
    }

    #[test]
    fn multi_threaded_scan_splits_the_work() {
        // Big enough to pass MIN_PARALLEL_WORK, so the threaded path really runs.
        let dim = 256;
        let n = MIN_PARALLEL_WORK / dim * 2 + 17;
        let data = clustered(8, 50, n, dim, 0.5);
        let mut store = VectorStore::new(dim, Precision::F32);
        for (i, v) in data.iter().enumerate() {
            store.push(i as i64, v).unwrap();
        }
        let one = store.exact(&data[5], 20, None, 1);
        let two = store.exact(&data[5], 20, None, 2);
        assert_eq!(one, two);
        assert_eq!(one[0].id, 5);
    }

    #[test]
    fn push_rejects_wrong_dimension_naming_both() {
        let mut store = VectorStore::new(4, Precision::F32);
        let err = store.push(9, &[1.0, 0.0, 0.0]).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("dimension 3") && msg.contains("expects 4") && msg.contains("id 9"),
            "{msg}"
        );
        assert!(store.push(9, &[f32::NAN, 0.0, 0.0, 0.0]).is_err());
        assert!(store.is_empty());
    }

    #[test]
    fn removed_and_filtered_ids_are_skipped_and_replacement_wins() {
        let mut store = VectorStore::new(2, Precision::F16);
        store.push(1, &[1.0, 0.0]).unwrap();
        store.push(2, &[0.8, 0.6]).unwrap();
        store.push(3, &[0.6, 0.8]).unwrap();
        assert!(store.remove(1));
        assert!(!store.remove(1));
        let ids: Vec<i64> = store
            .exact(&[1.0, 0.0], 5, None, 1)
            .iter()
            .map(|h| h.id)
            .collect();
        assert_eq!(ids, [2, 3]);
        let only_odd = |id: i64| id % 2 == 1;
        let ids: Vec<i64> = store
            .exact(&[1.0, 0.0], 5, Some(&only_odd), 1)
            .iter()
            .map(|h| h.id)
            .collect();
        assert_eq!(ids, [3]);
        // Re-adding an id replaces its vector.
        store.push(3, &[1.0, 0.0]).unwrap();
        let hits = store.exact(&[1.0, 0.0], 5, None, 1);
        assert_eq!(hits[0].id, 3);
        assert_eq!(hits.len(), 2);
        assert_eq!(store.len(), 2);
        assert_eq!(store.get(3).unwrap(), vec![1.0, 0.0]);
    }
}
