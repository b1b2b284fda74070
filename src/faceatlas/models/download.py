"""Fetching model files: streamed, SHA-256 verified, written atomically."""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from ..errors import ModelError

_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download(url: str, dest: Path, sha256: str, timeout: float = 30.0,
             progress: Callable[[int, int | None], None] | None = None) -> Path:
    """Download ``url`` to ``dest``, verifying its SHA-256 before it appears there.

    The file is streamed to a temporary file beside ``dest`` and renamed only once
    its digest matches, so an interrupted or corrupt download never leaves a
    half-written model behind. Offline or failed fetches raise :class:`ModelError`
    naming the file, the URL and where to put the file by hand.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp, os.fdopen(fd, "wb") as out:
                total = resp.headers.get("Content-Length")
                size = int(total) if total and total.isdigit() else None
                done = 0
                while chunk := resp.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                    done += len(chunk)
                    if progress:
                        progress(done, size)
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ModelError(
                f"cannot download {dest.name} from {url} ({reason}); this machine may be "
                f"offline: fetch the file elsewhere and place it at {dest}"
            ) from None
        got = digest.hexdigest()
        if got != sha256:
            raise ModelError(
                f"checksum mismatch for {dest.name} downloaded from {url}: expected "
                f"sha256 {sha256}, got {got}; the file was discarded"
            )
        os.replace(tmp, dest)
        return dest
    finally:
        if tmp.exists():
            tmp.unlink()
