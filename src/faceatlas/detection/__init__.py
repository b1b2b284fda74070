"""Face detection: boxes, five landmarks and scores."""

from __future__ import annotations

from ..errors import ModelError
from ..models import ModelRegistry, ModelSpec
from .base import DEFAULT_MIN_FACE, Decoded, Detector, PyramidDetector, Window, nms, pyramid
from .plausibility import Geometry, GeometryLimits, PlausibilityFilter, Rejection, box_iou
from .scrfd import SCRFDDetector
from .yunet import YuNetDetector

#: Detector class for each registry ``family``.
FAMILIES: dict[str, type[PyramidDetector]] = {"yunet": YuNetDetector, "scrfd": SCRFDDetector}


def create_detector(spec: ModelSpec, registry: ModelRegistry | None = None,
                    **options: object) -> PyramidDetector:
    """The detector for a registered detection model, chosen by its ``family``.

    ``options`` are passed to :class:`PyramidDetector` (``score_threshold``,
    ``min_face``, ``backend``, ``threads``...).
    """
    if spec.task != "detection":
        raise ModelError(f"'{spec.name}' is a {spec.task} model, not a detector")
    cls = FAMILIES.get(spec.family)
    if cls is None:
        raise ModelError(f"detector '{spec.name}' has family '{spec.family}'; supported "
                         f"detector families: {', '.join(sorted(FAMILIES))}")
    return cls(spec, registry, **options)  # type: ignore[arg-type]


__all__ = ["DEFAULT_MIN_FACE", "FAMILIES", "Decoded", "Detector", "Geometry",
           "GeometryLimits", "PlausibilityFilter", "PyramidDetector", "Rejection",
           "SCRFDDetector", "Window", "YuNetDetector", "box_iou", "create_detector", "nms",
           "pyramid"]
