"""Detection benchmark: false faces (the non-face filter) and small faces (``--min-face``).

    python bench/detection.py --datasets ../shared/datasets [--out results.json]

Data, and which part chose what:

* **Choosing the non-face filter** (re-check threshold): ``celebrities/``. Every photo
  is run through the detector (default settings); the face matching the cached main
  face of the photo (``--celeb-cache``, from ``bench/celebrities_embed.py``) is a
  real face; the detections listed in :data:`NONFACES` (checked by eye: a fist holding
  an award, hair, a neck, a shoulder) are false; the rest (other people, many of them
  blurred, cut by the border or tiny; a few logos) are unlabelled and only counted.
* **Reporting the filter**: ``dlib-faces/`` (annotated boxes of ``training.xml`` and
  ``testing.xml``, plus ``dogs.jpg`` with no human face): recall against the boxes and
  false detections (unmatched), with and without the filter; and the composed group
  photos below (recall cost on small faces).
* **Choosing the smallest face**: composed group photos, 1,000 / 2,000 / 4,000 px wide:
  a smooth random background with celebrities' main faces (quality >= 0.5 in the cache)
  pasted on a jittered grid at sizes 10 to 64 px (a known box each); and
  ``dlib-faces/``. Recall (IoU >= 0.4), false detections and seconds per image for
  each ``--min-face``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np

from faceatlas import FaceEngine
from faceatlas.detection import Geometry, GeometryLimits, PlausibilityFilter
from faceatlas.types import Detection

Box = tuple[float, float, float, float]

#: Detections in celebrities/ that are not faces (path, x, y, w, h), checked by eye.
NONFACES: list[tuple[str, Box]] = [
    ("Denzel Washington/008_7619a328.jpg", (99, 130, 83, 106)),   # fist holding an award
    ("Nicole Kidman/033_8bed6926.jpg", (276, 5, 101, 103)),       # hair
    ("Nicole Kidman/078_191f4273.jpg", (356, 322, 96, 109)),      # neck
    ("Nicole Kidman/095_bf0ae200.jpg", (289, 218, 83, 109)),      # shoulder
    ("Sandra Bullock/035_bc2e1105.jpg", (176, 9, 60, 74)),        # hair
]
#: (threshold for typical layouts, for atypical ones) compared on celebrities/.
RULES = ((0.5, 0.5), (0.6, 0.6), (0.7, 0.7), (0.8, 0.8), (0.85, 0.85), (0.6, 0.7),
         (0.6, 0.8), (0.6, 0.85), (0.5, 0.8))
#: (--min-face, largest enlargement): 1.0 is the pyramid before enlargement existed.
MIN_FACES: tuple[tuple[int | None, float], ...] = (
    (None, 2.0), (24, 2.0), (20, 2.0), (16, 2.0), (12, 1.0), (12, 2.0), (10, 2.0), (8, 1.0),
    (8, 2.0))
SIZES = (10, 12, 14, 16, 20, 24, 32, 48, 64)


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    iw = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def match(dets: Sequence[Detection], truth: Sequence[Box], thr: float = 0.4
          ) -> tuple[list[int | None], int]:
    """For each true box the index of the detection matching it (greedy, best IoU
    first), and the number of detections matching no box."""
    pairs = sorted(((iou(d.box, t), i, j) for i, d in enumerate(dets)
                    for j, t in enumerate(truth)), reverse=True)
    used_d: set[int] = set()
    out: list[int | None] = [None] * len(truth)
    for v, i, j in pairs:
        if v < thr:
            break
        if i in used_d or out[j] is not None:
            continue
        used_d.add(i)
        out[j] = i
    return out, len(dets) - len(used_d)


def dlib_truth(root: Path) -> dict[str, list[Box]]:
    truth: dict[str, list[Box]] = {}
    for name in ("training.xml", "testing.xml"):
        for im in ET.parse(root / name).getroot().iter("image"):
            truth[im.get("file", "")] = [
                (float(b.get("left", 0)), float(b.get("top", 0)), float(b.get("width", 0)),
                 float(b.get("height", 0))) for b in im.iter("box")]
    truth["dogs.jpg"] = []
    return truth


def recheck_scores(filt: PlausibilityFilter, bgr: np.ndarray,
                   dets: Sequence[Detection]) -> list[tuple[float, bool]]:
    """(re-check score, atypical layout) of each detection; score -1 when its landmark
    geometry already fails."""
    out = []
    limits = filt.limits or GeometryLimits()
    for d in dets:
        g = Geometry.of(d)
        if limits.violation(g) is not None:
            out.append((-1.0, True))
        else:
            out.append((filt.recheck_score(bgr, d), not limits.typical(g)))
    return out


def kept(score: tuple[float, bool], rule: tuple[float, float]) -> bool:
    """Whether a (score, atypical) passes the rule (typical threshold, atypical one)."""
    return score[0] >= (max(rule) if score[1] else rule[0])


# -- part 1: choosing the filter on celebrities/ -----------------------------------------
def choose_filter(engine: FaceEngine, filt: PlausibilityFilter, celeb: Path,
                  cache: Path) -> dict[str, object]:
    data = np.load(cache)
    main = {str(p): tuple(float(v) for v in b)
            for p, b, m in zip(data["paths"], data["boxes"], data["main"], strict=True) if m}
    neg: dict[str, list[Box]] = {}
    for p, b in NONFACES:
        neg.setdefault(p, []).append(b)
    scores: dict[str, list[tuple[float, bool]]] = {"face": [], "nonface": [], "other": []}
    for path in sorted(main):
        bgr = cv2.imread(str(celeb / path))
        if bgr is None:
            continue
        dets = engine.detector.detect(bgr)
        for d, s in zip(dets, recheck_scores(filt, bgr, dets), strict=True):
            if max((iou(d.box, b) for b in neg.get(path, [])), default=0.0) >= 0.4:
                scores["nonface"].append(s)
            elif iou(d.box, main[path]) >= 0.4:
                scores["face"].append(s)
            else:
                scores["other"].append(s)
    table = {}
    for rule in RULES:
        table[f"{rule[0]}/{rule[1]}"] = {k: int(sum(1 for s in v if not kept(s, rule)))
                                         for k, v in scores.items()}
    return {"counts": {k: len(v) for k, v in scores.items()},
            "atypical": {k: int(sum(s[1] for s in v)) for k, v in scores.items()},
            "rejected_by_rule": table,
            "nonface_scores": sorted((round(s[0], 3), s[1]) for s in scores["nonface"])}


# -- part 2: composed group photos ---------------------------------------------------------
def compose_groups(celeb: Path, cache: Path, widths: Sequence[int], seeds: Sequence[int]
                   ) -> list[tuple[str, np.ndarray, list[Box]]]:
    data = np.load(cache)
    ok = np.nonzero(data["main"] & (data["quality"] >= 0.5))[0]
    groups = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        for width in widths:
            height = width * 3 // 4
            noise = rng.random((height // 32 + 2, width // 32 + 2, 3)).astype(np.float32)
            bg = cv2.resize(noise, (width, height), interpolation=cv2.INTER_CUBIC)
            canvas = np.clip(60 + bg * 140, 0, 255).astype(np.uint8)
            cell = max(SIZES) * 2
            truth: list[Box] = []
            cols, rows = width // cell, height // cell
            for k in range(cols * rows):
                size = float(SIZES[k % len(SIZES)])
                i = int(rng.choice(ok))
                img = cv2.imread(str(celeb / str(data["paths"][i])))
                if img is None:
                    continue
                x, y, w, h = (float(v) for v in data["boxes"][i])
                scale = size / max(w, h)
                cx, cy = x + w / 2, y + h / 2
                side = int(round(max(w, h) * 1.6 * scale))
                gx = (k % cols) * cell + int(rng.integers(0, cell - side))
                gy = (k // cols) * cell + int(rng.integers(0, cell - side))
                m = np.array([[scale, 0, gx + side / 2 - scale * cx],
                              [0, scale, gy + side / 2 - scale * cy]], np.float32)
                patch = cv2.warpAffine(img, m, (width, height), flags=cv2.INTER_AREA,
                                       borderMode=cv2.BORDER_REPLICATE)
                canvas[gy:gy + side, gx:gx + side] = patch[gy:gy + side, gx:gx + side]
                truth.append((gx + side / 2 - w * scale / 2, gy + side / 2 - h * scale / 2,
                              w * scale, h * scale))
            ok_jpg, buf = cv2.imencode(".jpg", canvas, [cv2.IMWRITE_JPEG_QUALITY, 92])
            canvas = cv2.imdecode(buf, cv2.IMREAD_COLOR)
            groups.append((f"group_{width}px_seed{seed}", canvas, truth))
    return groups


def size_sweep(engine: FaceEngine, filt: PlausibilityFilter, photos,
               rule: tuple[float, float], only: Sequence[str] = ()) -> dict[str, object]:
    """Recall per face size, false detections and time per image for each min face."""
    from faceatlas.detection import base

    out: dict[str, object] = {}
    for mf, upscale in MIN_FACES:
        name = "auto" if mf is None else str(mf)
        if only and name not in only:
            continue
        base.MAX_UPSCALE = upscale
        found = {s: [0, 0, 0] for s in SIZES}  # size -> [faces, found, found after filter]
        total = [0, 0, 0]
        false = [0, 0]
        t_det = t_filt = 0.0
        per_width: dict[int, float] = {}
        for _, bgr, truth in photos:
            t0 = time.perf_counter()
            dets = engine.detector.detect(bgr, mf)
            t1 = time.perf_counter()
            scores = recheck_scores(filt, bgr, dets)
            t2 = time.perf_counter()
            t_det += t1 - t0
            t_filt += t2 - t1
            per_width[bgr.shape[1]] = per_width.get(bgr.shape[1], 0.0) + (t1 - t0)
            passed = [d for d, s in zip(dets, scores, strict=True) if kept(s, rule)]
            m_all, f_all = match(dets, truth)
            m_kept, f_kept = match(passed, truth)
            false[0] += f_all
            false[1] += f_kept
            for j, t in enumerate(truth):
                size = min(SIZES, key=lambda s, t=t: abs(s - max(t[2], t[3])))
                found[size][0] += 1
                found[size][1] += m_all[j] is not None
                found[size][2] += m_kept[j] is not None
                total[0] += 1
                total[1] += m_all[j] is not None
                total[2] += m_kept[j] is not None
        n = len(photos)
        label = ("auto (10 px or 1/120 of the shorter side)" if mf is None else
                 f"{mf}" if upscale > 1 else f"{mf} (not enlarged)")
        out[label] = {
            "faces": total[0], "recall": round(total[1] / max(total[0], 1), 4),
            "recall_filtered": round(total[2] / max(total[0], 1), 4),
            "false": false[0], "false_filtered": false[1],
            "seconds_detect": round(t_det / n, 3), "seconds_filter": round(t_filt / n, 3),
            "seconds_by_width": {str(k): round(v / sum(1 for p in photos
                                                      if p[1].shape[1] == k), 3)
                                 for k, v in per_width.items()},
            "recall_by_size": {str(s): [v[0], round(v[1] / max(v[0], 1), 3),
                                        round(v[2] / max(v[0], 1), 3)]
                               for s, v in found.items() if v[0]},
        }
        print(f"min_face {label}: {out[label]}", flush=True)
    base.MAX_UPSCALE = 2.0
    return out


# -- part 3: which faces are too small to recognise ---------------------------------------
def recognisable(engine: FaceEngine, celeb: Path, cache: Path, per_person: int = 6
                 ) -> dict[str, object]:
    """Verification of shrunk faces against the other photos of the same person.

    Probes: up to ``per_person`` main faces (quality >= 0.7, >= 80 px) of each
    celebrity with at least two; each photo is shrunk (INTER_AREA) until the face is
    ``s`` px, and the face is embedded from the shrunk photo on its landmarks (scaled),
    so detection plays no part. Genuine pairs: the probe against the cached embeddings of
    the person's other main faces; impostor pairs: against every other person's. The
    decision is the 1:1 threshold at FAR 1e-3. Also the quality score the scorer gives."""
    from faceatlas.verification import resolve_threshold

    data = np.load(cache)
    main = data["main"]
    ids, embs = data["identities"][main], data["embeddings"][main]
    paths, boxes, qual = data["paths"][main], data["boxes"][main], data["quality"][main]
    thr = resolve_threshold(engine.recognizer.spec.name, None, 1e-3).value
    probes: list[int] = []
    for ident in sorted(set(ids.tolist())):
        good = [i for i in np.nonzero(ids == ident)[0]
                if qual[i] >= 0.7 and min(boxes[i][2], boxes[i][3]) >= 80]
        if len(good) >= 2 and int(np.sum(ids == ident)) >= 3:
            probes += good[:per_person]
    rows: dict[str, object] = {}
    for size in (8, 10, 12, 14, 16, 20, 24, 32, 48):
        gen = imp = gen_ok = imp_ok = 0
        quality: list[float] = []
        size_cue: list[float] = []
        iods: list[float] = []
        for i in probes:
            img = cv2.imread(str(celeb / str(paths[i])))
            if img is None:
                continue
            dets = engine.detector.detect(img)
            if not dets:
                continue
            det = max(dets, key=lambda d: iou(d.box, boxes[i]))
            k = size / max(det.box[2], det.box[3])
            small = cv2.resize(img, None, fx=k, fy=k, interpolation=cv2.INTER_AREA)
            pad = 40  # photos where the face fills the frame shrink below any image size
            small = cv2.copyMakeBorder(small, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
            x, y, w, h = (float(v) * k for v in det.box)
            scaled = Detection((x + pad, y + pad, w, h),
                               (det.landmarks * k + pad).astype(np.float32), det.score)
            face = engine.analyze(small, [scaled])[0]
            sims = embs @ face.embedding.vector
            same = ids == ids[i]
            same[i] = False
            gen += int(same.sum())
            gen_ok += int(np.sum(sims[same] >= thr))
            other = ids != ids[i]
            imp += int(other.sum())
            imp_ok += int(np.sum(sims[other] >= thr))
            quality.append(face.quality.score)
            size_cue.append(face.quality.components["size"])
            iods.append(float(np.linalg.norm(scaled.landmarks[1] - scaled.landmarks[0])))
        rows[str(size)] = {"probes": len(quality), "tar": round(gen_ok / max(gen, 1), 4),
                           "far": round(imp_ok / max(imp, 1), 5),
                           "quality_median": round(float(np.median(quality)), 3),
                           "quality_p90": round(float(np.percentile(quality, 90)), 3),
                           "eyes_px_median": round(float(np.median(iods)), 1),
                           "size_cue_median": round(float(np.median(size_cue)), 3)}
        print(f"face {size} px: {rows[str(size)]}", flush=True)
    return {"threshold": round(thr, 4), "by_size": rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", type=Path, default=Path("../shared/datasets"))
    ap.add_argument("--celeb-cache", type=Path, default=Path("/work/cache/celeb_sface.npz"))
    ap.add_argument("--widths", type=int, nargs="+", default=[1000, 2000, 4000])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1])
    ap.add_argument("--parts", nargs="+", default=["filter", "groups", "recognisable"],
                    choices=["filter", "groups", "recognisable"])
    ap.add_argument("--min-faces", nargs="*", default=[],
                    help="only these --min-face settings of the sweep (e.g. auto 10 24)")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    celeb, dlib_root = args.datasets / "celebrities", args.datasets / "dlib-faces"
    engine = FaceEngine(check_faces=False)
    filt = PlausibilityFilter(engine.detector)
    rule = (float(filt.recheck_threshold or 0.0), filt.atypical_threshold)
    result: dict[str, object] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": platform.machine(), "rule": rule}

    truth = dlib_truth(dlib_root)
    dlib_photos = [(name, cv2.imread(str(dlib_root / name)), boxes)
                   for name, boxes in sorted(truth.items())]
    if "recognisable" in args.parts:
        result["recognisable"] = recognisable(engine, celeb, args.celeb_cache)
    if "filter" in args.parts:
        chosen = choose_filter(engine, filt, celeb, args.celeb_cache)
        result["choose_filter_celebrities"] = chosen
        print("filter choice (celebrities):", json.dumps(chosen), flush=True)
    report: dict[str, object] = {}
    for mf in (24, 12, 8) if "filter" in args.parts else ():
        engine.detector.min_face = mf
        rows = {"faces": 0, "found": 0, "found_filtered": 0, "false": 0,
                "false_filtered": 0, "rejected_reasons": []}
        for name, bgr, boxes in dlib_photos:
            dets = engine.detector.detect(bgr)
            kept, rejected = filt.split(bgr, dets)
            m_all, f_all = match(dets, boxes)
            m_kept, f_kept = match(kept, boxes)
            rows["faces"] += len(boxes)
            rows["found"] += sum(m is not None for m in m_all)
            rows["found_filtered"] += sum(m is not None for m in m_kept)
            rows["false"] += f_all
            rows["false_filtered"] += f_kept
            rows["rejected_reasons"] += [f"{name}: {r.reason}" for r in rejected]  # type: ignore[operator]
        report[str(mf)] = rows
    engine.detector.min_face = None  # back to the default (auto)
    if report:
        result["report_filter_dlib"] = report
        print("filter report (dlib-faces):", json.dumps(report), flush=True)
    if "groups" in args.parts:
        groups = compose_groups(celeb, args.celeb_cache, args.widths, args.seeds)
        result["groups"] = [{"name": n, "size": list(b.shape[:2]), "faces": len(t)}
                            for n, b, t in groups]
        result["min_face_groups"] = size_sweep(engine, filt, groups, rule, args.min_faces)
        result["min_face_dlib"] = size_sweep(engine, filt, dlib_photos, rule, args.min_faces)
    text = json.dumps(result, indent=1)
    if args.out:
        args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
