"""Typed results shared by every stage of the pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import ModelMismatchError


@dataclass(frozen=True)
class Detection:
    """One detected face: box ``(x, y, w, h)`` in pixels, five landmarks
    (right eye, left eye, nose tip, right mouth corner, left mouth corner, as seen
    in the image: the first point is the one on the image's left) and a score."""

    box: tuple[float, float, float, float]
    landmarks: np.ndarray  # (5, 2) float32
    score: float

    @property
    def size(self) -> float:
        """Face size in pixels: the shorter side of the box."""
        return float(min(self.box[2], self.box[3]))

    def to_dict(self) -> dict[str, object]:
        return {
            "box": [round(float(v), 2) for v in self.box],
            "landmarks": [[round(float(x), 2), round(float(y), 2)] for x, y in self.landmarks],
            "score": round(float(self.score), 4),
        }


@dataclass(frozen=True)
class Embedding:
    """An L2-normalised face embedding tagged with the model that produced it."""

    vector: np.ndarray  # (d,) float32, unit norm
    model: str

    def similarity(self, other: Embedding) -> float:
        """Cosine similarity; refuses embeddings of different models."""
        check_same_model(self.model, other.model)
        return float(np.dot(self.vector, other.vector))


def make_model_id(name: str, digest: str) -> str:
    """The id stored with every embedding: the recognizer's name, ``@``, and the first 12
    hex digits of a digest of what fixes its output (the model file's SHA-256)."""
    return f"{name}@{digest[:12]}"


def model_name(model_id: str) -> str:
    """The recognizer name of an embedding model id (``name@digest``)."""
    return model_id.split("@", 1)[0]


def check_same_model(a: str, b: str) -> None:
    """Raise :class:`ModelMismatchError` unless both model ids are equal."""
    if a != b:
        raise ModelMismatchError(
            f"cannot compare embeddings of model '{a}' with embeddings of model '{b}': "
            "re-embed both faces with the same model"
        )


@dataclass(frozen=True)
class QualityReport:
    """Per-face quality in [0, 1] with the components it is made of."""

    score: float
    components: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {
            "score": round(self.score, 4),
            "components": {k: round(v, 4) for k, v in self.components.items()},
        }


@dataclass(frozen=True)
class Face:
    """Everything the engine knows about one face in one image."""

    detection: Detection
    embedding: Embedding
    quality: QualityReport

    @property
    def box(self) -> tuple[float, float, float, float]:
        """Face box ``(x, y, w, h)`` in pixels (of :attr:`detection`)."""
        return self.detection.box

    @property
    def landmarks(self) -> np.ndarray:
        """The five landmarks, ``(5, 2)`` float32 pixels (of :attr:`detection`)."""
        return self.detection.landmarks

    @property
    def score(self) -> float:
        """The detector's confidence in [0, 1] (of :attr:`detection`; the face's quality
        is :attr:`quality`)."""
        return float(self.detection.score)

    @property
    def vector(self) -> np.ndarray:
        """The unit-norm embedding vector (of :attr:`embedding`)."""
        return self.embedding.vector

    def to_dict(self, with_embedding: bool = False) -> dict[str, object]:
        out: dict[str, object] = dict(self.detection.to_dict())
        out["quality"] = self.quality.to_dict()
        out["model"] = self.embedding.model
        if with_embedding:
            out["embedding"] = [float(v) for v in self.embedding.vector]
        return out
