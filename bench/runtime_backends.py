"""Time each model on onnxruntime and OpenCV DNN, with 1 and 2 CPU threads.

    python bench/runtime_backends.py [--repeat 300] [--threads 1 2]

Per model and setting: milliseconds per call, median (and p90) of ``--repeat`` calls
after a warm-up (``--repeat-batch`` calls for batch 16). YuNet runs on a 640x480
input (a sample portrait), SFace on aligned 112x112 crops in batches of 1 and 16.
The fastest backend per model is what ``faceatlas/models/catalog.py`` records as
the model's ``default_backend``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import cv2
import numpy as np

from faceatlas.alignment import align_face
from faceatlas.detection import create_detector
from faceatlas.image import load_image
from faceatlas.models import ModelRegistry, load_runner
from faceatlas.models.catalog import SFACE, YUNET
from faceatlas.models.runtime import BACKENDS

ROOT = Path(__file__).resolve().parents[1]
PORTRAIT = ROOT / "samples" / "portraits" / "person_b_1.jpg"


def _time(fn: Callable[[], object], repeat: int, warmup: int = 10) -> tuple[float, float]:
    for _ in range(warmup):
        fn()
    ms = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - t0) * 1000)
    return float(np.median(ms)), float(np.percentile(ms, 90))


def inputs(registry: ModelRegistry) -> dict[str, tuple[str, np.ndarray]]:
    """Network inputs: (model name, blob) per benchmark case."""
    img = load_image(PORTRAIT)
    s = 480 / img.shape[0]
    small = cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
    canvas = np.full((480, 640, 3), 128, np.uint8)
    canvas[:, : small.shape[1]] = small[:, :640]
    det_blob = np.ascontiguousarray(canvas.transpose(2, 0, 1)[None], dtype=np.float32)
    detector = create_detector(YUNET, registry, min_face=16)
    crop = align_face(canvas, detector.detect(canvas)[0].landmarks)
    rgb = crop[:, :, ::-1].astype(np.float32).transpose(2, 0, 1)[None]
    return {"yunet 640x480": ("yunet", det_blob),
            "sface batch 1": ("sface", np.ascontiguousarray(rgb)),
            "sface batch 16": ("sface", np.ascontiguousarray(np.repeat(rgb, 16, axis=0)))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=300)
    ap.add_argument("--repeat-batch", type=int, default=40,
                    help="Calls timed for the batch-16 case (each is ~16 single calls).")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args()
    registry = ModelRegistry()
    specs = {"yunet": YUNET, "sface": SFACE}
    print("| model | input | backend | threads | median ms | p90 ms |")
    print("| --- | --- | --- | --- | ---: | ---: |")
    for case, (model, blob) in inputs(registry).items():
        graph = registry.load(specs[model])
        for backend in BACKENDS:
            for threads in args.threads:
                cv2.setNumThreads(threads)
                runner = load_runner(graph, backend, threads)
                feed = {runner.input_names[0]: blob}
                n = args.repeat if len(blob) == 1 else args.repeat_batch
                med, p90 = _time(partial(runner.run, feed), n)
                name, shape = case.split(" ", 1)
                print(f"| {name} | {shape} | {backend} | {threads} | {med:.2f} | {p90:.2f} |",
                      flush=True)


if __name__ == "__main__":
    main()
