"""Per-face quality: can this face be trusted for recognition?"""

from .scorer import (
    MIN_RECOGNISABLE_IOD,
    TOO_SMALL_QUALITY,
    WEIGHTS,
    QualityScorer,
    combine,
    pose_from_landmarks,
)

__all__ = ["MIN_RECOGNISABLE_IOD", "TOO_SMALL_QUALITY", "WEIGHTS", "QualityScorer", "combine",
           "pose_from_landmarks"]
