"""Photo libraries: indexing folders into the catalog (:mod:`faceatlas.store`) and the
vector indexes, then enrolling, identifying and searching faces in them.

The names below are imported on first use (the vector indexes load faiss)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_getattr

if TYPE_CHECKING:
    from .core import Library
    from .indexer import Indexer, IndexSummary

_LAZY = {"Library": ".core", "Indexer": ".indexer", "IndexSummary": ".indexer"}

__all__ = ["IndexSummary", "Indexer", "Library"]


__getattr__ = lazy_getattr(__name__, _LAZY, globals())
