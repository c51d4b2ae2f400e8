//! Search results and the bounded collector that keeps the best k of them.
//!
//! Every search path (exact scan, HNSW re-ranking, the delta scan, the merge
//! of per-thread results) funnels through [`TopK`], so "best" is defined once:
//! higher score first, ties broken by the smaller id, which makes results
//! deterministic whatever the scan order or thread count.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// One search result: an embedding id and its cosine similarity to the query.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Hit {
    pub id: i64,
    pub score: f32,
}

/// `Less` when `a` ranks before `b`.
pub(crate) fn rank(a: &Hit, b: &Hit) -> Ordering {
    b.score.total_cmp(&a.score).then(a.id.cmp(&b.id))
}

/// Heap entry whose maximum is the worst-ranked hit, so it is the one evicted.
struct Worst(Hit);

impl PartialEq for Worst {
    fn eq(&self, other: &Self) -> bool {
        rank(&self.0, &other.0) == Ordering::Equal
    }
}
impl Eq for Worst {}
impl PartialOrd for Worst {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Worst {
    fn cmp(&self, other: &Self) -> Ordering {
        rank(&self.0, &other.0)
    }
}

/// Keeps the k best hits seen so far.
pub(crate) struct TopK {
    k: usize,
    heap: BinaryHeap<Worst>,
}

impl TopK {
    pub(crate) fn new(k: usize) -> Self {
        Self {
            k,
            heap: BinaryHeap::with_capacity(k + 1),
        }
    }

    /// Whether a hit with this score could still enter; lets scans skip the
    /// filter call (possibly costly) for vectors that cannot make the cut.
    #[inline]
    pub(crate) fn admits(&self, score: f32) -> bool {
        if self.heap.len() < self.k {
            return self.k > 0;
        }
        self.heap
            .peek()
            .is_some_and(|w| score.total_cmp(&w.0.score) != Ordering::Less)
    }

    #[inline]
    pub(crate) fn push(&mut self, hit: Hit) {
        if self.k == 0 {
            return;
        }
        if self.heap.len() < self.k {
            self.heap.push(Worst(hit));
        } else if let Some(worst) = self.heap.peek() {
            if rank(&hit, &worst.0) == Ordering::Less {
                self.heap.pop();
                self.heap.push(Worst(hit));
            }
        }
    }

    pub(crate) fn extend(&mut self, hits: impl IntoIterator<Item = Hit>) {
        for hit in hits {
            self.push(hit);
        }
    }

    /// Best first.
    pub(crate) fn into_sorted(self) -> Vec<Hit> {
        let mut hits: Vec<Hit> = self.heap.into_iter().map(|w| w.0).collect();
        hits.sort_by(rank);
        hits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_best_k_with_ties_broken_by_smaller_id() {
        let mut top = TopK::new(3);
        for (id, score) in [(5, 0.5), (1, 0.9), (4, 0.5), (2, 0.1), (3, 0.5), (6, 0.95)] {
            top.push(Hit { id, score });
        }
        let ids: Vec<i64> = top.into_sorted().iter().map(|h| h.id).collect();
        assert_eq!(ids, [6, 1, 3]);
    }

    #[test]
    fn k_zero_keeps_nothing() {
        let mut top = TopK::new(0);
        top.push(Hit { id: 1, score: 1.0 });
        assert!(!top.admits(1.0));
        assert!(top.into_sorted().is_empty());
    }
}
