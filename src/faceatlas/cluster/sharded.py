"""The kNN graph of a catalog too big for one machine's memory, built in shards.

The faces of one model are cut into shards of consecutive ids (``shard_size`` vectors,
read from the catalog with :meth:`CatalogStore.embeddings`). For each block of query
faces, every base shard is searched exactly (faiss ``IndexFlatIP``) and the per-shard
top-``k`` lists are merged: the union of exact per-shard top-``k`` lists holds the
global top-``k``, so the sharded graph equals the single-machine exact graph
(:func:`faceatlas.cluster.graph.neighbours` below its exact limit) whatever the shard
size. At most one query block and one base shard are in memory per worker; the blocks
are independent, so ``map_fn`` may spread them over processes or a Ray cluster (each
task then opens the catalog itself, e.g. the shared PostgreSQL store: pass ``load`` that
does). Cost: (n / shard_size) shard reads per query block, n^2 dot products in all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from ..store import CatalogStore
from .graph import EXACT_LIMIT, knn

#: Reads the vectors (rows in the given id order) of some face ids.
Loader = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class KnnBlock:
    """The neighbours of a block of faces: ``face_ids`` (q,), ``neighbours`` (q, k) face
    ids (-1 where fewer than k other faces exist) and ``sims`` (q, k), best first."""

    face_ids: np.ndarray
    neighbours: np.ndarray
    sims: np.ndarray


def store_loader(store: CatalogStore, model: str) -> Loader:
    """A :data:`Loader` reading ``model``'s vectors from ``store``."""

    def load(ids: np.ndarray) -> np.ndarray:
        parts = {int(i): v for b in store.embeddings(model, [int(i) for i in ids])
                 for i, v in zip(*b, strict=True)}
        return np.stack([parts[int(i)] for i in ids]).astype(np.float32)

    return load


def block_knn(load: Loader, query_ids: np.ndarray, shards: Sequence[np.ndarray],
              k: int) -> KnnBlock:
    """Exact ``k`` nearest other faces of ``query_ids`` among all ``shards`` (arrays of
    face ids), one shard in memory at a time."""
    queries = load(query_ids)
    best_s = np.full((len(query_ids), 0), -np.inf, np.float32)
    best_i = np.full((len(query_ids), 0), -1, np.int64)
    for shard in shards:
        sims, idx = knn(load(shard), queries, k + 1)
        ids = np.where(idx >= 0, shard[np.clip(idx, 0, None)], -1)
        sims = np.where(ids == query_ids[:, None], -np.inf, sims)  # never oneself
        ids = np.where(ids == query_ids[:, None], -1, ids)
        all_s = np.concatenate([best_s, sims], axis=1)
        all_i = np.concatenate([best_i, ids], axis=1)
        order = np.argsort(-all_s, axis=1, kind="stable")[:, :k]
        best_s = np.take_along_axis(all_s, order, axis=1)
        best_i = np.take_along_axis(all_i, order, axis=1)
    best_i = np.where(np.isfinite(best_s), best_i, -1)
    return KnnBlock(np.asarray(query_ids, np.int64), best_i, best_s.astype(np.float32))


def sharded_knn(face_ids: np.ndarray, load: Loader, k: int, shard_size: int,
                map_fn: Callable[..., Iterable[KnnBlock]] = map) -> KnnBlock:
    """The exact kNN graph of ``face_ids`` (ascending) built in shards of ``shard_size``;
    ``map_fn(fn, blocks)`` runs the query blocks (the builtin ``map`` here, or a
    process/Ray map)."""
    if shard_size < 1:
        raise ValueError("shard_size must be positive")
    shard_size = min(shard_size, EXACT_LIMIT)  # faiss search stays exact within a shard
    ids = np.asarray(face_ids, np.int64)
    shards = [ids[i:i + shard_size] for i in range(0, len(ids), shard_size)]

    def run(query_ids: np.ndarray) -> KnnBlock:
        return block_knn(load, query_ids, shards, k)

    blocks = list(map_fn(run, shards))
    if not blocks:
        return KnnBlock(ids, np.zeros((0, k), np.int64), np.zeros((0, k), np.float32))
    return KnnBlock(np.concatenate([b.face_ids for b in blocks]),
                    np.concatenate([b.neighbours for b in blocks]),
                    np.concatenate([b.sims for b in blocks]))
