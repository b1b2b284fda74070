"""Per-face quality: can this face be trusted for recognition?"""

from .scorer import QualityScorer, pose_from_landmarks

__all__ = ["QualityScorer", "pose_from_landmarks"]
