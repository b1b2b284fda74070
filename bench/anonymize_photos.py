"""Anonymisation of still photos against known face boxes: old (score 0.45) vs new (0.2).

    nice python3 bench/anonymize_photos.py [--datasets /work/shared/datasets] \
        [--photos 80] [--seed 14] [--out bench_anonymize_photos.json]

The boxes are chosen by :func:`faceatlas.privacy.anonymize.plan_image` (what
``faceatlas anonymize`` uses on an image) and blurred by
:func:`~faceatlas.privacy.anonymize.redact`, with an engine at each setting (score 0.45,
the old default, and :data:`~faceatlas.privacy.anonymize.SENSITIVE`, the new one;
smallest face 10 px both), on the same photos in the same run. Data (never in the repo):

* **dlib-faces**: the 9 photos with annotated boxes (``training.xml``, ``testing.xml``)
  and ``dogs.jpg`` (no human face: every blurred box there is false).
* **composed**: group photos made here, seed fixed. LFW faces (deep-funneled archive,
  read with :func:`faceatlas.evaluation.lfw.iter_archive`) whose box is the central
  face YuNet finds at the indexing setting on the 250 px original, pasted (a soft oval
  around 1.8x the box) at random places and face widths (log-uniform 12-120 px) onto
  face-free backgrounds (crops of three of ``dogs.jpg``'s four panels, and generated
  textures: gradients, low-frequency noise, shapes, grain); about a third of the faces
  rotated (10-35 deg), a third blurred (Gaussian sigma 0.6-2 px), a third darkened
  (x0.25-0.5), independently.
  The true box is the pasted face box (same centre and size when rotated). Photos with an
  even index are the *choose* half, odd the *report* half.

Scores (the rule of ``bench/anonymize_video.py``): a true face is **covered** when at
least 90 % of its box lies in the blurred pixels (the boxes grown by the margin);
recall = covered / true faces; a photo **leaks** when one of its faces is not covered;
**false boxes** are blurred boxes that touch no true face (IoU <= 0.05). Seconds per
photo: ``plan_image`` + ``redact`` (detection, decisions, blurring; no file I/O).
A **replay** sweep filters the score-0.2 detections of ``plan_image`` at intermediate
scores (0.35, 0.3, 0.25) to show where the covered faces come from.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from anonymize_video import COVERED, _mask, score_frames
from detection import dlib_truth

from faceatlas import FaceEngine
from faceatlas.evaluation.lfw import LfwEmbeddings, central_face, iter_archive
from faceatlas.privacy import anonymize as anon
from faceatlas.video.tracks import Box

OLD_SCORE = 0.45
REPLAY = (0.35, 0.3, 0.25)
#: dogs.jpg's panels used as backgrounds (x1, y1, x2, y2): the bottom-left one is left
#: out, its shelf holds a poster with a printed human face (about 40 px, turned 90 deg)
DOG_PANELS = ((0, 0, 458, 450), (462, 0, 900, 450), (462, 454, 900, 916))


# -- composed photos -------------------------------------------------------------------
def lfw_faces(archive: Path, names: list[str]) -> list[tuple[np.ndarray, Box]]:
    """(image, central face box) of each named LFW image where YuNet (indexing setting)
    finds a face."""
    det = FaceEngine().detector
    out = []
    for _, data in iter_archive(archive, set(names)):
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if img is None:
            continue
        d = central_face(det.detect(img), img.shape[1], img.shape[0])
        if d is not None:
            out.append((img, tuple(float(v) for v in d.box)))
    return out  # type: ignore[return-value]


def texture(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """A face-free background: gradient, low-frequency colour noise, shapes, grain."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    c0, c1 = rng.uniform(30, 225, 3), rng.uniform(30, 225, 3)
    t = (xx * rng.uniform(-1, 1) + yy * rng.uniform(-1, 1))
    t = (t - t.min()) / max(float(t.max() - t.min()), 1.0)
    img = c0 * (1 - t[..., None]) + c1 * t[..., None]
    cells = int(rng.integers(3, 12))
    noise = cv2.resize(rng.uniform(-40, 40, (cells, cells, 3)).astype(np.float32), (w, h),
                       interpolation=cv2.INTER_CUBIC)
    img = np.clip(img + noise, 0, 255).astype(np.uint8)
    for _ in range(int(rng.integers(5, 25))):
        color = tuple(int(v) for v in rng.integers(0, 256, 3))
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        s = int(rng.integers(10, max(w, h) // 4))
        kind = rng.integers(0, 3)
        if kind == 0:
            cv2.rectangle(img, (x, y), (x + s, y + int(rng.integers(10, s + 11))), color, -1)
        elif kind == 1:
            cv2.circle(img, (x, y), s // 2, color, int(rng.choice([-1, 2, 5])))
        else:
            cv2.line(img, (x, y), (int(rng.integers(0, w)), int(rng.integers(0, h))), color,
                     int(rng.integers(1, 8)))
    grain = rng.normal(0, 6, img.shape)
    return np.clip(img + grain, 0, 255).astype(np.uint8)


def background(rng: np.random.Generator, dogs: np.ndarray) -> np.ndarray:
    w, h = (int(v) for v in rng.choice([(960, 720), (1280, 960), (1024, 768), (800, 800)]))
    if rng.random() < 0.3:  # a dogs.jpg panel, a random crop scaled to the photo size
        x0, y0, x1, y1 = DOG_PANELS[int(rng.integers(0, len(DOG_PANELS)))]
        panel = dogs[y0:y1, x0:x1]
        dh, dw = panel.shape[:2]
        cw, ch = int(dw * rng.uniform(0.6, 1.0)), int(dh * rng.uniform(0.6, 1.0))
        x, y = int(rng.integers(0, dw - cw + 1)), int(rng.integers(0, dh - ch + 1))
        return cv2.resize(panel[y:y + ch, x:x + cw], (w, h), interpolation=cv2.INTER_CUBIC)
    return texture(rng, w, h)


def paste(rng: np.random.Generator, canvas: np.ndarray, face: tuple[np.ndarray, Box],
          width: float, taken: list[tuple[int, int, int, int]]) -> tuple[Box, str] | None:
    """Paste ``face`` with its box ``width`` px wide somewhere free; its true box."""
    img, (bx, by, bw, bh) = face
    s = width / bw
    cx, cy = bx + bw / 2, by + bh / 2
    half = 0.9 * max(bw, bh)
    x1, y1 = int(max(0, cx - half)), int(max(0, cy - half))
    x2, y2 = int(min(img.shape[1], cx + half)), int(min(img.shape[0], cy + half))
    crop = img[y1:y2, x1:x2].astype(np.float32)
    tags = []
    if rng.random() < 1 / 3:
        angle = float(rng.uniform(10, 35) * rng.choice([-1, 1]))
        m = cv2.getRotationMatrix2D((cx - x1, cy - y1), angle, 1.0)
        crop = cv2.warpAffine(crop, m, (crop.shape[1], crop.shape[0]),
                              borderMode=cv2.BORDER_REFLECT)
        tags.append(f"rotated {angle:.0f}")
    crop = cv2.resize(crop, None, fx=s, fy=s,
                      interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    if rng.random() < 1 / 3:
        sigma = float(rng.uniform(0.6, 2.0))
        crop = cv2.GaussianBlur(crop, (0, 0), sigma)
        tags.append(f"blurred {sigma:.1f}")
    if rng.random() < 1 / 3:
        f = float(rng.uniform(0.25, 0.5))
        crop = crop * f
        tags.append(f"darkened {f:.2f}")
    ch, cw = crop.shape[:2]
    h, w = canvas.shape[:2]
    if cw >= w or ch >= h:
        return None
    for _ in range(60):
        px, py = int(rng.integers(0, w - cw)), int(rng.integers(0, h - ch))
        if all(px + cw <= a or a2 <= px or py + ch <= b or b2 <= py
               for a, b, a2, b2 in taken):
            break
    else:
        return None
    taken.append((px, py, px + cw, py + ch))
    yy, xx = np.mgrid[0:ch, 0:cw].astype(np.float32)
    r = ((xx - (cx - x1) * s) / (cw / 2)) ** 2 + ((yy - (cy - y1) * s) / (ch / 2)) ** 2
    alpha = np.clip((1.0 - r) / 0.25, 0, 1)[..., None]  # an oval fading out at the edge
    roi = canvas[py:py + ch, px:px + cw].astype(np.float32)
    canvas[py:py + ch, px:px + cw] = np.clip(alpha * crop + (1 - alpha) * roi, 0,
                                             255).astype(np.uint8)
    tx, ty = px + (bx - x1) * s, py + (by - y1) * s
    return (tx, ty, bw * s, bh * s), ", ".join(tags) or "plain"


def compose(rng: np.random.Generator, faces: list[tuple[np.ndarray, Box]],
            dogs: np.ndarray, n_photos: int, tags: dict[tuple[str, Box], str] | None = None
            ) -> list[tuple[str, np.ndarray, list[Box]]]:
    """``n_photos`` group photos (name, pixels, true boxes); ``tags`` gets what was done
    to each face (rotated, blurred, darkened)."""
    photos = []
    order = iter(rng.permutation(len(faces)))
    for k in range(n_photos):
        canvas = background(rng, dogs)
        boxes: list[Box] = []
        taken: list[tuple[int, int, int, int]] = []
        for _ in range(int(rng.integers(3, 10))):
            i = next(order, None)
            if i is None:
                break
            width = math.exp(rng.uniform(math.log(12), math.log(120)))
            got = paste(rng, canvas, faces[i], width, taken)
            if got is not None:
                boxes.append(got[0])
                if tags is not None:
                    tags[(f"composed_{k:03d}", got[0])] = got[1]
        photos.append((f"composed_{k:03d}", canvas, boxes))
    return photos


# -- measuring -------------------------------------------------------------------------
def measure(photos: list[tuple[str, np.ndarray, list[Box]]], score: float,
            replay: tuple[float, ...] = ()) -> dict[str, Any]:
    """``plan_image`` + ``redact`` on every photo at ``score``; boxes per photo, seconds."""
    engine = FaceEngine(score_threshold=score, min_face=int(anon.SENSITIVE["min_face"]))
    boxes: dict[str, list[Box]] = {}
    replayed: dict[float, dict[str, list[Box]]] = {r: {} for r in replay}
    seconds: dict[str, float] = {}
    for name, bgr, _ in photos:
        t0 = time.perf_counter()
        plan = anon.plan_image(bgr, engine)
        anon.redact(bgr.copy(), plan.boxes)
        seconds[name] = time.perf_counter() - t0
        boxes[name] = plan.boxes
        if replay:  # the same detections, filtered at higher scores (no extra detect)
            dets = engine.detector.detect(bgr)
            for r in replay:
                replayed[r][name] = [d.box for d in dets if d.score >= r]
    return {"boxes": boxes, "seconds": seconds, "replayed": replayed}


def summarise(photos: list[tuple[str, np.ndarray, list[Box]]], boxes: dict[str, list[Box]],
              seconds: dict[str, float] | None,
              tags: dict[tuple[str, Box], str] | None = None) -> dict[str, Any]:
    faces = covered = leaks = false = blurred = 0
    missed = []
    for name, bgr, true in photos:
        r = score_frames({0: true}, {0: boxes[name]}, anon.DEFAULT_MARGIN,
                         (bgr.shape[1], bgr.shape[0]))
        faces += r["faces"]
        covered += r["covered"]
        leaks += r["leaking_frames"]
        false += r["false_blurs"]
        blurred += r["blurred_boxes"]
        mask = _mask(boxes[name], anon.DEFAULT_MARGIN, bgr.shape[1], bgr.shape[0])
        for b in true:
            x1, y1 = int(round(b[0])), int(round(b[1]))
            x2, y2 = int(round(b[0] + b[2])), int(round(b[1] + b[3]))
            part = float(mask[y1:y2, x1:x2].mean())
            if part < COVERED:
                missed.append({"photo": name, "box": [round(v) for v in b],
                               "inside": round(part, 2),
                               "made": (tags or {}).get((name, b), "")})
    n = len(photos)
    out: dict[str, Any] = {"photos": n, "faces": faces, "covered": covered,
                           "recall": round(covered / faces, 4) if faces else None,
                           "photos_leaking": leaks, "blurred_boxes": blurred,
                           "false_boxes": false, "false_per_photo": round(false / n, 2),
                           "missed": missed}
    if seconds is not None:
        out["seconds_per_photo"] = round(sum(seconds[p[0]] for p in photos) / n, 3)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--datasets", type=Path, default=Path("/work/shared/datasets"))
    ap.add_argument("--photos", type=int, default=80, help="composed photos")
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--save", type=Path, default=None,
                    help="folder to write the composed photos to (for a look)")
    ap.add_argument("--out", type=Path, default=Path("bench_anonymize_photos.json"))
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    root = args.datasets / "dlib-faces"
    truth = dlib_truth(root)
    dlib_photos = [(name, cv2.imread(str(root / name)), truth[name]) for name in sorted(truth)]
    dogs = cv2.imread(str(root / "dogs.jpg"))
    names = list(LfwEmbeddings.load(Path("/work/cache/lfw_sface.npz")).names) \
        if Path("/work/cache/lfw_sface.npz").exists() else None
    if names is None:
        raise SystemExit("needs /work/cache/lfw_sface.npz for the LFW image names")
    pick = [str(names[i]) for i in rng.choice(len(names), 8 * args.photos, replace=False)]
    t0 = time.perf_counter()
    faces = lfw_faces(args.datasets / "lfw" / "lfw-deepfunneled.tgz", sorted(pick))
    faces = [faces[i] for i in rng.permutation(len(faces))]
    tags: dict[tuple[str, Box], str] = {}
    composed = compose(rng, faces, dogs, args.photos, tags)
    print(f"{len(faces)} LFW faces read, {sum(len(b) for _, _, b in composed)} pasted into "
          f"{len(composed)} photos ({time.perf_counter() - t0:.0f} s)", flush=True)
    if args.save:
        args.save.mkdir(parents=True, exist_ok=True)
        for name, bgr, _ in composed:
            cv2.imwrite(str(args.save / f"{name}.jpg"), bgr)
    sets = {"dlib-faces (annotated)": [p for p in dlib_photos if p[0] != "dogs.jpg"],
            "dogs.jpg": [p for p in dlib_photos if p[0] == "dogs.jpg"],
            "composed (choose: even)": composed[0::2],
            "composed (report: odd)": composed[1::2]}
    every = dlib_photos + composed
    new = float(anon.SENSITIVE["score_threshold"])
    result: dict[str, Any] = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                              "load": round(os.getloadavg()[0], 1), "seed": args.seed,
                              "covered": COVERED, "margin": anon.DEFAULT_MARGIN,
                              "rows": []}
    runs = {OLD_SCORE: measure(every, OLD_SCORE), new: measure(every, new, REPLAY)}
    for label, photos in sets.items():
        for score, run in runs.items():
            row = {"set": label, "score": score,
                   **summarise(photos, run["boxes"], run["seconds"], tags)}
            result["rows"].append(row)
            print(json.dumps({k: v for k, v in row.items() if k != "missed"}), flush=True)
        for r in REPLAY:
            row = {"set": label, "score": r, "replay": True,
                   **summarise(photos, runs[new]["replayed"][r], None)}
            result["rows"].append(row)
            print(json.dumps({k: v for k, v in row.items() if k != "missed"}), flush=True)
    result["load_end"] = round(os.getloadavg()[0], 1)
    args.out.write_text(json.dumps(result, indent=1))
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
