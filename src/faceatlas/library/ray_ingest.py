"""Distributed analysis for ``faceatlas index --ray ADDRESS``: decode, detect, align and
embed run in Ray actors (each holds one engine, i.e. the models, loaded once), spread over a
Ray cluster; results come back to the indexing process, which writes them to the catalog
(the shared PostgreSQL store for a multi-node run, see docs/deploy.md) in the same way as
the local worker pool does. Videos are analysed in the actors too, one video per call
(its frames decoded and tracked there). Needs ``pip install 'faceatlas[ray]'``.

``ADDRESS`` is ``local`` (start a Ray instance on this machine with ``workers`` CPUs),
``auto`` (the cluster this machine is part of) or ``ray://HOST:10001`` / ``HOST:6379``.
Every actor reads the photo files by path: on a multi-node cluster the photos must be on
storage mounted at the same path on every node.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Any

from ..ray_session import ray_session
from .analysis import EngineSettings, FileResult, analyze_file
from .videos import VIDEO_INTERVAL, analyze_video


class _Analyzer:
    """One Ray actor: an engine built once, analysing files by path (the paths in
    ``videos`` as videos, sampled every ``interval`` seconds)."""

    def __init__(self, settings: EngineSettings, known_hashes: frozenset[str],
                 videos: frozenset[str], interval: float) -> None:
        import cv2

        if settings.threads:
            cv2.setNumThreads(settings.threads)
        self.engine = settings.build()
        self.known = known_hashes
        self.preview = settings.preview
        self.videos = videos
        self.interval = interval

    def analyze(self, items: list[tuple[str, bool]]) -> list[FileResult]:
        return [analyze_video(self.engine, path, self.known, force, self.interval)
                if path in self.videos else
                analyze_file(self.engine, path, self.known, force, self.preview)
                for path, force in items]


def ray_results(queue: deque[tuple[str, bool]], settings: EngineSettings,
                known_hashes: frozenset[str], workers: int, address: str,
                batch: int = 8, videos: frozenset[str] = frozenset(),
                video_interval: float = VIDEO_INTERVAL) -> Iterator[FileResult]:
    """Analyse the ``(path, force)`` items of ``queue`` (which the caller may extend while
    iterating) on ``workers`` Ray actors, ``batch`` photos per call (a call costs a few
    milliseconds of Ray overhead) and each of the ``videos`` in a call of its own;
    yields results as they complete."""
    with ray_session(address, workers, "index --ray") as ray:
        yield from _run(ray, queue, settings, known_hashes, workers, batch, videos,
                        video_interval)


def _take(queue: deque[tuple[str, bool]], batch: int, videos: frozenset[str]
          ) -> list[tuple[str, bool]]:
    """The next call's items: one video, or up to ``batch`` photos."""
    items = [queue.popleft()]
    while items[0][0] not in videos and queue and len(items) < batch \
            and queue[0][0] not in videos:
        items.append(queue.popleft())
    return items


def _run(ray: Any, queue: deque[tuple[str, bool]], settings: EngineSettings,
         known_hashes: frozenset[str], workers: int, batch: int, videos: frozenset[str],
         interval: float) -> Iterator[FileResult]:
    actor_class = ray.remote(num_cpus=1)(_Analyzer)
    actors = [actor_class.remote(settings, known_hashes, videos, interval)
              for _ in range(max(1, workers))]
    pending: dict[Any, Any] = {}  # object ref -> actor
    load = dict.fromkeys(range(len(actors)), 0)
    try:
        while queue or pending:
            while queue and len(pending) < 2 * len(actors):  # two calls in flight per actor
                items = _take(queue, batch, videos)
                slot = min(load, key=lambda i: load[i])
                load[slot] += 1
                pending[actors[slot].analyze.remote(items)] = slot
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                load[pending.pop(ref)] -= 1
                yield from ray.get(ref)
    finally:
        for actor in actors:
            ray.kill(actor)
