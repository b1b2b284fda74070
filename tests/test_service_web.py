"""What the browser app needs from the service: session login/logout by cookie (never the
key in it), revocation ending sessions, CSRF refusal, people and person-face pages with
their totals, and the app's static files at / and /static."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient  # noqa: E402
from privacy_helpers import copy_library  # noqa: E402
from test_service import Service  # noqa: E402

from faceatlas.service.sessions import COOKIE, Sessions  # noqa: E402

CSRF = {"X-FaceAtlas-CSRF": "1"}


@pytest.fixture
def svc(base: tuple[Path, Path], tmp_path: Path) -> Service:
    return Service(copy_library(base[1], tmp_path / "lib"), base[0])


def browser(svc: Service) -> TestClient:
    """A client that keeps cookies like a browser (https: the cookie is Secure)."""
    return TestClient(svc.app, base_url="https://testserver")


def test_login_sets_a_secure_cookie_without_the_key(svc: Service) -> None:
    web = browser(svc)
    res = web.post("/api/v1/session", json={"key": svc.keys["write"]})
    assert res.status_code == 200 and res.json() == {"name": "write", "scope": "write"}
    header = res.headers["set-cookie"]
    assert header.startswith(COOKIE + "=")
    for flag in ("HttpOnly", "Secure", "SameSite=strict", "Path=/"):
        assert flag.lower() in header.lower(), header
    token = web.cookies[COOKIE]
    assert svc.keys["write"] not in header and len(token) >= 40
    assert res.headers["cache-control"] == "no-store"
    who = web.get("/api/v1/session")
    assert who.json() == {"name": "write", "scope": "write", "via": "cookie"}
    # the cookie authenticates reads, and writes that carry the CSRF header
    assert web.get("/api/v1/people").status_code == 200
    pid = web.get("/api/v1/people").json()[0]["id"]
    assert web.patch(f"/api/v1/people/{pid}", json={"name": "Zed"}, headers=CSRF) \
        .json()["name"] == "Zed"
    # audited under the key's name, as a bearer call would be
    log = svc.call("GET", "/audit", "admin").json()
    assert ("write", f"PATCH /api/v1/people/{pid}") in [(e["actor"], e["action"]) for e in log]
    # the scope of the key holds: a write key cannot forget
    assert web.delete(f"/api/v1/people/{pid}?dry_run=true", headers=CSRF).status_code == 403
    # a bearer key still works alongside, and says so
    assert svc.call("GET", "/session", "read").json()["via"] == "bearer"


def test_a_wrong_key_is_refused_and_sets_no_cookie(svc: Service) -> None:
    web = browser(svc)
    for key in ("fa_" + "x" * 43, svc.keys["revoked"], "nonsense"):
        res = web.post("/api/v1/session", json={"key": key})
        assert res.status_code == 401 and res.json()["error"]["type"] == "Unauthorized"
        assert "set-cookie" not in res.headers
    assert web.post("/api/v1/session", json={}).status_code == 422
    assert web.get("/api/v1/session").status_code == 401
    assert web.get("/api/v1/people").status_code == 401
    # a made-up cookie is no session
    res = browser(svc).get("/api/v1/people", headers={"Cookie": f"{COOKIE}={'x' * 43}"})
    assert res.status_code == 401 and "log in again" in res.json()["error"]["message"]


def test_cookie_writes_without_the_csrf_header_are_refused(svc: Service) -> None:
    web = browser(svc)
    web.post("/api/v1/session", json={"key": svc.keys["admin"]})
    pid = web.get("/api/v1/people").json()[0]["id"]
    for method, path, body in (("PATCH", f"/api/v1/people/{pid}", {"name": "Eve"}),
                               ("POST", f"/api/v1/people/{pid}/merge", {"others": [pid]}),
                               ("DELETE", f"/api/v1/people/{pid}", None),
                               ("POST", "/api/v1/keys", {"name": "x", "scope": "admin"}),
                               ("DELETE", "/api/v1/session", None)):
        res = web.request(method, path, json=body)
        assert res.status_code == 403, (method, path, res.text)
        assert "X-FaceAtlas-CSRF" in res.json()["error"]["message"]
        wrong = web.request(method, path, json=body, headers={"X-FaceAtlas-CSRF": "0"})
        assert wrong.status_code == 403
    # nothing happened: the person is still there, unnamed as before
    assert web.get(f"/api/v1/people/{pid}").json()["faces"] > 0
    assert web.get("/api/v1/session").status_code == 200
    # a bearer key needs no CSRF header (no browser sends it on its own)
    assert svc.call("PATCH", f"/people/{pid}", "write", json={"name": "Eve"}).status_code == 200


def test_logout_and_revocation_end_sessions(svc: Service) -> None:
    a, b = browser(svc), browser(svc)
    assert a.post("/api/v1/session", json={"key": svc.keys["read"]}).status_code == 200
    assert b.post("/api/v1/session", json={"key": svc.keys["read"]}).status_code == 200
    old = a.cookies[COOKIE]
    out = a.delete("/api/v1/session", headers=CSRF)
    assert out.status_code == 204 and COOKIE not in a.cookies
    assert a.get("/api/v1/session").status_code == 401
    # the old token is dead server-side, even if a copy of the cookie survived
    copy = browser(svc).get("/api/v1/people", headers={"Cookie": f"{COOKIE}={old}"})
    assert copy.status_code == 401
    assert b.get("/api/v1/people").status_code == 200
    # revoking the key (over the API) ends the other browser's session at once
    assert svc.call("DELETE", "/keys/read", "admin").status_code == 200
    res = b.get("/api/v1/people")
    assert res.status_code == 401
    assert b.post("/api/v1/session", json={"key": svc.keys["read"]}).status_code == 401


def test_sessions_expire_and_keep_only_a_digest() -> None:
    from faceatlas.store.base import ApiKey

    key = ApiKey(id=1, name="k", scope="read", prefix="fa_xxxxxxxx", key_hash="h")
    sessions = Sessions(idle_timeout=0.0)
    token = sessions.create(key)
    assert token not in repr(sessions.__dict__)
    assert sessions.get(token) is None and len(sessions) == 0  # idle at once: ended
    live = Sessions()
    t1, t2 = live.create(key), live.create(key)
    assert t1 != t2 and live.get(t1) is not None
    assert live.end_key(1) == 2 and live.get(t2) is None


def test_people_pages_have_totals(svc: Service) -> None:
    everyone = svc.call("GET", "/people", "read")
    assert everyone.status_code == 200
    rows = everyone.json()
    total = int(everyone.headers["X-Total-Count"])
    assert total == len(rows) >= 2
    assert [r["faces"] for r in rows] == sorted((r["faces"] for r in rows), reverse=True)
    first = svc.call("GET", "/people?limit=1", "read")
    assert first.json() == rows[:1] and int(first.headers["X-Total-Count"]) == total
    rest = svc.call("GET", "/people?limit=1&offset=1", "read").json()
    assert rest == rows[1:2]
    assert svc.call("GET", f"/people?offset={total}", "read").json() == []
    assert svc.call("GET", "/people?limit=0", "read").status_code == 422
    # a name filter, counted as such
    pid = rows[-1]["id"]
    svc.call("PATCH", f"/people/{pid}", "write", json={"name": "Ada Lovelace"})
    found = svc.call("GET", "/people?q=LOVE&limit=5", "read")
    assert [r["id"] for r in found.json()] == [pid] and found.headers["X-Total-Count"] == "1"
    assert [r["id"] for r in svc.call("GET", f"/people?q=%23{pid}", "read").json()] == [pid]
    assert svc.call("GET", "/people?q=nobody-has-this", "read").json() == []
    # hidden people leave the list and the total, unless all=true
    svc.call("PATCH", f"/people/{rows[0]['id']}", "write", json={"hidden": True})
    shown = svc.call("GET", "/people?limit=50", "read")
    assert int(shown.headers["X-Total-Count"]) == total - 1
    assert rows[0]["id"] not in [r["id"] for r in shown.json()]
    assert int(svc.call("GET", "/people?all=true&limit=1", "read")
               .headers["X-Total-Count"]) == total


def test_person_faces_and_photos_in_pages(svc: Service) -> None:
    pid = svc.call("GET", "/people", "read").json()[0]["id"]
    shown = svc.call("GET", f"/people/{pid}", "read").json()
    page = svc.call("GET", f"/people/{pid}/faces?limit=1", "read")
    assert page.status_code == 200
    data = page.json()
    assert data["total"] == shown["faces"] == len(shown["face_ids"])
    assert int(page.headers["X-Total-Count"]) == data["total"]
    assert [f["id"] for f in data["faces"]] == shown["face_ids"][:1]
    everything = svc.call("GET", f"/people/{pid}/faces?limit=1000", "read").json()
    assert [f["id"] for f in everything["faces"]] == shown["face_ids"]
    assert {f["image_id"] for f in everything["faces"]} == \
        {d["image_id"] for d in shown["face_details"]}
    photos = svc.call("GET", f"/people/{pid}/photos", "read").json()
    assert photos["total"] == len(shown["photos"])
    assert sorted(p["path"] for p in photos["photos"]) == shown["photos"]
    assert sorted(f for p in photos["photos"] for f in p["faces"]) == sorted(shown["face_ids"])
    brief = svc.call("GET", f"/people/{pid}?brief=true", "read").json()
    assert brief == {k: v for k, v in shown.items()
                     if k not in ("photos", "face_ids", "face_details")}
    assert svc.call("GET", "/people/99999/faces", "read").status_code == 404
    assert svc.call("GET", "/people/99999/photos", "read").status_code == 404


def test_the_app_is_served_at_the_root(svc: Service) -> None:
    page = svc.client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-cache"
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert '<script type="module" src="/static/js/main.js">' in page.text
    for path in ("/static/js/main.js", "/static/js/api.js", "/static/js/ui.js",
                 "/static/css/app.css", "/static/js/views/login.js",
                 "/static/js/views/people.js", "/static/js/views/person.js"):
        res = svc.client.get(path)
        assert res.status_code == 200, path
        assert res.headers["cache-control"] == "no-cache" and res.headers.get("etag")
        again = svc.client.get(path, headers={"If-None-Match": res.headers["etag"]})
        assert again.status_code == 304
    assert svc.client.get("/static/js/nothing.js").status_code == 404
    assert svc.client.get("/static/../../pyproject.toml").status_code == 404
    # offline: nothing the app serves names another origin
    from faceatlas.web import STATIC

    urls = [(path.name, url) for path in STATIC.rglob("*") if path.is_file()
            for url in re.findall(r"(?:https?:)?//[\w.-]+\.[a-z]{2,}[^\s\"'`)]*",
                                  path.read_text(encoding="utf-8"))]
    # XML namespace names (SVG) are identifiers, never fetched
    assert [u for u in urls if not u[1].startswith("http://www.w3.org/")] == []


def test_photo_previews_are_small_cached_jpegs(svc: Service) -> None:
    import io

    from PIL import Image

    pid = svc.call("GET", "/people", "read").json()[0]["id"]
    photo = svc.call("GET", f"/people/{pid}/photos", "read").json()["photos"][0]
    full = svc.call("GET", f"/photos/{photo['id']}", "read")
    assert full.status_code == 200
    small = svc.call("GET", f"/photos/{photo['id']}?size=64", "read")
    assert small.status_code == 200 and small.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(small.content)) as img:
        assert max(img.size) == 64
        with Image.open(io.BytesIO(full.content)) as orig:
            w, h = orig.size
        assert abs(img.size[0] / img.size[1] - w / h) < 0.05  # the photo's shape
    assert len(small.content) < len(full.content)
    etag = small.headers["etag"]
    assert etag != full.headers["etag"] and "max-age" in small.headers["cache-control"]
    again = svc.call("GET", f"/photos/{photo['id']}?size=64", "read",
                     headers={"If-None-Match": etag})
    assert again.status_code == 304
    big = svc.call("GET", f"/photos/{photo['id']}?size=4096", "read")
    with Image.open(io.BytesIO(big.content)) as img:
        assert img.size == (w, h)  # never enlarged
    assert svc.call("GET", f"/photos/{photo['id']}?size=8", "read").status_code == 422


def test_person_relations(svc: Service) -> None:
    people = svc.call("GET", "/people", "read").json()
    a = next(p for p in people if p["name"] == "Person A")["id"]
    b = next(p for p in people if p["name"] == "Person B")["id"]
    # the faces of group.jpg are nobody's yet: each to its best candidate (A and B)
    for row in svc.call("GET", "/people/unassigned", "read").json()["faces"]:
        assert row["candidate"] in (a, b)
        svc.call("POST", f"/faces/{row['face_id']}/move", "write", json={"to": row["candidate"]})
    rel = svc.call("GET", f"/people/{a}/relations", "read").json()
    top = svc.call("GET", f"/relations/top?person=%23{a}&n=12", "read").json()
    assert [c["person"] for c in rel["companions"]] == [c["person"] for c in top["companions"]]
    assert rel["companions"], "group.jpg shows Person A with someone"
    for c in rel["companions"]:
        assert c["representative_face"] == svc.call(
            "GET", f"/people/{c['person']}?brief=true", "read").json()["representative_face"]
    timeline = svc.call("GET", f"/relations/timeline?person=%23{a}", "read").json()
    assert rel["timeline"] == timeline["months"]
    # a hidden companion is left out; a hidden person still sees their own page's data
    other = rel["companions"][0]["person"]
    svc.call("PATCH", f"/people/{other}", "write", json={"hidden": True})
    assert other not in [c["person"] for c in svc.call(
        "GET", f"/people/{a}/relations", "read").json()["companions"]]
    svc.call("PATCH", f"/people/{a}", "write", json={"hidden": True})
    assert svc.call("GET", f"/people/{a}/relations", "read").json()["timeline"]
    # a person in no photo: empty, not an error
    face = svc.call("GET", f"/people/{a}", "read").json()["face_ids"][0]
    new = svc.call("POST", f"/people/{a}/split", "write",
                   json={"faces": [face], "name": "Solo"}).json()["new_person"]["id"]
    svc.call("POST", f"/faces/{face}/move", "write", json={"to": a})
    empty = svc.call("GET", f"/people/{new}/relations", "read")
    assert empty.status_code == 200
    assert empty.json() == {"person": new, "companions": [], "timeline": []}
    assert svc.call("GET", "/people/99999/relations", "read").status_code == 404
