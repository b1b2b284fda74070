"""Clustering unknown faces into people: graph-based, incremental, and bound by every
user decision (see :mod:`faceatlas.cluster.core`).

The names below are imported on first use (SciPy and faiss load only when clustering
runs)."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .constraints import Constraints
    from .core import Clustering, cluster_faces
    from .params import ClusterParams

_LAZY = {"Constraints": ".constraints", "Clustering": ".core", "cluster_faces": ".core",
         "ClusterParams": ".params"}

__all__ = ["ClusterParams", "Clustering", "Constraints", "cluster_faces"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value
