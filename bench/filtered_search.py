"""Filtered top-10 search on N synthetic faces: subset-exact vs pre- vs post-filtering.

For each selectivity (fraction of the gallery a filter allows, drawn at random) it
times one-thread single-query latency (p50/p99) and recall@10 against exact filtered
search of: ``subset`` (gather allowed vectors, matrix product), ``prefilter`` (HNSW
search with an IDSelectorBatch; on a ``scann`` index, the exact store's scan with it),
``postfilter`` (over-fetch, filter, widen) and ``auto`` (what
``FaissIndex.search(..., allowed=)`` picks). The thresholds in
``faceatlas/search/filtering.py`` are set from these figures.

    nice python bench/filtered_search.py --n 1000000 --cache /work/cache/bench_index \
        [--kind scann]

With ``--kind hnsw`` (default) it reuses (or builds and saves) the HNSW index that
bench/vector_search.py caches; ``--kind scann`` builds a ScaNN index (about 20 s at 1M).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import faiss
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from threadpoolctl import threadpool_limits
from vector_search import cache_path, cached_index, dataset, latencies, pct  # noqa: E402

from faceatlas.search import FaissIndex, choose_strategy, recall_at_k  # noqa: E402
from faceatlas.search.faiss_index import EF_SEARCH  # noqa: E402


def main() -> None:
    with threadpool_limits(1):  # one-thread latencies, numpy's BLAS included
        run()


def run() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--faces-per-id", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2, help="build threads")
    ap.add_argument("--selectivity", type=float, nargs="+", default=[0.01, 0.1, 0.5])
    ap.add_argument("--subset-sizes", type=int, nargs="+",
                    default=[1_000, 5_000, 20_000, 50_000])
    ap.add_argument("--cache", type=Path, default=Path("/work/cache/bench_index"))
    ap.add_argument("--ef", type=int, default=EF_SEARCH, help="HNSW efSearch")
    ap.add_argument("--strategies", nargs="+", default=["subset", "prefilter", "postfilter",
                                                        "auto"])
    ap.add_argument("--kind", choices=["hnsw", "scann"], default="hnsw")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()

    x, _, q = dataset(args.n, args.queries, args.faces_per_id, args.seed)
    ids = np.arange(args.n, dtype=np.int64)
    if args.kind == "scann":
        index = FaissIndex(kind="scann")
        index.add(ids, x)
        index.search(q[:1], 10)  # builds the layer
        print("scann index built", flush=True)
    else:
        index, secs, rebuilt = cached_index(cache_path(args.cache, x), x, args.threads)
        index.ef_search = args.ef  # a cached index keeps the efSearch it was saved with
        print(f"index {'built' if rebuilt else 'loaded'} in {secs:.1f}s ({index.factory}, "
              f"efSearch {index.ef_search})", flush=True)
    rng = np.random.default_rng(1)
    res: dict[str, object] = {"n": args.n, "queries": args.queries, "kind": index.kind,
                              "ef_search": index.ef_search,
                              "scann_fraction": index.scann_fraction}
    rows = []
    for sel in args.selectivity:
        allowed = np.sort(rng.choice(ids, int(sel * args.n), replace=False))
        faiss.omp_set_num_threads(args.threads)
        flat = faiss.IndexFlatIP(x.shape[1])
        flat.add(x[allowed])
        truth = allowed[flat.search(q, 10)[1]]
        del flat
        faiss.omp_set_num_threads(1)
        chosen = choose_strategy(len(allowed), len(index), exact_index=False)
        methods = {
            "subset": index.search_subset,
            "prefilter": index.search_prefilter,
            "postfilter": index.search_postfilter,
            "auto": lambda qq, k, a: index.search(qq, k, allowed=a),  # noqa: B023
        }
        for name, fn in methods.items():
            if name not in args.strategies:
                continue
            # gathering 100k+ vectors per query is slow: time fewer queries there
            nq = 20 if name == "subset" and len(allowed) > 50_000 else len(q)
            found = np.concatenate([fn(q[i:i + 1], 10, allowed)[1] for i in range(nq)])
            ms = latencies(lambda one, f=fn, a=allowed: f(one, 10, a), q[:nq])
            rows.append({"selectivity": sel, "allowed": len(allowed), "strategy": name,
                         "auto_picks": chosen if name == "auto" else "",
                         "recall@10": round(recall_at_k(found, truth[:nq]), 4), **pct(ms)})
            print(rows[-1], flush=True)
    res["filtered"] = rows

    sizes = []
    faiss.omp_set_num_threads(1)
    for m in args.subset_sizes:
        allowed = np.sort(rng.choice(ids, m, replace=False))
        ms = latencies(lambda one, a=allowed: index.search_subset(one, 10, a), q[:50])
        sizes.append({"allowed": m, **pct(ms)})
        print("subset", sizes[-1], flush=True)
    res["subset_cost"] = sizes
    print(json.dumps(res, indent=1))
    if args.out:
        args.out.write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
