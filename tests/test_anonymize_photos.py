"""plan_image: the boxes anonymising a photo blurs (composed from the fixture portraits)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from faceatlas import FaceEngine
from faceatlas.privacy.anonymize import (
    DEFAULT_MARGIN,
    Consent,
    grow,
    plan_image,
    sensitive_engine,
)


def _group(portraits: Path) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """Two portraits, shrunk, side by side on a grey canvas; where each was pasted."""
    canvas = np.full((480, 800, 3), 128, np.uint8)
    places = []
    for i, name in enumerate(("person_a_1.jpg", "person_b_1.jpg")):
        img = cv2.imread(str(portraits / name))
        s = 300 / max(img.shape[:2])
        img = cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
        x, y = 60 + i * 380, 90
        canvas[y:y + img.shape[0], x:x + img.shape[1]] = img
        places.append((x, y, img.shape[1], img.shape[0]))
    return canvas, places


def test_plan_image_covers_every_face(portraits: Path, engine: FaceEngine) -> None:
    bgr, _ = _group(portraits)
    truth = [d.box for d in engine.detector.detect(bgr)]  # indexing setting
    assert len(truth) == 2
    plan = plan_image(bgr, sensitive_engine())
    assert plan.faces >= 2 and len(plan.boxes) == plan.faces and plan.kept == []
    mask = np.zeros(bgr.shape[:2], bool)
    for b in plan.boxes:
        x1, y1, x2, y2 = grow(b, DEFAULT_MARGIN, bgr.shape[1], bgr.shape[0])
        mask[y1:y2, x1:x2] = True
    for x, y, w, h in truth:
        inside = mask[int(y):int(y + h), int(x):int(x + w)].mean()
        assert inside >= 0.9
    # --only someone not in the photo: nothing is blurred
    stranger = np.zeros(engine.recognizer.spec.embedding_dim or 128, np.float32)
    only = plan_image(bgr, sensitive_engine(), Consent(only={"x": [stranger]},
                                                       only_threshold=0.5))
    assert only.boxes == [] and only.faces == plan.faces
