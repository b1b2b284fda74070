"""The service's analysis workers: a process pool whose workers each build one
:class:`~faceatlas.engine.FaceEngine` when they start and then decode, detect and embed
uploaded images (the handlers keep the catalog work). Workers end with the server,
whatever kills it (:func:`faceatlas.library.analysis.end_with_parent`)."""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..engine import FaceEngine
    from ..library.analysis import FileResult
    from ..types import Face

_ENGINE: FaceEngine | None = None


def _init(detector: str, recognizer: str, parent: int) -> None:
    """Pool initializer: end with the server, leave Ctrl-C to it, build the engine."""
    global _ENGINE
    from ..library.analysis import end_with_parent

    end_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from ..engine import FaceEngine

    _ENGINE = FaceEngine(detector=detector, recognizer=recognizer)


def _call(method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Run ``engine.method(*args, **kwargs)`` in a worker."""
    assert _ENGINE is not None, "the pool initializer did not run"
    return getattr(_ENGINE, method)(*args, **kwargs)


def _apply(fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    """Run ``fn(engine, *args)`` in a worker."""
    assert _ENGINE is not None, "the pool initializer did not run"
    return fn(_ENGINE, *args)


def detect_data(engine: FaceEngine, image: str, label: str) -> tuple[dict[str, Any], bool]:
    """(JSON result, whether it carries the no-face error) of
    :func:`faceatlas.app.analysis.detect`: what the service sends back (the decoded
    pixels stay in the worker)."""
    from ..app import analysis

    out = analysis.detect(engine, image, label)
    return out.data, out.error is not None


def _analyze_file(path: str, known: frozenset[str], force: bool, preview: bool) -> Any:
    """:func:`faceatlas.library.analysis.analyze_file` in a worker."""
    assert _ENGINE is not None, "the pool initializer did not run"
    from ..library.analysis import analyze_file

    return analyze_file(_ENGINE, path, known, force, preview)


def _worker_info() -> tuple[int, str]:
    """(process id, model id) of a worker."""
    assert _ENGINE is not None, "the pool initializer did not run"
    return os.getpid(), _ENGINE.model_id


def default_workers() -> int:
    """Default ``--workers``: min(2, CPU count)."""
    return max(1, min(2, os.cpu_count() or 1))


class AnalysisPool:
    """``workers`` processes, each with one engine (built once, when it starts)."""

    def __init__(self, detector: str, recognizer: str, workers: int) -> None:
        if workers < 1:
            raise ValueError("an analysis pool needs at least one worker")
        self.workers = workers
        # spawn: no copy of the server's threads, locks or open catalog in the workers
        self._pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=_init, initargs=(detector, recognizer, os.getpid()))
        self._model_id: str | None = None

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """``engine.method(*args, **kwargs)`` run in a worker (exceptions re-raised)."""
        return self._pool.submit(_call, method, args, kwargs).result()

    def submit(self, method: str, *args: Any, **kwargs: Any) -> Future[Any]:
        """Start ``engine.method(*args, **kwargs)`` in a worker."""
        return self._pool.submit(_call, method, args, kwargs)

    def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(engine, *args)`` run in a worker (``fn`` defined at module level)."""
        return self._pool.submit(_apply, fn, args).result()

    def analyze_file(self, path: str, known: frozenset[str], force: bool, preview: bool
                     ) -> FileResult:
        """One photo analysed for the indexer (:data:`faceatlas.library.indexer.Analyze`)
        in a worker."""
        return self._pool.submit(_analyze_file, path, known, force, preview).result()

    def info(self) -> tuple[int, str]:
        """(process id, model id) of one worker."""
        return self._pool.submit(_worker_info).result()

    @property
    def model_id(self) -> str:
        if self._model_id is None:
            self._model_id = self.info()[1]
        return self._model_id

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class _Spec:
    def __init__(self, spec: Any) -> None:
        self.spec = spec


class PooledEngine:
    """The part of :class:`~faceatlas.engine.FaceEngine` that the analysis use cases need
    on still images (``analyze``, ``analyze_image``, ``face``, ``verify``, ``model_id``,
    ``recognizer.spec``), run in the pool. ``prefetch`` starts the analysis of images in
    parallel before the handler takes the library, so requests do not queue on it while
    models run."""

    def __init__(self, pool: AnalysisPool, recognizer: str) -> None:
        from ..models import ModelRegistry

        self.pool = pool
        self.recognizer = _Spec(ModelRegistry().get(recognizer))
        self._ready: dict[str, Future[Any]] = {}

    @property
    def model_id(self) -> str:
        return self.pool.model_id

    def prefetch(self, images: Sequence[str | os.PathLike[str]]) -> PooledEngine:
        """Start analysing ``images`` (paths); :meth:`analyze` of them then waits for it."""
        for image in images:
            self._ready[str(image)] = self.pool.submit("analyze", str(image))
        return self

    def analyze(self, image: Any, detections: Any = None) -> list[Face]:
        if detections is None and isinstance(image, (str, os.PathLike)):
            ready = self._ready.pop(str(image), None)
            if ready is not None:
                return ready.result()
            image = str(image)
        return self.pool.call("analyze", image, detections)

    def analyze_image(self, image: Any, detections: Any = None) -> Any:
        if isinstance(image, os.PathLike):
            image = str(image)
        return self.pool.call("analyze_image", image, detections)

    def face(self, image: Any, index: int | None = None, label: str = "image") -> Face:
        return self.pool.call("face", image, index, label)

    def verify(self, a: Any, b: Any, threshold: float | None = None,
               far: float | None = None, face_a: int | None = None,
               face_b: int | None = None) -> Any:
        return self.pool.call("verify", str(a), str(b), threshold=threshold, far=far,
                              face_a=face_a, face_b=face_b)
