"""Turning one image file into what the catalog stores: hash, metadata, faces.

Runs inside worker processes (one :class:`~faceatlas.engine.FaceEngine` each, created by
:func:`init_worker`) or in the calling process. Never raises for a bad file: the problem
is returned as :attr:`FileResult.error`.
"""

from __future__ import annotations

import hashlib
import io
import os
import signal
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

import cv2
import numpy as np
from PIL import Image

from ..detection import DEFAULT_MIN_FACE
from ..engine import FaceEngine
from ..errors import FaceAtlasError
from ..image import decode_bytes
from ..store import NewFace
from ..types import Face
from .scan import os_error_message

THUMBNAIL_SIZE = 64

_EXIF_IFD, _GPS_IFD, _DATETIME_ORIGINAL = 0x8769, 0x8825, 36867


@dataclass(frozen=True)
class EngineSettings:
    """How to build the engine of each worker."""

    detector: str = "yunet"
    recognizer: str = "sface"
    backend: str | None = None
    min_face: int = DEFAULT_MIN_FACE
    threads: int | None = 1
    check_faces: bool = True

    def validate(self) -> None:
        """Refuse unknown model names without loading the models."""
        from ..models import ModelRegistry

        registry = ModelRegistry()
        registry.get(self.detector)
        registry.get(self.recognizer)

    def build(self) -> FaceEngine:
        return FaceEngine(detector=self.detector, recognizer=self.recognizer,
                          backend=self.backend, threads=self.threads, min_face=self.min_face,
                          check_faces=self.check_faces)


@dataclass
class FileResult:
    """Everything learnt from one file. ``analyzed`` is False when the file was only
    hashed (its hash was already known: a moved or touched file) or could not be read."""

    path: str
    size: int = 0
    mtime_ns: int = 0
    content_hash: str | None = None
    analyzed: bool = False
    width: int | None = None
    height: int | None = None
    taken_at: str | None = None
    taken_at_source: str | None = None
    gps_lat: float | None = None
    gps_lon: float | None = None
    faces: list[NewFace] = field(default_factory=list)
    nonfaces: int = 0               # detections rejected as non-faces
    error: str | None = None


def content_hash(data: bytes) -> str:
    """The catalog's content hash: BLAKE2b-256 of the bytes, hex."""
    return hashlib.blake2b(data, digest_size=32).hexdigest()


def analyze_file(engine: FaceEngine, path: str, known_hashes: Collection[str] = (),
                 force: bool = False) -> FileResult:
    """Hash, decode and analyse one file. When its hash is in ``known_hashes`` (and not
    ``force``) it is not decoded at all."""
    res = FileResult(path)
    try:
        before = os.stat(path)
        with open(path, "rb") as fh:
            data = fh.read()
        after = os.stat(path)
    except OSError as exc:
        res.error = os_error_message(exc)
        return res
    res.size, res.mtime_ns = after.st_size, after.st_mtime_ns
    if (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns) \
            or len(data) != after.st_size:
        res.error = "file changed while it was being read; it will be indexed on the next run"
        return res
    res.content_hash = content_hash(data)
    if res.content_hash in known_hashes and not force:
        return res
    try:
        bgr = decode_bytes(data, path)
        analysis = engine.analyze_image(bgr)
    except FaceAtlasError as exc:
        res.error = str(exc).removeprefix(f"{path}: ")
        return res
    except Exception as exc:  # noqa: BLE001 - a bad file must not stop the run
        res.error = f"cannot be analysed ({type(exc).__name__}: {exc})"
        return res
    res.analyzed = True
    res.height, res.width = bgr.shape[:2]
    _read_metadata(data, res)
    if res.taken_at is None:
        res.taken_at = datetime.fromtimestamp(after.st_mtime_ns / 1e9).isoformat(
            timespec="seconds")
        res.taken_at_source = "mtime"
    res.faces = [to_new_face(bgr, f) for f in analysis.faces]
    res.nonfaces = len(analysis.rejected)
    return res


def to_new_face(bgr: np.ndarray, face: Face) -> NewFace:
    """A catalog face (with thumbnail) from an engine face."""
    return NewFace(box=face.box, landmarks=np.asarray(face.detection.landmarks, np.float32),
                   det_score=float(face.detection.score), quality=float(face.quality.score),
                   quality_components={k: float(v) for k, v in face.quality.components.items()},
                   thumbnail=thumbnail(bgr, face.box), model=face.embedding.model,
                   vector=np.asarray(face.embedding.vector, np.float32))


def thumbnail(bgr: np.ndarray, box: tuple[float, float, float, float],
              size: int = THUMBNAIL_SIZE) -> bytes:
    """A square JPEG of the face with some margin, ``size`` pixels wide."""
    x, y, w, h = box
    side = max(w, h) * 1.3
    cx, cy = x + w / 2, y + h / 2
    x0, y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
    s = max(1, int(round(side)))
    pad = s
    padded = cv2.copyMakeBorder(bgr, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    crop = padded[y0 + pad:y0 + pad + s, x0 + pad:x0 + pad + s]
    if crop.size == 0:
        crop = bgr
    small = cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 85])
    return buf.tobytes() if ok else b""


def _read_metadata(data: bytes, res: FileResult) -> None:
    """EXIF capture time and GPS position, when present and well formed."""
    try:
        exif = Image.open(io.BytesIO(data)).getexif()
        taken = exif.get_ifd(_EXIF_IFD).get(_DATETIME_ORIGINAL)
        if isinstance(taken, str) and taken.strip("\x00 "):
            res.taken_at = datetime.strptime(taken.strip("\x00 ")[:19],
                                             "%Y:%m:%d %H:%M:%S").isoformat()
            res.taken_at_source = "exif"
        gps = exif.get_ifd(_GPS_IFD)
        if gps and 2 in gps and 4 in gps:
            res.gps_lat = _degrees(gps[2], gps.get(1, "N"), "S")
            res.gps_lon = _degrees(gps[4], gps.get(3, "E"), "W")
    except Exception:  # noqa: BLE001 - metadata is optional; a bad EXIF block is ignored
        return


def _degrees(dms: object, ref: object, negative: str) -> float:
    d, m, s = (float(v) for v in dms)  # type: ignore[attr-defined]
    value = d + m / 60.0 + s / 3600.0
    return -value if str(ref).upper().startswith(negative) else value


# -- worker processes ----------------------------------------------------------------
_ENGINE: FaceEngine | None = None
_KNOWN: frozenset[str] = frozenset()


def init_worker(settings: EngineSettings, known_hashes: frozenset[str]) -> None:
    """Process-pool initializer: one engine per worker, limited threads, and Ctrl-C left to
    the main process (which stops the run cleanly)."""
    global _ENGINE, _KNOWN
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if settings.threads:
        cv2.setNumThreads(settings.threads)
    _ENGINE = settings.build()
    _KNOWN = known_hashes


def worker_analyze(path: str, force: bool) -> FileResult:
    """Analyse ``path`` in a worker set up by :func:`init_worker`."""
    assert _ENGINE is not None, "init_worker was not run"
    return analyze_file(_ENGINE, path, _KNOWN, force)
