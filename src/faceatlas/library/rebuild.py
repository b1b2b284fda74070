"""Rebuilding every vector index of a library from its catalog.

Used after erasures (a removed vector must not linger in an index file, even as a
tombstone), after a model migration and after an import: each model's index is built
afresh from the catalog and written atomically; index files of models the catalog no
longer holds, and any other file in ``index/`` (leftover temporary files of interrupted
saves, which may hold old vectors), are deleted.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..search import build_index
from .core import Library
from .vectors import VectorIndexes, index_file


def rebuild_indexes(library: Library) -> dict[str, int]:
    """Rebuild every model's index from the catalog; returns ``{model: vectors}``.

    The library's open indexes are dropped (a later :meth:`Library.close` saves nothing
    stale)."""
    store = library.store
    folder = library.vectors.folder
    counts: dict[str, int] = {}
    keep = set()
    in_database = getattr(store, "vector_index", None) is not None
    for model in store.embedding_models():
        ids = store.face_ids(model)
        if in_database:  # PostgreSQL: the HNSW index is rebuilt by VACUUM FULL (scrub)
            counts[model] = len(ids)
            continue

        def loader(m: str = model) -> Iterator[tuple[np.ndarray, np.ndarray]]:
            return store.embeddings(m)

        index = build_index(ids, model, loader)
        path = index_file(folder, model)
        index.save(path)
        keep.add(path.name)
        counts[model] = len(index)
    if folder.is_dir():
        for entry in folder.iterdir():
            if entry.name not in keep and (entry.is_file() or entry.is_symlink()):
                entry.unlink()
    library.vectors = VectorIndexes(folder, store)
    return counts
