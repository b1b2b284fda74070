"""Writing the relation graph for other tools: GraphML (Gephi, Cytoscape, yEd) and an
edge list CSV (``a,b,weight,first,last``)."""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path

import networkx as nx

from .errors import RelationsError
from .graph import RelationGraph


def _iso(value: object) -> str:
    return value.isoformat(timespec="seconds")  # type: ignore[attr-defined]


def _checked(path: str | Path) -> Path:
    out = Path(path)
    if out.is_dir():
        raise RelationsError(f"{out}: is a folder; give a file name")
    out.parent.mkdir(parents=True, exist_ok=True)
    return out


def to_export_graph(rg: RelationGraph, names: Mapping[int, str] | None = None) -> nx.Graph:
    """A copy of the graph with plain attributes: node ``photos``/``name``, edge
    ``weight``/``first``/``last`` (ISO-8601 strings)."""
    names = names or {}
    out = nx.Graph()
    for node, photos in sorted(rg.graph.nodes(data="photos")):
        out.add_node(node, photos=photos, name=names.get(node, ""))
    for a, b, d in sorted((min(a, b), max(a, b), d) for a, b, d in rg.graph.edges(data=True)):
        out.add_edge(a, b, weight=d["weight"], first=_iso(d["first"]), last=_iso(d["last"]))
    return out


def write_graphml(rg: RelationGraph, path: str | Path,
                  names: Mapping[int, str] | None = None) -> Path:
    """Write the graph as GraphML; returns the path."""
    out = _checked(path)
    nx.write_graphml(to_export_graph(rg, names), out)
    return out


def write_edges_csv(rg: RelationGraph, path: str | Path) -> Path:
    """Write one row per edge, ``a < b``, sorted: ``a,b,weight,first,last``."""
    out = _checked(path)
    with out.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["a", "b", "weight", "first", "last"])
        for a, b, d in to_export_graph(rg).edges(data=True):
            w.writerow([a, b, d["weight"], d["first"], d["last"]])
    return out
