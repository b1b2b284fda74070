"""The detector interface and the image pyramid every detector shares."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from ..types import Detection


class Detector(Protocol):
    """Finds faces: boxes, five landmarks and a confidence score."""

    name: str

    def detect(self, bgr: np.ndarray, min_face: int | None = None) -> list[Detection]: ...


@dataclass(frozen=True)
class Window:
    """One network input cut from the image: source rectangle and its scale."""

    x0: int
    y0: int
    scale: float
    image: np.ndarray  # resized crop, BGR uint8
    keep_max: float  # largest face (input pixels) this window is trusted for


def pyramid(bgr: np.ndarray, max_side: int, min_face: int, tile: int,
            smallest_detectable: float) -> list[Window]:
    """Windows that together find faces from ``min_face`` pixels to the whole image.

    The first level shows the whole image with its long side at most ``max_side``
    (downscaling costs nothing for big faces). While a face of ``min_face`` pixels
    would be smaller than ``smallest_detectable`` at the current scale, the next
    level doubles the scale and is cut into overlapping ``tile`` squares; faces
    larger than the overlap are left to the coarser level, which sees them whole.
    """
    h, w = bgr.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    windows = [Window(0, 0, scale, _resize(bgr, scale), float("inf"))]
    overlap = tile // 4
    needed = min(1.0, smallest_detectable / max(min_face, 1))
    while scale < needed - 1e-6:
        scale = min(needed, scale * 2.0)
        step = int((tile - overlap) / scale)
        src = int(tile / scale)
        for y0 in _starts(h, src, step):
            for x0 in _starts(w, src, step):
                crop = bgr[y0:y0 + src, x0:x0 + src]
                windows.append(Window(x0, y0, scale, _resize(crop, scale), overlap * 0.8))
    return windows


def _starts(length: int, size: int, step: int) -> list[int]:
    if length <= size:
        return [0]
    starts = list(range(0, length - size, max(step, 1)))
    starts.append(length - size)
    return starts


def _resize(img: np.ndarray, scale: float) -> np.ndarray:
    if abs(scale - 1.0) < 1e-6:
        return img
    h, w = img.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(img, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)


def nms(dets: list[Detection], iou: float) -> list[Detection]:
    """Non-maximum suppression over detections from all windows, best first."""
    if not dets:
        return []
    boxes = [[float(v) for v in d.box] for d in dets]
    scores = [float(d.score) for d in dets]
    keep = cv2.dnn.NMSBoxes(boxes, scores, 0.0, iou)
    order = sorted((int(i) for i in np.asarray(keep).reshape(-1)), key=lambda i: -scores[i])
    return [dets[i] for i in order]
