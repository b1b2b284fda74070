"""Opt-out ("do not recognise"): faces erased, only a template kept, and their face
refused in photos indexed later while the other faces of those photos are stored."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from privacy_helpers import compose, face_data, needles, traces
from typer.testing import CliRunner

from faceatlas import FaceEngine
from faceatlas.cli.main import app
from faceatlas.cluster.catalog import cluster_catalog
from faceatlas.library import Indexer, Library
from faceatlas.library.recognize import identify, search
from faceatlas.privacy import OptOutGuard, optout_threshold
from faceatlas.privacy.erasure import execute
from faceatlas.privacy.optout import plan_optout

runner = CliRunner()


def _new_photo_of_a(portraits: Path, folder: Path) -> Path:
    """A photo not in the library: Person A (re-encoded, so a new file) next to impostor_1."""
    folder.mkdir(parents=True, exist_ok=True)
    a = folder / "a_again.png"
    cv2.imwrite(str(a), cv2.flip(cv2.imread(str(portraits / "person_a_2.jpg")), 1))
    out = folder / "party.jpg"
    compose(a, portraits / "impostor_1.jpg", out)
    a.unlink()
    return out


def test_optout_erases_keeps_a_template_and_refuses_new_photos(
        base: tuple[Path, Path], lib: Path, portraits: Path, engine: FaceEngine,
        tmp_path: Path) -> None:
    photos = base[0]
    theirs = face_data(lib, [photos / "person_a_1.jpg", photos / "person_a_2.jpg",
                             photos / "group.jpg"], left_only=photos / "group.jpg")
    out = runner.invoke(app, ["optout", "Person A", "--library", str(lib), "--yes", "--json"])
    assert out.exit_code == 0, out.output
    receipt = json.loads(out.stdout)
    assert receipt["action"] == "optout" and receipt["removed"]["faces"] == 3
    assert receipt["removed"]["people"] == 0
    [model] = receipt["kept"]["templates"]
    assert receipt["kept"]["templates"][model] == 3
    assert traces(lib, needles(theirs)) == []
    with Library.open(lib) as opened:
        store = opened.store
        person = store.person_by_name("Person A")
        assert person is not None and person.do_not_recognise
        assert store.person_faces(person.id) == []
        [template] = store.optout_templates()
        assert template.person_id == person.id and template.faces == 3
        assert abs(float(np.linalg.norm(template.vector)) - 1.0) < 1e-5
        # The template is a mean, not one of the erased vectors.
        assert all(template.vector.tobytes() != vec for vec, _ in theirs.values())
        # A new photo of them: their face is not stored, the other face is.
        party = _new_photo_of_a(portraits, tmp_path / "new")
        summary = Indexer(opened, workers=0, engine=engine).run([str(party)])
        assert summary.new == 1 and summary.refused == 1 and summary.faces == 1
        rec = store.image_by_path(str(party))
        assert rec is not None and rec.face_count == 1
        [kept] = store.faces_of_image(rec.id)
        assert rec.width is not None and kept.box[0] > rec.width / 2  # impostor_1, right half
        assert store.check() == []
        # identify / search never return them; clustering finds nothing of theirs.
        for query in ("person_a_1.jpg", "person_a_2.jpg"):
            res = identify(opened, engine, portraits / query)
            assert all(m.person != "Person A" for f in res.faces for m in f.matches)
            assert [f.decision for f in res.faces] == ["unknown"]
            assert search(opened, engine, portraits / query).photos == []
        cluster_catalog(store, full=True)
        guard = OptOutGuard.load(store)
        for ids, vecs in store.embeddings(model):
            assert (guard.match(model, vecs) < 0).all(), ids
        assert store.person_faces(person.id) == []


def test_undo_stores_their_faces_again(lib: Path, portraits: Path, engine: FaceEngine,
                                       tmp_path: Path) -> None:
    assert runner.invoke(app, ["optout", "Person A", "--library", str(lib), "--yes"]
                         ).exit_code == 0
    out = runner.invoke(app, ["optout", "Person A", "--undo", "--library", str(lib), "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["templates_deleted"] == 1
    with Library.open(lib) as opened:
        person = opened.store.person_by_name("Person A")
        assert person is not None and not person.do_not_recognise
        assert opened.store.optout_templates() == []
        party = _new_photo_of_a(portraits, tmp_path / "new")
        summary = Indexer(opened, workers=0, engine=engine).run([str(party)])
        assert summary.refused == 0 and summary.faces == 2
    again = runner.invoke(app, ["optout", "Person A", "--undo", "--library", str(lib)])
    assert again.exit_code != 0 and "has not opted out" in again.output


def test_optout_of_someone_new_from_a_photo(lib: Path, portraits: Path, engine: FaceEngine,
                                            tmp_path: Path) -> None:
    """A person never indexed opts out with a photo: the photo is used, not stored."""
    with Library.open(lib) as opened:
        before = opened.store.stats()["images"]
        plan = plan_optout(opened, "Visitor", [portraits / "impostor_1.jpg"], engine,
                           sweep=False)
        receipt = execute(opened, plan)
        person = opened.store.person_by_name("Visitor")
        assert person is not None and person.do_not_recognise
        assert receipt.kept["person_id"] == person.id and receipt.removed["faces"] == 0
        assert opened.store.stats()["images"] == before
        party = _new_photo_of_a(portraits, tmp_path / "new")  # Person A + impostor_1
        summary = Indexer(opened, workers=0, engine=engine).run([str(party)])
        assert summary.refused == 1 and summary.faces == 1


def test_optout_errors_change_nothing(lib: Path, portraits: Path) -> None:
    photo = str(portraits / "impostor_1.jpg")
    for args in (["Nobody"], ["Person A", "--undo", "x.jpg"], ["Person B", "--undo"],
                 ["#99", photo], ["person #99", photo], ["99", photo]):
        out = runner.invoke(app, ["optout", *args, "--library", str(lib), "--yes"])
        assert out.exit_code != 0 and out.output.startswith("error:"), out.output
        assert "Traceback" not in out.output
    with Library.open(lib) as opened:
        assert opened.store.optout_templates() == []
        assert opened.store.stats()["faces"] == 8
        assert all(p.name is None or "99" not in p.name for p in opened.store.people())


def test_threshold_is_identify_s(engine: FaceEngine) -> None:
    from faceatlas.verification import resolve_threshold
    assert optout_threshold(engine.model_id) == resolve_threshold("sface").value
    with pytest.raises(Exception, match="no calibrated threshold"):
        optout_threshold("uncalibrated@123")


def test_forget_after_optout_removes_the_template_too(lib: Path) -> None:
    assert runner.invoke(app, ["optout", "Person A", "--library", str(lib), "--yes"]
                         ).exit_code == 0
    with Library.open(lib) as opened:
        [template] = opened.store.optout_templates()
        kept = template.vector.tobytes()
    assert traces(lib, [kept])  # the template is what is kept...
    out = runner.invoke(app, ["forget", "Person A", "--library", str(lib), "--yes", "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["removed"]["people"] == 1
    with Library.open(lib) as opened:
        assert opened.store.optout_templates() == []
        assert opened.store.person_by_name("Person A") is None
    assert traces(lib, [kept]) == []  # ...and forgetting them removes it
