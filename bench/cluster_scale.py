"""Clustering speed and memory on synthetic identity-clustered embeddings
(``bench/synthetic.py``: 128-d, genuine cosine ~0.64, impostor ~0.0, 10 faces per
identity on average).

Runs one size per process so that the peak resident memory
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) belongs to that size alone. With
``--baseline`` it also times scikit-learn DBSCAN (Immich's eps 0.5, min_samples 3) on the
same vectors, in the same process after ours.

    python bench/cluster_scale.py --faces 100000 --threads 2 --baseline
    python bench/cluster_scale.py --faces 1000000 --threads 2
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

import faiss
import numpy as np
from sklearn.cluster import DBSCAN

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic import identity_clustered  # noqa: E402

from faceatlas.cluster import cluster_faces  # noqa: E402
from faceatlas.evaluation.clustering import score_clustering  # noqa: E402


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--faces", type=int, default=100_000)
    ap.add_argument("--faces-per-id", type=float, default=10.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--baseline", action="store_true", help="also time DBSCAN")
    args = ap.parse_args()
    faiss.omp_set_num_threads(args.threads)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))

    n_ids = max(1, int(args.faces / args.faces_per_id))
    x, y = identity_clustered(args.faces, n_ids, seed=args.seed)
    before = _peak_mib()
    t = time.perf_counter()
    result = cluster_faces(x)
    seconds = time.perf_counter() - t
    out: dict[str, object] = {
        "faces": args.faces, "identities": int(len(np.unique(y))), "threads": args.threads,
        "seconds": round(seconds, 2), "faces_per_second": round(args.faces / seconds),
        "peak_rss_mib": round(_peak_mib()), "peak_rss_before_clustering_mib": round(before),
        "scores": score_clustering(y, result.labels).to_dict(), "stats": result.stats,
    }
    if args.baseline:
        t = time.perf_counter()
        labels = DBSCAN(eps=0.5, min_samples=3, metric="cosine",
                        n_jobs=args.threads).fit_predict(x)
        base = time.perf_counter() - t
        out["dbscan"] = {"seconds": round(base, 2),
                         "scores": score_clustering(y, labels).to_dict(),
                         "speedup_of_faceatlas": round(base / seconds, 2)}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
