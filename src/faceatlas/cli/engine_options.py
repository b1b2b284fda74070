"""Options every command that runs the models accepts."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from ..engine import FaceEngine

DetectorOpt = typer.Option("yunet", "--detector", help="Detection model (see `faceatlas models`).")
RecognizerOpt = typer.Option("sface", "--recognizer",
                             help="Recognition model (see `faceatlas models`).")
BackendOpt = typer.Option(None, "--backend",
                          help="Runtime: onnxruntime or opencv (default: fastest measured).")
MinFaceOpt = typer.Option(24, "--min-face", min=8, help="Smallest face to find, in pixels.")


@lru_cache(maxsize=4)
def get_engine(detector: str = "yunet", recognizer: str = "sface", backend: str | None = None,
               min_face: int = 24) -> FaceEngine:
    """One engine per option set for the life of the process."""
    from ..engine import FaceEngine

    return FaceEngine(detector=detector, recognizer=recognizer, backend=backend,
                      min_face=min_face)
