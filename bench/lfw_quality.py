"""Error versus reject on the 6000 LFW pairs: does faceatlas's quality score predict
verification errors, and what does the recognizability (ERS) component add?

    nice python3 bench/lfw_quality.py --archive lfw-deepfunneled.tgz --pairs pairs.txt \
        --embeddings /work/cache/lfw_sface.npz \
        --components /work/cache/eval/lfw_quality_components.npz \
        --plot docs/plots/lfw_quality_reject.png --out /work/cache/eval/lfw_quality.json

``--embeddings`` is the output of ``bench/lfw_embed.py``. The quality components of
every pair image are recomputed with the installed :class:`QualityScorer` (so with
the shipped recognizability centroid) from the stored landmarks and embeddings; the
detection score comes from detecting the image again the way ``lfw_embed.py`` does.
They are cached in ``--components``.

Quality variants compared in the same run, each pair scored by its worse face:

* ``quality``: the engine's score (all five components, shipped weights);
* ``quality without recognizability``: the ablation, the four other components;
* ``recognizability only``;
* ``random``: a random number per image, the no-information baseline.

Two fixed thresholds: the accuracy-maximising threshold on all 6000 pairs (before
any rejection) and the shipped threshold calibrated at FAR 1e-3.

``--calibrate`` also searches the component weights on the pairs whose identities all
fall in one random half of the LFW identities and reports the resulting curve on the
pairs of the other half, next to the shipped weights on that same half.
"""

from __future__ import annotations

import argparse
import itertools
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from faceatlas import FaceEngine
from faceatlas.alignment import align_face
from faceatlas.cli.common import track
from faceatlas.detection import YuNetDetector
from faceatlas.evaluation import metrics
from faceatlas.evaluation.lfw import (
    FALLBACK_SCORE,
    LfwEmbeddings,
    central_face,
    iter_archive,
    pair_indices,
    protocol_scores,
    read_pairs,
)
from faceatlas.evaluation.reject import RejectPoint, error_versus_reject
from faceatlas.image import decode_bytes
from faceatlas.quality import WEIGHTS, combine
from faceatlas.types import Detection
from faceatlas.verification import resolve_threshold

FRACTIONS = (0.0, 0.05, 0.1, 0.2, 0.3)
COMPONENTS = ("detection", "size", "sharpness", "pose", "recognizability")


def image_components(archive: Path, emb: LfwEmbeddings, names: set[str],
                     engine: FaceEngine) -> np.ndarray:
    """(n, 5) quality components (columns :data:`COMPONENTS`) of the images ``names``,
    rows in the order of ``emb``; rows of other images are NaN."""
    retry = YuNetDetector(engine.registry.get(engine.detector.name), engine.registry,
                          score_threshold=FALLBACK_SCORE)
    rows = emb.index()
    out = np.full((len(emb.names), len(COMPONENTS)), np.nan)
    for name, data in track(iter_archive(archive, names), len(names), "quality"):
        bgr = decode_bytes(data, name)
        h, w = bgr.shape[:2]
        row = rows[name]
        det = central_face(engine.detect(bgr), w, h) or central_face(retry.detect(bgr), w, h)
        lm = emb.landmarks[row]
        det = Detection(det.box if det else (w / 4, h / 4, w / 2, h / 2), lm,
                        det.score if det and not emb.fallback[row] else 0.0)
        report = engine.quality.score(det, align_face(bgr, lm), emb.embeddings[row])
        out[row] = [report.components[c] for c in COMPONENTS]
    return out


def image_quality(comps: np.ndarray, weights: Mapping[str, float]) -> np.ndarray:
    """Per-image quality from the component matrix with these weights."""
    q = np.full(len(comps), np.nan)
    ok = ~np.isnan(comps).any(axis=1)
    q[ok] = [combine(dict(zip(COMPONENTS, r, strict=True)), weights) for r in comps[ok]]
    return q


def curve(scores: np.ndarray, labels: np.ndarray, pair_q: np.ndarray,
          threshold: float) -> list[RejectPoint]:
    return error_versus_reject(scores, labels, pair_q, threshold, FRACTIONS)


def area(points: list[RejectPoint]) -> float:
    """Mean error over the reject fractions above zero (lower is better)."""
    return float(np.mean([p.error for p in points if p.fraction > 0]))


def identity_halves(pairs_ids: list[set[str]], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Masks of the pairs whose identities all fall in half A / half B of a random
    split of the identities (pairs across the halves are in neither)."""
    ids = sorted(set().union(*pairs_ids))
    half_a = set(np.random.default_rng(seed).permutation(ids)[: len(ids) // 2].tolist())
    in_a = np.array([p <= half_a for p in pairs_ids])
    in_b = np.array([not (p & half_a) for p in pairs_ids])
    return in_a, in_b


def calibrate_weights(scores: np.ndarray, labels: np.ndarray, comps_a: np.ndarray,
                      comps_b: np.ndarray, threshold: float) -> dict[str, float]:
    """Weights (grid 0, 0.1, 0.2, 0.3 per component, normalised) minimising the mean
    error of the reject curve; ``comps_a``/``comps_b`` are the components of each
    pair's two images."""
    best: tuple[float, dict[str, float]] | None = None
    for combo in itertools.product((0.0, 0.1, 0.2, 0.3), repeat=len(COMPONENTS)):
        if sum(combo) == 0:
            continue
        w = {c: v / sum(combo) for c, v in zip(COMPONENTS, combo, strict=True)}
        q = np.minimum(image_quality(comps_a, w), image_quality(comps_b, w))
        a = area(curve(scores, labels, q, threshold))
        if best is None or a < best[0] - 1e-12:
            best = (a, w)
    assert best is not None
    return best[1]


def plot(curves: Mapping[str, list[RejectPoint]], path: Path, title: str) -> None:
    fig = Figure(figsize=(5, 3.6))
    ax = fig.add_subplot()
    for name, pts in curves.items():
        ax.plot([100 * p.fraction for p in pts], [100 * p.error for p in pts], marker="o",
                label=name, linestyle="--" if name == "random" else "-")
    ax.set_xlabel("pairs rejected, lowest quality first (%)")
    ax.set_ylabel("verification error (%)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def main() -> None:
    ap = argparse.ArgumentParser(description="LFW error versus reject for faceatlas quality")
    ap.add_argument("--archive", type=Path, required=True)
    ap.add_argument("--pairs", type=Path, required=True)
    ap.add_argument("--embeddings", type=Path, required=True, help="bench/lfw_embed.py output")
    ap.add_argument("--components", type=Path, required=True, help="cache of the components")
    ap.add_argument("--plot", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--calibrate", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    emb = LfwEmbeddings.load(args.embeddings)
    pairs = read_pairs(args.pairs)
    engine = FaceEngine()
    if args.components.is_file():
        comps = np.load(args.components)["components"]
    else:
        comps = image_components(args.archive, emb, {n for p in pairs for n in (p.a, p.b)},
                                 engine)
        args.components.parent.mkdir(parents=True, exist_ok=True)
        np.savez(args.components, components=comps, names=emb.names)
    ia, ib = pair_indices(pairs, emb)
    scores, labels, _ = protocol_scores(pairs, emb)

    no_rec = {k: v for k, v in WEIGHTS.items() if k != "recognizability"}
    variants = {
        "quality": dict(WEIGHTS),
        "quality without recognizability": no_rec,
        "recognizability only": {"recognizability": 1.0},
    }
    per_image = {name: image_quality(comps, w) for name, w in variants.items()}
    per_image["random"] = np.random.default_rng(args.seed).random(len(emb.names))
    # The stored quality was computed without a centroid: it must equal the ablation.
    stored_gap = float(np.max(np.abs(emb.quality[ia] - per_image[
        "quality without recognizability"][ia])))
    pair_q = {name: np.minimum(q[ia], q[ib]) for name, q in per_image.items()}

    thresholds = {
        "best-accuracy threshold": metrics.best_threshold(scores, labels)[0],
        "FAR 1e-3 threshold": resolve_threshold(engine.recognizer.spec.name,
                                                far=1e-3).value,
    }
    results: dict[str, object] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"), "pairs": len(pairs),
        "weights": dict(WEIGHTS), "thresholds": thresholds,
        "max_gap_stored_vs_recomputed_without_recognizability": stored_gap, "curves": {}}
    curves_out: dict[str, dict[str, list[dict[str, float | int]]]] = {}
    plotted: dict[str, list[RejectPoint]] = {}
    for tname, t in thresholds.items():
        curves_out[tname] = {}
        print(f"\n{tname} = {t:.4f}\n| quality | " + " | ".join(
            f"{100 * f:g} %" for f in FRACTIONS) + " |")
        print("| --- |" + " --- |" * len(FRACTIONS))
        for qname, q in pair_q.items():
            pts = curve(scores, labels, q, t)
            curves_out[tname][qname] = [p.to_dict() for p in pts]
            print(f"| {qname} | " + " | ".join(
                f"{100 * p.error:.2f} % ({round(p.error * p.kept)} of {p.kept}; "
                f"FNMR {100 * p.fnmr:.2f}, FMR {100 * p.fmr:.2f})" for p in pts) + " |")
            if tname == "best-accuracy threshold":
                plotted[qname] = pts
    results["curves"] = curves_out

    if args.calibrate:
        ids = [{p.a.split("/")[0], p.b.split("/")[0]} for p in pairs]
        in_a, in_b = identity_halves(ids, args.seed)
        t = thresholds["best-accuracy threshold"]
        fitted = calibrate_weights(scores[in_a], labels[in_a], comps[ia[in_a]],
                                   comps[ib[in_a]], t)
        q_fit = image_quality(comps, fitted)
        held_out = {
            "shipped weights": curve(scores[in_b], labels[in_b], pair_q["quality"][in_b], t),
            "weights fitted on half A": curve(
                scores[in_b], labels[in_b], np.minimum(q_fit[ia], q_fit[ib])[in_b], t),
        }
        results["calibration"] = {
            "pairs_half_a": int(in_a.sum()), "pairs_half_b": int(in_b.sum()),
            "fitted_weights": fitted,
            "half_b": {k: [p.to_dict() for p in v] for k, v in held_out.items()}}
        print(f"\ncalibration: {int(in_a.sum())} pairs in half A, {int(in_b.sum())} in B; "
              f"fitted weights {json.dumps({k: round(v, 3) for k, v in fitted.items()})}")
        for k, v in held_out.items():
            print(f"half B, {k}: " + ", ".join(
                f"{100 * p.fraction:g} %: {100 * p.error:.2f} % ({round(p.error * p.kept)} "
                f"of {p.kept})" for p in v))

    print(f"\nstored quality vs recomputed without recognizability: max gap {stored_gap:.2g}")
    if args.plot is not None:
        plot(plotted, args.plot, f"LFW 6000 pairs, SFace, threshold "
             f"{thresholds['best-accuracy threshold']:.3f}")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2, default=float))


if __name__ == "__main__":
    main()
