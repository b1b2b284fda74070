"""The engines use cases run with: one per option set for the life of the process."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..engine import FaceEngine


@lru_cache(maxsize=4)
def get_engine(detector: str = "yunet", recognizer: str = "sface", backend: str | None = None,
               min_face: int | None = None, check_faces: bool = True) -> FaceEngine:
    """One engine per option set for the life of the process (``min_face`` None: the
    engine's default for each image)."""
    from ..engine import FaceEngine

    return FaceEngine(detector=detector, recognizer=recognizer, backend=backend,
                      min_face=min_face, check_faces=check_faces)
