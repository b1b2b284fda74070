"""Vector indexes of a library: derived data, one per embedding model, in ``index/``.

Each index file carries its own manifest in its header (model, dimension, id count and
a checksum of the ids, see :mod:`faceatlas.search.persist`). When a model's index is
first used it is compared with the catalog's embeddings of that model
(:func:`faceatlas.search.open_index`); on any disagreement (a crash between a catalog
commit and the index save, a deleted, truncated or corrupt file, a change made by another
program) it is rebuilt from the catalog. The catalog is never changed here.

Writers change the catalog first and the index second (adds after the commit, with the
index opened before it), and save the indexes at the end of their work.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..search import FaissIndex, VectorIndex, open_index
from ..store import CatalogStore


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


class VectorIndexes:
    """The per-model vector indexes of one library."""

    def __init__(self, folder: Path, store: CatalogStore) -> None:
        self.folder = Path(folder)
        self.store = store
        self._open: dict[str, VectorIndex] = {}
        self._dirty: set[str] = set()
        self.checks: dict[str, IndexCheck] = {}

    def get(self, model: str) -> VectorIndex | None:
        """The index of ``model`` in step with the catalog (checked, and rebuilt if needed,
        on first use); None while the catalog holds no embedding of that model."""
        if model in self._open:
            return self._open[model]
        if model not in self.store.embedding_models():
            return None
        in_database = getattr(self.store, "vector_index", None)
        if in_database is not None:  # PostgreSQL: pgvector's index, searched in SQL
            found: VectorIndex | None = in_database(model)
            if found is not None:
                self.checks[model] = IndexCheck(model, False, "in the database", len(found))
                self._open[model] = found
            return found
        ids = self.store.face_ids(model)

        def loader() -> Iterator[tuple[np.ndarray, np.ndarray]]:
            return self.store.embeddings(model)

        opened = open_index(index_file(self.folder, model), ids, model, loader)
        self.checks[model] = IndexCheck(model, opened.rebuilt, opened.reason, len(opened.index))
        self._open[model] = opened.index
        return opened.index

    def add(self, model: str, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add new faces' vectors; call :meth:`get` before committing them to the catalog
        (so a first check does not already count them)."""
        if not len(ids):
            return
        vecs = np.asarray(vectors, np.float32)
        index = self._open.get(model)
        if index is None:
            in_database = getattr(self.store, "vector_index", None)
            found = in_database(model) if in_database is not None else None
            if found is not None:  # the committed vectors are already in its index
                self._open[model] = found
                return
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
        """Write the changed indexes (each atomically; an index held by the database has
        nothing to write)."""
        for model in sorted(self._dirty):
            if getattr(self._open[model], "kind", None) == "pgvector":
                continue
            self.folder.mkdir(parents=True, exist_ok=True)
            self._open[model].save(index_file(self.folder, model))
        self._dirty.clear()
