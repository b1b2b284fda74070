"""The browsing endpoints of the web app (faceatlas.service.browse_api) on the sample
library: a photo's faces, suggestion and unassigned cards, naming a face, search by
upload for every face, a person's neighbourhood, the index roots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient  # noqa: E402
from privacy_helpers import copy_library  # noqa: E402

from faceatlas.app.keys import create_key  # noqa: E402
from faceatlas.library import Library  # noqa: E402
from faceatlas.service.api import create_app  # noqa: E402
from faceatlas.service.state import ServiceConfig  # noqa: E402


class Browse:
    """A TestClient on a copy of the sample library; ``photos`` maps file names to ids."""

    def __init__(self, lib: Path, photos: Path) -> None:
        with Library.open(lib, create=False) as opened:
            self.keys = {s: create_key(opened.store, s, s)["key"]
                         for s in ("read", "write")}
            self.photos = {Path(r.path).name: r.id for r in opened.store.iter_images()}
        self.root = photos
        self.client = TestClient(create_app(ServiceConfig(library=lib, roots=[photos])))

    def call(self, method: str, path: str, scope: str = "write", status: int = 200,
             **kw: Any) -> Any:
        res = self.client.request(method, "/api/v1" + path, headers={
            "Authorization": f"Bearer {self.keys[scope]}"}, **kw)
        assert res.status_code == status, res.text
        return res.json()

    def faces_of(self, name: str) -> list[dict[str, Any]]:
        faces: list[dict[str, Any]] = self.call(
            "GET", f"/photos/{self.photos[name]}/faces", "read")["faces"]
        return faces

    def person(self, name: str) -> int:
        [row] = [p for p in self.call("GET", "/people", "read") if p["name"] == name]
        return int(row["id"])


@pytest.fixture
def web(base: tuple[Path, Path], tmp_path: Path) -> Browse:
    return Browse(copy_library(base[1], tmp_path / "lib"), base[0])


def test_photo_faces_give_boxes_people_and_size(web: Browse) -> None:
    photo = web.call("GET", f"/photos/{web.photos['group.jpg']}/faces", "read")
    assert photo["file"] == "group.jpg" and photo["width"] > photo["height"] == 480
    left, right = photo["faces"]
    assert left["box"][0] < right["box"][0] < photo["width"]
    assert left["person"] is None and left["name"] is None
    [a1] = web.faces_of("person_a_1.jpg")
    assert a1["name"] == "Person A" and a1["person"] == web.person("Person A")
    x, y, w, h = a1["box"]
    assert w > 32 and h > 32 and x >= 0 and y >= 0
    assert web.call("GET", "/photos/99999/faces", "read", 404)["error"]["type"] \
        == "NotFoundError"


def test_unassigned_cards_and_assign_by_name(web: Browse) -> None:
    cards = web.call("GET", "/browse/unassigned?limit=2", "read")
    assert cards["total"] == 6 and len(cards["faces"]) == 2
    everyone = web.call("GET", "/browse/unassigned", "read")["faces"]
    [a2] = web.faces_of("person_a_2.jpg")
    [card] = [c for c in everyone if c["face_id"] == a2["id"]]
    pa = web.person("Person A")
    assert card["candidate"] == pa and card["candidate_name"] == "Person A"
    [a1] = web.faces_of("person_a_1.jpg")
    assert card["candidate_faces"] == [a1["id"]]
    # a new name creates the person, an existing name (any case) joins them
    [imp] = web.faces_of("impostor_1.jpg")
    made = web.call("POST", f"/faces/{imp['id']}/assign", json={"name": " Stranger "})
    assert made["created"] and made["name"] == "Stranger" and made["faces"] == 1
    joined = web.call("POST", f"/faces/{a2['id']}/assign", json={"name": "person a"})
    assert not joined["created"] and joined["id"] == pa and joined["faces"] == 2
    assert web.faces_of("person_a_2.jpg")[0]["person"] == pa
    assert web.call("GET", "/browse/unassigned", "read")["total"] == 4
    web.call("POST", f"/faces/{a2['id']}/assign", "read", 403, json={"name": "X"})
    web.call("POST", "/faces/99999/assign", "write", 404, json={"name": "Nobody"})
    assert all(p["name"] != "Nobody" for p in web.call("GET", "/people", "read"))


def test_suggestion_cards_show_both_people_and_yes_merges(web: Browse) -> None:
    [a2] = web.faces_of("person_a_2.jpg")
    left = web.faces_of("group.jpg")[0]
    other = web.call("POST", f"/faces/{a2['id']}/assign", json={"name": "Second A"})["id"]
    web.call("POST", f"/faces/{left['id']}/move", json={"to": other})
    pa = web.person("Person A")
    cards = web.call("GET", "/browse/suggestions?faces=1", "read")["suggestions"]
    [card] = [c for c in cards if {c["person"], c["other"]} == {pa, other}]
    mine = {pa: card["faces_a"], other: card["faces_b"]} if card["person"] == pa \
        else {pa: card["faces_b"], other: card["faces_a"]}
    assert mine[pa] == [web.faces_of("person_a_1.jpg")[0]["id"]]
    assert len(mine[other]) == 1 and mine[other][0] in (a2["id"], left["id"])
    kept = web.call("POST", "/people/suggestions/answer",
                    json={"a": card["person"], "b": card["other"], "same": True})
    assert kept["answer"] == "yes" and kept["faces"] == 3 and kept["id"] in (pa, other)
    gone = other if kept["id"] == pa else pa
    assert web.call("GET", f"/people/{gone}", "read")["faces"] == 0
    assert not web.call("GET", "/browse/suggestions", "read")["suggestions"]


def test_search_by_upload_answers_every_face(web: Browse) -> None:
    group = web.root / "group.jpg"
    res = web.call("POST", "/search/faces", "read", files={
        "image": ("my group.jpg", group.read_bytes(), "image/jpeg")})
    assert res["image"] == "my group.jpg" and len(res["faces"]) == 2
    left, right = res["faces"]
    assert left["box"][0] < right["box"][0]
    assert left["identity"]["decision"] == "Person A"
    assert left["identity"]["matches"][0]["person_id"] == web.person("Person A")
    found = {p["photo"] for p in left["photos"]}
    assert {web.photos["group.jpg"], web.photos["person_a_1.jpg"]} <= found
    assert web.photos["person_b_1.jpg"] not in found
    assert web.photos["group.jpg"] in {p["photo"] for p in right["photos"]}
    assert right["identity"]["decision"] == "unknown"
    for name in ("Person A", "Person B"):  # nobody left to recognise: photos still found
        pid = web.person(name)
        web.call("POST", f"/people/{pid}/not",
                 json={"faces": web.call("GET", f"/people/{pid}", "read")["face_ids"]})
    res = web.call("POST", "/search/faces", "read", files={
        "image": ("g.jpg", group.read_bytes(), "image/jpeg")})
    assert "nobody" in res["note"] and [f["identity"] for f in res["faces"]] == [None, None]
    assert web.photos["group.jpg"] in {p["photo"] for p in res["faces"][0]["photos"]}
    blank = web.call("POST", "/search/faces", "read", 400, files={
        "image": ("x.jpg", b"not an image", "image/jpeg")})
    assert "x.jpg" in blank["error"]["message"]


def test_neighbourhood_holds_who_appears_together(web: Browse) -> None:
    left, right = web.faces_of("group.jpg")
    pa = web.person("Person A")
    web.call("POST", f"/faces/{left['id']}/move", json={"to": pa})
    friend = web.call("POST", f"/faces/{right['id']}/assign", json={"name": "Friend"})["id"]
    graph = web.call("GET", f"/relations/neighbourhood?person=%23{pa}", "read")
    assert graph["person"] == pa
    nodes = {n["id"]: n for n in graph["nodes"]}
    assert set(nodes) == {pa, friend} and nodes[pa]["center"] and nodes[pa]["photos"] == 2
    assert nodes[friend]["name"] == "Friend" and nodes[friend]["face"] == right["id"]
    assert graph["edges"] == [{"a": min(pa, friend), "b": max(pa, friend), "weight": 1}]
    alone = web.call("GET", "/relations/neighbourhood?person=Person%20B", "read")
    assert [n["name"] for n in alone["nodes"]] == ["Person B"] and alone["edges"] == []
    web.call("GET", "/relations/neighbourhood?person=Nobody", "read", 404)


def test_roots_need_write(web: Browse) -> None:
    assert web.call("GET", "/roots")["roots"] == [str(web.root.resolve())]
    web.call("GET", "/roots", "read", 403)
