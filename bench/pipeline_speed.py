"""Time the whole per-image pipeline (decode + detect + align + embed + quality) and
each stage on a 640x480 JPEG holding one face, with CPU threads really limited.

    python bench/pipeline_speed.py [--repeat 300] [--threads 1 2] [--image PORTRAIT]

The JPEG is composed from a sample portrait (face about 150 px wide on a grey
640x480 canvas). For each thread count, onnxruntime's intra-op threads (and one
inter-op thread) and OpenCV's thread pool (``cv2.setNumThreads``, used by OpenCV DNN
and resizing) are set to that number; the models run on their catalog default
backends. Prints median and p90 milliseconds per image over ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import io
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from faceatlas import FaceEngine
from faceatlas.alignment import align_face
from faceatlas.image import load_image

ROOT = Path(__file__).resolve().parents[1]


def compose_jpeg(portrait: Path) -> bytes:
    """A 640x480 JPEG (quality 90) with the portrait scaled to the canvas height."""
    img = load_image(portrait)
    s = 480 / img.shape[0]
    small = cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
    canvas = np.full((480, 640, 3), 128, np.uint8)
    x0 = max(0, (640 - small.shape[1]) // 2)
    canvas[:, x0:x0 + small.shape[1]] = small[:, :640]
    buf = io.BytesIO()
    Image.fromarray(canvas[:, :, ::-1]).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def timed(fn: Callable[[], object], repeat: int, warmup: int = 20) -> np.ndarray:
    for _ in range(warmup):
        fn()
    out = np.empty(repeat)
    for i in range(repeat):
        t0 = time.perf_counter()
        fn()
        out[i] = (time.perf_counter() - t0) * 1000
    return out


def stages(jpeg: bytes, threads: int) -> dict[str, Callable[[], object]]:
    """The pipeline's stages, and the whole, on an engine limited to ``threads``."""
    cv2.setNumThreads(threads)
    engine = FaceEngine(threads=threads)
    bgr = load_image(jpeg)
    dets = engine.detector.detect(bgr)
    if len(dets) != 1:
        raise SystemExit(f"expected one face in the composed image, found {len(dets)}")
    crop = align_face(bgr, dets[0].landmarks)
    vec = engine.recognizer.embed_vectors([crop])[0]
    return {
        "decode (JPEG to BGR)": lambda: load_image(jpeg),
        f"detect ({engine.detector.runner.backend})": lambda: engine.detector.detect(bgr),
        "align": lambda: align_face(bgr, dets[0].landmarks),
        f"embed ({engine.recognizer.runner.backend})":
            lambda: engine.recognizer.embed_vectors([crop]),
        "quality": lambda: engine.quality.score(dets[0], crop, vec),
        "**whole pipeline** (`engine.analyze(jpeg_bytes)`)": lambda: engine.analyze(jpeg),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=300)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--image", type=Path, default=ROOT / "samples/portraits/person_b_1.jpg")
    args = ap.parse_args()
    jpeg = compose_jpeg(args.image)
    print("| threads | stage | median ms | p90 ms |")
    print("| --- | --- | --- | --- |")
    for threads in args.threads:
        for name, fn in stages(jpeg, threads).items():
            ms = timed(fn, args.repeat)
            print(f"| {threads} | {name} | {np.median(ms):.2f} | {np.percentile(ms, 90):.2f} |",
                  flush=True)


if __name__ == "__main__":
    main()
