"""Vector search at scale: FaissIndex (ScaNN, HNSW) vs exact numpy vs a deepface-style loop.

On N synthetic identity-clustered unit embeddings (bench/synthetic.py) it measures:
ScaNN and HNSW build time, bytes per face (saved file size / N), one-thread top-10
latency p50/p99 and recall@10 against exact search for several ScaNN partition shares
and HNSW efSearch values; exact numpy
search (matrix product + argpartition, one thread) at N; an IVF alternative; float16,
SQ8 and PQ storage; exact flat latency at smaller sizes (the exact/HNSW threshold);
and a deepface ``find()``-style pandas row loop, timed on a subset and scaled.

    nice python bench/vector_search.py --n 1000000 --cache /work/cache/bench_index

The saved index goes to ``--cache`` so bench/filtered_search.py can reuse it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import faiss
import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic import identity_clustered, similarity_stats  # noqa: E402

from faceatlas.search import FaissIndex, exact_search, open_index, recall_at_k  # noqa: E402
from faceatlas.search.faiss_index import EF_CONSTRUCTION, HNSW_M, PQ_BYTES  # noqa: E402
from faceatlas.search.scann_layer import scann_available  # noqa: E402

MODEL = "synthetic-128"


QUERY_POOL = 1000


def dataset(n: int, n_queries: int, faces_per_id: int, seed: int
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(gallery, labels, queries): queries are unseen faces of gallery identities; the
    gallery does not depend on ``n_queries`` (<= QUERY_POOL)."""
    x, labels = identity_clustered(n + QUERY_POOL, max(1, n // faces_per_id), seed=seed)
    return x[:n], labels[:n], x[n:n + min(n_queries, QUERY_POOL)]


def cache_path(cache: Path, x: np.ndarray, hnsw_m: int = HNSW_M,
               ef_construction: int = EF_CONSTRUCTION) -> Path:
    """Index file name keyed by the graph parameters and the gallery's size and content."""
    digest = hashlib.sha256(x[:: max(1, len(x) // 1000)].tobytes()).hexdigest()[:12]
    return cache / f"hnsw{hnsw_m}_efc{ef_construction}_{len(x)}_{digest}.faceidx"


def ground_truth(x: np.ndarray, q: np.ndarray, k: int) -> np.ndarray:
    flat = faiss.IndexFlatIP(x.shape[1])
    flat.add(x)
    return flat.search(q, k)[1]


def latencies(fn, queries: np.ndarray) -> np.ndarray:
    out = np.empty(len(queries))
    for i in range(len(queries)):
        t0 = time.perf_counter()
        fn(queries[i:i + 1])
        out[i] = time.perf_counter() - t0
    return out * 1e3


def pct(ms: np.ndarray) -> dict[str, float]:
    return {"p50_ms": round(float(np.percentile(ms, 50)), 3),
            "p99_ms": round(float(np.percentile(ms, 99)), 3)}


def cached_index(path: Path, x: np.ndarray, threads: int, hnsw_m: int = HNSW_M,
                 ef_construction: int = EF_CONSTRUCTION) -> tuple[FaissIndex, float, bool]:
    """The HNSW index of x, from ``path`` when it matches, else built (timed) and saved."""
    ids = np.arange(len(x), dtype=np.int64)
    faiss.omp_set_num_threads(threads)
    t0 = time.perf_counter()
    opened = open_index(path, ids, MODEL, lambda: [(ids, x)], kind="hnsw", hnsw_m=hnsw_m,
                        ef_construction=ef_construction)
    return opened.index, time.perf_counter() - t0, opened.rebuilt


def shared_graph_variant(base: FaissIndex, x: np.ndarray, compression: str) -> object:
    """An HNSW index with the same graph as ``base`` but compressed storage (saves
    rebuilding the graph for each variant)."""
    hnsw = faiss.downcast_index(base._index.index)
    d = x.shape[1]
    if compression == "fp16":
        v = faiss.IndexHNSWSQ(d, faiss.ScalarQuantizer.QT_fp16, base.hnsw_m,
                              faiss.METRIC_INNER_PRODUCT)
    elif compression == "sq8":
        v = faiss.IndexHNSWSQ(d, faiss.ScalarQuantizer.QT_8bit, base.hnsw_m,
                              faiss.METRIC_INNER_PRODUCT)
    else:
        v = faiss.IndexHNSWPQ(d, PQ_BYTES, base.hnsw_m, 8, faiss.METRIC_INNER_PRODUCT)
    v.hnsw = hnsw.hnsw
    sample = x[np.random.default_rng(0).choice(len(x), min(len(x), 100_000), replace=False)]
    if compression == "pq":  # as FaissIndex does: HNSW never uses polysemous codes
        faiss.downcast_index(v.storage).do_polysemous_training = False
    v.storage.train(sample)
    v.storage.add(x)
    v.ntotal = len(x)
    v.is_trained = True
    return v


def deepface_style(x: np.ndarray, queries: np.ndarray, subset: int) -> float:
    """ms per query of a deepface ``find()``-like loop over ``subset`` rows."""
    import pandas as pd

    df = pd.DataFrame({"identity": [f"img_{i}.jpg" for i in range(subset)],
                       "embedding": list(x[:subset])})

    def cosine_distance(a: np.ndarray, b: np.ndarray) -> float:
        return 1.0 - float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))

    times = []
    for q in queries:
        t0 = time.perf_counter()
        distances = []
        for _, row in df.iterrows():  # what deepface.find does per stored representation
            distances.append(cosine_distance(q, row["embedding"]))
        result = df.assign(distance=distances).sort_values("distance").head(10)
        times.append(time.perf_counter() - t0)
        assert len(result) == 10
    return float(np.median(times) * 1e3)


def scann_sweep(x: np.ndarray, q: np.ndarray, gt: np.ndarray,
                args: argparse.Namespace) -> dict[str, object]:
    """FaissIndex(kind="scann"): build (timed), saved size, and a partition-share sweep."""
    ids = np.arange(len(x), dtype=np.int64)
    index = FaissIndex(kind="scann", model=MODEL)
    t0 = time.perf_counter()
    index.add(ids, x)
    index.search(q[:1], 10)  # the layer is built on first use (or on save)
    build_s = time.perf_counter() - t0
    path = args.cache / "scann_bench.faceidx"
    t0 = time.perf_counter()
    index.save(path)
    save_s = time.perf_counter() - t0
    out: dict[str, object] = {"build_s": round(build_s, 1), "save_s": round(save_s, 1),
                              "bytes_per_face": round(os.path.getsize(path) / len(x), 1)}
    t0 = time.perf_counter()
    FaissIndex.load(path, model=MODEL)
    out["load_s"] = round(time.perf_counter() - t0, 1)
    path.unlink()
    print("scann", out, flush=True)
    rows = []
    for fraction in args.scann_fractions:
        index.scann_fraction = fraction
        found = index.search(q, 10)[1]
        ms = latencies(lambda one: index.search(one, 10), q)
        rows.append({"fraction": fraction, "recall@10": round(recall_at_k(found, gt), 4),
                     **pct(ms)})
        print("scann", rows[-1], flush=True)
    out["sweep"] = rows
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--faces-per-id", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2, help="build threads")
    ap.add_argument("--ef", type=int, nargs="+", default=[64, 128, 256, 512, 768, 1024])
    ap.add_argument("--hnsw-m", type=int, default=HNSW_M, help="HNSW graph degree")
    ap.add_argument("--ef-construction", type=int, default=EF_CONSTRUCTION)
    ap.add_argument("--cache", type=Path, default=Path("/work/cache/bench_index"))
    ap.add_argument("--deepface-rows", type=int, default=20_000)
    ap.add_argument("--skip-ivf", action="store_true")
    ap.add_argument("--skip-hnsw", action="store_true",
                    help="ScaNN, exact and deepface-style only (no HNSW graph, variants, IVF)")
    ap.add_argument("--skip-variants", action="store_true",
                    help="skip the float16/SQ8/PQ storage variants of the HNSW graph")
    ap.add_argument("--scann-fractions", type=float, nargs="+",
                    default=[0.3, 0.4, 0.5, 0.6, 0.7, 0.8])
    ap.add_argument("--out", type=Path, default=None, help="write results JSON here")
    args = ap.parse_args()
    res: dict[str, object] = {"n": args.n, "queries": args.queries,
                              "faces_per_id": args.faces_per_id}

    t0 = time.perf_counter()
    x, labels, q = dataset(args.n, args.queries, args.faces_per_id, args.seed)
    res["similarities"] = similarity_stats(x, labels)
    faiss.omp_set_num_threads(args.threads)
    gt = ground_truth(x, q, 10)
    print(f"data + ground truth {time.perf_counter() - t0:.1f}s", res["similarities"],
          flush=True)

    if args.skip_hnsw:
        args.skip_variants = args.skip_ivf = True
    else:
        path = cache_path(args.cache, x, args.hnsw_m, args.ef_construction)
        index, secs, rebuilt = cached_index(path, x, args.threads, args.hnsw_m,
                                            args.ef_construction)
        res["hnsw_build_s" if rebuilt else "hnsw_load_s"] = round(secs, 1)
        res["hnsw_factory"] = index.factory
        res["hnsw_bytes_per_face"] = round(os.path.getsize(path) / args.n, 1)
        print(f"hnsw {'built' if rebuilt else 'loaded'} in {secs:.1f}s, "
              f"{res['hnsw_bytes_per_face']} B/face", flush=True)

    if scann_available():
        res["scann"] = scann_sweep(x, q, gt, args)
    faiss.omp_set_num_threads(1)
    sweep = []
    for ef in [] if args.skip_hnsw else args.ef:
        index.ef_search = ef
        found = index.search(q, 10)[1]
        ms = latencies(lambda one: index.search(one, 10), q)
        sweep.append({"ef_search": ef, "recall@10": round(recall_at_k(found, gt), 4), **pct(ms)})
        print("hnsw", sweep[-1], flush=True)
    res["hnsw"] = sweep

    with threadpool_limits(1):
        nq = min(100, len(q))
        ms = latencies(lambda one: exact_search(x, one, 10), q[:nq])
        found = np.concatenate([exact_search(x, q[i:i + 1], 10)[1] for i in range(nq)])
    res["numpy_exact"] = {"recall@10": round(recall_at_k(found, gt[:nq]), 4), **pct(ms)}
    print("numpy exact", res["numpy_exact"], flush=True)

    for size in (10_000, 20_000, 50_000, 100_000):
        if size > args.n:
            continue
        flat = FaissIndex(kind="exact")
        flat.add(np.arange(size), x[:size])
        res[f"exact_flat_{size}"] = pct(latencies(lambda one, f=flat: f.search(one, 10), q))
        print(f"flat {size}", res[f"exact_flat_{size}"], flush=True)

    variants = []
    best_ef = next((s["ef_search"] for s in sweep if s["recall@10"] >= 0.99), args.ef[-1])
    for comp in () if args.skip_variants else ("fp16", "sq8", "pq"):
        faiss.omp_set_num_threads(1)  # k-means barriers stall on a busy machine
        t1 = time.perf_counter()
        v = shared_graph_variant(index, x, comp)
        encode_s = time.perf_counter() - t1
        faiss.omp_set_num_threads(1)
        for ef in (best_ef, 2 * best_ef):
            params = faiss.SearchParametersHNSW(efSearch=ef)
            found = v.search(q, 10, params=params)[1]
            ms = latencies(lambda one, v=v, p=params: v.search(one, 10, params=p), q)
            variants.append({"compression": comp, "ef_search": ef,
                             "bytes_per_face": round(faiss.serialize_index(v).size / args.n, 1),
                             "recall@10": round(recall_at_k(found, gt), 4),
                             "encode_s": round(encode_s, 1), **pct(ms)})
            print("variant", variants[-1], flush=True)
        del v
    res["variants"] = variants

    if not args.skip_ivf:
        faiss.omp_set_num_threads(args.threads)
        nlist = 4096 if args.n >= 500_000 else 1024
        ivf = faiss.index_factory(x.shape[1], f"IVF{nlist},Flat", faiss.METRIC_INNER_PRODUCT)
        t1 = time.perf_counter()
        ivf.train(x[np.random.default_rng(0).choice(len(x), min(len(x), 40 * nlist),
                                                   replace=False)])
        ivf.add(x)
        ivf_build = time.perf_counter() - t1
        faiss.omp_set_num_threads(1)
        rows = []
        for nprobe in (32, 128, 512):
            ivf.nprobe = nprobe
            found = ivf.search(q, 10)[1]
            ms = latencies(lambda one, i=ivf: i.search(one, 10), q[:200])
            rows.append({"nlist": nlist, "nprobe": nprobe, "build_s": round(ivf_build, 1),
                         "recall@10": round(recall_at_k(found, gt), 4), **pct(ms)})
            print("ivf", rows[-1], flush=True)
        res["ivf"] = rows
        del ivf

    sub = min(args.deepface_rows, args.n)
    per_query = deepface_style(x, q[:3], sub)
    res["deepface_style"] = {"rows_timed": sub, "ms_per_query": round(per_query, 1),
                             "ms_per_query_100k": round(per_query * 100_000 / sub, 1),
                             "ms_per_query_n": round(per_query * args.n / sub, 1)}
    print("deepface-style", res["deepface_style"], flush=True)

    print(json.dumps(res, indent=1))
    if args.out:
        args.out.write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
