"""PNG plots of a verification run (matplotlib, no display needed; the ``plots``
extra: ``pip install 'faceatlas[plots]'``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.special import ndtri  # the standard normal quantile (DET axes)

from ..extras import require
from .metrics import roc

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def require_plots(feature: str = "plotting") -> None:
    """Stop with a clear message now (before long work) when matplotlib is missing."""
    require("matplotlib.figure", feature)


def _new_figure(**kwargs: Any) -> Figure:
    figure: Any = require("matplotlib.figure", "plotting").Figure
    return figure(**kwargs)


def _save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path


def _curves(runs: Mapping[str, tuple[np.ndarray, np.ndarray]]
            ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    out = {}
    for name, (scores, labels) in runs.items():
        far, tar, _ = roc(scores, labels)
        out[name] = (far, tar)
    return out


def plot_roc(runs: Mapping[str, tuple[np.ndarray, np.ndarray]], path: Path,
             title: str = "ROC") -> Path:
    """True accept rate against false accept rate (log scale), one curve per run
    (``{name: (scores, labels)}``)."""
    fig = _new_figure(figsize=(5, 4))
    ax = fig.add_subplot()
    for name, (far, tar) in _curves(runs).items():
        keep = far > 0
        ax.plot(far[keep], tar[keep], label=name)
    ax.set_xscale("log")
    ax.set_xlabel("false accept rate")
    ax.set_ylabel("true accept rate")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right")
    return _save(fig, path)


def plot_det(runs: Mapping[str, tuple[np.ndarray, np.ndarray]], path: Path,
             title: str = "DET") -> Path:
    """Detection error trade-off: false reject against false accept rate, both on
    normal-deviate axes."""
    fig = _new_figure(figsize=(5, 4))
    ax = fig.add_subplot()
    eps = 1e-5
    ticks = np.array([1e-4, 1e-3, 1e-2, 0.05, 0.2, 0.5])
    for name, (far, tar) in _curves(runs).items():
        frr = 1.0 - tar
        ax.plot(ndtri(np.clip(far, eps, 1 - eps)), ndtri(np.clip(frr, eps, 1 - eps)),
                label=name)
    ax.set_xticks(ndtri(ticks), [f"{t:g}" for t in ticks])
    ax.set_yticks(ndtri(ticks), [f"{t:g}" for t in ticks])
    ax.set_xlim(ndtri(eps), ndtri(0.5))
    ax.set_ylim(ndtri(eps), ndtri(0.5))
    ax.set_xlabel("false accept rate")
    ax.set_ylabel("false reject rate")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper right")
    return _save(fig, path)


def plot_histogram(scores: np.ndarray, labels: np.ndarray, path: Path,
                   threshold: float | None = None, title: str = "Scores") -> Path:
    """Genuine and impostor similarity histograms, with an optional threshold line."""
    s = np.asarray(scores, np.float64)
    y = np.asarray(labels, bool)
    fig = _new_figure(figsize=(5, 3.5))
    ax = fig.add_subplot()
    bins = np.linspace(min(-0.2, float(s.min())), 1.0, 60).tolist()
    ax.hist(s[~y], bins=bins, alpha=0.6, label=f"impostor ({(~y).sum()})", color="tab:red")
    ax.hist(s[y], bins=bins, alpha=0.6, label=f"genuine ({y.sum()})", color="tab:green")
    if threshold is not None:
        ax.axvline(threshold, color="black", linestyle="--", label=f"threshold {threshold:.3f}")
    ax.set_xlabel("cosine similarity")
    ax.set_ylabel("pairs")
    ax.set_title(title)
    ax.legend()
    return _save(fig, path)


def plot_all(scores: np.ndarray, labels: np.ndarray, out: Path, name: str,
             threshold: float | None = None) -> dict[str, str]:
    """ROC, DET and histogram PNGs of one run in ``out``; returns their paths."""
    runs = {name: (scores, labels)}
    return {
        "roc": str(plot_roc(runs, out / "roc.png", f"ROC ({name})")),
        "det": str(plot_det(runs, out / "det.png", f"DET ({name})")),
        "histogram": str(plot_histogram(scores, labels, out / "scores.png", threshold,
                                        f"Similarity ({name})")),
    }
