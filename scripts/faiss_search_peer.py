#!/usr/bin/env python3
"""FAISS IndexFlatIP on a decouple store: the peer of `decouple bench search`.

Reads STORE/embeddings.npy with np.load exactly as written (no conversion), normalises the
rows (faiss.normalize_L2, as cosine search with IndexFlatIP needs), adds them to an exact
IndexFlatIP, and times top-k search for single queries and for one batch, at each thread
count. Prints one JSON object: timings in seconds, the batch's ids and scores (so the caller
can compare results), the FAISS version.

Setup (once, not needed by the build or the tests):
    python3 -m venv /tmp/faiss-venv && /tmp/faiss-venv/bin/pip install faiss-cpu numpy
Usage (decouple bench search runs it):
    /tmp/faiss-venv/bin/python scripts/faiss_search_peer.py --store DIR --queries Q.npy \
        --k 10 --threads 1,2 --repeats 20 --batch-repeats 3
"""
import argparse
import json
import os
import statistics
import time

import faiss
import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--store", required=True)
    ap.add_argument("--queries", required=True, help=".npy float32 [m, d]")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--repeats", type=int, default=20, help="single queries timed per thread count")
    ap.add_argument("--batch-repeats", type=int, default=3)
    args = ap.parse_args()

    x = np.load(os.path.join(args.store, "embeddings.npy"))
    assert x.dtype == np.float32 and x.ndim == 2, (x.dtype, x.shape)
    q = np.load(args.queries).astype(np.float32)
    start = time.perf_counter()
    xn = x.copy()
    faiss.normalize_L2(xn)
    index = faiss.IndexFlatIP(x.shape[1])
    index.add(xn)
    build = time.perf_counter() - start
    del x
    qn = q.copy()
    faiss.normalize_L2(qn)

    out = {"faiss": faiss.__version__, "rows": index.ntotal, "dimension": index.d, "build_seconds": build, "threads": {}}
    for t in [int(v) for v in args.threads.split(",")]:
        faiss.omp_set_num_threads(t)
        index.search(qn[:1], args.k)  # untimed warm-up
        singles = []
        for i in range(args.repeats):
            row = qn[i % len(qn) : i % len(qn) + 1]
            s = time.perf_counter()
            index.search(row, args.k)
            singles.append(time.perf_counter() - s)
        batches = []
        for _ in range(args.batch_repeats):
            s = time.perf_counter()
            scores, ids = index.search(qn, args.k)
            batches.append(time.perf_counter() - s)
        out["threads"][str(t)] = {
            "single_median_seconds": statistics.median(singles),
            "batch_median_seconds": statistics.median(batches),
            "single_min_seconds": min(singles),
            "batch_min_seconds": min(batches),
            "batch_queries": len(qn),
        }
    out["ids"] = ids.tolist()
    out["scores"] = scores.tolist()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
