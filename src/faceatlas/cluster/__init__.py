"""Clustering unknown faces into people: graph-based, incremental, and bound by every
user decision (see :mod:`faceatlas.cluster.core`).

The names below are imported on first use (SciPy and faiss load only when clustering
runs)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_getattr

if TYPE_CHECKING:
    from .constraints import Constraints
    from .core import Clustering, cluster_faces
    from .params import ClusterParams

_LAZY = {"Constraints": ".constraints", "Clustering": ".core", "cluster_faces": ".core",
         "ClusterParams": ".params"}

__all__ = ["ClusterParams", "Clustering", "Constraints", "cluster_faces"]


__getattr__ = lazy_getattr(__name__, _LAZY, globals())
