"""The architecture rules that a reader should be able to rely on: no import cycles between
the stage packages, and SQL only inside ``faceatlas.store``."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "faceatlas"


def _modules() -> list[tuple[Path, list[str]]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
        out.append((path, parts))
    return out


def _stage(parts: list[str]) -> str:
    return parts[0]


def package_graph() -> nx.DiGraph:
    """Edges between top-level packages (and modules) of faceatlas, from every import
    statement, those inside functions included."""
    graph = nx.DiGraph()
    for path, parts in _modules():
        src = _stage(parts)
        package = parts[:-1]  # the package holding this module (__init__ included)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[list[str]] = []
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package[:len(package) - (node.level - 1)]
                    mod = node.module.split(".") if node.module else []
                    targets = [base + mod] if mod or base else \
                        [[a.name] for a in node.names]
                    if not mod and base:
                        targets = [base + [a.name] for a in node.names]
                elif node.module and node.module.split(".")[0] == "faceatlas":
                    targets = [node.module.split(".")[1:]]
            elif isinstance(node, ast.Import):
                targets = [a.name.split(".")[1:] for a in node.names
                           if a.name.split(".")[0] == "faceatlas"]
            for target in targets:
                if target and target[0] != src:
                    graph.add_edge(src, target[0])
    return graph


def test_no_import_cycle_between_packages() -> None:
    graph = package_graph()
    assert graph.has_edge("privacy", "library")  # the check sees relative imports
    assert graph.has_edge("cli", "app")
    cycles = list(nx.simple_cycles(graph))
    assert cycles == [], f"import cycles between faceatlas packages: {cycles}"


def test_sql_only_in_the_store() -> None:
    offenders = []
    for path, parts in _modules():
        if parts[0] == "store":
            continue
        text = path.read_text(encoding="utf-8")
        for needle in ("import sqlite3", "import psycopg", ".execute(", "SELECT "):
            if needle in text:
                offenders.append(f"{path.relative_to(PACKAGE)}: {needle}")
    assert offenders == [], offenders
