"""faceatlas: offline face recognition, from photos to people.

The public names below are imported on first use, so that ``import faceatlas`` (and the
``faceatlas`` command's start-up) does not load OpenCV, ONNX and the models' runtimes
until they are needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import FaceAtlasError, ImageError, ModelError, ModelMismatchError, NoFaceError
from .lazy import lazy_getattr

if TYPE_CHECKING:
    from .engine import FaceEngine, VerifyResult
    from .image import load_image
    from .types import Detection, Embedding, Face, QualityReport

__version__ = "0.1.0"

_LAZY = {"FaceEngine": ".engine", "VerifyResult": ".engine", "load_image": ".image",
         "Detection": ".types", "Embedding": ".types", "Face": ".types",
         "QualityReport": ".types"}

__all__ = ["Detection", "Embedding", "Face", "FaceAtlasError", "FaceEngine", "ImageError",
           "ModelError", "ModelMismatchError", "NoFaceError", "QualityReport", "VerifyResult",
           "load_image", "__version__"]


__getattr__ = lazy_getattr(__name__, _LAZY, globals())


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
