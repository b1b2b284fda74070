"""Videos in the library: one video file becomes an image row (``media='video'``) whose
faces are **tracks**.

:func:`analyze_video` samples the video's frames every :data:`VIDEO_INTERVAL` seconds
(plus the first frame of every shot and frames after fast motion:
:func:`faceatlas.video.reader.sample_frames`), detects (with the engine's non-face
filter, as for photos), embeds and tracks the faces
(:func:`faceatlas.video.track_video`; a track never crosses a shot cut), and keeps, per
track, one catalog face (:class:`~faceatlas.store.NewFace`): the box, landmarks and
thumbnail of its best-quality face, its quality, the track's aggregated embedding
(quality-weighted mean, :meth:`~faceatlas.video.Track.embedding`), its time range
(``t_start``, ``t_end``, seconds) and shot number. Nothing else of the frames is
stored, so forgetting a track (``forget``) removes all the library knew of that face
in that video.

A video that cannot be decoded (truncated, empty, unknown codec, audio only) is a
:attr:`FileResult.error`, never an exception: the indexing run goes on.
"""

from __future__ import annotations

import hashlib
import os

import numpy as np

from ..config import default_min_face
from ..engine import FaceEngine
from ..store import NewFace
from ..types import Detection, Embedding, Face, QualityReport
from ..video import Track, probe, track_video
from ..video.analyze import FrameWrap
from .analysis import FileResult, failed, thumbnail
from .dates import photo_date
from .scan import os_error_message

#: Seconds between sampled frames when indexing a video (chosen by ``bench/video.py``:
#: docs/benchmarks.md, "## Video").
VIDEO_INTERVAL = 0.5


def file_hash(path: str, chunk: int = 1 << 20) -> str:
    """The catalog's content hash (BLAKE2b-256, hex) of a file read in chunks (videos
    are too large to hold in memory)."""
    h = hashlib.blake2b(digest_size=32)
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def track_face(track: Track, model: str) -> NewFace | None:
    """The catalog face of one track (None when no face of it was embedded)."""
    vector = track.embedding()
    if vector is None:
        return None
    best = track.best(1)[0]
    landmarks = best.landmarks if best.landmarks is not None else np.zeros((5, 2), np.float32)
    return NewFace(box=tuple(float(v) for v in best.box),  # type: ignore[arg-type]
                   landmarks=np.asarray(landmarks, np.float32), det_score=float(best.score),
                   quality=float(best.quality), thumbnail=best.thumbnail, model=model,
                   vector=vector, t_start=float(track.start), t_end=float(track.end),
                   shot=int(track.shot))


def is_video(path: str | os.PathLike[str]) -> bool:
    """Whether the file holds a video (from its first bytes, not its name)."""
    from .scan import classify

    try:
        return classify(os.fspath(path))[0] == "video"
    except OSError:
        return False


def track_query_face(track: Track, model: str) -> Face | None:
    """A track as one query face (for identification): the best face's box, landmarks and
    quality with the track's aggregated embedding (None when nothing was embedded)."""
    new = track_face(track, model)
    if new is None or new.vector is None:
        return None
    return Face(Detection(new.box, new.landmarks, new.det_score),
                Embedding(new.vector, model), QualityReport(new.quality))


def video_tracks(engine: FaceEngine, path: str | os.PathLike[str],
                 interval: float = VIDEO_INTERVAL) -> list[tuple[Track, Face]]:
    """The face tracks of a video as found by indexing, each with its query face."""
    info = probe(path)
    min_face = getattr(engine.detector, "min_face", None) or \
        default_min_face(info.width, info.height)
    out = []
    for track in track_video(path, engine, interval, min_face=min_face,
                             checked=True).tracks:
        face = track_query_face(track, engine.model_id)
        if face is not None:
            out.append((track, face))
    return out


def analyze_video(engine: FaceEngine, path: str, known_hashes: frozenset[str] = frozenset(),
                  force: bool = False, interval: float = VIDEO_INTERVAL,
                  wrap: FrameWrap | None = None) -> FileResult:
    """Hash, decode and track one video (see the module). When its hash is in
    ``known_hashes`` (and not ``force``) it is only hashed (a moved or touched file)."""
    res = FileResult(path, media="video")
    try:
        before = os.stat(path)
        res.content_hash = file_hash(path)
        after = os.stat(path)
    except OSError as exc:
        res.error = os_error_message(exc)
        return res
    res.size, res.mtime_ns = after.st_size, after.st_mtime_ns
    if (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns):
        res.error = "file changed while it was being read; it will be indexed on the next run"
        return res
    if res.content_hash in known_hashes and not force:
        return res
    try:
        info = probe(path)
        min_face = getattr(engine.detector, "min_face", None) or \
            default_min_face(info.width, info.height)
        result = track_video(path, engine, interval, min_face=min_face, crop=thumbnail,
                             wrap=wrap, checked=True)
    except Exception as exc:  # noqa: BLE001 - a bad file must not stop the run
        return failed(res, exc, path)
    res.analyzed = True
    res.width, res.height = info.width, info.height
    res.duration = float(info.duration)
    res.taken_at, res.taken_at_source = photo_date(b"", path, after.st_mtime_ns, None)
    faces = [track_face(t, engine.model_id) for t in result.tracks]
    res.faces = [f for f in faces if f is not None]
    res.frames = (result.frames_analysed, result.frames_decoded)
    return res
