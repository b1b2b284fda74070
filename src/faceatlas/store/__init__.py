"""The catalog of a photo library: the source of truth for images, faces, embeddings,
people and user decisions. Callers use the :class:`CatalogStore` interface;
:func:`open_store` returns the SQLite implementation."""

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


def open_store(library: Path) -> CatalogStore:
    """Open (creating if needed) the catalog of the library folder ``library``."""
    return SQLiteStore(Path(library) / CATALOG_FILE)


__all__ = ["CATALOG_FILE", "CatalogError", "CatalogState", "CatalogStore", "ConstraintError",
           "Decision", "DiskFullError",
           "Erasure", "ErasureCounts", "FaceFilter", "FaceRecord", "ImageInfo", "ImageRecord",
           "NewFace", "NotFace", "OptOutTemplate", "Person", "SQLiteStore", "SaveResult",
           "StaleCatalogError", "open_store"]
