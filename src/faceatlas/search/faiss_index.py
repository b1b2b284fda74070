"""A faiss-backed :class:`~faceatlas.search.base.VectorIndex` for unit face embeddings.

Small galleries are searched exactly (``IndexFlatIP`` inside ``IndexIDMap2``). Once a
gallery grows past ``EXACT_MAX`` faces, ``kind="auto"`` moves to an approximate kind:

* ``scann`` (the default where the ``scann`` package is installed): the exact store
  stays the source of the vectors and a ScaNN layer answers queries
  (:mod:`faceatlas.search.scann_layer`);
* ``hnsw``: the gallery is rebuilt as a faiss HNSW graph, optionally with compressed
  storage (float16, 8-bit scalar quantiser or product quantiser), built through
  ``faiss.index_factory``. HNSW cannot delete nodes, so removed ids become tombstones
  that are excluded at query time (an ``IDSelectorNot``) and the graph is rebuilt
  without them once they exceed ``TOMBSTONE_REBUILD_FRACTION`` of it.

Why these, and the thresholds: see ``bench/vector_search.py`` and the "Vector search"
section of ``docs/benchmarks.md``. On identity-clustered embeddings the true top-10 of a
query mixes its identity's faces with near-random impostors, which IVF only finds by
probing most lists; at 1M faces ScaNN reached recall@10 0.99 three times faster than
HNSW, and HNSW far faster than IVF.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import faiss as _faiss
import numpy as np

from ..types import Embedding, check_same_model
from .base import IndexFileError, VectorError
from .filtering import choose_strategy, overfetch
from .persist import ids_checksum, read_index_file, write_index_file
from .scann_layer import REBUILD_FRACTION, SCANN_MIN, SEARCH_FRACTION, ScannLayer, scann_available

Kind = Literal["auto", "exact", "hnsw", "scann"]
Resolved = Literal["exact", "hnsw", "scann"]
Compression = Literal["none", "fp16", "sq8", "pq"]

#: Galleries up to this many faces are searched exactly; above it ``auto`` switches to
#: ScaNN (or HNSW). An exact query costs 0.7 ms here on one thread with recall 1.0; at
#: 100k it costs 1.9 ms, where ScaNN answers in 0.18 ms at recall@10 0.99
#: (bench/vector_search.py).
EXACT_MAX = 50_000
#: HNSW neighbours per node (graph degree) and build beam width. A beam of 200 instead of
#: 40 took recall@10 at 1M faces from 0.918 to 0.981 at efSearch 512, for a 1.8x build.
HNSW_M = 32
EF_CONSTRUCTION = 200
#: Default HNSW search beam: the smallest of bench/vector_search.py's sweep that reaches
#: recall@10 >= 0.99 at 1M faces (0.962 at 256, 0.981 at 512, 0.993 at 1024).
EF_SEARCH = 1024
#: A ``scann`` index answers fetches of more than 1/``FULL_SCAN_SHARE`` of its faces
#: from its exact store.
FULL_SCAN_SHARE = 8
#: Rebuild an HNSW graph once tombstones exceed this fraction of its nodes.
TOMBSTONE_REBUILD_FRACTION = 0.2
#: Product-quantiser sub-vectors (bytes per face) for ``compression="pq"``.
PQ_BYTES = 32
#: Vectors needed to train a compressed storage, and the sample size used for training.
MIN_TRAIN = {"none": 0, "fp16": 0, "sq8": 1_000, "pq": 10_000}
TRAIN_SAMPLE = 200_000
_NORM_TOLERANCE = 1e-2

# faiss's bundled stubs miss most of the SWIG API (HNSW params, id_map...)
faiss: Any = _faiss


def factory_string(kind: Resolved, compression: Compression = "none",
                   hnsw_m: int = HNSW_M) -> str:
    """The ``faiss.index_factory`` string of an index kind and compression (a ``scann``
    index keeps its vectors in an exact store)."""
    if kind in ("exact", "scann"):
        if compression != "none":
            raise VectorError(f"{kind} indexes keep float32 vectors: use kind='hnsw' to "
                              "compress")
        return "IDMap2,Flat"
    storage = {"none": "", "fp16": "_SQfp16", "sq8": "_SQ8", "pq": f"_PQ{PQ_BYTES}"}
    if compression not in storage:
        raise VectorError(f"unknown compression '{compression}': use none, fp16, sq8 or pq")
    return f"IDMap2,HNSW{hnsw_m}{storage[compression]}"


def as_unit_vectors(vectors: np.ndarray, dim: int, what: str = "vectors") -> np.ndarray:
    """``vectors`` as a C-contiguous float32 (n, dim) array of unit rows, or raise."""
    arr = np.asarray(vectors, dtype=np.float32)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != dim:
        raise VectorError(f"{what} must have shape (n, {dim}), got {tuple(arr.shape)}")
    if arr.size and not np.isfinite(arr).all():
        raise VectorError(f"{what} contain NaN or infinite values")
    norms = np.linalg.norm(arr, axis=1)
    if arr.size and np.abs(norms - 1.0).max() > _NORM_TOLERANCE:
        raise VectorError(f"{what} must be L2-normalised (unit length) embeddings")
    return np.ascontiguousarray(arr)


def as_ids(ids: np.ndarray) -> np.ndarray:
    """``ids`` as a 1-D int64 array."""
    arr = np.asarray(ids)
    if arr.ndim != 1 or (arr.size and not np.issubdtype(arr.dtype, np.integer)):
        raise VectorError("ids must be a 1-D array of integers")
    return arr.astype(np.int64, copy=False)


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """``np.unique(values)``, without its sort when ``values`` already increase strictly
    (filters usually come sorted: sorting 100k ids cost more than the search)."""
    if values.size < 2 or bool((values[1:] > values[:-1]).all()):
        return values
    return np.unique(values)


def _in_sorted(values: np.ndarray, sorted_ref: np.ndarray) -> np.ndarray:
    """Boolean mask: which ``values`` occur in the sorted array ``sorted_ref``."""
    if sorted_ref.size == 0:
        return np.zeros(values.shape, dtype=bool)
    pos = np.searchsorted(sorted_ref, values)
    pos = np.minimum(pos, sorted_ref.size - 1)
    return sorted_ref[pos] == values


class FaissIndex:
    """Top-k cosine search over unit embeddings under int64 ids (see module docs).

    ``kind="auto"`` searches exactly up to ``exact_max`` faces and switches to ScaNN
    above (HNSW where ScaNN is not installed, or with ``compression``); ``"exact"``,
    ``"hnsw"`` and ``"scann"`` pin one kind. ``compression`` applies to the HNSW
    storage; ``scann_fraction`` is the share of ScaNN partitions a query visits.
    ``model`` is the embedding model id the vectors come from; it is saved
    with the index and checked by :meth:`add_embeddings` and :meth:`load`.
    """

    def __init__(self, dim: int = 128, model: str | None = None, kind: Kind = "auto",
                 compression: Compression = "none", *, exact_max: int = EXACT_MAX,
                 ef_search: int = EF_SEARCH, hnsw_m: int = HNSW_M,
                 ef_construction: int = EF_CONSTRUCTION,
                 scann_fraction: float = SEARCH_FRACTION) -> None:
        if kind not in ("auto", "exact", "hnsw", "scann"):
            raise VectorError(f"unknown index kind '{kind}': use auto, exact, hnsw or scann")
        if dim < 1:
            raise VectorError("dim must be positive")
        if not 0.0 < scann_fraction <= 1.0:
            raise VectorError("scann_fraction must be in (0, 1]")
        factory_string("hnsw", compression, hnsw_m)  # validates the compression name
        if kind in ("exact", "scann"):
            factory_string(kind, compression)
        self.dim = int(dim)
        self.model = model
        self.requested_kind: Kind = kind
        self.compression: Compression = compression
        self.exact_max = int(exact_max)
        self.ef_search = int(ef_search)
        self.hnsw_m = int(hnsw_m)
        self.ef_construction = int(ef_construction)
        self.scann_fraction = float(scann_fraction)
        self._kind: Resolved = "exact" if kind == "auto" else kind
        self._index: Any = self._new_index(self._kind)
        self._layer: ScannLayer | None = None
        self._layer_diff: tuple[object, object, np.ndarray, np.ndarray] | None = None
        self._live = np.empty(0, dtype=np.int64)  # sorted live ids
        self._tomb = np.empty(0, dtype=np.int64)  # sorted tombstoned ids (HNSW only)
        self._tomb_sel: tuple[Any, Any] | None = None
        self._live_table: tuple[np.ndarray, np.ndarray] | None = None

    # ------------------------------------------------------------------ state
    @property
    def kind(self) -> Resolved:
        """The kind in use now (``auto`` resolves to one of these by size)."""
        return self._kind

    @property
    def factory(self) -> str:
        """The ``faiss.index_factory`` string of the index in use."""
        comp: Compression = self.compression if self._kind == "hnsw" else "none"
        return factory_string(self._kind, comp, self.hnsw_m)

    @property
    def tombstones(self) -> int:
        """How many removed ids still occupy HNSW nodes."""
        return int(self._tomb.size)

    def __len__(self) -> int:
        return int(self._live.size)

    def ids(self) -> np.ndarray:
        """Every live id, sorted, int64."""
        return self._live.copy()

    def __contains__(self, face_id: object) -> bool:
        if not isinstance(face_id, int | np.integer):
            return False
        return bool(_in_sorted(np.array([face_id], dtype=np.int64), self._live)[0])

    def _is_live(self, values: np.ndarray) -> np.ndarray:
        """Boolean mask: which ``values`` are live ids. Dense ids (a catalog's row ids)
        are looked up in a table built once per state of the id set, else by binary
        search."""
        live = self._live
        if live.size == 0:
            return np.zeros(values.shape, dtype=bool)
        lo, hi = int(live[0]), int(live[-1])
        if hi - lo > 4 * live.size + 1024:
            return _in_sorted(values, live)
        if self._live_table is None or self._live_table[0] is not live:
            table = np.zeros(hi - lo + 1, dtype=bool)
            table[live - lo] = True
            self._live_table = (live, table)
        table = self._live_table[1]
        rel = values - lo
        inside = (rel >= 0) & (rel < table.size)
        out = np.zeros(values.shape, dtype=bool)
        out[inside] = table[rel[inside]]
        return out

    def manifest(self) -> dict[str, Any]:
        """What :meth:`save` records next to the vectors."""
        return {"kind": self._kind, "requested_kind": self.requested_kind,
                "factory": self.factory, "compression": self.compression,
                "dim": self.dim, "count": len(self), "ids_sha256": ids_checksum(self._live),
                "model": self.model, "exact_max": self.exact_max,
                "ef_search": self.ef_search, "hnsw_m": self.hnsw_m,
                "ef_construction": self.ef_construction, "scann_fraction": self.scann_fraction}

    # --------------------------------------------------------------- building
    def _new_index(self, kind: Resolved) -> Any:
        comp: Compression = self.compression if kind == "hnsw" else "none"
        index = faiss.index_factory(self.dim, factory_string(kind, comp, self.hnsw_m),
                                    faiss.METRIC_INNER_PRODUCT)
        if kind == "hnsw":
            hnsw = faiss.downcast_index(index.index)
            hnsw.hnsw.efConstruction = self.ef_construction
            if comp == "pq":
                # polysemous training orders codes for Hamming-distance filtering, which
                # HNSW never uses; it made training ~10x slower
                faiss.downcast_index(hnsw.storage).do_polysemous_training = False
        return index

    def _train(self, index: Any, vectors: np.ndarray) -> None:
        if index.is_trained:
            return
        need = MIN_TRAIN[self.compression]
        if len(vectors) < need:
            raise VectorError(
                f"'{self.compression}' compression needs at least {need} vectors to train "
                f"on, got {len(vectors)}: add more at once or use kind='auto'")
        if len(vectors) > TRAIN_SAMPLE:
            pick = np.random.default_rng(0).choice(len(vectors), TRAIN_SAMPLE, replace=False)
            vectors = vectors[np.sort(pick)]
        index.train(vectors)

    def _rebuild(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Replace the index by a fresh one of the kind suited to ``len(ids)``."""
        kind: Resolved
        if self.requested_kind == "auto":
            # hysteresis: an ANN gallery only goes back to exact below half the threshold
            limit = self.exact_max // 2 if self._kind != "exact" else self.exact_max
            ann: Resolved = ("scann" if self.compression == "none" and scann_available()
                             else "hnsw")
            kind = ann if len(ids) > limit else "exact"
        else:
            kind = self.requested_kind
        index = self._new_index(kind)
        if len(ids):
            self._train(index, vectors)
            index.add_with_ids(vectors, ids)
        self._index, self._kind = index, kind
        self._live = np.sort(ids)
        self._tomb = np.empty(0, dtype=np.int64)
        self._tomb_sel = None
        self._layer = None

    def _stored(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of every live entry, decoded from the index storage."""
        n = int(self._index.ntotal)
        if n == 0:
            return np.empty(0, np.int64), np.empty((0, self.dim), np.float32)
        all_ids = faiss.vector_to_array(self._index.id_map).astype(np.int64)
        vectors = self._index.index.reconstruct_n(0, n)
        keep = ~_in_sorted(all_ids, self._tomb)
        return all_ids[keep], vectors[keep]

    def vectors(self, ids: np.ndarray) -> np.ndarray:
        """The stored vectors of these live ids (decoded: lossy if compressed)."""
        ids = as_ids(ids)
        if not _in_sorted(ids, self._live).all():
            raise VectorError("some ids are not in the index")
        if ids.size == 0:
            return np.empty((0, self.dim), np.float32)
        return np.asarray(self._index.reconstruct_batch(ids), dtype=np.float32)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add unit vectors (n, dim) under new int64 ids (n,)."""
        ids = as_ids(ids)
        vectors = as_unit_vectors(vectors, self.dim)
        if len(ids) != len(vectors):
            raise VectorError(f"{len(ids)} ids for {len(vectors)} vectors")
        if ids.size == 0:
            return
        if np.unique(ids).size != ids.size:
            raise VectorError("ids passed to add() contain duplicates")
        if _in_sorted(ids, self._live).any():
            raise VectorError("some ids are already in the index: remove them first")
        if _in_sorted(ids, self._tomb).any():
            self.compact()  # a tombstoned id is coming back: drop its old node first
        grow_to_ann = (self.requested_kind == "auto" and self._kind == "exact"
                       and len(self) + len(ids) > self.exact_max)
        if grow_to_ann or not self._index.is_trained:
            old_ids, old_vectors = self._stored()
            self._rebuild(np.concatenate([old_ids, ids]),
                          np.concatenate([old_vectors, vectors]))
            return
        self._index.add_with_ids(vectors, ids)
        if self._layer is not None and _in_sorted(ids, self._layer.sorted_ids).any():
            self._layer = None  # an id of the snapshot came back with a new vector
        order = np.sort(ids)
        self._live = np.insert(self._live, np.searchsorted(self._live, order), order)

    def add_embeddings(self, ids: np.ndarray, embeddings: Sequence[Embedding]) -> None:
        """Add :class:`~faceatlas.types.Embedding` objects, refusing mixed models."""
        if not embeddings:
            return
        for emb in embeddings:
            check_same_model(embeddings[0].model, emb.model)
        if self.model is None:
            self.model = embeddings[0].model
        check_same_model(self.model, embeddings[0].model)
        self.add(ids, np.stack([e.vector for e in embeddings]))

    def remove(self, ids: np.ndarray) -> None:
        """Remove these ids (unknown ids are ignored)."""
        ids = np.unique(as_ids(ids))
        ids = ids[_in_sorted(ids, self._live)]
        if ids.size == 0:
            return
        self._live = self._live[~_in_sorted(self._live, ids)]
        if self._kind != "hnsw":  # exact store (a ScaNN layer filters removed ids)
            self._index.remove_ids(faiss.IDSelectorBatch(ids))
            return
        self._tomb = np.union1d(self._tomb, ids)
        self._tomb_sel = None
        if self._tomb.size > TOMBSTONE_REBUILD_FRACTION * self._index.ntotal:
            self.compact()

    def compact(self) -> None:
        """Rebuild without tombstones (and with the kind suited to the current size)."""
        self._rebuild(*self._stored())

    # -------------------------------------------------------------- searching
    def _params(self, k: int, sel: Any = None) -> Any:
        if self._kind == "hnsw":
            return faiss.SearchParametersHNSW(efSearch=max(self.ef_search, k), sel=sel)
        return faiss.SearchParameters(sel=sel) if sel is not None else None

    def _tomb_selector(self) -> Any:
        if self._tomb.size == 0:
            return None
        if self._tomb_sel is None:
            inner = faiss.IDSelectorBatch(self._tomb)
            self._tomb_sel = (inner, faiss.IDSelectorNot(inner))
        return self._tomb_sel[1]

    def _raw_search(self, queries: np.ndarray, k: int, sel: Any = None
                    ) -> tuple[np.ndarray, np.ndarray]:
        sims, labels = self._index.search(queries, k, params=self._params(k, sel))
        return sims, labels

    def search(self, queries: np.ndarray, k: int,
               allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (similarities, ids), each (q, k), best first; missing slots have id -1
        and similarity -inf. ``allowed`` restricts results to those ids; see
        :mod:`faceatlas.search.filtering` for how the strategy is chosen."""
        queries = as_unit_vectors(queries, self.dim, "queries")
        if k < 1:
            raise VectorError("k must be at least 1")
        nq = len(queries)
        if allowed is not None:
            return self._filtered(queries, k, as_ids(allowed))
        if len(self) == 0 or nq == 0:
            return _empty(nq, k)
        sims, labels = self._unfiltered(queries, min(k, int(self._index.ntotal)))
        return _pad(sims, labels, k)

    def _unfiltered(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k of every live id (``k`` <= stored count): the ScaNN layer merged with
        the faces added since it was built, or the faiss index."""
        layer = self._current_layer()
        if layer is None or k * FULL_SCAN_SHARE >= len(self):
            # a fetch this wide (post-filtering a small allowed set) costs a full scan
            # anyway: the exact store gives it without the partitions' misses
            return self._raw_search(queries, k, self._tomb_selector())
        stale, fresh = self._diff(layer)
        want = min(k, len(layer) - stale.size)
        fetch = min(len(layer), k + min(stale.size, 3 * k))
        while True:
            sims, labels = layer.search(queries, fetch, self.scann_fraction)
            ok = ~_in_sorted(labels, stale)
            if fetch >= len(layer) or bool((ok.sum(axis=1) >= want).all()):
                break
            fetch = min(2 * fetch, len(layer))
        sims, labels = np.where(ok, sims, -np.inf), np.where(ok, labels, -1)
        if fresh.size:
            f_sims, f_ids = exact_search(self.vectors(fresh), queries, k, fresh)
            sims, labels = np.hstack([sims, f_sims]), np.hstack([labels, f_ids])
        order = np.argsort(-sims, axis=1, kind="stable")[:, :k]
        return np.take_along_axis(sims, order, 1), np.take_along_axis(labels, order, 1)

    def _current_layer(self) -> ScannLayer | None:
        """The ScaNN layer of a ``scann`` index, (re)built when missing or too far
        behind; None for other kinds, small galleries, or without ScaNN installed."""
        if self._kind != "scann" or len(self) < SCANN_MIN or not scann_available():
            return None
        layer = self._layer
        if layer is not None:
            stale, fresh = self._diff(layer)
            if stale.size + fresh.size <= REBUILD_FRACTION * len(layer):
                return layer
        self._layer = ScannLayer.build(*self._stored())
        return self._layer

    def _diff(self, layer: ScannLayer) -> tuple[np.ndarray, np.ndarray]:
        """(ids of the layer removed since, live ids added since), cached per state."""
        cached = self._layer_diff
        if cached is None or cached[0] is not layer or cached[1] is not self._live:
            live = self._live
            stale = layer.sorted_ids[~_in_sorted(layer.sorted_ids, live)]
            fresh = live[~_in_sorted(live, layer.sorted_ids)]
            cached = self._layer_diff = (layer, live, stale, fresh)
        return cached[2], cached[3]

    def _filtered(self, queries: np.ndarray, k: int, allowed: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
        allowed = _sorted_unique(allowed)
        allowed = allowed[self._is_live(allowed)]
        nq = len(queries)
        if allowed.size == 0 or nq == 0:
            return _empty(nq, k)
        strategy = choose_strategy(int(allowed.size), len(self), self._kind == "exact")
        if strategy == "subset":
            return self.search_subset(queries, k, allowed)
        if strategy == "prefilter":
            return self.search_prefilter(queries, k, allowed)
        return self.search_postfilter(queries, k, allowed)

    def search_subset(self, queries: np.ndarray, k: int, allowed: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
        """Exact search over the gathered vectors of ``allowed`` (live, unique) ids."""
        return exact_search(self.vectors(allowed), queries, k, allowed)

    def search_prefilter(self, queries: np.ndarray, k: int, allowed: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray]:
        """Index search that only admits ``allowed`` (live, unique) ids."""
        sel = faiss.IDSelectorBatch(allowed)
        sims, labels = self._raw_search(queries, min(k, allowed.size), sel)
        return _pad(sims, labels, k)

    def search_postfilter(self, queries: np.ndarray, k: int, allowed: np.ndarray
                          ) -> tuple[np.ndarray, np.ndarray]:
        """Over-fetch from the unfiltered index, keep ``allowed`` ids, widen until full."""
        n_total = int(self._index.ntotal)
        want = min(k, allowed.size)
        fetch = overfetch(k, allowed.size / max(len(self), 1), n_total)
        out_sims, out_ids = _empty(len(queries), k)
        todo = np.arange(len(queries))
        while todo.size:
            sims, labels = self._unfiltered(queries[todo], fetch)
            ok = _in_sorted(labels, allowed)
            found = ok.sum(axis=1)
            done = (found >= want) | (fetch >= n_total)
            for row in np.flatnonzero(done):
                cols = np.flatnonzero(ok[row])[:k]
                out_sims[todo[row], :cols.size] = sims[row, cols]
                out_ids[todo[row], :cols.size] = labels[row, cols]
            todo = todo[~done]
            fetch = min(fetch * 2, n_total)
        return out_sims, out_ids

    # ------------------------------------------------------------ persistence
    def save(self, path: Path) -> None:
        """Write the index atomically to ``path`` (temp file + rename); a ``scann``
        index brings its layer up to date first and saves it in the same file."""
        payload = faiss.serialize_index(self._index)
        layer = self._current_layer()
        blob = layer.to_bytes() if layer is not None else b""
        if blob:
            payload = np.concatenate([payload, np.frombuffer(blob, np.uint8)])
        write_index_file(Path(path), dict(self.manifest(), ann_bytes=len(blob)), self._tomb,
                         payload)

    def _vectors_or_zeros(self, ids: np.ndarray) -> np.ndarray:
        """Vectors of ``ids``, zero rows for ids no longer live."""
        out = np.zeros((len(ids), self.dim), np.float32)
        live = self._is_live(ids)
        if live.any():
            out[live] = self.vectors(ids[live])
        return out

    @classmethod
    def load(cls, path: Path, model: str | None = None) -> FaissIndex:
        """Read an index saved by :meth:`save`; with ``model``, refuse another model's.
        Raises :class:`~faceatlas.search.base.IndexFileError` on a bad file."""
        path = Path(path)
        manifest, tomb, payload = read_index_file(path)
        ann_bytes = int(manifest.get("ann_bytes", 0))
        blob = payload[payload.size - ann_bytes:].tobytes() if ann_bytes else b""
        payload = payload[:payload.size - ann_bytes]
        if model is not None and manifest.get("model") != model:
            raise IndexFileError(
                f"index '{path}' holds embeddings of model '{manifest.get('model')}', "
                f"not '{model}': rebuild it")
        try:
            index = faiss.deserialize_index(payload)
            out = cls(dim=int(manifest["dim"]), model=manifest.get("model"),
                      kind=manifest["requested_kind"], compression=manifest["compression"],
                      exact_max=int(manifest["exact_max"]),
                      ef_search=int(manifest["ef_search"]), hnsw_m=int(manifest["hnsw_m"]),
                      ef_construction=int(manifest["ef_construction"]),
                      scann_fraction=float(manifest.get("scann_fraction", SEARCH_FRACTION)))
            out._index, out._kind = index, manifest["kind"]
            all_ids = faiss.vector_to_array(index.id_map).astype(np.int64)
        except (KeyError, ValueError, TypeError, RuntimeError, AttributeError) as exc:
            raise IndexFileError(f"index file '{path}' cannot be read ({exc}): rebuild it"
                                 ) from exc
        out._tomb = np.sort(tomb)
        out._live = np.sort(all_ids[~_in_sorted(all_ids, out._tomb)])
        if (index.d != out.dim or out._live.size != int(manifest["count"])
                or ids_checksum(out._live) != manifest["ids_sha256"]):
            raise IndexFileError(f"index file '{path}' disagrees with its manifest: rebuild it")
        if blob and out._kind == "scann" and scann_available():
            out._layer = ScannLayer.from_bytes(blob, out._vectors_or_zeros)
        return out


def _empty(nq: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    return np.full((nq, k), -np.inf, np.float32), np.full((nq, k), -1, np.int64)


def _pad(sims: np.ndarray, labels: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Widen faiss results to k columns; missing slots: id -1, similarity -inf."""
    out_sims, out_ids = _empty(len(sims), k)
    width = min(k, sims.shape[1])
    out_sims[:, :width] = sims[:, :width]
    out_ids[:, :width] = labels[:, :width]
    missing = out_ids < 0
    out_sims[missing] = -np.inf
    return out_sims, out_ids


def exact_search(vectors: np.ndarray, queries: np.ndarray, k: int,
                 ids: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Brute-force top-k inner product with numpy (reference for tests and benchmarks)."""
    sims = queries @ vectors.T
    kk = min(k, vectors.shape[0])
    top = np.argpartition(-sims, kk - 1, axis=1)[:, :kk]
    top_sims = np.take_along_axis(sims, top, axis=1)
    order = np.argsort(-top_sims, axis=1, kind="stable")
    top = np.take_along_axis(top, order, axis=1)
    labels = top if ids is None else np.asarray(ids)[top]
    return _pad(np.take_along_axis(sims, top, axis=1), labels, k)


def recall_at_k(found: np.ndarray, truth: np.ndarray) -> float:
    """Mean fraction of each row of ``truth`` ids (ignoring -1) present in ``found``."""
    hits, total = 0, 0
    for f, t in zip(found, truth, strict=True):
        t = t[t >= 0]
        hits += np.intersect1d(f, t).size
        total += t.size
    return hits / total if total else 1.0

