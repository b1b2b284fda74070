"""Relations end to end on composed group photos with known ground truth: the sample
portraits are pasted into group pictures, run through the real engine, assigned to the
nearest reference face, stored in a catalog, and the relation graph is checked."""

from __future__ import annotations

import csv
import importlib.util
import json
from datetime import datetime
from pathlib import Path

import cv2
import networkx as nx
import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from faceatlas import FaceEngine
from faceatlas.cli.main import app
from faceatlas.relations import Occurrence, RelationGraph, UnknownPersonError
from faceatlas.relations import queries as q
from faceatlas.relations.catalog import CatalogOccurrences
from faceatlas.relations.export import write_edges_csv, write_graphml
from faceatlas.store import ImageInfo, NewFace, SQLiteStore
from faceatlas.types import Face

# identity -> reference portrait; pasted portraits of one identity may differ from it
REFERENCE = {"Ann": "person_a_1", "Bob": "person_b_1", "Cid": "impostor_1",
             "Dee": "impostor_2"}
PORTRAIT_OF = {"person_a_1": "Ann", "person_a_2": "Ann", "person_b_1": "Bob",
               "person_b_2": "Bob", "impostor_1": "Cid", "impostor_2": "Dee"}
#: Published cosine threshold of SFace (OpenCV model zoo) for "same person".
SFACE_SAME = 0.363

# photo -> (date, [(portrait, height px, x, y)])
GROUPS: dict[int, tuple[datetime, list[tuple[str, int, int, int]]]] = {
    1: (datetime(2021, 3, 5, 10), [("person_a_2", 300, 20, 40), ("person_b_1", 260, 320, 300),
                                   ("impostor_1", 340, 620, 60)]),
    2: (datetime(2021, 3, 20, 18), [("person_a_1", 220, 60, 200), ("person_b_2", 330, 420, 20)]),
    3: (datetime(2021, 5, 1, 9), [("person_b_1", 200, 100, 100), ("impostor_1", 280, 500, 250)]),
    4: (datetime(2021, 9, 9, 12), [("impostor_1", 260, 80, 300), ("impostor_2", 320, 700, 40)]),
    5: (datetime(2021, 8, 14, 15), [("person_b_2", 240, 900, 120), ("person_a_2", 360, 150, 60)]),
}
ADDED = (6, datetime(2022, 1, 2, 11), [("impostor_2", 250, 40, 80), ("person_a_1", 260, 600,
                                                                      250)])


def compose(items: list[tuple[str, int, int, int]], portraits: Path) -> np.ndarray:
    canvas = Image.new("RGB", (1300, 700), (200, 205, 210))
    for name, h, x, y in items:
        im = Image.open(portraits / f"{name}.jpg").convert("RGB")
        canvas.paste(im.resize((round(im.width * h / im.height), h)), (x, y))
    return np.asarray(canvas)[:, :, ::-1].copy()


class Library:
    """Composed photos in a catalog, faces assigned to the nearest reference."""

    def __init__(self, engine: FaceEngine, portraits: Path, root: Path) -> None:
        self.engine, self.portraits, self.root = engine, portraits, root
        self.store = SQLiteStore(root / "catalog.sqlite")
        self.refs = {n: engine.face(portraits / f"{p}.jpg") for n, p in REFERENCE.items()}
        self.pid = {n: self.store.create_person(n).id for n in REFERENCE}
        self.photo_of: dict[int, int] = {}  # composed photo number -> catalog image id
        self.faces_of: dict[int, dict[str, int]] = {}  # photo number -> name -> face id

    def identify(self, face: Face) -> str:
        sims = {n: face.embedding.similarity(r.embedding) for n, r in self.refs.items()}
        best = max(sims, key=lambda n: sims[n])
        assert sims[best] >= SFACE_SAME, sims
        return best

    def add(self, number: int, when: datetime, items: list[tuple[str, int, int, int]]) -> None:
        bgr = compose(items, self.portraits)
        path = self.root / f"group_{number}.jpg"
        cv2.imwrite(str(path), bgr)
        faces = self.engine.analyze(bgr)
        names = [self.identify(f) for f in faces]
        assert sorted(names) == sorted(PORTRAIT_OF[p] for p, *_ in items)  # ground truth
        new = [NewFace(box=f.box, landmarks=f.detection.landmarks, det_score=f.detection.score,
                       quality=f.quality.score, model=f.embedding.model,
                       vector=f.embedding.vector, thumbnail=_thumb(bgr, f)) for f in faces]
        st = path.stat()
        saved = self.store.save_image(ImageInfo(
            path=str(path), folder=str(self.root), album=self.root.name, content_hash=None,
            size=st.st_size, mtime_ns=st.st_mtime_ns, width=bgr.shape[1], height=bgr.shape[0],
            taken_at=when.isoformat(timespec="seconds"), taken_at_source="exif"), new)
        self.photo_of[number] = saved.image_id
        self.faces_of[number] = {}
        for name, fid in zip(names, saved.face_ids, strict=True):
            self.store.assign_faces([fid], self.pid[name], by="user")
            self.faces_of[number][name] = fid

    def graph(self) -> RelationGraph:
        return RelationGraph.from_occurrences(CatalogOccurrences(self.store).occurrences())


def _thumb(bgr: np.ndarray, face: Face) -> bytes:
    x, y, w, h = (int(round(v)) for v in face.box)
    crop = cv2.resize(bgr[max(y, 0):y + h, max(x, 0):x + w], (64, 64))
    return bytes(cv2.imencode(".jpg", crop)[1])


@pytest.fixture(scope="module")
def library(engine: FaceEngine, portraits: Path,
            tmp_path_factory: pytest.TempPathFactory) -> Library:
    lib = Library(engine, portraits, tmp_path_factory.mktemp("groups"))
    for number, (when, items) in GROUPS.items():
        lib.add(number, when, items)
    return lib


def edges_by_name(lib: Library, rg: RelationGraph) -> dict[tuple[str, str], tuple[int, ...]]:
    name = {v: k for k, v in lib.pid.items()}
    photo = {v: k for k, v in lib.photo_of.items()}
    out = {}
    for a, b in rg.graph.edges():
        na, nb = sorted((name[a], name[b]))
        out[(na, nb)] = tuple(sorted(photo[p] for p in q.photos_together(rg, (a, b))))
    return out


def test_edges_and_weights_match_ground_truth(library: Library) -> None:
    rg = library.graph()
    assert edges_by_name(library, rg) == {("Ann", "Bob"): (1, 2, 5), ("Ann", "Cid"): (1,),
                                          ("Bob", "Cid"): (1, 3), ("Cid", "Dee"): (4,)}
    ann, bob = library.pid["Ann"], library.pid["Bob"]
    assert rg.graph[ann][bob] == {"weight": 3, "first": GROUPS[1][0], "last": GROUPS[5][0]}
    assert dict(rg.graph.nodes(data="photos")) == {
        library.pid["Ann"]: 3, library.pid["Bob"]: 4, library.pid["Cid"]: 3,
        library.pid["Dee"]: 1}


def test_queries_on_group_photos(library: Library) -> None:
    rg = library.graph()
    p, ph = library.pid, library.photo_of
    assert [(c.person, c.weight) for c in q.top_companions(rg, p["Bob"])] == [
        (p["Ann"], 3), (p["Cid"], 2)]
    assert q.photos_together(rg, (p["Ann"], p["Bob"])) == [ph[1], ph[2], ph[5]]
    assert q.photos_together(rg, (p["Ann"], p["Bob"]), without=[p["Cid"]]) == [ph[2], ph[5]]
    found = q.shortest_chain(rg, p["Ann"], p["Dee"])
    assert found is not None
    assert found.people == [p["Ann"], p["Cid"], p["Dee"]]
    assert [h.photos for h in found.hops] == [[ph[1]], [ph[4]]]
    months = q.timeline(rg, p["Ann"])
    assert [(m.month, m.photos, m.with_people) for m in months] == [
        ("2021-03", 2, [(p["Bob"], 2), (p["Cid"], 1)]), ("2021-08", 1, [(p["Bob"], 1)])]
    groups = q.communities(rg, seed=3, min_size=1)
    assert sorted(x for g in groups for x in g) == sorted(p.values())
    assert groups == q.communities(rg, seed=3, min_size=1)


def test_unknown_person_is_a_clean_error(library: Library) -> None:
    with pytest.raises(UnknownPersonError, match="appears in no photo"):
        q.top_companions(library.graph(), 99_999)


def test_exports_round_trip(library: Library, tmp_path: Path) -> None:
    rg = library.graph()
    names = CatalogOccurrences(library.store).person_names()
    back = nx.read_graphml(write_graphml(rg, tmp_path / "g.graphml", names), node_type=int)
    assert sorted(back.edges()) == sorted(tuple(sorted(e)) for e in rg.graph.edges())
    for a, b, d in rg.graph.edges(data=True):
        assert back[a][b]["weight"] == d["weight"]
        assert back[a][b]["first"] == d["first"].isoformat(timespec="seconds")
    assert {back.nodes[n]["name"] for n in back} <= set(REFERENCE)
    with open(write_edges_csv(rg, tmp_path / "e.csv"), newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["a", "b", "weight", "first", "last"]
    assert len(rows) == rg.graph.number_of_edges() + 1
    assert sum(int(r[2]) for r in rows[1:]) == sum(w for *_, w in rg.graph.edges(data="weight"))


def test_render_uses_catalog_thumbnails(library: Library, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")  # the [plots] extra, installed by .ci/run
    from faceatlas.relations.render import draw_graph

    source = CatalogOccurrences(library.store)
    rg = library.graph()
    assert all(source.thumbnail(p) is not None for p in rg.people())
    png = draw_graph(rg, tmp_path / "g.png", source.person_names(), source.thumbnail)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    ego = draw_graph(rg, tmp_path / "ego.png", {}, None, person=library.pid["Bob"])
    assert cv2.imread(str(ego)) is not None


def test_one_read_gives_the_graph_of_the_per_person_faces(library: Library) -> None:
    """The occurrences read in one query equal those built face by face through the
    store's per-person interface."""
    store = library.store
    expected = []
    for person in store.people():
        if person.hidden:
            continue
        for face in store.person_faces(person.id):
            img = store.get_image(face.image_id)
            assert img is not None and img.taken_at is not None
            expected.append(Occurrence(face.image_id, person.id,
                                       datetime.fromisoformat(img.taken_at).replace(tzinfo=None)))
    source = CatalogOccurrences(store)
    assert RelationGraph.from_occurrences(iter(expected)) == library.graph()
    assert sorted(source.occurrences(), key=lambda o: (o.photo_id, o.person_id)) == \
        sorted(expected, key=lambda o: (o.photo_id, o.person_id))
    assert sorted(source.person_names().values()) == sorted(REFERENCE)


def test_cli_reads_the_catalog(library: Library) -> None:
    res = CliRunner().invoke(app, ["relations", "top", "ann", "--library", str(library.root),
                                   "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert [(c["name"], c["weight"]) for c in out["companions"]] == [("Bob", 3), ("Cid", 1)]
    res = CliRunner().invoke(app, ["relations", "together", "Ann", "Bob", "--without", "Cid",
                                   "--library", str(library.root), "--json"])
    paths = [r["path"] for r in json.loads(res.stdout)["photos"]]
    assert [Path(x).name for x in paths] == ["group_2.jpg", "group_5.jpg"]


def test_cli_on_csv_occurrences(tmp_path: Path) -> None:
    occ = [Occurrence(1, 1, datetime(2020, 1, 1)), Occurrence(1, 2, datetime(2020, 1, 1)),
           Occurrence(2, 1, datetime(2020, 2, 1)), Occurrence(2, 2, datetime(2020, 2, 1)),
           Occurrence(2, 3, datetime(2020, 2, 1)), Occurrence(3, 3, datetime(2020, 3, 1)),
           Occurrence(3, 4, datetime(2020, 3, 1))]
    path = tmp_path / "occ.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["photo_id", "person_id", "taken_at", "person_name"])
        for o in occ:
            w.writerow([o.photo_id, o.person_id, o.taken_at.isoformat(), f"P{o.person_id}"])
    runner = CliRunner()

    def run(*args: str) -> dict:
        res = runner.invoke(app, ["relations", *args, "--occurrences", str(path), "--json"])
        assert res.exit_code == 0, res.output
        return json.loads(res.stdout)

    assert [c["person"] for c in run("top", "P1")["companions"]] == [2, 3]
    assert [r["photo"] for r in run("together", "1", "2", "--without", "P3")["photos"]] == [1]
    assert run("chain", "P1", "P4")["chain"]["people"] == [1, 3, 4]
    assert run("timeline", "3")["months"][0] == {"month": "2020-02", "photos": 1,
                                                 "estimated_dates": 0, "with": [
        {"person": 1, "photos": 1}, {"person": 2, "photos": 1}]}
    assert sorted(x for c in run("communities")["communities"] for x in c["members"]) == [
        1, 2, 3, 4]
    out = run("export", "--csv", str(tmp_path / "e.csv"))
    assert out["edges"] == 4
    if importlib.util.find_spec("matplotlib") is not None:
        drawn = run("draw", str(tmp_path / "g.png"), "--person", "P3")
        assert drawn["people"] == 4 and drawn["thumbnails"] == 0
        assert (tmp_path / "g.png").read_bytes()[:4] == b"\x89PNG"
    else:  # without the [plots] extra: a clear message
        res = runner.invoke(app, ["relations", "draw", str(tmp_path / "g.png"),
                                  "--occurrences", str(path)])
        assert res.exit_code == 1 and "faceatlas[plots]" in res.stderr
    bad = runner.invoke(app, ["relations", "top", "Nobody", "--occurrences", str(path)])
    assert bad.exit_code != 0 and "no person named" in bad.output
    assert "Traceback" not in bad.output


def test_incremental_updates_follow_the_catalog(library: Library) -> None:
    """Runs last: it changes the shared library."""
    rg = library.graph()
    p = library.pid
    # a photo is added (indexed, identified): Ann and Dee now share a photo
    number, when, items = ADDED
    library.add(number, when, items)
    rg.add_photo(library.photo_of[number], [p["Dee"], p["Ann"]], when)
    assert rg == library.graph()
    assert rg.graph[p["Ann"]][p["Dee"]]["weight"] == 1
    chain = q.shortest_chain(rg, p["Ann"], p["Dee"])
    assert chain is not None and chain.people == [p["Ann"], p["Dee"]]
    # a face is moved: Bob's face in photo 3 was really Dee
    image3 = library.photo_of[3]
    library.store.assign_faces([library.faces_of[3]["Bob"]], p["Dee"], by="user")
    rg.move_face(image3, p["Bob"], p["Dee"])
    assert rg == library.graph()
    assert rg.graph[p["Bob"]][p["Cid"]]["weight"] == 1
    assert rg.graph[p["Cid"]][p["Dee"]]["weight"] == 2
    # a merge: Dee is declared to be Cid
    for face in library.store.person_faces(p["Dee"]):
        library.store.assign_faces([face.id], p["Cid"], by="user")
    rg.merge(p["Cid"], p["Dee"])
    assert rg == library.graph()
    assert p["Dee"] not in rg
    assert rg.graph[p["Ann"]][p["Cid"]]["weight"] == 2  # photos 1 and 6
    # forget Bob: his faces are unlinked, his node and edges disappear
    for face in library.store.person_faces(p["Bob"]):
        library.store.assign_faces([face.id], None, by="user")
    rg.forget(p["Bob"])
    assert rg == library.graph()
    assert p["Bob"] not in rg.graph
    assert sorted(rg.graph.edges()) == [(p["Ann"], p["Cid"])]
    # hidden people are left out of the catalog view
    library.store.update_person(p["Cid"], hidden=True)
    hidden = RelationGraph.from_occurrences(CatalogOccurrences(library.store).occurrences())
    assert hidden.people() == [p["Ann"]]
    shown = CatalogOccurrences(library.store, include_hidden=True)
    assert RelationGraph.from_occurrences(shown.occurrences()) == rg
    library.store.update_person(p["Cid"], hidden=False)


def test_service_graph_is_kept_until_people_or_photos_change(lib: Path) -> None:
    """The library's relation graph is built once and reused, and rebuilt when a person
    changes or a photo's file time (its date when it has no EXIF date) changes."""
    from faceatlas.app import relations as rel
    from faceatlas.library import Library as Catalog

    with Catalog.open(lib, create=False) as opened:
        first = rel.from_library(opened)
        assert rel.from_library(opened) is first
        person = opened.store.people()[0]
        opened.store.update_person(person.id, name="Renamed")
        second = rel.from_library(opened)
        assert second is not first and "Renamed" in second[0].person_names().values()
        assert rel.from_library(opened) is second
        img = next(opened.store.iter_images())
        info = ImageInfo(path=img.path, folder=img.folder, album=img.album,
                         content_hash=img.content_hash, size=img.size,
                         mtime_ns=img.mtime_ns + 86_400 * 10**9, width=img.width,
                         height=img.height, taken_at=img.taken_at,
                         taken_at_source=img.taken_at_source, status=img.status)
        opened.store.relocate_image(img.id, info)
        assert rel.from_library(opened) is not second
