"""Clustering from the sharded neighbour graph (``faceatlas cluster --shard-size``) against
the in-memory graph, in one run on the same embeddings:

1. **LFW** (``/work/cache/lfw_sface.npz`` from bench/lfw_embed.py, 13,233 faces with their
   quality): :func:`faceatlas.cluster.cluster_faces` with the default in-memory search
   and with :class:`~faceatlas.cluster.sharded.ShardedSearch` at a few shard sizes;
   prints whether the people are identical (they must be: below 20,000 faces both are
   exact) and the time of each.
2. **Throughput of the exact shard search** (:func:`~faceatlas.cluster.sharded.search_block`,
   one faiss thread, i.e. one core): synthetic 128-d faces, ``--queries`` queries
   against ``--base`` faces in shards of 20,000; gives face pairs per CPU second (the
   process's CPU time: on a shared machine wall time says more about the other jobs),
   from which the cost of a sharded graph of N faces (N^2 pairs) is extrapolated.

Times are given as wall seconds and CPU seconds (``time.process_time``; one faiss
thread, so CPU seconds are core-seconds).

    python3 bench/cluster_sharded.py /work/cache/lfw_sface.npz --out result.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import faiss
import numpy as np

from faceatlas.cluster import ClusterParams, cluster_faces
from faceatlas.cluster.graph import EXACT_LIMIT
from faceatlas.cluster.sharded import ShardedSearch, search_block

sys.path.insert(0, str(Path(__file__).parent))
from synthetic import identity_clustered  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("npz", type=Path)
    ap.add_argument("--shards", default="2000,5000", help="shard sizes to compare")
    ap.add_argument("--base", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=5_000)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    faiss.omp_set_num_threads(1)
    out: dict[str, object] = {"threads": 1}

    data = np.load(args.npz)
    x = data["embeddings"].astype(np.float32)
    q = data["quality"].astype(np.float32)
    params = ClusterParams.from_strictness()
    t, c = time.perf_counter(), time.process_time()
    ref = cluster_faces(x, quality=q, params=params)
    runs: dict[str, object] = {"memory": {"seconds": round(time.perf_counter() - t, 2),
                                          "cpu_s": round(time.process_time() - c, 2),
                                          "people": ref.stats["people"]}}
    print(json.dumps(runs), flush=True)
    for size in [int(s) for s in args.shards.split(",")]:
        search = ShardedSearch(size)
        t, c = time.perf_counter(), time.process_time()
        res = cluster_faces(x, quality=q, params=params, search=search)
        runs[f"shards_{size}"] = {
            "seconds": round(time.perf_counter() - t, 2),
            "cpu_s": round(time.process_time() - c, 2), "blocks": search.blocks,
            "same_people": bool(np.array_equal(res.labels, ref.labels)
                                and res.new_people == ref.new_people)}
        print(json.dumps(runs[f"shards_{size}"]), flush=True)
    out["lfw"] = {"faces": len(x), **runs}

    base, _ = identity_clustered(args.base, args.base // 10, seed=5)
    rows = np.arange(args.base)
    queries = rows[:args.queries]
    t, c = time.perf_counter(), time.process_time()
    search_block(base, rows, EXACT_LIMIT, 31, queries)
    secs, cpu = time.perf_counter() - t, time.process_time() - c
    pairs_per_s = args.base * args.queries / cpu
    out["shard_search"] = {
        "base": args.base, "queries": args.queries, "seconds": round(secs, 2),
        "cpu_s": round(cpu, 2),
        "pairs_per_s_per_core": round(pairs_per_s),
        "core_hours_1M": round(1e12 / pairs_per_s / 3600, 2),
        "core_hours_10M": round(1e14 / pairs_per_s / 3600, 1)}
    print(json.dumps(out["shard_search"]), flush=True)
    if args.out:
        args.out.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
