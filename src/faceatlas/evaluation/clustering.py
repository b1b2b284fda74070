"""Clustering quality: pairwise and BCubed precision / recall / F against true identities.

Predicted label ``-1`` means "not assigned to anyone"; such items are scored as
singleton clusters of their own (that is what a person sees: a face under nobody).

* **Pairwise**: over all unordered pairs of items, precision is the share of pairs put
  together that truly belong together, recall the share of truly-together pairs that
  were put together (counted from the contingency table, as scikit-learn's
  ``pair_confusion_matrix`` does; the tests check the two agree).
  Dominated by large identities.
* **BCubed** (Bagga & Baldwin 1998; Amigó et al. 2009): per item, precision is the
  share of its cluster that has its identity and recall the share of its identity that
  is in its cluster; both averaged over items. Every face counts equally.

When there is no predicted (or true) pair at all, pairwise precision (recall) is 1.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class PRF:
    """Precision, recall and their harmonic mean F1."""

    precision: float
    recall: float
    f1: float

    def to_dict(self) -> dict[str, float]:
        return {k: round(v, 6) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class ClusteringScores:
    """Every clustering figure of one prediction against the truth."""

    pairwise: PRF
    bcubed: PRF
    n_items: int
    n_clusters: int
    n_true: int
    n_unassigned: int

    def to_dict(self) -> dict[str, object]:
        return {"pairwise": self.pairwise.to_dict(), "bcubed": self.bcubed.to_dict(),
                "n_items": self.n_items, "clusters": self.n_clusters,
                "true_clusters": self.n_true, "unassigned": self.n_unassigned}


def _f1(p: float, r: float) -> float:
    return 0.0 if p + r == 0 else 2 * p * r / (p + r)


def singletons_for_noise(labels: np.ndarray) -> np.ndarray:
    """Copy of ``labels`` with every ``-1`` replaced by a fresh label of its own."""
    out = np.asarray(labels, dtype=np.int64).copy()
    noise = out < 0
    if noise.any():
        start = int(out.max(initial=-1)) + 1
        out[noise] = np.arange(start, start + int(noise.sum()))
    return out


def _check(truth: np.ndarray, pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(truth)
    p = np.asarray(pred)
    if t.shape != p.shape or t.ndim != 1:
        raise ValueError(f"truth and prediction must be 1-d of one length, got "
                         f"{t.shape} and {p.shape}")
    return t, singletons_for_noise(p)


def contingency(truth: np.ndarray, pred: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The non-zero cells of the truth x prediction contingency table: per cell its count
    ``n_ij`` and the sizes of its true class and of its predicted cluster."""
    _, ti = np.unique(truth, return_inverse=True)
    _, pi = np.unique(pred, return_inverse=True)
    ti, pi = ti.reshape(-1).astype(np.int64), pi.reshape(-1).astype(np.int64)
    width = int(pi.max(initial=0)) + 1
    cells, n_ij = np.unique(ti * width + pi, return_counts=True)
    true_sizes = np.bincount(ti)[cells // width]
    pred_sizes = np.bincount(pi)[cells % width]
    return n_ij.astype(np.float64), true_sizes.astype(np.float64), pred_sizes.astype(np.float64)


def pairwise_prf(truth: np.ndarray, pred: np.ndarray) -> PRF:
    """Pairwise precision / recall / F1 of ``pred`` against ``truth`` (labels per item)."""
    t, p = _check(truth, pred)
    if len(t) < 2:
        return PRF(1.0, 1.0, 1.0)
    n_ij, true_sizes, pred_sizes = contingency(t, p)
    together = float((n_ij * n_ij).sum())  # ordered pairs (self-pairs included) per cell
    tp = together - len(t)
    fp = float((np.bincount(np.unique(p, return_inverse=True)[1].ravel()) ** 2).sum()) \
        - together
    fn = float((np.bincount(np.unique(t, return_inverse=True)[1].ravel()) ** 2).sum()) \
        - together
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return PRF(float(precision), float(recall), _f1(float(precision), float(recall)))


def bcubed_prf(truth: np.ndarray, pred: np.ndarray) -> PRF:
    """BCubed precision / recall / F1 of ``pred`` against ``truth``."""
    t, p = _check(truth, pred)
    if len(t) == 0:
        return PRF(1.0, 1.0, 1.0)
    n_ij, true_sizes, pred_sizes = contingency(t, p)
    precision = float((n_ij * n_ij / pred_sizes).sum() / len(t))
    recall = float((n_ij * n_ij / true_sizes).sum() / len(t))
    return PRF(precision, recall, _f1(precision, recall))


def score_clustering(truth: np.ndarray, pred: np.ndarray) -> ClusteringScores:
    """Pairwise and BCubed scores plus cluster counts (unassigned items count as
    singleton clusters in ``n_clusters``)."""
    t, p = _check(truth, pred)
    return ClusteringScores(
        pairwise=pairwise_prf(truth, pred), bcubed=bcubed_prf(truth, pred), n_items=len(t),
        n_clusters=len(np.unique(p)), n_true=len(np.unique(t)),
        n_unassigned=int((np.asarray(pred) < 0).sum()))
