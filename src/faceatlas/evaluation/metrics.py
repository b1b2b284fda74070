"""Verification metrics from similarity scores and same/different labels.

Convention everywhere: a pair is declared "same" when ``score >= threshold``;
``labels`` are True for genuine (same-person) pairs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..errors import DatasetError


def _check(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(scores, np.float64).reshape(-1)
    y = np.asarray(labels, bool).reshape(-1)
    if s.shape != y.shape:
        raise ValueError(f"{s.size} scores but {y.size} labels")
    if not y.any() or y.all():
        raise DatasetError("need both genuine and impostor pairs to measure verification")
    return s, y


def roc(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(far, tar, thresholds)`` over every distinct threshold, FAR increasing."""
    s, y = _check(scores, labels)
    order = np.argsort(-s, kind="stable")
    s_sorted, y_sorted = s[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(s_sorted)), s.size - 1]  # end of each score run
    tp = np.cumsum(y_sorted, dtype=np.float64)[last]
    fp = (last + 1) - tp
    # scikit-learn's roc_curve(drop_intermediate=False): starts at (0, 0), threshold inf
    far = np.r_[0.0, fp] / fp[-1]
    tar = np.r_[0.0, tp] / tp[-1]
    thr = np.r_[np.inf, s_sorted[last]]
    return far, tar, thr


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve."""
    far, tar, _ = roc(scores, labels)
    return float(np.sum(np.diff(far) * (tar[1:] + tar[:-1])) / 2.0)


def eer(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Equal error rate and the threshold where FAR = FRR (linear interpolation)."""
    far, tar, thr = roc(scores, labels)
    diff = (1.0 - tar) - far  # decreases as the threshold is lowered
    j = int(np.argmax(diff <= 0))
    if j == 0:
        return float(far[0]), float(thr[0])
    t = diff[j - 1] / (diff[j - 1] - diff[j])
    rate = far[j - 1] + t * (far[j] - far[j - 1])
    lo, hi = thr[j], thr[j - 1]
    threshold = lo if not np.isfinite(hi) else hi + t * (lo - hi)
    return float(rate), float(threshold)


def tar_at_far(scores: np.ndarray, labels: np.ndarray, target: float) -> float:
    """True accept rate at the strictest operating point whose FAR is <= ``target``."""
    far, tar, _ = roc(scores, labels)
    i = int(np.searchsorted(far, target, side="right")) - 1
    return float(tar[max(i, 0)])


def best_threshold(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """``(threshold, accuracy)`` maximising accuracy; the threshold is the midpoint
    between the two scores it separates."""
    s, y = _check(scores, labels)
    order = np.argsort(s, kind="stable")
    ss, ys = s[order], y[order]
    n, n_pos = len(ss), int(ys.sum())
    neg_below = np.concatenate([[0], np.cumsum(~ys)])
    pos_below = np.concatenate([[0], np.cumsum(ys)])
    correct = neg_below + (n_pos - pos_below)  # k scores below the threshold, k = 0..n
    valid = np.ones(n + 1, bool)
    valid[1:n] = ss[:-1] < ss[1:]
    k = int(np.argmax(np.where(valid, correct, -1)))
    if k == 0:
        t = ss[0] - 1e-6
    elif k == n:
        t = ss[-1] + 1e-6
    else:
        t = (ss[k - 1] + ss[k]) / 2.0
    return float(t), float(correct[k] / n)


def accuracy_at(scores: np.ndarray, labels: np.ndarray, threshold: float) -> float:
    """Fraction of pairs decided correctly at ``threshold``."""
    s = np.asarray(scores, np.float64)
    return float(np.mean((s >= threshold) == np.asarray(labels, bool)))


def threshold_at_far(impostor_scores: np.ndarray, target: float) -> tuple[float, float]:
    """Lowest threshold whose false-accept rate on these impostor scores is at most
    ``target``; returns ``(threshold, achieved far)``. Linear time (a partition, not a
    sort), so it takes the tens of millions of scores of an all-pairs calibration."""
    s = np.asarray(impostor_scores).reshape(-1)
    if s.size == 0:
        raise DatasetError("no impostor scores to calibrate a threshold on")
    k = int(np.floor(target * s.size))  # impostors allowed above the threshold
    if k >= s.size:
        return float(s.min()), 1.0
    kth = np.partition(s, s.size - 1 - k)[s.size - 1 - k]  # (k+1)-th largest
    t = np.nextafter(kth, np.inf)
    return float(t), float(np.count_nonzero(s >= t) / s.size)


@dataclass(frozen=True)
class FoldAccuracy:
    """LFW-style cross-validated accuracy: for each fold the threshold is chosen on
    the other folds and applied to it."""

    accuracies: list[float]
    thresholds: list[float]

    @property
    def mean(self) -> float:
        return float(np.mean(self.accuracies))

    @property
    def std(self) -> float:
        return float(np.std(self.accuracies))


def kfold_accuracy(scores: np.ndarray, labels: np.ndarray, folds: np.ndarray) -> FoldAccuracy:
    """Accuracy per held-out fold with the threshold fitted on the remaining folds."""
    s, y = _check(scores, labels)
    f = np.asarray(folds).reshape(-1)
    accs, thrs = [], []
    for fold in np.unique(f):
        test = f == fold
        t, _ = best_threshold(s[~test], y[~test])
        accs.append(accuracy_at(s[test], y[test], t))
        thrs.append(t)
    return FoldAccuracy(accs, thrs)


@dataclass(frozen=True)
class VerificationReport:
    """Summary of a verification run; rates are fractions in [0, 1]."""

    pairs: int
    genuine: int
    impostor: int
    auc: float
    eer: float
    eer_threshold: float
    tar_at_far_1e_2: float
    tar_at_far_1e_3: float
    best_threshold: float
    best_accuracy: float

    def to_dict(self) -> dict[str, float | int]:
        d = asdict(self)
        d["tar_at_far_1e-2"] = d.pop("tar_at_far_1e_2")
        d["tar_at_far_1e-3"] = d.pop("tar_at_far_1e_3")
        return d


def summarize(scores: np.ndarray, labels: np.ndarray) -> VerificationReport:
    """Every threshold-free metric plus the accuracy-maximising threshold."""
    s, y = _check(scores, labels)
    rate, eer_t = eer(s, y)
    t, acc = best_threshold(s, y)
    return VerificationReport(
        pairs=int(s.size), genuine=int(y.sum()), impostor=int((~y).sum()), auc=auc(s, y),
        eer=rate, eer_threshold=eer_t, tar_at_far_1e_2=tar_at_far(s, y, 1e-2),
        tar_at_far_1e_3=tar_at_far(s, y, 1e-3), best_threshold=t, best_accuracy=acc)
