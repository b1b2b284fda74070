"""Clustering unknown faces into people: graph-based, incremental, and bound by every
user decision (see :mod:`faceatlas.cluster.core`)."""

from .constraints import Constraints
from .core import Clustering, cluster_faces
from .params import ClusterParams

__all__ = ["ClusterParams", "Clustering", "Constraints", "cluster_faces"]
