"""Portability use cases: export a library to one archive, import one, and migrate a
library to another recognition model (reembed)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import FaceAtlasError

if TYPE_CHECKING:
    from ..library import Library
    from ..library.reembed import Progress


def parse_remaps(values: Sequence[str]) -> list[tuple[str, str]]:
    """``OLD=NEW`` path-prefix pairs."""
    out = []
    for value in values:
        old, sep, new = value.partition("=")
        if not sep or not old or not new:
            raise FaceAtlasError(f"--remap '{value}': expected OLD=NEW (two path prefixes)")
        out.append((old, new))
    return out


def export(library: Library, out: str | os.PathLike[str]) -> dict[str, Any]:
    """Write the library (catalog snapshot, receipts, manifest) to the archive ``out``."""
    from ..library.portability import export_library

    manifest = export_library(library, Path(out))
    return {"archive": str(out), **manifest}


def import_archive(archive: str | os.PathLike[str], library: str | os.PathLike[str] | None,
                   force: bool = False, remaps: Sequence[tuple[str, str]] = ()
                   ) -> dict[str, Any]:
    """Install the library of ``archive`` into the library folder ``library``."""
    from ..config import library_dir
    from ..library.portability import import_library

    return import_library(Path(archive), library_dir(library), force=force,
                          remaps=list(remaps)).to_dict()


def reembed(library: Library, recognizer: str | None, backend: str | None = None,
            drop_old: bool = False, force: bool = False,
            progress: Progress | None = None) -> dict[str, Any]:
    """Embed every stored face again with ``recognizer`` and build its index."""
    from ..library.reembed import reembed as run
    from .engine import get_engine

    if recognizer is None:
        raise FaceAtlasError("give the recognition model to migrate to: --recognizer NAME")
    engine = get_engine(recognizer=recognizer, backend=backend)
    return run(library, engine.recognizer, drop_old=drop_old, force=force,
               progress=progress).to_dict()
