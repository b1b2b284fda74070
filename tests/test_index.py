"""Incremental indexing: skips, changes, moves, deletions, bad files, full disk, Ctrl-C,
vector index repair, the CLI, and SIGKILL at random moments."""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PIL.TiffImagePlugin import IFDRational

from faceatlas import FaceEngine
from faceatlas.library import Indexer, IndexSummary, Library, analysis, indexer
from faceatlas.library.analysis import FileResult
from faceatlas.library.vectors import index_file
from faceatlas.store import SQLiteStore

PORTRAIT_NAMES = ("person_a_1", "person_a_2", "person_b_1", "person_b_2", "impostor_1",
                  "impostor_2")


def make_photo(portraits: Path, dst: Path, seed: int, faces: int = 1,
               exif: bool = False) -> Path:
    """A synthetic photo: ``faces`` portraits (chosen by ``seed``) pasted on a plain
    background at random places."""
    rng = random.Random(seed)
    canvas = Image.new("RGB", (300 * faces + 60, 340), tuple(rng.randrange(40, 220)
                                                            for _ in range(3)))
    for i in range(faces):
        src = Image.open(portraits / f"{rng.choice(PORTRAIT_NAMES)}.jpg").convert("RGB")
        h = rng.randrange(230, 290)
        src = src.resize((int(src.width * h / src.height), h))
        canvas.paste(src, (i * 300 + rng.randrange(0, 40), rng.randrange(0, 340 - h)))
    dst.parent.mkdir(parents=True, exist_ok=True)
    kwargs = {}
    if exif:
        ex = Image.Exif()
        ex.get_ifd(0x8769)[36867] = "2019:05:01 10:00:00"
        ex.get_ifd(0x8825).update({1: "N", 2: tuple(IFDRational(v) for v in (48, 51, 30)),
                                   3: "W", 4: tuple(IFDRational(v) for v in (2, 21, 0))})
        kwargs["exif"] = ex
    canvas.save(dst, "JPEG", quality=90, **kwargs)
    return dst


@pytest.fixture()
def photos(tmp_path: Path, portraits: Path) -> Path:
    folder = tmp_path / "photos"
    for i in range(5):
        make_photo(portraits, folder / f"p{i}.jpg", i, faces=1 + (i == 4), exif=(i == 0))
    make_photo(portraits, folder / "sub" / "q.jpg", 99)
    return folder


def run_index(lib_dir: Path, paths: list[Path], engine: FaceEngine,
              **kw: object) -> IndexSummary:
    with Library.open(lib_dir) as lib:
        return Indexer(lib, workers=0, engine=engine, **kw).run(  # type: ignore[arg-type]
            [str(p) for p in paths])


def assert_consistent(lib_dir: Path) -> None:
    """Catalog passes its checks, and every model's vector index holds exactly the
    catalog's embeddings once opened."""
    with Library.open(lib_dir) as lib:
        assert lib.store.check() == []
        for model in lib.store.embedding_models():
            index = lib.vectors.get(model)
            assert index is not None
            assert np.array_equal(np.sort(index.ids()), lib.store.face_ids(model))


def test_first_run_then_unchanged_files_are_not_read(photos: Path, tmp_path: Path,
                                                     engine: FaceEngine,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    lib = tmp_path / "lib"
    first = run_index(lib, [photos], engine)
    assert (first.new, first.unchanged, first.errors) == (6, 0, [])
    assert first.faces == 7
    with Library.open(lib) as opened:
        rec = opened.store.image_by_path(str(photos / "p0.jpg"))
        assert rec is not None and rec.taken_at == "2019-05-01T10:00:00"
        assert rec.taken_at_source == "exif" and rec.album == "photos"
        assert rec.gps_lat == pytest.approx(48.8583, abs=1e-3)
        assert rec.gps_lon == pytest.approx(-2.35, abs=1e-3)
        other = opened.store.image_by_path(str(photos / "sub" / "q.jpg"))
        assert other is not None and other.taken_at_source == "mtime" and other.album == "sub"
        face = opened.store.faces_of_image(rec.id)[0]
        thumb = opened.store.thumbnail(face.id)
        assert thumb is not None and Image.open(io.BytesIO(thumb)).size == (64, 64)
    calls: list[str] = []
    monkeypatch.setattr(indexer, "analyze_file",
                        lambda *a, **k: calls.append(a[1]) or FileResult(a[1]))
    second = run_index(lib, [photos], engine)
    assert (second.new, second.changed, second.unchanged, second.deleted) == (0, 0, 6, 0)
    assert calls == []  # unchanged files are not even opened
    assert_consistent(lib)


def test_touched_file_is_hashed_but_not_decoded(photos: Path, tmp_path: Path,
                                                engine: FaceEngine,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    lib = tmp_path / "lib"
    run_index(lib, [photos], engine)
    os.utime(photos / "p1.jpg", ns=(10**18, 10**18))
    decoded: list[str] = []
    real = analysis.decode_image
    monkeypatch.setattr(analysis, "decode_image", lambda data, label, **kw: decoded.append(
        label) or real(data, label, **kw))
    summary = run_index(lib, [photos], engine)
    assert (summary.unchanged, summary.changed, summary.analysed) == (6, 0, 0)
    assert decoded == []
    with Library.open(lib) as opened:
        rec = opened.store.image_by_path(str(photos / "p1.jpg"))
        assert rec is not None and rec.mtime_ns == 10**18


def test_changed_moved_and_deleted_files(photos: Path, tmp_path: Path, portraits: Path,
                                         engine: FaceEngine) -> None:
    lib = tmp_path / "lib"
    run_index(lib, [photos], engine)
    with Library.open(lib) as opened:
        store = opened.store
        moved_before = store.image_by_path(str(photos / "p1.jpg"))
        deleted = store.image_by_path(str(photos / "p2.jpg"))
        assert moved_before is not None and deleted is not None
        moved_faces = [f.id for f in store.faces_of_image(moved_before.id)]
        deleted_faces = [f.id for f in store.faces_of_image(deleted.id)]
        person = store.create_person("Ada")
        store.assign_faces(moved_faces, person.id, "user", decision="assign")
    make_photo(portraits, photos / "p0.jpg", 1234, faces=2)          # changed content
    (photos / "albums" / "2020").mkdir(parents=True)
    os.rename(photos / "p1.jpg", photos / "albums" / "2020" / "renamed.jpg")  # moved
    os.remove(photos / "p2.jpg")                                      # deleted
    make_photo(portraits, photos / "new.jpg", 77)                     # new
    summary = run_index(lib, [photos], engine)
    assert (summary.new, summary.changed, summary.moved, summary.deleted,
            summary.unchanged) == (1, 1, 1, 1, 3)
    assert summary.analysed == 2  # the moved file was hashed, not analysed
    with Library.open(lib) as opened:
        store = opened.store
        moved = store.image_by_path(str(photos / "albums" / "2020" / "renamed.jpg"))
        assert moved is not None and moved.id == moved_before.id and moved.album == "2020"
        faces = store.faces_of_image(moved.id)
        assert [f.id for f in faces] == moved_faces
        assert all(f.person_id == person.id and f.assigned_by == "user" for f in faces)
        assert store.image_by_path(str(photos / "p1.jpg")) is None
        assert store.image_by_path(str(photos / "p2.jpg")) is None
        changed = store.image_by_path(str(photos / "p0.jpg"))
        assert changed is not None and changed.face_count == 2
        model = next(iter(store.embedding_models()))
        index = opened.vectors.get(model)
        assert index is not None
        assert not set(deleted_faces) & set(index.ids().tolist())
    assert_consistent(lib)


def test_moved_over_another_file_and_from_outside_the_scanned_folder(
        photos: Path, tmp_path: Path, engine: FaceEngine) -> None:
    lib = tmp_path / "lib"
    run_index(lib, [photos], engine)
    with Library.open(lib) as opened:
        kept = opened.store.image_by_path(str(photos / "p3.jpg"))
        outside = opened.store.image_by_path(str(photos / "sub" / "q.jpg"))
    assert kept is not None and outside is not None
    os.replace(photos / "p3.jpg", photos / "p4.jpg")                  # over an indexed file
    os.rename(photos / "sub" / "q.jpg", tmp_path / "elsewhere.jpg")   # out of photos/sub
    first = run_index(lib, [photos / "p4.jpg"], engine)
    assert (first.moved, first.new, first.deleted) == (1, 0, 0)
    second = run_index(lib, [tmp_path / "elsewhere.jpg"], engine)
    assert (second.moved, second.new) == (1, 0)
    with Library.open(lib) as opened:
        rec = opened.store.image_by_path(str(photos / "p4.jpg"))
        assert rec is not None and rec.id == kept.id
        rec2 = opened.store.image_by_path(str(tmp_path / "elsewhere.jpg"))
        assert rec2 is not None and rec2.id == outside.id
        assert opened.store.stats()["images"] == 5
    assert_consistent(lib)


def test_bad_files_are_recorded_and_the_run_goes_on(photos: Path, tmp_path: Path,
                                                    engine: FaceEngine,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    good = (photos / "p0.jpg").read_bytes()
    (photos / "truncated.jpg").write_bytes(good[: len(good) // 3])
    (photos / "notes.jpg").write_text("not a photo at all")
    (photos / "empty.png").write_bytes(b"")
    (photos / "denied.jpg").write_bytes(good)
    (photos / "growing.jpg").write_bytes(good)
    os.symlink("loop_b.jpg", photos / "loop_a.jpg")
    os.symlink("loop_a.jpg", photos / "loop_b.jpg")
    os.symlink("missing.jpg", photos / "broken.jpg")
    os.symlink("..", photos / "sub" / "up")  # folder link loop
    real_open = open

    def fake_open(path: str, mode: str = "r", *args: object, **kwargs: object) -> object:
        if path.endswith("denied.jpg"):
            raise PermissionError(errno.EACCES, "Permission denied", path)
        fh = real_open(path, mode, *args, **kwargs)  # type: ignore[call-overload]
        if path.endswith("growing.jpg"):
            with real_open(path, "ab") as more:
                more.write(b"appended while reading")
        return fh

    monkeypatch.setattr(analysis, "open", fake_open, raising=False)
    lib = tmp_path / "lib"
    summary = run_index(lib, [photos], engine)
    errors = {Path(e["path"]).name: e["error"] for e in summary.errors}
    assert summary.new == 6 and summary.analysed == 6
    assert "corrupt or truncated" in errors["truncated.jpg"]
    skipped = {Path(f["path"]).name: f["reason"] for f in summary.skipped_files}
    assert skipped == {"notes.jpg": "not_image", "empty.png": "empty"}
    assert summary.files_seen == 6 + 8 and summary.accounted() == summary.files_seen
    assert errors["denied.jpg"] == "permission denied"
    assert "changed while it was being read" in errors["growing.jpg"]
    assert errors["loop_a.jpg"] == errors["loop_b.jpg"] == "symbolic link loop"
    assert "no such file" in errors["broken.jpg"]
    assert len(errors) == 6
    with Library.open(lib) as opened:
        assert opened.store.image_by_path(str(photos / "notes.jpg")) is None  # not stored
        assert opened.store.stats()["error"] == 6
        assert opened.store.image_by_path(str(photos / "sub" / "up" / "p0.jpg")) is None
    # a photo indexed before that turns unreadable keeps what was stored
    (photos / "p1.jpg").write_bytes(b"garbage")
    again = run_index(lib, [photos], engine)
    assert any(e["path"].endswith("p1.jpg") for e in again.errors)
    with Library.open(lib) as opened:
        rec = opened.store.image_by_path(str(photos / "p1.jpg"))
        assert rec is not None and rec.status == "ok" and rec.face_count == 1
    assert_consistent(lib)


def test_disk_full_stops_cleanly_and_keeps_the_catalog(photos: Path, tmp_path: Path,
                                                       engine: FaceEngine) -> None:
    lib = tmp_path / "lib"
    run_index(lib, [photos / "p0.jpg"], engine)
    with Library.open(lib) as opened:
        assert isinstance(opened.store, SQLiteStore)
        conn = opened.store.connection
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages + 1}")  # ~ one more image fits
        summary = Indexer(opened, workers=0, engine=engine).run([str(photos)])
        assert summary.stopped is not None and "disk full" in summary.stopped
        assert summary.new < 5
        assert opened.store.check() == []
    assert_consistent(lib)
    resumed = run_index(lib, [photos], engine)
    assert resumed.stopped is None and resumed.new + summary.new == 5
    assert_consistent(lib)


def test_interrupt_keeps_committed_images_and_deletes_nothing(
        photos: Path, tmp_path: Path, engine: FaceEngine) -> None:
    lib = tmp_path / "lib"
    run_index(lib, [photos / "sub"], engine)
    os.remove(photos / "sub" / "q.jpg")

    def ctrl_c_after_three(items: Iterable[FileResult], total: int,
                           desc: str) -> Iterator[FileResult]:
        for i, item in enumerate(items):
            if i == 3:
                raise KeyboardInterrupt
            yield item

    summary = run_index(lib, [photos], engine, progress=ctrl_c_after_three)
    assert summary.interrupted and summary.new == 3 and summary.deleted == 0
    assert (summary.files_seen, summary.pending) == (5, 2)  # every file accounted for
    with Library.open(lib) as opened:
        assert opened.store.stats()["images"] == 4  # q.jpg is kept until a full run
    resumed = run_index(lib, [photos], engine)
    assert (resumed.new, resumed.unchanged, resumed.deleted) == (2, 3, 1)
    assert resumed.pending == 0 and resumed.accounted() == resumed.files_seen == 5
    assert_consistent(lib)


@pytest.mark.parametrize("damage", ["delete", "truncate", "stale"])
def test_vector_index_is_rebuilt_when_it_disagrees(photos: Path, tmp_path: Path,
                                                   engine: FaceEngine, damage: str) -> None:
    lib = tmp_path / "lib"
    run_index(lib, [photos], engine)
    path = index_file(lib / "index", engine.model_id)
    assert path.is_file()
    if damage == "delete":
        path.unlink()
    elif damage == "truncate":
        path.write_bytes(path.read_bytes()[:100])
    else:  # the catalog changes behind the index's back
        with Library.open(lib) as opened:
            rec = opened.store.image_by_path(str(photos / "p4.jpg"))
            assert rec is not None
            opened.store.delete_images([rec.id])
    with Library.open(lib) as opened:
        index = opened.vectors.get(engine.model_id)
        check = opened.vectors.checks[engine.model_id]
        assert check.rebuilt, check
        assert index is not None
        assert np.array_equal(np.sort(index.ids()), opened.store.face_ids(engine.model_id))
    with Library.open(lib) as opened:  # saved: the next opening finds it up to date
        opened.vectors.get(engine.model_id)
        assert not opened.vectors.checks[engine.model_id].rebuilt


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "faceatlas.cli.main", *args],
                          capture_output=True, text=True, timeout=300)


def test_cli_index_json_with_worker_processes(photos: Path, tmp_path: Path) -> None:
    lib = str(tmp_path / "lib")
    first = _cli("index", str(photos), "--library", lib, "--workers", "2", "--json")
    assert first.returncode == 0, first.stderr
    data = json.loads(first.stdout)
    assert (data["new"], data["faces"], data["errors"]) == (6, 7, 0)
    assert data["totals"]["faces"] == 7
    os.remove(photos / "p3.jpg")
    second = _cli("index", str(photos), "--library", lib, "--json")
    data = json.loads(second.stdout)
    assert (data["new"], data["unchanged"], data["deleted"]) == (0, 5, 1)
    missing = _cli("index", str(tmp_path / "nope"), "--library", lib)
    assert missing.returncode != 0 and "no such file or folder" in missing.stderr
    assert "Traceback" not in missing.stderr
    assert_consistent(Path(lib))


def _snapshot(lib_dir: Path) -> dict[str, tuple[str, int]]:
    with Library.open(lib_dir) as lib:
        return {r.path: (r.status, r.face_count) for r in lib.store.iter_images()}


#: The ``faceatlas index`` command alone (the full CLI imports every stage at start-up).
INDEX_COMMAND = "import typer; from faceatlas.cli.library import index; typer.run(index)"


def _wait_for_commit(db: Path, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """Return once another connection commits to ``db`` (or ``proc`` ends)."""
    conn = sqlite3.connect(db)
    try:
        first = conn.execute("PRAGMA data_version").fetchone()[0]
        end = time.monotonic() + timeout
        while proc.poll() is None and time.monotonic() < end:
            if conn.execute("PRAGMA data_version").fetchone()[0] != first:
                return
            time.sleep(0.02)
    finally:
        conn.close()


def test_sigkill_at_random_moments_never_corrupts_the_library(
        tmp_path: Path, portraits: Path, engine: FaceEngine) -> None:
    rng = random.Random(2024)
    folder, lib = tmp_path / "photos", tmp_path / "lib"
    for i in range(36):
        make_photo(portraits, folder / f"img{i:02d}.jpg", i, faces=1 + (i % 7 == 0))
    run_index(lib, sorted(folder.glob("img0*.jpg")), engine)  # ten photos, one with a person
    keeper = folder / "img01.jpg"
    with Library.open(lib) as opened:
        rec = opened.store.image_by_path(str(keeper))
        assert rec is not None
        person = opened.store.create_person("Kept")
        kept_faces = [f.id for f in opened.store.faces_of_image(rec.id)]
        opened.store.assign_faces(kept_faces, person.id, "user", decision="assign")
    keeper_now = keeper
    counter = 100
    killed_midway = 0
    before = _snapshot(lib)
    for it in range(15):
        if it:  # the folder changes between runs: new, changed, moved and deleted photos
            files = sorted(p for p in folder.rglob("*.jpg") if p != keeper_now)
            make_photo(portraits, folder / f"new{counter}.jpg", counter, faces=1 + it % 2)
            make_photo(portraits, rng.choice(files), counter + 1)
            victim = rng.choice(files)
            victim.unlink()
            files.remove(victim)
            target = folder / f"d{it}" / f"moved{it}.jpg"
            target.parent.mkdir()
            source = keeper_now if it in (1, 7) else rng.choice(files)
            os.rename(source, target)
            if source == keeper_now:
                keeper_now = target
            counter += 2
        proc = subprocess.Popen(
            [sys.executable, "-c", INDEX_COMMAND, str(folder), "--library", str(lib),
             "--workers", str(1 + it % 2), "--json"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        if it % 3 == 0:  # anywhere, start-up included
            time.sleep(rng.uniform(0.2, 3.0))
        else:  # in the middle of the writes
            _wait_for_commit(lib / "catalog.sqlite", proc)
            time.sleep(rng.uniform(0.0, 0.3))
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        assert_consistent(lib)  # integrity, faces + embeddings of every image, vectors
        after = _snapshot(lib)
        files = {str(p) for p in folder.rglob("*.jpg")}
        if after != before and set(after) != files:
            killed_midway += 1  # the kill landed after some commits and before the end
        before = after
    assert killed_midway >= 3, killed_midway
    final = run_index(lib, [folder], engine)
    assert final.stopped is None and not final.interrupted and final.errors == []
    assert_consistent(lib)
    clean = tmp_path / "clean"
    run_index(clean, [folder], engine)
    assert _snapshot(lib) == _snapshot(clean)  # nothing lost, nothing extra
    with Library.open(lib) as opened:
        rec = opened.store.image_by_path(str(keeper_now))
        assert rec is not None and keeper_now != keeper
        faces = opened.store.faces_of_image(rec.id)
        assert [f.id for f in faces] == kept_faces
        assert all(f.person_id == person.id for f in faces)
    shutil.rmtree(clean)
