"""Every file met by ``index`` is accounted for: images are recognised by content (HEIC,
AVIF, GIF without extension, odd names), everything else is skipped with its reason,
and library warnings become per-file notes, never raw stderr."""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from faceatlas import FaceEngine
from faceatlas import image as image_mod
from faceatlas.image import decode_image, sniff
from faceatlas.library import Indexer, Library
from faceatlas.library.scan import SKIP_REASONS

pillow_heif = pytest.importorskip("pillow_heif")


def _portrait(portraits: Path, name: str = "person_a_1.jpg") -> Image.Image:
    return Image.open(portraits / name).convert("RGB")


def _corrupt_exif_jpeg(portraits: Path) -> bytes:
    """A photo whose EXIF block claims more data than it holds (Pillow warns)."""
    ex = Image.Exif()
    ex[0x010F] = "Camera"
    raw = bytearray(ex.tobytes())
    struct.pack_into("<I", raw, 6 + 8 + 2 + 4, 100_000)  # first entry's count
    buf = io.BytesIO()
    _portrait(portraits).save(buf, "JPEG", exif=bytes(raw))
    return buf.getvalue()


@pytest.fixture(scope="module")
def odd_folder(tmp_path_factory: pytest.TempPathFactory,
               portraits: Path) -> tuple[Path, dict[str, str]]:
    """A folder of odd files, and what each should become (``new`` or a skip reason or
    ``error``)."""
    d = tmp_path_factory.mktemp("odd")
    expect: dict[str, str] = {}

    def put(name: str, data: bytes, outcome: str) -> None:
        (d / name).parent.mkdir(parents=True, exist_ok=True)
        (d / name).write_bytes(data)
        expect[name] = outcome

    def encoded(fmt: str, img: Image.Image | None = None, **kw: object) -> bytes:
        buf = io.BytesIO()
        (img or _portrait(portraits)).save(buf, fmt, **kw)
        return buf.getvalue()

    pillow_heif.register_heif_opener()
    put("IMG_0001.HEIC", encoded("HEIF", quality=90), "new")
    if image_mod.avif_supported():
        put("photo.avif", encoded("AVIF", quality=80), "new")
    put("subject01", encoded("GIF", _portrait(portraits, "person_b_1.jpg").convert("L")), "new")
    put('quoted.jpg"', encoded("JPEG"), "new")
    put("with spaces and 'quotes'.jpeg", encoded("JPEG"), "new")
    put("éte\u0301 北京 😀.JPG", encoded("PNG"), "new")  # a PNG named .JPG
    put("no_extension_jpeg", encoded("JPEG"), "new")
    put("corrupt_exif.jpg", _corrupt_exif_jpeg(portraits), "new")
    put("notes.jpg", b"this is a text file, not a photo\n", "not_image")
    put("readme.txt", b"hello\n", "not_image")
    put("empty.jpg", b"", "empty")
    put("empty", b"", "empty")
    put("tiny.png", encoded("PNG", Image.new("RGB", (8, 8))), "too_small")
    put("clip.mp4", b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 64,
        "video")
    put("clip.mov", b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00qt  " + b"\x00" * 64, "video")
    put("photo.jxl", b"\xff\x0a" + b"\x00" * 64, "unsupported")
    put("shot.CR2", b"II*\x00\x10\x00\x00\x00CR\x02\x00" + b"\x00" * 64, "unsupported")
    put(".DS_Store", b"\x00\x00\x00\x01Bud1", "hidden")
    put("broken.jpg", encoded("JPEG")[:400], "error")
    return d, expect


def _index(lib: Path, folder: Path, engine: FaceEngine):  # type: ignore[no-untyped-def]
    with Library.open(lib) as opened:
        return Indexer(opened, workers=0, engine=engine).run([str(folder)])


def test_every_file_is_accounted_for(odd_folder: tuple[Path, dict[str, str]], tmp_path: Path,
                                     engine: FaceEngine,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    folder, expect = odd_folder
    monkeypatch.setitem(image_mod._PLUGINS, "raw", False)  # as without the [raw] extra
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any library warning leaking out fails the test
        summary = _index(tmp_path / "lib", folder, engine)
    data = summary.to_dict()
    assert data["files_seen"] == len(expect)
    counts = (data["new"] + data["changed"] + data["moved"] + data["unchanged"]
              + data["errors"] + sum(data["skipped"].values()) + data["pending"])
    assert counts == data["files_seen"]
    outcome: dict[str, str] = {}
    for f in summary.skipped_files:
        outcome[Path(f["path"]).name] = f["reason"]
    for e in summary.errors:
        outcome[Path(e["path"]).name] = "error"
    with Library.open(tmp_path / "lib") as opened:
        for rec in opened.store.iter_images():
            if rec.status != "error":
                outcome[Path(rec.path).name] = "new"
                assert rec.face_count == 1, rec.path
    assert outcome == expect
    assert set(data["skipped"]) == set(SKIP_REASONS)
    details = {Path(f["path"]).name: f["detail"] for f in summary.skipped_files}
    assert "named .jpg" in details["notes.jpg"]
    assert "rawpy" in details["shot.CR2"] and details["clip.mp4"] == "MP4"
    notes = {Path(n["path"]).name for n in summary.notes}
    assert "corrupt_exif.jpg" in notes
    # a second run: images unchanged, the rest skipped again, still all accounted for
    again = _index(tmp_path / "lib", folder, engine).to_dict()
    assert again["unchanged"] == data["new"] and again["files_seen"] == len(expect)
    assert sum(again["skipped"].values()) == sum(data["skipped"].values())


def test_a_photo_replaced_by_a_non_image_keeps_its_faces(tmp_path: Path, portraits: Path,
                                                         engine: FaceEngine) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "a.jpg").write_bytes((portraits / "person_a_1.jpg").read_bytes())
    _index(tmp_path / "lib", folder, engine)
    (folder / "a.jpg").write_text("overwritten by a text file")
    summary = _index(tmp_path / "lib", folder, engine)
    assert [e["error"] for e in summary.errors] == [
        "no longer a readable photo: not an image (content is not an image although "
        "named .jpg)"]
    with Library.open(tmp_path / "lib") as opened:
        rec = opened.store.image_by_path(str(folder / "a.jpg"))
        assert rec is not None and rec.status == "ok" and rec.face_count == 1


def test_cli_says_what_was_skipped_and_why_without_raw_warnings(tmp_path: Path,
                                                                portraits: Path) -> None:
    folder = tmp_path / "few"
    folder.mkdir()
    (folder / "corrupt_exif.jpg").write_bytes(_corrupt_exif_jpeg(portraits))
    (folder / "notes.jpg").write_text("text")
    lib = str(tmp_path / "lib")
    cmd = [sys.executable, "-m", "faceatlas.cli.main", "index", str(folder), "--library", lib]
    human = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert human.returncode == 0, human.stderr
    assert "skipped 1 file(s): 1 not an image" in human.stdout
    assert "notes.jpg: not an image (content is not an image although named .jpg)" in (
        " ".join(human.stderr.split()))
    assert "Warning" not in human.stderr and "Traceback" not in human.stderr
    assert "note" in human.stderr  # the corrupt EXIF block, as a per-file note
    as_json = subprocess.run([*cmd, "--json"], capture_output=True, text=True, timeout=300)
    data = json.loads(as_json.stdout)
    assert data["files_seen"] == 2 and data["unchanged"] == 1
    assert data["skipped"]["not_image"] == 1
    assert "Warning" not in as_json.stderr


def test_sniff_formats() -> None:
    assert sniff(b"\xff\xd8\xff\xe0" + b"\x00" * 8) == ("image", "JPEG")
    assert sniff(b"GIF89a" + b"\x00" * 8) == ("image", "GIF")
    assert sniff(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic")[1] == "HEIF"
    assert sniff(b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1")[1] == "AVIF"
    assert sniff(b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom") == ("video", "MP4")
    assert sniff(b"RIFF\x00\x00\x00\x00AVI LIST") == ("video", "AVI")
    assert sniff(b"\x1aE\xdf\xa3\x00") == ("video", "Matroska/WebM")
    assert sniff(b"%PDF-1.4\n") == ("not_image", "")
    assert sniff(b"BM" + b"\x00" * 20) == ("not_image", "")  # "BM" text, not a bitmap
    assert sniff(b"") == ("empty", "")


def test_decoder_warnings_become_notes(portraits: Path) -> None:
    notes: list[str] = []
    with image_mod._capture(notes):
        warnings.warn(Image.DecompressionBombWarning(
            "Image size (100000000 pixels) exceeds limit of 89478485 pixels, could be "
            "decompression bomb DOS attack."), stacklevel=1)
    assert notes == ["very large image (Image size (100000000 pixels) exceeds limit of "
                     "89478485 pixels)"]
    decoded = decode_image(_corrupt_exif_jpeg(portraits), "x.jpg")
    assert decoded.notes and decoded.bgr.shape[2] == 3


def test_jpeg_preview_keeps_orientation_and_full_resolution_on_demand(portraits: Path) -> None:
    img = _portrait(portraits).resize((1600, 1200))
    ex = Image.Exif()
    ex[0x0112] = 6  # rotate 90 degrees clockwise to show upright
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=ex, quality=92)
    decoded = decode_image(buf.getvalue(), "r.jpg", scale=0.5, keep_side=300)
    assert decoded.size == (1200, 1600) and decoded.scale == 0.5
    assert decoded.bgr.shape == (800, 600, 3)
    full = decoded.full()
    assert full.shape == (1600, 1200, 3) and decoded.scale == 1.0
    # the preview is the full image, smaller: same picture
    small = full[::2, ::2].astype(int)
    assert abs(small.mean() - decode_image(buf.getvalue(), "r.jpg", 0.5, keep_side=300)
               .bgr.astype(int).mean()) < 3
    # too small to reduce while keeping keep_side: full resolution
    assert decode_image(buf.getvalue(), "r.jpg", scale=0.5, keep_side=1000).scale == 1.0


def test_camera_raw_is_read_through_its_embedded_preview(portraits: Path,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    """The RAW path with a stand-in for rawpy (no RAW sample can be composed here): the
    embedded JPEG preview is decoded, and the note says so."""
    import types

    preview = (portraits / "person_a_1.jpg").read_bytes()

    class Raw:
        def __enter__(self) -> Raw:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

        def extract_thumb(self) -> object:
            return types.SimpleNamespace(format="jpeg", data=preview)

    fake = types.SimpleNamespace(imread=lambda fh: Raw(),
                                 ThumbFormat=types.SimpleNamespace(JPEG="jpeg"))
    monkeypatch.setitem(sys.modules, "rawpy", fake)
    monkeypatch.setitem(image_mod._PLUGINS, "raw", True)
    data = b"II*\x00\x10\x00\x00\x00CR\x02\x00" + b"\x00" * 64
    assert sniff(data[:64], "IMG_0001.CR2") == ("image", "RAW")
    decoded = decode_image(data, "IMG_0001.CR2")
    assert decoded.bgr.shape == decode_image(preview).bgr.shape
    assert any("RAW" in n for n in decoded.notes)
    assert sniff(data[:64], "plain.tif") == ("image", "TIFF")  # a TIFF is not a RAW


def _large_photo(portraits: Path, face_height: int, orientation: int = 1) -> bytes:
    """A 4000x3000 photo (shown upright after ``orientation``) with one portrait (its
    default smallest face, 1/120 of 3000 px, lets it be searched on a 1/2 preview)."""
    canvas = Image.new("RGB", (4000, 3000), (120, 140, 110))
    src = _portrait(portraits, "person_b_1.jpg")
    src = src.resize((int(src.width * face_height / src.height), face_height))
    canvas.paste(src, (700, 300))
    ex = Image.Exif()
    if orientation == 6:  # stored rotated, shown upright
        ex[0x0112] = 6
        canvas = canvas.transpose(Image.Transpose.ROTATE_90)
    buf = io.BytesIO()
    canvas.save(buf, "JPEG", quality=92, exif=ex)
    return buf.getvalue()


@pytest.mark.parametrize("orientation", [1, 6])
def test_preview_path_matches_full_resolution(portraits: Path, engine: FaceEngine,
                                              orientation: int) -> None:
    from faceatlas.library.analysis import detect_faces, to_new_face

    for height, expected_scale in ((900, 0.5), (300, 1.0)):  # small face: full resolution
        data = _large_photo(portraits, height, orientation)
        dec, faces, scale, _ = detect_faces(engine, data, "big.jpg", preview=True)
        full_dec, full, _, _ = detect_faces(engine, data, "big.jpg", preview=False)
        assert scale == expected_scale and dec.size == full_dec.size
        assert len(faces) == len(full) == 1
        a, b = to_new_face(dec.bgr, faces[0], scale), to_new_face(full_dec.bgr, full[0])
        assert np.allclose(a.box, b.box, atol=0.08 * b.box[3])  # full-resolution coordinates
        assert float(np.dot(a.vector, b.vector)) > 0.9  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", ["HEIF", "AVIF"])
def test_heif_and_avif_orientation_is_applied_once(fmt: str) -> None:
    if fmt == "AVIF" and not image_mod.avif_supported():
        pytest.skip("this Pillow has no AVIF")
    pillow_heif.register_heif_opener()
    ex = Image.Exif()
    ex[0x0112] = 6  # stored landscape, shown portrait
    buf = io.BytesIO()
    Image.new("RGB", (400, 200), (200, 10, 10)).save(buf, fmt, exif=ex.tobytes())
    decoded = decode_image(buf.getvalue(), f"x.{fmt.lower()}")
    assert decoded.bgr.shape == (400, 200, 3) and decoded.size == (200, 400)
