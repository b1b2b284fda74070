"""Per-face quality: can this face be trusted for recognition?"""

from .scorer import WEIGHTS, QualityScorer, combine, pose_from_landmarks

__all__ = ["WEIGHTS", "QualityScorer", "combine", "pose_from_landmarks"]
