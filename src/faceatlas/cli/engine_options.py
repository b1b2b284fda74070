"""Options every command that runs the models accepts."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from ..config import DEFAULT_MIN_FACE

if TYPE_CHECKING:
    from ..engine import FaceEngine

DetectorOpt = typer.Option("yunet", "--detector", help="Detection model (see `faceatlas models`).")
RecognizerOpt = typer.Option("sface", "--recognizer",
                             help="Recognition model (see `faceatlas models`).")
BackendOpt = typer.Option(None, "--backend",
                          help="Runtime: onnxruntime or opencv (default: fastest measured).")
MinFaceOpt = typer.Option(None, "--min-face", min=8,
                          help=f"Smallest face to find, in pixels (default {DEFAULT_MIN_FACE}, "
                          "or 1/120 of the photo's shorter side when that is larger).")
CheckFacesOpt = typer.Option(True, "--check-faces/--no-check-faces",
                             help="Drop detections that are not faces (landmark geometry and "
                             "a second detection on the crop); they are counted.")


def get_engine(detector: str = "yunet", recognizer: str = "sface", backend: str | None = None,
               min_face: int | None = None, check_faces: bool = True) -> FaceEngine:
    """One engine per option set for the life of the process
    (:func:`faceatlas.app.engine.get_engine`)."""
    from ..app.engine import get_engine as engine

    return engine(detector, recognizer, backend, min_face, check_faces)
