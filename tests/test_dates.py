"""Photo dates: each source (EXIF with offset, XMP, file name, file time) in order, the
catalog migration that records the new sources, and how relations report estimated
dates."""

from __future__ import annotations

import io
import os
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from faceatlas.library.dates import filename_date, parse_iso, photo_date, xmp_date
from faceatlas.store import ImageInfo, NewFace, SQLiteStore
from faceatlas.store.schema import MIGRATIONS, SCHEMA_VERSION, V4_DATE_SOURCES

MTIME = 1_600_000_000 * 10**9  # 2020-09-13 UTC


def _jpeg(exif: Image.Exif | None = None, xmp: bytes | None = None) -> bytes:
    buf = io.BytesIO()
    kwargs: dict[str, object] = {}
    if exif is not None:
        kwargs["exif"] = exif
    if xmp is not None:
        kwargs["xmp"] = xmp
    Image.new("RGB", (32, 32), (90, 120, 150)).save(buf, "JPEG", **kwargs)
    return buf.getvalue()


def _exif(original: str | None, offset: str | None = None,
          digitized: str | None = None) -> Image.Exif:
    ex = Image.Exif()
    ifd = ex.get_ifd(0x8769)
    if original is not None:
        ifd[36867] = original
    if offset is not None:
        ifd[36881] = offset
    if digitized is not None:
        ifd[36868] = digitized
    return ex


def _xmp(tag: str, value: str, element: bool = False) -> bytes:
    body = (f"<{tag}>{value}</{tag}>" if element else f'<rdf:Description {tag}="{value}"/>')
    return ('<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:'
            f'meta/"><rdf:RDF>{body}</rdf:RDF></x:xmpmeta><?xpacket end="w"?>').encode()


def _date(data: bytes, name: str = "photo.jpg") -> tuple[str, str]:
    exif = Image.open(io.BytesIO(data)).getexif()
    return photo_date(data, name, MTIME, exif)


def test_exif_date_with_offset_wins_over_everything() -> None:
    data = _jpeg(_exif("2019:04:12 10:11:12", "+02:00"),
                 _xmp("photoshop:DateCreated", "2001-01-01T00:00:00"))
    assert _date(data, "IMG_20150101_000000.jpg") == ("2019-04-12T10:11:12+02:00", "exif")
    assert _date(_jpeg(_exif("2019:04:12 10:11:12"))) == ("2019-04-12T10:11:12", "exif")
    assert _date(_jpeg(_exif("2019:04:12 10:11:12", "-0530"))) == (
        "2019-04-12T10:11:12-05:30", "exif")
    # a blank or impossible DateTimeOriginal falls back to DateTimeDigitized
    assert _date(_jpeg(_exif("0000:00:00 00:00:00", digitized="2018:01:02 03:04:05"))) == (
        "2018-01-02T03:04:05", "exif")


@pytest.mark.parametrize(("tag", "element"), [("photoshop:DateCreated", False),
                                              ("xmp:CreateDate", True),
                                              ("exif:DateTimeOriginal", False)])
def test_xmp_date_when_exif_has_none(tag: str, element: bool) -> None:
    data = _jpeg(_exif(None), _xmp(tag, "2017-06-30T14:05:00+01:00", element))
    assert _date(data, "IMG_20150101_000000.jpg") == ("2017-06-30T14:05:00+01:00", "xmp")
    assert xmp_date(_jpeg(xmp=_xmp(tag, "2017-06-30", element))) == "2017-06-30T00:00:00"
    assert xmp_date(_jpeg(xmp=_xmp(tag, "not a date", element))) is None


@pytest.mark.parametrize(("name", "expected"), [
    ("IMG_20190412_101112.jpg", "2019-04-12T10:11:12"),
    ("PXL_20190412_101112345.jpg", "2019-04-12T10:11:12"),
    ("2019-04-12 10.11.12.jpg", "2019-04-12T10:11:12"),
    ("20190412_101112.jpg", "2019-04-12T10:11:12"),
    ("IMG-20190412-WA0001.jpg", "2019-04-12T00:00:00"),
    ("Screenshot 2019-04-12 at 10.11.12.png", "2019-04-12T10:11:12"),
    ("holiday 2019-04-12.jpg", "2019-04-12T00:00:00"),
    ("DSC_1234.JPG", None),
    ("IMG_20191345_000000.jpg", None),   # month 13
    ("120190412.jpg", None),             # digits run on: not a date
    ("scan_18990101.jpg", None),         # before 1990: not believed
])
def test_file_name_dates(name: str, expected: str | None) -> None:
    assert filename_date(f"/photos/{name}") == expected
    if expected is not None:
        assert _date(_jpeg(), name) == (expected, "filename")


def test_file_time_is_the_last_resort() -> None:
    taken, source = _date(_jpeg(), "DSC_1234.jpg")
    assert source == "mtime"
    assert taken.startswith("2020-09-1")


def test_parse_iso_forms() -> None:
    assert parse_iso("2019-04-12T10:11:12.55Z") == "2019-04-12T10:11:12+00:00"
    assert parse_iso("2019-04-12 10:11") == "2019-04-12T10:11:00"
    assert parse_iso("2019-02-30") is None


def _v2_catalog(path: Path) -> None:
    """A catalog at schema v2 (before the date sources), with a photo, a face, and a
    deleted photo whose id must never be reused."""
    conn = sqlite3.connect(path)
    for script in MIGRATIONS[:2]:
        conn.executescript(script)
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    conn.execute("INSERT INTO schema_version VALUES (2)")
    row = ("/p/a.jpg", "/p", "p", "h", 1, 1, 10, 10, "2019-01-01T00:00:00", "exif", "ok", 1,
           "now")
    sql = ("INSERT INTO images (path, folder, album, content_hash, size, mtime_ns, width, "
           "height, taken_at, taken_at_source, status, face_count, indexed_at) "
           "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)")
    conn.execute(sql, row)
    conn.execute(sql, ("/p/b.jpg", *row[1:]))
    conn.execute("INSERT INTO faces (image_id, box_x, box_y, box_w, box_h, landmarks, "
                 "det_score, quality) VALUES (1, 0, 0, 5, 5, ?, 0.9, 0.8)",
                 (np.zeros(10, np.float32).tobytes(),))
    conn.execute("INSERT INTO embeddings VALUES (1, 'm@1', 1, x'0000803f')")
    conn.execute("DELETE FROM images WHERE path = '/p/b.jpg'")
    conn.commit()
    conn.close()


def test_migration_keeps_photos_faces_and_ids_and_allows_new_sources(tmp_path: Path) -> None:
    db = tmp_path / "catalog.sqlite"
    _v2_catalog(db)
    assert V4_DATE_SOURCES in MIGRATIONS
    with SQLiteStore(db) as store:
        assert store.schema_version() == SCHEMA_VERSION
        assert store.check() == []
        rec = store.image_by_path("/p/a.jpg")
        assert rec is not None and rec.taken_at_source == "exif" and rec.face_count == 1
        assert len(store.faces_of_image(rec.id)) == 1
        fk = store.connection.execute("PRAGMA foreign_keys").fetchone()[0]
        assert fk == 1
        saved = store.save_image(ImageInfo(
            path="/p/c.jpg", folder="/p", album="p", content_hash="c", size=1, mtime_ns=1,
            taken_at="2019-04-12T00:00:00", taken_at_source="filename"), [NewFace(
                box=(0, 0, 5, 5), landmarks=np.zeros(10, np.float32), det_score=0.9,
                quality=0.8, quality_components={}, thumbnail=None, model="m@1",
                vector=np.ones(4, np.float32) / 2)])
        assert saved.image_id == 3  # the deleted photo's id 2 is not reused
        with pytest.raises(Exception, match="CHECK"):
            store.connection.execute("UPDATE images SET taken_at_source = 'guess'")
        # the face still cascades with its photo after the rebuild
        store.delete_images([rec.id])
        assert store.connection.execute("SELECT COUNT(*) FROM faces WHERE image_id = ?",
                                        (rec.id,)).fetchone()[0] == 0
    assert os.path.exists(db)


def _dated_catalog(folder: Path) -> SQLiteStore:
    """Ada and Bob together in 4 photos: 2 with camera dates (2019), 1 dated by its name
    (2020), 1 by file time only (today); Ada alone in one more photo by file time."""
    store = SQLiteStore(folder / "catalog.sqlite")
    ada, bob = store.create_person("Ada").id, store.create_person("Bob").id
    now = "2026-11-30T10:00:00"
    photos = [("a.jpg", "2019-04-12T10:00:00+02:00", "exif", 2),
              ("b.jpg", "2019-05-01T23:30:00-05:00", "exif", 2),
              ("IMG_20200102_000000.jpg", "2020-01-02T00:00:00", "filename", 2),
              ("c.jpg", now, "mtime", 2), ("d.jpg", now, "mtime", 1)]
    for i, (name, taken, source, n) in enumerate(photos):
        faces = [NewFace(box=(0, 0, 5, 5), landmarks=np.zeros(10, np.float32), det_score=0.9,
                         quality=0.8, model="m@1", vector=np.eye(4, dtype=np.float32)[j])
                 for j in range(n)]
        saved = store.save_image(ImageInfo(
            path=str(folder / name), folder=str(folder), album="x", content_hash=str(i),
            size=1, mtime_ns=1, taken_at=taken, taken_at_source=source), faces)  # type: ignore[arg-type]
        for fid, pid in zip(saved.face_ids, (ada, bob), strict=False):
            store.assign_faces([fid], pid, by="user")
    return store


def test_relations_count_and_exclude_estimated_dates(tmp_path: Path) -> None:
    from faceatlas.relations import RelationGraph
    from faceatlas.relations import queries as q
    from faceatlas.relations.catalog import CatalogOccurrences

    store = _dated_catalog(tmp_path)
    source = CatalogOccurrences(store)
    rg = RelationGraph.from_occurrences(source.occurrences())
    ada = store.person_by_name("Ada").id  # type: ignore[union-attr]
    months = {m.month: m for m in q.timeline(rg, ada, source.estimated_photos)}
    assert months["2026-11"].photos == 2 and months["2026-11"].estimated == 2
    assert months["2019-05"].estimated == 0  # local wall-clock day kept, offset not applied
    (bob,) = q.top_companions(rg, ada, 5, source.estimated_photos)
    assert (bob.weight, bob.estimated) == (4, 1)
    assert bob.first.isoformat() == "2019-04-12T10:00:00"

    exact = CatalogOccurrences(store, exact_dates=True)
    rg2 = RelationGraph.from_occurrences(exact.occurrences())
    assert len(exact.estimated_photos) == 2
    assert [m.month for m in q.timeline(rg2, ada)] == ["2019-04", "2019-05", "2020-01"]
    (bob2,) = q.top_companions(rg2, ada)
    assert (bob2.weight, bob2.last.isoformat()) == (3, "2020-01-02T00:00:00")
    store.close()


def test_relations_cli_reports_estimated_dates(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from faceatlas.cli.main import app

    _dated_catalog(tmp_path).close()
    runner = CliRunner()
    res = runner.invoke(app, ["relations", "timeline", "Ada", "--library", str(tmp_path),
                              "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["estimated_dates"] == 2 and not data["exact_dates"]
    assert sum(m["estimated_dates"] for m in data["months"]) == 2
    res = runner.invoke(app, ["relations", "top", "Ada", "--library", str(tmp_path),
                              "--exact-dates", "--json"])
    data = json.loads(res.stdout)
    assert data["estimated_dates_left_out"] == 2
    assert data["companions"][0]["weight"] == 3
    human = runner.invoke(app, ["relations", "timeline", "Ada", "--library", str(tmp_path)])
    assert human.exit_code == 0 and "dated only by file time" in human.stdout
