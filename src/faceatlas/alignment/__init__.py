"""Five-point face alignment to the standard 112x112 ArcFace template."""

from .similarity import ARCFACE_TEMPLATE, align_face, estimate_similarity

__all__ = ["ARCFACE_TEMPLATE", "align_face", "estimate_similarity"]
