"""Is a detection really a face? A filter stage between detection and the catalog.

Detectors fire on face-like things: raised palms, fists holding a statuette, hair,
shoulders, badges and logos, animals, a wall clock. Two checks, measured in
``bench/detection.py`` (see docs/benchmarks.md, "Detection: false faces and small faces"):

1. **Landmark geometry** (free): in the frame of the eye line, with the inter-ocular
   distance as unit, the nose must lie below the eyes, the mouth below the nose and not
   far beyond it, the mouth width and the eye distance (relative to the box) must be
   those of a face, and nose and mouth must not sit far off the face's axis. The limits
   hold for every labelled real face of the development photos, profiles included;
   they catch degenerate landmark sets.
2. **Re-detection on the crop** (one small network run per face): the region around the
   box is cut out, scaled so that the face is :attr:`PlausibilityFilter.recheck_face`
   pixels wide on a :attr:`PlausibilityFilter.recheck_canvas` canvas (black outside the
   image), and the detector is run again on it. A real face is found again, at the same
   place, with a high score; most false detections were a coincidence of one scale and
   context, and fall apart. The face is kept when the best re-detection overlapping the
   box scores at least :attr:`PlausibilityFilter.recheck_threshold`, or
   :attr:`PlausibilityFilter.atypical_threshold` when its landmark layout is unusual for
   a face (outside the range of 99 % of the development set's faces).

Rejected detections are returned with their reason, never silently lost: the engine and
the indexer count them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from ..types import Detection
from .base import PyramidDetector


@dataclass(frozen=True)
class Rejection:
    """A detection the filter took for a non-face, and why."""

    detection: Detection
    reason: str

    def to_dict(self) -> dict[str, object]:
        out = dict(self.detection.to_dict())
        out["reason"] = self.reason
        return out


@dataclass(frozen=True)
class Geometry:
    """Landmark layout in the eye frame: origin at the eyes' midpoint, x along the eye
    line, y towards the mouth, unit the inter-ocular distance."""

    nose_x: float
    nose_y: float
    mouth_x: float
    mouth_y: float
    mouth_width: float
    eyes_to_box: float  # inter-ocular distance / box width

    @staticmethod
    def of(det: Detection) -> Geometry:
        lm = np.asarray(det.landmarks, np.float64).reshape(5, 2)
        eye_l, eye_r, nose, mouth_l, mouth_r = lm
        mid = (eye_l + eye_r) / 2
        axis = eye_r - eye_l
        iod = float(np.linalg.norm(axis)) or 1e-6
        ux = axis / iod
        uy = np.array([-ux[1], ux[0]])
        mouth = (mouth_l + mouth_r) / 2
        return Geometry(
            nose_x=float((nose - mid) @ ux) / iod, nose_y=float((nose - mid) @ uy) / iod,
            mouth_x=float((mouth - mid) @ ux) / iod, mouth_y=float((mouth - mid) @ uy) / iod,
            mouth_width=float(np.linalg.norm(mouth_r - mouth_l)) / iod,
            eyes_to_box=iod / max(float(det.box[2]), 1e-6))


@dataclass(frozen=True)
class GeometryLimits:
    """Bounds a real face's :class:`Geometry` stays within (chosen with a wide margin
    around every labelled face of the development set: 1,262 faces, yaw up to 90°)."""

    min_eyes_to_box: float = 0.10     # faces: 0.14 and up
    min_nose_below_eyes: float = 0.20  # faces: 0.44 and up
    min_mouth_below_nose: float = 0.10  # faces: 0.23 and up
    max_mouth_below_eyes: float = 5.0  # faces: up to 4.3 (extreme pitch)
    mouth_width: tuple[float, float] = (0.3, 2.0)  # faces: 0.63 to 1.01
    max_off_axis: float = 2.5          # |nose_x|, |mouth_x|; faces: up to 1.21

    def typical(self, g: Geometry) -> bool:
        """Whether ``g`` lies where 99 % of real faces' layouts do (roughly frontal, the
        box around the face); outside, a face needs stronger re-detection evidence."""
        return (abs(g.nose_x) <= 0.6 and g.nose_y <= 1.0 and g.mouth_y <= 1.9
                and g.eyes_to_box >= 0.25)

    def violation(self, g: Geometry) -> str | None:
        """Why ``g`` is not a face's layout, or None when it is."""
        if g.eyes_to_box < self.min_eyes_to_box:
            return f"eyes {g.eyes_to_box:.2f} of the box width apart"
        if g.nose_y < self.min_nose_below_eyes:
            return "nose not below the eyes"
        if g.mouth_y - g.nose_y < self.min_mouth_below_nose:
            return "mouth not below the nose"
        if g.mouth_y > self.max_mouth_below_eyes:
            return "mouth too far below the eyes"
        lo, hi = self.mouth_width
        if not lo <= g.mouth_width <= hi:
            return f"mouth {g.mouth_width:.2f} eye distances wide"
        if max(abs(g.nose_x), abs(g.mouth_x)) > self.max_off_axis:
            return "nose or mouth far off the face's axis"
        return None


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two ``(x, y, w, h)`` boxes."""
    iw = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


@dataclass
class PlausibilityFilter:
    """Keeps the detections that are faces (see the module docstring).

    Args:
        detector: the detector re-run on each crop (the one that found the faces).
        recheck_threshold: lowest re-detection score kept (None skips the re-check).
        atypical_threshold: the same for a face whose landmark layout is atypical
            (:meth:`GeometryLimits.typical`: turned far, or a box much larger than the
            face), which needs stronger evidence.
        recheck_face: face width in the re-check input, pixels.
        recheck_canvas: side of the re-check input, pixels.
        limits: landmark geometry bounds (None skips the geometry check).
    """

    detector: PyramidDetector
    recheck_threshold: float | None = 0.6
    atypical_threshold: float = 0.8
    recheck_face: int = 48
    recheck_canvas: int = 128
    limits: GeometryLimits | None = GeometryLimits()

    def recheck_score(self, bgr: np.ndarray, det: Detection) -> float:
        """Best score of a re-detection overlapping ``det`` on its rescaled crop."""
        x, y, w, h = det.box
        side = max(w, h, 1e-6)
        k = self.recheck_face / side
        c = self.recheck_canvas / 2
        cx, cy = x + w / 2, y + h / 2
        m = np.array([[k, 0, c - k * cx], [0, k, c - k * cy]], np.float32)
        crop = cv2.warpAffine(bgr, m, (self.recheck_canvas, self.recheck_canvas),
                              flags=cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
        found = self.detector.run_window(crop, min_score=0.05)
        expected = (c - k * w / 2, c - k * h / 2, k * w, k * h)
        best = 0.0
        for b, score in zip(found.boxes, found.scores, strict=True):
            box = (float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1]))
            if box_iou(box, expected) >= 0.3:
                best = max(best, float(score))
        return best

    def reason(self, bgr: np.ndarray, det: Detection) -> str | None:
        """Why ``det`` is not taken for a face, or None when it is."""
        atypical = False
        if self.limits is not None:
            g = Geometry.of(det)
            why = self.limits.violation(g)
            if why is not None:
                return f"landmarks: {why}"
            atypical = not self.limits.typical(g)
        if self.recheck_threshold is not None:
            need = max(self.recheck_threshold, self.atypical_threshold) if atypical \
                else self.recheck_threshold
            score = self.recheck_score(bgr, det)
            if score < need:
                layout = "atypical landmarks, " if atypical else ""
                return f"not found again on its crop ({layout}score {score:.2f} < {need:.2f})"
        return None

    def split(self, bgr: np.ndarray,
              detections: Sequence[Detection]) -> tuple[list[Detection], list[Rejection]]:
        """(faces kept, in order; detections rejected, with their reasons)."""
        kept: list[Detection] = []
        rejected: list[Rejection] = []
        for det in detections:
            why = self.reason(bgr, det)
            if why is None:
                kept.append(det)
            else:
                rejected.append(Rejection(det, why))
        return kept, rejected
