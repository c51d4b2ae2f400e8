"""Peer timings for benches/index.rs: faiss on the same data and queries.

Called by the Rust bench as `python faiss_peer.py DIR M EF_CONSTRUCTION
EF_SEARCH BUILD_THREADS [--no-hnsw]`. Reads DIR/data.npy and DIR/queries.npy
(float32, unit rows), times IndexFlatIP and IndexHNSWFlat (inner product,
same M and ef) one query at a time on one thread, and prints one JSON line.
Writes nothing.
"""

import json
import sys
import time

import faiss
import numpy as np


def timed_queries(index, queries, k):
    times, results = [], []
    for q in queries:
        t = time.perf_counter()
        _, ids = index.search(q[None, :], k)
        times.append(time.perf_counter() - t)
        results.append(ids[0])
    ms = np.array(times) * 1000.0
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99)), results


def main():
    folder, m, ef_c, ef_s, build_threads = sys.argv[1:6]
    m, ef_c, ef_s, build_threads = int(m), int(ef_c), int(ef_s), int(build_threads)
    data = np.load(f"{folder}/data.npy", mmap_mode="r")
    data = np.ascontiguousarray(data, dtype=np.float32)
    queries = np.ascontiguousarray(np.load(f"{folder}/queries.npy"), dtype=np.float32)
    n, d = data.shape
    out = {"n": n, "d": d, "faiss": faiss.__version__}

    faiss.omp_set_num_threads(1)
    flat = faiss.IndexFlatIP(d)
    flat.add(data)
    out["flat_p50_ms"], out["flat_p99_ms"], truth = timed_queries(flat, queries, 10)

    if "--no-hnsw" not in sys.argv:
        faiss.omp_set_num_threads(build_threads)
        hnsw = faiss.IndexHNSWFlat(d, m, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = ef_c
        t = time.perf_counter()
        hnsw.add(data)
        out["hnsw_build_s"] = time.perf_counter() - t
        hnsw.hnsw.efSearch = ef_s
        faiss.omp_set_num_threads(1)
        out["hnsw_p50_ms"], out["hnsw_p99_ms"], got = timed_queries(hnsw, queries, 10)
        hits = sum(len(set(a.tolist()) & set(b.tolist())) for a, b in zip(truth, got))
        out["hnsw_recall10"] = hits / (10.0 * len(queries))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
