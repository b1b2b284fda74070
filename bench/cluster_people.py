"""People clustering on every development dataset: faceatlas's default against DBSCAN
(Immich's defaults) and average-linkage agglomerative clustering, same embeddings, same
script.

Datasets (SFace embeddings cached by the embed scripts):

* ``lfw``: all 13,233 LFW images (``bench/lfw_embed.py``), one face per image, every
  face scored;
* ``celebrities``: every face of every photo of ``celebrities/`` (``bench/celebrities_
  embed.py``). All faces are clustered, as a library would (faces of one photo may
  not share a person), but only the ``main`` faces (the folder's person) are scored:
  the other faces have no label.

Split: each dataset's identities are halved by the CRC-32 of the name (even =
calibration, odd = held out; a photo goes with its folder's person). ``--grid`` runs the
parameter grid on the calibration halves only (objective: the worst dataset's BCubed-F
margin over the global agglomerative baseline, then the smaller k, then mean BCubed
F); the default run reports every method on the held-out halves, the calibration
halves and all of each dataset. ``--refine`` runs the second stage (the absorb pass's
runner-up search depth and gap around the chosen setting).

Methods:

* ``faceatlas``: ``cluster_faces`` with the default ``ClusterParams``;
* ``dbscan``: scikit-learn DBSCAN, cosine, eps 0.5, min_samples 3 (Immich); noise
  points are scored as singletons;
* ``agglomerative (global)``: average linkage on cosine distance cut at the ONE
  threshold that maximises the mean BCubed F over the datasets (chosen on the part
  being reported, so a generous baseline);
* ``agglomerative (oracle)``: the same cut at each dataset's own best threshold, for
  reference only.

    nice python bench/cluster_people.py --lfw /work/cache/lfw_sface.npz \\
        --celeb /work/cache/celeb_sface.npz --out cluster_people.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
import zlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import pdist
from sklearn.cluster import DBSCAN

from faceatlas.cluster import ClusterParams, cluster_faces
from faceatlas.evaluation.clustering import score_clustering

AGGLO_THRESHOLDS = [round(0.40 + 0.01 * i, 2) for i in range(41)]   # cosine distance


@dataclass(frozen=True)
class Dataset:
    """Faces to cluster; ``scored`` marks the faces with a truth label."""

    name: str
    x: np.ndarray
    y: np.ndarray
    q: np.ndarray
    photos: np.ndarray | None
    scored: np.ndarray
    calibration: np.ndarray     # per face: its identity's name has an even CRC-32

    def part(self, which: str) -> Dataset:
        if which == "all":
            return self
        mask = self.calibration if which == "calibration" else ~self.calibration
        return Dataset(self.name, self.x[mask], self.y[mask], self.q[mask],
                       None if self.photos is None else self.photos[mask],
                       self.scored[mask], self.calibration[mask])


def _even(names: np.ndarray) -> np.ndarray:
    return np.array([zlib.crc32(str(s).encode()) % 2 == 0 for s in names])


def load_lfw(path: Path) -> Dataset:
    d = np.load(path)
    y = d["identities"]
    return Dataset("lfw", d["embeddings"].astype(np.float32), y,
                   d["quality"].astype(np.float32), None, np.ones(len(y), bool), _even(y))


def load_celeb(path: Path) -> Dataset:
    d = np.load(path)
    y = d["identities"]
    _, photos = np.unique(d["paths"], return_inverse=True)
    return Dataset("celebrities", d["embeddings"].astype(np.float32), y,
                   d["quality"].astype(np.float32), photos.astype(np.int64),
                   d["main"].astype(bool), _even(y))


def score(ds: Dataset, labels: np.ndarray) -> dict[str, Any]:
    s = score_clustering(ds.y[ds.scored], np.asarray(labels)[ds.scored])
    return {"bcubed_f": round(s.bcubed.f1, 4), "bcubed_p": round(s.bcubed.precision, 4),
            "bcubed_r": round(s.bcubed.recall, 4), "pairwise_f": round(s.pairwise.f1, 4),
            "clusters": s.n_clusters, "true_clusters": s.n_true}


def run_ours(ds: Dataset, params: ClusterParams) -> tuple[np.ndarray, float]:
    t = time.perf_counter()
    labels = cluster_faces(ds.x, quality=ds.q, photos=ds.photos, params=params).labels
    return labels, time.perf_counter() - t


def run_dbscan(ds: Dataset) -> tuple[np.ndarray, float]:
    t = time.perf_counter()
    labels = DBSCAN(eps=0.5, min_samples=3, metric="cosine", n_jobs=1).fit_predict(ds.x)
    return labels, time.perf_counter() - t


def agglo_sweep(ds: Dataset) -> tuple[dict[float, dict[str, Any]], float]:
    t = time.perf_counter()
    tree = linkage(pdist(ds.x.astype(np.float64), "cosine"), method="average")
    seconds = time.perf_counter() - t
    return {thr: score(ds, fcluster(tree, t=thr, criterion="distance"))
            for thr in AGGLO_THRESHOLDS}, seconds


GRID: dict[str, list[Any]] = {
    "link_sim": [0.44, 0.46, 0.48, 0.50, 0.52],
    "link_relief": [0.02, 0.06, 0.10],
    "k": [16, 24],
    "absorb_share": [0.8, 2.0],          # 2.0: the neighbour-consensus pass off
    "absorb_gap": [0.05, 0.10, 0.15],
}


def grid(datasets: list[Dataset]) -> list[dict[str, Any]]:
    """Every combination of GRID on the calibration halves. Objective: the worst
    dataset's BCubed-F margin over the global agglomerative baseline (the threshold
    best for the mean over the calibration halves); ties go to the smaller k (faster at
    100k faces), then the better mean BCubed F."""
    parts = [ds.part("calibration") for ds in datasets]
    sweeps = {ds.name: agglo_sweep(ds)[0] for ds in parts}
    best_thr = max(AGGLO_THRESHOLDS, key=lambda thr: np.mean(
        [sweeps[ds.name][thr]["bcubed_f"] for ds in parts]))
    base = {ds.name: sweeps[ds.name][best_thr]["bcubed_f"] for ds in parts}
    print(f"global agglomerative threshold on the calibration halves: {best_thr} {base}")
    rows = []
    keys = list(GRID)
    for values in itertools.product(*(GRID[k] for k in keys)):
        over = dict(zip(keys, values, strict=True))
        if over["absorb_share"] > 1 and over["absorb_gap"] != GRID["absorb_gap"][0]:
            continue                                    # absorb off: one row is enough
        params = replace(ClusterParams.from_strictness(), **over)
        row: dict[str, Any] = dict(over)
        for ds in parts:
            row[ds.name] = score(ds, run_ours(ds, params)[0])
        row["worst_margin"] = round(min(row[ds.name]["bcubed_f"] - base[ds.name]
                                        for ds in parts), 4)
        row["mean_bcubed_f"] = round(float(np.mean([row[ds.name]["bcubed_f"]
                                                   for ds in parts])), 4)
        print(json.dumps(row), flush=True)
        rows.append(row)
    return sorted(rows, key=lambda r: (-r["worst_margin"], r["k"], -r["mean_bcubed_f"]))


REFINE: list[dict[str, Any]] = [
    {"absorb_depth": 1}, {"absorb_depth": 4}, {"absorb_depth": 8},
    {"absorb_share": 2.0}, {"absorb_depth": 4, "absorb_gap": 0.05},
    {"absorb_depth": 4, "absorb_gap": 0.15},
]


def refine(datasets: list[Dataset]) -> list[dict[str, Any]]:
    """The second stage: the runner-up search depth and gap around the default, on the
    calibration halves (BCubed F / pairwise F per dataset)."""
    parts = [ds.part("calibration") for ds in datasets]
    rows = []
    for over in REFINE:
        params = replace(ClusterParams.from_strictness(), **over)
        row: dict[str, Any] = dict(over)
        for ds in parts:
            row[ds.name] = score(ds, run_ours(ds, params)[0])
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def compare(datasets: list[Dataset], which: str) -> dict[str, Any]:
    """Every method on one part of every dataset."""
    params = ClusterParams.from_strictness()
    parts = [ds.part(which) for ds in datasets]
    out: dict[str, Any] = {}
    sweeps = {}
    for ds in parts:
        labels, t_ours = run_ours(ds, params)
        db_labels, t_db = run_dbscan(ds)
        sweeps[ds.name], t_agg = agglo_sweep(ds)
        oracle = max(sweeps[ds.name], key=lambda thr: sweeps[ds.name][thr]["bcubed_f"])
        out[ds.name] = {
            "faces": len(ds.x), "scored_faces": int(ds.scored.sum()),
            "faceatlas": {**score(ds, labels), "seconds": round(t_ours, 2)},
            "dbscan": {**score(ds, db_labels), "seconds": round(t_db, 2)},
            "agglomerative_oracle": {**sweeps[ds.name][oracle], "threshold": oracle,
                                     "seconds": round(t_agg, 2)},
        }
    best = max(AGGLO_THRESHOLDS, key=lambda thr: np.mean(
        [sweeps[ds.name][thr]["bcubed_f"] for ds in parts]))
    for ds in parts:
        out[ds.name]["agglomerative_global"] = {**sweeps[ds.name][best], "threshold": best}
    out["global_threshold"] = best
    out["agglomerative_sweep"] = {name: {str(k): v["bcubed_f"] for k, v in s.items()}
                                  for name, s in sweeps.items()}
    return out


def table(which: str, res: dict[str, Any], names: list[str]) -> str:
    lines = [f"\n{which}: global agglomerative threshold {res['global_threshold']}",
             "| dataset | method | BCubed P | BCubed R | BCubed F | pairwise F | clusters |"
             " seconds |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name in names:
        r = res[name]
        for key, label in (("faceatlas", "faceatlas default"),
                           ("dbscan", "DBSCAN (Immich: eps 0.5, min 3)"),
                           ("agglomerative_global", "agglomerative, global threshold "
                            f"{r['agglomerative_global']['threshold']}"),
                           ("agglomerative_oracle", "agglomerative, this dataset's oracle "
                            f"{r['agglomerative_oracle']['threshold']}")):
            m = r[key]
            lines.append(f"| {name} ({r['scored_faces']} scored of {r['faces']}) | {label} | "
                         f"{m['bcubed_p']:.4f} | {m['bcubed_r']:.4f} | {m['bcubed_f']:.4f} | "
                         f"{m['pairwise_f']:.4f} | {m['clusters']} (truth "
                         f"{m['true_clusters']}) | {m.get('seconds', '')} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lfw", type=Path, help="LFW embeddings (bench/lfw_embed.py)")
    ap.add_argument("--celeb", type=Path, help="celebrities embeddings "
                    "(bench/celebrities_embed.py)")
    ap.add_argument("--grid", action="store_true", help="only the calibration grid")
    ap.add_argument("--refine", action="store_true", help="only the second-stage sweep "
                    "(absorb depth and gap) on the calibration halves")
    ap.add_argument("--out", type=Path, help="write every figure here as JSON")
    args = ap.parse_args()
    datasets = ([load_lfw(args.lfw)] if args.lfw else []) + \
        ([load_celeb(args.celeb)] if args.celeb else [])
    if not datasets:
        ap.error("give --lfw and/or --celeb")
    for ds in datasets:
        print(f"{ds.name}: {len(ds.x)} faces, {ds.scored.sum()} scored, "
              f"{len(np.unique(ds.y[ds.scored]))} identities; calibration half "
              f"{ds.calibration.sum()} faces")
    if args.refine:
        refined = refine(datasets)
        if args.out:
            args.out.write_text(json.dumps(refined, indent=1))
        return
    if args.grid:
        rows = grid(datasets)
        print("best:", json.dumps(rows[:5], indent=1))
        if args.out:
            args.out.write_text(json.dumps(rows, indent=1))
        return
    results = {which: compare(datasets, which)
               for which in ("held_out", "calibration", "all")}
    for which, res in results.items():
        print(table(which, res, [ds.name for ds in datasets]))
    if args.out:
        args.out.write_text(json.dumps({"results": results, "default_params":
                                        ClusterParams.from_strictness().__dict__}, indent=1))


if __name__ == "__main__":
    main()
