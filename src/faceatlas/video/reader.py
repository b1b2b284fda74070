"""Read videos with PyAV (its wheel ships FFmpeg): probe, decode, and sample frames.

:func:`sample_frames` decodes every frame but converts only the ones it keeps. It keeps
one frame every ``interval`` seconds, plus a frame at every shot cut and whenever the
picture has moved enough since the last kept frame, so a fast pan or a new shot is never
skipped while a static talking head costs a few frames a second. Cuts and motion are read
off a 64x36 grey thumbnail of each frame (FFmpeg's scaler makes it; no full-size copy).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import VideoError

#: File extensions read as videos when a folder is scanned.
VIDEO_EXTENSIONS = frozenset({".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi"})

#: Thumbnail used for cut and motion detection.
_THUMB = (64, 36)


@dataclass(frozen=True)
class VideoInfo:
    """What a video holds: size, rate, length and streams."""

    path: str
    width: int
    height: int
    fps: float
    frames: int  # as the container states it; 0 when it does not say
    duration: float  # seconds
    codec: str
    audio_codec: str | None

    def to_dict(self) -> dict[str, object]:
        return {"path": self.path, "width": self.width, "height": self.height,
                "fps": round(self.fps, 4), "frames": self.frames,
                "duration": round(self.duration, 3), "codec": self.codec,
                "audio_codec": self.audio_codec}


@dataclass(frozen=True)
class Frame:
    """One decoded frame: its position, time in seconds, pixels (BGR) and shot number."""

    index: int
    time: float
    bgr: np.ndarray
    shot: int


def _open(path: str | os.PathLike[str]) -> Any:
    av = _av()
    p = Path(path)
    if not p.is_file():
        raise VideoError(f"{path}: no such file")
    if p.stat().st_size == 0:
        raise VideoError(f"{path}: the file is empty (0 bytes)")
    try:
        container = av.open(str(p))
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        why = getattr(exc, "strerror", None) or exc.__class__.__name__
        raise VideoError(f"{path}: not a readable video ({why})") from None
    if not container.streams.video:
        kinds: list[str] = sorted({str(s.type) for s in container.streams}) or ["no"]
        container.close()
        raise VideoError(f"{path}: no video stream (the file has {', '.join(kinds)} "
                         "streams only)")
    return container


def _av() -> Any:
    """PyAV, imported on first use (only video work pays for it), or a clear error naming
    the extra to install."""
    from ..extras import require

    return require("av", "reading video")


def probe(path: str | os.PathLike[str]) -> VideoInfo:
    """Size, frame rate, frame count, duration and codecs of a video, without decoding."""
    container = _open(path)
    try:
        return _info(container, str(path))
    finally:
        container.close()


def _info(container: Any, path: str) -> VideoInfo:
    stream = container.streams.video[0]
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    fps = float(rate) if rate else 0.0
    if stream.duration is not None and stream.time_base is not None:
        duration = float(stream.duration * stream.time_base)
    elif container.duration is not None:
        duration = container.duration / 1_000_000
    else:
        duration = 0.0
    audio = container.streams.audio
    codec = stream.codec_context.name if stream.codec_context is not None else "unknown"
    return VideoInfo(path, int(stream.width), int(stream.height), fps, int(stream.frames or 0),
                     duration, codec,
                     audio[0].codec_context.codec.canonical_name if audio else None)


def _thumb(frame: Any) -> np.ndarray:
    small = frame.reformat(width=_THUMB[0], height=_THUMB[1], format="gray")
    arr: np.ndarray = small.to_ndarray().astype(np.float32)
    return arr


def _is_cut(prev: np.ndarray, cur: np.ndarray, threshold: float) -> bool:
    """A shot cut: the grey-level histograms of two consecutive frames barely overlap."""
    h1 = np.histogram(prev, bins=32, range=(0, 256))[0].astype(np.float64)
    h2 = np.histogram(cur, bins=32, range=(0, 256))[0].astype(np.float64)
    overlap = np.minimum(h1, h2).sum() / max(h1.sum(), 1.0)
    moved = float(np.abs(prev - cur).mean())
    return bool(overlap < threshold and moved > 20.0)


def decode_frames(path: str | os.PathLike[str]) -> Iterator[tuple[int, float, Any]]:
    """Every frame of the first video stream as (index, time in s, PyAV frame).

    A stream that breaks off (a truncated file) ends with a :class:`VideoError` naming
    the frame it reached, unless nothing could be decoded at all."""
    av = _av()
    container = _open(path)
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        index = -1
        try:
            for index, frame in enumerate(container.decode(stream)):
                t = float(frame.time) if frame.time is not None else index / max(
                    float(stream.average_rate or 25), 1.0)
                yield index, t, frame
        except av.error.FFmpegError as exc:
            raise VideoError(f"{path}: the video breaks off after frame {index + 1} "
                             f"({str(exc).splitlines()[0] if str(exc) else exc!r})") from None
        if index < 0:
            raise VideoError(f"{path}: no frame could be decoded (codec "
                             f"{stream.codec_context.name}, truncated or unsupported)")
    finally:
        container.close()


def sample_frames(path: str | os.PathLike[str], interval: float = 0.5,
                  motion: float = 12.0, cut: float = 0.5) -> Iterator[Frame]:
    """Frames to analyse: one every ``interval`` seconds, the first frame of every shot,
    and a frame whenever the mean grey-level change since the last kept frame exceeds
    ``motion`` (0-255). ``interval=0`` keeps every frame. Shots are numbered from 0."""
    if interval < 0:
        raise VideoError(f"the sampling interval must be 0 or more seconds, got {interval}")
    prev: np.ndarray | None = None
    kept: np.ndarray | None = None
    last_t = -np.inf
    shot = 0
    for index, t, frame in decode_frames(path):
        thumb = _thumb(frame)
        new_shot = prev is not None and _is_cut(prev, thumb, cut)
        if new_shot:
            shot += 1
        prev = thumb
        moved = kept is not None and float(np.abs(kept - thumb).mean()) > motion
        if new_shot or kept is None or t - last_t >= interval - 1e-6 or moved:
            kept, last_t = thumb, t
            yield Frame(index, t, frame.to_ndarray(format="bgr24"), shot)
