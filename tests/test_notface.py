"""`people notface`: faces marked "not a face" leave people, the vector index and the
relation graph, stay out when the same photo is analysed again, and come back on undo."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from faceatlas import FaceEngine
from faceatlas.cli.main import app
from faceatlas.library import Indexer, Library
from faceatlas.library.notface import mark_not_faces, undo_not_faces
from faceatlas.relations.catalog import CatalogOccurrences
from faceatlas.store import NewFace

runner = CliRunner()


def _group_faces(lib: Library, photos: Path) -> list[int]:
    rec = lib.store.image_by_path(str(photos / "group.jpg"))
    assert rec is not None
    return sorted(f.id for f in lib.store.faces_of_image(rec.id))


def _indexed_ids(lib: Library) -> set[int]:
    [model] = lib.store.embedding_models()
    index = lib.vectors.get(model)
    assert index is not None
    return {int(i) for i in index.ids()}


def test_notface_removes_and_survives_reindex(base: tuple[Path, Path], lib: Path,
                                              tmp_path: Path, engine: FaceEngine) -> None:
    photos = base[0]
    with Library.open(lib, create=False) as opened:
        before = _group_faces(opened, photos)
        assert len(before) == 2
        target = before[1]
        assert target in _indexed_ids(opened)
        result = mark_not_faces(opened, [target])
        assert result.face_ids == [target] and len(result.records) == 1
        assert opened.store.get_face(target) is None
        assert target not in _indexed_ids(opened)
        assert _group_faces(opened, photos) == [before[0]]
        rec = opened.store.image_by_path(str(photos / "group.jpg"))
        assert rec is not None and rec.face_count == 1
        # the same bytes analysed again (a copy elsewhere): the detection stays out
        copy_dir = tmp_path / "copies"
        copy_dir.mkdir()
        shutil.copy(photos / "group.jpg", copy_dir / "group_copy.jpg")
        summary = Indexer(opened, workers=0, engine=engine).run([str(copy_dir)])
        assert summary.new == 1 and summary.faces == 1 and summary.nonfaces == 1
        copy = opened.store.image_by_path(str(copy_dir / "group_copy.jpg"))
        assert copy is not None and copy.face_count == 1
        # undo: the photo is analysed again and the face is back (a new id, unassigned)
        undone = undo_not_faces(opened, [r.id for r in result.records], engine)
        assert len(undone.face_ids) == 2  # the original photo and its copy
        assert opened.store.not_faces() == []
        assert len(_group_faces(opened, photos)) == 2
        assert set(undone.face_ids) <= _indexed_ids(opened)
    with Library.open(lib, create=False) as opened:  # the index was saved in step
        assert set(undone.face_ids) <= _indexed_ids(opened)


def test_notface_whole_person_from_the_cli(lib: Path) -> None:
    with Library.open(lib, create=False) as opened:
        person = opened.store.person_by_name("Person B")
        assert person is not None
        faces = [f.id for f in opened.store.person_faces(person.id)]
        assert faces
        assert any(o.person_id == person.id
                   for o in CatalogOccurrences(opened.store).occurrences())
    res = runner.invoke(app, ["people", "notface", "--person", "Person B", "--library",
                              str(lib), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert sorted(out["faces"]) == sorted(faces)
    assert out["people_removed"] == [person.id]
    with Library.open(lib, create=False) as opened:
        assert opened.store.person_by_name("Person B") is None
        assert not set(faces) & _indexed_ids(opened)
        assert all(o.person_id != person.id
                   for o in CatalogOccurrences(opened.store).occurrences())
        assert len(opened.store.not_faces()) == len(faces)
    listed = runner.invoke(app, ["people", "notface", "--list", "--library", str(lib),
                                 "--json"])
    assert listed.exit_code == 0
    assert [r["face_id"] for r in json.loads(listed.output)["records"]] == sorted(faces)


def test_notface_user_mistakes(lib: Path) -> None:
    res = runner.invoke(app, ["people", "notface", "999999", "--library", str(lib)])
    assert res.exit_code != 0 and "no face with id 999999" in res.output
    assert "Traceback" not in res.output
    res = runner.invoke(app, ["people", "notface", "--undo", "42", "--library", str(lib)])
    assert res.exit_code != 0 and "no not-a-face record 42" in res.output
    res = runner.invoke(app, ["people", "notface", "--library", str(lib)])
    assert res.exit_code != 0 and "give face ids" in res.output


def test_add_faces_keeps_other_faces(lib: Path) -> None:
    with Library.open(lib, create=False) as opened:
        store = opened.store
        image = next(store.iter_images())
        [face] = store.faces_of_image(image.id)[:1]
        [model] = store.embedding_models()
        [(_, vecs)] = list(store.embeddings(model, [face.id]))
        new = store.add_faces(image.id, [NewFace(
            box=(1.0, 2.0, 30.0, 30.0), landmarks=np.zeros((5, 2), np.float32), det_score=0.9,
            quality=0.5, model=model, vector=vecs[0])])
        ids = {f.id for f in store.faces_of_image(image.id)}
        assert face.id in ids and set(new) <= ids
        rec = store.get_image(image.id)
        assert rec is not None and rec.face_count == len(ids)
