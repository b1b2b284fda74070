"""dlib's ResNet face descriptor (the model behind the ``face_recognition`` package)
on faceatlas's aligned crops. Optional: needs ``pip install 'faceatlas[dlib]'``.

dlib's network expects 150x150 chips aligned the way ``dlib.get_face_chip`` does it
(5-point shape, padding 0.25). faceatlas hands every recognizer the 112x112
ArcFace-template crop, so the chip is produced from that crop with one fixed
similarity transform: :data:`DLIB_CHIP_TEMPLATE` is where the five ArcFace-template
points fall in dlib's chip, measured by ``bench/lfw_accuracy.py --dlib-template`` as
the mean over 596 LFW faces of the YuNet landmarks mapped into dlib's own chips. The
bottom rows of dlib's chip (below the chin) lie outside the 112x112 crop and are
filled by edge replication.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

from ..alignment import ARCFACE_TEMPLATE, estimate_similarity
from ..errors import ModelError
from ..models import ModelRegistry, ModelSpec
from ..models.catalog import DLIB
from ..types import Embedding, make_model_id

#: The five ArcFace-template points in dlib's 150x150 chip (x, y).
DLIB_CHIP_TEMPLATE = np.array(
    [[47.26, 45.16], [102.92, 45.43], [74.55, 77.35], [51.29, 101.82], [98.95, 102.70]])
CHIP = 150

def import_dlib() -> Any:
    """The ``dlib`` module, or a :class:`ModelError` saying how to install it."""
    try:
        import dlib
    except ImportError:
        raise ModelError("the dlib recognizer needs the optional dlib packages: "
                         "pip install 'faceatlas[dlib]'") from None
    return dlib


def chip_transform(crop_size: int = 112) -> np.ndarray:
    """2x3 matrix taking a ``crop_size`` ArcFace crop to dlib's 150x150 chip."""
    return estimate_similarity(ARCFACE_TEMPLATE * (crop_size / 112.0), DLIB_CHIP_TEMPLATE)


class DlibRecognizer:
    """Embeds aligned 112x112 BGR crops with dlib's face descriptor (unit vectors)."""

    def __init__(self, spec: ModelSpec = DLIB, registry: ModelRegistry | None = None,
                 backend: str | None = None, threads: int | None = None,
                 flip: bool = False, batch_size: int = 32) -> None:
        dlib = import_dlib()
        registry = registry or ModelRegistry()
        self.spec = spec
        self.name = spec.name
        self.flip = flip
        self.batch_size = batch_size
        if registry.where(spec) is None:
            raise ModelError(f"model '{spec.name}' needs the optional dlib packages: "
                             "pip install 'faceatlas[dlib]'")
        self._net = dlib.face_recognition_model_v1(str(registry.locate(spec).path))
        self._m = chip_transform()

    @property
    def model_id(self) -> str:
        """Name plus file checksum prefix, as for every recognizer."""
        return make_model_id(self.spec.name, self.spec.file.sha256)

    def chips(self, crops: Sequence[np.ndarray]) -> list[np.ndarray]:
        """dlib 150x150 RGB chips for aligned BGR crops."""
        m = chip_transform(crops[0].shape[1]) if crops and crops[0].shape[1] != 112 else self._m
        return [np.ascontiguousarray(
            cv2.warpAffine(c, m, (CHIP, CHIP), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REPLICATE)[..., ::-1]) for c in crops]

    def embed_vectors(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """(n, 128) unit vectors for n aligned BGR crops."""
        if len(crops) == 0:
            return np.zeros((0, 128), np.float32)
        out = []
        for start in range(0, len(crops), self.batch_size):
            chips = self.chips(crops[start:start + self.batch_size])
            feats = np.array(self._net.compute_face_descriptor(chips), np.float32)
            if self.flip:
                flipped = [np.ascontiguousarray(c[:, ::-1]) for c in chips]
                feats = feats + np.array(self._net.compute_face_descriptor(flipped), np.float32)
            out.append(feats.reshape(len(chips), -1))
        vecs = np.concatenate(out)
        return vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)

    def embed(self, crops: Sequence[np.ndarray]) -> list[Embedding]:
        """Embeddings tagged with this model's id."""
        return [Embedding(v, self.model_id) for v in self.embed_vectors(crops)]
