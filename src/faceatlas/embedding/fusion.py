"""Score fusion of two recognizers as one embedding.

A fusion model (``sface+dlib``) embeds a crop with both of its parts and returns the
concatenation ``[sqrt(w) * a, sqrt(1 - w) * b]`` of their unit vectors. Its norm is 1
and the dot product of two such vectors is exactly ``w * cos_a + (1 - w) * cos_b``,
the weighted sum of the two models' cosine similarities, so verification, the vector
index and clustering use it unchanged. ``w`` is the model's ``extra["weight"]``.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

import numpy as np

from ..errors import ModelError
from ..models import ModelSpec
from ..types import Embedding, make_model_id
from .base import Recognizer


class FusionRecognizer:
    """Weighted concatenation of two recognizers' embeddings (unit vectors)."""

    def __init__(self, spec: ModelSpec, parts: Sequence[Recognizer]) -> None:
        if len(parts) != 2:
            raise ModelError(f"fusion model '{spec.name}' needs two recognizers, "
                             f"got {len(parts)}")
        weight = float(spec.extra.get("weight", 0.5))
        if not 0.0 <= weight <= 1.0:
            raise ModelError(f"fusion model '{spec.name}': weight {weight} is outside [0, 1]")
        self.spec = spec
        self.name = spec.name
        self.parts = tuple(parts)
        self.weight = weight
        self._scale = (math.sqrt(weight), math.sqrt(1.0 - weight))

    @property
    def model_id(self) -> str:
        """Name plus a digest of the parts' ids and the weight: changes when any does."""
        key = "|".join([p.model_id for p in self.parts] + [f"{self.weight:.6f}"])
        return make_model_id(self.spec.name, hashlib.sha256(key.encode()).hexdigest())

    def embed_vectors(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """(n, d1 + d2) unit vectors for n aligned BGR crops."""
        blocks = [scale * part.embed_vectors(crops)
                  for scale, part in zip(self._scale, self.parts, strict=True)]
        return np.concatenate(blocks, axis=1).astype(np.float32)

    def embed(self, crops: Sequence[np.ndarray]) -> list[Embedding]:
        """Embeddings tagged with this model's id."""
        return [Embedding(v, self.model_id) for v in self.embed_vectors(crops)]
