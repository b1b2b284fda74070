"""The non-face filter: landmark geometry on hand-made landmark sets, the re-detection on
synthetic non-faces (textures, a flat patch, an upside-down crop), real faces kept, and
rejected detections counted by the engine and the indexer."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from faceatlas import FaceEngine
from faceatlas.cli.main import app
from faceatlas.detection import Geometry, GeometryLimits, PlausibilityFilter
from faceatlas.image import load_image
from faceatlas.library import Indexer, Library
from faceatlas.types import Detection

NAMES = ["person_a_1", "person_a_2", "person_b_1", "person_b_2", "impostor_1", "impostor_2"]

#: A frontal face's landmarks in a 100 px box at the origin (eyes, nose, mouth corners).
FRONTAL = np.array([[30, 40], [70, 40], [50, 60], [35, 78], [65, 78]], np.float32)


def _det(landmarks: np.ndarray, box: tuple[float, float, float, float] = (0, 0, 100, 100),
         score: float = 0.9) -> Detection:
    return Detection(box, np.asarray(landmarks, np.float32), score)


@pytest.mark.parametrize(("name", "landmarks", "why"), [
    ("upside down", FRONTAL * [1, -1] + [0, 120], "nose not below the eyes"),
    ("mouth above nose", FRONTAL[[0, 1, 2, 0, 1]] + [[0, 0], [0, 0], [0, 0], [2, 10], [-2, 10]],
     "mouth not below the nose"),
    ("eyes collapsed", FRONTAL * [0.1, 1] + [45, 0], "eyes"),
    ("mouth far below", np.vstack([FRONTAL[:3], FRONTAL[3:] + [0, 200]]), "too far below"),
    ("mouth too wide", np.vstack([FRONTAL[:3], [[0, 78], [100, 78]]]), "wide"),
    ("nose off the face", np.vstack([FRONTAL[:2], [[170, 60]], FRONTAL[3:]]), "off the"),
])
def test_geometry_rejects_impossible_layouts(name: str, landmarks: np.ndarray,
                                             why: str) -> None:
    reason = GeometryLimits().violation(Geometry.of(_det(landmarks)))
    assert reason is not None and why in reason, (name, reason)


def test_geometry_keeps_real_faces(engine: FaceEngine, portraits: Path) -> None:
    limits = GeometryLimits()
    assert limits.violation(Geometry.of(_det(FRONTAL))) is None
    for name in NAMES:
        det = engine.detect(portraits / f"{name}.jpg")[0]
        g = Geometry.of(det)
        assert limits.violation(g) is None, (name, g)
        # a turned head (nose towards one eye) is still a face
        turned = det.landmarks.copy()
        turned[2] = turned[0] + (turned[2] - turned[0]) * [0.3, 1.0]
        assert limits.violation(Geometry.of(_det(turned, det.box))) is None, name


@pytest.fixture(scope="module")
def decoys(portraits: Path) -> np.ndarray:
    """A 900x300 photo: a portrait (left), a colour texture (middle), a flat skin-coloured
    patch with a few dots where eyes and mouth would be (right)."""
    face = load_image(portraits / "person_a_1.jpg")
    face = cv2.resize(face, (300, int(300 * face.shape[0] / face.shape[1])))[:300]
    rng = np.random.default_rng(3)
    noise = rng.random((20, 20, 3)).astype(np.float32)
    texture = (cv2.resize(noise, (300, 300), interpolation=cv2.INTER_CUBIC) * 255).clip(0, 255)
    skin = np.zeros((300, 300, 3), np.uint8)
    skin[:] = (120, 150, 200)
    for x, y, r in ((110, 130, 6), (190, 130, 6), (150, 210, 10)):
        cv2.circle(skin, (x, y), r, (60, 70, 90), -1)
    canvas = np.hstack([face, texture.astype(np.uint8), skin])
    return np.ascontiguousarray(canvas)


def test_recheck_keeps_faces_and_rejects_decoys(engine: FaceEngine, decoys: np.ndarray) -> None:
    filt = PlausibilityFilter(engine.detector)
    [real] = engine.detector.detect(decoys[:, :300])
    assert filt.recheck_score(decoys, real) >= 0.8
    # the real face's landmark layout planted on the texture and on the skin patch
    fakes = [Detection((real.box[0] + dx, *real.box[1:]),  # type: ignore[arg-type]
                       real.landmarks + [dx, 0], real.score) for dx in (300, 600)]
    # the portrait turned upside down, with its (upside-down) detection
    flipped = np.ascontiguousarray(decoys[::-1, :300])
    lm = real.landmarks.copy()
    lm[:, 1] = 300 - lm[:, 1]
    x, y, w, h = real.box
    upside = Detection((x, 300 - y - h, w, h), lm, real.score)
    kept, rejected = filt.split(decoys, [real, *fakes])
    assert kept == [real]
    assert len(rejected) == 2 and all("not found again" in r.reason for r in rejected)
    assert filt.reason(flipped, upside) is not None  # geometry: nose above the eyes


def test_engine_reports_rejected_detections(engine: FaceEngine, decoys: np.ndarray,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    analysis = engine.analyze_image(decoys)
    assert len(analysis.faces) == 1 and analysis.rejected == []
    # a filter too strict for any face: every detection is rejected, and reported
    strict = replace(PlausibilityFilter(engine.detector), recheck_threshold=0.999)
    monkeypatch.setattr(engine, "face_filter", strict)
    analysis = engine.analyze_image(decoys)
    assert analysis.faces == [] and len(analysis.rejected) == 1
    assert analysis.rejected[0].to_dict()["reason"].startswith("not found again")
    monkeypatch.setattr(engine, "face_filter", None)  # check_faces=False
    assert len(engine.analyze_image(decoys).faces) == 1


def test_indexer_counts_rejected_detections(engine: FaceEngine, portraits: Path,
                                            tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("person_a_1", "person_b_1"):
        shutil.copy(portraits / f"{name}.jpg", photos / f"{name}.jpg")
    strict = replace(PlausibilityFilter(engine.detector), recheck_threshold=0.999)
    monkeypatch.setattr(engine, "face_filter", strict)
    with Library.open(tmp_path / "lib") as lib:
        summary = Indexer(lib, workers=0, engine=engine).run([str(photos)])
        assert summary.new == 2 and summary.faces == 0 and summary.nonfaces == 2
        assert summary.to_dict()["nonfaces"] == 2
        assert lib.store.stats()["faces"] == 0


def test_atypical_layouts_need_stronger_evidence(engine: FaceEngine,
                                                 decoys: np.ndarray) -> None:
    limits = GeometryLimits()
    assert limits.typical(Geometry.of(_det(FRONTAL)))
    turned = FRONTAL.copy()
    turned[2] = [82, 60]  # nose beyond the eye: a head turned far, or not a face
    g = Geometry.of(_det(turned))
    assert limits.violation(g) is None and not limits.typical(g)
    [real] = engine.detector.detect(decoys[:, :300])
    score = PlausibilityFilter(engine.detector).recheck_score(decoys, real)
    # the same re-detection score passes for a typical layout, not for an atypical one
    filt = PlausibilityFilter(engine.detector, recheck_threshold=score - 0.01,
                              atypical_threshold=score + 0.01)
    assert filt.reason(decoys, real) is None
    lm = real.landmarks.copy()
    lm[2] = lm[1] + (lm[1] - lm[0]) * 0.3 + [0, 15]  # nose pushed past the far eye
    odd = Detection(real.box, lm, real.score)
    assert not limits.typical(Geometry.of(odd)) and limits.violation(Geometry.of(odd)) is None
    reason = filt.reason(decoys, odd)
    assert reason is not None and "atypical landmarks" in reason


def test_detect_cli_lists_rejected(decoys: np.ndarray, tmp_path: Path) -> None:
    path = tmp_path / "decoys.png"
    cv2.imwrite(str(path), decoys)
    res = CliRunner().invoke(app, ["detect", str(path), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert len(out["faces"]) == 1 and out["rejected"] == []
    res = CliRunner().invoke(app, ["detect", str(path), "--json", "--no-check-faces"])
    assert res.exit_code == 0 and len(json.loads(res.output)["faces"]) == 1
