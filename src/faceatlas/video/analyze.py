"""Faces of a video as tracks: sample frames, detect and embed, follow them.

:func:`track_video` is the one way a video becomes tracks, used by anonymisation (every
frame, sensitive detection) and by identification (sampled frames).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from ..engine import FaceEngine
from .reader import VideoInfo, probe, sample_frames
from .tracks import Track, Tracker, TrackFace


@dataclass
class VideoTracks:
    """The tracks of one video and what was analysed to find them."""

    info: VideoInfo
    tracks: list[Track]
    frames_decoded: int
    frames_analysed: int
    faces: int

    def to_dict(self) -> dict[str, object]:
        return {"video": self.info.to_dict(), "frames_decoded": self.frames_decoded,
                "frames_analysed": self.frames_analysed, "faces": self.faces,
                "tracks": [t.to_dict() for t in self.tracks]}


def track_video(path: str | os.PathLike[str], engine: FaceEngine, interval: float = 0.5,
                min_face: int | None = None, embed: bool = True, tracker: Tracker | None = None,
                progress: Callable[[int], None] | None = None) -> VideoTracks:
    """Detect (and with ``embed`` also embed and score) the faces of the frames that
    :func:`~faceatlas.video.reader.sample_frames` keeps at ``interval`` seconds (0: every
    frame) and link them into tracks. ``progress`` is called with each analysed frame's
    index."""
    info = probe(path)
    # a face unseen for 2.5 sampling steps has left (a shorter gap would end every track
    # between two sparse samples)
    tracker = tracker or Tracker(max_gap=max(1.0, 2.5 * interval))
    analysed = faces_seen = last_index = 0
    for frame in sample_frames(path, interval):
        dets = engine.detector.detect(frame.bgr, min_face)
        if embed and dets:
            items = [TrackFace(frame.index, frame.time, f.detection.box, f.detection.score,
                               f.quality.score, f.embedding.vector)
                     for f in engine.analyze(frame.bgr, dets)]
        else:
            items = [TrackFace(frame.index, frame.time, d.box, d.score) for d in dets]
        tracker.update(items, frame.shot)
        analysed += 1
        faces_seen += len(items)
        last_index = frame.index
        if progress is not None:
            progress(frame.index)
    return VideoTracks(info, tracker.finish(), last_index + 1, analysed, faces_seen)
