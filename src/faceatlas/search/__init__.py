"""Vector search: the :class:`VectorIndex` interface, its faiss (+ ScaNN) implementation,
filtered search and catalog consistency (clustering builds its own kNN graph:
:mod:`faceatlas.cluster.graph`)."""

from .base import IndexFileError, VectorError, VectorIndex
from .consistency import OpenedIndex, VectorLoader, build_index, check_index_file, open_index
from .faiss_index import (
    EXACT_MAX,
    FaissIndex,
    exact_search,
    factory_string,
    recall_at_k,
)
from .filtering import choose_strategy

__all__ = [
    "EXACT_MAX", "FaissIndex", "IndexFileError", "OpenedIndex", "VectorError", "VectorIndex",
    "VectorLoader", "build_index", "check_index_file", "choose_strategy", "exact_search",
    "factory_string", "open_index", "recall_at_k",
]
