"""The vector-index interface shared by every backend.

Indexes hold L2-normalised float32 vectors under int64 ids and answer top-k inner
product (= cosine) queries, optionally restricted to an allowed id subset (filters).
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from ..errors import FaceAtlasError


@runtime_checkable
class VectorIndex(Protocol):
    """A mutable top-k cosine index over int64 ids."""

    dim: int

    def __len__(self) -> int: ...

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add vectors (n, dim) float32 under ids (n,) int64; ids must be new."""

    def remove(self, ids: np.ndarray) -> None:
        """Remove these ids (unknown ids are ignored)."""

    def search(self, queries: np.ndarray, k: int,
               allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (similarities, ids), each (q, k); missing slots have id -1.
        ``allowed`` restricts results to those ids (a filter)."""

    def ids(self) -> np.ndarray:
        """Every id held, int64."""

    def save(self, path: Path) -> None:
        """Write the index atomically to ``path``."""


class IndexFileError(FaceAtlasError):
    """A saved index file is missing, truncated, corrupt or of another model."""

    exit_code = 6


class VectorError(FaceAtlasError):
    """Vectors or ids handed to an index are malformed (shape, norm, duplicates...)."""

    exit_code = 1
