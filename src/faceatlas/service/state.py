"""What the service holds while it runs: its settings, the open library (with locks),
background jobs and per-key rate limits."""

from __future__ import annotations

import os
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import FaceAtlasError

if TYPE_CHECKING:
    from ..engine import FaceEngine
    from ..library import Library
    from ..store import CatalogStore
    from .pool import AnalysisPool

T = TypeVar("T")

#: Largest upload accepted (bytes) by default.
DEFAULT_MAX_UPLOAD = 20 * 1024 * 1024
#: Largest image accepted (pixels, from its header) by default: a bigger one is refused
#: before decoding (decompression bombs).
DEFAULT_MAX_PIXELS = 50_000_000
#: Largest library archive accepted by ``POST /api/v1/import`` (bytes) by default.
DEFAULT_MAX_IMPORT = 8 * 1024**3


class ForbiddenPathError(FaceAtlasError):
    """A path outside the folders the service may read (``--root``)."""


@dataclass
class ServiceConfig:
    """Settings of one service instance."""

    library: Path | None = None
    roots: list[Path] = field(default_factory=list)
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD
    max_pixels: int = DEFAULT_MAX_PIXELS
    rate_limit: int = 0                       # requests per key per minute; 0: no limit
    cors_origins: list[str] = field(default_factory=list)
    detector: str = "yunet"
    recognizer: str = "sface"
    workers: int = 0                          # analysis processes; 0: in the server
    max_import_bytes: int = DEFAULT_MAX_IMPORT

    def resolved_roots(self) -> list[Path]:
        """The ``--root`` folders, resolved (symbolic links followed)."""
        return [Path(r).expanduser().resolve() for r in self.roots]

    def allowed(self, path: str | os.PathLike[str]) -> Path:
        """``path`` resolved, when it lies under a ``--root`` folder; else
        :class:`ForbiddenPathError` (no traversal: ``..`` and links are resolved first)."""
        resolved = Path(path).expanduser().resolve()
        for root in self.resolved_roots():
            if resolved == root or resolved.is_relative_to(root):
                return resolved
        raise ForbiddenPathError(f"{path}: outside the folders this service may read "
                                 "(its --root folders)")


class LibraryHost:
    """The library the service works on. ``library()`` hands out the open library under a
    lock (one request at a time uses the catalog connection and the in-memory vector
    indexes); ``engine()`` the shared engine under its own lock (always taken after the
    library's). Keys and the audit log use a second connection, so that authentication
    never waits for a long job."""

    def __init__(self, config: ServiceConfig) -> None:
        from ..library import Library
        from ..store import open_store

        self.config = config
        self._lib = Library.open(config.library)
        self.root = self._lib.root
        self._lib_lock = threading.RLock()
        self._engine_lock = threading.RLock()
        self._meta = open_store(self.root)
        self._meta_lock = threading.Lock()
        self._engine: FaceEngine | None = None
        self.pool: AnalysisPool | None = None
        if config.workers > 0:
            from .pool import AnalysisPool

            self.pool = AnalysisPool(config.detector, config.recognizer, config.workers)

    @contextmanager
    def analysis(self, images: Sequence[str | os.PathLike[str]] = (),
                 local: bool = False) -> Iterator[FaceEngine]:
        """The engine for decoding, detecting and embedding uploads: the process pool's
        (``images`` start being analysed at once, before the handler takes the library),
        or without workers (or with ``local``: videos) the shared engine under its lock."""
        if self.pool is None or local:
            with self.engine() as engine:
                yield engine
            return
        from .pool import PooledEngine

        pooled = PooledEngine(self.pool, self.config.recognizer).prefetch(images)
        yield pooled  # type: ignore[misc]

    @contextmanager
    def library(self) -> Iterator[Library]:
        """The open library, for the time of the ``with`` block."""
        with self._lib_lock:
            yield self._lib

    @contextmanager
    def engine(self) -> Iterator[FaceEngine]:
        """The shared engine, for the time of the ``with`` block."""
        with self._engine_lock:
            if self._engine is None:
                from ..app.engine import get_engine

                self._engine = get_engine(self.config.detector, self.config.recognizer)
            yield self._engine

    def meta(self, fn: Callable[[CatalogStore], T]) -> T:
        """Run ``fn`` on the keys-and-audit connection."""
        with self._meta_lock:
            return fn(self._meta)

    def replace_library(self, install: Callable[[Path], T]) -> T:
        """Run ``install(root)`` with this service's hold on the library released (no
        request or job uses it meanwhile), so that ``install`` can take the library lock
        exclusively (import ``--force``); the library is opened again afterwards, whatever
        happened."""
        from ..library import Library
        from ..store import open_store

        with self._lib_lock, self._meta_lock:
            self._lib.close()
            self._meta.close()
            try:
                return install(self.root)
            finally:
                self._lib = Library.open(self.root)
                self._meta = open_store(self.root)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()
        with self._lib_lock:
            self._lib.close()
        with self._meta_lock:
            self._meta.close()


@dataclass
class Job:
    """A background job (index, cluster): its state, progress and outcome."""

    id: str
    kind: str
    params: dict[str, Any]
    owner: str
    state: str = "queued"                     # queued | running | done | failed
    done: int = 0
    total: int | None = None
    result: Any = None
    error: dict[str, str] | None = None
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "state": self.state, "params": self.params,
                "owner": self.owner,
                "progress": {"done": self.done, "total": self.total},
                "result": self.result, "error": self.error,
                "created": self.created, "started": self.started, "finished": self.finished}


class JobManager:
    """Runs writer jobs one at a time, in order (the others queue), in a background
    thread with an engine of its own; a job holds the library while it runs (requests
    on the library wait; analysis requests, job progress and authentication do not)."""

    def __init__(self, host: LibraryHost) -> None:
        self.host = host
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="faceatlas-job")
        self._engine: FaceEngine | None = None

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def all(self) -> list[Job]:
        with self._lock:
            return sorted(self._jobs.values(), key=lambda j: j.created)

    def submit(self, kind: str, params: dict[str, Any], owner: str,
               work: Callable[[Job, Library, Callable[[], FaceEngine]], Any]) -> Job:
        """Queue ``work(job, library, engine)``; it runs with the library lock held."""
        job = Job(id=uuid.uuid4().hex[:12], kind=kind, params=params, owner=owner)
        with self._lock:
            self._jobs[job.id] = job
        self._pool.submit(self._run, job, work)
        return job

    def _job_engine(self) -> FaceEngine:
        if self._engine is None:
            from ..engine import FaceEngine

            cfg = self.host.config
            self._engine = FaceEngine(detector=cfg.detector, recognizer=cfg.recognizer)
        return self._engine

    def _run(self, job: Job, work: Callable[[Job, Library, Callable[[], FaceEngine]], Any]
             ) -> None:
        job.state, job.started = "running", time.time()
        try:
            with self.host.library() as lib:
                job.result = work(job, lib, self._job_engine)
            job.state = "done"
        except FaceAtlasError as exc:
            job.state, job.error = "failed", {"type": type(exc).__name__, "message": str(exc)}
        except Exception as exc:  # a bug: keep the service up, report it on the job
            traceback.print_exc()
            job.state, job.error = "failed", {"type": "InternalError", "message": str(exc)}
        finally:
            job.finished = time.time()

    def progress(self, job: Job) -> Callable[[Iterable[Any], int, str], Iterator[Any]]:
        """A progress wrapper (as the indexer takes) that counts into ``job``."""

        def wrap(items: Iterable[Any], total: int, description: str) -> Iterator[Any]:
            job.total = total
            for item in items:
                yield item
                job.done += 1

        return wrap

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class RateLimiter:
    """At most ``per_minute`` requests per key in any 60-second window (0: no limit)."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._hits: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, key: str) -> float | None:
        """None when a request of ``key`` may go ahead now (and count it), else the
        seconds to wait."""
        if self.per_minute <= 0:
            return None
        now = time.monotonic()
        with self._lock:
            hits = [t for t in self._hits.get(key, []) if now - t < 60.0]
            if len(hits) >= self.per_minute:
                self._hits[key] = hits
                return max(0.0, 60.0 - (now - hits[0]))
            hits.append(now)
            self._hits[key] = hits
            return None
