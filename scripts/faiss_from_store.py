#!/usr/bin/env python3
"""Hand a decouple store to FAISS: an approximate index for millions of vectors.

The store's embeddings.npy is read with np.load as written; row i is line i of items.jsonl,
so FAISS's int64 ids are row numbers and items.jsonl maps them back to videos and clips.
Rows are L2-normalised so inner product is cosine, as `decouple search` scores.

    /tmp/faiss-venv/bin/python scripts/faiss_from_store.py STORE --kind ivf  [--nlist N --nprobe P]
    /tmp/faiss-venv/bin/python scripts/faiss_from_store.py STORE --kind hnsw [--m 32 --ef 64]

XX
store: not part of it), and prints, for the first --queries stored rows used as queries, the
top-k from the approximate index next to exact search (IndexFlatIP) and their recall@k.
"""
import argparse
import json
import os
import time

import faiss
import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("store")
    ap.add_argument("--kind", choices=["ivf", "hnsw"], default="ivf")
    ap.add_argument("--nlist", type=int, default=0, help="IVF clusters (default about 4 sqrt(N))")
    ap.add_argument("--nprobe", type=int, default=16)
    ap.add_argument("--m", type=int, default=32, help="HNSW links per node")
    ap.add_argument("--ef", type=int, default=64, help="HNSW efSearch")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--queries", type=int, default=100)
    args = ap.parse_args()

    x = np.load(os.path.join(args.store, "embeddings.npy"))
    with open(os.path.join(args.store, "items.jsonl")) as f:
        items = [json.loads(line) for line in f][: len(x)]
    with open(os.path.join(args.store, "manifest.json")) as f:
        manifest = json.load(f)
    # A store's manifest count is authoritative; the .npy header never names more rows.
    x = np.ascontiguousarray(x[: manifest["count"]], dtype=np.float32)
    faiss.normalize_L2(x)
    n, d = x.shape

    start = time.perf_counter()
    if args.kind == "ivf":
        nlist = args.nlist or max(1, int(4 * np.sqrt(n)))
        quantizer = faiss.IndexFlatIP(d)
        index = faiss.IndexIVFFlat(quantizer, d, nlist, faiss.METRIC_INNER_PRODUCT)
        index.train(x)
        index.add(x)
        index.nprobe = min(args.nprobe, nlist)
        label = f"IndexIVFFlat nlist={nlist} nprobe={index.nprobe}"
    else:
        index = faiss.IndexHNSWFlat(d, args.m, faiss.METRIC_INNER_PRODUCT)
        index.add(x)
        index.hnsw.efSearch = args.ef
        label = f"IndexHNSWFlat M={args.m} efSearch={args.ef}"
    build = time.perf_counter() - start
    path = os.path.normpath(args.store) + f".{args.kind}.faiss"
    faiss.write_index(index, path)

    q = x[: min(args.queries, n)]
    exact = faiss.IndexFlatIP(d)
    exact.add(x)
    _, truth = exact.search(q, args.k)
    start = time.perf_counter()
    scores, ids = index.search(q, args.k)
    per_query = (time.perf_counter() - start) / len(q)
    recall = np.mean([len(set(a) & set(b)) / args.k for a, b in zip(ids, truth)])
    print(f"{label}: {n} x {d} built in {build:.2f} s, written to {path}")
    print(f"recall@{args.k} vs exact search over {len(q)} stored queries: {recall:.3f}, {per_query * 1000:.3f} ms per query")
    first = items[ids[0][1]] if args.k > 1 else items[ids[0][0]]
    print(f"nearest to {items[0]['id']} after itself: {first['id']} ({first['path']}, frames {first['start_frame']}-{first['end_frame']}), cosine {scores[0][1]:.4f}")


if __name__ == "__main__":
    main()
