"""Face quality: the shipped recognizability centroid, the score's range and
components, degraded faces scoring lower, and the error-versus-reject curve."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from faceatlas import FaceEngine
from faceatlas.evaluation.reject import error_versus_reject
from faceatlas.image import load_image
from faceatlas.quality import WEIGHTS, QualityScorer, combine
from faceatlas.types import Face

NAMES = ["person_a_1", "person_a_2", "person_b_1", "person_b_2", "impostor_1", "impostor_2"]
COMPONENTS = {"detection", "size", "sharpness", "pose", "recognizability"}


def _shrunk(img: np.ndarray, face_px: float, target_px: int) -> np.ndarray:
    """The image shrunk until the face is ``target_px`` wide, scaled back and blurred."""
    h, w = img.shape[:2]
    s = target_px / face_px
    small = cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
    back = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    return cv2.GaussianBlur(back, (0, 0), 0.03 * face_px)


@pytest.fixture(scope="module")
def clean_and_degraded(engine: FaceEngine, portraits: Path) -> list[tuple[Face, Face]]:
    """Per portrait: its face, and the same face (same detection) after shrinking the
    face to 6 pixels and back with blur."""
    out = []
    for name in NAMES:
        img = load_image(portraits / f"{name}.jpg")
        clean = engine.face(img)
        bad = engine.analyze(_shrunk(img, clean.detection.box[2], 6), [clean.detection])[0]
        out.append((clean, bad))
    return out


def test_recognizability_centroid_ships_for_the_default_model(engine: FaceEngine) -> None:
    scorer = QualityScorer(engine.recognizer.spec.name)
    assert scorer.ers is not None, "quality/data/ers_sface.npy/.json missing from the package"
    centroid, lo, hi = scorer.ers
    assert centroid.shape == (engine.recognizer.spec.embedding_dim,)
    assert math.isclose(float(np.linalg.norm(centroid)), 1.0, rel_tol=1e-4)
    assert 0.0 < lo < hi


def test_unknown_model_has_no_recognizability_component(engine: FaceEngine,
                                                        portraits: Path) -> None:
    face = engine.face(portraits / "person_a_1.jpg")
    crop = engine.align(portraits / "person_a_1.jpg", [face.detection])[0]
    report = QualityScorer("no-such-model").score(face.detection, crop, face.embedding.vector)
    assert set(report.components) == COMPONENTS - {"recognizability"}
    assert 0.0 <= report.score <= 1.0


def test_score_in_unit_range_with_every_component(
        clean_and_degraded: list[tuple[Face, Face]]) -> None:
    for clean, bad in clean_and_degraded:
        for face in (clean, bad):
            assert set(face.quality.components) == COMPONENTS
            assert 0.0 <= face.quality.score <= 1.0
            assert all(0.0 <= v <= 1.0 for v in face.quality.components.values())
            assert face.quality.score == pytest.approx(combine(face.quality.components))
        assert clean.quality.score > 0.8  # sharp, frontal, large portraits


def test_degraded_face_is_less_recognizable_and_lower_quality(
        clean_and_degraded: list[tuple[Face, Face]]) -> None:
    for clean, bad in clean_and_degraded:
        assert (bad.quality.components["recognizability"]
                < clean.quality.components["recognizability"])
        assert bad.quality.score < clean.quality.score - 0.3
    # The shrunk faces moved towards the centroid of unrecognisable faces, by a lot.
    rec_clean = np.mean([c.quality.components["recognizability"] for c, _ in clean_and_degraded])
    rec_bad = np.mean([b.quality.components["recognizability"] for _, b in clean_and_degraded])
    assert rec_bad < rec_clean - 0.15


@pytest.mark.skipif(importlib.util.find_spec("dlib") is None
                    or importlib.util.find_spec("face_recognition_models") is None,
                    reason="dlib extra not installed")
def test_fusion_model_quality_has_its_own_recognizability(portraits: Path) -> None:
    engine = FaceEngine(recognizer="sface+dlib")
    assert QualityScorer("sface+dlib").ers is not None
    img = load_image(portraits / "person_b_2.jpg")
    clean = engine.face(img)
    bad = engine.analyze(_shrunk(img, clean.detection.box[2], 6), [clean.detection])[0]
    assert set(clean.quality.components) == COMPONENTS
    assert (bad.quality.components["recognizability"]
            < clean.quality.components["recognizability"])
    assert bad.quality.score < clean.quality.score - 0.3


def test_combine_is_a_weighted_geometric_mean() -> None:
    comps = {"detection": 1.0, "size": 0.25, "pose": 1.0}
    w = {"detection": 1.0, "size": 1.0, "pose": 2.0}
    assert combine(comps, w) == pytest.approx(0.25 ** 0.25)
    assert combine(comps, {"size": 1.0}) == pytest.approx(0.25)
    assert combine({"size": 0.0}, WEIGHTS) == pytest.approx(1e-3)  # floored, not log(0)
    with pytest.raises(ValueError):
        combine({"unknown": 0.5})


# ------------------------------------------------------------------ error versus reject


def _synthetic(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs whose score noise grows as their quality falls."""
    rng = np.random.default_rng(seed)
    labels = rng.random(n) < 0.5
    quality = rng.uniform(0.05, 1.0, n)
    scores = np.where(labels, 0.6, 0.1) + rng.normal(0.0, 0.08, n) / quality
    return scores, labels, quality


def test_rejecting_low_quality_pairs_lowers_the_error() -> None:
    scores, labels, quality = _synthetic(20000, 1)
    points = error_versus_reject(scores, labels, quality, 0.35, [0.0, 0.1, 0.2, 0.3])
    errors = [p.error for p in points]
    assert errors[0] > 0.05
    assert all(a > b for a, b in zip(errors, errors[1:], strict=False))
    assert errors[-1] < errors[0] / 2
    assert [p.rejected for p in points] == [0, 2000, 4000, 6000]
    assert all(p.kept + p.rejected == 20000 for p in points)
    first = points[0]  # nothing rejected: the plain error, split into FNMR and FMR
    decided = scores >= 0.35
    assert first.error == pytest.approx(np.mean(decided != labels))
    assert first.fnmr == pytest.approx(np.mean(~decided[labels]))
    assert first.fmr == pytest.approx(np.mean(decided[~labels]))
    assert points[1].quality_cutoff == pytest.approx(np.sort(quality)[1999])


def test_random_quality_does_not_lower_the_error() -> None:
    scores, labels, _ = _synthetic(20000, 2)
    random_q = np.random.default_rng(3).random(20000)
    points = error_versus_reject(scores, labels, random_q, 0.35, [0.0, 0.1, 0.3])
    base = points[0].error
    for p in points[1:]:
        assert abs(p.error - base) < 0.15 * base


def test_ties_are_not_rejected_in_protocol_order() -> None:
    # All genuine pairs first, all wrong; all impostors after, all right; equal quality.
    scores = np.r_[np.zeros(500), np.zeros(500)]
    labels = np.r_[np.ones(500, bool), np.zeros(500, bool)]
    point = error_versus_reject(scores, labels, np.ones(1000), 0.5, [0.5])[0]
    assert 0.4 < point.error < 0.6  # rejecting in list order would give 0.0


def test_reject_rejects_bad_arguments() -> None:
    s, y, q = _synthetic(100, 4)
    with pytest.raises(ValueError):
        error_versus_reject(s, y, q[:50], 0.3, [0.1])
    with pytest.raises(ValueError):
        error_versus_reject(s, y, q, 0.3, [1.0])
