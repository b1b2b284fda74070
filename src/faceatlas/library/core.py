"""An opened library folder: the catalog plus its derived vector indexes.

Layout of a library folder (``--library DIR``, ``$FACEATLAS_LIBRARY``, default
``$FACEATLAS_HOME/library``)::

    catalog.sqlite          the catalog (source of truth), see faceatlas.store
    index/<model>.faiss     vector index of one model's embeddings (derived data; its
                            header records the model, id count and ids checksum)
    receipts/               erasure receipts (faceatlas.privacy), no biometric data
    library.lock            held shared by every process that has the library open
    index.lock              held while a process writes in index/ (see .locks)

Several processes may open one library at once (docs/architecture.md, "Coordination
between processes").
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import TypeVar

from ..config import library_dir
from ..errors import FaceAtlasError, NotFoundError
from ..store import CATALOG_FILE, CatalogStore, open_store, store_url
from .locks import FileLock, library_lock
from .vectors import VectorIndexes

T = TypeVar("T")


class Library:
    """A photo library: ``store`` (catalog) and ``vectors`` (per-model indexes)."""

    def __init__(self, root: Path, store: CatalogStore, lock: FileLock | None = None) -> None:
        self.root = root
        self.store = store
        self.lock = lock
        self.vectors = VectorIndexes(root / "index", store)
        self._memo: dict[Hashable, tuple[Hashable, object]] = {}
        self._memo_lock = threading.Lock()

    def memo(self, key: Hashable, stamp: Hashable, build: Callable[[], T]) -> T:
        """The value built by ``build`` for ``key``, kept in this object while ``stamp``
        (e.g. the catalog's generation and revision counters) is the same: a long-lived
        process (the REST service) reuses derived data such as identify's gallery until
        the catalog changes under it. A value built from a catalog read after ``stamp``
        only risks one needless rebuild, never a stale answer."""
        with self._memo_lock:
            hit = self._memo.get(key)
        if hit is not None and hit[0] == stamp:
            return hit[1]  # type: ignore[return-value]
        value = build()
        with self._memo_lock:
            self._memo[key] = (stamp, value)
        return value

    @classmethod
    def open(cls, library: str | os.PathLike[str] | None = None,
             create: bool = True, store: str | None = None) -> Library:
        """Open the library folder (``--library``/``$FACEATLAS_LIBRARY``/default); with
        ``create=False`` a missing library is an error rather than made empty. The catalog
        is the folder's SQLite file unless ``store`` (``--store``) or ``$FACEATLAS_STORE``
        names a PostgreSQL database; the folder then keeps only local files (vector index
        files, receipts)."""
        root = library_dir(library)
        url = store_url(store)
        if not create and url is None and not (root / CATALOG_FILE).is_file():
            raise NotFoundError(f"no library at {root}: index photos first with "
                                 f"`faceatlas index FOLDER --library {root}`")
        if root.exists() and not root.is_dir():
            raise FaceAtlasError(f"{root}: is a file, not a library folder")
        lock = library_lock(root)
        if create or root.is_dir():
            lock.acquire(exclusive=False)  # waits only while the library is being replaced
        try:
            return cls(root, open_store(root, url), lock)
        except BaseException:
            lock.release()
            raise

    def close(self) -> None:
        """Save changed vector indexes and close the catalog."""
        try:
            self.vectors.save()
        finally:
            try:
                self.store.close()
            finally:
                if self.lock is not None:
                    self.lock.release()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
