"""Embeddings under synthetic degradations of the sample portraits: the face is still
found, stays close to the clean embedding, and quality drops where it should.

Bounds are the lowest values measured on the six portraits with a margin of about 0.05
(see the table in the docstring of each test); they catch a broken detector, alignment
or recognizer, not small numeric drift.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from faceatlas import FaceEngine
from faceatlas.image import load_image
from faceatlas.types import Face

GREY = (128, 128, 128)


def _blur(rel: float) -> Callable[[np.ndarray, float], np.ndarray]:
    return lambda img, face: cv2.GaussianBlur(img, (0, 0), rel * face)


def _rotate(angle: float) -> Callable[[np.ndarray, float], np.ndarray]:
    def run(img: np.ndarray, face: float) -> np.ndarray:
        pad = max(img.shape[:2]) // 4  # room to turn without cutting the face
        big = cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=GREY)
        h, w = big.shape[:2]
        m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        return cv2.warpAffine(big, m, (w, h), borderValue=GREY)
    return run


def _downscale(target: float) -> Callable[[np.ndarray, float], np.ndarray]:
    def run(img: np.ndarray, face: float) -> np.ndarray:
        s = target / face
        return cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
    return run


def _jpeg(quality: int) -> Callable[[np.ndarray, float], np.ndarray]:
    def run(img: np.ndarray, face: float) -> np.ndarray:
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
        assert ok
        return cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return run


#: name -> (image, face size in px) -> degraded image
DEGRADATIONS: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {
    "blur_light": _blur(0.01), "blur_heavy": _blur(0.04),
    "rot+15": _rotate(15), "rot-15": _rotate(-15), "rot+30": _rotate(30), "rot-30": _rotate(-30),
    "down60": _downscale(60), "down40": _downscale(40),
    "jpeg30": _jpeg(30), "jpeg10": _jpeg(10),
}


def _central(faces: list[Face], img: np.ndarray) -> Face:
    h, w = img.shape[:2]
    return min(faces, key=lambda f: (f.box[0] + f.box[2] / 2 - w / 2) ** 2
               + (f.box[1] + f.box[3] / 2 - h / 2) ** 2)


@pytest.fixture(scope="module")
def degraded(engine: FaceEngine, portraits: Path) -> dict[str, list[tuple[Face, Face]]]:
    """For every degradation: (clean face, degraded face) per sample portrait."""
    out: dict[str, list[tuple[Face, Face]]] = {name: [] for name in DEGRADATIONS}
    for path in sorted(portraits.glob("*.jpg")):
        img = load_image(path)
        clean = engine.face(img)
        for name, fn in DEGRADATIONS.items():
            bad = fn(img, clean.detection.size)
            faces = engine.analyze(bad)
            assert len(faces) == 1, f"{path.name} {name}: {len(faces)} faces"
            out[name].append((clean, _central(faces, bad)))
    return out


def _sims(pairs: list[tuple[Face, Face]]) -> np.ndarray:
    return np.array([a.embedding.similarity(b.embedding) for a, b in pairs])


# Lowest similarity to the clean portrait measured over the six portraits, and the bound.
#   blur sigma 1 % / 4 % of face width   0.946 / 0.584
#   rotation +-15 degrees                 0.845
#   face downscaled to 60 / 40 px         0.916 / 0.810
#   JPEG quality 30 / 10                  0.938 / 0.751
BOUNDS = {"blur_light": 0.90, "blur_heavy": 0.50, "rot+15": 0.80, "rot-15": 0.80,
          "down60": 0.85, "down40": 0.75, "jpeg30": 0.90, "jpeg10": 0.70}


@pytest.mark.parametrize("name", sorted(BOUNDS))
def test_similarity_to_clean_stays_high(name: str, degraded) -> None:  # type: ignore[no-untyped-def]
    assert _sims(degraded[name]).min() >= BOUNDS[name]


def test_rotation_30_degrees(degraded) -> None:  # type: ignore[no-untyped-def]
    """At +-30 degrees every face is still found, but YuNet's landmarks lag the turn: the
    eye line turned by only 8-26 degrees on the five large faces and by 5 and 1 degrees
    on the 75 px one, so alignment leaves a residual roll. Similarity to the clean face
    fell to 0.34 on that small portrait and 0.57 on another; the median was 0.85."""
    for name, angle in (("rot+30", 30.0), ("rot-30", -30.0)):
        for clean, turned in degraded[name]:
            if clean.detection.size < 150:
                continue
            eyes = [f.detection.landmarks[1] - f.detection.landmarks[0] for f in (clean, turned)]
            roll = [float(np.degrees(np.arctan2(v[1], v[0]))) for v in eyes]
            turn = roll[0] - roll[1]  # cv2's positive angle turns the face anticlockwise
            assert 8.0 <= turn * np.sign(angle) <= 32.0
    sims = np.concatenate([_sims(degraded["rot+30"]), _sims(degraded["rot-30"])])
    assert np.median(sims) >= 0.78


def test_quality_drops_with_blur_and_size(degraded) -> None:  # type: ignore[no-untyped-def]
    for (clean, light), (_, heavy) in zip(degraded["blur_light"], degraded["blur_heavy"],
                                          strict=True):
        assert heavy.quality.score < clean.quality.score - 0.4
        assert heavy.quality.score < light.quality.score
    for (clean, d60), (_, d40) in zip(degraded["down60"], degraded["down40"], strict=True):
        assert d40.quality.score < clean.quality.score - 0.2
        assert d40.quality.score < d60.quality.score


def test_embeddings_are_unit_and_tagged(engine: FaceEngine, portraits: Path) -> None:
    faces = engine.analyze(portraits / "person_a_2.jpg")
    vec = faces[0].embedding.vector
    assert vec.dtype == np.float32 and vec.shape == (128,)
    assert np.linalg.norm(vec) == pytest.approx(1.0, abs=1e-5)
    assert faces[0].embedding.model == engine.model_id
    assert engine.model_id.startswith("sface@")


def test_batch_matches_single(engine: FaceEngine, portraits: Path) -> None:
    imgs = [load_image(p) for p in sorted(portraits.glob("*.jpg"))]
    crops = [engine.align(img, engine.detect(img)[:1])[0] for img in imgs]
    batch = engine.recognizer.embed_vectors(crops)
    single = np.concatenate([engine.recognizer.embed_vectors([c]) for c in crops])
    np.testing.assert_allclose(batch, single, atol=1e-4)


def test_flip_augmentation_changes_and_keeps_identity(engine: FaceEngine,
                                                      portraits: Path) -> None:
    flipped = FaceEngine(flip=True, registry=engine.registry)
    a1, a2 = (flipped.face(portraits / f"person_a_{i}.jpg") for i in (1, 2))
    plain = engine.face(portraits / "person_a_1.jpg")
    assert 0.9 < a1.embedding.similarity(plain.embedding) < 0.99999
    assert a1.embedding.similarity(a2.embedding) > 0.5
