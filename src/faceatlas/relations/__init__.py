"""Relations: who appears with whom, when and how often, from a photo library."""

from .errors import RelationsError, UnknownPersonError
from .graph import RelationGraph
from .occurrences import CsvOccurrences, Occurrence, OccurrenceSource, as_time, resolve_person

__all__ = ["CsvOccurrences", "Occurrence", "OccurrenceSource", "RelationGraph",
           "RelationsError", "UnknownPersonError", "as_time", "resolve_person"]
