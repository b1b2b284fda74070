"""Relations: who appears with whom, when and how often, from a photo library.

The names below are imported on first use (the graph loads networkx)."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .errors import RelationsError, UnknownPersonError

if TYPE_CHECKING:
    from .graph import RelationGraph
    from .occurrences import CsvOccurrences, Occurrence, OccurrenceSource, as_time, resolve_person

_LAZY = {"RelationGraph": ".graph", "CsvOccurrences": ".occurrences",
         "Occurrence": ".occurrences", "OccurrenceSource": ".occurrences",
         "as_time": ".occurrences", "resolve_person": ".occurrences"}

__all__ = ["CsvOccurrences", "Occurrence", "OccurrenceSource", "RelationGraph",
           "RelationsError", "UnknownPersonError", "as_time", "resolve_person"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value
