"""Open-set identification benchmark (FRVT 1:N vocabulary): TPIR at the default FPIR with
the calibrated threshold, the FPIR actually measured on people enrolled nowhere, the
oracle threshold beside it, and the old behaviour (1:1 threshold on the best face) as the
baseline, all in one run on the cached embeddings.

    nice python3 bench/open_set.py --celeb /work/cache/celeb_sface.npz \
        --lfw /work/cache/lfw_sface.npz [--repeats 5] [--json out.json]

Protocol. Data: the folder's-person face of each ``celebrities/`` photo (byte-identical
duplicates, i.e. identical embeddings, dropped) and LFW. LFW identities whose name is a
celebrity's are dropped (they are the same people). The people are split in two halves,
**dev** (chooses the runner-up margin) and **test** (reports): celebrity people with at
least 4 photos, sorted by photo count, alternate between halves; LFW identities by a
seeded shuffle. In each half and repeat:

* **enrolled**: two of three celebrity people (stratified by photo count), 3 random
  photos each, built into a template (user-linked faces);
* **background**: 300 LFW identities with >= 3 photos (at most 20 each) as unnamed
  people (an automatically clustered library: one person per identity);
* **mated probes**: the other photos of the enrolled people;
* **non-mated probes**: every photo of the celebrity people not enrolled, and every
  photo of LFW identities of the half outside the background.

Decision procedures, on the same probes:

* ``baseline``: the old identify: best similarity over every gallery face, named at the
  1:1 threshold at FAR 1e-3, no margin, no probe gate;
* ``faceatlas``: the library's own code: person templates
  (:mod:`faceatlas.cluster.templates`), the 1:N threshold for the gallery's number of
  modes at FPIR 0.01 (:mod:`faceatlas.verification.openset`), the runner-up margin
  (:data:`~faceatlas.library.recognize.IDENTIFY_MARGIN`) and the probe gate
  (:func:`~faceatlas.library.recognize.probe_refusal`);
* ``oracle``: the same scores at the threshold where the FPIR measured on the celebrity
  non-mated probes is exactly 0.01 (known only after the fact).

TPIR: mated probes named as the right person. FPIR: non-mated probes given any name
(an enrolled celebrity or an unnamed background person). Calibration comes from LFW, so
the celebrity non-mated probes are the independent check (LFW strangers are reported
separately).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from faceatlas.cluster.templates import MODE_DISTANCE, Gallery, PersonTemplate
from faceatlas.library.recognize import IDENTIFY_MARGIN, open_set_decisions, probe_refusal
from faceatlas.verification import resolve_threshold
from faceatlas.verification.openset import DEFAULT_FPIR, resolve_openset_threshold

MARGINS = (0.0, 0.025, 0.05, 0.075, 0.1, 0.125, 0.15, 0.2)
DISTANCES = (0.4, 0.5, 0.6, 0.7, 0.8, 2.0)  # 2.0: one mean per person
ENROLMENTS = (3, 20)
Runs = list[tuple[dict[str, dict[str, np.ndarray]], np.ndarray]]
BACKGROUND = 300
ENROL_PHOTOS = 3


@dataclass
class Faces:
    """Embeddings with identity, quality and whether each may be named (probe gate)."""

    vectors: np.ndarray
    identity: np.ndarray
    quality: np.ndarray
    nameable: np.ndarray


def load(celeb_path: Path, lfw_path: Path) -> tuple[Faces, Faces]:
    c = np.load(celeb_path)
    main = c["main"].astype(bool)
    vec = c["embeddings"][main].astype(np.float32)
    _, first = np.unique(np.round(vec, 5), axis=0, return_index=True)
    keep = np.sort(first)  # byte-identical duplicates give identical embeddings
    boxes = c["boxes"][main][keep]
    q = c["quality"][main][keep].astype(np.float32)
    ok = np.array([probe_refusal(float(qq), tuple(map(float, b))) is None  # type: ignore[arg-type]
                   for qq, b in zip(q, boxes, strict=True)])
    celeb = Faces(vec[keep], c["identities"][main][keep].astype(str), q, ok)
    d = np.load(lfw_path)
    names = {str(n).lower() for n in celeb.identity}
    same = {"sylvestor stallone": "sylvester stallone", "beyonce": "beyonce knowles"}
    names |= set(same.values())
    ident = np.array([str(i).replace("_", " ").lower() for i in d["identities"]])
    drop = np.isin(ident, sorted(names))
    lq = d["quality"][~drop].astype(np.float32)
    lok = np.array([probe_refusal(float(x), (0, 0, 250, 250)) is None for x in lq])
    lfw = Faces(d["embeddings"][~drop].astype(np.float32), ident[~drop], lq, lok)
    return celeb, lfw


def halves(celeb: Faces, lfw: Faces, seed: int) -> list[tuple[list[str], np.ndarray]]:
    """[(celebrity people, LFW identities)] for dev and test."""
    people, counts = np.unique(celeb.identity, return_counts=True)
    order = [str(p) for p, n in sorted(zip(people, counts, strict=True),
                                       key=lambda x: (-x[1], x[0])) if n >= 4]
    ids = np.unique(lfw.identity)
    np.random.default_rng(seed).shuffle(ids)
    return [(order[0::2], ids[0::2]), (order[1::2], ids[1::2])]


def scenario(celeb: Faces, lfw: Faces, people: list[str], lfw_ids: np.ndarray,
             rng: np.random.Generator, distance: float = MODE_DISTANCE,
             enrol_photos: int = ENROL_PHOTOS) -> dict[str, object]:
    """One gallery and its probes (see module docs)."""
    enrolled = [p for i, p in enumerate(people) if i % 3 != 2]
    if rng.random() < 0.5:  # vary which third stays out
        enrolled = [p for i, p in enumerate(people) if i % 3 != 1]
    absent = [p for p in people if p not in enrolled]
    templates: dict[int, PersonTemplate] = {}
    faces_v, faces_owner = [], []
    mated_rows, mated_truth = [], []
    for pid, person in enumerate(enrolled):
        rows = rng.permutation(np.flatnonzero(celeb.identity == person))
        enrol, rest = rows[:enrol_photos], rows[enrol_photos:]
        templates[pid] = PersonTemplate.from_vectors(celeb.vectors[enrol],
                                                     celeb.quality[enrol], pid,
                                                     distance=distance)
        faces_v.append(celeb.vectors[enrol])
        faces_owner += [pid] * len(enrol)
        mated_rows += list(rest)
        mated_truth += [pid] * len(rest)
    lfw_people, lfw_counts = np.unique(lfw.identity, return_counts=True)
    half = np.isin(lfw_people, lfw_ids)
    eligible = lfw_people[half & (lfw_counts >= 3)]
    background = rng.choice(eligible, size=min(BACKGROUND, len(eligible)), replace=False)
    for k, name in enumerate(background):
        rows = np.flatnonzero(lfw.identity == name)[:20]
        pid = 1000 + k
        templates[pid] = PersonTemplate.from_vectors(lfw.vectors[rows], lfw.quality[rows], pid,
                                                     distance=distance)
        faces_v.append(lfw.vectors[rows])
        faces_owner += [pid] * len(rows)
    strangers = np.flatnonzero(np.isin(lfw.identity, lfw_ids) &
                               ~np.isin(lfw.identity, background))
    absent_rows = np.flatnonzero(np.isin(celeb.identity, absent))
    return {"templates": templates, "faces": np.concatenate(faces_v),
            "owner": np.array(faces_owner), "mated": np.array(mated_rows),
            "truth": np.array(mated_truth), "absent": absent_rows, "strangers": strangers,
            "enrolled": len(enrolled)}


def evaluate(sc: dict[str, object], celeb: Faces, lfw: Faces, margin: float,
             gate: bool = True) -> dict[str, dict[str, np.ndarray]]:
    """Per procedure and probe set: (named person or -1) and best score."""
    templates: dict[int, PersonTemplate] = sc["templates"]  # type: ignore[assignment]
    gallery = Gallery.of(templates)
    people = np.asarray(gallery.people)
    t = resolve_openset_threshold("sface", gallery.size, DEFAULT_FPIR)
    one = resolve_threshold("sface").value
    faces: np.ndarray = sc["faces"]  # type: ignore[assignment]
    owner: np.ndarray = sc["owner"]  # type: ignore[assignment]
    sets = {"mated": (celeb, sc["mated"]), "absent": (celeb, sc["absent"]),
            "strangers": (lfw, sc["strangers"])}
    out: dict[str, dict[str, np.ndarray]] = {"baseline": {}, "faceatlas": {}, "scores": {}}
    for key, (src, rows) in sets.items():
        v = src.vectors[rows]  # type: ignore[index]
        sims = v @ faces.T
        best = sims.argmax(axis=1)
        top = sims[np.arange(len(v)), best]
        out["baseline"][key] = np.where(top >= one, owner[best], -1)
        scores = gallery.person_scores(v)
        idx, s, _ = open_set_decisions(scores, t.value, margin, gallery)
        named = np.where(idx >= 0, people[np.maximum(idx, 0)], -1)
        if gate:
            named = np.where(src.nameable[rows], named, -1)  # type: ignore[index]
        out["faceatlas"][key] = named
        idx0, s0, gap0 = open_set_decisions(scores, t.value, margin, gallery)
        ok = src.nameable[rows] if gate else np.ones(len(rows), bool)  # type: ignore[index]
        out["scores"][key] = np.where(ok & (gap0 >= margin), s0, -np.inf)
        out["scores"][key + "_who"] = people[np.maximum(idx0, 0)]
    out["meta"] = {"threshold": np.array([t.value]), "gallery": np.array([gallery.size])}
    return out


def rates(named: dict[str, np.ndarray], truth: np.ndarray) -> dict[str, float]:
    mated = named["mated"]
    return {"tpir": float(np.mean(mated == truth)),
            "misid": float(np.mean((mated >= 0) & (mated != truth))),
            "fpir_celeb": float(np.mean(named["absent"] >= 0)),
            "fpir_celeb_enrolled_name": float(np.mean((named["absent"] >= 0) &
                                                      (named["absent"] < 1000))),
            "fpir_lfw": float(np.mean(named["strangers"] >= 0))}


def oracle(runs: Runs) -> dict[str, float]:
    """The threshold where the FPIR measured on the celebrity non-mated probes (the
    strangers independent of the LFW calibration) is DEFAULT_FPIR, and the TPIR and
    per-set FPIRs there."""
    non = np.concatenate([r["scores"]["absent"] for r, _ in runs])
    finite = non[np.isfinite(non)]
    q = 1 - DEFAULT_FPIR * len(non) / max(len(finite), 1)
    # with the margin and gate, fewer than 1 % may be nameable at all: then every
    # threshold keeps FPIR below the target and the oracle is the lowest score
    t = float(np.quantile(finite, q, method="higher")) if q > 0 else float(finite.min())
    tp = np.concatenate([(r["scores"]["mated"] >= t) & (r["scores"]["mated_who"] == truth)
                         for r, truth in runs])
    fc = np.concatenate([r["scores"]["absent"] >= t for r, _ in runs])
    fl = np.concatenate([r["scores"]["strangers"] >= t for r, _ in runs])
    return {"threshold": t, "tpir": float(tp.mean()), "fpir_celeb": float(fc.mean()),
            "fpir_lfw": float(fl.mean())}


def pooled(runs: Runs, method: str) -> dict[str, float]:
    """Rates over every repeat's probes together."""
    named = {k: np.concatenate([r[method][k] for r, _ in runs])
             for k in ("mated", "absent", "strangers")}
    truth = np.concatenate([t for _, t in runs])
    return rates(named, truth)


def run_half(celeb: Faces, lfw: Faces, people: list[str], lfw_ids: np.ndarray,
             repeats: int, seed: int, margin: float, gate: bool = True,
             distance: float = MODE_DISTANCE, enrol_photos: int = ENROL_PHOTOS
             ) -> tuple[Runs, list[dict[str, object]]]:
    rng = np.random.default_rng(seed)
    scen = [scenario(celeb, lfw, people, lfw_ids, rng, distance, enrol_photos)
            for _ in range(repeats)]
    runs = [(evaluate(sc, celeb, lfw, margin, gate), sc["truth"]) for sc in scen]
    return runs, scen  # type: ignore[return-value]


def utility(r: dict[str, float]) -> float:
    """The dev objective: TPIR - misidentification rate - mean FPIR (celebrities, LFW)."""
    return r["tpir"] - r["misid"] - (r["fpir_celeb"] + r["fpir_lfw"]) / 2


def choose(celeb: Faces, lfw: Faces, half: tuple[list[str], np.ndarray], repeats: int,
           seed: int) -> tuple[float, float, dict[str, object]]:
    """Dev split, averaged over enrolments of 3 and 20 photos: the mode distance that
    gives the best TPIR at the oracle threshold (celebrity FPIR 0.01, margin 0: the
    template itself, apart from calibration), then the margin (at that distance) that
    maximises :func:`utility` at the calibrated threshold."""
    by_distance: dict[float, float] = {}
    for d in DISTANCES:
        tpirs = []
        for enrol in ENROLMENTS:
            runs, _ = run_half(celeb, lfw, *half, repeats, seed, 0.0, distance=d,
                               enrol_photos=enrol)
            o = oracle(runs)
            tpirs.append(o["tpir"])
            print(f"  dev distance {d:.2f} enrol {enrol:2d}: TPIR {o['tpir']:.4f} at the "
                  f"oracle threshold {o['threshold']:.3f} (FPIR LFW {o['fpir_lfw']:.4f})")
        by_distance[d] = float(np.mean(tpirs))
    distance = max(DISTANCES, key=lambda d: (round(by_distance[d], 4), -d))  # ties: finest
    by_margin: dict[float, float] = {}
    for m in MARGINS:
        utils = []
        for enrol in ENROLMENTS:
            runs, _ = run_half(celeb, lfw, *half, repeats, seed, m, distance=distance,
                               enrol_photos=enrol)
            r = pooled(runs, "faceatlas")
            utils.append(utility(r))
            print(f"  dev margin {m:.3f} enrol {enrol:2d}: TPIR {r['tpir']:.4f} misID "
                  f"{r['misid']:.4f} FPIR celeb {r['fpir_celeb']:.4f} LFW "
                  f"{r['fpir_lfw']:.4f}")
        by_margin[m] = float(np.mean(utils))
    margin = max(MARGINS, key=lambda m: (round(by_margin[m], 4), -m))
    print(f"dev-chosen mode distance {distance}, margin {margin} (library: MODE_DISTANCE "
          f"{MODE_DISTANCE}, IDENTIFY_MARGIN {IDENTIFY_MARGIN})")
    return distance, margin, {"tpir_at_oracle_by_distance": by_distance,
                              "utility_by_margin": by_margin}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--celeb", type=Path, required=True)
    ap.add_argument("--lfw", type=Path, required=True)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-dev", action="store_true", help="only the test half")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    celeb, lfw = load(args.celeb, args.lfw)
    dev, (test_people, test_lfw) = halves(celeb, lfw, args.seed)
    print(f"dev people: {', '.join(dev[0])}\ntest people: {', '.join(test_people)}")
    results: dict[str, object] = {}
    if not args.skip_dev:
        distance, margin, log = choose(celeb, lfw, dev, args.repeats, args.seed)
        results["dev"] = {"distance": distance, "margin": margin, **log}
    seed = args.seed + 1  # same scenarios (galleries, probes) for every row
    t1 = resolve_threshold("sface").value
    for enrol in ENROLMENTS:
        def go(margin: float, gate: bool = True, distance: float = MODE_DISTANCE,
               enrol: int = enrol) -> tuple[Runs, list[dict[str, object]]]:
            return run_half(celeb, lfw, test_people, test_lfw, args.repeats, seed, margin,
                            gate, distance, enrol)

        runs0, scen = go(0.0)
        runs, _ = go(IDENTIFY_MARGIN)
        runs_ng, _ = go(IDENTIFY_MARGIN, gate=False)
        runs_mean, _ = go(IDENTIFY_MARGIN, distance=2.0)
        meta = runs[0][0]["meta"]
        counts = {"mated": int(sum(len(t) for _, t in runs)),
                  "absent": int(sum(len(s["absent"]) for s in scen)),  # type: ignore[arg-type]
                  "strangers": int(sum(len(s["strangers"]) for s in scen)),  # type: ignore[arg-type]
                  "enrolled_people": int(scen[0]["enrolled"]),  # type: ignore[call-overload]
                  "gallery_modes": int(meta["gallery"][0]),
                  "threshold": float(meta["threshold"][0])}
        rows = {"baseline": pooled(runs, "baseline"),
                "calibrated": pooled(runs0, "faceatlas"), "oracle": oracle(runs0),
                "default": pooled(runs, "faceatlas"),
                "default_no_gate": pooled(runs_ng, "faceatlas"),
                "default_one_mean": pooled(runs_mean, "faceatlas")}
        results[f"test_enrol_{enrol}"] = {"counts": counts, **rows}
        print(f"\ntest half, enrolled from {enrol} photos each, {args.repeats} repeats: "
              f"{counts}")
        print("| procedure | threshold | margin | TPIR | misID | FPIR celebrities (any name "
              "/ enrolled name) | FPIR LFW strangers |")
        print("|---|---|---|---|---|---|---|")

        def line(label: str, t: float, m: str, r: dict[str, float]) -> None:
            enrolled = f" / {r['fpir_celeb_enrolled_name']:.4f}" if "misid" in r else ""
            misid = f"{r['misid']:.4f}" if "misid" in r else "-"
            print(f"| {label} | {t:.3f} | {m} | {r['tpir']:.4f} | {misid} | "
                  f"{r['fpir_celeb']:.4f}{enrolled} | {r['fpir_lfw']:.4f} |")

        line("baseline (old identify): best face, 1:1 FAR 1e-3", t1, "-", rows["baseline"])
        line("templates, 1:N threshold at FPIR 0.01, probe gate", counts["threshold"], "0",
             rows["calibrated"])
        line("oracle threshold (celebrity FPIR = 0.01), probe gate",
             rows["oracle"]["threshold"], "0", rows["oracle"])
        line("faceatlas default: + runner-up margin", counts["threshold"],
             f"{IDENTIFY_MARGIN}", rows["default"])
        line("faceatlas default without the probe gate", counts["threshold"],
             f"{IDENTIFY_MARGIN}", rows["default_no_gate"])
        line("faceatlas default with one mean per person (no modes)",
             float(runs_mean[0][0]["meta"]["threshold"][0]), f"{IDENTIFY_MARGIN}",
             rows["default_one_mean"])
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=float) + "\n")


if __name__ == "__main__":
    main()
