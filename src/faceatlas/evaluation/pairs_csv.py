"""Verification on your own pairs: a CSV of ``path_a,path_b,same`` and an optional
CSV of ``path,group`` that breaks false match and false non-match rates down per
group at one global threshold (the demographic-differential view of NIST FRVT).

A pair belongs to a group when both of its images carry that group; an impostor pair
whose images carry different groups is counted under ``(cross-group)`` and a pair with
an image missing from the groups file under ``(ungrouped)``. Malformed rows and
unreadable images are reported and skipped; they never stop the run.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..engine import FaceEngine
from ..errors import DatasetError, FaceAtlasError
from .metrics import summarize

_TRUE = {"1", "true", "yes", "y", "same", "genuine", "t"}
_FALSE = {"0", "false", "no", "n", "different", "impostor", "f"}
CROSS, UNGROUPED = "(cross-group)", "(ungrouped)"


@dataclass(frozen=True)
class CsvPair:
    """One row of a pairs CSV, paths resolved against the root folder."""

    a: str
    b: str
    same: bool
    line: int


def _rows(path: Path, columns: tuple[str, ...]) -> Iterable[tuple[int, dict[str, str]]]:
    if not path.is_file():
        raise DatasetError(f"{path}: no such CSV file")
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        header = [h.strip().lower() for h in reader.fieldnames or []]
        missing = [c for c in columns if c not in header]
        if missing:
            raise DatasetError(f"{path}: header must name the columns {', '.join(columns)} "
                               f"(missing {', '.join(missing)})")
        reader.fieldnames = header
        for row in reader:
            yield reader.line_num, {k: (v or "").strip() for k, v in row.items() if k}


def _resolve(root: Path, p: str) -> str:
    return str((root / p).resolve())


def read_pairs_csv(path: Path, root: Path | None = None) -> tuple[list[CsvPair], list[str]]:
    """Pairs and the problems found (one line each); ``root`` defaults to the CSV's folder."""
    base = root or path.parent
    pairs, problems = [], []
    for line, row in _rows(path, ("path_a", "path_b", "same")):
        a, b, same = row.get("path_a", ""), row.get("path_b", ""), row.get("same", "").lower()
        if not a or not b:
            problems.append(f"{path}:{line}: empty path")
        elif same not in _TRUE | _FALSE:
            problems.append(f"{path}:{line}: 'same' must be 1/0 or true/false, got {same!r}")
        else:
            pairs.append(CsvPair(_resolve(base, a), _resolve(base, b), same in _TRUE, line))
    return pairs, problems


def read_groups_csv(path: Path, root: Path | None = None) -> tuple[dict[str, str], list[str]]:
    """``{resolved path: group}`` and the problems found."""
    base = root or path.parent
    groups: dict[str, str] = {}
    problems = []
    for line, row in _rows(path, ("path", "group")):
        p, g = row.get("path", ""), row.get("group", "")
        if not p or not g:
            problems.append(f"{path}:{line}: path and group are both required")
        else:
            groups[_resolve(base, p)] = g
    return groups, problems


def embed_paths(engine: FaceEngine, paths: Iterable[str],
                progress: Callable[[list[str]], Iterable[str]] | None = None
                ) -> tuple[dict[str, np.ndarray], list[str]]:
    """Embedding of the largest face of each image, and one problem line per image
    that could not be used (unreadable, no face)."""
    todo = sorted(set(paths))
    vectors, problems = {}, []
    for p in progress(todo) if progress is not None else todo:
        try:
            vectors[p] = engine.face(p, label=p).embedding.vector
        except FaceAtlasError as exc:
            problems.append(str(exc))
    return vectors, problems


def group_breakdown(scores: np.ndarray, labels: np.ndarray, groups: list[str],
                    threshold: float) -> list[dict[str, object]]:
    """FMR and FNMR per group at ``threshold``, with their ratio to the overall rate."""
    s, y, g = np.asarray(scores), np.asarray(labels, bool), np.asarray(groups)
    accept = s >= threshold
    overall_fmr = float(accept[~y].mean()) if (~y).any() else float("nan")
    overall_fnmr = float((~accept[y]).mean()) if y.any() else float("nan")
    rows: list[dict[str, object]] = []
    for name in sorted(set(groups)):
        m = g == name
        gen, imp = m & y, m & ~y
        fmr = float(accept[imp].mean()) if imp.any() else None
        fnmr = float((~accept[gen]).mean()) if gen.any() else None
        rows.append({
            "group": name, "genuine": int(gen.sum()), "impostor": int(imp.sum()),
            "fmr": fmr, "fnmr": fnmr,
            "fmr_ratio": _ratio(fmr, overall_fmr), "fnmr_ratio": _ratio(fnmr, overall_fnmr),
        })
    return rows


def _ratio(x: float | None, ref: float) -> float | None:
    if x is None or not np.isfinite(ref) or ref == 0:
        return None
    return x / ref


@dataclass
class PairsResult:
    """Outcome of :func:`evaluate_pairs`."""

    scores: np.ndarray
    labels: np.ndarray
    threshold: float
    summary: dict[str, object]
    groups: list[dict[str, object]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {**self.summary, "threshold": self.threshold, "groups": self.groups,
                "skipped": len(self.problems), "problems": self.problems}


def evaluate_pairs(engine: FaceEngine, pairs_csv: Path, threshold: float,
                   groups_csv: Path | None = None, root: Path | None = None,
                   progress: Callable[[list[str]], Iterable[str]] | None = None
                   ) -> PairsResult:
    """Score every usable pair and measure verification at ``threshold``."""
    pairs, problems = read_pairs_csv(pairs_csv, root)
    group_of: dict[str, str] = {}
    if groups_csv is not None:
        group_of, group_problems = read_groups_csv(groups_csv, root)
        problems += group_problems
    vectors, embed_problems = embed_paths(engine, [p for q in pairs for p in (q.a, q.b)],
                                          progress)
    problems += embed_problems
    used = [q for q in pairs if q.a in vectors and q.b in vectors]
    skipped = len(pairs) - len(used)
    if skipped:
        problems.append(f"{skipped} pair(s) skipped because an image could not be used")
    if not used:
        raise DatasetError(f"{pairs_csv}: no usable pair (see the problems above)")
    scores = np.array([float(np.dot(vectors[q.a], vectors[q.b])) for q in used])
    labels = np.array([q.same for q in used])
    summary = summarize(scores, labels).to_dict()
    accept = scores >= threshold
    summary["fmr"] = float(accept[~labels].mean())
    summary["fnmr"] = float((~accept[labels]).mean())
    result = PairsResult(scores, labels, threshold, dict(summary), problems=problems)
    if groups_csv is not None:
        names = [_pair_group(group_of.get(q.a), group_of.get(q.b)) for q in used]
        result.groups = group_breakdown(scores, labels, names, threshold)
    return result


def _pair_group(a: str | None, b: str | None) -> str:
    if a is None or b is None:
        return UNGROUPED
    return a if a == b else CROSS
