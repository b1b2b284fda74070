"""Per-model decision thresholds at target false-match rates (FAR).

The values in ``data/thresholds.json`` are measured by ``bench/calibrate_thresholds.py``
on the LFW pairs protocol; each entry records the FAR it stands for.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from ..errors import FaceAtlasError

DEFAULT_FAR = 1e-3


@dataclass(frozen=True)
class Threshold:
    """A cosine-similarity threshold and the false-match rate it was calibrated for
    (None when the user gave the threshold directly)."""

    value: float
    far: float | None
    source: str


@lru_cache(maxsize=1)
def _table() -> dict[str, dict[str, object]]:
    path = resources.files("faceatlas.verification") / "data" / "thresholds.json"
    return dict(json.loads(path.read_text())) if path.is_file() else {}


def thresholds_for(model_name: str) -> dict[float, float]:
    """Calibrated ``{far: threshold}`` for a model (empty if never calibrated)."""
    entry = _table().get(model_name, {})
    far_map = entry.get("far", {}) if isinstance(entry, dict) else {}
    return {float(k): float(v) for k, v in dict(far_map).items()}  # type: ignore[call-overload]


def resolve_threshold(model_name: str, threshold: float | None = None,
                      far: float | None = None) -> Threshold:
    """The threshold to use: explicit value, else calibrated at ``far`` (default 1e-3)."""
    if threshold is not None:
        if not -1.0 <= threshold <= 1.0:
            raise FaceAtlasError(f"threshold {threshold} is outside the cosine range [-1, 1]")
        return Threshold(float(threshold), None, "user")
    table = thresholds_for(model_name)
    target = DEFAULT_FAR if far is None else far
    if not table:
        raise FaceAtlasError(
            f"model '{model_name}' has no calibrated thresholds: pass --threshold, or "
            "calibrate it with bench/calibrate_thresholds.py")
    if target in table:
        return Threshold(table[target], target, "calibrated")
    known = ", ".join(f"{k:g}" for k in sorted(table))
    raise FaceAtlasError(f"no threshold calibrated at FAR {target:g} for '{model_name}'; "
                         f"calibrated FARs: {known}")
