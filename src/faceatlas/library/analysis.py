"""Turning one image file into what the catalog stores: hash, metadata, faces.

Runs inside worker processes (one :class:`~faceatlas.engine.FaceEngine` each, created by
:func:`init_worker`) or in the calling process. Never raises for a bad file: the problem
is returned as :attr:`FileResult.error` (or :attr:`FileResult.skipped` for a file that is
no photo to index: too small, unsupported format), and library warnings as
:attr:`FileResult.notes`.

Large photos are analysed on a **preview**: a JPEG is decoded at the smallest DCT scale
(1/2, 1/4, 1/8) at which the smallest face searched for (``min_face``) still measures
:data:`PREVIEW_FACE_PX` pixels, and faces are detected there. The full resolution is
decoded only when a face found is smaller than :data:`FULL_RES_BELOW_PX` in the preview:
then its recognition crop (alignment) is taken from full-resolution pixels. Boxes and
landmarks are always stored in full-resolution coordinates.
"""

from __future__ import annotations

import ctypes
import dataclasses
import hashlib
import io
import os
import signal
import sys
import warnings
from collections.abc import Collection
from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image

from ..config import DEFAULT_MIN_FACE, default_min_face
from ..detection import Rejection
from ..engine import FaceEngine
from ..errors import FaceAtlasError
from ..image import DecodedImage, ImageTooSmallError, UnsupportedImageError, decode_image
from ..store import NewFace
from ..types import Detection, Face
from .dates import photo_date
from .scan import os_error_message

THUMBNAIL_SIZE = 64
#: Size (pixels, shorter box side) the smallest searched face keeps in the preview.
PREVIEW_FACE_PX = 12.0
#: A preview is used only if its shorter side keeps at least this many pixels.
PREVIEW_MIN_SIDE = 640
#: Faces smaller than this in the preview are aligned from full-resolution pixels (the
#: 112-pixel recognition crop would otherwise be upsampled).
FULL_RES_BELOW_PX = 112.0

_GPS_IFD = 0x8825
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


@dataclass(frozen=True)
class EngineSettings:
    """How to build the engine of each worker."""

    detector: str = "yunet"
    recognizer: str = "sface"
    backend: str | None = None
    min_face: int | None = None  # None: config.default_min_face of each photo
    threads: int | None = 1
    check_faces: bool = True
    preview: bool = True   # detect large JPEGs on a DCT-scaled preview (see the module)

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
    skipped: str | None = None        # a key of scan.SKIP_REASONS: not a photo to index
    notes: list[str] = field(default_factory=list)  # decoder warnings, preview, RAW...
    media: str = "photo"              # "video": faces are tracks (library.videos)
    duration: float | None = None     # seconds, videos only
    frames: tuple[int, int] = (0, 0)  # videos: frames analysed, frames decoded


def content_hash(data: bytes) -> str:
    """The catalog's content hash: BLAKE2b-256 of the bytes, hex."""
    return hashlib.blake2b(data, digest_size=32).hexdigest()


def failed(res: FileResult, exc: Exception, path: str) -> FileResult:
    """``res`` with the error that stopped a file's analysis: a faceatlas error's own
    message (without the path, which the result carries), or the kind of an unexpected
    one; the run goes on with the next file."""
    if isinstance(exc, FaceAtlasError):
        res.error = str(exc).removeprefix(f"{path}: ")
    else:
        res.error = f"cannot be analysed ({type(exc).__name__}: {exc})"
    return res


def analyze_file(engine: FaceEngine, path: str, known_hashes: Collection[str] = (),
                 force: bool = False, preview: bool = True) -> FileResult:
    """Hash, decode and analyse one file. When its hash is in ``known_hashes`` (and not
    ``force``) it is not decoded at all; ``preview=False`` detects at full resolution."""
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
        decoded, faces, scale, rejected = detect_faces(engine, data, path, preview)
    except (ImageTooSmallError, UnsupportedImageError) as exc:
        res.skipped = "too_small" if isinstance(exc, ImageTooSmallError) else "unsupported"
        res.error = str(exc).removeprefix(f"{path}: ")
        return res
    except Exception as exc:  # noqa: BLE001 - a bad file must not stop the run
        return failed(res, exc, path)
    res.analyzed = True
    res.width, res.height = decoded.size
    res.notes = decoded.notes
    exif = _read_metadata(data, res)
    res.taken_at, res.taken_at_source = photo_date(data, path, after.st_mtime_ns, exif)
    res.faces = [to_new_face(decoded.bgr, f, scale) for f in faces]
    res.nonfaces = rejected
    return res


def detect_faces(engine: FaceEngine, data: bytes, label: str,
                 preview: bool = True) -> tuple[DecodedImage, list[Face], float, int]:
    """Decode (a preview when the photo is large and ``preview``) and analyse:
    ``(decoded, faces in the decoded pixels' coordinates, their scale to full
    resolution, how many detections were rejected as non-faces)``."""
    min_face = float(getattr(engine.detector, "min_face", None) or _default_min_face(data))
    scale = min(1.0, PREVIEW_FACE_PX / min_face) if preview else 1.0
    decoded = decode_image(data, label, scale=scale, keep_side=PREVIEW_MIN_SIDE)
    if decoded.scale == 1.0:
        analysis = engine.analyze_image(decoded.bgr)
        return decoded, analysis.faces, 1.0, len(analysis.rejected)
    scale = decoded.scale
    dets, rejected = _detect_whole(engine, decoded.bgr, max(1, int(min_face * scale)))
    if any(d.size < FULL_RES_BELOW_PX for d in dets):
        dets = [rescale(d, 1.0 / scale) for d in dets]
        decoded.full()
        scale = 1.0
    return decoded, engine.analyze(decoded.bgr, dets) if dets else [], scale, len(rejected)


def _default_min_face(data: bytes) -> int:
    """:func:`~faceatlas.config.default_min_face` of a photo, from its header only."""
    try:
        with warnings.catch_warnings():  # the decoder proper turns them into notes
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as img:
                return default_min_face(*img.size)
    except Exception:  # noqa: BLE001 - the decoder proper reports unreadable files
        return DEFAULT_MIN_FACE


def _detect_whole(engine: FaceEngine, bgr: np.ndarray, min_face: int
                  ) -> tuple[list[Detection], list[Rejection]]:
    """Faces of a preview (and the detections the non-face filter rejected), its fine
    pyramid level run as one window over the whole preview (one network call instead of
    overlapping tiles: the preview is small enough)."""
    detector = engine.detector
    tile = getattr(detector, "tile", None)
    if tile is None:
        return engine.detect_checked(bgr, min_face)
    detector.tile = max(int(tile), *bgr.shape[:2])
    try:
        return engine.detect_checked(bgr, min_face)
    finally:
        detector.tile = tile


def rescale(det: Detection, factor: float) -> Detection:
    """A detection with box and landmarks multiplied by ``factor``."""
    x, y, w, h = det.box
    return Detection((x * factor, y * factor, w * factor, h * factor),
                     np.asarray(det.landmarks, np.float32) * np.float32(factor), det.score)


def to_new_face(bgr: np.ndarray, face: Face, scale: float = 1.0) -> NewFace:
    """A catalog face (with thumbnail) from an engine face found in ``bgr``, whose pixels
    are ``scale`` times the full resolution (box and landmarks are stored at full
    resolution)."""
    thumb = thumbnail(bgr, face.box)
    if scale != 1.0:
        face = dataclasses.replace(face, detection=rescale(face.detection, 1.0 / scale))
    return NewFace(box=face.box, landmarks=np.asarray(face.detection.landmarks, np.float32),
                   det_score=float(face.detection.score), quality=float(face.quality.score),
                   quality_components={k: float(v) for k, v in face.quality.components.items()},
                   thumbnail=thumb, model=face.embedding.model,
                   vector=np.asarray(face.embedding.vector, np.float32))


def thumbnail(bgr: np.ndarray, box: tuple[float, float, float, float],
              size: int = THUMBNAIL_SIZE) -> bytes:
    """A square JPEG of the face with some margin, ``size`` pixels wide (edges beyond the
    image repeat its border pixels)."""
    x, y, w, h = box
    side = max(w, h) * 1.3
    cx, cy = x + w / 2, y + h / 2
    x0, y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
    s = max(1, int(round(side)))
    ih, iw = bgr.shape[:2]
    cx0, cy0 = min(max(x0, 0), iw), min(max(y0, 0), ih)
    cx1, cy1 = min(max(x0 + s, 0), iw), min(max(y0 + s, 0), ih)
    if cx1 <= cx0 or cy1 <= cy0:
        crop = bgr
    else:  # pad only the crop, never the whole photo
        crop = cv2.copyMakeBorder(bgr[cy0:cy1, cx0:cx1], cy0 - y0, y0 + s - cy1, cx0 - x0,
                                  x0 + s - cx1, cv2.BORDER_REPLICATE)
    small = cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 85])
    return buf.tobytes() if ok else b""


def _read_metadata(data: bytes, res: FileResult) -> Image.Exif | None:
    """GPS position, when present and well formed; returns the EXIF block (for dates).
    Warnings (corrupt EXIF...) become notes."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            exif = Image.open(io.BytesIO(data)).getexif()
            exif.get_ifd(0x8769)  # parse the sub-IFD now, under the warning capture
            gps = exif.get_ifd(_GPS_IFD)
    except Exception:  # noqa: BLE001 - metadata is optional; a bad EXIF block is ignored
        return None
    for w in caught:
        text = str(w.message).strip().rstrip(".")
        if text and text not in res.notes:
            res.notes.append(text)
    try:
        if gps and 2 in gps and 4 in gps:
            res.gps_lat = _degrees(gps[2], gps.get(1, "N"), "S")
            res.gps_lon = _degrees(gps[4], gps.get(3, "E"), "W")
    except Exception:  # noqa: BLE001 - a malformed GPS block is ignored
        res.gps_lat = res.gps_lon = None
    return exif


def _degrees(dms: object, ref: object, negative: str) -> float:
    d, m, s = (float(v) for v in dms)  # type: ignore[attr-defined]
    value = d + m / 60.0 + s / 3600.0
    return -value if str(ref).upper().startswith(negative) else value


# -- worker processes ----------------------------------------------------------------
_ENGINE: FaceEngine | None = None
_KNOWN: frozenset[str] = frozenset()
_PREVIEW = True


def end_with_parent(parent: int | None) -> None:
    """Make this (worker) process end when its parent does, however the parent ends
    (SIGKILL included): Linux ``prctl(PR_SET_PDEATHSIG, SIGKILL)``; where that is not
    available, or the parent ``parent`` is already gone, the worker exits now."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if parent is not None and os.getppid() != parent:  # died before prctl took effect
        os._exit(1)


def init_worker(settings: EngineSettings, known_hashes: frozenset[str],
                parent: int | None = None) -> None:
    """Process-pool initializer: ends with the parent process ``parent`` whatever kills
    it, one engine per worker, limited threads, and Ctrl-C left to the main process
    (which stops the run cleanly)."""
    global _ENGINE, _KNOWN, _PREVIEW
    end_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if settings.threads:
        cv2.setNumThreads(settings.threads)
    _ENGINE = settings.build()
    _KNOWN = known_hashes
    _PREVIEW = settings.preview


def worker_analyze(path: str, force: bool) -> FileResult:
    """Analyse ``path`` in a worker set up by :func:`init_worker`."""
    assert _ENGINE is not None, "init_worker was not run"
    return analyze_file(_ENGINE, path, _KNOWN, force, _PREVIEW)
