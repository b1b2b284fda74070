"""Vector indexes of a library: derived data, one per embedding model, in ``index/``.

Each index file carries its own manifest in its header (model, dimension, id count and
a checksum of the ids, see :mod:`faceatlas.search.persist`). When a model's index is
first used it is compared with the catalog's embeddings of that model
(:func:`faceatlas.search.open_index`); on any disagreement (a crash between a catalog
commit and the index save, a deleted, truncated or corrupt file, a change made by another
program) it is rebuilt from the catalog. The catalog is never changed here.

Writers change the catalog first and the index second (adds after the commit, with the
index opened before it), and save the indexes at the end of their work.

Other processes may change the catalog meanwhile (docs/architecture.md, "Coordination
between processes"). Every write in ``index/`` holds the library's index lock
(:func:`~faceatlas.library.locks.index_lock`) and is checked there: an in-memory index
is saved only if its ids are exactly the catalog's at that moment, else it is rebuilt
from the catalog and that is saved. :meth:`VectorIndexes.refresh`, called by long-lived
users at points where no change of theirs is half applied, drops every open index that
no longer matches the catalog once the catalog generation has moved (an erasure
elsewhere), so erased vectors neither answer searches nor come back on disk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..search import FaissIndex, IndexFileError, VectorIndex, build_index, check_index_file
from ..store import CatalogStore
from .locks import index_lock


@dataclass(frozen=True)
class IndexCheck:
    """What opening a model's index found."""

    model: str
    rebuilt: bool
    reason: str
    count: int

    def to_dict(self) -> dict[str, object]:
        return {"model": self.model, "rebuilt": self.rebuilt, "reason": self.reason,
                "count": self.count}


def index_file(folder: Path, model: str) -> Path:
    """Where the index of ``model`` lives in the library's ``index/`` folder."""
    return folder / (re.sub(r"[^A-Za-z0-9._-]+", "_", model) + ".faiss")


def build_from_catalog(store: CatalogStore, model: str) -> FaissIndex:
    """A new index of every embedding of ``model`` the catalog holds, read once (the ids
    are those of the vectors read, so writers elsewhere cannot make it disagree)."""
    batches = list(store.embeddings(model))
    ids = np.concatenate([i for i, _ in batches]) if batches else np.empty(0, np.int64)
    return build_index(ids, model, lambda: batches)


class VectorIndexes:
    """The per-model vector indexes of one library."""

    def __init__(self, folder: Path, store: CatalogStore) -> None:
        self.folder = Path(folder)
        self.store = store
        self._open: dict[str, VectorIndex] = {}
        self._dirty: set[str] = set()
        self._generation: int | None = None  # catalog generation the open ones match
        self.checks: dict[str, IndexCheck] = {}

    def get(self, model: str) -> VectorIndex | None:
        """The index of ``model`` in step with the catalog (checked, and rebuilt if needed,
        on first use); None while the catalog holds no embedding of that model."""
        if model in self._open:
            return self._open[model]
        if self._generation is None:
            self._generation = self.store.catalog_state().generation
        if model not in self.store.embedding_models():
            return None
        ids = self.store.face_ids(model)
        path = index_file(self.folder, model)
        reason = check_index_file(path, ids, model)
        index: VectorIndex | None = None
        if reason is None:
            try:
                index = FaissIndex.load(path, model=model)
            except IndexFileError as exc:
                reason = f"unreadable: {exc}"
            else:
                if not np.array_equal(index.ids(), ids):  # replaced since it was checked
                    index, reason = None, "replaced while opened"
        if index is None:
            index = build_from_catalog(self.store, model)
            self._open[model] = index
            self._write(model)
            index = self._open[model]
        self.checks[model] = IndexCheck(model, reason is not None, reason or "up to date",
                                        len(index))
        self._open[model] = index
        return index

    def refresh(self) -> None:
        """If the catalog generation moved since the open indexes were checked, drop those
        whose ids are no longer exactly the catalog's (they are reopened, and rebuilt if
        needed, on next use). Call it where no change of the caller is half applied (not
        between a catalog commit and the matching :meth:`add`/:meth:`remove`)."""
        generation = self.store.catalog_state().generation
        if generation == self._generation:
            return
        for model in list(self._open):
            if not np.array_equal(self._open[model].ids(), self.store.face_ids(model)):
                del self._open[model]
                self._dirty.discard(model)
        self._generation = generation

    def advance(self, before: int, after: int) -> None:
        """The caller's own change moved the catalog generation from ``before`` to
        ``after`` (a transaction that checked ``before`` first) and is applied to the open
        indexes: no check is needed for it."""
        if self._generation == before:
            self._generation = after

    def _write(self, model: str) -> None:
        """Save the open index of ``model`` under the index lock, after checking it
        against the catalog (a stale one is rebuilt from the catalog first)."""
        with index_lock(self.folder.parent):
            index = self._open[model]
            if not np.array_equal(index.ids(), self.store.face_ids(model)):
                index = self._open[model] = build_from_catalog(self.store, model)
            self.folder.mkdir(parents=True, exist_ok=True)
            index.save(index_file(self.folder, model))

    def add(self, model: str, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add new faces' vectors; call :meth:`get` before committing them to the catalog
        (so a first check does not already count them)."""
        if not len(ids):
            return
        vecs = np.asarray(vectors, np.float32)
        index = self._open.get(model)
        if index is None:
            index = self._open[model] = FaissIndex(dim=int(vecs.shape[1]), model=model)
        index.add(np.asarray(ids, np.int64), vecs)
        self._dirty.add(model)

    def remove(self, ids: np.ndarray | list[int]) -> None:
        """Drop deleted faces from every model's index."""
        arr = np.asarray(ids, np.int64)
        if not arr.size:
            return
        for model in sorted(set(self.store.embedding_models()) | set(self._open)):
            index = self.get(model) if model not in self._open else self._open[model]
            if index is not None:
                index.remove(arr)
                self._dirty.add(model)

    def save(self) -> None:
        """Write the changed indexes (each atomically, checked against the catalog under
        the index lock)."""
        for model in sorted(self._dirty):
            if model in self._open:
                self._write(model)
        self._dirty.clear()
