"""Rebuilding every vector index of a library from its catalog.

Used after erasures (a removed vector must not linger in an index file, even as a
tombstone), after a model migration and after an import: each model's index is built
afresh from the catalog and written atomically; index files of models the catalog no
longer holds, and any other file in ``index/`` (leftover temporary files of interrupted
saves, which may hold old vectors), are deleted. All of it holds the library's index
lock, so no other process is writing in ``index/`` meanwhile: the temporary files
deleted are those of processes that died while saving, never one being written.
"""

from __future__ import annotations

from .core import Library
from .locks import index_lock
from .vectors import VectorIndexes, build_from_catalog, index_file


def rebuild_indexes(library: Library) -> dict[str, int]:
    """Rebuild every model's index from the catalog; returns ``{model: vectors}``.

    The library's open indexes are dropped (a later :meth:`Library.close` saves nothing
    stale)."""
    store = library.store
    folder = library.vectors.folder
    counts: dict[str, int] = {}
    keep = set()
    with index_lock(library.root):
        for model in store.embedding_models():
            index = build_from_catalog(store, model)
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
