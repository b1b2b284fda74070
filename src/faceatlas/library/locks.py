"""File locks that let several processes share one library folder.

Two lock files sit in the library folder (``flock``, so a lock dies with its process,
even on SIGKILL; Linux and macOS):

* ``library.lock`` — every open :class:`~faceatlas.library.Library` holds it **shared**
  for its lifetime; replacing the library under everyone's feet (``import --force``)
  needs it **exclusive** and is refused while another process has the library open.
* ``index.lock`` — held **exclusive**, briefly, by whoever writes anything in
  ``index/`` (saving, rebuilding or cleaning a vector index), so that a rebuild never
  deletes another process's temporary file and a save is checked against the catalog
  at the moment it lands.

Each acquisition opens its own file descriptor, so two threads of one process exclude
each other as two processes do. Where the folder cannot be written (a read-only copy of
a library), the locks are skipped: nobody can change that library anyway. Without
``fcntl`` (Windows) they are skipped too: one process at a time there.

See docs/architecture.md, "Coordination between processes".
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator
from pathlib import Path

from ..errors import FaceAtlasError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock, the locks are skipped
    fcntl = None  # type: ignore[assignment]

LIBRARY_LOCK = "library.lock"
INDEX_LOCK = "index.lock"
#: Files of a library folder that are coordination state, not library content.
LOCK_FILES = (LIBRARY_LOCK, INDEX_LOCK)


class LibraryBusyError(FaceAtlasError):
    """Another process holds a lock that the operation needs exclusively."""


def _open(path: Path) -> int | None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError:
        try:
            return os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return None


class FileLock:
    """One ``flock`` on one file, held through its own descriptor."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, exclusive: bool, wait: bool = True) -> bool:
        """Take the lock (shared or exclusive); with ``wait=False`` return False at once
        when another holder is in the way. An unwritable folder: True, no lock."""
        if self._fd is not None:
            raise RuntimeError(f"{self.path}: lock already held")
        fd = _open(self.path) if fcntl is not None else None
        if fd is None:
            return True
        flags = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | (0 if wait else fcntl.LOCK_NB)
        try:
            fcntl.flock(fd, flags)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                return False
            raise
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            with contextlib.suppress(OSError, AttributeError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def library_lock(root: Path) -> FileLock:
    """The (not yet taken) open/replace lock of the library at ``root``."""
    return FileLock(Path(root) / LIBRARY_LOCK)


@contextlib.contextmanager
def index_lock(root: Path) -> Iterator[None]:
    """Hold the library's ``index/`` write lock (exclusive, waiting for it)."""
    lock = FileLock(Path(root) / INDEX_LOCK)
    lock.acquire(exclusive=True)
    try:
        yield
    finally:
        lock.release()


def exclusive_library(root: Path) -> FileLock:
    """Take the library lock exclusively without waiting, or raise
    :class:`LibraryBusyError`: for replacing the library while nobody has it open."""
    lock = library_lock(root)
    if not lock.acquire(exclusive=True, wait=False):
        raise LibraryBusyError(f"{root}: the library is open in another faceatlas process "
                               "(a running command or service); stop it and try again")
    return lock
