"""Face quality in [0, 1] from five cues.

* ``detection``: the detector's confidence;
* ``size``: inter-ocular distance in pixels of the original image;
* ``sharpness``: variance of the Laplacian of the aligned crop;
* ``pose``: yaw and pitch estimated from the five landmarks;
* ``recognizability``: distance of the embedding from the centroid of
  unrecognisable faces (ERS, "Recognizability Embedding Enhancement for Very
  Low-Resolution Face Recognition and Quality Estimation", CVPR 2023). The centroid
  is computed per recognition model by ``bench/ers_centroid.py`` from deliberately
  degraded faces and shipped in ``quality/data/``.

The score is the weighted geometric mean of the cues, so one very poor cue (a
profile face, a 6-pixel face) pulls the whole score down. A face too
small to be recognised (eyes less than :data:`MIN_RECOGNISABLE_IOD` pixels apart, where
the ``size`` cue reaches 0) scores at most :data:`TOO_SMALL_QUALITY` whatever its other
cues (the recognisability cue, in particular, still rates some 15 px faces 0.9): such
faces are kept for counting and anonymisation, but never seed people (clustering's
``min_quality`` is above it) and are never enrolled. ``bench/detection.py`` measured
the limit on celebrities' faces shrunk to a given size (box height): SFace verifies, at
FAR 1e-3, 5 % of genuine pairs at 12 px (eyes 4 px apart), 38 % at 16 px, 71 % at 20 px
(eyes 6.7 px), 87 % at 24 px (eyes 8.1 px) and 96 % at 32 px.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources

import cv2
import numpy as np

from ..types import Detection, QualityReport

#: Eyes closer than this many pixels: too small to recognise (a face box under ~24 px high).
MIN_RECOGNISABLE_IOD = 8.0
#: Highest quality of a face too small to recognise (below clustering's ``min_quality``).
TOO_SMALL_QUALITY = 0.05

WEIGHTS = {"detection": 0.15, "size": 0.2, "sharpness": 0.15, "pose": 0.2,
           "recognizability": 0.3}


def _ramp(x: float, lo: float, hi: float) -> float:
    return float(min(1.0, max(0.0, (x - lo) / (hi - lo))))


def pose_from_landmarks(landmarks: np.ndarray) -> tuple[float, float, float]:
    """Rough (yaw, pitch, roll) in degrees from the five landmarks."""
    lm = np.asarray(landmarks, np.float64).reshape(5, 2)
    eye_l, eye_r, nose, mouth_l, mouth_r = lm
    eye_mid, mouth_mid = (eye_l + eye_r) / 2, (mouth_l + mouth_r) / 2
    dx, dy = eye_r - eye_l
    roll = math.degrees(math.atan2(dy, dx))
    iod = math.hypot(dx, dy) or 1.0
    # Nose offset from the eye-mouth midline, in inter-ocular units.
    axis = mouth_mid - eye_mid
    axis_len = float(np.linalg.norm(axis)) or 1.0
    normal = np.array([axis[1], -axis[0]]) / axis_len
    offset = float(np.dot(nose - (eye_mid + mouth_mid) / 2, normal)) / iod
    yaw = math.degrees(math.asin(max(-1.0, min(1.0, offset * 2.0))))
    # Nose position along the eye-mouth axis: about 0.55 for a frontal face.
    t = float(np.dot(nose - eye_mid, axis)) / (axis_len ** 2)
    pitch = (t - 0.55) * 120.0
    return yaw, pitch, roll


@lru_cache(maxsize=8)
def _ers_data(model_name: str) -> tuple[np.ndarray, float, float] | None:
    base = resources.files("faceatlas.quality") / "data"
    vec_file, meta_file = base / f"ers_{model_name}.npy", base / f"ers_{model_name}.json"
    if not (vec_file.is_file() and meta_file.is_file()):
        return None
    with resources.as_file(vec_file) as path:
        centroid = np.load(path).astype(np.float32)
    meta = json.loads(meta_file.read_text())
    return centroid, float(meta["distance_low"]), float(meta["distance_high"])


class QualityScorer:
    """Scores faces for one recognition model (the ERS centroid is per model)."""

    def __init__(self, model_name: str) -> None:
        self.model_name = model_name
        self.ers = _ers_data(model_name)

    def score(self, det: Detection, crop: np.ndarray,
              embedding: np.ndarray | None) -> QualityReport:
        """Quality of one face from its detection, aligned crop and embedding."""
        lm = det.landmarks
        iod = float(np.linalg.norm(lm[1] - lm[0]))
        grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
        lap = float(cv2.Laplacian(grey, cv2.CV_64F).var())
        yaw, pitch, _ = pose_from_landmarks(lm)
        comps = {
            "detection": _ramp(det.score, 0.5, 0.9),
            "size": _ramp(iod, MIN_RECOGNISABLE_IOD, 40.0),
            "sharpness": _ramp(math.log1p(lap), math.log1p(20.0), math.log1p(400.0)),
            "pose": float(math.exp(-((yaw / 45.0) ** 2) - ((pitch / 40.0) ** 2))),
        }
        if self.ers is not None and embedding is not None:
            centroid, lo, hi = self.ers
            dist = 1.0 - float(np.dot(embedding, centroid))
            comps["recognizability"] = _ramp(dist, lo, hi)
        score = combine(comps)
        if iod < MIN_RECOGNISABLE_IOD:
            score = min(score, TOO_SMALL_QUALITY)
        return QualityReport(score=score, components=comps)


def combine(components: Mapping[str, float], weights: Mapping[str, float] = WEIGHTS) -> float:
    """Weighted geometric mean of the components that ``weights`` names (each floored
    at 1e-3); components without a weight are ignored."""
    used = {k: v for k, v in components.items() if weights.get(k, 0.0) > 0.0}
    if not used:
        raise ValueError("no weighted quality component to combine")
    total_w = sum(weights[k] for k in used)
    log_q = sum(weights[k] * math.log(max(v, 1e-3)) for k, v in used.items()) / total_w
    return float(math.exp(log_q))
