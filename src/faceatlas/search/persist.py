"""The on-disk format of a saved index: one file, written atomically.

Layout: ``MAGIC`` (8 bytes), manifest length (8 bytes, little endian), the JSON
manifest, the tombstoned ids (int64), then the serialised faiss index. The manifest
records kind, dimension, count, a SHA-256 of the sorted live ids, the model id and a
SHA-256 of the faiss bytes, so a truncated or corrupt file is detected on load and a
catalog can be compared with the index by reading the manifest alone.
"""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path
from typing import Any

import numpy as np

from ..files import atomic_write
from .base import IndexFileError

MAGIC = b"FATLIDX1"
FORMAT_VERSION = 1
_HEADER = struct.Struct("<8sQ")
_MAX_MANIFEST = 1 << 20


def ids_checksum(ids: np.ndarray) -> str:
    """SHA-256 of the sorted, de-duplicated ids as little-endian int64."""
    arr = np.unique(np.asarray(ids, dtype=np.int64)).astype("<i8")
    return hashlib.sha256(arr.tobytes()).hexdigest()


def write_index_file(path: Path, manifest: dict[str, Any], tombstones: np.ndarray,
                     payload: np.ndarray) -> None:
    """Write manifest + tombstones + faiss bytes atomically (:func:`atomic_write`)."""
    tomb = np.ascontiguousarray(tombstones, dtype="<i8")
    body = np.ascontiguousarray(payload, dtype=np.uint8)
    manifest = dict(manifest, format=FORMAT_VERSION, tombstones=int(tomb.size),
                    index_bytes=int(body.size),
                    index_sha256=hashlib.sha256(body.data).hexdigest())
    head = json.dumps(manifest, sort_keys=True).encode()
    with atomic_write(path) as fh:
        fh.write(_HEADER.pack(MAGIC, len(head)))
        fh.write(head)
        fh.write(tomb.tobytes())
        fh.write(body.data)


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest of an index file, reading only its header."""
    path = Path(path)
    if not path.is_file():
        raise IndexFileError(f"index file '{path}' does not exist: build it first")
    with path.open("rb") as fh:
        raw = fh.read(_HEADER.size)
        if len(raw) < _HEADER.size:
            raise IndexFileError(f"index file '{path}' is truncated: rebuild it")
        magic, size = _HEADER.unpack(raw)
        if magic != MAGIC or size > _MAX_MANIFEST:
            raise IndexFileError(f"'{path}' is not a faceatlas index file: rebuild it")
        head = fh.read(size)
    try:
        manifest = json.loads(head)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexFileError(f"index file '{path}' has a corrupt manifest: rebuild it") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_VERSION:
        raise IndexFileError(f"index file '{path}' has an unknown format version: rebuild it")
    manifest["_offset"] = _HEADER.size + size
    return manifest


def read_index_file(path: Path) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
    """(manifest, tombstones, faiss bytes) of an index file, checksums verified."""
    manifest = read_manifest(path)
    offset = int(manifest.pop("_offset"))
    n_tomb, n_bytes = int(manifest["tombstones"]), int(manifest["index_bytes"])
    expected = offset + 8 * n_tomb + n_bytes
    actual = Path(path).stat().st_size
    if actual != expected:
        raise IndexFileError(
            f"index file '{path}' has {actual} bytes, expected {expected} (truncated?): "
            "rebuild it")
    tomb = np.fromfile(path, dtype="<i8", count=n_tomb, offset=offset).astype(np.int64)
    payload = np.fromfile(path, dtype=np.uint8, count=n_bytes, offset=offset + 8 * n_tomb)
    if hashlib.sha256(payload.data).hexdigest() != manifest["index_sha256"]:
        raise IndexFileError(f"index file '{path}' is corrupt (checksum mismatch): rebuild it")
    return manifest, tomb, payload
