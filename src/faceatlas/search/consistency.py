"""Keep a saved index in step with the catalog it was built from.

The catalog (the SQLite store) is the source of truth: it knows which face ids exist
and which model embedded them. :func:`open_index` opens the index file, compares it
with those, and rebuilds it from the catalog's vectors when anything disagrees.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .base import IndexFileError, VectorError
from .faiss_index import FaissIndex, as_ids
from .persist import ids_checksum, read_manifest

#: Yields (ids, vectors) batches of every face in the catalog.
VectorLoader = Callable[[], Iterable[tuple[np.ndarray, np.ndarray]]]


@dataclass
class OpenedIndex:
    """An index in step with the catalog, and why it was (or was not) rebuilt."""

    index: FaissIndex
    rebuilt: bool
    reason: str


def check_index_file(path: Path, ids: np.ndarray, model: str) -> str | None:
    """Why the index file at ``path`` does not match the catalog's ``ids`` and
    ``model``, or ``None`` when its manifest agrees (reads the header only)."""
    path = Path(path)
    if not path.exists():
        return "missing"
    try:
        manifest = read_manifest(path)
    except IndexFileError as exc:
        return f"unreadable: {exc}"
    if manifest.get("model") != model:
        return f"model differs (index '{manifest.get('model')}', catalog '{model}')"
    if int(manifest.get("count", -1)) != len(np.unique(ids)):
        return f"count differs (index {manifest.get('count')}, catalog {len(np.unique(ids))})"
    if manifest.get("ids_sha256") != ids_checksum(ids):
        return "ids differ"
    return None


def open_index(path: Path, ids: np.ndarray, model: str, loader: VectorLoader, *,
               save: bool = True, **index_options: Any) -> OpenedIndex:
    """Open the index at ``path`` if it matches the catalog (``ids``, ``model``);
    otherwise rebuild it from ``loader`` (and save it unless ``save=False``).

    Missing, truncated, corrupt, other-model and out-of-date files are all rebuilt.
    ``index_options`` go to :class:`FaissIndex` for a rebuild (kind, compression...).
    """
    path = Path(path)
    ids = as_ids(ids)
    reason = check_index_file(path, ids, model)
    if reason is None:
        try:
            return OpenedIndex(FaissIndex.load(path, model=model), False, "up to date")
        except IndexFileError as exc:
            reason = f"unreadable: {exc}"
    index = build_index(ids, model, loader, **index_options)
    if save:
        index.save(path)
    return OpenedIndex(index, True, reason)


def build_index(ids: np.ndarray, model: str, loader: VectorLoader,
                **index_options: Any) -> FaissIndex:
    """A new index of every (ids, vectors) batch ``loader`` yields, checked against
    the catalog's ``ids``."""
    batches = [(as_ids(i), np.asarray(v, dtype=np.float32)) for i, v in loader()]
    dim = next((v.shape[1] for _, v in batches if v.ndim == 2), 128)
    index = FaissIndex(dim=int(index_options.pop("dim", dim)), model=model, **index_options)
    if batches:
        # one add: an auto index goes straight to the kind its final size needs
        index.add(np.concatenate([i for i, _ in batches]),
                  np.concatenate([v for _, v in batches]))
    if ids_checksum(index.ids()) != ids_checksum(ids):
        raise VectorError("the vector loader did not return exactly the catalog's face ids")
    return index
