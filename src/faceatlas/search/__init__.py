"""Vector search: the :class:`VectorIndex` interface, its faiss implementation,
filtered search, catalog consistency and kNN graphs for clustering."""

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
from .knn import knn_graph

__all__ = [
    "EXACT_MAX", "FaissIndex", "IndexFileError", "OpenedIndex", "VectorError", "VectorIndex",
    "VectorLoader", "build_index", "check_index_file", "choose_strategy", "exact_search",
    "factory_string", "knn_graph", "open_index", "recall_at_k",
]
