"""Finding image files under the paths given to ``faceatlas index``.

Folders are walked recursively (following symbolic links, each real folder once, so a
link loop cannot trap the walk); hidden folders are not entered and hidden files are
listed as skipped. Every other file is returned whatever its name: what it holds is
decided from its content (:func:`classify`, magic bytes), not its extension. Files that
cannot be examined (broken link, link loop, permission denied) are returned as errors,
never raised.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import FaceAtlasError
from ..image import HEAD_BYTES, sniff, unsupported_reason

#: Why a file met by ``index`` was not analysed (``skipped`` counts of a run), in the
#: order they are reported.
SKIP_REASONS: dict[str, str] = {
    "not_image": "not an image",
    "unsupported": "unsupported image format",
    "too_small": "image too small to hold a face",
    "video": "video, not indexed",
    "empty": "empty file",
    "hidden": "hidden file",
}


@dataclass(frozen=True)
class FoundFile:
    """A file to index, by absolute path, with the stat values used to skip it."""

    path: str
    size: int
    mtime_ns: int


@dataclass
class ScanResult:
    """Files found, files that could not be examined (path, message), and the roots the
    scan covered (an image stored under a root but not found is gone)."""

    files: list[FoundFile] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    roots: list[str] = field(default_factory=list)
    hidden: list[str] = field(default_factory=list)


def classify(path: str) -> tuple[str | None, str]:
    """``(skip reason, detail)`` of a file from its first bytes: reason ``None`` for an
    image this installation reads, else a key of :data:`SKIP_REASONS` with a detail
    (the format, or what the name claims). Raises :class:`OSError` if it cannot be read."""
    with open(path, "rb") as fh:
        head = fh.read(HEAD_BYTES)
    kind, fmt = sniff(head, path)
    if kind == "image":
        return None, fmt
    if kind == "not_image":
        ext = os.path.splitext(path)[1].lower()
        return "not_image", (f"content is not an image although named {ext}"
                             if ext in IMAGE_EXTENSIONS else "")
    if kind == "unsupported":
        return kind, unsupported_reason(fmt)
    return kind, fmt


#: Extensions that claim an image (only used to word messages; content decides).
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".bmp", ".tif",
                          ".tiff", ".gif", ".heic", ".heif", ".avif", ".ppm", ".pgm", ".pbm"})


def os_error_message(exc: OSError) -> str:
    """A short human message for an OS error met while reading a file."""
    if exc.errno == errno.ELOOP:
        return "symbolic link loop"
    if exc.errno == errno.ENOENT:
        return "no such file (broken link, or deleted while indexing)"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    return exc.strerror or str(exc)


def absolute(path: str | os.PathLike[str]) -> str:
    """Absolute, normalised path without resolving symbolic links."""
    return os.path.abspath(os.path.expanduser(os.fspath(path)))


def scan(paths: list[str | os.PathLike[str]], skip: Path | None = None) -> ScanResult:
    """Image files under ``paths`` (files or folders), sorted by path; ``skip`` is a folder
    never entered (the library itself)."""
    result = ScanResult()
    seen: set[str] = set()
    skip_real = os.path.realpath(skip) if skip is not None else None
    for raw in paths:
        root = absolute(raw)
        if not os.path.lexists(root):
            raise FaceAtlasError(f"{raw}: no such file or folder")
        result.roots.append(root)
        if os.path.isdir(root):
            _walk(root, result, seen, skip_real)
        else:
            _add(root, result, seen)
    result.files.sort(key=lambda f: f.path)
    return result


def _add(path: str, result: ScanResult, seen: set[str]) -> None:
    if path in seen:
        return
    seen.add(path)
    try:
        st = os.stat(path)
    except OSError as exc:
        result.errors.append((path, os_error_message(exc)))
        return
    if not os.path.isfile(path):
        result.errors.append((path, "not a regular file"))
        return
    result.files.append(FoundFile(path, st.st_size, st.st_mtime_ns))


def _walk(root: str, result: ScanResult, seen: set[str], skip_real: str | None) -> None:
    visited: set[tuple[int, int]] = set()

    def on_error(exc: OSError) -> None:
        result.errors.append((exc.filename or root, os_error_message(exc)))

    for folder, dirs, files in os.walk(root, followlinks=True, onerror=on_error):
        try:
            st = os.stat(folder)
        except OSError as exc:
            result.errors.append((folder, os_error_message(exc)))
            dirs[:] = []
            continue
        key = (st.st_dev, st.st_ino)
        if key in visited or (skip_real and os.path.realpath(folder) == skip_real):
            dirs[:] = []  # a link back to a folder already walked (a loop), or the library
            continue
        visited.add(key)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith("."):
                result.hidden.append(os.path.join(folder, name))
                continue
            _add(os.path.join(folder, name), result, seen)
