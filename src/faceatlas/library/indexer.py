"""Incremental, crash-safe indexing of photo folders into a library.

One run:

1. **scan** the given files/folders (:mod:`.scan`): path, size, mtime of each image file;
2. **classify** against the catalog: a stored path with the same size and mtime is
   *unchanged* and is not even read; stored images under the scanned roots that were not
   found are *missing* (moved or deleted);
3. **analyse** the rest in worker processes (one engine each, one thread each): the file
   is hashed; if the hash is already known (a missing image: moved/renamed; or the same
   path: only touched) it is not decoded; else it is decoded and its faces found; faces of
   people who opted out (:mod:`faceatlas.library.guard`) are dropped before the commit;
4. **commit** each file as it completes, in the main process, in one transaction (image,
   faces, embeddings together): a kill at any moment leaves whole images only, and the
   next run carries on from there. A moved file keeps its image row (faces, person links)
   with the new path;
5. **delete** the missing images that no file claimed, with their faces, once every file
   has been seen (an interrupted run deletes nothing);
6. **save** the vector indexes. They are derived data: if the run dies before this, the
   next opening finds them out of date and repairs them from the catalog.

**Videos** (when ``videos`` is on, the default) are found by content like photos and
analysed after the photos, one at a time in this process (the frames of one video are
what the cores work on), each with its own progress display: their faces are tracks
(:mod:`.videos`); with ``ray`` they are analysed in the Ray actors instead, one video
per call, along with the photos. An undecodable video is one error of the run, which goes on.

Every file met is accounted for: ``files_seen`` is the sum of new, changed, moved,
unchanged, errors, skipped (by reason, :data:`~faceatlas.library.scan.SKIP_REASONS`: not
an image, unsupported format, too small, video, empty, hidden) and ``pending`` (files an
interrupted run did not reach). What a file is comes from its first bytes, never its
name. Skipped files are not stored. Library warnings (corrupt EXIF...) become per-file
``notes``.

Bad files (unreadable, corrupt, changing while read, link loops) are stored
with ``status='error'`` and their message, and the run goes on; a file that was indexed
before keeps its stored faces when it becomes unreadable. Ctrl-C stops after the current
images; a full disk stops the run with a clear message and a consistent catalog.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..engine import FaceEngine
from ..store import CatalogError, ImageInfo, ImageRecord, StaleCatalogError
from ..video import VIDEO_EXTENSIONS, Frame
from ..video.analyze import FrameWrap
from .analysis import EngineSettings, FileResult, analyze_file, init_worker, worker_analyze
from .core import Library
from .guard import OptOutGuard
from .notface import screen_not_faces
from .scan import SKIP_REASONS, FoundFile, classify, os_error_message, scan
from .videos import VIDEO_INTERVAL, analyze_video

#: Runs with at most this many files to analyse skip the worker processes (whose start
#: costs more than the work).
IN_PROCESS_MAX = 2
#: ``wrap(items, total, description)`` — a progress display around an iterator.
#: (Also wraps the sampled frames of each video.)
Progress = Callable[[Iterable[Any], int, str], Iterable[Any]]


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


#: Analyses one photo as :func:`~faceatlas.library.analysis.analyze_file` does, given
#: (path, known hashes, force, preview) without the engine: an ``Indexer`` given one uses
#: it instead of its own engine or workers (the REST service's process pool).
Analyze = Callable[[str, frozenset[str], bool, bool], FileResult]


@dataclass
class IndexSummary:
    """Counts of one ``index`` run."""

    new: int = 0
    changed: int = 0
    moved: int = 0
    deleted: int = 0
    unchanged: int = 0
    faces: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)
    interrupted: bool = False
    stopped: str | None = None        # why the run stopped early (disk full...)
    seconds: float = 0.0
    analysed: int = 0                 # files decoded and run through the models
    refused: int = 0                  # faces of opted-out people, not stored
    nonfaces: int = 0                 # detections rejected as non-faces or marked "not a
                                      # face" by the user (faceatlas.library.notface)
    files_seen: int = 0               # every file met (the sum of the counts below)
    skipped_files: list[dict[str, str]] = field(default_factory=list)  # path, reason, detail
    notes: list[dict[str, str]] = field(default_factory=list)          # path, note
    pending: int = 0                  # files not reached (interrupted or stopped run)
    videos: int = 0                   # videos analysed (counted in new/changed too)
    tracks: int = 0                   # face tracks stored from them (counted in faces)
    video_frames: int = 0             # frames analysed in them

    @property
    def skipped(self) -> dict[str, int]:
        """Files skipped, by reason (every reason of ``SKIP_REASONS``, zeros included)."""
        counts = dict.fromkeys(SKIP_REASONS, 0)
        for s in self.skipped_files:
            counts[s["reason"]] = counts.get(s["reason"], 0) + 1
        return counts

    def accounted(self) -> int:
        """Files with a verdict; equals ``files_seen`` once ``pending`` is added."""
        return (self.new + self.changed + self.moved + self.unchanged + len(self.errors)
                + len(self.skipped_files))

    def to_dict(self) -> dict[str, object]:
        return {"files_seen": self.files_seen, "new": self.new, "changed": self.changed,
                "moved": self.moved, "unchanged": self.unchanged, "errors": len(self.errors),
                "skipped": self.skipped, "pending": self.pending, "deleted": self.deleted,
                "faces": self.faces, "error_files": self.errors,
                "skipped_files": self.skipped_files, "notes": self.notes,
                "interrupted": self.interrupted, "stopped": self.stopped,
                "analysed": self.analysed, "refused": self.refused,
                "nonfaces": self.nonfaces, "videos": self.videos, "tracks": self.tracks,
                "video_frames": self.video_frames,
                "seconds": round(self.seconds, 3)}


class Indexer:
    """Indexes folders into ``library``.

    Args:
        library: the opened library.
        settings: engine options for the workers.
        workers: worker processes; 0 analyses in this process (with ``engine`` if given).
        album: album name for every file of the run (default: each file's folder name).
        progress: wraps the stream of results for display (e.g. a Rich progress bar); also
            the sampled frames of each video.
        videos: index videos (their faces become tracks); off: they are skipped.
        video_interval: seconds between the sampled frames of a video.
        ray: analyse on a Ray cluster (``local``, ``auto`` or an address) with ``workers``
            actors instead of local processes (:mod:`faceatlas.library.ray_ingest`).
    """

    def __init__(self, library: Library, settings: EngineSettings | None = None,
                 workers: int = 1, album: str | None = None,
                 progress: Progress | None = None, engine: FaceEngine | None = None,
                 videos: bool = True, video_interval: float = VIDEO_INTERVAL,
                 ray: str | None = None, analyze: Analyze | None = None) -> None:
        self.library = library
        self._analyze = analyze
        self.videos = videos
        self.video_interval = video_interval
        self._video_paths: list[str] = []
        self.store = library.store
        self.settings = settings or EngineSettings()
        self.workers = max(0, workers)
        self.album = album
        self.progress = progress
        self._engine = engine
        self.ray = ray
        self._queue: deque[tuple[str, bool]] = deque()

    # -- the run -----------------------------------------------------------------------
    def run(self, paths: list[str | os.PathLike[str]]) -> IndexSummary:
        """Index ``paths`` (files or folders) and return the counts. In the main thread,
        SIGTERM stops the run like Ctrl-C (what was committed stays, the vector indexes
        are saved, the worker processes end); the workers also end with this process if
        it is killed outright (:func:`~faceatlas.library.analysis.end_with_parent`)."""
        terminate = None
        if threading.current_thread() is threading.main_thread() and \
                signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            terminate = signal.signal(signal.SIGTERM, _interrupt)
        try:
            return self._run(paths)
        finally:
            if terminate is not None:
                signal.signal(signal.SIGTERM, terminate)

    def _run(self, paths: list[str | os.PathLike[str]]) -> IndexSummary:
        start = time.perf_counter()
        summary = IndexSummary()
        found = scan(paths, skip=self.library.root)
        summary.files_seen = len(found.files) + len(found.errors) + len(found.hidden)
        for path in found.hidden:
            summary.skipped_files.append({"path": path, "reason": "hidden", "detail": ""})
        self._generation = self.store.catalog_state().generation
        self._guard = OptOutGuard.load(self.store)
        for model in self.store.embedding_models():  # check/repair before any change
            self.library.vectors.get(model)
        existing = {r.path: r for r in self.store.images_under(found.roots)}
        seen = {f.path for f in found.files}
        todo: list[FoundFile] = []
        for f in found.files:
            rec = existing.get(f.path)
            if rec and rec.status != "error" and (rec.size, rec.mtime_ns) == (f.size,
                                                                               f.mtime_ns):
                summary.unchanged += 1
            else:
                todo.append(f)
        scan_failed = {p for p, _ in found.errors}
        self._missing = {r.id: r for p, r in existing.items()
                         if p not in seen and p not in scan_failed}
        self._claimed: set[int] = set()
        known = {r.content_hash for r in self._missing.values() if r.content_hash}
        known |= {existing[f.path].content_hash or "" for f in todo
                  if f.path in existing and existing[f.path].status != "error"}
        self._existing = existing
        self._stats = {f.path: f for f in found.files}
        try:
            for path, message in found.errors:
                self._error(path, message, summary)
            self._video_paths = []
            images = [f.path for f in todo if self._is_image(f.path, summary)]
            if self.ray is not None:  # the Ray actors analyse the videos too
                images += self._video_paths
            results = self._results(images, frozenset(known - {""}))
            shown = self.progress(results, len(images), "indexing") \
                if self.progress and images else results
            try:
                for res in shown:
                    self._commit(res, summary)
                    if res.media == "video":
                        _count_video(res, summary)
            finally:
                close = getattr(results, "close", None)
                if close is not None:
                    close()
            if self.ray is None:
                self._index_videos(frozenset(known - {""}), summary)
            self._delete_missing(summary)
        except KeyboardInterrupt:
            summary.interrupted = True
        except CatalogError as exc:
            summary.stopped = str(exc)
        except BrokenProcessPool as exc:
            summary.stopped = f"a worker process died ({exc}); run the command again"
        finally:
            try:
                self.library.vectors.save()
            except OSError as exc:  # derived data: rebuilt from the catalog next time
                summary.stopped = summary.stopped or f"vector index not saved ({exc})"
            summary.seconds = time.perf_counter() - start
            summary.pending = max(0, summary.files_seen - summary.accounted())
        return summary

    def _is_image(self, path: str, summary: IndexSummary) -> bool:
        """Whether ``path`` holds an image to analyse (from its first bytes); other files
        are counted as skipped (or as errors)."""
        try:
            reason, detail = classify(path)
        except OSError as exc:
            self._error(path, os_error_message(exc), summary)
            return False
        if reason is None:
            return True
        if self.videos and (reason == "video" or (
                reason == "empty" and os.path.splitext(path)[1].lower() in VIDEO_EXTENSIONS)):
            self._video_paths.append(path)  # a zero-length "clip.mp4": a broken video
            return False
        self._skip(path, reason, detail, summary)
        return False

    def _index_videos(self, known: frozenset[str], summary: IndexSummary) -> None:
        """Analyse and commit the videos found, one at a time, each with its progress."""
        if not self._video_paths:
            return
        engine = self._engine or self.settings.build()
        for n, path in enumerate(self._video_paths, start=1):
            label = f"video {n}/{len(self._video_paths)} {os.path.basename(path)}"
            wrap = None if self.progress is None else _frame_wrap(self.progress, label)
            res = analyze_video(engine, path, known, False, self.video_interval, wrap)
            queued = len(self._queue)
            self._commit(res, summary)
            if len(self._queue) > queued:  # known bytes but not a move: analyse it fully
                self._queue.pop()
                res = analyze_video(engine, path, known, True, self.video_interval, wrap)
                self._commit(res, summary)
            _count_video(res, summary)

    def _skip(self, path: str, reason: str, detail: str, summary: IndexSummary) -> None:
        stored = self._existing.get(path)
        if stored is not None and stored.status != "error":
            # indexed before as a photo: keep what was stored, report the change
            text = SKIP_REASONS.get(reason, reason) + (f" ({detail})" if detail else "")
            self._error(path, f"no longer a readable photo: {text}", summary)
            return
        if stored is not None:  # a stale error record (an older run): not a photo at all
            self.store.delete_images([stored.id])
        summary.skipped_files.append({"path": path, "reason": reason, "detail": detail})

    # -- analysis ----------------------------------------------------------------------
    def _results(self, paths: list[str], known: frozenset[str]) -> Iterator[FileResult]:
        self._queue = deque((p, False) for p in paths)
        if self.ray is not None:
            from .ray_ingest import ray_results

            yield from ray_results(self._queue, self.settings, known, self.workers, self.ray,
                                   videos=frozenset(self._video_paths),
                                   video_interval=self.video_interval)
            return
        if self._analyze is not None:  # analysed elsewhere (the service's worker pool)
            while self._queue:
                path, force = self._queue.popleft()
                yield self._analyze(path, known, force, self.settings.preview)
            return
        if self.workers == 0 or len(paths) <= IN_PROCESS_MAX:
            engine = self._engine or self.settings.build()
            while self._queue:
                path, force = self._queue.popleft()
                yield analyze_file(engine, path, known, force, self.settings.preview)
            return
        if not self._queue:
            return
        ctx = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx,
                                   initializer=init_worker,
                                   initargs=(self.settings, known, os.getpid()))
        pending: dict[Future[FileResult], str] = {}
        try:
            while self._queue or pending:
                while self._queue and len(pending) < self.workers * 4:
                    path, force = self._queue.popleft()
                    pending[pool.submit(worker_analyze, path, force)] = path
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in sorted(done, key=lambda f: pending[f]):
                    pending.pop(fut)
                    yield fut.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    # -- commits -----------------------------------------------------------------------
    def _info(self, res: FileResult, status: str = "ok", error: str | None = None) -> ImageInfo:
        folder = os.path.dirname(res.path)
        return ImageInfo(path=res.path, folder=folder,
                         album=self.album or os.path.basename(folder) or folder,
                         content_hash=res.content_hash, size=res.size, mtime_ns=res.mtime_ns,
                         width=res.width, height=res.height, taken_at=res.taken_at,
                         taken_at_source=res.taken_at_source,  # type: ignore[arg-type]
                         gps_lat=res.gps_lat, gps_lon=res.gps_lon,
                         status=status, error=error,  # type: ignore[arg-type]
                         media=res.media, duration=res.duration)  # type: ignore[arg-type]

    def _error(self, path: str, message: str, summary: IndexSummary,
               res: FileResult | None = None) -> None:
        summary.errors.append({"path": path, "error": message})
        stat = self._stats.get(path)
        res = res or FileResult(path, size=stat.size if stat else 0,
                                mtime_ns=stat.mtime_ns if stat else 0)
        self.store.record_error(self._info(res, "error", message))

    def _move_source(self, res: FileResult) -> ImageRecord | None:
        """The stored image this file is a moved copy of, if any."""
        h = res.content_hash
        for rec in self._missing.values():
            if rec.content_hash == h and rec.id not in self._claimed and rec.status != "error":
                return rec
        if h is None:
            return None
        for rec in self.store.images_by_hash(h):  # moved from outside the scanned roots
            if (rec.path != res.path and rec.id not in self._claimed and rec.status != "error"
                    and not os.path.lexists(rec.path)):
                return rec
        return None

    def _sync(self) -> None:
        """Catch up with changes other processes made (docs/architecture.md,
        "Coordination between processes"): when the catalog generation moved (an
        erasure, an opt-out made or undone), reload the opt-out screen and drop the
        in-memory vector indexes that hold erased faces."""
        generation = self.store.catalog_state().generation
        if generation != self._generation:
            self._guard = OptOutGuard.load(self.store)
            self.library.vectors.refresh()
            self._generation = generation

    def _commit(self, res: FileResult, summary: IndexSummary) -> None:
        self._sync()
        summary.notes.extend({"path": res.path, "note": n} for n in res.notes)
        if res.skipped is not None:
            self._skip(res.path, res.skipped, res.error or "", summary)
            return
        if res.error is not None:
            self._error(res.path, res.error, summary, res)
            return
        stored = self._existing.get(res.path)
        vectors = self.library.vectors
        if stored and stored.status != "error" and stored.content_hash == res.content_hash:
            vectors.remove(self.store.relocate_image(stored.id, self._info(res)))  # touched
            summary.unchanged += 1
            return
        source = self._move_source(res)
        if source is not None:
            self._claimed.add(source.id)
            vectors.remove(self.store.relocate_image(source.id, self._info(res)))
            summary.moved += 1
            return
        if not res.analyzed:  # hashed only, but not a move after all: analyse it fully
            self._queue.append((res.path, True))
            return
        analysed = list(res.faces)
        while True:  # screened with the opt-outs of the generation the commit checks
            res.faces, refused = self._guard.screen(analysed)
            res.faces, marked = screen_not_faces(self.store, res.content_hash, res.faces)
            for model in {f.model for f in res.faces}:
                vectors.get(model)  # open (and check) before the catalog changes
            try:
                saved = self.store.save_image(self._info(res, "ok" if res.faces else "noface"),
                                              res.faces, expect_generation=self._generation)
            except StaleCatalogError:
                self._sync()  # an erasure or opt-out landed meanwhile: screen again
                continue
            break
        summary.refused += refused
        summary.nonfaces += res.nonfaces + marked
        vectors.remove(saved.removed_face_ids)
        by_model: dict[str, list[int]] = {}
        for i, face in enumerate(res.faces):
            by_model.setdefault(face.model, []).append(i)
        for model, idx in by_model.items():
            vecs = np.stack([np.asarray(res.faces[i].vector, np.float32) for i in idx])
            vectors.add(model, np.array([saved.face_ids[i] for i in idx], np.int64), vecs)
        if saved.generation is not None:  # our own replaced faces moved it: nothing to redo
            vectors.advance(self._generation, saved.generation)
            self._generation = saved.generation
        summary.analysed += 1
        summary.faces += len(res.faces)
        if stored is not None and stored.status != "error":
            summary.changed += 1
        else:
            summary.new += 1

    def _delete_missing(self, summary: IndexSummary) -> None:
        gone = [r.id for r in self._missing.values()
                if r.id not in self._claimed and not os.path.lexists(r.path)]
        if gone:
            self.library.vectors.remove(self.store.delete_images(gone))
            summary.deleted += len(gone)


def _count_video(res: FileResult, summary: IndexSummary) -> None:
    """Count an analysed video (and its tracks and frames) in the summary."""
    if res.analyzed and res.error is None:
        summary.videos += 1
        summary.tracks += len(res.faces)
        summary.video_frames += res.frames[0]


def _frame_wrap(progress: Progress, label: str) -> FrameWrap:
    """The progress display of one video's sampled frames."""

    def wrap(frames: Iterator[Frame], total: int) -> Iterable[Frame]:
        return progress(frames, total, label)

    return wrap
