"""People on a library: `faceatlas cluster` and every `faceatlas people` correction,
each checked to survive incremental and full re-clustering."""

from __future__ import annotations

import io
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from faceatlas.cli.main import app
from faceatlas.errors import ModelMismatchError, NotFoundError
from faceatlas.store import CatalogStore, ImageInfo, NewFace, open_store

MODEL = "synthetic@1"
runner = CliRunner()


def _unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v, axis=-1, keepdims=True)).astype(np.float32)


CENTRES = _unit(np.random.default_rng(11).standard_normal((3, 128)))   # people A, B, C


def _thumb(shade: int) -> bytes:
    ok, buf = cv2.imencode(".jpg", np.full((64, 64, 3), shade, np.uint8))
    assert ok
    return buf.tobytes()


class Lib:
    """A library folder filled with synthetic faces through the store interface."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.rng = np.random.default_rng(5)
        self.count = 0
        self.faces: dict[str, list[int]] = {"A": [], "B": [], "C": []}

    def store(self) -> CatalogStore:
        return open_store(self.root)

    def add(self, who: str, n: int = 1) -> list[int]:
        """Add ``n`` photos with one face of person ``who`` each; returns face ids."""
        centre = CENTRES["ABC".index(who)]
        store = self.store()
        ids = []
        try:
            for _ in range(n):
                self.count += 1
                path = str(self.root / "photos" / f"{who}_{self.count}.jpg")
                vec = _unit(centre + 0.05 * self.rng.standard_normal(128))
                face = NewFace(box=(0, 0, 64, 64), landmarks=np.zeros((5, 2), np.float32),
                               det_score=0.9, quality=0.9, thumbnail=_thumb(40 * self.count % 255),
                               model=MODEL, vector=vec)
                info = ImageInfo(path=path, folder=str(Path(path).parent), album="photos",
                                 content_hash=str(self.count), size=1, mtime_ns=1)
                ids += store.save_image(info, [face]).face_ids
        finally:
            store.close()
        self.faces[who] += ids
        return ids

    def run(self, *args: str) -> object:
        result = runner.invoke(app, [*args, "--library", str(self.root), "--json"])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    def person_of(self, face_id: int) -> int | None:
        store = self.store()
        try:
            face = store.get_face(face_id)
            assert face is not None
            return face.person_id
        finally:
            store.close()

    def people_of(self, who: str) -> set[int | None]:
        return {self.person_of(f) for f in self.faces[who]}

    def decisions(self) -> list[str]:
        store = self.store()
        try:
            return [d.kind for d in store.decisions()]
        finally:
            store.close()


@pytest.fixture()
def lib(tmp_path: Path) -> Lib:
    lib = Lib(tmp_path / "library")
    lib.add("A", 6)
    lib.add("B", 6)
    lib.add("C", 4)
    out = lib.run("cluster")
    assert out["people"] == 3 and len(out["new_people"]) == 3  # type: ignore[index]
    return lib


def _recluster(lib: Lib) -> None:
    lib.run("cluster")
    lib.run("cluster", "--full")
    lib.run("cluster", "--full", "--strictness", "0")
    lib.run("cluster", "--full", "--strictness", "1")


def test_cluster_groups_people_and_adds_new_faces(lib: Lib) -> None:
    groups = [lib.people_of(w) for w in "ABC"]
    assert all(len(g) == 1 and None not in g for g in groups)
    assert len(set.union(*groups)) == 3
    again = lib.run("cluster")
    assert again["changed"] == 0 and again["new_people"] == []  # type: ignore[index]
    new = lib.add("A", 2)
    out = lib.run("cluster")
    assert out["changed"] == 2 and out["new_people"] == []  # type: ignore[index]
    assert {lib.person_of(f) for f in new} == lib.people_of("A") - {None} | set()
    listing = lib.run("people")
    assert [p["faces"] for p in listing] == [8, 6, 4]  # type: ignore[index,union-attr]
    assert set(listing[0]) >= {"id", "name", "faces", "representative_face"}  # type: ignore[index]


def test_name_is_kept(lib: Lib) -> None:
    (pa,) = lib.people_of("A")
    out = lib.run("people", "name", str(pa), "Alice")
    assert out["name"] == "Alice" and out["fixed_faces"] == 6  # type: ignore[index]
    new = lib.add("A", 1)
    _recluster(lib)
    assert lib.people_of("A") == {pa} and lib.person_of(new[0]) == pa
    shown = lib.run("people", "show", "alice")
    assert shown["id"] == pa and shown["faces"] == 7  # type: ignore[index]
    assert len(shown["photos"]) == 7  # type: ignore[index,arg-type]
    assert "rename" in lib.decisions()


def test_move_is_kept(lib: Lib) -> None:
    (pa,) = lib.people_of("A")
    (pb,) = lib.people_of("B")
    moved = lib.faces["B"][0]
    lib.run("people", "move", str(moved), "--to", str(pa))
    _recluster(lib)
    assert lib.person_of(moved) == pa
    assert {lib.person_of(f) for f in lib.faces["B"][1:]} == {pb}
    assert "assign" in lib.decisions()


def test_merge_is_kept(lib: Lib) -> None:
    (pa,) = lib.people_of("A")
    (pb,) = lib.people_of("B")
    out = lib.run("people", "merge", str(pa), str(pb))
    assert out["faces"] == 12  # type: ignore[index]
    new_b = lib.add("B", 1)
    _recluster(lib)
    assert lib.people_of("A") == {pa} and lib.people_of("B") == {pa}
    assert lib.person_of(new_b[0]) == pa                  # B's new photos follow the merge
    assert "merge" in lib.decisions()
    assert all(p["id"] != pb for p in lib.run("people"))  # type: ignore[index,union-attr]


def test_split_is_kept(lib: Lib) -> None:
    (pa,) = lib.people_of("A")
    part = lib.faces["A"][:3]
    out = lib.run("people", "split", str(pa), *map(str, part), "--name", "Twin")
    new_id = out["new_person"]["id"]  # type: ignore[index]
    assert out["new_person"]["faces"] == 3 and out["person"]["faces"] == 3  # type: ignore[index]
    _recluster(lib)
    assert {lib.person_of(f) for f in part} == {new_id}
    assert {lib.person_of(f) for f in lib.faces["A"][3:]} == {pa}
    new = lib.add("A", 2)
    lib.run("cluster")
    assert {lib.person_of(f) for f in new} <= {pa, new_id}   # joins a side, no re-merge
    assert "split" in lib.decisions()


def test_not_this_person_is_kept(lib: Lib) -> None:
    (pa,) = lib.people_of("A")
    rejected = lib.faces["A"][0]
    out = lib.run("people", "not", str(pa), str(rejected))
    assert out["faces"] == 5 and lib.person_of(rejected) is None  # type: ignore[index]
    _recluster(lib)
    assert lib.person_of(rejected) != pa
    assert {lib.person_of(f) for f in lib.faces["A"][1:]} == {pa}
    assert "reject" in lib.decisions()
    # putting it back by hand is a later decision and wins
    lib.run("people", "move", str(rejected), "--to", str(pa))
    _recluster(lib)
    assert lib.person_of(rejected) == pa


def test_hide_is_kept(lib: Lib) -> None:
    (pc,) = lib.people_of("C")
    lib.run("people", "hide", str(pc))
    visible = lib.run("people")
    assert pc not in {p["id"] for p in visible}  # type: ignore[index,union-attr]
    assert pc in {p["id"] for p in lib.run("people", "--all")}  # type: ignore[index,union-attr]
    new = lib.add("C", 2)
    out = lib.run("cluster")
    assert out["new_people"] == []  # type: ignore[index]
    _recluster(lib)
    assert lib.people_of("C") == {pc} and {lib.person_of(f) for f in new} == {pc}
    assert len(lib.run("people")) == 2  # type: ignore[arg-type]
    assert "hide" in lib.decisions()


def test_contact_sheet(lib: Lib, tmp_path: Path) -> None:
    (pa,) = lib.people_of("A")
    out = lib.run("people", "sheet", str(pa), str(tmp_path / "a.png"), "--columns", "4")
    assert out["faces_drawn"] == 6  # type: ignore[index]
    with Image.open(tmp_path / "a.png") as img:
        assert img.format == "PNG" and img.size == (4 * 96, 2 * (96 + 14))


def test_user_mistakes_are_clean_errors(lib: Lib, tmp_path: Path) -> None:
    (pa,) = lib.people_of("A")
    for args, code in ((["people", "show", "Nobody"], NotFoundError.exit_code),
                       (["people", "split", str(pa), str(lib.faces["B"][0])], 1),
                       (["people", "move", "999999", "--to", str(pa)], NotFoundError.exit_code),
                       (["cluster", "--recognizer", "other@1"], ModelMismatchError.exit_code)):
        result = runner.invoke(app, [*args, "--library", str(lib.root)])
        assert result.exit_code == code, result.output
        assert "Traceback" not in result.output and "error" in result.output
    missing = runner.invoke(app, ["people", "--library", str(tmp_path / "none")])
    assert missing.exit_code == NotFoundError.exit_code and "no library" in missing.output


def test_same_photo_faces_are_never_one_person(tmp_path: Path) -> None:
    lib = Lib(tmp_path / "library")
    lib.add("A", 3)
    store = lib.store()
    try:
        vecs = _unit(CENTRES[0] + 0.05 * np.random.default_rng(9).standard_normal((2, 128)))
        faces = [NewFace(box=(0, 0, 9, 9), landmarks=np.zeros((5, 2), np.float32),
                         det_score=0.9, quality=0.9, model=MODEL, vector=v) for v in vecs]
        path = str(tmp_path / "library" / "photos" / "group.jpg")
        two = store.save_image(ImageInfo(path=path, folder=str(Path(path).parent),
                                         album="photos", content_hash="g", size=1,
                                         mtime_ns=1), faces).face_ids
    finally:
        store.close()
    lib.run("cluster", "--min-faces", "1")
    assert lib.person_of(two[0]) != lib.person_of(two[1])


def test_sample_portraits_end_to_end(portraits: Path, tmp_path: Path) -> None:
    library = tmp_path / "portraits"
    indexed = runner.invoke(app, ["index", str(portraits), "--library", str(library),
                                  "--workers", "1", "--json"])
    assert indexed.exit_code == 0, indexed.output
    result = runner.invoke(app, ["cluster", "--library", str(library), "--json"])
    assert result.exit_code == 0, result.output
    listing = json.loads(runner.invoke(app, ["people", "--library", str(library),
                                             "--json"]).stdout)
    groups = []
    for person in listing:
        shown = json.loads(runner.invoke(app, ["people", "show", str(person["id"]),
                                               "--library", str(library), "--json"]).stdout)
        groups.append(sorted(Path(p).stem for p in shown["photos"]))
    assert sorted(groups) == [["person_a_1", "person_a_2"], ["person_b_1", "person_b_2"]]
    sheet = runner.invoke(app, ["people", "sheet", str(listing[0]["id"]),
                                str(tmp_path / "s.png"), "--library", str(library)])
    assert sheet.exit_code == 0, sheet.output
    assert Image.open(io.BytesIO((tmp_path / "s.png").read_bytes())).size[0] > 0


def _look(base: np.ndarray, cos: float, seed: int) -> np.ndarray:
    """A unit vector at cosine ``cos`` from ``base``."""
    other = _unit(np.random.default_rng(seed).standard_normal(128))
    other = _unit(other - (other @ base) * base)
    return _unit(cos * base + np.sqrt(1 - cos**2) * other)


def _add_vectors(lib: Lib, who: str, vectors: np.ndarray, quality: float = 0.9) -> list[int]:
    store = lib.store()
    ids: list[int] = []
    try:
        for vec in vectors:
            lib.count += 1
            path = str(lib.root / "photos" / f"{who}_{lib.count}.jpg")
            face = NewFace(box=(0, 0, 64, 64), landmarks=np.zeros((5, 2), np.float32),
                           det_score=0.9, quality=quality, thumbnail=_thumb(lib.count % 255),
                           model=MODEL, vector=_unit(vec))
            info = ImageInfo(path=path, folder=str(Path(path).parent), album="photos",
                             content_hash=str(lib.count), size=1, mtime_ns=1)
            ids += store.save_image(info, [face]).face_ids
    finally:
        store.close()
    lib.faces.setdefault(who, []).extend(ids)
    return ids


@pytest.fixture()
def two_looks(lib: Lib) -> tuple[Lib, int, int]:
    """Library A, B, C plus person D photographed with two looks (cosine 0.36 between
    the looks: clustering keeps them apart as two people)."""
    young = _unit(np.random.default_rng(21).standard_normal(128))
    old = _look(young, 0.36, 22)
    noise = 0.03 * np.random.default_rng(23).standard_normal((12, 128))
    _add_vectors(lib, "D1", young + noise[:6])
    _add_vectors(lib, "D2", old + noise[6:])
    lib.run("cluster")
    (d1,) = lib.people_of("D1")
    (d2,) = lib.people_of("D2")
    assert d1 is not None and d2 is not None and d1 != d2
    return lib, d1, d2


def test_suggest_lists_the_split_person_first(two_looks: tuple[Lib, int, int],
                                              tmp_path: Path) -> None:
    lib, d1, d2 = two_looks
    out = lib.run("people", "suggest", "--sheet", str(tmp_path / "s.png"))
    rows = out["suggestions"]  # type: ignore[index]
    assert {rows[0]["person"], rows[0]["other"]} == {d1, d2}
    assert set(rows[0]) == {"person", "other", "name", "other_name", "similarity",
                            "margin", "faces", "other_faces"}
    assert 0.3 < rows[0]["similarity"] < 0.4 and rows[0]["faces"] == 6
    assert all(r["margin"] < rows[0]["margin"] for r in rows[1:])
    assert len(lib.run("people", "suggest", "--limit", "1")["suggestions"]) == 1  # type: ignore[index,arg-type]
    with Image.open(tmp_path / "s.png") as img:
        assert img.format == "PNG" and img.size[1] == len(rows) * (96 + 16)


def test_suggest_yes_merges(two_looks: tuple[Lib, int, int]) -> None:
    lib, d1, d2 = two_looks
    out = lib.run("people", "suggest", "--yes", str(d1), str(d2))
    assert out["answer"] == "yes" and out["faces"] == 12  # type: ignore[index]
    _recluster(lib)
    assert lib.people_of("D1") == lib.people_of("D2") == {d1}
    rows = lib.run("people", "suggest")["suggestions"]  # type: ignore[index]
    assert all(d2 not in (r["person"], r["other"]) for r in rows)  # type: ignore[index]


def test_suggest_no_is_never_suggested_again_and_survives_reclustering(
        two_looks: tuple[Lib, int, int], tmp_path: Path) -> None:
    lib, d1, d2 = two_looks
    # the loosest full re-cluster merges the two looks when nobody said otherwise
    probe = Lib(tmp_path / "probe")
    probe_out = None
    for who in ("D1", "D2"):
        store = lib.store()
        try:
            vecs = np.vstack([v for _, v in store.embeddings(MODEL, lib.faces[who])][0])
        finally:
            store.close()
        _add_vectors(probe, who, vecs)
    probe_out = probe.run("cluster", "--strictness", "0")
    assert probe_out is not None and len(probe.people_of("D1") | probe.people_of("D2")) == 1
    out = lib.run("people", "suggest", "--no", str(d1), str(d2))
    assert out == {"answer": "no", "person": d1, "other": d2}
    assert "differ" in lib.decisions()
    rows = lib.run("people", "suggest")["suggestions"]  # type: ignore[index]
    assert all({r["person"], r["other"]} != {d1, d2} for r in rows)  # type: ignore[index]
    _recluster(lib)
    assert lib.people_of("D1") == {d1} and lib.people_of("D2") == {d2}
    rows = lib.run("people", "suggest")["suggestions"]  # type: ignore[index]
    assert all({r["person"], r["other"]} != {d1, d2} for r in rows)  # type: ignore[index]


def test_suggest_mistakes_are_clean_errors(two_looks: tuple[Lib, int, int]) -> None:
    lib, d1, _ = two_looks
    for args in (["--yes", str(d1)], ["--yes", str(d1), str(d1)], ["--no", str(d1), "Nobody"],
                 [str(d1), "2"], ["--yes", "--no", "1", "2"]):
        result = runner.invoke(app, ["people", "suggest", *args, "--library", str(lib.root)])
        # a usage mistake exits 1, a person that does not exist 3 (NotFoundError)
        assert result.exit_code == (3 if "Nobody" in args else 1), result.output
        assert "Traceback" not in result.output and "error" in result.output


def test_unassigned_lists_faces_with_their_candidate(lib: Lib, tmp_path: Path) -> None:
    (pa,) = lib.people_of("A")
    # a blurry photo of A: too poor to link, not close enough to attach
    vague = _look(CENTRES[0], 0.45, 31)
    (face,) = _add_vectors(lib, "A?", vague[None], quality=0.05)
    lib.run("cluster")
    assert lib.person_of(face) is None
    out = lib.run("people", "unassigned", "--sheet", str(tmp_path / "u.png"))
    (row,) = out["faces"]  # type: ignore[index]
    assert row["face_id"] == face and row["candidate"] == pa
    assert 0.35 < row["similarity"] < 0.45 and row["would_attach"] is False
    assert row["runner_up"] in set(lib.people_of("B") | lib.people_of("C"))
    assert set(row) == {"face_id", "image_id", "quality", "candidate", "candidate_name",
                        "similarity", "runner_up", "runner_up_similarity", "would_attach"}
    assert (tmp_path / "u.png").exists()
    lib.run("people", "move", str(face), "--to", str(pa))
    assert lib.run("people", "unassigned")["faces"] == []  # type: ignore[index]


def test_listing_everyone_reads_the_catalog_once_not_per_person(lib: Lib) -> None:
    """`list_people` gives every person the entry `summarize` gives them (user-fixed faces
    first as the representative, hidden people only on request, a named person without
    faces kept, an unnamed one left out), without reading faces person by person."""
    from faceatlas.cluster import people as ops

    (pb,) = lib.people_of("B")
    (pc,) = lib.people_of("C")
    moved = lib.faces["B"][0]
    lib.run("people", "move", str(moved), "--to", str(pc))   # C: one user-fixed face
    lib.run("people", "hide", str(pb))
    store = lib.store()
    try:
        store.create_person("Nobody yet")
        store.create_person(None)
        every = [ops.summarize(store, p) for p in store.people()]
        expected = sorted((s for s in every if s.faces or s.name), key=lambda s: (-s.faces, s.id))
        calls: list[int] = []
        per_person = store.person_faces
        store.person_faces = lambda pid: calls.append(pid) or per_person(pid)  # type: ignore[method-assign]
        listed = ops.list_people(store, include_hidden=True)
        visible = ops.list_people(store)
    finally:
        store.close()
    assert calls == []
    assert listed == expected and len(listed) == 4
    assert [s.faces for s in listed] == [6, 5, 5, 0] and listed[-1].name == "Nobody yet"
    c = next(s for s in listed if s.id == pc)
    assert c.representative_face == moved and c.fixed_faces == 1
    assert visible == [s for s in listed if s.id != pb]
