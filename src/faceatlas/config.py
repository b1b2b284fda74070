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
