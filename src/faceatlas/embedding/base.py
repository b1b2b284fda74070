"""What every recognizer offers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from ..models import ModelSpec
from ..types import Embedding


class Recognizer(Protocol):
    """Turns aligned 112x112 BGR face crops into unit embeddings."""

    spec: ModelSpec
    name: str

    @property
    def model_id(self) -> str:
        """Identifier stored with every embedding."""
        ...

    def embed_vectors(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """(n, d) unit float32 vectors for n crops."""
        ...

    def embed(self, crops: Sequence[np.ndarray]) -> list[Embedding]:
        """Embeddings tagged with the model id."""
        ...

