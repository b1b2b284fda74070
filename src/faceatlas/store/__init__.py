"""The catalog of a photo library: the source of truth for images, faces, embeddings,
people and user decisions. Callers use the :class:`CatalogStore` interface;
:func:`open_store` returns the SQLite implementation (``catalog.sqlite`` in the library
folder) or, given a ``postgresql://`` URL (argument or ``$FACEATLAS_STORE``), the
PostgreSQL + pgvector one (:mod:`faceatlas.store.postgres`, extra ``postgres``)."""

import os
from pathlib import Path

from .base import (
    CatalogError,
    CatalogState,
    CatalogStore,
    ConstraintError,
    Decision,
    DiskFullError,
    Erasure,
    ErasureCounts,
    FaceFilter,
    FaceRecord,
    ImageInfo,
    ImageRecord,
    NewFace,
    NotFace,
    OptOutTemplate,
    Person,
    SaveResult,
    StaleCatalogError,
)
from .sqlite import SQLiteStore

CATALOG_FILE = "catalog.sqlite"
#: Environment variable naming the catalog's URL (``postgresql://...``); unset: SQLite.
STORE_ENV = "FACEATLAS_STORE"


def store_url(url: str | None = None) -> str | None:
    """The catalog URL in effect: ``url`` (``--store``), else ``$FACEATLAS_STORE``, else
    None (the library folder's SQLite file). Anything but a PostgreSQL URL is refused."""
    chosen = url or os.environ.get(STORE_ENV) or None
    if chosen is None:
        return None
    if not chosen.startswith(("postgresql://", "postgres://")):
        raise CatalogError(f"unknown catalog store {chosen!r}: give a postgresql://USER@HOST/DB "
                           f"URL (--store or ${STORE_ENV}), or leave it unset for SQLite")
    return chosen


def open_store(library: Path, url: str | None = None) -> CatalogStore:
    """Open (creating if needed) the catalog of the library folder ``library``: its SQLite
    file, or the PostgreSQL database at ``url`` / ``$FACEATLAS_STORE``."""
    chosen = store_url(url)
    if chosen is not None:
        from .postgres import PostgresStore  # optional extra, imported only when used

        return PostgresStore(chosen)
    return SQLiteStore(Path(library) / CATALOG_FILE)


__all__ = ["CATALOG_FILE", "STORE_ENV", "CatalogError", "CatalogState", "CatalogStore",
           "ConstraintError", "Decision", "DiskFullError",
           "Erasure", "ErasureCounts", "FaceFilter", "FaceRecord", "ImageInfo", "ImageRecord",
           "NewFace", "NotFace", "OptOutTemplate", "Person", "SQLiteStore", "SaveResult",
           "StaleCatalogError", "open_store", "store_url"]
