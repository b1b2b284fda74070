"""Fusion recognizers: one unit vector whose dot product is the weighted sum of the
parts' cosines, and the ``sface+dlib`` model of the catalog (needs the dlib extra)."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from faceatlas import FaceEngine
from faceatlas.cli.main import app
from faceatlas.embedding import OnnxRecognizer, create_recognizer
from faceatlas.embedding.fusion import FusionRecognizer
from faceatlas.errors import FaceAtlasError, ModelError
from faceatlas.image import load_image
from faceatlas.models import ModelRegistry
from faceatlas.models.catalog import SFACE, SFACE_DLIB

NAMES = ["person_a_1", "person_a_2", "person_b_1", "person_b_2", "impostor_1", "impostor_2"]
HAS_DLIB = all(importlib.util.find_spec(m) is not None
               for m in ("dlib", "face_recognition_models"))
needs_dlib = pytest.mark.skipif(not HAS_DLIB, reason="dlib extra not installed "
                                "(pip install 'faceatlas[dlib]')")


@pytest.fixture(scope="module")
def crops(engine: FaceEngine, portraits: Path) -> list[np.ndarray]:
    out = []
    for name in NAMES:
        img = load_image(portraits / f"{name}.jpg")
        out.append(engine.align(img, [engine.face(img).detection])[0])
    return out


def test_fused_dot_product_is_the_weighted_score_sum(crops: list[np.ndarray]) -> None:
    reg = ModelRegistry()
    plain = OnnxRecognizer(SFACE, reg)
    flipped = OnnxRecognizer(SFACE, reg, flip=True)
    w = 0.3
    fused = FusionRecognizer(dataclasses.replace(SFACE_DLIB, extra={"weight": w}),
                             [plain, flipped])
    v = fused.embed_vectors(crops)
    a, b = plain.embed_vectors(crops), flipped.embed_vectors(crops)
    assert v.shape == (len(crops), 256) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(v @ v.T, w * (a @ a.T) + (1 - w) * (b @ b.T), atol=1e-5)
    assert not np.allclose(a @ a.T, b @ b.T, atol=1e-3)  # the parts really differ
    other = FusionRecognizer(dataclasses.replace(SFACE_DLIB, extra={"weight": 0.6}),
                             [plain, flipped])
    assert fused.model_id.startswith("sface+dlib@") and fused.model_id != other.model_id
    assert [e.model for e in fused.embed(crops[:2])] == [fused.model_id] * 2


def test_fusion_refuses_bad_weights_and_parts() -> None:
    plain = OnnxRecognizer(SFACE, ModelRegistry())
    with pytest.raises(ModelError, match="outside"):
        FusionRecognizer(dataclasses.replace(SFACE_DLIB, extra={"weight": 1.5}),
                         [plain, plain])
    with pytest.raises(ModelError, match="two recognizers"):
        FusionRecognizer(SFACE_DLIB, [plain])


def test_fusion_model_without_dlib_says_how_to_install(monkeypatch: pytest.MonkeyPatch
                                                       ) -> None:
    monkeypatch.setitem(sys.modules, "dlib", None)  # import dlib -> ImportError
    with pytest.raises(ModelError, match=r"pip install 'faceatlas\[dlib\]'"):
        FaceEngine(recognizer="sface+dlib")


def test_fusion_model_is_listed() -> None:
    res = CliRunner().invoke(app, ["models", "--json"])
    assert res.exit_code == 0, res.output
    row = {r["name"]: r for r in json.loads(res.stdout)}["sface+dlib"]
    assert row["task"] == "recognition" and row["embedding_dim"] == 256


@needs_dlib
def test_sface_dlib_engine_verifies_the_portraits(portraits: Path) -> None:
    engine = FaceEngine(recognizer="sface+dlib")
    reg = ModelRegistry()
    rec = create_recognizer(reg.get("sface+dlib"), reg)
    assert engine.model_id == rec.model_id and engine.model_id.startswith("sface+dlib@")
    faces = {n: engine.face(portraits / f"{n}.jpg") for n in NAMES}
    for f in faces.values():
        assert f.embedding.vector.shape == (256,)
        assert abs(float(np.linalg.norm(f.embedding.vector)) - 1.0) < 1e-5
    same = [("person_a_1", "person_a_2"), ("person_b_1", "person_b_2")]
    sims = {(x, y): faces[x].embedding.similarity(faces[y].embedding)
            for i, x in enumerate(NAMES) for y in NAMES[i + 1:]}
    worst_genuine = min(sims[p] for p in same)
    best_impostor = max(s for p, s in sims.items() if p not in same)
    assert worst_genuine > best_impostor + 0.1
    try:
        result = engine.compare(faces["person_a_1"], faces["person_a_2"], far=1e-3)
    except FaceAtlasError as exc:  # thresholds not calibrated for this model
        pytest.fail(str(exc))
    assert result.same and result.far == 1e-3
    assert not engine.compare(faces["person_a_1"], faces["impostor_1"], far=1e-3).same


@needs_dlib
def test_sface_dlib_from_the_command_line(portraits: Path) -> None:
    res = CliRunner().invoke(app, ["verify", str(portraits / "person_b_1.jpg"),
                                   str(portraits / "person_b_2.jpg"),
                                   "--recognizer", "sface+dlib", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["same"] is True and out["model"].startswith("sface+dlib@")

