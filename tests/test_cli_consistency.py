"""The command line and the API behave alike everywhere: light start-up, one option name
per idea, one way to name a person, JSON errors, documented exit codes, clear messages
for broken inputs, and ``faceatlas status``."""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.main import get_command
from typer.testing import CliRunner

import faceatlas
from faceatlas.cli.main import app
from faceatlas.cluster.people import resolve_person
from faceatlas.errors import (
    EXIT_CODES,
    USAGE_EXIT_CODE,
    DatasetError,
    FaceAtlasError,
    ModelError,
    NoFaceError,
    NotFoundError,
)
from faceatlas.library import Library
from faceatlas.relations.occurrences import resolve_person as resolve_relations_person
from faceatlas.store import CatalogError, ConstraintError, SQLiteStore
from faceatlas.types import Face

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()
HEAVY = ("sklearn", "matplotlib", "networkx", "faiss", "scipy", "scann", "cv2", "onnx",
         "onnxruntime")


def _leaves(cmd, path=()):  # type: ignore[no-untyped-def]
    """(command path, click command) of every command that runs something."""
    subs = getattr(cmd, "commands", None)
    if subs is None:
        yield path, cmd
        return
    if path and cmd.callback is not None:  # a group that runs without a subcommand
        yield path, cmd
    for name, sub in subs.items():
        yield from _leaves(sub, (*path, name))


def _options(cmd) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {opt: p for p in cmd.params for opt in getattr(p, "opts", [])}


# -- start-up ------------------------------------------------------------------------
def test_importing_the_cli_loads_no_heavy_library() -> None:
    code = ("import sys, faceatlas, faceatlas.cli.main; "
            f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert out.stdout.split() == [], f"imported at start-up: {out.stdout}"


def test_help_runs_without_heavy_libraries() -> None:
    code = ("import sys\nfrom faceatlas.cli.main import app\n"
            "try:\n    app(['--help'])\nexcept SystemExit:\n    pass\n"
            f"print('LOADED', ' '.join(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert "verify" in out.stdout and "status" in out.stdout
    assert out.stdout.strip().splitlines()[-1].split() == ["LOADED"]


def test_lazy_public_api() -> None:
    assert faceatlas.FaceEngine.__name__ == "FaceEngine"
    assert set(faceatlas.__all__) <= set(dir(faceatlas))
    with pytest.raises(AttributeError):
        faceatlas.nothing_here  # noqa: B018


# -- one option name per idea, --library everywhere ------------------------------------
LIBRARY_COMMANDS = {"index", "enroll", "identify", "search", "status", "cluster", "forget",
                    "optout", "export", "import", "reembed", "people", "relations"}


def test_every_library_command_takes_library_and_recognizer_is_one_name() -> None:
    root = get_command(app)
    seen = set()
    for path, cmd in _leaves(root):
        opts = _options(cmd)
        visible = {o for o, p in opts.items() if not getattr(p, "hidden", False)}
        if path[0] in LIBRARY_COMMANDS:
            seen.add(path[0])
            assert "--library" in visible, path
            assert opts["--library"].default is None, path  # type: ignore[attr-defined]
        assert "--model" not in visible, path  # the recognizer is --recognizer
        assert "--face" not in visible or path == ("forget",), path  # a face id only
    assert seen == LIBRARY_COMMANDS


def test_deprecated_spellings_still_work(lib: Path) -> None:
    old = runner.invoke(app, ["reembed", "--model", "nope", "--library", str(lib)])
    assert old.exit_code == ModelError.exit_code and "unknown model 'nope'" in old.stderr
    assert "--model is deprecated; use --recognizer" in old.stderr
    cluster = runner.invoke(app, ["cluster", "--model", "sface", "--library", str(lib),
                                  "--json"])
    assert cluster.exit_code == 0, cluster.output
    assert json.loads(cluster.stdout)["model"].startswith("sface@")


def test_verify_face_index_is_a_position(portraits: Path) -> None:
    img = str(portraits / "person_a_1.jpg")
    res = runner.invoke(app, ["verify", img, img, "--face-index", "0", "--json"])
    assert res.exit_code == 0 and json.loads(res.stdout)["same"] is True
    bad = runner.invoke(app, ["verify", img, img, "--face-index", "3"])
    assert bad.exit_code != 0 and "face 3 requested" in bad.stderr


def test_relations_follow_faceatlas_library(lib: Path) -> None:
    res = runner.invoke(app, ["relations", "top", "Person A", "--json"],
                        env={"FACEATLAS_LIBRARY": str(lib)})
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["name"] == "Person A"
    elsewhere = runner.invoke(app, ["relations", "top", "Person A"],
                              env={"FACEATLAS_LIBRARY": str(lib.parent / "none")})
    assert elsewhere.exit_code == NotFoundError.exit_code and "no catalog" in elsewhere.stderr


# -- one way to name a person ----------------------------------------------------------
def test_a_name_wins_over_an_id_and_hash_means_id(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "catalog.sqlite")
    first = store.create_person("Ada")
    named_two = store.create_person("1")  # a person whose name is another's id
    unnamed = store.create_person(None)
    assert resolve_person(store, "1") == named_two
    assert resolve_person(store, "#1") == first
    assert resolve_person(store, "person #1") == first
    assert resolve_person(store, f"#{unnamed.id}") == unnamed
    assert resolve_person(store, str(unnamed.id)) == unnamed  # digits, nobody has the name
    assert resolve_person(store, unnamed.label) == unnamed
    assert unnamed.label == f"person #{unnamed.id}"
    assert resolve_person(store, "ADA") == first
    for ref in ("#99", "Nobody", "person #99"):
        with pytest.raises(NotFoundError):
            resolve_person(store, ref)
    names = {p.id: p.name for p in store.people() if p.name}
    assert resolve_relations_person("1", names) == named_two.id
    assert resolve_relations_person("#1", names) == first.id
    assert resolve_relations_person(unnamed.label, names) == unnamed.id
    store.close()


def test_forget_a_person_named_like_an_id(lib: Path) -> None:
    with Library.open(lib, create=False) as opened:
        a = opened.store.person_by_name("Person A")
        b = opened.store.person_by_name("Person B")
        assert a is not None and b is not None
    renamed = runner.invoke(app, ["people", "name", "Person B", str(a.id), "--library",
                                  str(lib)])
    assert renamed.exit_code == 0, renamed.output
    out = runner.invoke(app, ["forget", str(a.id), "--yes", "--json", "--library", str(lib)])
    assert out.exit_code == 0, out.output
    with Library.open(lib, create=False) as opened:
        assert opened.store.get_person(a.id) is not None  # id a.id was not erased...
        assert opened.store.person_by_name(str(a.id)) is None  # ...the person named so was
    shown = runner.invoke(app, ["people", "show", f"#{a.id}", "--json", "--library", str(lib)])
    assert shown.exit_code == 0 and json.loads(shown.stdout)["name"] == "Person A"


def test_unnamed_people_are_listed_by_their_label(lib: Path) -> None:
    assert runner.invoke(app, ["cluster", "--library", str(lib)]).exit_code == 0
    listing = json.loads(runner.invoke(app, ["people", "--json", "--library",
                                              str(lib)]).stdout)
    unnamed = [p for p in listing if not p["name"]]
    assert unnamed, listing
    label = unnamed[0]["label"]
    assert label == f"person #{unnamed[0]['id']}"
    shown = runner.invoke(app, ["people", "show", label, "--json", "--library", str(lib)])
    assert shown.exit_code == 0 and json.loads(shown.stdout)["id"] == unnamed[0]["id"]


# -- errors: JSON, exit codes ------------------------------------------------------------
def _error_classes() -> list[type[FaceAtlasError]]:
    for mod in pkgutil.walk_packages(faceatlas.__path__, "faceatlas."):
        if mod.name.split(".")[1] not in ("cli",):
            try:
                importlib.import_module(mod.name)
            except (FaceAtlasError, ImportError):  # an optional extra not installed
                continue
    found, todo = [], [FaceAtlasError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def test_exit_codes_are_documented_and_distinct() -> None:
    readme = (ROOT / "README.md").read_text()
    rows = dict(re.findall(r"^\| `(\d+)` \| (.+?) \|$", readme, re.M))
    assert {int(code) for code in rows} == set(EXIT_CODES)
    for cls in _error_classes():
        assert cls.exit_code in EXIT_CODES, cls
        assert cls.exit_code not in (0, USAGE_EXIT_CODE), cls
    codes = {c: c.exit_code for c in _error_classes()}
    assert len({codes[c] for c in (NotFoundError, NoFaceError, ModelError, DatasetError,
                                   CatalogError, FaceAtlasError)}) == 6


def test_json_errors_are_json_on_stdout(lib: Path, portraits: Path) -> None:
    cases = [
        (["people", "show", "Nobody", "--json", "--library", str(lib)],
         NotFoundError.exit_code, "NotFoundError"),
        (["status", "--json", "--library", str(lib.parent / "none")],
         NotFoundError.exit_code, "NotFoundError"),
        (["verify", str(portraits / "missing.jpg"), str(portraits / "missing.jpg"),
          "--json"], 7, "ImageError"),
        (["identify", "--json", "--bogus-option"], USAGE_EXIT_CODE, "UsageError"),
        (["relations", "top", "--json"], USAGE_EXIT_CODE, "UsageError"),
    ]
    for args, code, kind in cases:
        res = runner.invoke(app, args)
        assert res.exit_code == code, (args, res.output)
        assert res.stderr == "", (args, res.stderr)
        error = json.loads(res.stdout)["error"]
        assert error["exit_code"] == code and error["type"] == kind and error["message"]
    plain = runner.invoke(app, ["people", "show", "Nobody", "--library", str(lib)])
    assert plain.stdout == "" and plain.stderr.startswith("error: no person named")


def test_models_json_malformed_is_a_clear_error(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    for content in ("{not json", "{}", "[1, 2]", '[{"name": "x"}]',
                    '[{"name": "x", "task": "recognition", "file": {"filename": 3}}]',
                    b"\xff\xfe\x00".decode("latin-1")):
        (home / "models.json").write_text(content, encoding="latin-1")
        res = runner.invoke(app, ["models", "--json"], env={"FACEATLAS_HOME": str(home)})
        assert res.exit_code == ModelError.exit_code, (content, res.output)
        assert "models.json" in json.loads(res.stdout)["error"]["message"]
        assert res.exception is None or isinstance(res.exception, SystemExit)


def test_a_constraint_violation_is_not_a_damaged_catalog(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "catalog.sqlite")
    ada = store.create_person("Ada")
    other = store.create_person("Bea")
    with pytest.raises(ConstraintError) as caught:
        store.update_person(other.id, name="ada")
    assert caught.value.exit_code == 1 and "damaged" not in str(caught.value)
    with pytest.raises(ConstraintError) as raw:  # a UNIQUE violation reaching SQLite
        store.record_decision("merge", person_id=ada.id, face_id=10**9)
    assert "damaged" not in str(raw.value) and "conflicts" in str(raw.value)
    assert store.check() == []
    store.close()


# -- README examples ------------------------------------------------------------------------
def test_face_has_the_documented_fields(engine, portraits: Path) -> None:  # type: ignore[no-untyped-def]
    faces = engine.analyze(portraits / "person_a_1.jpg")
    face: Face = faces[0]
    assert face.landmarks.shape == (5, 2) and face.landmarks is face.detection.landmarks
    assert isinstance(face.score, float) and face.score == pytest.approx(face.detection.score)
    assert face.vector is face.embedding.vector and np.isclose(np.linalg.norm(face.vector), 1)


def test_evaluate_pairs_takes_the_csv_as_written_in_the_readme(tmp_path: Path) -> None:
    assert "`evaluate pairs CSV [--groups G]`" in (ROOT / "README.md").read_text()
    res = runner.invoke(app, ["evaluate", "pairs", str(tmp_path / "none.csv")])
    assert res.exit_code == DatasetError.exit_code, res.output
    missing = runner.invoke(app, ["evaluate", "pairs"])
    assert missing.exit_code == DatasetError.exit_code and "pairs CSV" in missing.stderr


# -- enrolment refused, status -----------------------------------------------------------------
def test_a_refused_enrolment_leaves_no_person(lib: Path, portraits: Path) -> None:
    res = runner.invoke(app, ["enroll", "Newcomer", str(portraits / "impostor_1.jpg"),
                              "--min-quality", "1.0", "--json", "--library", str(lib)])
    assert res.exit_code == NoFaceError.exit_code, res.output
    data = json.loads(res.stdout)
    assert data["person_id"] is None and data["images"][0]["status"] == "refused"
    with Library.open(lib, create=False) as opened:
        assert opened.store.person_by_name("Newcomer") is None
    ok = runner.invoke(app, ["enroll", "Newcomer", str(portraits / "impostor_1.jpg"),
                             "--json", "--library", str(lib)])
    assert ok.exit_code == 0 and json.loads(ok.stdout)["enrolled_faces"] == 1


def test_enroll_help_shows_the_library_default() -> None:
    from faceatlas.cli.library import ENROLL_MIN_QUALITY_TEXT
    from faceatlas.library.recognize import ENROLL_MIN_QUALITY

    assert float(ENROLL_MIN_QUALITY_TEXT) == ENROLL_MIN_QUALITY
    from faceatlas.cli.library import IDENTIFY_MARGIN_TEXT
    from faceatlas.library.recognize import IDENTIFY_MARGIN

    assert float(IDENTIFY_MARGIN_TEXT) == IDENTIFY_MARGIN


def test_status(lib: Path) -> None:
    res = runner.invoke(app, ["status", "--json", "--library", str(lib)])
    assert res.exit_code == 0, res.output
    st = json.loads(res.stdout)
    assert (st["photos"], st["photos_with_faces"], st["faces"]) == (7, 7, 8)
    assert st["people"] == 2 and st["named_people"] == 2
    assert st["unassigned_faces"] == 6  # 8 faces, 2 enrolled
    [(model, count)] = st["embeddings"].items()
    assert model.startswith("sface@") and count == 8
    assert st["store"]["kind"] == "sqlite" and Path(st["store"]["path"]).is_file()
    [index] = st["indexes"]
    assert index["model"] == model and index["state"] == "up to date" and index["count"] == 8
    Path(index["path"]).unlink()
    again = json.loads(runner.invoke(app, ["status", "--json"],
                                     env={"FACEATLAS_LIBRARY": str(lib)}).stdout)
    assert again["indexes"][0]["state"] == "missing"
    text = runner.invoke(app, ["status", "--library", str(lib)])
    assert text.exit_code == 0 and "6 unassigned" in text.stdout
