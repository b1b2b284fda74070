"""YuNet (libfacedetection / OpenCV Zoo): anchor-free detector with 5 landmarks."""

from __future__ import annotations

import numpy as np

from .base import Decoded, PyramidDetector

_STRIDES = (8, 16, 32)


class YuNetDetector(PyramidDetector):
    """YuNet over the shared image pyramid.

    Outputs are named ``cls_S``, ``obj_S``, ``bbox_S`` and ``kps_S`` per stride S:
    one prediction per grid cell; the score is ``sqrt(cls * obj)``, the box centre an
    offset from the cell in strides and its size ``exp`` of a log-size in strides.
    """

    def decode(self, outputs: list[np.ndarray], height: int, width: int,
               min_score: float) -> Decoded:
        outs = dict(zip(self.runner.output_names, outputs, strict=True))
        parts = []
        for stride in _STRIDES:
            cols = width // stride
            cls = outs[f"cls_{stride}"].reshape(-1)
            obj = outs[f"obj_{stride}"].reshape(-1)
            score = np.sqrt(np.clip(cls, 0, 1) * np.clip(obj, 0, 1))
            idx = np.nonzero(score >= min_score)[0]
            if idx.size == 0:
                continue
            bbox = outs[f"bbox_{stride}"].reshape(-1, 4)[idx]
            kps = outs[f"kps_{stride}"].reshape(-1, 5, 2)[idx]
            cell = np.stack([idx % cols, idx // cols], axis=1).astype(np.float32)
            centre = (cell + bbox[:, :2]) * stride
            half = np.exp(bbox[:, 2:]) * stride / 2
            boxes = np.concatenate([centre - half, centre + half], axis=1)
            lms = (kps + cell[:, None, :]) * stride
            parts.append(Decoded(boxes, lms, score[idx]))
        return Decoded.concat(parts)
