"""Erasure receipts: a JSON record, kept in the library, of what was erased and when.

A receipt says what was asked (a person, faces or a photo), when (UTC), how many rows,
vectors, index entries and thumbnails were removed, and what was kept (for an opt-out:
the models of the template kept and how many faces it averages). It never holds
biometric data: no vectors, thumbnails, landmarks or boxes — only ids (the erased faces'
among them), names, paths and counts. Receipts live in ``receipts/erasure-<UTC time>.json``
under the library folder.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import FaceAtlasError
from ..files import atomic_write

RECEIPTS_DIR = "receipts"


def utc_now() -> str:
    """The current UTC time, ISO 8601 with microseconds and a ``Z``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Receipt:
    """One erasure: ``action`` (``forget-person``, ``forget-faces``, ``forget-photo``,
    ``optout``), its ``target``, the ``removed`` counts, what was ``kept``, how storage
    was cleaned, the erased ``face_ids`` (catalog ids, not biometric data) and, for a
    person, how many faces came from each ``source`` (linked, automatic person #N,
    unassigned)."""

    action: str
    target: dict[str, Any]
    removed: dict[str, int]
    kept: dict[str, Any] = field(default_factory=dict)
    storage: dict[str, Any] = field(default_factory=dict)
    face_ids: list[int] = field(default_factory=list)
    sources: dict[str, int] = field(default_factory=dict)
    utc: str = field(default_factory=utc_now)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    path: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"receipt": "erasure", "id": self.id, "utc": self.utc, "action": self.action,
                "target": self.target, "removed": self.removed, "kept": self.kept,
                "storage": self.storage, "erased_face_ids": self.face_ids,
                "sources": self.sources, "faceatlas": __version__,
                "path": str(self.path) if self.path else None}


def write_receipt(library_root: Path, receipt: Receipt) -> Path:
    """Write ``receipt`` atomically under ``library_root/receipts`` and return its path."""
    folder = Path(library_root) / RECEIPTS_DIR
    stamp = receipt.utc.replace(":", "").replace("-", "")
    path = folder / f"erasure-{stamp}.json"
    n = 1
    while path.exists():
        n += 1
        path = folder / f"erasure-{stamp}-{n}.json"
    receipt.path = path
    try:
        with atomic_write(path) as fh:
            fh.write(json.dumps(receipt.to_dict(), indent=2, sort_keys=True).encode())
    except OSError as exc:
        raise FaceAtlasError(f"{path}: the erasure was done but its receipt could not be "
                             f"written ({exc})") from None
    return path


def list_receipts(library_root: Path) -> list[Path]:
    """Receipts of a library, oldest first."""
    folder = Path(library_root) / RECEIPTS_DIR
    return sorted(folder.glob("erasure-*.json")) if folder.is_dir() else []
