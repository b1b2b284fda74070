"""Photo libraries: indexing folders into the catalog (:mod:`faceatlas.store`) and the
vector indexes, then enrolling, identifying and searching faces in them."""

from .core import Library
from .indexer import Indexer, IndexSummary

__all__ = ["IndexSummary", "Indexer", "Library"]
