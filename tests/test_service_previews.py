"""Photo previews for the browser's grids: ``GET /photos/{id}?size=N`` answers a JPEG no
larger than ``N`` pixels on its longer side (upright, cached with its own ETag), or the
file itself when it is no larger; :func:`faceatlas.image.preview_jpeg` underneath."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from privacy_helpers import copy_library  # noqa: E402
from test_service import Service, person_id  # noqa: E402

from faceatlas.image import preview_jpeg  # noqa: E402


@pytest.fixture
def svc(base: tuple[Path, Path], tmp_path: Path) -> Service:
    return Service(copy_library(base[1], tmp_path / "lib"), base[0])


def _jpeg(size: tuple[int, int], orientation: int | None = None, fmt: str = "JPEG") -> bytes:
    img = Image.new("RGB", size, (200, 30, 30))
    img.paste((30, 30, 200), (0, 0, size[0] // 2, size[1]))   # left half blue
    out = io.BytesIO()
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    img.save(out, fmt, exif=exif.tobytes()) if fmt == "JPEG" else img.save(out, fmt)
    return out.getvalue()


def test_preview_is_upright_and_small_or_none_when_the_file_fits() -> None:
    small = preview_jpeg(_jpeg((400, 200)), 100)
    assert small is not None and Image.open(io.BytesIO(small)).size == (100, 50)
    # stored landscape, shown portrait (EXIF orientation 6): the preview is upright
    turned = preview_jpeg(_jpeg((400, 200), orientation=6), 100)
    assert turned is not None and Image.open(io.BytesIO(turned)).size == (50, 100)
    assert preview_jpeg(_jpeg((80, 60)), 100) is None          # send the file as it is
    tiff = preview_jpeg(_jpeg((80, 60), fmt="TIFF"), 100)      # no browser shows TIFF
    assert tiff is not None and tiff[:2] == b"\xff\xd8"
    assert Image.open(io.BytesIO(tiff)).size == (80, 60)


def test_photo_previews_over_the_api(svc: Service) -> None:
    a = person_id(svc, "Person A")
    shown = svc.call("GET", f"/people/{a}", "read").json()
    photo_id = shown["face_details"][0]["image_id"]
    full = svc.call("GET", f"/photos/{photo_id}", "read")
    width, height = Image.open(io.BytesIO(full.content)).size
    assert max(width, height) > 64
    res = svc.call("GET", f"/photos/{photo_id}?size=64", "read")
    assert res.status_code == 200 and res.headers["content-type"] == "image/jpeg"
    w, h = Image.open(io.BytesIO(res.content)).size
    assert max(w, h) == 64 and abs(w / h - width / height) < 0.05
    assert len(res.content) < len(full.content) / 4
    assert "max-age" in res.headers["cache-control"] and res.headers["etag"] != full.headers["etag"]
    again = svc.call("GET", f"/photos/{photo_id}?size=64", "read",
                     headers={"If-None-Match": res.headers["etag"]})
    assert again.status_code == 304 and not again.content
    as_is = svc.call("GET", f"/photos/{photo_id}?size=4096", "read")
    assert as_is.status_code == 200 and as_is.content == full.content
    assert svc.call("GET", f"/photos/{photo_id}?size=4", "read").status_code == 422
