"""Small faces: found in a large composed group photo, scored as too small to recognise,
and never made into people by clustering."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from faceatlas import FaceEngine
from faceatlas.cluster.catalog import cluster_catalog
from faceatlas.detection import box_iou
from faceatlas.image import load_image
from faceatlas.library import Indexer, Library
from faceatlas.quality import MIN_RECOGNISABLE_IOD, TOO_SMALL_QUALITY, QualityScorer, combine
from faceatlas.types import Detection

SMALL, LARGE = 14, 80  # face box widths, pixels


def compose(engine: FaceEngine, portraits: Path, seed: int
            ) -> tuple[np.ndarray, list[tuple[float, float, float, float]], list[int]]:
    """A 1200x900 photo: the six portraits with their faces SMALL px wide on a grid,
    then two of them again with LARGE px faces. Returns the photo, the planted face
    boxes and the planted widths."""
    rng = np.random.default_rng(seed)
    canvas = np.zeros((900, 1200, 3), np.uint8)
    canvas[:] = (rng.random(3) * 80 + 90).astype(np.uint8)
    canvas += rng.integers(0, 12, canvas.shape, dtype=np.uint8)
    files = sorted(portraits.glob("*.jpg"))
    plan = [(i, SMALL) for i in rng.permutation(len(files))] + [(0, LARGE), (2, LARGE)]
    boxes, widths = [], []
    for k, (idx, width) in enumerate(plan):
        img = load_image(files[int(idx)])
        det = engine.detect(img)[0]
        bx, by, bw, bh = det.box
        s = width / bw
        small = cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
        cell = 300
        x0, y0 = (k % 4) * cell + 20, (k // 4) * cell + 20
        cx, cy = int(bx * s + bw * s / 2), int(by * s + bh * s / 2)
        half = int(max(bw, bh) * s)  # paste the face with a margin of its own size
        top, left = max(0, cy - half), max(0, cx - half)
        patch = small[top:cy + half, left:cx + half]
        canvas[y0:y0 + patch.shape[0], x0:x0 + patch.shape[1]] = patch
        boxes.append((x0 + bx * s - left, y0 + by * s - top, bw * s, bh * s))
        widths.append(width)
    return canvas, boxes, widths


@pytest.fixture(scope="module")
def photo(engine: FaceEngine, portraits: Path):  # type: ignore[no-untyped-def]
    return compose(engine, portraits, 1)


def test_small_faces_found_with_low_quality(engine: FaceEngine, photo) -> None:  # type: ignore[no-untyped-def]
    canvas, boxes, widths = photo
    default = engine.analyze(canvas)
    faces = engine.analyze(canvas, engine.detect(canvas, min_face=12))
    for box, width in zip(boxes, widths, strict=True):
        found = [f for f in faces if box_iou(f.box, box) > 0.4]
        assert len(found) == 1, (box, width)
        face = found[0]
        if width == SMALL:
            assert face.quality.score <= TOO_SMALL_QUALITY, face.quality
            assert face.quality.components["size"] == 0.0
        else:
            assert face.quality.score > 0.3, face.quality
    assert len(default) >= 2  # the large faces are found at any --min-face


def test_too_small_caps_quality_whatever_the_other_cues(engine: FaceEngine,
                                                        portraits: Path) -> None:
    img = load_image(portraits / "person_a_1.jpg")
    face = engine.face(img)
    crop = engine.align(img, [face.detection])[0]
    scorer = QualityScorer(engine.recognizer.spec.name)
    centre = face.detection.landmarks.mean(axis=0)
    for iod, capped in ((MIN_RECOGNISABLE_IOD - 1, True), (MIN_RECOGNISABLE_IOD + 20, False)):
        lm = face.detection.landmarks
        k = iod / float(np.linalg.norm(lm[1] - lm[0]))
        det = Detection(face.detection.box, ((lm - centre) * k + centre).astype(np.float32),
                        face.detection.score)
        report = scorer.score(det, crop, face.embedding.vector)
        if capped:
            assert report.score <= TOO_SMALL_QUALITY < combine(report.components)
        else:
            assert report.score == combine(report.components) > TOO_SMALL_QUALITY


def test_small_faces_never_become_people(engine: FaceEngine, portraits: Path,
                                         tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    for seed in range(3):
        canvas, _, _ = compose(engine, portraits, seed + 10)
        cv2.imwrite(str(photos / f"group_{seed}.png"), canvas)
    monkeypatch.setattr(engine.detector, "min_face", 12)
    with Library.open(tmp_path / "lib") as lib:
        summary = Indexer(lib, workers=0, engine=engine).run([str(photos)])
        assert summary.faces >= 3 * 6
        result = cluster_catalog(lib.store, params=None)
        assert result.people >= 1  # the large faces make people
        faces = [f for rec in lib.store.iter_images() for f in lib.store.faces_of_image(rec.id)]
        small = [f for f in faces if f.box[2] < 2 * SMALL]
        assert len(small) >= 3 * 6 - 2
        assert all(f.quality <= TOO_SMALL_QUALITY for f in small)
        assert all(f.person_id is None for f in small)
