"""FaceEngine: the one object that composes detection, alignment, embedding and quality.

    >>> from faceatlas import FaceEngine
    >>> engine = FaceEngine()
    >>> faces = engine.analyze("group.jpg")          # every face, typed
    >>> engine.verify("a.jpg", "b.jpg").same          # 1:1 decision
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .alignment import align_face
from .detection import (
    PlausibilityFilter,
    PyramidDetector,
    Rejection,
    create_detector,
)
from .embedding import Recognizer, create_recognizer
from .errors import FaceAtlasError, ModelError, NoFaceError
from .image import ImageInput, load_image
from .models import ModelRegistry
from .models.catalog import DEFAULT_DETECTOR, DEFAULT_RECOGNIZER
from .quality import QualityScorer
from .types import Detection, Embedding, Face, check_same_model
from .verification import resolve_threshold


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of a 1:1 comparison."""

    same: bool
    similarity: float
    threshold: float
    far: float | None
    model: str
    face_a: Face
    face_b: Face

    def to_dict(self) -> dict[str, object]:
        return {"same": self.same, "similarity": round(self.similarity, 6),
                "threshold": round(self.threshold, 6), "far": self.far, "model": self.model,
                "face_a": self.face_a.to_dict(), "face_b": self.face_b.to_dict()}


@dataclass(frozen=True)
class Analysis:
    """Every face of one image, and the detections rejected as non-faces."""

    faces: list[Face]
    rejected: list[Rejection]


class FaceEngine:
    """Detect, align, embed, score and compare faces.

    Args:
        detector: registered detection model name (default ``yunet``).
        recognizer: registered recognition model name (default ``sface``).
        backend: ``onnxruntime`` or ``opencv``; default is each model's measured best.
        threads: CPU threads per model (default: the runtime's choice).
        flip: flip test-time augmentation for embeddings.
        min_face: smallest face to find, in pixels of the original image.
        score_threshold: minimum detection confidence.
        check_faces: drop detections that are not faces (landmark geometry and a
            re-detection on the crop, :class:`~faceatlas.detection.PlausibilityFilter`);
            :meth:`analyze_image` reports what was dropped.
    """

    def __init__(self, detector: str = DEFAULT_DETECTOR, recognizer: str = DEFAULT_RECOGNIZER,
                 backend: str | None = None, threads: int | None = None, flip: bool = False,
                 min_face: int | None = None, score_threshold: float = 0.6,
                 registry: ModelRegistry | None = None, check_faces: bool = True) -> None:
        self.registry = registry or ModelRegistry()
        det_spec = self.registry.get(detector)
        rec_spec = self.registry.get(recognizer)
        if det_spec.task != "detection":
            raise ModelError(f"'{detector}' is a {det_spec.task} model, not a detector")
        if rec_spec.task != "recognition":
            raise ModelError(f"'{recognizer}' is a {rec_spec.task} model, not a recognizer")
        self.detector: PyramidDetector = create_detector(
            det_spec, self.registry, score_threshold=score_threshold, min_face=min_face,
            backend=backend, threads=threads)
        self.recognizer: Recognizer = create_recognizer(rec_spec, self.registry,
                                                        backend=backend, threads=threads,
                                                        flip=flip)
        self.quality = QualityScorer(rec_spec.name)
        self.face_filter: PlausibilityFilter | None = (
            PlausibilityFilter(self.detector) if check_faces else None)

    @property
    def model_id(self) -> str:
        """Id of the embedding model, stored with every embedding."""
        return self.recognizer.model_id

    def detect(self, image: ImageInput, min_face: int | None = None) -> list[Detection]:
        """All faces in an image, best score first (non-faces filtered out)."""
        return self.detect_checked(image, min_face)[0]

    def detect_checked(self, image: ImageInput, min_face: int | None = None
                       ) -> tuple[list[Detection], list[Rejection]]:
        """(faces, detections rejected as non-faces) of an image, best score first."""
        bgr = load_image(image)
        found = self.detector.detect(bgr, min_face)
        if self.face_filter is None:
            return found, []
        return self.face_filter.split(bgr, found)

    def align(self, image: ImageInput, detections: Sequence[Detection]) -> list[np.ndarray]:
        """112x112 aligned crops for the given detections."""
        bgr = load_image(image)
        return [align_face(bgr, d.landmarks) for d in detections]

    def embed(self, image: ImageInput,
              detections: Sequence[Detection] | None = None) -> list[Embedding]:
        """Embeddings of the given faces (default: every detected face)."""
        return [f.embedding for f in self.analyze(image, detections)]

    def analyze(self, image: ImageInput,
                detections: Sequence[Detection] | None = None) -> list[Face]:
        """Every face with box, landmarks, score, quality and embedding."""
        return self.analyze_image(image, detections).faces

    def analyze_image(self, image: ImageInput,
                      detections: Sequence[Detection] | None = None) -> Analysis:
        """Every face of an image (box, landmarks, score, quality, embedding) and the
        detections rejected as non-faces. Given ``detections`` are taken as they are."""
        bgr = load_image(image)
        rejected: list[Rejection] = []
        if detections is None:
            dets, rejected = self.detect_checked(bgr)
        else:
            dets = list(detections)
        if not dets:
            return Analysis([], rejected)
        crops = [align_face(bgr, d.landmarks) for d in dets]
        vecs = self.recognizer.embed_vectors(crops)
        model = self.model_id
        return Analysis([Face(d, Embedding(v, model), self.quality.score(d, c, v))
                         for d, c, v in zip(dets, crops, vecs, strict=True)], rejected)

    def face(self, image: ImageInput, index: int | None = None, label: str = "image") -> Face:
        """One face of an image: the largest by default, or the ``index``-th by size."""
        faces = self.analyze(image)
        if not faces:
            raise NoFaceError(f"{label}: no face found")
        by_size = sorted(faces, key=lambda f: -f.detection.box[2] * f.detection.box[3])
        if index is None:
            return by_size[0]
        if not 0 <= index < len(by_size):
            raise FaceAtlasError(f"{label}: face {index} requested but the image has "
                                 f"{len(by_size)} face(s) (0 is the largest)")
        return by_size[index]

    def verify(self, a: ImageInput, b: ImageInput, threshold: float | None = None,
               far: float | None = None, face_a: int | None = None,
               face_b: int | None = None) -> VerifyResult:
        """Are the faces in ``a`` and ``b`` the same person?"""
        fa = self.face(a, face_a, _name(a, "first image"))
        fb = self.face(b, face_b, _name(b, "second image"))
        return self.compare(fa, fb, threshold, far)

    def compare(self, fa: Face, fb: Face, threshold: float | None = None,
                far: float | None = None) -> VerifyResult:
        """Decide on two already analysed faces."""
        check_same_model(fa.embedding.model, fb.embedding.model)
        t = resolve_threshold(self.recognizer.spec.name, threshold, far)
        sim = fa.embedding.similarity(fb.embedding)
        return VerifyResult(sim >= t.value, sim, t.value, t.far, fa.embedding.model, fa, fb)


def _name(source: object, fallback: str) -> str:
    return str(source) if isinstance(source, str) else fallback
