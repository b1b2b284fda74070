"""Enrolment (quality-gated), open-set identification, face search and their filters."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from faceatlas import FaceEngine
from faceatlas.cli.main import app
from faceatlas.errors import FaceAtlasError, NoFaceError
from faceatlas.library import Indexer, Library
from faceatlas.library.recognize import (
    PROBE_MIN_QUALITY,
    PROBE_MIN_SIZE,
    enroll,
    identify,
    identify_many,
    search,
)
from faceatlas.store import FaceFilter
from faceatlas.verification import resolve_threshold
from faceatlas.verification.openset import openset_curve, resolve_openset_threshold

runner = CliRunner()


def _with_date(src: Path, dst: Path, date: str) -> None:
    exif = Image.Exif()
    exif.get_ifd(0x8769)[36867] = date
    dst.parent.mkdir(parents=True, exist_ok=True)
    Image.open(src).save(dst, "JPEG", quality=95, exif=exif)


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory, portraits: Path,
            engine: FaceEngine) -> Path:
    """trip2019/: person_a_1, person_b_1, impostor_1 (taken 2019); home2021/: the other
    three (taken 2021). Person A and Person B enrolled from their 2019 photos."""
    root = tmp_path_factory.mktemp("identify")
    for name in ("person_a_1", "person_b_1", "impostor_1"):
        _with_date(portraits / f"{name}.jpg", root / "trip2019" / f"{name}.jpg",
                   "2019:05:01 12:00:00")
    for name in ("person_a_2", "person_b_2", "impostor_2"):
        _with_date(portraits / f"{name}.jpg", root / "home2021" / f"{name}.jpg",
                   "2021:08:01 12:00:00")
    lib = root / "lib"
    with Library.open(lib) as opened:
        summary = Indexer(opened, workers=0, engine=engine).run([str(root)])
        assert summary.new == 6 and summary.faces == 6
        for who, photo in (("Person A", "person_a_1"), ("Person B", "person_b_1")):
            _, outcomes = enroll(opened, who, [root / "trip2019" / f"{photo}.jpg"], engine)
            assert [o.status for o in outcomes] == ["enrolled"]
    return lib


def _names(photos: list[dict[str, object]]) -> list[str]:
    return [Path(str(p["path"])).stem for p in photos]


def test_identify_decides_enrolled_people_and_unknowns(library: Path, portraits: Path,
                                                       engine: FaceEngine) -> None:
    with Library.open(library) as lib:
        res = identify(lib, engine, portraits / "person_a_2.jpg")
        stranger = identify(lib, engine, portraits / "impostor_2.jpg")
    # the 1:N threshold for 2 people with one template mode each, at FPIR 0.01
    expected = resolve_openset_threshold("sface", 2)
    assert res.threshold == expected and expected.source == "calibrated"
    assert (res.threshold.fpir, res.threshold.gallery_size) == (0.01, 2)
    assert expected.value != resolve_threshold("sface").value  # not the 1:1 threshold
    [face] = res.faces
    assert face.decision == "Person A" and face.reason == ""
    assert [m.person for m in face.matches] == ["Person A", "Person B"]
    assert face.matches[0].similarity >= res.threshold.value > face.matches[1].similarity
    assert face.similarity == face.matches[0].similarity
    assert face.margin == pytest.approx(face.matches[0].similarity - face.matches[1].similarity)
    [other] = stranger.faces
    assert other.decision == "unknown" and len(other.matches) == 2
    assert max(m.similarity for m in other.matches) < res.threshold.value
    assert "below the threshold" in other.reason


def test_identify_threshold_fpir_and_margin(library: Path, portraits: Path,
                                            engine: FaceEngine) -> None:
    with Library.open(library) as lib:
        strict = identify(lib, engine, portraits / "person_a_2.jpg", fpir=0.001)
        user = identify(lib, engine, portraits / "person_a_2.jpg", threshold=0.99)
        close = identify(lib, engine, portraits / "person_a_2.jpg", margin=0.9)
        with pytest.raises(FaceAtlasError, match="calibrated FPIRs: 0.001, 0.01"):
            identify(lib, engine, portraits / "person_a_2.jpg", fpir=0.05)
    assert strict.threshold.value > resolve_openset_threshold("sface", 2).value
    assert strict.threshold.fpir == 0.001 and strict.faces[0].decision == "Person A"
    assert (user.threshold.value, user.threshold.fpir, user.threshold.source) == \
        (0.99, None, "user")
    assert user.faces[0].decision == "unknown" and "below the threshold 0.990" in \
        user.faces[0].reason
    [face] = close.faces  # Person A leads Person B, but not by 0.9
    assert face.decision == "unknown" and face.reason.startswith("too close to call")


def test_small_or_poor_faces_get_no_name(library: Path, portraits: Path,
                                         engine: FaceEngine, tmp_path: Path) -> None:
    bgr = cv2.imread(str(portraits / "person_a_2.jpg"))
    cv2.imwrite(str(tmp_path / "small.jpg"), cv2.resize(bgr, None, fx=0.1, fy=0.1))
    blurred = cv2.GaussianBlur(cv2.resize(bgr, None, fx=0.25, fy=0.25), (0, 0), 3)
    cv2.imwrite(str(tmp_path / "blurred.jpg"), blurred)
    with Library.open(library) as lib:
        small, poor = identify_many(lib, engine, [tmp_path / "small.jpg",
                                                  tmp_path / "blurred.jpg"])
    [s] = small.faces
    assert min(s.face.box[2:]) < PROBE_MIN_SIZE
    assert s.decision == "unknown" and s.reason.startswith("face too small to name")
    assert s.matches[0].person == "Person A"  # candidates are still listed
    [p] = poor.faces
    assert min(p.face.box[2:]) >= PROBE_MIN_SIZE and p.face.quality.score < PROBE_MIN_QUALITY
    assert p.decision == "unknown" and "too low to name" in p.reason


def test_identify_json_several_images_and_folders_in_order(library: Path,
                                                           portraits: Path) -> None:
    folder = library.parent / "trip2019"
    out = runner.invoke(app, ["identify", str(portraits / "person_b_2.jpg"), str(folder),
                              str(portraits / "person_a_2.jpg"), "--library", str(library),
                              "--json", "--top-k", "1"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert [Path(r["image"]).name for r in data] == [
        "person_b_2.jpg", "impostor_1.jpg", "person_a_1.jpg", "person_b_1.jpg",
        "person_a_2.jpg"]
    assert [r["faces"][0]["decision"] for r in data] == [
        "Person B", "unknown", "Person A", "Person B", "Person A"]
    first = data[0]
    assert (first["fpir"], first["gallery_size"], first["threshold_source"]) == \
        (0.01, 2, "calibrated")
    [face] = first["faces"]
    assert set(face) == {"box", "quality", "matches", "decision", "person_id", "similarity",
                         "margin", "reason"}
    assert len(face["box"]) == 4 and face["reason"] == ""
    assert face["matches"] == [{"person": "Person B", "person_id": face["person_id"],
                                "similarity": face["similarity"]}]
    assert face["similarity"] >= first["threshold"]
    assert isinstance(face["margin"], float) and face["margin"] > 0
    out = runner.invoke(app, ["identify", str(portraits / "nope.jpg"), "--library",
                              str(library)])
    assert out.exit_code != 0 and "no such file or folder" in out.output


def test_openset_thresholds_grow_with_the_gallery() -> None:
    values = [resolve_openset_threshold("sface", n).value for n in (1, 2, 7, 100, 4000)]
    assert values == sorted(values) and len(set(values)) == 5
    curve = openset_curve("sface", 0.01)
    assert curve is not None
    sizes, thresholds = curve
    mid = resolve_openset_threshold("sface", 7).value  # between the measured 5 and 10
    assert thresholds[list(sizes).index(5)] < mid < thresholds[list(sizes).index(10)]
    far = resolve_openset_threshold("sface", 100_000)
    assert far.source == "extrapolated" and far.value > values[-1] and "extrapolated" in \
        far.note
    fallback = resolve_openset_threshold("dlib", 10)
    assert fallback.source == "1:1 fallback" and fallback.fpir is None
    assert fallback.value == resolve_threshold("dlib").value and "FPIR" in fallback.note


def test_identify_leaves_out_people_who_must_not_be_recognised(
        library: Path, portraits: Path, engine: FaceEngine) -> None:
    with Library.open(library) as lib:
        b = lib.store.person_by_name("Person B")
        assert b is not None
        lib.store.update_person(b.id, do_not_recognise=True)
        try:
            [face] = identify(lib, engine, portraits / "person_b_2.jpg").faces
        finally:
            lib.store.update_person(b.id, do_not_recognise=False)
    assert face.decision == "unknown"
    assert [m.person for m in face.matches] == ["Person A"]


def test_identify_filters(library: Path, portraits: Path, engine: FaceEngine) -> None:
    with Library.open(library) as lib:
        [later] = identify(lib, engine, portraits / "person_a_2.jpg",
                           flt=FaceFilter(since="2020-01-01")).faces
        [only_b] = identify(lib, engine, portraits / "person_a_2.jpg",
                            flt=FaceFilter(person=lib.store.person_by_name("Person B").id)  # type: ignore[union-attr]
                            ).faces
    assert later.matches == [] and later.decision == "unknown"  # enrolled photos are 2019
    assert [m.person for m in only_b.matches] == ["Person B"] and only_b.decision == "unknown"


def test_identify_needs_enrolled_people(tmp_path: Path, portraits: Path,
                                        engine: FaceEngine) -> None:
    with Library.open(tmp_path / "lib") as lib:
        Indexer(lib, workers=0, engine=engine).run([str(portraits / "impostor_1.jpg")])
        with pytest.raises(FaceAtlasError, match="nobody is enrolled"):
            identify(lib, engine, portraits / "impostor_2.jpg")
    out = runner.invoke(app, ["identify", str(portraits / "impostor_2.jpg"), "--library",
                              str(tmp_path / "none")])
    assert out.exit_code != 0 and "no library at" in out.output


def test_enroll_is_quality_gated_and_names_the_failing_cue(
        tmp_path: Path, portraits: Path, engine: FaceEngine) -> None:
    bgr = cv2.imread(str(portraits / "person_a_2.jpg"))
    blurred = cv2.GaussianBlur(cv2.resize(bgr, None, fx=0.25, fy=0.25), (0, 0), 3)
    cv2.imwrite(str(tmp_path / "blurred.jpg"), blurred)
    cv2.imwrite(str(tmp_path / "wall.jpg"), np.full((200, 200, 3), 128, np.uint8))
    with Library.open(tmp_path / "lib") as lib:
        person, outcomes = enroll(lib, "Person A", [tmp_path / "blurred.jpg",
                                                    tmp_path / "wall.jpg",
                                                    portraits / "person_a_1.jpg",
                                                    portraits / "person_a_2.jpg"], engine)
        status = {Path(o.image).name: o for o in outcomes}
        assert status["blurred.jpg"].status == "refused"
        assert "weakest cue: sharpness" in status["blurred.jpg"].reason
        assert status["wall.jpg"].status == "refused"
        assert status["wall.jpg"].reason == "no face found"
        assert status["person_a_1.jpg"].status == status["person_a_2.jpg"].status == "enrolled"
        faces = lib.store.person_faces(person.id)
        assert len(faces) == 2 and all(f.assigned_by == "user" for f in faces)
        assert [d.kind for d in lib.store.decisions()] == ["enroll", "enroll"]
        _, again = enroll(lib, "person a", [portraits / "person_a_1.jpg"], engine)
        assert again[0].status == "already"
        _, strict = enroll(lib, "Someone", [portraits / "person_a_2.jpg"], engine,
                           min_quality=0.5)
        assert strict[0].status == "refused" and "already enrolled as Person A" in \
            strict[0].reason
        _, picky = enroll(lib, "Other", [portraits / "impostor_1.jpg"], engine,
                          min_quality=1.0)
        assert picky[0].status == "refused" and "below 1.00" in picky[0].reason
    out = runner.invoke(app, ["enroll", "Nobody", str(tmp_path / "wall.jpg"), "--library",
                              str(tmp_path / "lib"), "--json"])
    assert out.exit_code == NoFaceError.exit_code
    assert json.loads(out.stdout)["images"][0]["reason"] == "no face found"


def test_search_finds_the_photos_of_a_face_best_first(library: Path, portraits: Path,
                                                      engine: FaceEngine) -> None:
    with Library.open(library) as lib:
        res = search(lib, engine, portraits / "person_b_2.jpg")
    assert _names(res.photos) == ["person_b_2", "person_b_1"]
    sims = [float(p["similarity"]) for p in res.photos]  # type: ignore[arg-type]
    assert sims[0] > 0.98 and sims[0] > sims[1] >= res.threshold.value  # [0]: re-encoded copy
    assert res.photos[1]["person"] == "Person B" and res.photos[0]["person"] is None


@pytest.mark.parametrize(("args", "expected"), [
    (["--album", "home2021"], ["person_b_2"]),
    (["--folder", "FOLDER/trip2019"], ["person_b_1"]),
    (["--until", "2020-01-01"], ["person_b_1"]),
    (["--since", "2021-08-01", "--until", "2021-08-01"], ["person_b_2"]),
    (["--person", "Person B"], ["person_b_1"]),
    (["--since", "2030-01-01"], []),
])
def test_search_filters(library: Path, portraits: Path, args: list[str],
                        expected: list[str]) -> None:
    args = [a.replace("FOLDER", str(library.parent)) for a in args]
    out = runner.invoke(app, ["search", str(portraits / "person_b_2.jpg"), "--library",
                              str(library), "--json", *args])
    assert out.exit_code == 0, out.output
    assert _names(json.loads(out.stdout)["photos"]) == expected


def test_search_min_quality_filter(library: Path, portraits: Path,
                                   engine: FaceEngine) -> None:
    with Library.open(library) as lib:
        qualities = {Path(lib.store.get_image(f.image_id).path).stem: f.quality  # type: ignore[union-attr]
                     for f in lib.store.faces(lib.store.face_ids(engine.model_id)).values()}
        cut = (qualities["person_a_1"] + qualities["person_a_2"]) / 2
        assert qualities["person_a_1"] < cut < qualities["person_a_2"]
        res = search(lib, engine, portraits / "person_a_2.jpg", flt=FaceFilter(min_quality=cut))
        everything = search(lib, engine, portraits / "person_a_2.jpg")
    assert _names(res.photos) == ["person_a_2"]
    assert _names(everything.photos) == ["person_a_2", "person_a_1"]


def test_bad_filter_values_are_clear_errors(library: Path, portraits: Path) -> None:
    for args, message in ((["--since", "yesterday"], "is not a date"),
                          (["--person", "Nobody"], "no person named 'Nobody'")):
        out = runner.invoke(app, ["search", str(portraits / "person_b_2.jpg"), "--library",
                                  str(library), *args])
        assert out.exit_code != 0 and message in out.output
        assert "Traceback" not in out.output


def test_a_person_split_in_two_is_no_rival_to_itself(library: Path, portraits: Path,
                                                      engine: FaceEngine,
                                                      tmp_path: Path) -> None:
    """Person A's second photo in an unnamed automatic person: a face matching both is
    still named (the margin is over the best *other* person), and the margin still
    applies to real rivals."""
    work = tmp_path / "lib"
    shutil.copytree(library, work)
    with Library.open(work) as lib:
        store = lib.store
        rec = store.image_by_path(str(library.parent / "home2021" / "person_a_2.jpg"))
        assert rec is not None
        [face] = store.faces_of_image(rec.id)
        unnamed = store.create_person(None)
        store.assign_faces([face.id], unnamed.id, "auto")
        [ident] = identify(lib, engine, portraits / "person_a_1.jpg", margin=0.5).faces
        a = next(m for m in ident.matches if m.person == "Person A")
        twin = next(m for m in ident.matches if m.person_id == unnamed.id)
        assert a.similarity - twin.similarity < 0.5  # the raw runner-up is within 0.5...
        assert ident.decision == "Person A"          # ...but it is Person A split in two
        assert ident.margin is not None and ident.margin >= 0.5
        [strict] = identify(lib, engine, portraits / "person_a_1.jpg", margin=1.5).faces
        assert strict.decision == "unknown" and "too close to call" in strict.reason


def test_identify_gallery_is_cached_until_the_catalog_changes(
        library: Path, portraits: Path, engine: FaceEngine, tmp_path: Path) -> None:
    from faceatlas.app.people import merge_people, move_faces, name_person
    from faceatlas.app.privacy import erase, plan_forget
    from faceatlas.library.recognize import identify_gallery

    shutil.copytree(library, tmp_path / "lib")
    model = engine.model_id

    def who(photo: str) -> tuple[str, list[str]]:
        [face] = identify(lib, engine, portraits / f"{photo}.jpg").faces
        return face.decision, [m.person for m in face.matches]

    with Library.open(tmp_path / "lib") as lib:
        first = identify_gallery(lib, model)
        assert identify_gallery(lib, model).gallery is first.gallery  # reused
        other = identify_gallery(lib, model, flt=FaceFilter(since="2019-01-01"))
        assert other.gallery is not first.gallery                   # one per filter
        name_person(lib, "Person A", "Alice")                        # rename
        assert identify_gallery(lib, model).gallery is not first.gallery
        assert who("person_a_2") == ("Alice", ["Alice", "Person B"])
        alice = lib.store.person_by_name("Alice")
        assert alice is not None
        [face] = lib.store.face_ids(model, FaceFilter(person=alice.id)).tolist()
        move_faces(lib, [face], "Person B")                          # move
        assert who("person_a_2")[1] == ["Person B"]
        move_faces(lib, [face], "Alice")
        merge_people(lib, "Alice", ["Person B"])                     # merge
        assert who("person_b_2") == ("Alice", ["Alice"])
        erase(lib, plan_forget(lib, person="Alice"))                 # forget
        with pytest.raises(FaceAtlasError, match="nobody is enrolled"):
            identify(lib, engine, portraits / "person_a_2.jpg")
