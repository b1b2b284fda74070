"""Relations: who appears with whom, when and how often, from a photo library.

The names below are imported on first use (the graph loads networkx)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_getattr
from .errors import RelationsError, UnknownPersonError

if TYPE_CHECKING:
    from .graph import RelationGraph
    from .occurrences import CsvOccurrences, Occurrence, OccurrenceSource, as_time, resolve_person

_LAZY = {"RelationGraph": ".graph", "CsvOccurrences": ".occurrences",
         "Occurrence": ".occurrences", "OccurrenceSource": ".occurrences",
         "as_time": ".occurrences", "resolve_person": ".occurrences"}

__all__ = ["CsvOccurrences", "Occurrence", "OccurrenceSource", "RelationGraph",
           "RelationsError", "UnknownPersonError", "as_time", "resolve_person"]


__getattr__ = lazy_getattr(__name__, _LAZY, globals())
