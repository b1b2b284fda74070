"""Face detection: boxes, five landmarks and scores."""

from .base import Detector, nms, pyramid
from .yunet import YuNetDetector

__all__ = ["Detector", "YuNetDetector", "nms", "pyramid"]
