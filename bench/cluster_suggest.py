"""How many yes/no answers do merge suggestions need? An oracle answers
``people suggest`` on ``celebrities/``, starting from faceatlas's clustering of every
face; we count answers until BCubed F on the scored (``main``) faces reaches each target.

* Oracle: a person's truth is the majority label of its main faces; two people are one
  when both have main faces and their truths agree. A person with no main face (only
  bystanders) is answered "no" (nothing says who it is).
* ``suggested``: after EACH answer the suggestions are recomputed
  (:func:`faceatlas.cluster.suggest.suggest_pairs`, with the pairs answered "no"
  excluded) and the best one is answered: "yes" merges the two people, "no" excludes the
  pair. Stops when nothing is left to suggest.
* ``random``: every pair of people (that share no photo) in a random order, answered in
  that order (pairs already joined by an earlier "yes" are skipped without counting)
  until the last target is reached; median of 5 seeds.

Starts: the default clustering, and the strictest one (``--strictness 1``) which splits
people far more (so the suggestions have more to do).

    nice python bench/cluster_suggest.py /work/cache/celeb_sface.npz --out suggest.json
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from faceatlas.cluster import ClusterParams, cluster_faces
from faceatlas.cluster.suggest import profiles, suggest_pairs
from faceatlas.evaluation.clustering import bcubed_prf

TARGETS = (0.95, 0.98, 0.99, 0.995)


def truths(labels: np.ndarray, y: np.ndarray, main: np.ndarray) -> dict[int, str | None]:
    out: dict[int, str | None] = {}
    for p in np.unique(labels[labels >= 0]).tolist():
        names = y[(labels == p) & main].tolist()
        out[p] = Counter(names).most_common(1)[0][0] if names else None
    return out


def same(t: dict[int, str | None], a: int, b: int) -> bool:
    return t[a] is not None and t[a] == t[b]


def reached(curve: list[float]) -> dict[str, int | None]:
    return {str(target): next((i for i, f in enumerate(curve) if f >= target), None)
            for target in TARGETS}


def suggested(x: np.ndarray, labels: np.ndarray, y: np.ndarray, main: np.ndarray,
              photos: np.ndarray, params: ClusterParams, budget: int) -> dict[str, Any]:
    labels = labels.copy()
    truth = truths(labels, y, main)
    people = profiles(x, labels, params)
    no: set[tuple[int, int]] = set()
    curve = [bcubed_prf(y[main], labels[main]).f1]
    yes_count = 0
    t = time.perf_counter()
    while len(curve) <= budget:
        pairs = suggest_pairs(x, labels, params, photos=photos, exclude=no, people=people,
                              limit=1)
        if not pairs:
            break
        a, b = pairs[0].a, pairs[0].b
        if same(truth, a, b):
            labels[labels == b] = a
            people.pop(b)
            people.update(profiles(x, labels, params, only=[a]))
            yes_count += 1
        else:
            no.add((a, b))
        curve.append(bcubed_prf(y[main], labels[main]).f1)
    return {"answers_to_reach": reached(curve), "answers": len(curve) - 1, "yes": yes_count,
            "final_bcubed_f": round(curve[-1], 4),
            "seconds_per_answer": round((time.perf_counter() - t) / max(len(curve) - 1, 1),
                                        3)}


def random_order(labels: np.ndarray, y: np.ndarray, main: np.ndarray, photos: np.ndarray,
                 seed: int, budget: int) -> dict[str, Any]:
    labels = labels.copy()
    truth = truths(labels, y, main)
    ids = sorted(truth)
    photo_sets = {p: set(photos[labels == p].tolist()) for p in ids}
    pairs = [(a, b) for i, a in enumerate(ids) for b in ids[i + 1:]
             if not photo_sets[a] & photo_sets[b]]
    order = np.random.default_rng(seed).permutation(len(pairs))
    parent = {p: p for p in ids}

    def find(p: int) -> int:
        while parent[p] != p:
            p = parent[p]
        return p

    curve = [bcubed_prf(y[main], labels[main]).f1]
    for i in order.tolist():
        if len(curve) > budget or curve[-1] >= TARGETS[-1]:
            break
        a, b = find(pairs[i][0]), find(pairs[i][1])
        if a == b:
            continue
        if same(truth, a, b):
            parent[b] = a
            labels[labels == b] = a
        curve.append(bcubed_prf(y[main], labels[main]).f1)
    return {"answers_to_reach": reached(curve), "answers": len(curve) - 1,
            "candidate_pairs": len(pairs)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("npz", type=Path, help="celebrities embeddings "
                    "(bench/celebrities_embed.py)")
    ap.add_argument("--budget", type=int, default=3000, help="most answers of the suggested run")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    d = np.load(args.npz)
    x = d["embeddings"].astype(np.float32)
    y = d["identities"]
    main_faces = d["main"].astype(bool)
    q = d["quality"].astype(np.float32)
    _, photos = np.unique(d["paths"], return_inverse=True)
    results: dict[str, Any] = {}
    for start, strictness in (("default", 0.5), ("strictest", 1.0)):
        params = ClusterParams.from_strictness(strictness)
        labels = cluster_faces(x, quality=q, photos=photos, params=params).labels
        people = len(np.unique(labels[labels >= 0]))
        ours = suggested(x, labels, y, main_faces, photos, ClusterParams.from_strictness(),
                         args.budget)
        rand = [random_order(labels, y, main_faces, photos, seed, 10**9)
                for seed in range(5)]
        med = {t: (None if any(r["answers_to_reach"][t] is None for r in rand) else
                   int(np.median([r["answers_to_reach"][t] for r in rand])))
               for t in map(str, TARGETS)}
        results[start] = {"strictness": strictness, "people": people,
                          "start_bcubed_f": round(bcubed_prf(y[main_faces],
                                                             labels[main_faces]).f1, 4),
                          "suggested": ours, "random_median": med, "random_runs": rand}
        print(json.dumps({start: {k: v for k, v in results[start].items()
                                  if k != "random_runs"}}, indent=1), flush=True)
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
