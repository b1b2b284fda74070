"""Use cases on single images: detect, embed, verify."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import NoFaceError

if TYPE_CHECKING:
    import numpy as np

    from ..engine import FaceEngine
    from ..types import Face

ImagePath = str | os.PathLike[str]


def no_face_error(image: object, rejected: int = 0) -> NoFaceError:
    """The error of an image without faces (with a hint on how to find some)."""
    hint = (f"{rejected} detection(s) rejected as non-faces; --no-check-faces keeps them"
            if rejected else "try a smaller --min-face")
    return NoFaceError(f"{image}: no face found ({hint})")


def with_no_face_error(data: dict[str, Any], exc: NoFaceError) -> dict[str, Any]:
    """``data`` with the ``error`` member a result without faces carries."""
    return {**data, "error": {"type": type(exc).__name__, "message": str(exc),
                              "exit_code": exc.exit_code}}


@dataclass
class DetectOutcome:
    """What :func:`detect` found: the JSON result, the faces and the decoded image."""

    data: dict[str, Any]
    faces: list[Face]
    bgr: np.ndarray
    rejected: int

    @property
    def error(self) -> NoFaceError | None:
        """The no-face error when no face was found (the result then carries it too)."""
        return no_face_error(self.data["image"], self.rejected) if not self.faces else None


def detect(engine: FaceEngine, image: ImagePath, label: str | None = None) -> DetectOutcome:
    """Faces of ``image``: box, landmarks, score, quality, and the rejected detections.
    ``label`` names the image in the result (default: the path)."""
    from ..image import load_image

    bgr = load_image(image)
    analysis = engine.analyze_image(bgr)
    faces = analysis.faces
    data: dict[str, Any] = {"image": label or str(image), "width": bgr.shape[1],
                            "height": bgr.shape[0], "faces": [f.to_dict() for f in faces],
                            "rejected": [r.to_dict() for r in analysis.rejected]}
    out = DetectOutcome(data, faces, bgr, len(analysis.rejected))
    if out.error is not None:
        out.data = with_no_face_error(data, out.error)
    return out


def embed(engine: FaceEngine, image: ImagePath) -> tuple[dict[str, Any], int]:
    """Every face of ``image`` with its embedding; (result, number of faces). Without
    faces the result carries the no-face error."""
    faces = engine.analyze(image)
    data: dict[str, Any] = {"image": str(image), "model": engine.model_id,
                            "faces": [f.to_dict(with_embedding=True) for f in faces]}
    if not faces:
        data = with_no_face_error(data, no_face_error(image))
    return data, len(faces)


def verify(engine: FaceEngine, a: ImagePath, b: ImagePath, threshold: float | None = None,
           far: float | None = None, face_a: int | None = None,
           face_b: int | None = None) -> dict[str, Any]:
    """Are the faces of ``a`` and ``b`` the same person?"""
    return engine.verify(a, b, threshold=threshold, far=far, face_a=face_a,
                         face_b=face_b).to_dict()
