"""Reading images from any source into one form: a BGR ``uint8`` array, upright.

Accepts a path, raw bytes, a numpy array (BGR, as OpenCV gives; grey, BGRA and
16-bit are converted) or a PIL image. EXIF orientation is applied, and images whose
header announces more pixels than :data:`MAX_PIXELS` are refused before decoding.
"""

from __future__ import annotations

import io
import os
import struct
import warnings
from pathlib import Path

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

    Raises :class:`ImageError` with a one-line reason for anything unreadable.
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
    """Decode encoded image bytes (JPEG, PNG, WebP, TIFF, BMP...) to upright BGR."""
    if not data:
        raise ImageError(f"{label}: file is empty")
    try:
        with warnings.catch_warnings():
            # Our own limit below is the one that applies; Pillow still refuses
            # headers beyond twice its own limit inside ``open``.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            _check_header(*img.size, label)
            img.load()
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
    upright = ImageOps.exif_transpose(img) or img
    return _check_size(_pil_to_bgr(upright, label), label)


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
    rgb = np.asarray(img.convert("RGB"))
    return np.ascontiguousarray(rgb[:, :, ::-1])


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


def _check_size(bgr: np.ndarray, label: str) -> np.ndarray:
    h, w = bgr.shape[:2]
    if min(h, w) < MIN_SIDE:
        raise ImageError(f"{label}: image is only {w}x{h} pixels, too small to hold a face")
    if h * w > MAX_PIXELS:
        raise ImageError(f"{label}: image is {w}x{h}, above the {MAX_PIXELS / 1e6:.0f} MP limit")
    return bgr


def _label(source: object) -> str:
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    return f"<{type(source).__name__}>"
