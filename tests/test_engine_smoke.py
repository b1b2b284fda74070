from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from faceatlas import FaceEngine
from faceatlas.errors import FaceAtlasError, ModelError


def test_same_person_scores_above_impostors(engine: FaceEngine, portraits: Path) -> None:
    faces = {p.stem: engine.face(p) for p in sorted(portraits.glob("*.jpg"))}
    sim = {(a, b): faces[a].embedding.similarity(faces[b].embedding)
           for a, b in itertools.combinations(sorted(faces), 2)}
    genuine = [sim[("person_a_1", "person_a_2")], sim[("person_b_1", "person_b_2")]]
    impostor = [v for (a, b), v in sim.items() if a.split("_")[1] != b.split("_")[1]
                or a.startswith("impostor")]
    assert min(genuine) > max(impostor) + 0.2


def test_stages_compose_like_analyze(engine: FaceEngine, portraits: Path) -> None:
    path = portraits / "person_b_2.jpg"
    faces = engine.analyze(path)
    dets = engine.detect(path)
    assert [d.box for d in dets] == [f.detection.box for f in faces]
    crops = engine.align(path, dets)
    assert all(c.shape == (112, 112, 3) for c in crops)
    embs = engine.embed(path, dets)
    assert all(abs(a.similarity(f.embedding) - 1) < 1e-5
               for a, f in zip(embs, faces, strict=True))
    assert engine.analyze(path, []) == []


def test_face_index_and_verify(engine: FaceEngine, portraits: Path) -> None:
    a1, a2 = portraits / "person_a_1.jpg", portraits / "person_a_2.jpg"
    assert engine.face(a1, 0).box == engine.face(a1).box
    with pytest.raises(FaceAtlasError, match="face 1 requested but the image has 1"):
        engine.face(a1, 1)
    res = engine.verify(a1, a2)
    assert res.same and res.similarity > res.threshold and res.model == engine.model_id
    assert engine.verify(a1, portraits / "impostor_1.jpg", far=1e-2).same is False
    d = res.to_dict()
    assert set(d) == {"same", "similarity", "threshold", "far", "model", "face_a", "face_b"}


def test_engine_rejects_wrong_tasks(engine: FaceEngine) -> None:
    with pytest.raises(ModelError, match="not a detector"):
        FaceEngine(detector="sface", registry=engine.registry)
    with pytest.raises(ModelError, match="not a recognizer"):
        FaceEngine(recognizer="yunet", registry=engine.registry)


def test_opencv_and_onnxruntime_agree(engine: FaceEngine, portraits: Path) -> None:
    path = portraits / "impostor_2.jpg"
    ref = engine.face(path)
    for backend in ("onnxruntime", "opencv"):
        other = FaceEngine(backend=backend, registry=engine.registry, threads=1).face(path)
        assert np.abs(np.asarray(other.box) - np.asarray(ref.box)).max() < 1.0
        assert other.embedding.similarity(ref.embedding) > 0.999
