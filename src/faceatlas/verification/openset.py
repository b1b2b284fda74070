"""1:N (open-set) decision thresholds: the similarity a face must reach to be named,
as a function of the gallery searched, at a target FPIR.

In the FRVT vocabulary, the **FPIR** (false-positive identification rate) is the share of
searches by someone enrolled nowhere that return a name; the **FNIR** the share of
searches by an enrolled person that do not return them (TPIR = 1 - FNIR). A stranger
compared with N templates gets N chances to match one, so a threshold calibrated 1:1 (at
a FAR) lets FPIR grow with the gallery; an open-set threshold grows with N instead.

The values in ``data/openset.json`` are measured by ``bench/calibrate_openset.py`` on
LFW: galleries of N template modes built (with :mod:`faceatlas.cluster.templates`) from
LFW identities, searched by every photo of the identities left out; the threshold at N is
the (1 - FPIR) quantile of the best impostor similarity. At run time the threshold is
interpolated linearly in log N between measured gallery sizes; beyond the largest it is
extrapolated along the last segment (``source`` says ``extrapolated``).

A recognizer without this calibration falls back to its 1:1 threshold at FAR 1e-3, with
a ``note`` saying that the FPIR is then unknown.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

from ..errors import FaceAtlasError
from .thresholds import DEFAULT_FAR, resolve_threshold

DEFAULT_FPIR = 0.01


@dataclass(frozen=True)
class OpenSetThreshold:
    """A 1:N threshold: its ``value``, the ``fpir`` it stands for (None when unknown:
    given by the user, or a 1:1 fallback), the ``gallery_size`` (modes compared) it was
    resolved for, its ``source`` (``calibrated``, ``extrapolated``, ``user``,
    ``1:1 fallback``) and a ``note`` for the user (empty when nothing to say)."""

    value: float
    fpir: float | None
    gallery_size: int
    source: str
    note: str = ""

    def to_dict(self) -> dict[str, object]:
        return {"threshold": round(self.value, 6), "fpir": self.fpir,
                "gallery_size": self.gallery_size, "source": self.source,
                **({"note": self.note} if self.note else {})}


@lru_cache(maxsize=1)
def _table() -> dict[str, dict[str, object]]:
    path = resources.files("faceatlas.verification") / "data" / "openset.json"
    return dict(json.loads(path.read_text())) if path.is_file() else {}


def openset_curve(model_name: str, fpir: float) -> tuple[np.ndarray, np.ndarray] | None:
    """Calibrated (gallery sizes, thresholds) of a model at ``fpir`` (None if absent)."""
    entry = _table().get(model_name)
    if not isinstance(entry, dict):
        return None
    curves = dict(entry.get("fpir", {}))  # type: ignore[call-overload]
    for key, curve in curves.items():
        if math.isclose(float(key), fpir, rel_tol=1e-9):
            return (np.asarray(curve["n"], np.float64),
                    np.asarray(curve["threshold"], np.float64))
    return None


def calibrated_fpirs(model_name: str) -> list[float]:
    """The FPIRs a model is calibrated at (empty if none)."""
    entry = _table().get(model_name)
    if not isinstance(entry, dict):
        return []
    return sorted(float(k) for k in dict(entry.get("fpir", {})))  # type: ignore[call-overload]


def interpolate(sizes: np.ndarray, values: np.ndarray, n: int) -> tuple[float, bool]:
    """Threshold at gallery size ``n`` from a measured curve: linear in log N inside it,
    extrapolated along the last segment beyond it, the first value below it. Returns
    (threshold, extrapolated)."""
    x = np.log(np.maximum(sizes, 1.0))
    ln = math.log(max(n, 1))
    if ln <= x[-1] or len(x) < 2:
        return float(np.interp(ln, x, values)), False
    slope = (values[-1] - values[-2]) / max(x[-1] - x[-2], 1e-12)
    return float(min(1.0, values[-1] + max(slope, 0.0) * (ln - x[-1]))), True


def resolve_openset_threshold(model_name: str, gallery_size: int, fpir: float | None = None,
                              threshold: float | None = None) -> OpenSetThreshold:
    """The 1:N threshold for a search among ``gallery_size`` template modes: the user's
    ``threshold`` if given, else calibrated at ``fpir`` (default :data:`DEFAULT_FPIR`),
    else (uncalibrated model) the 1:1 threshold at FAR 1e-3 with a note."""
    n = max(int(gallery_size), 1)
    if threshold is not None:
        if not -1.0 <= threshold <= 1.0:
            raise FaceAtlasError(f"threshold {threshold} is outside the cosine range [-1, 1]")
        return OpenSetThreshold(float(threshold), None, n, "user")
    target = DEFAULT_FPIR if fpir is None else float(fpir)
    if not 0.0 < target < 1.0:
        raise FaceAtlasError(f"--fpir {target:g} must be between 0 and 1")
    curve = openset_curve(model_name, target)
    if curve is not None:
        value, extrapolated = interpolate(curve[0], curve[1], n)
        note = (f"the gallery ({n} templates) is larger than the calibration "
                f"({int(curve[0][-1])}); threshold extrapolated") if extrapolated else ""
        return OpenSetThreshold(value, target, n,
                                "extrapolated" if extrapolated else "calibrated", note)
    known = calibrated_fpirs(model_name)
    if known:
        raise FaceAtlasError(f"no 1:N threshold calibrated at FPIR {target:g} for "
                             f"'{model_name}'; calibrated FPIRs: "
                             f"{', '.join(f'{k:g}' for k in known)}")
    one = resolve_threshold(model_name, far=DEFAULT_FAR)
    return OpenSetThreshold(
        one.value, None, n, "1:1 fallback",
        f"'{model_name}' has no 1:N calibration (bench/calibrate_openset.py): using its "
        f"1:1 threshold at FAR {DEFAULT_FAR:g}, so the chance of naming a stranger "
        "(FPIR) is unknown and grows with the gallery")
