"""Forget: completeness (nothing of theirs left) and exactness (nothing of anyone else's
lost) of the person sweep, on a catalog of known identities built from cached embeddings.

    nice python3 bench/forget_sweep.py --celeb /work/cache/celeb_sface.npz \
        --lfw /work/cache/lfw_sface.npz

Catalog (a real SQLite catalog, through the store interface, built once): every face of
the ``celebrities/`` photos (the folder's person, and the other faces of the photos:
co-stars, crowds, whose identity is unknown but is not the folder's person), and 300 LFW
identities with >= 3 photos (<= 20 each) plus 1,000 other LFW photos. As automatic
clustering would leave it: each celebrity and each of the 300 LFW identities is an
automatic person (``assigned_by='auto'``); the other faces are unassigned.

Per target (each celebrity with >= 20 photos), on a copy of that catalog: the target is
enrolled from one photo (user-linked), half of their other photos stay in their automatic
person, the other half become unassigned, and one more is user-linked to another
celebrity (a user's decision forget must respect). Then their forget plan is made:

* ``faceatlas``: :func:`faceatlas.privacy.forget.plan_forget_person` (linked faces, and
  faces no user decided on that match their template at the 1:N threshold for FPIR 1e-3
  and are closer to them than to anyone else);
* ``baseline``: the previous sweep: the normalised mean of the linked faces, every face
  not user-linked elsewhere at or above the 1:1 threshold at FAR 1e-3.

Completeness = share of the target's faces (other than the one a user gave to someone
else) that the plan erases; wrong = faces of other people it erases.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import numpy as np

from faceatlas.library import Library
from faceatlas.privacy.forget import plan_forget_person
from faceatlas.store import ImageInfo, NewFace, SQLiteStore
from faceatlas.verification import resolve_threshold

MODEL = "sface@fb143eea0783"


def build(root: Path, celeb_path: Path, lfw_path: Path, seed: int
          ) -> tuple[dict[int, str], dict[str, int]]:
    """Write the catalog under ``root``; return (face id -> identity or '', person ids)."""
    c = np.load(celeb_path)
    d = np.load(lfw_path)
    rng = np.random.default_rng(seed)
    rows: list[tuple[np.ndarray, float, str, str]] = []  # vector, quality, identity, group
    main = c["main"].astype(bool)
    seen: set[bytes] = set()
    for i in range(len(main)):
        key = np.round(c["embeddings"][i], 5).tobytes()
        if key in seen:  # byte-identical duplicate photos
            continue
        seen.add(key)
        ident = str(c["identities"][i])
        rows.append((c["embeddings"][i], float(c["quality"][i]),
                     ident if main[i] else "", ident if main[i] else ""))
    celebs = {str(n).lower() for n in c["identities"]} | {"sylvester stallone",
                                                          "beyonce knowles"}
    names = np.array([str(n).replace("_", " ").lower() for n in d["identities"]])
    ok = ~np.isin(names, sorted(celebs))
    people, counts = np.unique(names[ok], return_counts=True)
    background = set(rng.choice(people[counts >= 3], 300, replace=False))
    others = np.flatnonzero(ok & ~np.isin(names, sorted(background)))
    taken: dict[str, int] = {}
    for i in np.flatnonzero(ok & np.isin(names, sorted(background))):
        taken[names[i]] = taken.get(names[i], 0) + 1
        if taken[names[i]] <= 20:
            rows.append((d["embeddings"][i], float(d["quality"][i]), "lfw:" + names[i],
                         "lfw:" + names[i]))
    for i in rng.choice(others, 1000, replace=False):
        rows.append((d["embeddings"][i], float(d["quality"][i]), "lfw:" + names[i], ""))
    truth: dict[int, str] = {}
    groups: dict[str, list[int]] = {}
    with SQLiteStore(root / "catalog.sqlite") as store:
        for k, (vec, q, ident, group) in enumerate(rows):
            info = ImageInfo(path=f"/photos/{k}.jpg", folder="/photos", album="photos",
                             content_hash=f"{k:064x}", size=1, mtime_ns=1)
            face = NewFace(box=(0.0, 0.0, 100.0, 100.0), landmarks=np.zeros((5, 2), np.float32),
                           det_score=0.9, quality=q, model=MODEL,
                           vector=np.asarray(vec, np.float32))
            fid = store.save_image(info, [face]).face_ids[0]
            truth[fid] = ident
            if group:
                groups.setdefault(group, []).append(fid)
        pids = {}
        for group, fids in groups.items():
            person = store.create_person(None)
            store.assign_faces(fids, person.id, "auto")
            pids[group] = person.id
    return truth, pids


def baseline_plan(store: SQLiteStore, owner: int) -> set[int]:
    """The previous sweep (see module docs)."""
    linked = [f.id for f in store.person_faces(owner)]
    vecs = np.concatenate([v for _, v in store.embeddings(MODEL, linked)])
    mean = vecs.mean(axis=0)
    mean /= np.linalg.norm(mean)
    t = resolve_threshold("sface").value
    ids = np.concatenate([i for i, _ in store.embeddings(MODEL)])
    sims = np.concatenate([v @ mean for _, v in store.embeddings(MODEL)])
    hits = store.faces([int(i) for i in ids[sims >= t]])
    out = {fid for fid, r in hits.items()
           if r.person_id == owner or r.person_id is None or r.assigned_by != "user"}
    return out | set(linked)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--celeb", type=Path, required=True)
    ap.add_argument("--lfw", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        base.mkdir()
        truth, pids = build(base, args.celeb, args.lfw, args.seed)
        celebs = sorted(g for g in pids if not g.startswith("lfw:"))
        targets = [g for g in celebs if sum(v == g for v in truth.values()) >= 20]
        print(f"catalog: {len(truth)} faces, {len(pids)} automatic people; targets: "
              f"{len(targets)}")
        print("| target | their faces | faceatlas: erased of theirs / wrong | "
              "baseline: erased of theirs / wrong |")
        print("|---|---|---|---|")
        totals = np.zeros(5, np.int64)
        for k, target in enumerate(targets):
            lib_dir = Path(tmp) / f"t{k}"
            shutil.copytree(base, lib_dir)
            with Library.open(lib_dir) as lib:
                store = lib.store
                theirs = [f for f, v in truth.items() if v == target]
                order = rng.permutation(theirs)
                enrol, gift, rest = int(order[0]), int(order[1]), order[2:]
                named = store.create_person(target)
                store.assign_faces([enrol], named.id, "user", decision="enroll")
                store.assign_faces([int(f) for f in rest[: len(rest) // 2]], None, "auto")
                other = pids[celebs[(celebs.index(target) + 1) % len(celebs)]]
                store.assign_faces([gift], other, "user", decision="assign")
                plan = plan_forget_person(lib, str(named.id))
                ours = set(plan.erasure.face_ids)
                old = baseline_plan(store, named.id)  # type: ignore[arg-type]
            wanted = set(theirs) - {gift}
            if k == 0:
                print(f"(first plan: {plan.describe})")
            row = [len(wanted), len(ours & wanted), len(ours - wanted),
                   len(old & wanted), len(old - wanted)]
            assert gift not in ours
            totals += row
            print(f"| {target} | {row[0]} | {row[1]} / {row[2]} | {row[3]} / {row[4]} |")
            shutil.rmtree(lib_dir)
        print(f"| all | {totals[0]} | {totals[1]} ({totals[1] / totals[0]:.1%}) / "
              f"{totals[2]} | {totals[3]} ({totals[3] / totals[0]:.1%}) / {totals[4]} |")


if __name__ == "__main__":
    main()
