"""The kNN graph of a catalog too big for one machine's memory, built in shards.

Two uses of one idea (exact per-shard top-k lists, merged: the union of exact
per-shard top-``k`` lists holds the global top-``k``, so the result equals the
single-machine exact search whatever the shard size):

* :class:`ShardedSearch` is what ``faceatlas cluster --shard-size N`` / ``--ray``
  clusters with (automatically above :data:`SHARD_ABOVE` faces): every neighbour
  search of :func:`~faceatlas.cluster.cluster_faces` cuts its queries into blocks and
  its base into shards; no faiss index holds more than one shard, and the blocks are
  independent tasks (the builtin ``map``, or Ray tasks with :func:`ray_map`). The
  clustering process still holds the vectors (512 B a face at 128-d).
* :func:`sharded_knn` builds the whole graph of a model's faces from the catalog, one
  query block and one base shard in memory per worker (``load`` reads vectors by face
  id with :meth:`CatalogStore.embeddings`; a task on another machine opens the shared
  PostgreSQL store itself).

Cost: n^2 dot products in all (measured: ~2.4 x 10^8 face pairs per core-second at
128-d, bench/cluster_sharded.py).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from ..errors import FaceAtlasError
from ..store import CatalogStore
from .graph import EXACT_LIMIT, KnnSearch, knn, memory_search

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


def _merge(best_s: np.ndarray, best_i: np.ndarray, sims: np.ndarray, ids: np.ndarray,
           k: int) -> tuple[np.ndarray, np.ndarray]:
    """The top ``k`` of two lists of candidates per row (best first; a stable sort, so
    earlier shards win ties)."""
    all_s = np.concatenate([best_s, sims], axis=1)
    all_i = np.concatenate([best_i, ids], axis=1)
    order = np.argsort(-all_s, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(all_s, order, axis=1), np.take_along_axis(all_i, order, axis=1)


def _empty(q: int) -> tuple[np.ndarray, np.ndarray]:
    return np.full((q, 0), -np.inf, np.float32), np.full((q, 0), -1, np.int64)


def block_knn(load: Loader, query_ids: np.ndarray, shards: Sequence[np.ndarray],
              k: int) -> KnnBlock:
    """Exact ``k`` nearest other faces of ``query_ids`` among all ``shards`` (arrays of
    face ids), one shard in memory at a time."""
    queries = load(query_ids)
    best_s, best_i = _empty(len(query_ids))
    for shard in shards:
        sims, idx = knn(load(shard), queries, k + 1)
        ids = np.where(idx >= 0, shard[np.clip(idx, 0, None)], -1)
        sims = np.where(ids == query_ids[:, None], -np.inf, sims)  # never oneself
        ids = np.where(ids == query_ids[:, None], -1, ids)
        best_s, best_i = _merge(best_s, best_i, sims, ids, k)
    best_i = np.where(np.isfinite(best_s), best_i, -1)
    return KnnBlock(np.asarray(query_ids, np.int64), best_i, best_s.astype(np.float32))


def search_block(x: np.ndarray, base: np.ndarray, shard_size: int, k: int,
                 queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-``k`` (similarities, positions in ``base``) of the rows ``queries`` of
    ``x`` among its rows ``base``, searched ``shard_size`` base rows at a time; the
    same lists as :func:`~faceatlas.cluster.graph.memory_search` below its exact
    limit (a module-level function, so that process pools and Ray can ship it)."""
    q = x[queries]
    best_s, best_i = _empty(len(queries))
    for start in range(0, len(base), shard_size):
        sims, idx = knn(x[base[start:start + shard_size]], q, k)
        best_s, best_i = _merge(best_s, best_i, sims, np.where(idx >= 0, idx + start, -1), k)
    if best_s.shape[1] < k:  # an empty base
        pad = k - best_s.shape[1]
        best_s = np.pad(best_s, ((0, 0), (0, pad)), constant_values=-np.inf)
        best_i = np.pad(best_i, ((0, 0), (0, pad)), constant_values=-1)
    return best_s.astype(np.float32), best_i


class ShardedSearch:
    """A :data:`~faceatlas.cluster.graph.KnnSearch` for clustering that builds the exact
    neighbour lists in shards: the queries are cut into blocks of ``shard_size`` faces
    and each block searches the base ``shard_size`` faces at a time
    (:func:`search_block`), so no faiss index ever holds more than one shard and the
    lists stay exact at any catalog size (the in-memory search turns approximate above
    :data:`~faceatlas.cluster.graph.EXACT_LIMIT` faces). ``map_fn(fn, blocks)`` runs the
    blocks: the builtin ``map``, a process pool's ``map`` or :func:`ray_map`."""

    def __init__(self, shard_size: int = EXACT_LIMIT,
                 map_fn: Callable[..., Iterable[tuple[np.ndarray, np.ndarray]]] = map) -> None:
        if shard_size < 1:
            raise ValueError("shard_size must be positive")
        self.shard_size = min(shard_size, EXACT_LIMIT)  # faiss stays exact within a shard
        self.map_fn = map_fn
        self.blocks = 0  #: query blocks run so far

    def __call__(self, x: np.ndarray, base: np.ndarray, queries: np.ndarray, k: int
                 ) -> tuple[np.ndarray, np.ndarray]:
        blocks = [queries[i:i + self.shard_size]
                  for i in range(0, len(queries), self.shard_size)]
        if not blocks:
            return np.zeros((0, k), np.float32), np.zeros((0, k), np.int64)
        self.blocks += len(blocks)
        parts = list(self.map_fn(partial(search_block, x, base, self.shard_size, k), blocks))
        return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))


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


#: Above this many faces ``faceatlas cluster`` builds its neighbour lists in shards by
#: default: 10M faces of 128-d are 5 GB of vectors, and the in-memory search adds two
#: copies of them (the graph's rows and the faiss index), ~15 GB in all; the exact
#: sharded graph of 10M faces costs ~115 core-hours (docs/benchmarks.md, "Sharded
#: kNN"), i.e. a Ray cluster's work (``cluster --ray``).
SHARD_ABOVE = 10_000_000


def ray_map(ray: Any) -> Callable[..., list[tuple[np.ndarray, np.ndarray]]]:
    """A ``map_fn`` for :class:`ShardedSearch` that runs each query block as a Ray task
    (1 CPU) on the connected cluster: the search function and its vectors are put in
    Ray's object store once, every task reads them from there."""
    task = ray.remote(num_cpus=1)(_call)

    def run(fn: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
            blocks: Iterable[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
        ref = ray.put(fn)
        return list(ray.get([task.remote(ref, b) for b in blocks]))

    return run


def _call(fn: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]], block: np.ndarray
          ) -> tuple[np.ndarray, np.ndarray]:
    return fn(block)


@contextmanager
def choose_search(faces: int, shard_size: int | None = None, ray: str | None = None,
                  workers: int | None = None) -> Iterator[KnnSearch]:
    """How ``faceatlas cluster`` finds neighbours among ``faces`` faces: in shards of
    ``shard_size`` faces when given (or with ``ray``, or above :data:`SHARD_ABOVE`
    faces: shards of :data:`~faceatlas.cluster.graph.EXACT_LIMIT`), else the in-memory
    :func:`~faceatlas.cluster.graph.memory_search`. With ``ray`` (an address, see
    :mod:`faceatlas.ray_session`; ``local`` starts a Ray instance of ``workers`` CPUs
    here, default all) the shard blocks run as Ray tasks."""
    if shard_size is not None and shard_size < 1:
        raise FaceAtlasError("--shard-size must be at least 1")
    if ray is None and shard_size is None and faces <= SHARD_ABOVE:
        yield memory_search
        return
    size = shard_size or EXACT_LIMIT
    if ray is None:
        yield ShardedSearch(size)
        return
    from ..ray_session import ray_session

    with ray_session(ray, workers or os.cpu_count() or 1, "cluster --ray") as module:
        yield ShardedSearch(size, ray_map(module))
