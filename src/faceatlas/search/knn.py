"""k-nearest-neighbour graphs for clustering: batched self-search of an index."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .faiss_index import FaissIndex, as_ids, as_unit_vectors


def knn_graph(vectors: np.ndarray, k: int, ids: np.ndarray | None = None, *,
              index: FaissIndex | None = None, batch_size: int = 4096,
              progress: Callable[[int], None] | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
    """Each vector's ``k`` nearest other vectors: (similarities, neighbour ids), (n, k).

    ``ids`` default to ``0..n-1``. A prebuilt ``index`` holding these ids is reused;
    otherwise a :class:`FaissIndex` (exact up to its threshold, HNSW above) is built.
    The vector itself is dropped from its own neighbours; missing slots have id -1.
    ``progress`` is called with the number of queries done after each batch.
    """
    if k < 1:
        raise ValueError("k must be at least 1")
    index_dim = index.dim if index is not None else np.asarray(vectors).shape[-1]
    vectors = as_unit_vectors(vectors, index_dim)
    ids = np.arange(len(vectors), dtype=np.int64) if ids is None else as_ids(ids)
    if len(ids) != len(vectors):
        raise ValueError(f"{len(ids)} ids for {len(vectors)} vectors")
    if index is None:
        index = FaissIndex(dim=vectors.shape[1])
        index.add(ids, vectors)
    out_sims = np.full((len(ids), k), -np.inf, np.float32)
    out_ids = np.full((len(ids), k), -1, np.int64)
    for start in range(0, len(ids), batch_size):
        stop = min(start + batch_size, len(ids))
        sims, nbrs = index.search(vectors[start:stop], k + 1)
        not_self = nbrs != ids[start:stop, None]
        # keep the first k non-self neighbours of each row (self may be absent)
        rank = np.cumsum(not_self, axis=1)
        keep = not_self & (rank <= k)
        rows, cols = np.nonzero(keep)
        dest = rank[rows, cols] - 1
        out_sims[start + rows, dest] = sims[rows, cols]
        out_ids[start + rows, dest] = nbrs[rows, cols]
        if progress is not None:
            progress(stop)
    return out_sims, out_ids
