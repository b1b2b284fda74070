"""Photo libraries: indexing folders into the catalog (:mod:`faceatlas.store`) and the
vector indexes, then enrolling, identifying and searching faces in them.

The names below are imported on first use (the vector indexes load faiss)."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .core import Library
    from .indexer import Indexer, IndexSummary

_LAZY = {"Library": ".core", "Indexer": ".indexer", "IndexSummary": ".indexer"}

__all__ = ["IndexSummary", "Indexer", "Library"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value
