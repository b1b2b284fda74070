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
