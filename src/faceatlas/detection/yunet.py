"""YuNet (libfacedetection / OpenCV Zoo): anchor-free detector with 5 landmarks."""

from __future__ import annotations

import numpy as np

from ..models import ModelRegistry, ModelSpec, Runner, choose_backend, load_runner
from ..types import Detection
from .base import Window, nms, pyramid

_STRIDES = (8, 16, 32)


class YuNetDetector:
    """Detects faces of any size with YuNet over an image pyramid.

    ``score_threshold`` is the minimum confidence kept; ``min_face`` the smallest
    face, in pixels of the original image, that the pyramid must be able to find.
    """

    def __init__(self, spec: ModelSpec, registry: ModelRegistry | None = None,
                 score_threshold: float = 0.6, nms_threshold: float = 0.3,
                 max_side: int = 640, min_face: int = 24, backend: str | None = None,
                 threads: int | None = None) -> None:
        registry = registry or ModelRegistry()
        self.name = spec.name
        self.spec = spec
        self.score_threshold = score_threshold
        self.nms_threshold = nms_threshold
        self.max_side = max_side
        self.min_face = min_face
        self.runner: Runner = load_runner(registry.load(spec),
                                          choose_backend(spec.default_backend, backend), threads)
        self._input = self.runner.input_names[0]

    def detect(self, bgr: np.ndarray, min_face: int | None = None) -> list[Detection]:
        """All faces in a BGR image, best first, in the image's pixel coordinates."""
        windows = pyramid(bgr, self.max_side, min_face or self.min_face, tile=640,
                          smallest_detectable=16.0)
        found: list[Detection] = []
        for win in windows:
            found.extend(self._detect_window(win))
        return nms(found, self.nms_threshold)

    def _detect_window(self, win: Window) -> list[Detection]:
        img = win.image
        h, w = img.shape[:2]
        ph, pw = -(-h // 32) * 32, -(-w // 32) * 32
        blob = np.zeros((1, 3, ph, pw), np.float32)
        blob[0, :, :h, :w] = img.transpose(2, 0, 1)
        outs = dict(zip(self.runner.output_names, self.runner.run({self._input: blob}),
                        strict=True))
        dets: list[Detection] = []
        for stride in _STRIDES:
            cols, rows = pw // stride, ph // stride
            cls = outs[f"cls_{stride}"].reshape(-1)
            obj = outs[f"obj_{stride}"].reshape(-1)
            score = np.sqrt(np.clip(cls, 0, 1) * np.clip(obj, 0, 1))
            idx = np.nonzero(score >= self.score_threshold)[0]
            if idx.size == 0:
                continue
            bbox = outs[f"bbox_{stride}"].reshape(-1, 4)[idx]
            kps = outs[f"kps_{stride}"].reshape(-1, 10)[idx]
            c = (idx % cols).astype(np.float32)
            r = (idx // cols).astype(np.float32)
            del rows
            cx, cy = (c + bbox[:, 0]) * stride, (r + bbox[:, 1]) * stride
            bw, bh = np.exp(bbox[:, 2]) * stride, np.exp(bbox[:, 3]) * stride
            lx = (kps[:, 0::2] + c[:, None]) * stride
            ly = (kps[:, 1::2] + r[:, None]) * stride
            for i in range(idx.size):
                if min(bw[i], bh[i]) > win.keep_max:
                    continue
                x1 = (cx[i] - bw[i] / 2) / win.scale + win.x0
                y1 = (cy[i] - bh[i] / 2) / win.scale + win.y0
                lm = np.stack([lx[i] / win.scale + win.x0, ly[i] / win.scale + win.y0], axis=1)
                dets.append(Detection((float(x1), float(y1), float(bw[i] / win.scale),
                                       float(bh[i] / win.scale)),
                                      lm.astype(np.float32), float(score[idx[i]])))
        return dets
