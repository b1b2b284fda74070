"""Optional dependencies (the ``pip install 'faceatlas[EXTRA]'`` extras): import one, or
stop with a one-line message naming the extra to install."""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

from .errors import missing_extra

#: Top-level module -> (pip package, extra) of each optional dependency.
EXTRAS = {"matplotlib": ("matplotlib", "plots"), "scann": ("scann", "scann"),
          "dlib": ("dlib-bin", "dlib"), "av": ("av", "video"),
          "fastapi": ("fastapi", "server"), "uvicorn": ("uvicorn", "server"),
          "multipart": ("python-multipart", "server"),
          "psycopg": ("psycopg", "postgres"), "pgvector": ("pgvector", "postgres"),
          "ray": ("ray", "ray")}


def require(module: str, feature: str) -> ModuleType:
    """Import ``module`` (e.g. ``matplotlib.figure``) for ``feature`` (how the user asked
    for it, e.g. "evaluate --out"), or raise :class:`~faceatlas.errors.MissingExtraError`
    when its package is not installed."""
    top = module.split(".")[0]
    try:
        return import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.split(".")[0] != top or top not in EXTRAS:
            raise
        package, extra = EXTRAS[top]
        raise missing_extra(package, extra, feature) from None
