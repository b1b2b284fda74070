"""ScaNN as the approximate-search layer of a large gallery.

Google's ScaNN (``pip install 'faceatlas[scann]'``) partitions the vectors with a k-means
tree, scores the partitions a query visits with anisotropic 4-bit product quantisation
and re-ranks the best ``REORDER`` candidates exactly. On 1M synthetic faces it reached
recall@10 0.99 at 1.4 ms per query on one thread, where faiss HNSW needed 4.5 ms, and it
builds in about 20 s instead of 12 minutes (``bench/vector_search.py``, "Vector search" in
``docs/benchmarks.md``).

A :class:`ScannLayer` is a snapshot: the ScaNN searcher of the gallery as it was when
the layer was built, and the face id of each of its rows. :class:`~faceatlas.search.
FaissIndex` keeps every live vector in an exact faiss store beside it, searches faces
added since the snapshot exactly, drops removed ones from the layer's answers, and
rebuilds the layer once those differences pass ``REBUILD_FRACTION`` of it.

Saving omits ScaNN's float32 copy of the vectors (``dataset.npy``): the exact store holds
them, and :meth:`ScannLayer.from_bytes` takes them back from it. Removed faces come back
as zero rows, so a saved layer never carries a removed face's full vector.
"""

from __future__ import annotations

import contextlib
import functools
import io
import math
import os
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .base import IndexFileError, VectorError

#: Below this many faces a layer is not worth it: the exact store is searched instead.
SCANN_MIN = 4_096
#: Fraction of the k-means leaves a query visits. On isotropic 128-d face embeddings the
#: neighbours of a query spread over many leaves: at 1M faces (1,000 leaves), 0.5 gave
#: recall@10 0.984 and 0.6 gave 0.991.
SEARCH_FRACTION = 0.6
#: Candidates re-ranked with exact float32 scores (at least twice k).
REORDER = 200
#: Rebuild the layer once faces added or removed since it was built exceed this fraction.
REBUILD_FRACTION = 0.1
#: Vectors the k-means tree and the quantiser are trained on.
TRAINING_SAMPLE = 250_000
_DATASET = "dataset.npy"
_IDS = "faceatlas_ids.npy"


def scann_available() -> bool:
    """True when the optional ``scann`` package can be imported here."""
    try:
        _scann()
    except VectorError:
        return False
    return True


@functools.cache
def _scann() -> Any:
    try:
        with _quiet_stderr():
            from scann.scann_ops.py import scann_ops_pybind
    except ImportError:
        raise VectorError("the 'scann' index needs ScaNN: pip install 'faceatlas[scann]' "
                          "(or use kind='hnsw')") from None
    return scann_ops_pybind


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence ScaNN's C++ (absl) log lines, written straight to file descriptor 2."""
    fd = 2
    with contextlib.suppress(AttributeError, ValueError, OSError):
        sys.stderr.flush()
    try:
        saved = os.dup(fd)
    except OSError:  # no standard error at all
        yield
        return
    with open(os.devnull, "wb") as null:
        os.dup2(null.fileno(), fd)
    try:
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)


def num_leaves(n: int) -> int:
    """k-means leaves for ``n`` faces: about sqrt(n), as ScaNN's authors advise."""
    return max(2, int(round(math.sqrt(n))))


class ScannLayer:
    """A ScaNN searcher over a snapshot of the gallery (see module docs)."""

    def __init__(self, ids: np.ndarray, searcher: Any) -> None:
        self.ids = np.asarray(ids, dtype=np.int64)  # face id of each ScaNN row
        self.sorted_ids = np.sort(self.ids)
        self._searcher = searcher
        self.leaves = num_leaves(len(self.ids))

    def __len__(self) -> int:
        return int(self.ids.size)

    @classmethod
    def build(cls, ids: np.ndarray, vectors: np.ndarray, threads: int = 0) -> ScannLayer:
        """Train and build a layer on unit ``vectors`` (n, dim) with face ``ids`` (n,)."""
        ops = _scann()
        n = len(ids)
        if n < 2:
            raise VectorError("a ScaNN layer needs at least two vectors")
        leaves = num_leaves(n)
        builder = (ops.builder(np.ascontiguousarray(vectors, np.float32), 10, "dot_product")
                   .tree(num_leaves=leaves, num_leaves_to_search=leaves,
                         training_sample_size=min(n, TRAINING_SAMPLE))
                   .score_ah(2, anisotropic_quantization_threshold=0.2)
                   .reorder(REORDER))
        if threads:
            builder = builder.set_n_training_threads(threads)
        with _quiet_stderr():
            searcher = builder.build()
        return cls(ids, searcher)

    def search(self, queries: np.ndarray, k: int, fraction: float = SEARCH_FRACTION
               ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (similarities, face ids) of the snapshot, (q, k) each, best first; may
        name faces removed since the snapshot (the caller filters them)."""
        k = min(k, len(self))
        visit = max(1, min(self.leaves, int(math.ceil(fraction * self.leaves))))
        queries = np.ascontiguousarray(queries, np.float32)
        # one query runs on the calling thread; batches use ScaNN's thread pool
        search = (self._searcher.search_batched if len(queries) == 1
                  else self._searcher.search_batched_parallel)
        rows, sims = search(queries, final_num_neighbors=k,
                            pre_reorder_num_neighbors=max(REORDER, 2 * k),
                            leaves_to_search=visit)
        rows = np.asarray(rows, dtype=np.int64)
        return np.asarray(sims, dtype=np.float32), self.ids[rows]

    # ------------------------------------------------------------ persistence
    def to_bytes(self) -> bytes:
        """The layer as an uncompressed zip of ScaNN's files, without its float32 copy
        of the vectors."""
        buf = io.BytesIO()
        with tempfile.TemporaryDirectory(prefix="faceatlas-scann-") as tmp:
            self._searcher.serialize(tmp, relative_path=True)
            with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
                for entry in sorted(Path(tmp).iterdir()):
                    if entry.name != _DATASET:
                        zf.write(entry, entry.name)
                ids = io.BytesIO()
                np.save(ids, self.ids.astype("<i8"))
                zf.writestr(_IDS, ids.getvalue())
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes, vectors_of: Callable[[np.ndarray], np.ndarray]
                   ) -> ScannLayer:
        """Load a layer written by :meth:`to_bytes`; ``vectors_of(ids)`` gives the
        float32 vectors of its rows (zeros for faces removed since)."""
        ops = _scann()
        try:
            with tempfile.TemporaryDirectory(prefix="faceatlas-scann-") as tmp, \
                    zipfile.ZipFile(io.BytesIO(blob)) as zf:
                zf.extractall(tmp)
                ids = np.load(Path(tmp) / _IDS).astype(np.int64)
                np.save(Path(tmp) / _DATASET, np.ascontiguousarray(vectors_of(ids), np.float32))
                with _quiet_stderr():
                    searcher = ops.load_searcher(tmp)
        except (zipfile.BadZipFile, OSError, ValueError, KeyError, RuntimeError) as exc:
            raise IndexFileError(f"the saved ScaNN layer cannot be read ({exc})") from exc
        return cls(ids, searcher)
