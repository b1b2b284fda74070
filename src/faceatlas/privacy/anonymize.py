"""Anonymise faces in images, folders and videos.

A missed face is a privacy leak, so anonymisation detects more eagerly than indexing
does (:data:`SENSITIVE`: a lower detector score and a smaller smallest face), blurs
generously (the box grown by ``margin`` of its size on every side), and in video follows
each face as a track (:mod:`faceatlas.video.tracks`) so the frames where detection drops
out inside a track are covered by interpolated boxes, and each track is extended a few
frames before and after.

Who is anonymised (:class:`Consent`):

* by default every face;
* ``keep``: everyone except the named (consenting) people. A face is kept clear only when
  it matches a kept person at a strict threshold (FAR 1e-3), so a doubtful face is
  blurred;
* ``only``: only the named people (for example those who opted out), matched at a
  lenient threshold (FAR 1e-2), so a doubtful face of theirs is still blurred.

A face too small or poor to embed cannot be recognised: with ``keep`` it is blurred,
with ``only`` it is left alone (and counted).

Images keep their metadata (EXIF, ICC profile) except what locates or identifies: the
GPS block is dropped unless ``keep_gps``, and an XMP packet that carries GPS is dropped
with it. Pixels are written upright, so the EXIF orientation is reset to 1. Videos keep
their frame count, frame rate, size and duration; the audio track is copied when the
output container can hold its codec, and the report says when it could not.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from ..cluster.people import resolve_person
from ..engine import FaceEngine
from ..errors import FaceAtlasError, ImageError, VideoError
from ..image import load_image
from ..library.core import Library
from ..verification import resolve_threshold
from ..video.reader import VIDEO_EXTENSIONS, probe, sample_frames
from ..video.tracks import Box, Track, Tracker, TrackFace, fill_boxes

METHODS = ("blur", "pixelate", "fill")
#: Detector settings of anonymisation: far more sensitive than indexing (score 0.6).
#: Chosen on hand-checked boxes of the first half of ``street_crowd.mp4``
#: (``bench/anonymize_video.py``, docs/benchmarks.md "Anonymisation"): score 0.45 left
#: 11 of 135 true faces uncovered there (profiles, a face behind someone's hair), 0.2 none;
#: the price is more blurred non-faces (about 29 boxes a 1080p frame instead of 6).
SENSITIVE = {"score_threshold": 0.2, "min_face": 10}
#: Frames a video track's first and last boxes are held before and after it.
EXTEND_FRAMES = 4
#: Histogram overlap under which two consecutive frames are a shot cut for anonymisation:
#: stricter than indexing's, so that tracks (and the boxes they hold) are split less.
ANONYMIZE_CUT = 0.5
#: Share of a face box's size added on every side of what is blurred.
DEFAULT_MARGIN = 0.25
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff",
                              ".heic", ".heif", ".avif", ".gif"})
_GPS_IFD = 0x8825
_ORIENTATION = 0x0112
#: Audio codecs each output container takes as they are (copied without re-encoding).
_AUDIO_OK = {
    ".mp4": {"aac", "mp3", "alac", "opus", "ac3", "eac3", "flac"},
    ".m4v": {"aac", "alac"},  # FFmpeg's "ipod" muxer
    ".mov": {"aac", "mp3", "alac", "pcm_s16le", "pcm_s24le", "ac3", "opus"},
    ".mkv": {"aac", "mp3", "opus", "vorbis", "flac", "ac3", "eac3", "pcm_s16le", "alac"},
    ".webm": {"opus", "vorbis"},
    ".avi": {"mp3", "aac", "pcm_s16le", "ac3"},
}
_VIDEO_CODEC = {".webm": "libvpx-vp9", ".avi": "mpeg4"}


def sensitive_engine(recognizer: str | None = None) -> FaceEngine:
    """The engine anonymisation detects with (see :data:`SENSITIVE`)."""
    kw: dict[str, Any] = dict(SENSITIVE)
    if recognizer:
        kw["recognizer"] = recognizer
    return FaceEngine(**kw)


# -- who is anonymised -----------------------------------------------------------------
@dataclass
class Consent:
    """Which faces to anonymise: all, all but ``keep``, or only ``only`` (person refs
    resolved against a library)."""

    keep: dict[str, list[np.ndarray]] = field(default_factory=dict)
    only: dict[str, list[np.ndarray]] = field(default_factory=dict)
    keep_threshold: float = 1.0
    only_threshold: float = 1.0

    @classmethod
    def everyone(cls) -> Consent:
        return cls()

    @classmethod
    def from_library(cls, library: Library, engine: FaceEngine, keep: list[str],
                     only: list[str]) -> Consent:
        """Resolve ``keep``/``only`` person references to their faces' embeddings."""
        if keep and only:
            raise FaceAtlasError("give either --keep or --only, not both")
        store = library.store
        model = engine.model_id

        def vectors(refs: list[str]) -> dict[str, list[np.ndarray]]:
            out: dict[str, list[np.ndarray]] = {}
            for ref in refs:
                person = resolve_person(store, ref)
                ids = [f.id for f in store.person_faces(person.id)]
                vecs = [v for _, batch in (store.embeddings(model, ids) if ids else [])
                        for v in batch]
                if not vecs:
                    raise FaceAtlasError(
                        f"{ref}: this person has no faces embedded with {model} in the "
                        "library, so their face cannot be recognised in the input")
                out[person.name or f"#{person.id}"] = vecs
            return out

        name = engine.recognizer.spec.name
        return cls(vectors(keep), vectors(only),
                   resolve_threshold(name, far=1e-3).value,
                   resolve_threshold(name, far=1e-2).value)

    def redact(self, vector: np.ndarray | None) -> tuple[bool, str | None]:
        """(anonymise this face?, the named person it matched)."""
        if not self.keep and not self.only:
            return True, None
        if self.keep:
            who = _match(self.keep, vector, self.keep_threshold)
            return who is None, who
        who = _match(self.only, vector, self.only_threshold)
        return who is not None, who


def _match(people: dict[str, list[np.ndarray]], vector: np.ndarray | None,
           threshold: float) -> str | None:
    if vector is None:
        return None
    best, who = -1.0, None
    for name, vecs in people.items():
        sim = float(np.max(np.stack(vecs) @ vector))
        if sim > best:
            best, who = sim, name
    return who if best >= threshold else None


# -- pixels ----------------------------------------------------------------------------
def grow(box: Box, margin: float, width: int, height: int) -> tuple[int, int, int, int]:
    """``box`` grown by ``margin`` of its size on each side, clipped: x1, y1, x2, y2."""
    x, y, w, h = box
    x1 = int(max(0, np.floor(x - margin * w)))
    y1 = int(max(0, np.floor(y - margin * h)))
    x2 = int(min(width, np.ceil(x + w + margin * w)))
    y2 = int(min(height, np.ceil(y + h + margin * h)))
    return x1, y1, x2, y2


def redact(bgr: np.ndarray, boxes: list[Box], method: str = "blur",
           margin: float = DEFAULT_MARGIN) -> np.ndarray:
    """Anonymise ``boxes`` of ``bgr`` in place and return it."""
    if method not in METHODS:
        raise FaceAtlasError(f"unknown method '{method}': use {', '.join(METHODS)}")
    if margin < 0:
        raise FaceAtlasError(f"--margin must be 0 or more, got {margin}")
    h, w = bgr.shape[:2]
    for box in boxes:
        x1, y1, x2, y2 = grow(box, margin, w, h)
        if x2 <= x1 or y2 <= y1:
            continue
        roi = bgr[y1:y2, x1:x2]
        side = max(x2 - x1, y2 - y1)
        if method == "fill":
            roi[:] = 0
        elif method == "pixelate":
            cells = max(1, min(8, side // 4))
            small = cv2.resize(roi, (cells, cells), interpolation=cv2.INTER_AREA)
            roi[:] = cv2.resize(small, (x2 - x1, y2 - y1), interpolation=cv2.INTER_NEAREST)
        else:
            k = max(3, (side // 2) | 1)
            blurred = cv2.GaussianBlur(roi, (k, k), 0)
            roi[:] = cv2.GaussianBlur(blurred, (k, k), 0)
    return bgr


# -- reports ---------------------------------------------------------------------------
@dataclass
class Outcome:
    """What anonymising one file did."""

    source: str
    output: str
    kind: str  # image | video
    faces: int = 0
    anonymised: int = 0
    kept: list[str] = field(default_factory=list)
    frames: int = 0
    audio: str = ""
    error: str = ""

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"source": self.source, "output": self.output,
                                  "kind": self.kind, "faces": self.faces,
                                  "anonymised": self.anonymised, "kept": self.kept}
        if self.kind == "video":
            out.update(frames=self.frames, audio=self.audio)
        if self.error:
            out["error"] = self.error
        return out


# -- images ----------------------------------------------------------------------------
@dataclass
class ImagePlan:
    """What anonymising an image will blur: the boxes of the faces to hide."""

    boxes: list[Box]
    faces: int
    kept: list[str] = field(default_factory=list)


def plan_image(bgr: np.ndarray, engine: FaceEngine,
               consent: Consent | None = None) -> ImagePlan:
    """Choose the boxes :func:`anonymize_image` blurs in ``bgr``: detect with ``engine``
    (see :func:`sensitive_engine`) and decide per face with ``consent``."""
    consent = consent or Consent.everyone()
    dets = engine.detector.detect(bgr)
    need_vectors = bool(consent.keep or consent.only)
    faces = engine.analyze(bgr, dets) if need_vectors and dets else []
    plan = ImagePlan([], len(dets))
    for i, det in enumerate(dets):
        vec = faces[i].embedding.vector if faces else None
        hide, who = consent.redact(vec)
        if hide:
            plan.boxes.append(det.box)
        elif who:
            plan.kept.append(who)
    return plan


def anonymize_image(src: str | os.PathLike[str], dst: str | os.PathLike[str],
                    engine: FaceEngine, consent: Consent | None = None,
                    method: str = "blur", margin: float = DEFAULT_MARGIN,
                    keep_gps: bool = False) -> Outcome:
    """Anonymise the faces of one image into ``dst`` (format from its extension)."""
    bgr = load_image(src).copy()  # load_image returns a read-only array
    plan = plan_image(bgr, engine, consent)
    redact(bgr, plan.boxes, method, margin)
    out = Outcome(str(src), str(dst), "image", faces=plan.faces,
                  anonymised=len(plan.boxes), kept=plan.kept)
    _save_image(bgr, Path(src), Path(dst), keep_gps)
    return out


def _save_image(bgr: np.ndarray, src: Path, dst: Path, keep_gps: bool) -> None:
    rgb = Image.fromarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    kwargs: dict[str, Any] = {}
    try:
        with Image.open(src) as orig:
            exif = orig.getexif()
            if not keep_gps and _GPS_IFD in exif:
                del exif[_GPS_IFD]
            if _ORIENTATION in exif:
                exif[_ORIENTATION] = 1
            kwargs["exif"] = exif.tobytes()
            if orig.info.get("icc_profile"):
                kwargs["icc_profile"] = orig.info["icc_profile"]
            xmp = orig.info.get("xmp")
            if xmp and (keep_gps or b"GPS" not in (xmp if isinstance(xmp, bytes)
                                                    else str(xmp).encode())):
                kwargs["xmp"] = xmp
    except OSError:
        pass  # pixels only (load_image read it, Pillow's metadata reader did not)
    dst.parent.mkdir(parents=True, exist_ok=True)
    fmt = Image.registered_extensions().get(dst.suffix.lower())
    if fmt is None:
        raise ImageError(f"{dst}: unknown output image format '{dst.suffix}'")
    if fmt == "JPEG":
        kwargs["quality"] = 95
    try:
        rgb.save(dst, format=fmt, **kwargs)
    except (OSError, ValueError, KeyError) as exc:
        raise ImageError(f"{dst}: cannot write {fmt}: {exc}") from None


# -- video -----------------------------------------------------------------------------
@dataclass
class VideoPlan:
    """What anonymising a video will blur: boxes per frame index, from its tracks."""

    boxes: dict[int, list[Box]]
    frames: int
    tracks: list[Track]
    hidden: list[Track]
    kept: list[str] = field(default_factory=list)


def plan_video(src: str | os.PathLike[str], engine: FaceEngine,
               consent: Consent | None = None, extend: int = EXTEND_FRAMES,
               progress: Callable[[int, int], None] | None = None) -> VideoPlan:
    """Pass 1 of :func:`anonymize_video`: detect on every frame, follow the faces as
    tracks (split at cuts), decide per track, and fill each hidden track's frames
    (gaps interpolated, first and last boxes held ``extend`` frames either side)."""
    consent = consent or Consent.everyone()
    info = probe(src)
    total = info.frames or int(round(info.duration * info.fps))
    need_vectors = bool(consent.keep or consent.only)
    tracker = Tracker()
    n_frames = 0
    for frame in sample_frames(src, interval=0, cut=ANONYMIZE_CUT):  # every frame
        index, t, bgr, shot = frame.index, frame.time, frame.bgr, frame.shot
        dets = engine.detector.detect(bgr)
        if need_vectors and dets:
            items = [TrackFace(index, t, f.detection.box, f.detection.score, f.quality.score,
                               f.embedding.vector) for f in engine.analyze(bgr, dets)]
        else:
            items = [TrackFace(index, t, d.box, d.score) for d in dets]
        tracker.update(items, shot)
        n_frames = index + 1
        if progress is not None:
            progress(index + 1, 2 * max(total, n_frames))
    tracks = tracker.finish()
    hidden: list[Track] = []
    kept: list[str] = []
    for track in tracks:
        hide, who = consent.redact(track.embedding())
        if hide:
            hidden.append(track)
        elif who and who not in kept:
            kept.append(who)
    return VideoPlan(fill_boxes(hidden, n_frames, extend), n_frames, tracks, hidden, kept)


def anonymize_video(src: str | os.PathLike[str], dst: str | os.PathLike[str],
                    engine: FaceEngine, consent: Consent | None = None,
                    method: str = "blur", margin: float = DEFAULT_MARGIN,
                    progress: Callable[[int, int], None] | None = None,
                    extend: int = EXTEND_FRAMES) -> Outcome:
    """Anonymise the faces of every frame of a video into ``dst``: detect on every
    frame, track, decide per track, fill the gaps, blur, re-encode; audio copied."""
    plan = plan_video(src, engine, consent, extend, progress)
    return write_video(src, dst, plan, method, margin, progress)


def write_video(src: str | os.PathLike[str], dst: str | os.PathLike[str], plan: VideoPlan,
                method: str = "blur", margin: float = DEFAULT_MARGIN,
                progress: Callable[[int, int], None] | None = None) -> Outcome:
    """Pass 2 of :func:`anonymize_video`: blur ``plan``'s boxes into a re-encoded copy of
    ``src`` at ``dst``, copying the audio."""
    out = Outcome(str(src), str(dst), "video", faces=len(plan.tracks), frames=plan.frames,
                  anonymised=len(plan.hidden), kept=list(plan.kept))
    out.audio = _write_video(src, Path(dst), plan.boxes, method, margin, plan.frames,
                             progress)
    return out


def _write_video(src: str | os.PathLike[str], dst: Path, boxes: dict[int, list[Box]],
                 method: str, margin: float, n_frames: int,
                 progress: Callable[[int, int], None] | None) -> str:
    from ..video.reader import _av

    av = _av()
    suffix = dst.suffix.lower()
    if suffix not in VIDEO_EXTENSIONS:
        raise VideoError(f"{dst}: unknown output video format '{dst.suffix}' (use one of "
                         f"{', '.join(sorted(VIDEO_EXTENSIONS))})")
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(dst.name + ".part" + suffix)
    inp: Any = av.open(str(src))
    try:
        vin = inp.streams.video[0]
        ain = inp.streams.audio[0] if inp.streams.audio else None
        audio_note = "none in the source"
        out: Any = av.open(str(tmp), "w")
        try:
            vout: Any = out.add_stream(_VIDEO_CODEC.get(suffix, "libx264"),
                                  rate=vin.average_rate or 25)
            vout.width, vout.height = vin.codec_context.width, vin.codec_context.height
            even = vout.width % 2 == 0 and vout.height % 2 == 0
            vout.pix_fmt = "yuv420p" if even else "yuv444p"
            vout.time_base = vin.time_base
            # the encoder keeps the source's clock too: at its default 1/rate, frames
            # closer than one frame period (a variable-rate source, an edit list) round
            # to the same timestamp and the muxer refuses them (yang_noah_testin.m4v);
            # MPEG-4 part 2 takes no clock finer than 1/65535 s
            tb = vin.time_base
            if tb is not None and (vout.codec_context.name != "mpeg4"
                                   or tb.denominator <= 65535):
                vout.codec_context.time_base = tb
            if vout.codec_context.name == "libx264":
                vout.options = {"crf": "18", "preset": "veryfast"}
            aout: Any = None
            if ain is not None:
                codec = ain.codec_context.codec.canonical_name
                if codec in _AUDIO_OK.get(suffix, set()):
                    try:
                        aout = out.add_stream_from_template(ain)
                        audio_note = f"copied ({codec})"
                    except (ValueError, av.error.FFmpegError) as exc:
                        audio_note = f"dropped: {exc}"
                else:
                    audio_note = (f"dropped: the {suffix} container cannot hold {codec} "
                                  "audio without re-encoding")
            index = 0
            streams = [vin] + ([ain] if aout is not None else [])
            for packet in inp.demux(*streams):
                if packet.stream is ain:
                    if packet.dts is None:
                        continue
                    packet.stream = aout
                    out.mux(packet)
                    continue
                for frame in packet.decode():
                    bgr = frame.to_ndarray(format="bgr24")
                    if index in boxes:
                        redact(bgr, boxes[index], method, margin)
                    new = av.VideoFrame.from_ndarray(bgr, format="bgr24")
                    new.pts, new.time_base = frame.pts, frame.time_base
                    out.mux(vout.encode(new))
                    index += 1
                    if progress is not None:
                        progress(n_frames + index, 2 * n_frames)
            out.mux(vout.encode(None))
        finally:
            out.close()
    except av.error.FFmpegError as exc:
        tmp.unlink(missing_ok=True)
        raise VideoError(f"{src}: could not write {dst}: {exc}") from None
    finally:
        inp.close()
    os.replace(tmp, dst)
    return audio_note


# -- files and folders -----------------------------------------------------------------
def _inputs(src: Path, dst: Path) -> Iterator[tuple[Path, Path]]:
    if src.is_file():
        yield src, dst
        return
    if not src.is_dir():
        raise FaceAtlasError(f"{src}: no such file or folder")
    if dst.exists() and not dst.is_dir():
        raise FaceAtlasError(f"{dst}: the output of a folder must be a folder")
    for path in sorted(p for p in src.rglob("*") if p.is_file()):
        yield path, dst / path.relative_to(src)


def anonymize(src: str | os.PathLike[str], dst: str | os.PathLike[str], engine: FaceEngine,
              consent: Consent | None = None, method: str = "blur", margin: float = DEFAULT_MARGIN,
              keep_gps: bool = False,
              progress: Callable[[str, int, int], None] | None = None) -> list[Outcome]:
    """Anonymise an image, a video, or every image and video below a folder (mirrored
    into ``dst``). A file that cannot be read is reported in its outcome and the rest
    goes on; other files of a folder are left out."""
    if method not in METHODS:
        raise FaceAtlasError(f"unknown method '{method}': use {', '.join(METHODS)}")
    s, d = Path(src), Path(dst)
    if s.resolve() == d.resolve():
        raise FaceAtlasError("the output must differ from the input (nothing is "
                             "anonymised in place)")
    outcomes: list[Outcome] = []
    single = s.is_file()
    for path, target in _inputs(s, d):
        ext = path.suffix.lower()
        kind = "video" if ext in VIDEO_EXTENSIONS else "image"
        if not single and ext not in VIDEO_EXTENSIONS | IMAGE_EXTENSIONS:
            continue
        try:
            if kind == "video":
                def step(done: int, total: int, name: str = str(path)) -> None:
                    if progress is not None:
                        progress(name, done, total)
                outcomes.append(anonymize_video(path, target, engine, consent, method,
                                                margin, step))
            else:
                outcomes.append(anonymize_image(path, target, engine, consent, method,
                                                margin, keep_gps))
                if progress is not None:
                    progress(str(path), 1, 1)
        except FaceAtlasError as exc:
            if single:
                raise
            outcomes.append(Outcome(str(path), str(target), kind, error=str(exc)))
    return outcomes
