"""Image input: every unreadable input fails cleanly (library and CLI), every
readable form (grey, alpha, 16-bit, palette, EXIF-rotated, arrays, bytes, PIL)
gives the same face."""

from __future__ import annotations

import io
import json
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from faceatlas import FaceEngine
from faceatlas.cli.main import app
from faceatlas.errors import ImageError, NoFaceError
from faceatlas.image import MAX_PIXELS, load_image

SAMPLE = "person_b_1.jpg"


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def _bomb_png(width: int, height: int) -> bytes:
    """A valid PNG header announcing ``width`` x ``height`` with a tiny body."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr)
            + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + _png_chunk(b"IEND", b""))


def _bomb_jpeg(width: int, height: int) -> bytes:
    """A JPEG whose SOF0 header announces ``width`` x ``height`` (nothing decodable)."""
    small = io.BytesIO()
    Image.new("RGB", (16, 16), (128, 128, 128)).save(small, "JPEG")
    data = bytearray(small.getvalue())
    sof = data.find(b"\xff\xc0")
    assert sof > 0
    struct.pack_into(">HH", data, sof + 5, height, width)
    return bytes(data)


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory: pytest.TempPathFactory, portraits: Path) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("bad")
    jpeg = (portraits / SAMPLE).read_bytes()
    files = {
        "empty": (d / "empty.jpg", b""),
        "truncated": (d / "truncated.jpg", jpeg[: len(jpeg) // 2]),
        "text": (d / "notes.jpg", b"this is a text file, not a photo\n"),
        "bomb_png": (d / "bomb.png", _bomb_png(100_000, 100_000)),
        "bomb_png_moderate": (d / "bomb2.png", _bomb_png(20_000, MAX_PIXELS // 20_000 + 1)),
        "bomb_jpeg": (d / "bomb.jpg", _bomb_jpeg(65_000, 65_000)),
    }
    out = {}
    for key, (path, data) in files.items():
        path.write_bytes(data)
        out[key] = path
    tiny = d / "tiny.png"
    Image.new("RGB", (1, 1), (200, 150, 100)).save(tiny)
    out["one_pixel"] = tiny
    out["missing"] = d / "does_not_exist.jpg"
    out["folder"] = d
    return out


BAD_REASONS = {
    "empty": "empty",
    "truncated": "truncated",
    "text": "not an image",
    "bomb_png": "decompression bomb",
    "bomb_png_moderate": "decompression bomb",
    "bomb_jpeg": "decompression bomb",
    "one_pixel": "too small",
    "missing": "no such file",
    "folder": "folder",
}


@pytest.mark.parametrize("kind", sorted(BAD_REASONS))
def test_bad_input_raises_image_error(kind: str, bad_files: dict[str, Path],
                                      engine: FaceEngine) -> None:
    path = bad_files[kind]
    with pytest.raises(ImageError) as info:
        load_image(path)
    msg = str(info.value)
    assert BAD_REASONS[kind] in msg
    assert str(path) in msg and "\n" not in msg
    with pytest.raises(ImageError):
        engine.analyze(path)
    if kind not in ("missing", "folder"):
        with pytest.raises(ImageError):
            engine.analyze(path.read_bytes())


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="root reads files whatever their mode")
def test_unreadable_file(tmp_path: Path, portraits: Path) -> None:
    path = tmp_path / "locked.jpg"
    path.write_bytes((portraits / SAMPLE).read_bytes())
    path.chmod(0)
    with pytest.raises(ImageError, match="permission denied"):
        load_image(path)


def _cli(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args))


def _assert_clean_failure(result, expect: str, code: int) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error:") and expect in lines[0]


def _assert_json_failure(result, expect: str, code: int) -> dict:  # type: ignore[no-untyped-def]
    """With --json: one JSON document on stdout holding the error, nothing on stderr."""
    assert result.exit_code == code, result.output
    assert result.stderr == ""
    doc = json.loads(result.stdout)
    assert doc["error"]["exit_code"] == code and expect in doc["error"]["message"]
    return doc


@pytest.mark.parametrize("kind", sorted(BAD_REASONS))
def test_bad_input_cli(kind: str, bad_files: dict[str, Path]) -> None:
    path = str(bad_files[kind])
    for args in (["detect", path], ["verify", path, path]):
        result = _cli(*args)
        _assert_clean_failure(result, BAD_REASONS[kind], ImageError.exit_code)
        assert result.stdout == ""
    doc = _assert_json_failure(_cli("embed", path, "--json"), BAD_REASONS[kind],
                               ImageError.exit_code)
    import faceatlas.image as image_module

    assert issubclass(getattr(image_module, doc["error"]["type"]), ImageError)


@pytest.fixture(scope="module")
def gradient(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("noface") / "gradient.png"
    ramp = np.linspace(0, 255, 640, dtype=np.float32)
    img = np.stack([np.tile(ramp, (480, 1)), np.tile(ramp[::-1], (480, 1)),
                    np.full((480, 640), 90, np.float32)], axis=2)
    Image.fromarray(img.astype(np.uint8)).save(path)
    return path


def test_no_face_library(engine: FaceEngine, gradient: Path) -> None:
    assert engine.analyze(gradient) == []
    with pytest.raises(NoFaceError, match="no face"):
        engine.face(gradient)


def test_no_face_cli(gradient: Path, portraits: Path) -> None:
    doc = _assert_json_failure(_cli("detect", str(gradient), "--json"), "no face",
                               NoFaceError.exit_code)
    assert doc["faces"] == []
    _assert_clean_failure(_cli("embed", str(gradient)), "no face", NoFaceError.exit_code)
    _assert_clean_failure(_cli("verify", str(portraits / SAMPLE), str(gradient)), "no face",
                          NoFaceError.exit_code)


def test_good_image_cli_succeeds(portraits: Path) -> None:
    result = _cli("detect", str(portraits / SAMPLE), "--json")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""


# --- readable forms -----------------------------------------------------------------


@pytest.fixture(scope="module")
def reference(engine: FaceEngine, portraits: Path):  # type: ignore[no-untyped-def]
    return engine.face(portraits / SAMPLE)


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def _close(engine: FaceEngine, source: object, ref, min_sim: float,  # type: ignore[no-untyped-def]
           max_landmark_shift: float) -> None:
    face = engine.face(source)  # type: ignore[arg-type]
    assert face.embedding.similarity(ref.embedding) >= min_sim
    shift = float(np.abs(face.detection.landmarks - ref.detection.landmarks).max())
    assert shift <= max_landmark_shift * ref.detection.size


def test_colour_forms(engine: FaceEngine, portraits: Path, reference) -> None:  # type: ignore[no-untyped-def]
    pil = Image.open(portraits / SAMPLE)
    bgr = np.asarray(pil)[:, :, ::-1]
    # Exactly the same pixels: identical result.
    for same in (pil, bgr, (portraits / SAMPLE).read_bytes(), str(portraits / SAMPLE),
                 bgr / 255.0, _png(pil.convert("RGBA"))):
        _close(engine, same, reference, 0.9999, 1e-3)
    # Grey (8-bit and 16-bit, as file and array) and palette lose colour only.
    grey = pil.convert("L")
    grey16 = np.asarray(grey).astype(np.uint16) * 257
    assert Image.open(io.BytesIO(_png(Image.fromarray(grey16)))).mode.startswith("I")
    for lossy in (_png(grey), np.asarray(grey), grey16, _png(Image.fromarray(grey16)),
                  _png(pil.convert("P", palette=Image.Palette.ADAPTIVE, colors=256))):
        _close(engine, lossy, reference, 0.85, 0.06)


def test_grey_16bit_scaling() -> None:
    arr = np.full((32, 32), 65535, np.uint16)
    assert load_image(arr).min() == 255
    assert load_image(_png(Image.fromarray(arr))).min() == 255


def test_alpha_is_composited_on_white(engine: FaceEngine, portraits: Path, reference) -> None:  # type: ignore[no-untyped-def]
    rgba = Image.open(portraits / SAMPLE).convert("RGBA")
    alpha = np.full((rgba.height, rgba.width), 255, np.uint8)
    alpha[:40] = 0  # transparent top band
    rgba.putalpha(Image.fromarray(alpha))
    bgr = load_image(_png(rgba))
    assert (bgr[:40] == 255).all() and bgr.shape == (rgba.height, rgba.width, 3)
    _close(engine, _png(rgba), reference, 0.99, 0.02)
    _close(engine, np.asarray(rgba)[:, :, [2, 1, 0, 3]], reference, 0.99, 0.02)


# Orientation tag -> how the stored pixels are turned from upright.
EXIF_CASES = {3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_90,
              8: Image.Transpose.ROTATE_270}


@pytest.mark.parametrize("orientation", sorted(EXIF_CASES))
def test_exif_orientation(orientation: int, engine: FaceEngine, portraits: Path) -> None:
    upright = Image.open(portraits / SAMPLE).convert("RGB")
    buf = io.BytesIO()
    upright.save(buf, "JPEG", quality=95)
    ref = engine.face(buf.getvalue())
    stored = upright.transpose(EXIF_CASES[orientation])
    exif = Image.Exif()
    exif[0x0112] = orientation
    rotated = io.BytesIO()
    stored.save(rotated, "JPEG", quality=95, exif=exif)
    data = rotated.getvalue()
    assert load_image(data).shape == (upright.height, upright.width, 3)
    _close(engine, data, ref, 0.98, 0.03)
    _close(engine, Image.open(io.BytesIO(data)), ref, 0.98, 0.03)
    # Without the tag the same pixels show the face turned, somewhere else.
    raw = engine.analyze(np.asarray(stored)[:, :, ::-1].copy())
    assert all(np.abs(f.detection.landmarks - ref.detection.landmarks).max() > 20 for f in raw)


def test_unsupported_inputs() -> None:
    with pytest.raises(ImageError, match="unsupported input type"):
        load_image(12345)  # type: ignore[arg-type]
    with pytest.raises(ImageError, match="unsupported array shape"):
        load_image(np.zeros((32, 32, 5), np.uint8))
    with pytest.raises(ImageError, match="too small"):
        load_image(np.zeros((8, 400, 3), np.uint8))
