"""One recognizer class for every ONNX face-embedding model.

SFace (OpenCV Zoo) and ArcFace-style models (insightface's w600k_r50 and kin) differ
only in their input contract (colour order, mean and std), which the registry's
:class:`~faceatlas.models.InputSpec` describes; the crop is always the 112x112
ArcFace-template alignment.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from ..models import ModelRegistry, ModelSpec, Runner, choose_backend, load_runner
from ..types import Embedding, make_model_id


class OnnxRecognizer:
    """Embeds aligned face crops: batched, L2-normalised float32.

    ``flip`` adds the horizontally mirrored crop's embedding before normalising
    (test-time augmentation; doubles the cost).
    """

    def __init__(self, spec: ModelSpec, registry: ModelRegistry | None = None,
                 backend: str | None = None, threads: int | None = None,
                 flip: bool = False, batch_size: int = 32) -> None:
        registry = registry or ModelRegistry()
        self.spec = spec
        self.name = spec.name
        self.flip = flip
        self.batch_size = batch_size
        self.runner: Runner = load_runner(registry.load(spec),
                                          choose_backend(spec.default_backend, backend), threads)
        self._input = self.runner.input_names[0]
        w, h = spec.input.size
        self.crop_size = (w or 112, h or 112)

    @property
    def model_id(self) -> str:
        """Identifier stored with every embedding: name plus file checksum prefix."""
        return make_model_id(self.spec.name, self.spec.file.sha256)

    def _blob(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        arr = np.stack([c if c.shape[:2] == self.crop_size[::-1]
                        else cv2.resize(c, self.crop_size) for c in crops]).astype(np.float32)
        if self.spec.input.color == "RGB":
            arr = arr[..., ::-1]
        arr = (arr - self.spec.input.mean) / self.spec.input.std
        return np.ascontiguousarray(arr.transpose(0, 3, 1, 2))

    def embed_vectors(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """(n, d) unit vectors for n aligned BGR crops."""
        if len(crops) == 0:
            return np.zeros((0, self.spec.embedding_dim or 0), np.float32)
        out = []
        for start in range(0, len(crops), self.batch_size):
            blob = self._blob(crops[start:start + self.batch_size])
            feats = self._run(blob)
            if self.flip:
                feats = feats + self._run(np.ascontiguousarray(blob[..., ::-1]))
            out.append(feats)
        vecs = np.concatenate(out).astype(np.float32)
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        return vecs / np.maximum(norms, 1e-12)

    def embed(self, crops: Sequence[np.ndarray]) -> list[Embedding]:
        """Embeddings tagged with this model's id."""
        return [Embedding(v, self.model_id) for v in self.embed_vectors(crops)]

    def _run(self, blob: np.ndarray) -> np.ndarray:
        out = self.runner.run({self._input: blob})[0]
        return np.asarray(out, np.float32).reshape(len(blob), -1)
