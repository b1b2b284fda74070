"""Reading images from any source into one form: a BGR ``uint8`` array, upright.

Accepts a path, raw bytes, a numpy array (BGR, as OpenCV gives; grey, BGRA and
16-bit are converted) or a PIL image. EXIF orientation is applied, and images whose
header announces more pixels than :data:`MAX_PIXELS` are refused before decoding.

Files are recognised by their first bytes (:func:`sniff`), never by their name: JPEG,
PNG, GIF, WebP, BMP, TIFF, PNM, ICO, JPEG 2000, AVIF (Pillow), HEIC/HEIF (``pillow-heif``)
and camera RAW through its embedded preview (``rawpy``, the ``[raw]`` extra).
:func:`decode_image` can decode a JPEG at a reduced scale (DCT scaling, Pillow's
``draft``) and decodes the full resolution only when asked; library warnings (corrupt
EXIF, large images) are returned as notes, never printed.
"""

from __future__ import annotations

import io
import os
import struct
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ImageError

ImageInput = str | os.PathLike[str] | bytes | np.ndarray | Image.Image

#: Largest image accepted, in pixels (about 179 MP, e.g. a 16,000 x 11,000 scan; twice
#: Pillow's default warning level). Larger headers are refused before any pixel is
#: decoded, as possible decompression bombs.
MAX_PIXELS = 2 * 89_478_485
#: Smallest side accepted, in pixels: nothing smaller can hold a recognisable face.
MIN_SIDE = 16


def load_image(source: ImageInput, name: str | None = None) -> np.ndarray:
    """Return ``source`` as an upright BGR ``uint8`` array of shape (h, w, 3).

    A decoded file's array may be read-only (it is the decoder's own buffer, not a
    copy): ``.copy()`` it before drawing on it. Raises :class:`ImageError` with a
    one-line reason for anything unreadable.
    """
    label = name or _label(source)
    if isinstance(source, np.ndarray):
        return _check_size(_array_to_bgr(source, label), label)
    if isinstance(source, Image.Image):
        _check_header(*source.size, label)
        return _check_size(_pil_to_bgr(ImageOps.exif_transpose(source) or source, label), label)
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        data = read_bytes(Path(source))
    else:
        raise ImageError(f"{label}: unsupported input type {type(source).__name__}")
    with warnings.catch_warnings():  # notes are for the indexer; here they are dropped
        warnings.simplefilter("ignore")
        return decode_bytes(data, label)


def read_bytes(path: Path) -> bytes:
    """Read a file's bytes, turning OS errors into :class:`ImageError`."""
    try:
        if path.is_dir():
            raise ImageError(f"{path}: is a folder, not an image file")
        data = path.read_bytes()
    except FileNotFoundError:
        raise ImageError(f"{path}: no such file") from None
    except PermissionError:
        raise ImageError(f"{path}: permission denied") from None
    except OSError as exc:
        raise ImageError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    return data


def decode_bytes(data: bytes, label: str = "image") -> np.ndarray:
    """Decode encoded image bytes (JPEG, PNG, WebP, TIFF, BMP, HEIC, AVIF...) to upright
    BGR at full resolution."""
    return decode_image(data, label).full()


#: What :func:`sniff` makes of a file: an image this installation reads, a recognised
#: image format it cannot read, a video, an empty file, or something else.
FileKind = Literal["image", "unsupported", "video", "empty", "not_image"]
#: Bytes :func:`sniff` needs from the start of a file.
HEAD_BYTES = 64
#: Camera RAW names (their content is TIFF-like or vendor specific; read through rawpy).
RAW_EXTENSIONS = frozenset({".dng", ".cr2", ".cr3", ".crw", ".nef", ".nrw", ".arw", ".srf",
                            ".sr2", ".orf", ".rw2", ".raf", ".pef", ".srw", ".x3f", ".3fr",
                            ".iiq", ".erf", ".kdc", ".mrw", ".mos", ".rwl"})
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs",
                b"mif1", b"msf1", b"mif2"}
_AVIF_BRANDS = {b"avif", b"avis"}
_VIDEO_BRANDS = {b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1",
                 b"M4V ", b"M4VH", b"M4VP", b"qt  ", b"3gp4", b"3gp5", b"3gp6", b"3g2a",
                 b"dash", b"XAVC", b"MSNV", b"NDAS", b"f4v "}


def sniff(head: bytes, name: str = "") -> tuple[FileKind, str]:
    """What a file is, from its first :data:`HEAD_BYTES` bytes (and, for camera RAW
    only, its name): ``(kind, format)``, e.g. ``("image", "JPEG")``,
    ``("unsupported", "HEIF")`` when pillow-heif is missing, ``("video", "MP4")``."""
    ext = os.path.splitext(name)[1].lower()
    if not head:
        return "empty", ""
    fmt = _image_format(head)
    if ext in RAW_EXTENSIONS and fmt in (None, "TIFF", "CR3"):
        return ("image" if raw_supported() else "unsupported"), "RAW"
    if fmt == "CR3":
        return ("image" if raw_supported() else "unsupported"), "RAW"
    if fmt in ("HEIF",):
        return ("image" if heif_supported() else "unsupported"), fmt
    if fmt == "AVIF":
        return ("image" if avif_supported() else "unsupported"), fmt
    if fmt == "JPEG2000":
        return ("image" if _pil_feature("jpg_2000") else "unsupported"), fmt
    if fmt in ("JPEG XL", "PSD", "SVG"):
        return "unsupported", fmt
    if fmt is not None:
        return "image", fmt
    video = _video_format(head)
    if video is not None:
        return "video", video
    return "not_image", ""


def _image_format(h: bytes) -> str | None:
    if h.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if h.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if h[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if h[:4] == b"RIFF" and h[8:12] == b"WEBP":
        return "WEBP"
    if h[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF"
    if h[:4] in (b"IIRO", b"IIRS", b"IIU\x00") or h.startswith(b"FUJIFILMCCD-RAW"):
        return "CR3"  # vendor RAW containers (Olympus, Panasonic, Fujifilm): via rawpy
    if h[4:8] == b"ftyp":
        brand, compatible = h[8:12], {h[i:i + 4] for i in range(16, min(len(h), 48), 4)}
        if brand == b"crx ":
            return "CR3"
        if brand in _AVIF_BRANDS or (brand not in _HEIF_BRANDS and compatible & _AVIF_BRANDS):
            return "AVIF"
        if brand in _HEIF_BRANDS:
            return "HEIF"
        return None
    if h[:2] == b"BM" and len(h) >= 18 and int.from_bytes(h[14:18], "little") in (
            12, 40, 52, 56, 64, 108, 124):
        return "BMP"
    if len(h) >= 3 and h[0:1] == b"P" and h[1:2] in b"1234567" and h[2:3] in b" \t\r\n":
        return "PNM"
    if h[:4] == b"\x00\x00\x01\x00" and len(h) >= 6 and h[4] + h[5] > 0:
        return "ICO"
    if h.startswith(b"\x00\x00\x00\x0cjP  \r\n\x87\n") or h.startswith(b"\xffO\xffQ"):
        return "JPEG2000"
    if h.startswith(b"\xff\x0a") or h.startswith(b"\x00\x00\x00\x0cJXL \r\n\x87\n"):
        return "JPEG XL"
    if h.startswith(b"8BPS"):
        return "PSD"
    if h.lstrip().startswith(b"<svg") or (h.lstrip().startswith(b"<?xml") and b"<svg" in h):
        return "SVG"
    return None


def _video_format(h: bytes) -> str | None:
    if h[4:8] == b"ftyp":
        brand = h[8:12]
        if brand in _VIDEO_BRANDS or brand.startswith(b"3g"):
            return "QuickTime" if brand == b"qt  " else "MP4"
        return None
    if h[4:8] in (b"moov", b"mdat", b"wide", b"free", b"skip"):
        return "QuickTime"
    if h[:4] == b"RIFF" and h[8:12] == b"AVI ":
        return "AVI"
    if h[:4] == b"\x1aE\xdf\xa3":
        return "Matroska/WebM"
    if h[:4] in (b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3"):
        return "MPEG"
    if h[:3] == b"FLV":
        return "FLV"
    if h[:4] == b"0&\xb2u":
        return "WMV/ASF"
    if len(h) > 188 and h[0] == 0x47 and h[188] == 0x47:
        return "MPEG-TS"
    return None


_PLUGINS: dict[str, bool] = {}


def heif_supported() -> bool:
    """Whether HEIC/HEIF can be read (``pillow-heif`` installed; registered on first use)."""
    if "heif" not in _PLUGINS:
        try:
            from pillow_heif import register_heif_opener

            register_heif_opener()
            _PLUGINS["heif"] = True
        except Exception:  # noqa: BLE001 - missing or broken: reported as unsupported
            _PLUGINS["heif"] = False
    return _PLUGINS["heif"]


def avif_supported() -> bool:
    """Whether AVIF can be read (Pillow >= 11.2 built with libavif)."""
    return _pil_feature("avif")


def raw_supported() -> bool:
    """Whether camera RAW previews can be read (``rawpy``, the ``[raw]`` extra)."""
    if "raw" not in _PLUGINS:
        try:
            import rawpy  # noqa: F401

            _PLUGINS["raw"] = True
        except Exception:  # noqa: BLE001
            _PLUGINS["raw"] = False
    return _PLUGINS["raw"]


def _pil_feature(name: str) -> bool:
    key = "pil:" + name
    if key not in _PLUGINS:
        from PIL import features

        try:
            _PLUGINS[key] = bool(features.check(name))
        except ValueError:
            _PLUGINS[key] = False
    return _PLUGINS[key]


@dataclass
class DecodedImage:
    """An image decoded for analysis.

    ``bgr`` is upright and reduced by ``scale`` (its pixels per full-resolution pixel;
    1.0 when it is the full resolution); ``size`` is the upright full-resolution
    ``(width, height)``; :meth:`full` decodes the full resolution when needed (once).
    ``notes`` are the warnings the decoders raised (corrupt EXIF, large image...).
    """

    bgr: np.ndarray
    scale: float
    size: tuple[int, int]
    notes: list[str] = field(default_factory=list)
    data: bytes = b""
    label: str = "image"

    def full(self) -> np.ndarray:
        """The upright full-resolution BGR pixels."""
        if self.scale != 1.0:
            self.bgr = decode_image(self.data, self.label, notes=self.notes).bgr
            self.scale = 1.0
        return self.bgr


def decode_image(data: bytes, label: str = "image", scale: float = 1.0,
                 notes: list[str] | None = None, keep_side: int = MIN_SIDE) -> DecodedImage:
    """Decode image bytes to upright BGR, for a JPEG at the smallest DCT scale (1/2, 1/4,
    1/8) that keeps at least ``scale`` of the full resolution and ``keep_side`` pixels on
    the shorter side (other formats, and images too small for that: full resolution).

    Raises :class:`ImageError` with a one-line reason for anything unreadable (empty,
    corrupt, not an image, unsupported format, too small, too large); warnings become
    ``notes``.
    """
    if not data:
        raise ImageError(f"{label}: file is empty")
    notes = [] if notes is None else notes
    kind, fmt = sniff(data[:HEAD_BYTES], label)
    if kind == "unsupported":
        raise UnsupportedImageError(f"{label}: {unsupported_reason(fmt)}")
    if fmt == "RAW":
        return _decode_raw(data, label, scale, notes, keep_side)
    try:
        with _capture(notes):
            img = Image.open(io.BytesIO(data))
            full_w, full_h = img.size
            _check_header(full_w, full_h, label)
            reduced = 1.0
            if scale < 1.0 and img.format in ("JPEG", "MPO") \
                    and min(full_w, full_h) * scale >= max(keep_side, MIN_SIDE):
                img.draft("RGB", (max(1, int(full_w * scale)), max(1, int(full_h * scale))))
                reduced = img.size[0] / full_w
            img.load()
            orientation = _orientation(img)
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError(f"{label}: not an image file (or an unsupported format)") from None
    except Image.DecompressionBombError:
        raise ImageError(f"{label}: image header announces more than {MAX_PIXELS / 1e6:.0f} MP; "
                         "refused as a possible decompression bomb") from None
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as exc:
        reason = str(exc).rstrip(".") or type(exc).__name__
        raise ImageError(f"{label}: corrupt or truncated image: {reason}") from None
    upright: Image.Image = img
    if orientation in _TRANSPOSE:
        upright = img.transpose(_TRANSPOSE[orientation])
    size = (full_h, full_w) if orientation in (5, 6, 7, 8) else (full_w, full_h)
    _check_size_wh(*size, label)
    bgr = _pil_to_bgr(upright, label)
    if reduced == 1.0:
        _check_size(bgr, label)
    return DecodedImage(bgr, reduced, size, notes, data if reduced != 1.0 else b"", label)


class UnsupportedImageError(ImageError):
    """A recognised image format this installation cannot read (e.g. HEIC without
    pillow-heif, camera RAW without rawpy)."""


class ImageTooSmallError(ImageError):
    """An image too small to hold a face (shorter side under :data:`MIN_SIDE`)."""


def unsupported_reason(fmt: str) -> str:
    """Why a recognised format cannot be read here, and how to fix it."""
    if fmt == "HEIF":
        return "HEIC/HEIF image, but pillow-heif is not installed (pip install pillow-heif)"
    if fmt == "AVIF":
        return "AVIF image, but this Pillow cannot read AVIF (pip install -U 'pillow>=11.3')"
    if fmt == "RAW":
        return "camera RAW file, but rawpy is not installed (pip install 'faceatlas[raw]')"
    return f"{fmt} image: format not supported"


_TRANSPOSE = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
              4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
              6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
              8: Image.Transpose.ROTATE_90}


def _orientation(img: Image.Image) -> int:
    try:
        value = img.getexif().get(0x0112, 1)
        return int(value) if isinstance(value, int) else 1
    except Exception:  # noqa: BLE001 - a bad EXIF block: no rotation
        return 1


@contextmanager
def _capture(notes: list[str]) -> Iterator[None]:
    """Turn warnings raised inside into ``notes`` (deduplicated), instead of printing."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            for w in caught:
                text = str(w.message).strip().rstrip(".")
                if isinstance(w.message, Image.DecompressionBombWarning):
                    text = "very large image (" + text.split(" could be")[0].rstrip(", ") + ")"
                if text and text not in notes:
                    notes.append(text)


def _decode_raw(data: bytes, label: str, scale: float, notes: list[str],
                keep_side: int) -> DecodedImage:
    """A camera RAW file through its embedded preview (JPEG or bitmap), via rawpy."""
    import rawpy

    try:
        with rawpy.imread(io.BytesIO(data)) as raw:
            thumb = raw.extract_thumb()
    except Exception as exc:  # noqa: BLE001 - LibRaw errors: no preview, unreadable
        raise ImageError(f"{label}: camera RAW file without a readable preview "
                         f"({type(exc).__name__})") from None
    notes.append("decoded from the camera RAW file's embedded preview")
    if thumb.format == rawpy.ThumbFormat.JPEG:
        return decode_image(bytes(thumb.data), label, scale, notes, keep_side)
    rgb = np.asarray(thumb.data)
    bgr = _check_size(_array_to_bgr(np.ascontiguousarray(rgb[:, :, ::-1]), label), label)
    return DecodedImage(bgr, 1.0, (bgr.shape[1], bgr.shape[0]), notes)


def _check_header(w: int, h: int, label: str) -> None:
    if w * h > MAX_PIXELS:
        raise ImageError(
            f"{label}: image header announces {w}x{h} ({w * h / 1e6:.0f} MP), above the "
            f"{MAX_PIXELS / 1e6:.0f} MP limit; refused as a possible decompression bomb"
        )


def _pil_to_bgr(img: Image.Image, label: str) -> np.ndarray:
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if mode.startswith("I;16") else max(float(arr.max()), 1.0)
        grey = np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        return _array_to_bgr(arr, label)
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in img.info):
        rgba = np.asarray(img.convert("RGBA"), dtype=np.float32)
        alpha = rgba[:, :, 3:4] / 255.0
        rgb = rgba[:, :, :3] * alpha + 255.0 * (1.0 - alpha)  # composite on white
        return np.ascontiguousarray(rgb[:, :, ::-1].round().astype(np.uint8))
    if mode not in ("RGB", "L"):
        img = img.convert("RGB")
    raw = "BGR" if mode != "L" else "L"
    buf = np.frombuffer(img.tobytes("raw", raw), np.uint8)  # one copy, converted in C
    if mode == "L":
        return np.repeat(buf.reshape(img.height, img.width)[:, :, None], 3, axis=2)
    return buf.reshape(img.height, img.width, 3)


def _array_to_bgr(arr: np.ndarray, label: str) -> np.ndarray:
    if arr.dtype != np.uint8:
        if arr.dtype == np.uint16:
            arr = (arr.astype(np.float32) / 257.0 + 0.5).astype(np.uint8)
        elif np.issubdtype(arr.dtype, np.floating):
            a = arr.astype(np.float32)
            scale = 255.0 if float(np.nanmax(a)) <= 1.0 else 1.0
            arr = np.clip(np.nan_to_num(a) * scale + 0.5, 0, 255).astype(np.uint8)
        elif np.issubdtype(arr.dtype, np.integer) or arr.dtype == np.bool_:
            arr = np.clip(arr.astype(np.int64), 0, 255).astype(np.uint8)
        else:
            raise ImageError(f"{label}: unsupported array dtype {arr.dtype}")
    if arr.ndim == 2:
        return np.repeat(arr[:, :, None], 3, axis=2)
    if arr.ndim == 3 and arr.shape[2] == 1:
        return np.repeat(arr, 3, axis=2)
    if arr.ndim == 3 and arr.shape[2] == 3:
        return np.ascontiguousarray(arr)
    if arr.ndim == 3 and arr.shape[2] == 4:
        alpha = arr[:, :, 3:4].astype(np.float32) / 255.0
        out = arr[:, :, :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)
        return np.ascontiguousarray(out.round().astype(np.uint8))
    raise ImageError(f"{label}: unsupported array shape {arr.shape}")


def _check_size_wh(w: int, h: int, label: str) -> None:
    if min(h, w) < MIN_SIDE:
        raise ImageTooSmallError(f"{label}: image is only {w}x{h} pixels, too small to hold "
                                 "a face")


def _check_size(bgr: np.ndarray, label: str) -> np.ndarray:
    h, w = bgr.shape[:2]
    _check_size_wh(w, h, label)
    if h * w > MAX_PIXELS:
        raise ImageError(f"{label}: image is {w}x{h}, above the {MAX_PIXELS / 1e6:.0f} MP limit")
    return bgr


def _label(source: object) -> str:
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    return f"<{type(source).__name__}>"


def preview_jpeg(data: bytes, max_side: int, label: str = "image", quality: int = 82) -> bytes:
    """An upright JPEG of the image whose longer side is at most ``max_side`` pixels (a
    smaller image keeps its size): a JPEG is decoded at the smallest DCT scale that still
    covers ``max_side``, then shrunk with area averaging. Errors as :func:`decode_image`."""
    import cv2

    scale = 1.0
    try:
        with Image.open(io.BytesIO(data)) as head:
            scale = min(1.0, max_side / max(head.size))
    except Exception:  # not a format Pillow opens by itself (RAW, HEIC): full decode
        pass
    bgr = decode_image(data, label, scale=scale).bgr
    h, w = bgr.shape[:2]
    factor = max_side / max(h, w)
    if factor < 1.0:
        bgr = cv2.resize(bgr, (max(1, round(w * factor)), max(1, round(h * factor))),
                         interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ImageError(f"{label}: could not encode a preview")
    return bytes(buf.tobytes())
