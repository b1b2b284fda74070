"""SCRFD (insightface, "Sample and Computation Redistribution for Efficient Face
Detection"): anchor-based detector with 5 landmarks, as exported to ONNX by insightface.

Outputs, in graph order, are grouped by kind then stride: the scores of every stride,
then the box distances, then the landmark offsets (``3 * n_strides`` outputs; strides
8/16/32, or 8..128 for five-level models). Each grid location has ``n`` anchors
(usually 2) at its top-left corner ``(col, row) * stride``; box and landmark
predictions are distances in strides from that point (``distance2bbox`` /
``distance2kps``). Scores are already probabilities. Inputs are RGB normalised as
``(x - 127.5) / 128``, which the registry's input spec for the family says.
"""

from __future__ import annotations

import numpy as np

from ..errors import ModelError
from .base import Decoded, PyramidDetector

_STRIDES = {3: (8, 16, 32), 5: (8, 16, 32, 64, 128)}


class SCRFDDetector(PyramidDetector):
    """SCRFD over the shared image pyramid (models with landmark outputs only)."""

    def decode(self, outputs: list[np.ndarray], height: int, width: int,
               min_score: float) -> Decoded:
        levels = len(outputs) // 3
        if len(outputs) % 3 or levels not in _STRIDES:
            raise ModelError(
                f"detector '{self.name}': SCRFD models need score, box and landmark outputs "
                f"for 3 or 5 strides (9 or 15 outputs), this one has {len(outputs)}")
        parts = []
        for i, stride in enumerate(_STRIDES[levels]):
            scores = outputs[i].reshape(-1)
            boxes = outputs[i + levels].reshape(-1, 4)
            kps = outputs[i + 2 * levels].reshape(-1, 5, 2)
            rows, cols = height // stride, width // stride
            anchors = scores.size // max(rows * cols, 1)
            if anchors * rows * cols != scores.size or len(boxes) != scores.size:
                raise ModelError(
                    f"detector '{self.name}': stride {stride} output has {scores.size} scores "
                    f"for a {cols}x{rows} grid; not an SCRFD layout")
            idx = np.nonzero(scores >= min_score)[0]
            if idx.size == 0:
                continue
            loc = idx // anchors
            centre = np.stack([loc % cols, loc // cols], axis=1).astype(np.float32) * stride
            dist = boxes[idx] * stride
            box = np.concatenate([centre - dist[:, :2], centre + dist[:, 2:]], axis=1)
            lms = centre[:, None, :] + kps[idx] * stride
            parts.append(Decoded(box, lms, scores[idx]))
        return Decoded.concat(parts)
