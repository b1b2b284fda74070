"""Forget (right to erasure): a person, a face, a photo — nothing of theirs left in any
file of the library, other people intact, a receipt without biometric data."""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from privacy_helpers import compose, copy_library, face_data, needles, traces
from typer.testing import CliRunner

from faceatlas import FaceEngine
from faceatlas.cli.main import app
from faceatlas.cluster.templates import person_templates
from faceatlas.library import Indexer, Library
from faceatlas.library.recognize import enroll, identify, search
from faceatlas.privacy.erasure import execute, sweep_faces
from faceatlas.privacy.forget import plan_forget_person
from faceatlas.store import ImageInfo, NewFace, SQLiteStore

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


# -- exact, complete forget on a library of known identities ---------------------------
def _augment(src: Path, dst: Path, flip: bool = False, gain: float = 1.0) -> None:
    img = cv2.imread(str(src))
    assert img is not None
    if flip:
        img = cv2.flip(img, 1)
    img = cv2.convertScaleAbs(img, alpha=gain, beta=0)
    cv2.imwrite(str(dst), img, [cv2.IMWRITE_JPEG_QUALITY, 90])


@pytest.fixture(scope="module")
def known(tmp_path_factory: pytest.TempPathFactory, portraits: Path,
          engine: FaceEngine) -> tuple[Path, dict[str, int]]:
    """A library where every face's identity is known. Person A (enrolled from a_1) also
    sits in an automatic person (a_2 and a brighter copy), unassigned (the left face of
    group.jpg) and once user-linked to Person B (a mirrored copy of a_1, a user's
    mistake that forget must respect); a stranger forms another automatic person
    (impostor_1 and a copy); Person B (enrolled from b_1) and the rest are unassigned."""
    root = tmp_path_factory.mktemp("known")
    photos = root / "photos"
    photos.mkdir()
    for p in sorted(portraits.glob("*.jpg")):
        shutil.copy(p, photos / p.name)
    _augment(portraits / "person_a_2.jpg", photos / "a2_bright.jpg", gain=1.25)
    _augment(portraits / "person_a_1.jpg", photos / "a1_mirror.jpg", flip=True)
    _augment(portraits / "impostor_1.jpg", photos / "i1_mirror.jpg", flip=True, gain=0.9)
    compose(portraits / "person_a_2.jpg", portraits / "impostor_2.jpg", photos / "group.jpg")
    lib = root / "lib"
    faces: dict[str, int] = {}
    with Library.open(lib) as opened:
        summary = Indexer(opened, workers=0, engine=engine).run([str(photos)])
        assert summary.faces == 11, summary
        store = opened.store
        for path in sorted(photos.iterdir()):
            rec = store.image_by_path(str(path))
            assert rec is not None
            for f in store.faces_of_image(rec.id):
                side = "" if path.stem != "group" else \
                    ("_left" if f.box[0] < (rec.width or 0) / 2 else "_right")
                faces[path.stem + side] = f.id
        for who, photo in (("Person A", "person_a_1"), ("Person B", "person_b_1")):
            _, outcomes = enroll(opened, who, [photos / f"{photo}.jpg"], engine)
            assert [o.status for o in outcomes] == ["enrolled"]
        a_auto = store.create_person(None)
        store.assign_faces([faces["person_a_2"], faces["a2_bright"]], a_auto.id, "auto")
        stranger = store.create_person(None)
        store.assign_faces([faces["impostor_1"], faces["i1_mirror"]], stranger.id, "auto")
        b = store.person_by_name("Person B")
        assert b is not None
        store.assign_faces([faces["a1_mirror"]], b.id, "user", decision="assign")
        faces["#auto_a"], faces["#stranger"] = a_auto.id, stranger.id
    return lib, faces


def test_forget_removes_every_face_of_theirs_and_nothing_else(
        known: tuple[Path, dict[str, int]], tmp_path: Path) -> None:
    lib = copy_library(known[0], tmp_path / "lib")
    faces = known[1]
    theirs = {faces[k] for k in ("person_a_1", "person_a_2", "a2_bright", "group_left")}
    others = {v for k, v in faces.items() if not k.startswith("#")} - theirs
    assert faces["a1_mirror"] in others  # linked by a user to Person B: it stays
    with Library.open(lib) as opened:
        plan = plan_forget_person(opened, "Person A")
        assert plan.sources == {"linked": 1, f"automatic person #{faces['#auto_a']}": 2,
                                "unassigned": 1}
        assert set(plan.erasure.face_ids) == theirs
        receipt = execute(opened, plan)
        store = opened.store
        left = set(store.face_ids(next(iter(store.embedding_models()))).tolist())
        assert left == others  # nothing of theirs left, nothing of anyone else lost
        assert store.get_face(faces["a1_mirror"]).person_id == \
            store.person_by_name("Person B").id  # type: ignore[union-attr]
        assert {f.id for f in store.person_faces(faces["#stranger"])} == \
            {faces["impostor_1"], faces["i1_mirror"]}
        assert store.person_faces(faces["#auto_a"]) == []
    saved = json.loads(receipt.path.read_text())  # type: ignore[union-attr]
    assert saved["erased_face_ids"] == sorted(theirs)
    assert saved["sources"] == plan.sources
    _assert_no_biometrics(saved)


def test_forget_stranger_cluster_takes_nobody_else(known: tuple[Path, dict[str, int]],
                                                   tmp_path: Path) -> None:
    lib = copy_library(known[0], tmp_path / "lib")
    faces = known[1]
    with Library.open(lib) as opened:
        plan = plan_forget_person(opened, str(faces["#stranger"]))
    # impostor_2 (alone and in group.jpg) is a different person from impostor_1
    assert set(plan.erasure.face_ids) == {faces["impostor_1"], faces["i1_mirror"]}
    assert plan.sources == {"linked": 2}


def test_forget_dry_run_and_prompt_show_what_goes(known: tuple[Path, dict[str, int]],
                                                  tmp_path: Path) -> None:
    lib = copy_library(known[0], tmp_path / "lib")
    faces = known[1]
    before = _dump(lib)
    sheet = tmp_path / "goes.png"
    out = runner.invoke(app, ["forget", "Person A", "--dry-run", "--json", "--sheet",
                              str(sheet), "--library", str(lib)])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["dry_run"] is True and data["sheet"] == str(sheet)
    assert data["sources"] == {"linked": 1, f"automatic person #{faces['#auto_a']}": 2,
                               "unassigned": 1}
    assert len(data["face_ids"]) == 4
    with Image.open(sheet) as img:
        assert img.format == "PNG" and img.width == 4 * 96
    assert _dump(lib) == before and not (lib / "receipts").exists()
    plain = runner.invoke(app, ["forget", "Person A", "--dry-run", "--library", str(lib)])
    assert plain.exit_code == 0 and "unassigned: 1" in plain.output
    tmp_sheet = Path(plain.output.split("contact sheet: ")[1].split()[0])
    assert tmp_sheet.is_file() and not tmp_sheet.is_relative_to(lib)
    tmp_sheet.unlink()
    declined = runner.invoke(app, ["forget", "Person A", "--library", str(lib)], input="n\n")
    assert declined.exit_code != 0 and "nothing was erased" in declined.output
    assert f"automatic person #{faces['#auto_a']}: 2" in declined.output
    prompt_sheet = Path(declined.output.split("contact sheet of the faces: ")[1].split()[0])
    assert not prompt_sheet.exists()  # a temporary sheet does not outlive the prompt
    assert _dump(lib) == before


@contextlib.contextmanager
def _synthetic_store(tmp_path: Path, vectors: dict[str, np.ndarray], model: str
                     ) -> Iterator[tuple[SQLiteStore, dict[str, int]]]:
    """A catalog with one photo and one face (of these embeddings) per key."""
    with SQLiteStore(tmp_path / "catalog.sqlite") as store:
        ids: dict[str, int] = {}
        for i, (key, vec) in enumerate(vectors.items()):
            info = ImageInfo(path=f"/photos/{key}.jpg", folder="/photos", album="photos",
                             content_hash=f"{i:064x}", size=1, mtime_ns=1)
            face = NewFace(box=(0, 0, 100, 100), landmarks=np.zeros((5, 2), np.float32),
                           det_score=0.9, quality=0.9, model=model, vector=vec)
            ids[key] = store.save_image(info, [face]).face_ids[0]
        yield store, ids


def test_sweep_keeps_faces_closer_to_someone_else(tmp_path: Path) -> None:
    """Synthetic embeddings: a face that matches P but is closer to Q (named) stays; a
    face of a stranger's automatic person stays when the rest of that person is closer."""
    rng = np.random.default_rng(0)
    axes = np.linalg.qr(rng.normal(size=(128, 6)))[0].T.astype(np.float32)

    def unit(v: np.ndarray) -> np.ndarray:
        return (v / np.linalg.norm(v)).astype(np.float32)

    p, q, s = axes[0], axes[1], axes[2]
    vectors = {
        "p1": p, "p2": unit(p + 0.2 * axes[3]),             # P, user-linked
        "q1": q, "q2": unit(q + 0.2 * axes[4]),             # Q, user-linked
        "mine": unit(p + 0.3 * axes[5]),                    # unassigned, P's
        "between": unit(0.8 * p + 1.0 * q),                 # matches P, closer to Q
        "s1": s, "s2": unit(s + 0.1 * axes[3]), "s3": unit(s + 0.1 * axes[4]),
        "s_edge": unit(0.75 * p + 1.0 * s),                 # in S, matches P, closer to S
    }
    model = "sface@synthetic"
    with _synthetic_store(tmp_path, vectors, model) as (store, ids):
        person_p, person_q = store.create_person("P"), store.create_person("Q")
        stranger = store.create_person(None)
        store.assign_faces([ids["p1"], ids["p2"]], person_p.id, "user")
        store.assign_faces([ids["q1"], ids["q2"]], person_q.id, "user")
        store.assign_faces([ids[k] for k in ("s1", "s2", "s3", "s_edge")], stranger.id,
                           "auto")
        [template] = person_templates(store, model, [person_p.id]).values()
        assert template.similarity(vectors["between"])[0] > 0.6
        assert template.similarity(vectors["s_edge"])[0] > 0.55
        found = sweep_faces(store, {model: template}, person_p.id)
    assert found.faces == {"unassigned": [ids["mine"]]}
    assert found.thresholds[model].gallery_size == 3


def test_sweep_follows_a_one_photo_person_into_their_unnamed_cluster(tmp_path: Path) -> None:
    """P enrolled from one photo; an automatic person holds 8 more photos of P whose look
    drifts away from it (the last ones alone would not match the one photo): all go, the
    stranger's automatic person and the named Q stay."""
    axes = np.linalg.qr(np.random.default_rng(2).normal(size=(128, 6)))[0].T.astype(
        np.float32)
    p, drift, s, q = axes[0], axes[1], axes[2], axes[3]
    angles = np.radians(np.arange(10, 90, 10))
    vectors = {"enrol": p, "q": q,
               **{f"a{k}": (np.cos(a) * p + np.sin(a) * drift).astype(np.float32)
                  for k, a in enumerate(angles)},
               **{f"s{k}": (s * 0.95 + axes[4 + k % 2] * 0.31).astype(np.float32)
                  for k in range(3)}}
    model = "sface@synthetic"
    with _synthetic_store(tmp_path, vectors, model) as (store, ids):
        person_p, person_q = store.create_person("P"), store.create_person("Q")
        store.assign_faces([ids["enrol"]], person_p.id, "user")
        store.assign_faces([ids["q"]], person_q.id, "user")
        cluster, stranger = store.create_person(None), store.create_person(None)
        store.assign_faces([ids[f"a{k}"] for k in range(8)], cluster.id, "auto")
        store.assign_faces([ids[f"s{k}"] for k in range(3)], stranger.id, "auto")
        [template] = person_templates(store, model, [person_p.id]).values()
        t = sweep_faces(store, {model: template}, person_p.id, rounds=1)
        found = sweep_faces(store, {model: template}, person_p.id)
    threshold = found.thresholds[model].value
    assert float(vectors["a7"] @ p) < threshold  # the far look alone would not match
    assert found.faces == {f"automatic person #{cluster.id}": sorted(
        ids[f"a{k}"] for k in range(8))}
    assert set(t.face_ids) < set(found.face_ids)  # one round is not enough
