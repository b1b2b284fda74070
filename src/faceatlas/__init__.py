"""faceatlas: offline face recognition, from photos to people."""

from .engine import FaceEngine, VerifyResult
from .errors import FaceAtlasError, ImageError, ModelError, ModelMismatchError, NoFaceError
from .image import load_image
from .types import Detection, Embedding, Face, QualityReport

__version__ = "0.1.0"

__all__ = ["Detection", "Embedding", "Face", "FaceAtlasError", "FaceEngine", "ImageError",
           "ModelError", "ModelMismatchError", "NoFaceError", "QualityReport", "VerifyResult",
           "load_image", "__version__"]
