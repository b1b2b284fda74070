"""Building the recognizer of a registered recognition model."""

from __future__ import annotations

from ..errors import ModelError
from ..models import ModelRegistry, ModelSpec
from ..models.catalog import FUSION_PARTS
from .base import Recognizer
from .dlib_recognizer import DlibRecognizer
from .fusion import FusionRecognizer
from .recognizer import OnnxRecognizer


def create_recognizer(spec: ModelSpec, registry: ModelRegistry,
                      backend: str | None = None, threads: int | None = None,
                      flip: bool = False) -> Recognizer:
    """The recognizer for a registered recognition model: ONNX models (``sface``,
    ``arcface`` families), dlib's descriptor (``dlib``, optional extra) or a fusion of
    two of them (``fusion``, parts listed in
    :data:`~faceatlas.models.catalog.FUSION_PARTS`)."""
    if spec.family == "dlib":
        return DlibRecognizer(spec, registry, flip=flip)
    if spec.family == "fusion":
        if spec.name not in FUSION_PARTS:
            raise ModelError(f"fusion model '{spec.name}' has no parts in the catalog")
        parts = [create_recognizer(registry.get(name), registry, backend, threads, flip)
                 for name in FUSION_PARTS[spec.name]]
        return FusionRecognizer(spec, parts)
    return OnnxRecognizer(spec, registry, backend=backend, threads=threads, flip=flip)
