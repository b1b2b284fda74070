"""Small videos composed from the fixture portraits: faces that move, enter and leave
over a plain background, optional shot cuts and an audio track (written with PyAV)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np

W, H = 480, 360


@dataclass(frozen=True)
class Appearance:
    """A portrait shown from ``start`` to ``end`` seconds, moving linearly from
    ``(x0, y0)`` to ``(x1, y1)`` (top-left corner), ``height`` pixels tall."""

    portrait: Path
    start: float
    end: float
    x0: int
    y0: int
    x1: int
    y1: int
    height: int = 200
    blur: float = 0.0    # Gaussian sigma (pixels): a soft, low-quality face


def _sprite(path: Path, height: int, blur: float = 0.0) -> np.ndarray:
    img = cv2.imread(str(path))
    assert img is not None, path
    img = cv2.resize(img, (int(img.shape[1] * height / img.shape[0]), height),
                     interpolation=cv2.INTER_AREA)
    return cv2.GaussianBlur(img, (0, 0), blur) if blur > 0 else img


def render_frame(t: float, appearances: list[Appearance], background: tuple[int, int, int]
                 ) -> np.ndarray:
    frame = np.empty((H, W, 3), np.uint8)
    frame[:] = background
    for a in appearances:
        if not a.start <= t < a.end:
            continue
        s = _sprite(a.portrait, a.height, a.blur)
        u = (t - a.start) / max(a.end - a.start, 1e-6)
        x = int(round(a.x0 + u * (a.x1 - a.x0)))
        y = int(round(a.y0 + u * (a.y1 - a.y0)))
        x1, y1 = max(x, 0), max(y, 0)
        x2, y2 = min(x + s.shape[1], W), min(y + s.shape[0], H)
        if x2 > x1 and y2 > y1:
            frame[y1:y2, x1:x2] = s[y1 - y:y2 - y, x1 - x:x2 - x]
    return frame


def write_clip(path: Path, appearances: list[Appearance], seconds: float = 3.0,
               fps: int = 10, audio: bool = False, cut_at: float | None = None) -> int:
    """Write an H.264 clip (AAC audio when ``audio``); after ``cut_at`` the background
    changes abruptly (a shot cut). Returns the number of frames."""
    n = int(round(seconds * fps))
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=fps)
        vs.width, vs.height, vs.pix_fmt = W, H, "yuv420p"
        aus = out.add_stream("aac", rate=22050) if audio else None
        for i in range(n):
            t = i / fps
            bg = (40, 120, 200) if cut_at is not None and t >= cut_at else (200, 200, 190)
            frame = av.VideoFrame.from_ndarray(render_frame(t, appearances, bg),
                                               format="bgr24")
            frame.pts = i
            for pkt in vs.encode(frame):
                out.mux(pkt)
        for pkt in vs.encode(None):
            out.mux(pkt)
        if aus is not None:
            samples = int(22050 * seconds)
            tone = (0.2 * np.sin(np.arange(samples) * 2 * np.pi * 440 / 22050)).astype(
                np.float32)
            for start in range(0, samples, 1024):
                chunk = tone[start:start + 1024]
                af = av.AudioFrame.from_ndarray(chunk[None, :], format="fltp", layout="mono")
                af.sample_rate = 22050
                af.pts = start
                for pkt in aus.encode(af):
                    out.mux(pkt)
            for pkt in aus.encode(None):
                out.mux(pkt)
    return n


def write_audio_only(path: Path, seconds: float = 1.0) -> None:
    """An .mp4 file holding only an AAC audio stream."""
    with av.open(str(path), "w") as out:
        aus = out.add_stream("aac", rate=22050)
        samples = int(22050 * seconds)
        for start in range(0, samples, 1024):
            af = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp",
                                            layout="mono")
            af.sample_rate = 22050
            af.pts = start
            for pkt in aus.encode(af):
                out.mux(pkt)
        for pkt in aus.encode(None):
            out.mux(pkt)
