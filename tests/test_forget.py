"""Forget (right to erasure): a person, a face, a photo — nothing of theirs left in any
file of the library, other people intact, a receipt without biometric data."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from privacy_helpers import face_data, needles, traces
from typer.testing import CliRunner

from faceatlas import FaceEngine
from faceatlas.cli.main import app
from faceatlas.library import Indexer, Library
from faceatlas.library.recognize import identify, search
from faceatlas.privacy.erasure import execute
from faceatlas.privacy.forget import plan_forget_person
from faceatlas.store import SQLiteStore

runner = CliRunner()


def _a_faces(photos: Path, lib: Path) -> dict[int, tuple[bytes, bytes]]:
    """Every face of Person A: their two portraits and the left half of group.jpg."""
    return face_data(lib, [photos / "person_a_1.jpg", photos / "person_a_2.jpg",
                           photos / "group.jpg"], left_only=photos / "group.jpg")


def _dump(lib: Path) -> list[str]:
    conn = sqlite3.connect(lib / "catalog.sqlite")
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def test_forget_person_leaves_no_byte_of_their_faces(base: tuple[Path, Path], lib: Path,
                                                     portraits: Path,
                                                     engine: FaceEngine) -> None:
    photos = base[0]
    theirs = _a_faces(photos, lib)
    others = face_data(lib, [photos / "person_b_1.jpg", photos / "person_b_2.jpg",
                             photos / "impostor_1.jpg"])
    assert len(theirs) == 3 and len(others) == 3
    wanted = needles(theirs)
    # The scan sees every piece of their data before (so it can fail)...
    assert {i for _, i in traces(lib, wanted)} == set(range(len(wanted)))
    with Library.open(lib) as opened:
        before = opened.store.stats()
        receipt = execute(opened, plan_forget_person(opened, "Person A"))
        after = opened.store.stats()
        assert opened.store.person_by_name("Person A") is None
        assert opened.store.check() == []
        # (1) their own photos match nothing of theirs
        res = identify(opened, engine, portraits / "person_a_2.jpg")
        assert [f.decision for f in res.faces] == ["unknown"]
        assert all(m.person != "Person A" for f in res.faces for m in f.matches)
        found = search(opened, engine, portraits / "person_a_1.jpg")
        assert found.photos == []
        # (3) the others are intact and still identified
        assert [f.decision for f in identify(opened, engine,
                                             portraits / "person_b_2.jpg").faces] == ["Person B"]
        for fid in others:
            assert opened.store.get_face(fid) is not None
        # their photos stay, with the other faces
        group = opened.store.image_by_path(str(photos / "group.jpg"))
        assert group is not None and group.face_count == 1
        assert opened.store.image_by_path(str(photos / "person_a_1.jpg")) is not None
    # (2) ...and none of it after, in any file (catalog, journal, indexes, receipts)
    assert traces(lib, wanted) == []
    assert {i for _, i in traces(lib, needles(others))} == set(range(len(needles(others))))
    assert not (lib / "catalog.sqlite-wal").exists() or \
        (lib / "catalog.sqlite-wal").stat().st_size == 0
    assert after["faces"] == before["faces"] - 3 and after["people"] == before["people"] - 1
    assert after["images"] == before["images"]
    # (4) the receipt: what, when, counts, and no biometric data
    assert receipt.path is not None and receipt.path.parent == lib / "receipts"
    saved = json.loads(receipt.path.read_text())
    assert saved["action"] == "forget-person"
    assert saved["target"] == {"person_id": 1, "name": "Person A"}
    assert saved["utc"].endswith("Z")
    removed = saved["removed"]
    assert (removed["faces"], removed["embeddings"], removed["thumbnails"],
            removed["index_entries"], removed["people"]) == (3, 3, 3, 3, 1)
    assert removed["matched_unlinked_faces"] == 2 and saved["kept"] == {"photos": 3}
    assert saved["storage"]["wal_truncated"] is True
    _assert_no_biometrics(saved)


def _assert_no_biometrics(obj: object) -> None:
    """No vector-like list and no key naming biometric data anywhere in a receipt."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            assert not any(w in key for w in ("vector", "thumbnail_bytes", "landmark", "box"))
            _assert_no_biometrics(value)
    elif isinstance(obj, list):
        assert not any(isinstance(v, float) for v in obj)
        for v in obj:
            _assert_no_biometrics(v)


def test_cli_forget_person_json_and_receipt_file(base: tuple[Path, Path], lib: Path) -> None:
    theirs = _a_faces(base[0], lib)
    out = runner.invoke(app, ["forget", "Person A", "--library", str(lib), "--yes", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["removed"]["faces"] == 3 and data["target"]["name"] == "Person A"
    receipt = Path(data["path"])
    assert receipt.is_file() and json.loads(receipt.read_text())["id"] == data["id"]
    raw = receipt.read_bytes() + out.stdout.encode()
    assert not any(n in raw for n in needles(theirs))
    for vec, _ in theirs.values():  # not even as printed numbers
        first = float(np.frombuffer(vec, np.float32)[0])
        assert f"{first:.6f}" not in raw.decode()


def test_forget_linked_only_keeps_unlinked_faces(lib: Path) -> None:
    out = runner.invoke(app, ["forget", "1", "--linked-only", "--library", str(lib), "--yes",
                              "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["removed"]["faces"] == 1
    with SQLiteStore(lib / "catalog.sqlite") as store:
        assert store.stats()["faces"] == 7


def test_forget_one_face(base: tuple[Path, Path], lib: Path) -> None:
    photos = base[0]
    data = face_data(lib, [photos / "group.jpg"])
    left = _a_faces(photos, lib)
    [fid] = [f for f in data if f in left]
    [other] = [f for f in data if f != fid]
    out = runner.invoke(app, ["forget", "--face", str(fid), "--library", str(lib), "--yes",
                              "--json"])
    assert out.exit_code == 0, out.output
    receipt = json.loads(out.stdout)
    assert receipt["target"] == {"face_ids": [fid]}
    assert receipt["removed"]["faces"] == 1 and receipt["removed"]["index_entries"] == 1
    with SQLiteStore(lib / "catalog.sqlite") as store:
        assert store.get_face(fid) is None and store.get_face(other) is not None
        rec = store.image_by_path(str(photos / "group.jpg"))
        assert rec is not None and rec.face_count == 1 and store.check() == []
        assert store.person_by_name("Person A") is not None  # the person stays
    assert traces(lib, needles({fid: data[fid]})) == []
    assert traces(lib, needles({other: data[other]}))


def test_forget_photo(base: tuple[Path, Path], lib: Path, engine: FaceEngine) -> None:
    photos = base[0]
    data = face_data(lib, [photos / "group.jpg"])
    out = runner.invoke(app, ["forget", "--photo", str(photos / "group.jpg"), "--library",
                              str(lib), "--yes", "--json"])
    assert out.exit_code == 0, out.output
    receipt = json.loads(out.stdout)
    assert receipt["action"] == "forget-photo" and receipt["removed"]["images"] == 1
    assert receipt["removed"]["faces"] == 2 and receipt["removed"]["embeddings"] == 2
    with Library.open(lib) as opened:
        assert opened.store.image_by_path(str(photos / "group.jpg")) is None
        assert opened.store.check() == []
        assert len(opened.vectors.get(next(iter(opened.store.embedding_models())))
                   or []) == 6
    assert traces(lib, needles(data)) == []
    assert (photos / "group.jpg").is_file()  # the user's file is never touched
    # the next index run finds the file again (forget is not an opt-out)
    with Library.open(lib) as opened:
        summary = Indexer(opened, workers=0, engine=engine).run([str(photos)])
        assert summary.new == 1 and summary.faces == 2


@pytest.mark.parametrize("args", [["Nobody"], ["99"], ["--face", "999"],
                                  ["--photo", "/no/such/photo.jpg"], [],
                                  ["Person A", "--face", "1"]])
def test_bad_targets_change_nothing(lib: Path, args: list[str]) -> None:
    before = _dump(lib)
    out = runner.invoke(app, ["forget", *args, "--library", str(lib), "--yes"])
    assert out.exit_code != 0
    assert "Traceback" not in out.output and out.output.startswith("error:")
    assert len(out.output.strip().splitlines()) <= 2  # one line (soft-wrapped at most once)
    assert _dump(lib) == before
    assert not (lib / "receipts").exists()


def test_confirmation_declined_changes_nothing(lib: Path) -> None:
    before = _dump(lib)
    out = runner.invoke(app, ["forget", "Person A", "--library", str(lib)], input="n\n")
    assert out.exit_code != 0 and "nothing was erased" in out.output
    assert _dump(lib) == before
    out = runner.invoke(app, ["forget", "Person A", "--library", str(lib)], input="y\n")
    assert out.exit_code == 0, out.output
    assert _dump(lib) != before


def test_missing_library_is_an_error(tmp_path: Path) -> None:
    out = runner.invoke(app, ["forget", "Person A", "--library", str(tmp_path / "none"),
                              "--yes"])
    assert out.exit_code != 0 and "no library" in out.output
