"""Where faceatlas keeps its files."""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    """The user's faceatlas folder: ``$FACEATLAS_HOME`` or ``~/.cache/faceatlas``."""
    env = os.environ.get("FACEATLAS_HOME")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "faceatlas"


def models_dir() -> Path:
    """Folder searched for model files that do not ship in an installed package."""
    return home() / "models"


def library_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The photo library folder: ``override`` (``--library``), else ``$FACEATLAS_LIBRARY``,
    else ``$FACEATLAS_HOME/library``."""
    if override:
        return Path(override).expanduser()
    env = os.environ.get("FACEATLAS_LIBRARY")
    return Path(env).expanduser() if env else home() / "library"


#: Default smallest face to detect, in pixels (``--min-face``); chosen by
#: ``bench/detection.py`` (docs/benchmarks.md, "Detection: false faces and small faces").
#: Kept here, free of heavy imports, so the CLI can show it without loading the detector.
DEFAULT_MIN_FACE = 10
#: Unless ``--min-face`` is given, a photo's smallest face is also at least this fraction
#: of its shorter side: the same share of the scene at every resolution (a 10 px face of a
#: 1,200 px photo is a 25 px face of the same scene shot at 12 MP), so that phone-size
#: photos are searched on a preview (docs/benchmarks.md, "Real photo libraries").
MIN_FACE_FRACTION = 1 / 120


def default_min_face(width: int, height: int) -> int:
    """The smallest face searched for in a ``width`` x ``height`` photo when none is
    given: :data:`DEFAULT_MIN_FACE`, or :data:`MIN_FACE_FRACTION` of the shorter side
    when that is larger."""
    return max(DEFAULT_MIN_FACE, int(round(min(width, height) * MIN_FACE_FRACTION)))
