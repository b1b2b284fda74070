"""Export / import of a library between machines, and migration to another recognition
model (reembed)."""

from __future__ import annotations

import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest
from privacy_helpers import copy_library
from typer.testing import CliRunner

from faceatlas import FaceEngine
from faceatlas.cli.main import app
from faceatlas.errors import ModelError, ModelMismatchError
from faceatlas.library import Library
from faceatlas.library.portability import ArchiveError, export_library, import_library
from faceatlas.library.recognize import identify
from faceatlas.models import ModelRegistry
from faceatlas.models.catalog import SFACE
from faceatlas.verification import resolve_threshold

runner = CliRunner()
QUERIES = ("person_a_2.jpg", "person_b_2.jpg", "impostor_2.jpg", "person_a_1.jpg")


def _answers(lib: Path, engine: FaceEngine, portraits: Path,
             threshold: float | None = None) -> list[list[tuple[str, float]]]:
    with Library.open(lib, create=False) as opened:
        out = []
        for q in QUERIES:
            res = identify(opened, engine, portraits / q, threshold=threshold)
            out += [[(f.decision, 0.0)] + [(m.person, round(m.similarity, 5))
                                          for m in f.matches] for f in res.faces]
    return out


def test_export_import_gives_the_same_answers(lib: Path, tmp_path: Path, portraits: Path,
                                              engine: FaceEngine) -> None:
    archive = tmp_path / "gallery.tar"
    out = runner.invoke(app, ["export", str(archive), "--library", str(lib), "--json"])
    assert out.exit_code == 0, out.output
    manifest = json.loads(out.stdout)
    assert manifest["counts"]["faces"] == 8 and manifest["counts"]["people"] == 2
    assert manifest["counts"]["not_faces"] == 0  # every table the snapshot carries is counted
    [(model, info)] = manifest["models"].items()
    assert model == engine.model_id and info == {"dim": 128, "embeddings": 8}
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert names[0] == "manifest.json" and "catalog.sqlite" in names
    assert not any(n.startswith("index") for n in names)  # indexes are rebuilt, not shipped
    fresh = tmp_path / "elsewhere" / "lib"
    out = runner.invoke(app, ["import", str(archive), "--library", str(fresh), "--json"])
    assert out.exit_code == 0, out.output
    res = json.loads(out.stdout)
    assert res["missing_paths"] == 0 and res["vector_indexes"] == {model: 8}
    assert (fresh / "index").is_dir() and any((fresh / "index").iterdir())
    assert _answers(fresh, engine, portraits) == _answers(lib, engine, portraits)
    with Library.open(fresh, create=False) as opened:
        assert opened.store.check() == []
        assert opened.vectors.get(model) is not None
        assert opened.vectors.checks[model].rebuilt is False  # the rebuilt index is current


def test_export_is_a_consistent_snapshot_of_a_live_library(lib: Path, tmp_path: Path) -> None:
    """Changes committed to the WAL by a connection still open are in the export."""
    with Library.open(lib) as writer:
        writer.store.create_person("Carol")
        assert (lib / "catalog.sqlite-wal").stat().st_size > 0
        with Library.open(lib) as reader:
            export_library(reader, tmp_path / "live.tar")
    res = import_library(tmp_path / "live.tar", tmp_path / "copy")
    assert res.manifest["counts"]["people"] == 3
    with Library.open(tmp_path / "copy", create=False) as opened:
        assert opened.store.person_by_name("Carol") is not None


def test_missing_photos_are_kept_and_remapped(base: tuple[Path, Path], lib: Path,
                                              tmp_path: Path) -> None:
    photos = base[0]
    with Library.open(lib) as opened:
        export_library(opened, tmp_path / "g.tar")
    moved = tmp_path / "new-machine" / "pictures"
    shutil.copytree(photos, moved)
    res = import_library(tmp_path / "g.tar", tmp_path / "a")
    assert res.missing_paths == 0  # the original folder still exists here
    out = runner.invoke(app, ["import", str(tmp_path / "g.tar"), "--library",
                              str(tmp_path / "b"), "--remap", f"{photos}=/nowhere/pics",
                              "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["remapped"] == 7 and data["missing_paths"] == 7
    assert data["missing_examples"][0].startswith("/nowhere/pics/")
    with Library.open(tmp_path / "b", create=False) as opened:
        assert opened.store.stats()["faces"] == 8  # records kept
    out = runner.invoke(app, ["import", str(tmp_path / "g.tar"), "--library",
                              str(tmp_path / "c"), "--remap", f"{photos}/={moved}", "--json"])
    data = json.loads(out.stdout)
    assert data["remapped"] == 7 and data["missing_paths"] == 0
    with Library.open(tmp_path / "c", create=False) as opened:
        rec = opened.store.image_by_path(str(moved / "group.jpg"))
        assert rec is not None and rec.folder == str(moved) and rec.face_count == 2
    bad = runner.invoke(app, ["import", str(tmp_path / "g.tar"), "--library",
                              str(tmp_path / "d"), "--remap", "nothing"])
    assert bad.exit_code != 0 and "OLD=NEW" in bad.output and not (tmp_path / "d").exists()


def test_non_empty_target_needs_force(lib: Path, tmp_path: Path, base: tuple[Path, Path],
                                      engine: FaceEngine, portraits: Path) -> None:
    with Library.open(lib) as opened:
        export_library(opened, tmp_path / "g.tar")
    other = copy_library(base[1], tmp_path / "other")
    runner.invoke(app, ["forget", "Person B", "--library", str(other), "--yes"])
    before = _answers(other, engine, portraits)
    out = runner.invoke(app, ["import", str(tmp_path / "g.tar"), "--library", str(other)])
    assert out.exit_code != 0 and "--force" in out.output and "Traceback" not in out.output
    assert _answers(other, engine, portraits) == before
    out = runner.invoke(app, ["import", str(tmp_path / "g.tar"), "--library", str(other),
                              "--force", "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["replaced"] is True
    assert _answers(other, engine, portraits) == _answers(lib, engine, portraits)


def _rewrite(src: Path, dst: Path, change: dict[str, bytes | None]) -> None:
    """A copy of the archive ``src`` with members replaced (bytes) or dropped (None)."""
    with tarfile.open(src) as tin, tarfile.open(dst, "w") as tout:
        for m in tin.getmembers():
            data = tin.extractfile(m).read()  # type: ignore[union-attr]
            if m.name in change:
                if change[m.name] is None:
                    continue
                data = change[m.name]  # type: ignore[assignment]
            info = tarfile.TarInfo(m.name)
            info.size = len(data)
            tout.addfile(info, io.BytesIO(data))


def test_corrupt_archives_are_refused_and_change_nothing(lib: Path, tmp_path: Path,
                                                         engine: FaceEngine,
                                                         portraits: Path) -> None:
    good = tmp_path / "g.tar"
    with Library.open(lib) as opened:
        export_library(opened, good)
    with tarfile.open(good) as tar:
        catalog = tar.extractfile("catalog.sqlite").read()  # type: ignore[union-attr]
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
    flipped = bytearray(catalog)
    flipped[len(flipped) // 2] ^= 0xFF
    cases = {
        "flipped.tar": {"catalog.sqlite": bytes(flipped)},
        "dropped.tar": {"catalog.sqlite": None},
        "nomanifest.tar": {"manifest.json": None},
        "badmanifest.tar": {"manifest.json": b"{not json"},
        "newer.tar": {"manifest.json": json.dumps({**manifest, "version": 99}).encode()},
    }
    for name, change in cases.items():
        _rewrite(good, tmp_path / name, change)
    (tmp_path / "truncated.tar").write_bytes(good.read_bytes()[:20000])
    (tmp_path / "junk.tar").write_bytes(b"hello, not an archive" * 100)
    target = copy_library(lib, tmp_path / "target")
    before = _answers(target, engine, portraits)
    for name in [*cases, "truncated.tar", "junk.tar", "absent.tar"]:
        with pytest.raises(ArchiveError):
            import_library(tmp_path / name, tmp_path / "fresh")
        assert not (tmp_path / "fresh").exists(), name
        out = runner.invoke(app, ["import", str(tmp_path / name), "--library", str(target),
                                  "--force"])
        assert out.exit_code == 9, (name, out.output)
        assert out.output.startswith("error:") and "Traceback" not in out.output
        assert len(out.output.strip().splitlines()) <= 2
    assert _answers(target, engine, portraits) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".faceatlas")) == []


def test_export_errors(lib: Path, tmp_path: Path) -> None:
    (tmp_path / "exists.tar").write_bytes(b"x")
    for dest, words in ((tmp_path / "exists.tar", "already exists"),
                        (tmp_path / "no" / "dir" / "g.tar", "no such folder")):
        out = runner.invoke(app, ["export", str(dest), "--library", str(lib)])
        assert out.exit_code != 0 and words in out.output
    out = runner.invoke(app, ["export", str(tmp_path / "g.tar"), "--library",
                              str(tmp_path / "missing")])
    assert out.exit_code != 0 and "no library" in out.output


# -- reembed ---------------------------------------------------------------------------
@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModelRegistry:
    """A FACEATLAS_HOME with two user-registered copies of SFace: ``sface-rgb`` (the same
    network with its input given as RGB in [0, 255]: same embeddings, another model id)
    and ``sface-skewed`` (ArcFace's default normalisation: different embeddings)."""
    monkeypatch.setenv("FACEATLAS_HOME", str(tmp_path / "home"))
    reg = ModelRegistry()
    sface = reg.locate(SFACE).path
    reg.register("sface-rgb", sface, "recognition", "arcface", "Apache-2.0", True,
                 color="RGB", mean=0.0, std=1.0)
    reg.register("sface-skewed", sface, "recognition", "arcface", "Apache-2.0", True)
    return reg


def test_reembed_migrates_identify_to_the_new_model(lib: Path, home: ModelRegistry,
                                                    portraits: Path,
                                                    engine: FaceEngine) -> None:
    new = FaceEngine(recognizer="sface-rgb", registry=home)
    assert new.model_id != engine.model_id
    t = resolve_threshold("sface").value
    with Library.open(lib) as opened:
        links = {p.id: [f.id for f in opened.store.person_faces(p.id)]
                 for p in opened.store.people()}
        with pytest.raises(ModelMismatchError, match="reembed --recognizer sface-rgb"):
            identify(opened, new, portraits / "person_a_2.jpg", threshold=t)
    old_answers = _answers(lib, engine, portraits)
    out = runner.invoke(app, ["reembed", "--recognizer", "sface-rgb", "--library", str(lib),
                              "--json"])
    assert out.exit_code == 0, out.output
    res = json.loads(out.stdout)
    assert (res["embedded"], res["skipped"], res["model"]) == (8, 0, new.model_id)
    assert res["indexes"] == {engine.model_id: 8, new.model_id: 8}
    # both models answer; the new one like the old one
    assert _answers(lib, new, portraits, threshold=t) == old_answers
    assert _answers(lib, engine, portraits) == old_answers
    again = runner.invoke(app, ["reembed", "--recognizer", "sface-rgb", "--library", str(lib),
                                "--json"])
    assert json.loads(again.stdout)["already"] == 8  # resumable: nothing redone
    out = runner.invoke(app, ["reembed", "--recognizer", "sface-rgb", "--drop-old", "--library",
                              str(lib), "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["dropped"] == {engine.model_id: 8}
    with Library.open(lib) as opened:
        assert list(opened.store.embedding_models()) == [new.model_id]
        assert {p.id: [f.id for f in opened.store.person_faces(p.id)]
                for p in opened.store.people()} == links  # people links survive
        assert opened.store.check() == []
        with pytest.raises(ModelMismatchError, match="--recognizer sface-rgb"):
            identify(opened, engine, portraits / "person_a_2.jpg")
    assert sorted(p.name for p in (lib / "index").iterdir()) == ["sface-rgb_fb143eea0783.faiss"]
    assert _answers(lib, new, portraits, threshold=t) == old_answers
    cli = runner.invoke(app, ["identify", str(portraits / "person_a_2.jpg"), "--library",
                              str(lib)])
    assert cli.exit_code == 5 and "reembed" in cli.output and "Traceback" not in cli.output


def test_reembed_uses_stored_landmarks_on_the_photo_pixels(lib: Path, home: ModelRegistry,
                                                           base: tuple[Path, Path]) -> None:
    skewed = FaceEngine(recognizer="sface-skewed", registry=home)
    out = runner.invoke(app, ["reembed", "--recognizer", "sface-skewed", "--library", str(lib),
                              "--json"])
    assert out.exit_code == 0, out.output
    with Library.open(lib) as opened:
        store = opened.store
        [old_model] = [m for m in store.embedding_models() if m != skewed.model_id]
        for path in sorted(base[0].glob("*.jpg")):
            rec = store.image_by_path(str(path))
            assert rec is not None
            fresh = sorted(skewed.analyze(path), key=lambda f: f.box[0])
            faces = sorted(store.faces_of_image(rec.id), key=lambda f: f.box[0])
            assert len(fresh) == len(faces)
            for face, ref in zip(faces, fresh, strict=True):
                [(_, new)] = list(store.embeddings(skewed.model_id, [face.id]))
                [(_, old)] = list(store.embeddings(old_model, [face.id]))
                assert float(new[0] @ ref.embedding.vector) > 0.999
                assert float(new[0] @ old[0]) < 0.999  # really recomputed


def test_reembed_refuses_to_drop_what_it_could_not_replace(lib: Path, home: ModelRegistry,
                                                           base: tuple[Path, Path]) -> None:
    photos = base[0]
    with Library.open(lib) as opened:
        export_library(opened, lib.parent / "g.tar")
    moved = import_library(lib.parent / "g.tar", lib.parent / "moved",
                           remaps=[(str(photos), "/nowhere")])
    assert moved.missing_paths == 7
    out = runner.invoke(app, ["reembed", "--recognizer", "sface-rgb", "--drop-old", "--library",
                              str(lib.parent / "moved")])
    assert out.exit_code != 0 and "old embeddings are kept" in out.output
    with Library.open(lib.parent / "moved", create=False) as opened:
        assert len(opened.store.embedding_models()) == 1
        assert opened.store.check() == []
    bad = runner.invoke(app, ["reembed", "--recognizer", "nope", "--library", str(lib)])
    assert bad.exit_code == ModelError.exit_code and "unknown model" in bad.output


def test_reembed_keeps_refusing_opted_out_people(lib: Path, home: ModelRegistry) -> None:
    assert runner.invoke(app, ["optout", "Person A", "--library", str(lib), "--yes"]
                         ).exit_code == 0
    out = runner.invoke(app, ["reembed", "--recognizer", "sface-rgb", "--library", str(lib)])
    assert out.exit_code != 0 and "opted-out" in out.output and "--force" in out.output
    with Library.open(lib) as opened:
        assert len(opened.store.embedding_models()) == 1
    forced = runner.invoke(app, ["reembed", "--recognizer", "sface-rgb", "--force", "--library",
                                 str(lib), "--json"])
    assert forced.exit_code == 0, forced.output
    assert json.loads(forced.stdout)["embedded"] == 5
