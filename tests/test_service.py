"""The REST service (faceatlas.service) on the sample library: authentication and scopes,
the same JSON as the CLI, corrections, forget, media caching, index jobs, bad uploads, and
one real uvicorn on loopback with concurrent clients."""

from __future__ import annotations

import io
import json
import shutil
import threading
import time
import urllib.error
import urllib.request
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.routing import APIRoute  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from privacy_helpers import copy_library  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from faceatlas.app.keys import create_key, revoke_key  # noqa: E402
from faceatlas.cli.main import app as cli  # noqa: E402
from faceatlas.library import Library  # noqa: E402
from faceatlas.service.api import create_app  # noqa: E402
from faceatlas.service.state import ServiceConfig  # noqa: E402

runner = CliRunner()
OPEN = {"/api/v1/health", "/api/v1/session", "/openapi.json", "/docs", "/docs/oauth2-redirect",
        "/redoc"}  # POST /api/v1/session logs in: tests/test_service_web.py


def make_keys(lib: Path) -> dict[str, str]:
    with Library.open(lib, create=False) as opened:
        out = {scope: create_key(opened.store, scope, scope)["key"]
               for scope in ("read", "write", "admin")}
        out["revoked"] = create_key(opened.store, "old", "admin")["key"]
        revoke_key(opened.store, "old")
    return out


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


class Service:
    """A TestClient on a library, with one key per scope."""

    def __init__(self, lib: Path, photos: Path, keys: dict[str, str] | None = None,
                 **config: Any) -> None:
        self.lib, self.photos = lib, photos
        self.keys = keys or make_keys(lib)
        self.app = create_app(ServiceConfig(library=lib, roots=[photos], **config))
        self.client = TestClient(self.app)

    def call(self, method: str, path: str, scope: str = "admin", **kw: Any) -> Any:
        return self.client.request(method, "/api/v1" + path, headers={
            **auth(self.keys[scope]), **kw.pop("headers", {})}, **kw)


@pytest.fixture
def svc(base: tuple[Path, Path], tmp_path: Path) -> Service:
    return Service(copy_library(base[1], tmp_path / "lib"), base[0])


def upload(path: Path, field: str = "image") -> dict[str, Any]:
    return {field: (path.name, path.read_bytes(), "image/jpeg")}


def cli_json(*args: str) -> Any:
    res = runner.invoke(cli, [*args, "--json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.output)


def person_id(svc: Service, name: str) -> int:
    [row] = [p for p in svc.call("GET", "/people", "read").json() if p["name"] == name]
    return int(row["id"])


def test_every_endpoint_needs_a_key_and_its_scope(svc: Service) -> None:
    assert svc.client.get("/api/v1/health").json()["status"] == "ok"
    assert svc.client.get("/openapi.json").status_code == 200
    routes = [r for r in svc.app.routes if isinstance(r, APIRoute) and r.path not in OPEN]
    assert len(routes) > 30
    needs: dict[str, str] = {}
    for route in routes:
        path = route.path.replace("{person_id}", "1").replace("{face_id}", "1") \
            .replace("{photo_id}", "1").replace("{job_id}", "x").replace("{name}", "x")
        for method in route.methods:
            assert svc.client.request(method, path).status_code == 401, (method, path)
            bad = svc.client.request(method, path, headers=auth("fa_" + "x" * 43))
            assert bad.status_code == 401
            revoked = svc.client.request(method, path, headers=auth(svc.keys["revoked"]))
            assert revoked.status_code == 401
            assert revoked.json()["error"]["type"] == "Unauthorized"
            for scope in ("read", "write"):
                status = svc.client.request(method, path, headers=auth(svc.keys[scope]))
                if status.status_code == 403:
                    needs[f"{method} {route.path}"] = scope
                    assert status.json()["error"]["type"] == "Forbidden"
    # write calls are refused to read keys, admin calls to read and write keys
    assert needs["PATCH /api/v1/people/{person_id}"] == "read"
    assert needs["POST /api/v1/index"] == "read"
    assert needs["DELETE /api/v1/people/{person_id}"] == "write"
    assert needs["GET /api/v1/audit"] == "write"
    assert needs["POST /api/v1/embed"] == "write"  # embeddings only for admin
    assert needs["GET /api/v1/export"] == "write"
    assert "POST /api/v1/identify" not in needs and "GET /api/v1/people" not in needs


def test_identify_and_search_answer_what_the_cli_prints(svc: Service,
                                                        portraits: Path) -> None:
    probe = portraits / "person_a_2.jpg"
    got = svc.call("POST", "/identify", "read", files=upload(probe), data={"top_k": "3"})
    assert got.status_code == 200, got.text
    want = cli_json("identify", str(probe), "--library", str(svc.lib), "--top-k", "3")
    answer = got.json()
    assert want[0]["image"] == str(probe) and answer[0]["image"] == probe.name
    for res in (*want, *answer):
        res.pop("image")
    assert answer == want
    assert want[0]["faces"][0]["decision"] == "Person A"

    found = svc.call("POST", "/search", "read", files=upload(probe), data={"limit": "5"})
    want_s = cli_json("search", str(probe), "--library", str(svc.lib), "--limit", "5")
    assert found.status_code == 200
    assert {**found.json(), "image": None} == {**want_s, "image": None}
    assert want_s["photos"]

    people = svc.call("GET", "/people", "read").json()
    assert people == cli_json("people", "--library", str(svc.lib))
    status = svc.call("GET", "/status", "read").json()
    assert status == cli_json("status", "--library", str(svc.lib))


def test_detect_and_verify(svc: Service, portraits: Path) -> None:
    a, b = portraits / "person_a_1.jpg", portraits / "person_a_2.jpg"
    det = svc.call("POST", "/detect", "read", files=upload(a))
    assert det.status_code == 200 and len(det.json()["faces"]) == 1
    assert "embedding" not in det.json()["faces"][0]
    ver = svc.call("POST", "/verify", "read",
                   files={**upload(a, "a"), **upload(b, "b")})
    assert ver.status_code == 200 and ver.json()["same"] is True
    want = cli_json("verify", str(a), str(b))
    assert ver.json() == want
    emb = svc.call("POST", "/embed", "admin", files=upload(a))
    assert len(emb.json()["faces"][0]["embedding"]) == 128


def test_people_corrections_and_audit(svc: Service) -> None:
    a = person_id(svc, "Person A")
    renamed = svc.call("PATCH", f"/people/{a}", "write", json={"name": "Alice"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Alice"
    hidden = svc.call("PATCH", f"/people/{a}", "write", json={"hidden": True})
    assert hidden.json()["hidden"] is True
    assert a not in [p["id"] for p in svc.call("GET", "/people", "read").json()]
    assert a in [p["id"] for p in svc.call("GET", "/people?all=true", "read").json()]
    shown = svc.call("GET", f"/people/{a}", "read").json()
    assert shown["face_ids"]
    b = person_id(svc, "Person B")
    merged = svc.call("POST", f"/people/{a}/merge", "write", json={"others": [b]})
    assert merged.status_code == 200, merged.text
    faces = merged.json()["faces"]
    assert svc.call("GET", f"/people/{b}", "read").json()["faces"] == 0
    face = svc.call("GET", f"/people/{a}", "read").json()["face_ids"][-1]
    split = svc.call("POST", f"/people/{a}/split", "write", json={"faces": [face],
                                                                    "name": "Bea"})
    assert split.status_code == 200 and split.json()["new_person"]["faces"] == 1
    new = split.json()["new_person"]["id"]
    moved = svc.call("POST", f"/faces/{face}/move", "write", json={"to": a})
    assert moved.json()["faces"] == faces
    # user mistakes are 4xx with a JSON error, never 500
    assert svc.call("GET", "/people/99999", "read").status_code == 404
    bad = svc.call("POST", f"/people/{a}/merge", "write", json={"others": "x"})
    assert bad.status_code == 422 and bad.json()["error"]["type"] == "ValidationError"
    assert svc.call("PATCH", f"/people/{a}", "write", json={}).status_code == 400
    assert svc.call("POST", "/faces/99999/move", "write", json={"to": new}).status_code \
        in (400, 404)
    assert svc.call("GET", "/people/suggestions", "read").status_code == 200
    assert svc.call("GET", "/people/unassigned", "read").status_code == 200
    log = svc.call("GET", "/audit", "admin").json()
    actions = [(e["actor"], e["action"]) for e in log]
    assert ("write", f"PATCH /api/v1/people/{a}") in actions
    assert ("write", f"POST /api/v1/people/{a}/merge") in actions
    assert all(e["actor"] != "read" for e in log)  # reads are not audited


def test_forget_dry_run_then_forget(svc: Service) -> None:
    b = person_id(svc, "Person B")
    faces = svc.call("GET", f"/people/{b}", "read").json()["face_ids"]
    dry = svc.call("DELETE", f"/people/{b}?dry_run=true", "admin")
    assert dry.status_code == 200 and dry.json()["dry_run"] is True
    assert set(faces) <= set(dry.json()["face_ids"]) if "face_ids" in dry.json() else True
    assert svc.call("GET", f"/people/{b}", "read").status_code == 200
    assert svc.call("GET", f"/faces/{faces[0]}/thumbnail", "read").status_code == 200
    done = svc.call("DELETE", f"/people/{b}", "admin")
    assert done.status_code == 200, done.text
    receipt = done.json()
    assert receipt["receipt"] == "erasure" and set(faces) <= set(receipt["erased_face_ids"])
    assert svc.call("GET", f"/people/{b}", "read").status_code == 404
    assert svc.call("GET", f"/faces/{faces[0]}/thumbnail", "read").status_code == 404
    assert svc.call("DELETE", f"/people/{b}", "admin").status_code == 404
    log = svc.call("GET", "/audit", "admin").json()
    assert [e["status"] for e in log if e["action"] == f"DELETE /api/v1/people/{b}"] \
        == [404, 200, 200]


def test_export_archive(svc: Service, tmp_path: Path) -> None:
    import tarfile

    got = svc.call("GET", "/export", "admin")
    assert got.status_code == 200, got.text
    archive = tmp_path / "lib.tar"
    archive.write_bytes(got.content)
    with tarfile.open(archive) as tar:
        assert "manifest.json" in [Path(n).name for n in tar.getnames()]
    imported = cli_json("import", str(archive), "--library", str(tmp_path / "copy"))
    assert imported["counts"]["faces"] == 8


def test_import_over_http_round_trip(svc: Service, tmp_path: Path) -> None:
    archive = svc.call("GET", "/export", "admin").content
    with Library.open(tmp_path / "empty"):
        pass
    other = Service(tmp_path / "empty", svc.photos)

    def send(srv: Service, data: bytes, scope: str = "admin", **form: str) -> Any:
        return srv.call("POST", "/import", scope, data=form,
                        files={"archive": ("library.tar", data, "application/x-tar")})

    assert send(other, archive, "write").status_code == 403
    import io
    import tarfile

    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        member = tar.getmember("catalog.sqlite")
    at = member.offset_data + member.size // 2                 # inside the catalog
    broken = archive[:at] + bytes(b ^ 0xFF for b in archive[at:at + 64]) + archive[at + 64:]
    bad = send(other, broken)
    assert bad.status_code == 400 and bad.json()["error"]["type"] == "ArchiveError", bad.text
    assert other.call("GET", "/people", "read").json() == []  # nothing touched
    refused = send(svc, archive)                               # a library with photos
    assert refused.status_code == 409 and "force" in refused.json()["error"]["message"]

    done = send(other, archive)
    assert done.status_code == 200, done.text
    assert done.json()["counts"]["faces"] == 8
    # the archive's catalog, keys included, is now the one served
    assert other.call("GET", "/people", "read").status_code == 401
    other.keys = svc.keys
    assert other.call("GET", "/people", "read").json() == svc.call("GET", "/people").json()
    probe = sorted(svc.photos.rglob("person_a_2.jpg"))[0]
    got = other.call("POST", "/identify", "read", files=upload(probe)).json()
    assert got[0]["faces"][0]["decision"] == "Person A"
    again = send(other, archive, force="true")                 # --force replaces it
    assert again.status_code == 200 and again.json()["replaced"], again.text


def test_thumbnail_and_photo_caching(svc: Service) -> None:
    a = person_id(svc, "Person A")
    face = svc.call("GET", f"/people/{a}", "read").json()["face_details"][0]
    thumb = svc.call("GET", f"/faces/{face['id']}/thumbnail", "read")
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    assert thumb.content[:2] == b"\xff\xd8" and "max-age" in thumb.headers["cache-control"]
    etag = thumb.headers["etag"]
    again = svc.call("GET", f"/faces/{face['id']}/thumbnail", "read",
                     headers={"If-None-Match": etag})
    assert again.status_code == 304 and not again.content
    photo = svc.call("GET", f"/photos/{face['image_id']}", "read")
    assert photo.status_code == 200 and photo.content[:2] == b"\xff\xd8"
    assert svc.call("GET", f"/photos/{face['image_id']}", "read",
                    headers={"If-None-Match": photo.headers["etag"]}).status_code == 304
    # a service without that root does not serve the photo
    other = Service(svc.lib, svc.lib, svc.keys)
    assert other.call("GET", f"/photos/{face['image_id']}", "read").status_code == 403


def test_index_job_with_progress(base: tuple[Path, Path], tmp_path: Path,
                                 portraits: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("person_a_1.jpg", "person_b_1.jpg"):
        shutil.copy(portraits / name, photos / name)
    svc = Service(copy_library(base[1], tmp_path / "lib"), photos)
    outside = svc.call("POST", "/index", "write", json={"paths": [str(portraits)]})
    assert outside.status_code == 403
    traversal = svc.call("POST", "/index", "write",
                         json={"paths": [str(photos / ".." / "lib")]})
    assert traversal.status_code == 403
    started = svc.call("POST", "/index", "write", json={"paths": []})
    assert started.status_code == 202, started.text
    job_id = started.json()["id"]
    for _ in range(600):
        job = svc.call("GET", f"/jobs/{job_id}", "read").json()
        if job["state"] in ("done", "failed"):
            break
        time.sleep(0.05)
    assert job["state"] == "done", job
    assert job["progress"] == {"done": 2, "total": 2}
    assert job["result"]["new"] == 2 and job["result"]["faces"] == 2
    assert svc.call("GET", "/jobs/nope", "read").status_code == 404
    # the library answers with the new photos
    clustered = svc.call("POST", "/cluster", "write", json={"min_faces": 1})
    assert clustered.status_code == 202
    assert svc.call("GET", "/status", "read").json()["photos"] == 9
    bad_model = svc.call("POST", "/reembed", "write", json={"recognizer": "nope"})
    assert bad_model.status_code == 400 and "nope" in bad_model.json()["error"]["message"]
    again = svc.call("POST", "/reembed", "write", json={"recognizer": "sface"})
    assert again.status_code == 202
    for _ in range(600):
        job = svc.call("GET", f"/jobs/{again.json()['id']}", "read").json()
        if job["state"] in ("done", "failed"):
            break
        time.sleep(0.05)
    assert job["state"] == "done" and job["result"]["already"] == 10, job
    assert [j["kind"] for j in svc.call("GET", "/jobs", "read").json()] == \
        ["index", "cluster", "reembed"]


def test_bad_uploads_are_4xx(base: tuple[Path, Path], tmp_path: Path,
                             portraits: Path) -> None:
    import cv2
    import numpy as np

    svc = Service(copy_library(base[1], tmp_path / "lib"), base[0],
                  max_upload_bytes=200_000, max_pixels=4_000_000)
    text = {"image": ("notes.jpg", b"this is not an image", "image/jpeg")}
    r = svc.call("POST", "/identify", "read", files=text)
    assert r.status_code == 400 and "notes.jpg" in r.json()["error"]["message"]
    assert "faceatlas-upload" not in r.json()["error"]["message"]
    empty = svc.call("POST", "/detect", "read", files={"image": ("e.jpg", b"", "image/jpeg")})
    assert empty.status_code == 400
    big = svc.call("POST", "/detect", "read",
                   files={"image": ("big.jpg", b"\xff" * 300_000, "image/jpeg")})
    assert big.status_code == 413
    # a PNG whose header announces 10000 x 10000 pixels: refused before decoding
    ok, png = cv2.imencode(".png", np.zeros((8, 8, 3), np.uint8))
    header = bytearray(png.tobytes())
    header[16:24] = (10_000).to_bytes(4, "big") * 2
    header[29:33] = zlib.crc32(bytes(header[12:29])).to_bytes(4, "big")
    bomb = svc.call("POST", "/detect", "read",
                    files={"image": ("bomb.png", bytes(header), "image/png")})
    assert bomb.status_code == 413, bomb.text
    missing = svc.call("POST", "/identify", "read", data={"top_k": "2"})
    assert missing.status_code == 422
    assert svc.call("POST", "/identify", "read", files=upload(portraits / "person_a_1.jpg"),
                    data={"top_k": "zero"}).status_code == 422
    blank = io.BytesIO()
    ok, jpg = cv2.imencode(".jpg", np.full((200, 200, 3), 127, np.uint8))
    blank.write(jpg.tobytes())
    noface = svc.call("POST", "/detect", "read",
                      files={"image": ("blank.jpg", blank.getvalue(), "image/jpeg")})
    assert noface.status_code == 422 and noface.json()["faces"] == []
    assert noface.json()["error"]["type"] == "NoFaceError"
    ver = svc.call("POST", "/verify", "read", files={
        **upload(portraits / "person_a_1.jpg", "a"),
        "b": ("blank.jpg", blank.getvalue(), "image/jpeg")})
    assert ver.status_code == 422 and "second image" in ver.json()["error"]["message"]
    assert svc.call("GET", "/nowhere", "read").status_code == 404


def test_keys_over_http(svc: Service) -> None:
    made = svc.call("POST", "/keys", "admin", json={"name": "app", "scope": "write"})
    assert made.status_code == 201 and made.json()["key"].startswith("fa_")
    new = made.json()["key"]
    assert svc.client.get("/api/v1/people", headers=auth(new)).status_code == 200
    assert svc.call("POST", "/keys", "admin", json={"name": "app"}).status_code == 409
    assert svc.call("POST", "/keys", "admin",
                    json={"name": "x", "scope": "root"}).status_code == 422
    listed = svc.call("GET", "/keys", "admin").json()
    assert "app" in [k["name"] for k in listed] and all("key" not in k for k in listed)
    assert svc.call("DELETE", "/keys/app", "admin").status_code == 200
    assert svc.client.get("/api/v1/people", headers=auth(new)).status_code == 401
    assert svc.call("DELETE", "/keys/app", "admin").status_code == 404
    log = [(e["actor"], e["action"], e["target"], e["status"])
           for e in svc.call("GET", "/audit", "admin").json()]
    assert ("admin", "POST /api/v1/keys", "app", 201) in log
    assert ("admin", "DELETE /api/v1/keys/app", "app", 200) in log


def test_rate_limit(base: tuple[Path, Path], tmp_path: Path) -> None:
    svc = Service(copy_library(base[1], tmp_path / "lib"), base[0], rate_limit=3)
    codes = [svc.call("GET", "/people", "read").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = svc.call("GET", "/people", "read")
    assert limited.json()["error"]["type"] == "TooManyRequests"
    assert int(limited.headers["retry-after"]) >= 1
    assert svc.call("GET", "/people", "write").status_code == 200  # per key


def test_keys_cli_stores_only_hashes(lib: Path) -> None:
    made = cli_json("keys", "create", "alice", "--scope", "write", "--library", str(lib))
    key = made["key"]
    assert key.startswith("fa_") and made["scope"] == "write"
    again = runner.invoke(cli, ["keys", "create", "alice", "--library", str(lib), "--json"])
    assert again.exit_code == 1 and "already exists" in again.output
    bad = runner.invoke(cli, ["keys", "create", "bob", "--scope", "root", "--library",
                              str(lib)])
    assert bad.exit_code == 1 and "unknown scope" in bad.output
    listed = cli_json("keys", "list", "--library", str(lib))
    assert [k["name"] for k in listed] == ["alice"] and "key" not in listed[0]
    for path in lib.rglob("*"):
        if path.is_file():
            assert key.encode() not in path.read_bytes(), path
    assert cli_json("keys", "revoke", "alice", "--library", str(lib))["revoked_at"]
    gone = runner.invoke(cli, ["keys", "revoke", "alice", "--library", str(lib)])
    assert gone.exit_code == 3
    with Library.open(lib, create=False) as opened:
        from faceatlas.app.keys import authenticate

        assert authenticate(opened.store, key) is None


def test_serve_command(lib: Path) -> None:
    import os
    import socket
    import subprocess
    import sys

    key = cli_json("keys", "create", "t", "--scope", "read", "--library", str(lib))["key"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "faceatlas.cli.main", "serve", "--library",
                             str(lib), "--port", str(port)], env=dict(os.environ),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/api/v1"
    try:
        for _ in range(600):
            try:
                with urllib.request.urlopen(url + "/health", timeout=1) as res:
                    assert json.load(res)["status"] == "ok"
                break
            except OSError:
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                time.sleep(0.05)
        req = urllib.request.Request(url + "/people", headers=auth(key))
        with urllib.request.urlopen(req, timeout=10) as res:
            assert json.load(res) == cli_json("people", "--library", str(lib))
        with pytest.raises(urllib.error.HTTPError) as denied:
            urllib.request.urlopen(url + "/people", timeout=10)
        assert denied.value.code == 401
    finally:
        proc.terminate()
        assert proc.wait(timeout=30) in (0, -15)  # uvicorn re-raises SIGTERM after shutdown


@pytest.mark.parametrize("workers", [0, 2])
def test_real_uvicorn_on_loopback(base: tuple[Path, Path], tmp_path: Path, portraits: Path,
                                  workers: int) -> None:
    """Concurrent identify requests answer the CLI's JSON, with the analysis in the
    server (0) or in a process pool (2 workers, each with its own engine)."""
    import os

    import uvicorn

    svc = Service(copy_library(base[1], tmp_path / "lib"), base[0], workers=workers)
    host = svc.app.state.host
    worker_pids: set[int] = set()
    if workers:
        worker_pids = {host.pool.info()[0] for _ in range(4)}
        assert os.getpid() not in worker_pids
        # detect and verify through the pool answer what the in-server engine does
        plain = Service(svc.lib, base[0], keys=svc.keys)
        a, b = portraits / "person_a_1.jpg", portraits / "person_a_2.jpg"
        for srv in (svc, plain):
            srv.out = (srv.call("POST", "/detect", "read", files=upload(a)).json(),  # type: ignore[attr-defined]
                       srv.call("POST", "/verify", "read",
                                files={**upload(a, "a"), **upload(b, "b")}).json())
        assert svc.out == plain.out  # type: ignore[attr-defined]
        assert svc.out[1]["same"] is True and svc.out[0]["faces"]  # type: ignore[attr-defined]
        enrolled = svc.call("POST", "/enroll", "write", data={"name": "Person C"},
                            files=upload(portraits / "impostor_1.jpg"))
        assert enrolled.status_code == 200, enrolled.text
        assert [r["status"] for r in enrolled.json()["images"]] == ["enrolled"]

    server = uvicorn.Server(uvicorn.Config(svc.app, host="127.0.0.1", port=0,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(200):
            if server.started:
                break
            time.sleep(0.05)
        port = server.servers[0].sockets[0].getsockname()[1]
        url = f"http://127.0.0.1:{port}/api/v1"
        with urllib.request.urlopen(url + "/health", timeout=10) as res:
            assert json.load(res)["status"] == "ok"
        probe = (portraits / "person_a_2.jpg").read_bytes()

        def identify(_: int) -> Any:
            boundary = "faceatlasboundary"
            body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; "
                    f"filename=\"q.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").encode() \
                + probe + f"\r\n--{boundary}--\r\n".encode()
            req = urllib.request.Request(url + "/identify", data=body, method="POST", headers={
                **auth(svc.keys["read"]),
                "Content-Type": f"multipart/form-data; boundary={boundary}"})
            with urllib.request.urlopen(req, timeout=60) as res:
                return json.load(res)

        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(identify, range(8)))
        assert all(r[0]["faces"][0]["decision"] == "Person A" for r in results)
        assert all(r == results[0] for r in results)
        want = cli_json("identify", str(portraits / "person_a_2.jpg"), "--library",
                        str(svc.lib))
        assert [{**r, "image": None} for r in results[0]] == \
            [{**r, "image": None} for r in want]
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    for pid in worker_pids:  # the workers ended with the server
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
