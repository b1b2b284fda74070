"""Fetching model files: streamed, SHA-256 verified, written atomically."""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from ..errors import ModelError
from ..files import CHUNK, atomic_write


def download(url: str, dest: Path, sha256: str, timeout: float = 30.0,
             progress: Callable[[int, int | None], None] | None = None) -> Path:
    """Download ``url`` to ``dest``, verifying its SHA-256 before it appears there.

    The file is streamed to a temporary file beside ``dest`` and renamed only once
    its digest matches, so an interrupted or corrupt download never leaves a
    half-written model behind. Offline or failed fetches raise :class:`ModelError`
    naming the file, the URL and where to put the file by hand.
    """
    digest = hashlib.sha256()
    with atomic_write(dest, suffix=".part") as out:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp:
                total = resp.headers.get("Content-Length")
                size = int(total) if total and total.isdigit() else None
                done = 0
                while chunk := resp.read(CHUNK):
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
        if got != sha256:  # raising here deletes the temporary file
            raise ModelError(
                f"checksum mismatch for {dest.name} downloaded from {url}: expected "
                f"sha256 {sha256}, got {got}; the file was discarded"
            )
    return dest
