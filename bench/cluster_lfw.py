"""Clustering quality on all 13,233 LFW images (5,749 identities, 4,069 of them with a
single image, i.e. distractors), against two baselines on the same embeddings:

* DBSCAN with Immich's defaults (cosine distance, eps 0.5, min_samples 3);
* threshold agglomerative clustering, average linkage on cosine distance, at its best
  threshold on this very data (an oracle sweep, so a generous baseline).

Also: the strictness sweep on the two halves of the identities (calibration half:
CRC-32 of the name even; held-out half: odd) that set the default strictness, and the
incremental check (cluster a random 80 %, add the other 20 %, compare with the truth
and with one full run). ``--relief-grid`` instead runs the earlier LFW-only grid that
chose ``min_quality`` on the calibration half; today's link_sim / link_relief / k and
the neighbour-consensus knobs were chosen on the calibration halves of LFW *and*
``celebrities/`` by ``bench/cluster_people.py --grid``, which also holds the datasets x
methods comparison with the baselines at one global threshold.

Input: the ``.npz`` written by ``bench/lfw_embed.py`` (keys ``identities``,
``embeddings``, ``quality``).

    python bench/cluster_lfw.py /path/to/lfw_sface.npz [--out result.json]
"""

from __future__ import annotations

import argparse
import json
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import pdist
from sklearn.cluster import DBSCAN

from faceatlas.cluster import ClusterParams, cluster_faces
from faceatlas.evaluation.clustering import score_clustering

STRICTNESS_GRID = [round(0.1 * i, 1) for i in range(11)]
AGGLO_THRESHOLDS = [round(0.30 + 0.01 * i, 2) for i in range(51)]   # cosine distance


def _row(name: str, truth: np.ndarray, labels: np.ndarray, seconds: float,
         **extra: Any) -> dict[str, Any]:
    s = score_clustering(truth, labels)
    return {"method": name, **s.to_dict(), "seconds": round(seconds, 2), **extra}


def ours(x: np.ndarray, q: np.ndarray, y: np.ndarray, strictness: float,
         name: str = "faceatlas") -> dict[str, Any]:
    t = time.perf_counter()
    result = cluster_faces(x, quality=q, params=ClusterParams.from_strictness(strictness))
    return _row(name, y, result.labels, time.perf_counter() - t, strictness=strictness)


def relief_grid(x: np.ndarray, q: np.ndarray, y: np.ndarray, halves: np.ndarray
                ) -> list[dict[str, Any]]:
    """BCubed / pairwise F on both halves over link_sim x link_relief x min_quality (how
    those defaults were chosen: best BCubed F on the calibration half)."""
    rows = []
    for mq in (0.10, 0.25):
        for link in (0.46, 0.48, 0.50, 0.52, 0.54):
            for relief in (0.0, 0.06, 0.08, 0.10, 0.12, 0.15):
                params = ClusterParams(link_sim=link, link_relief=relief, min_quality=mq)
                row: dict[str, Any] = {"min_quality": mq, "link_sim": link,
                                       "link_relief": relief}
                for half, mask in (("calibration", halves), ("held_out", ~halves)):
                    labels = cluster_faces(x[mask], quality=q[mask], params=params).labels
                    sc = score_clustering(y[mask], labels)
                    row[half] = {"bcubed_f": round(sc.bcubed.f1, 4),
                                 "pairwise_f": round(sc.pairwise.f1, 4)}
                print(json.dumps(row), flush=True)
                rows.append(row)
    return rows


def dbscan(x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    t = time.perf_counter()
    labels = DBSCAN(eps=0.5, min_samples=3, metric="cosine", n_jobs=1).fit_predict(x)
    return _row("DBSCAN (Immich: eps 0.5, min_samples 3)", y, labels, time.perf_counter() - t)


def agglomerative(x: np.ndarray, y: np.ndarray) -> tuple[list[dict[str, Any]], float]:
    t = time.perf_counter()
    tree = linkage(pdist(x.astype(np.float64), "cosine"), method="average")
    build = time.perf_counter() - t
    rows = []
    for thr in AGGLO_THRESHOLDS:
        labels = fcluster(tree, t=thr, criterion="distance")
        rows.append(_row("agglomerative average linkage", y, labels, build, threshold=thr))
    return rows, build


def incremental(x: np.ndarray, q: np.ndarray, y: np.ndarray, seed: int = 0) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(x))
    x, q, y = x[order], q[order], y[order]
    cut = int(0.8 * len(x))
    t = time.perf_counter()
    first = cluster_faces(x[:cut], quality=q[:cut])
    t_first = time.perf_counter() - t
    people = np.r_[first.labels, np.full(len(x) - cut, -1)]
    t = time.perf_counter()
    inc = cluster_faces(x, quality=q, people=people)
    t_inc = time.perf_counter() - t
    t = time.perf_counter()
    full = cluster_faces(x, quality=q)
    t_full = time.perf_counter() - t
    return {
        "first_80pct_seconds": round(t_first, 2), "add_20pct_seconds": round(t_inc, 2),
        "full_seconds": round(t_full, 2),
        "incremental_vs_truth": score_clustering(y, inc.labels).to_dict(),
        "full_vs_truth": score_clustering(y, full.labels).to_dict(),
        "incremental_vs_full": score_clustering(full.labels, inc.labels).to_dict(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("npz", type=Path, help="LFW embeddings (.npz from bench/lfw_embed.py)")
    ap.add_argument("--out", type=Path, help="write every figure here as JSON")
    ap.add_argument("--relief-grid", action="store_true",
                    help="only run the link_sim x link_relief x min_quality grid")
    args = ap.parse_args()
    data = np.load(args.npz)
    x = data["embeddings"].astype(np.float32)
    y = data["identities"]
    q = data["quality"].astype(np.float32)
    names, counts = np.unique(y, return_counts=True)
    print(f"{len(x)} faces, {len(names)} identities, {(counts >= 2).sum()} with >= 2 images")

    halves = np.array([zlib.crc32(str(s).encode()) % 2 == 0 for s in y])
    if args.relief_grid:
        grid = relief_grid(x, q, y, halves)
        if args.out:
            args.out.write_text(json.dumps(grid, indent=1))
        return
    sweep = {}
    for half, mask in (("calibration", halves), ("held_out", ~halves)):
        sweep[half] = [ours(x[mask], q[mask], y[mask], s) for s in STRICTNESS_GRID]
        best = max(sweep[half], key=lambda r: r["bcubed"]["f1"])
        print(f"strictness sweep, {half} half: best BCubed F {best['bcubed']['f1']:.4f} "
              f"at strictness {best['strictness']}")

    default = ClusterParams.from_strictness()
    rows = [ours(x, q, y, 0.5, name="faceatlas (default strictness 0.5)")]
    rows.append(dbscan(x, y))
    agglo_rows, _ = agglomerative(x, y)
    best_b = max(agglo_rows, key=lambda r: r["bcubed"]["f1"])
    best_p = max(agglo_rows, key=lambda r: r["pairwise"]["f1"])
    rows.append({**best_b, "method": f"agglomerative, best BCubed-F threshold "
                                     f"{best_b['threshold']}"})
    rows.append({**best_p, "method": f"agglomerative, best pairwise-F threshold "
                                     f"{best_p['threshold']}"})
    inc = incremental(x, q, y)

    print("\n| method | BCubed P | BCubed R | BCubed F | pairwise P | pairwise R | pairwise F "
          "| clusters | seconds |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        b, p = r["bcubed"], r["pairwise"]
        print(f"| {r['method']} | {b['precision']:.4f} | {b['recall']:.4f} | {b['f1']:.4f} "
              f"| {p['precision']:.4f} | {p['recall']:.4f} | {p['f1']:.4f} "
              f"| {r['clusters']} (truth {r['true_clusters']}) | {r['seconds']} |")
    print("\nincremental (80 % then 20 %):", json.dumps(inc, indent=1))
    print("\nstrictness sweep (BCubed F / pairwise F / clusters):")
    for half, half_rows in sweep.items():
        cells = ", ".join(f"{r['strictness']}: {r['bcubed']['f1']:.4f}/"
                          f"{r['pairwise']['f1']:.4f}/{r['clusters']}" for r in half_rows)
        print(f"  {half}: {cells}")
    if args.out:
        args.out.write_text(json.dumps({"rows": rows, "agglomerative_sweep": agglo_rows,
                                        "strictness_sweep": sweep, "incremental": inc,
                                        "default_params": default.__dict__}, indent=1))


if __name__ == "__main__":
    main()
