"""Error versus reject: does dropping the lowest-quality comparisons lower the error?

The quality of a pair is the quality of its worse face (``np.minimum`` of the two).
At a fixed decision threshold, the pairs of lowest quality are rejected (a fraction
of all pairs) and the verification error is measured on the pairs that remain. A
quality measure that predicts recognition failures makes the curve go down; one that
does not leaves it flat. Ties in quality are broken by a seeded random order, so that
pairs of equal quality are not rejected in the order the protocol lists them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from .metrics import _check


@dataclass(frozen=True)
class RejectPoint:
    """Verification errors after rejecting ``rejected`` of the lowest-quality pairs.

    Rates are fractions in [0, 1]: ``error`` of all kept pairs decided wrongly,
    ``fnmr`` of kept genuine pairs rejected as different, ``fmr`` of kept impostor
    pairs accepted as same.
    """

    fraction: float
    rejected: int
    kept: int
    error: float
    fnmr: float
    fmr: float
    quality_cutoff: float

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def error_versus_reject(scores: np.ndarray, labels: np.ndarray, quality: np.ndarray,
                        threshold: float, fractions: Sequence[float],
                        seed: int = 0) -> list[RejectPoint]:
    """Errors at ``threshold`` after rejecting each fraction of the lowest-quality pairs.

    Args:
        scores: similarity per pair (declared "same" when ``score >= threshold``).
        labels: True for genuine pairs.
        quality: quality per pair, e.g. the minimum of its two faces' qualities.
        threshold: the fixed decision threshold.
        fractions: fractions of pairs to reject, each in [0, 1).
        seed: seed of the random tie-break between pairs of equal quality.

    Raises:
        ValueError: on arrays of different lengths or a fraction outside [0, 1).
    """
    s, y = _check(scores, labels)
    q = np.asarray(quality, np.float64).reshape(-1)
    if q.shape != s.shape:
        raise ValueError(f"{s.size} scores but {q.size} quality values")
    tie = np.random.default_rng(seed).permutation(s.size)
    order = np.lexsort((tie, q))  # lowest quality first, ties in random order
    decided_same = s >= threshold
    points = []
    for f in fractions:
        if not 0.0 <= f < 1.0:
            raise ValueError(f"reject fraction {f} is outside [0, 1)")
        k = int(round(f * s.size))
        keep = np.ones(s.size, bool)
        keep[order[:k]] = False
        yk, dk = y[keep], decided_same[keep]
        gen, imp = int(yk.sum()), int((~yk).sum())
        points.append(RejectPoint(
            fraction=float(f), rejected=k, kept=int(keep.sum()),
            error=float(np.mean(dk != yk)),
            fnmr=float(np.count_nonzero(yk & ~dk) / gen) if gen else 0.0,
            fmr=float(np.count_nonzero(~yk & dk) / imp) if imp else 0.0,
            quality_cutoff=float(q[order[k - 1]]) if k else float("-inf")))
    return points
