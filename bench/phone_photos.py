"""Phone-size photos: ``faceatlas index`` speed on 12 MP JPEGs against a plain Pillow
full-size decode of the same files, and the recall cost of detecting on a preview.

The photos are composed in a temporary folder (never in the repository) from the
celebrities data set: each 4032x3024 canvas (a quarter of them stored landscape with
EXIF orientation 6, as phones store portrait shots) gets a blurred, grain-added
enlargement of one photo as background and one or two faces (the folder's person,
boxes from ``bench/celebrities_embed.py``'s cache) enlarged to 300-900 pixels wide.
Group photos for the recall check get ten faces each, 30 to 200 pixels wide.

Measured in one run, same files:

* **baseline**: ``Image.open(path).load()`` of every photo in one process;
* **index**: ``Indexer`` with default engine settings into a fresh library, 1 and 2
  worker processes (2 is the CLI default on a 2-core machine), whole run (pool start
  included), with the preview path (default) and with ``preview=False`` (full-resolution
  detection);
* **recall** on group photos: ground-truth faces found (IoU >= 0.4) by the preview
  path and by the full-resolution path, in one process.

    python bench/phone_photos.py --celebrities /work/shared/datasets/celebrities \\
        --cache /work/cache/celeb_sface.npz --photos 40 --groups 8 --out phone.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from faceatlas.library import Indexer, Library
from faceatlas.library.analysis import EngineSettings

W, H = 4032, 3024


def _faces(cache: Path, root: Path) -> list[tuple[Path, tuple[float, float, float, float]]]:
    """(photo, main face box) of good, large enough main faces."""
    z = np.load(cache, allow_pickle=True)
    out = []
    for path, box, main, q in zip(z["paths"], z["boxes"], z["main"], z["quality"],
                                  strict=True):
        if main and q >= 0.6 and min(box[2], box[3]) >= 100:
            out.append((root / str(path), tuple(float(v) for v in box)))
    return out  # type: ignore[return-value]


def _background(src: Path, size: tuple[int, int], rng: np.random.Generator) -> Image.Image:
    """A face-free background with a photo's colours: the photo shrunk to 8x6 pixels
    (shuffled), enlarged smoothly, plus sensor-like grain."""
    small = np.asarray(Image.open(src).convert("RGB").resize((8, 6), Image.Resampling.BOX))
    small = small.reshape(48, 3)[rng.permutation(48)].reshape(6, 8, 3)
    img = Image.fromarray(np.ascontiguousarray(small)).resize(size, Image.Resampling.BICUBIC)
    arr = np.asarray(img, np.int16) + rng.normal(0, 5, (size[1], size[0], 1)).astype(np.int16)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def _paste(canvas: Image.Image, src: Path, box: tuple[float, float, float, float],
           width: int, at: tuple[int, int]) -> tuple[float, float, float, float]:
    """Paste the face of ``src`` (with some margin) so the face is ``width`` wide, its box
    at ``at``; returns the face's box in the canvas."""
    x, y, w, h = box
    img = Image.open(src).convert("RGB")
    m = 0.35
    crop = img.crop((int(max(0, x - m * w)), int(max(0, y - m * h)),
                     int(min(img.width, x + w + m * w)), int(min(img.height, y + h + m * h))))
    k = width / w
    crop = crop.resize((max(1, int(crop.width * k)), max(1, int(crop.height * k))),
                       Image.Resampling.BICUBIC)
    ox, oy = at[0] - int((x - max(0, x - m * w)) * k), at[1] - int((y - max(0, y - m * h)) * k)
    canvas.paste(crop, (ox, oy))
    return (float(at[0]), float(at[1]), w * k, h * k)


def _save(canvas: Image.Image, path: Path, rotate: bool) -> None:
    ex = Image.Exif()
    ex.get_ifd(0x8769)[36867] = "2021:07:14 12:00:00"
    if rotate:  # stored landscape, shown upright (portrait) by orientation 6
        ex[0x0112] = 6
        canvas = canvas.transpose(Image.Transpose.ROTATE_90)
    canvas.save(path, "JPEG", quality=90, exif=ex)


def compose(folder: Path, faces: list[tuple[Path, tuple[float, float, float, float]]],
            photos: int, groups: int, seed: int = 0) -> list[tuple[Path, list[tuple]]]:
    """Write the photos and group photos; returns (group photo, ground-truth boxes)."""
    rng, nrng = random.Random(seed), np.random.default_rng(seed)
    (folder / "photos").mkdir(parents=True)
    for i in range(photos):
        rotate = i % 4 == 3
        size = (H, W) if rotate else (W, H)
        canvas = _background(rng.choice(faces)[0], size, nrng)
        n = 1 + (i % 3 == 2)
        for j in range(n):
            src, box = rng.choice(faces)
            width = rng.randrange(300, 900) if n == 1 else rng.randrange(250, 600)
            cell = size[0] // n
            at = (j * cell + rng.randrange(50, max(51, cell - int(width * 1.4))),
                  rng.randrange(50, max(51, size[1] - int(width * 1.9))))
            _paste(canvas, src, box, width, at)
        _save(canvas, folder / "photos" / f"IMG_{i:04d}.jpg", rotate)
    truth = []
    (folder / "groups").mkdir()
    for g in range(groups):
        canvas = _background(rng.choice(faces)[0], (W, H), nrng)
        boxes = []
        cols, rows = 5, 2
        for k in range(cols * rows):
            width = int(round(np.exp(rng.uniform(np.log(30), np.log(200)))))
            src, box = rng.choice(faces)
            cx, cy = (k % cols) * (W // cols), (k // cols) * (H // rows)
            at = (cx + rng.randrange(40, W // cols - 2 * width - 40 if W // cols - 2 * width > 80
                                     else 41),
                  cy + rng.randrange(40, H // rows - 3 * width - 40 if H // rows - 3 * width > 80
                                     else 41))
            boxes.append(_paste(canvas, src, box, width, at))
        path = folder / "groups" / f"group_{g:02d}.jpg"
        _save(canvas, path, False)
        truth.append((path, boxes))
    return truth


def _iou(a: tuple, b: tuple) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    iw = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    ih = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = iw * ih
    return inter / (aw * ah + bw * bh - inter) if inter else 0.0


def recall(truth: list[tuple[Path, list[tuple]]]) -> dict[str, object]:
    """Ground-truth faces found by the preview and the full-resolution paths."""
    from faceatlas.library.analysis import detect_faces

    engine = EngineSettings().build()
    out: dict[str, object] = {"faces": sum(len(b) for _, b in truth)}
    for name, preview in (("preview", True), ("full", False)):
        found = small_missed = 0
        start = time.perf_counter()
        for path, boxes in truth:
            _, faces, scale, _ = detect_faces(engine, path.read_bytes(), str(path), preview)
            got = [tuple(v / scale for v in f.box) for f in faces]
            for b in boxes:
                hit = any(_iou(b, g) >= 0.4 for g in got)
                found += hit
                small_missed += (not hit) and b[2] < 60
        out[name] = {"found": found, "missed_under_60px": small_missed,
                     "seconds_per_photo": round((time.perf_counter() - start) / len(truth), 3)}
    return out


def breakdown(files: list[Path]) -> dict[str, float]:
    """Milliseconds per photo of each step of the preview path, in one process."""
    from faceatlas.image import decode_image
    from faceatlas.library import analysis

    engine = EngineSettings().build()
    analysis.analyze_file(engine, str(files[0]))  # warm up
    steps = {"read_and_hash": 0.0, "pillow_full_decode": 0.0, "preview_decode": 0.0,
             "preview_detection": 0.0, "whole_analyze_file": 0.0}
    for f in files:
        t0 = time.perf_counter()
        analysis.content_hash(f.read_bytes())
        t1 = time.perf_counter()
        with Image.open(f) as img:
            img.load()
        t2 = time.perf_counter()
        dec = decode_image(f.read_bytes(), str(f), 0.5, keep_side=analysis.PREVIEW_MIN_SIDE)
        t3 = time.perf_counter()
        analysis._detect_whole(engine, dec.bgr, int(24 * dec.scale))
        t4 = time.perf_counter()
        analysis.analyze_file(engine, str(f))
        t5 = time.perf_counter()
        for k, v in zip(steps, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4), strict=True):
            steps[k] += v * 1000 / len(files)
    return {k: round(v, 1) for k, v in steps.items()}


def baseline(files: list[Path]) -> float:
    start = time.perf_counter()
    for f in files:
        with Image.open(f) as img:
            img.load()
    return time.perf_counter() - start


def index(folder: Path, lib: Path, workers: int, preview: bool) -> tuple[float, dict]:
    shutil.rmtree(lib, ignore_errors=True)
    try:
        settings = EngineSettings(preview=preview)  # type: ignore[call-arg]
    except TypeError:  # code from before the preview path (--index-only on older code)
        settings = EngineSettings()
    start = time.perf_counter()
    with Library.open(lib) as opened:
        summary = Indexer(opened, settings, workers=workers).run([str(folder)])
    return time.perf_counter() - start, summary.to_dict()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--celebrities", type=Path, required=True)
    ap.add_argument("--cache", type=Path, required=True, help="celeb_sface.npz")
    ap.add_argument("--photos", type=int, default=40)
    ap.add_argument("--groups", type=int, default=8)
    ap.add_argument("--scratch", type=Path, default=None)
    ap.add_argument("--no-full", action="store_true", help="Skip the full-resolution runs.")
    ap.add_argument("--index-only", action="store_true",
                    help="Only the Pillow baseline and the default index run (to time older "
                         "code put first on PYTHONPATH).")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="phone_", dir=args.scratch))
    try:
        truth = compose(scratch, _faces(args.cache, args.celebrities), args.photos, args.groups)
        files = sorted((scratch / "photos").iterdir())
        mb = sum(f.stat().st_size for f in files) / len(files) / 1e6
        res: dict[str, object] = {"photos": len(files), "mean_mb": round(mb, 2),
                                  "load_before": os.getloadavg()[0]}
        base = baseline(files)
        res["pillow_decode_photos_per_s"] = round(len(files) / base, 2)
        print(f"{len(files)} photos of {W}x{H} ({mb:.1f} MB); Pillow decode "
              f"{len(files) / base:.2f} photos/s", flush=True)
        runs = [(2, True)]
        if not args.index_only:
            runs += [(1, True)] + ([] if args.no_full else [(2, False)])
        for workers, preview in runs:
            seconds, summary = index(scratch / "photos", scratch / "lib", workers, preview)
            key = f"index_w{workers}_{'preview' if preview else 'fullres'}"
            res[key] = {"seconds": round(seconds, 2),
                        "photos_per_s": round(len(files) / seconds, 2),
                        "ratio_to_pillow_decode": round(seconds / base, 2),
                        "faces": summary["faces"], "new": summary["new"]}
            print(key, res[key], flush=True)
        if not args.index_only:
            res["ms_per_photo_one_process"] = breakdown(files[:10])
            print("breakdown", res["ms_per_photo_one_process"], flush=True)
            res["recall_group_photos"] = recall(truth)
            print("recall", res["recall_group_photos"], flush=True)
        res["load_after"] = os.getloadavg()[0]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    text = json.dumps(res, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
