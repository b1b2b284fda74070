"""Videos in the library: indexing (tracks with time ranges and shots), search ranges,
identify VIDEO, forget, relations per shot, bad videos, on clips composed from the
fixture portraits (tests/video_helpers.py)."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from privacy_helpers import needles, traces
from typer.testing import CliRunner
from video_helpers import Appearance, write_audio_only, write_clip

from faceatlas import FaceEngine
from faceatlas.cli.main import app
from faceatlas.library import Indexer, IndexSummary, Library
from faceatlas.library.recognize import (
    PROBE_MIN_QUALITY,
    TRACK_MIN_FRAMES,
    enroll,
    search,
    track_refusal,
)
from faceatlas.privacy.erasure import execute
from faceatlas.privacy.forget import plan_forget_person
from faceatlas.relations.catalog import CatalogOccurrences, shot_of, shot_photo_id
from faceatlas.relations.graph import RelationGraph
from faceatlas.store import FaceRecord
from faceatlas.video import Track, TrackFace


@dataclass
class Built:
    clips: Path
    lib: Path
    summary: IndexSummary


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, portraits: Path,
          engine: FaceEngine) -> Built:
    root = tmp_path_factory.mktemp("vidlib")
    a, b = portraits / "person_a_2.jpg", portraits / "person_b_1.jpg"
    clips = root / "clips"
    clips.mkdir()
    # A the whole clip, B from 1.0 to 2.5 s: together in one shot
    write_clip(clips / "two.mp4", [Appearance(a, 0.0, 3.0, 10, 60, 100, 60),
                                   Appearance(b, 1.0, 2.5, 300, 90, 280, 90)])
    # one person, a shot cut at 1.5 s: two tracks
    write_clip(clips / "cut.mp4", [Appearance(a, 0.0, 3.0, 40, 60, 40, 60)], cut_at=1.5)
    # A in the first shot, B in the second: the same video, never the same shot
    write_clip(clips / "apart.mkv", [Appearance(a, 0.0, 1.5, 60, 60, 60, 60),
                                     Appearance(b, 1.5, 3.0, 200, 80, 200, 80)], cut_at=1.5)
    data = (clips / "two.mp4").read_bytes()
    bad = clips / "bad"
    bad.mkdir()
    (bad / "empty.mp4").write_bytes(b"")
    (bad / "truncated.mp4").write_bytes(data[: len(data) // 2])
    (bad / "unknown.mov").write_bytes(data.replace(b"avc1", b"zzz9").replace(b"avcC",
                                                                            b"zzzC"))
    write_audio_only(bad / "audio.mp4")
    lib = root / "lib"
    with Library.open(lib) as opened:
        enroll(opened, "Person A", [portraits / "person_a_1.jpg"], engine)
        enroll(opened, "Person B", [portraits / "person_b_2.jpg"], engine)
        summary = Indexer(opened, workers=0, engine=engine).run([str(clips)])
    return Built(clips, lib, summary)


def _tracks(lib: Path, path: Path) -> list[FaceRecord]:
    with Library.open(lib, create=False) as opened:
        rec = opened.store.image_by_path(str(path))
        assert rec is not None and rec.media == "video", rec
        return sorted(opened.store.faces_of_image(rec.id), key=lambda f: f.t_start or 0.0)


def _who(lib: Path, engine: FaceEngine, portraits: Path, face: FaceRecord) -> str:
    """A or B: whose portrait the track's stored (aggregated) embedding is closer to."""
    with Library.open(lib, create=False) as opened:
        [(_, vecs)] = list(opened.store.embeddings(engine.model_id, [face.id]))
    a = engine.face(portraits / "person_a_1.jpg").embedding.vector
    b = engine.face(portraits / "person_b_2.jpg").embedding.vector
    return "A" if float(vecs[0] @ a) > float(vecs[0] @ b) else "B"


def test_tracks_with_time_ranges_shots_and_identities(built: Built, engine: FaceEngine,
                                                     portraits: Path) -> None:
    s = built.summary
    assert s.videos == 3 and s.tracks == 6 and s.new == 3
    ta, tb = _tracks(built.lib, built.clips / "two.mp4")
    assert (ta.t_start, ta.t_end, ta.shot) == (0.0, pytest.approx(2.5), 0)
    assert (tb.t_start, tb.t_end, tb.shot) == (1.0, pytest.approx(2.0), 0)
    assert [_who(built.lib, engine, portraits, f) for f in (ta, tb)] == ["A", "B"]
    first, second = _tracks(built.lib, built.clips / "cut.mp4")
    assert (first.shot, second.shot) == (0, 1)
    assert first.t_end is not None and first.t_end < 1.5
    assert second.t_start is not None and second.t_start >= 1.5
    x, y = _tracks(built.lib, built.clips / "apart.mkv")
    assert [_who(built.lib, engine, portraits, f) for f in (x, y)] == ["A", "B"]
    assert (x.shot, y.shot) == (0, 1)
    with Library.open(built.lib, create=False) as opened:
        rec = opened.store.image_by_path(str(built.clips / "two.mp4"))
        assert rec is not None and rec.duration == pytest.approx(3.0, abs=0.11)
        assert rec.face_count == 2 and opened.store.thumbnail(ta.id)


def test_bad_videos_are_errors_and_the_run_goes_on(built: Built) -> None:
    errors = {Path(e["path"]).name: e["error"] for e in built.summary.errors}
    assert set(errors) == {"empty.mp4", "truncated.mp4", "unknown.mov", "audio.mp4"}
    assert "no video stream" in errors["audio.mp4"] and "empty" in errors["empty.mp4"]
    assert all("\n" not in m and m for m in errors.values())
    assert built.summary.files_seen == 7 and built.summary.pending == 0


def test_search_gives_video_ranges(built: Built, engine: FaceEngine, portraits: Path) -> None:
    with Library.open(built.lib, create=False) as opened:
        res = search(opened, engine, portraits / "person_b_2.jpg")
    items = {Path(str(p["path"])).name: p for p in res.photos}
    two, apart = items["two.mp4"], items["apart.mkv"]
    assert two["kind"] == "video" and items["person_b_2.jpg"]["kind"] == "photo"
    [r] = two["ranges"]  # type: ignore[misc]
    assert (r["start"], r["end"]) == (1.0, 2.0) and r["similarity"] == two["similarity"]
    [r2] = apart["ranges"]  # type: ignore[misc]
    assert r2["start"] >= 1.5 and r2["shot"] == 1
    assert "cut.mp4" not in items  # only Person A there
    out = CliRunner().invoke(app, ["search", str(portraits / "person_a_1.jpg"),
                                   "--library", str(built.lib), "--json"])
    assert out.exit_code == 0, out.output
    cut = next(p for p in json.loads(out.stdout)["photos"] if p["path"].endswith("cut.mp4"))
    assert cut["kind"] == "video" and [x["shot"] for x in cut["ranges"]] == [0, 1]
    assert cut["ranges"][0]["end"] < 1.5 <= cut["ranges"][1]["start"]


def test_identify_video_lists_tracks_with_times_and_decisions(built: Built) -> None:
    out = CliRunner().invoke(app, ["identify", str(built.clips / "two.mp4"), "--library",
                                   str(built.lib), "--json"])
    assert out.exit_code == 0, out.output
    [res] = json.loads(out.stdout)
    assert res["kind"] == "video"
    got = [(f["decision"], f["start"], f["end"], f["shot"]) for f in res["faces"]]
    assert sorted(got) == [("Person A", 0.0, 2.5, 0), ("Person B", 1.0, 2.0, 0)]


def test_relations_count_people_in_the_same_shot_only(built: Built, tmp_path: Path) -> None:
    lib = Path(shutil.copytree(built.lib, tmp_path / "lib"))
    with Library.open(lib, create=False) as opened:
        source = CatalogOccurrences(opened.store)
        a = opened.store.person_by_name("Person A")
        b = opened.store.person_by_name("Person B")
        assert a is not None and b is not None
        two = opened.store.image_by_path(str(built.clips / "two.mp4"))
        apart = opened.store.image_by_path(str(built.clips / "apart.mkv"))
        assert two is not None and apart is not None
        # the indexed tracks are unassigned: link them as naming would (in both videos
        # the first track is A's, the second B's: test_tracks_with_time_ranges...)
        for video in (two, apart):
            fa, fb = opened.store.faces_of_image(video.id)
            opened.store.assign_faces([fa.id], a.id, "user")
            opened.store.assign_faces([fb.id], b.id, "user")
        graph = RelationGraph.from_occurrences(source.occurrences())
        together = graph.photos_of(a.id) & graph.photos_of(b.id)
        assert together == {shot_photo_id(two.id, 0)}
        assert shot_of(shot_photo_id(two.id, 0)) == (two.id, 0)
        assert graph.photos_of(b.id) >= {shot_photo_id(apart.id, 1)}
        assert source.photo_paths([shot_photo_id(apart.id, 1)]) == {
            shot_photo_id(apart.id, 1): f"{apart.path}#shot=1"}


def test_forget_removes_their_tracks(built: Built, tmp_path: Path, engine: FaceEngine,
                                     portraits: Path) -> None:
    lib = Path(shutil.copytree(built.lib, tmp_path / "lib"))
    tracks = {f.id: f for p in ("two.mp4", "apart.mkv", "cut.mp4")
              for f in _tracks(lib, built.clips / p)}
    theirs = {i for i, f in tracks.items() if _who(lib, engine, portraits, f) == "B"}
    assert len(theirs) == 2
    with Library.open(lib, create=False) as opened:
        data = {}
        for i in tracks:
            [(_, vecs)] = list(opened.store.embeddings(engine.model_id, [i]))
            thumb = opened.store.thumbnail(i)
            assert thumb
            data[i] = (vecs[0].tobytes(), thumb)
    wanted = needles({i: data[i] for i in theirs})
    assert {i for _, i in traces(lib, wanted)} == set(range(len(wanted)))
    with Library.open(lib, create=False) as opened:
        execute(opened, plan_forget_person(opened, "Person B"))
        left = set(opened.store.faces(list(tracks)))
    assert left == set(tracks) - theirs
    assert traces(lib, wanted) == []
    kept = needles({i: data[i] for i in left})
    assert {i for _, i in traces(lib, kept)} == set(range(len(kept)))


def test_no_videos_skips_them(tmp_path: Path, built: Built, engine: FaceEngine) -> None:
    with Library.open(tmp_path / "lib") as opened:
        s = Indexer(opened, workers=0, engine=engine, videos=False).run(
            [str(built.clips / "two.mp4")])
        assert s.skipped["video"] == 1 and s.videos == 0
        assert opened.store.stats()["images"] == 0


def test_cli_interval_is_the_library_default() -> None:
    from faceatlas.cli.library import VIDEO_INTERVAL as CLI_INTERVAL
    from faceatlas.library.videos import VIDEO_INTERVAL

    assert CLI_INTERVAL == VIDEO_INTERVAL
    assert np.isfinite(VIDEO_INTERVAL)


def test_cluster_takes_tracks_like_faces(built: Built, tmp_path: Path, engine: FaceEngine,
                                        portraits: Path) -> None:
    lib = Path(shutil.copytree(built.lib, tmp_path / "lib"))
    out = CliRunner().invoke(app, ["cluster", "--library", str(lib), "--json"])
    assert out.exit_code == 0, out.output
    with Library.open(lib, create=False) as opened:
        b = opened.store.person_by_name("Person B")
        assert b is not None
        for clip in ("two.mp4", "apart.mkv", "cut.mp4"):
            rec = opened.store.image_by_path(str(built.clips / clip))
            assert rec is not None
            for f in opened.store.faces_of_image(rec.id):
                assert f.person_id is not None  # every track joined a person
                # B's tracks join the enrolled Person B; A's never do (A's may form a
                # person of their own: person_a_2 in the clips vs person_a_1 enrolled)
                assert (f.person_id == b.id) == (_who(lib, engine, portraits, f) == "B")


def test_moved_video_keeps_its_tracks_and_unchanged_is_not_decoded(
        built: Built, tmp_path: Path, engine: FaceEngine) -> None:
    lib = Path(shutil.copytree(built.lib, tmp_path / "lib"))
    clips = Path(shutil.copytree(built.clips, tmp_path / "clips"))
    with Library.open(lib, create=False) as opened:
        first = Indexer(opened, workers=0, engine=engine).run([str(clips)])
        assert first.new == 3 and first.videos == 3  # new paths: analysed
        before = {f.id for f in opened.store.faces_of_image(
            opened.store.image_by_path(str(clips / "two.mp4")).id)}  # type: ignore[union-attr]
        (clips / "two.mp4").rename(clips / "renamed.mp4")
        again = Indexer(opened, workers=0, engine=engine).run([str(clips)])
        assert (again.moved, again.unchanged, again.videos) == (1, 2, 0)
        rec = opened.store.image_by_path(str(clips / "renamed.mp4"))
        assert rec is not None and rec.media == "video"
        assert {f.id for f in opened.store.faces_of_image(rec.id)} == before


def _identify(lib: Path, clip: Path) -> list[dict[str, object]]:
    out = CliRunner().invoke(app, ["identify", str(clip), "--library", str(lib), "--json"])
    assert out.exit_code == 0, out.output
    [res] = json.loads(out.stdout)
    assert res["kind"] == "video"
    return sorted(res["faces"], key=lambda f: f["box"][0])


def test_a_track_is_gated_on_its_evidence_not_its_best_face(built: Built, portraits: Path,
                                                           tmp_path: Path) -> None:
    # soft faces (blur 2 px, ~57 px wide): every frame below the photo gate (quality 0.35)
    # yet recognisable; 4 s sampled every 0.5 s gives the track 8 frames of evidence
    clip = tmp_path / "soft.mp4"
    write_clip(clip, [Appearance(portraits / "person_a_2.jpg", 0.0, 4.0, 10, 80, 10, 80,
                                 height=160, blur=2.0),
                      Appearance(portraits / "impostor_1.jpg", 0.0, 4.0, 300, 80, 300, 80,
                                 height=160, blur=2.0)], seconds=4.0)
    a, stranger = _identify(built.lib, clip)
    assert float(a["quality"]) < PROBE_MIN_QUALITY  # the photo gate would refuse it
    assert int(a["usable_frames"]) >= TRACK_MIN_FRAMES
    assert a["decision"] == "Person A", a
    # the stranger's track passes the gate too: it is the similarity that leaves it unknown
    assert float(stranger["quality"]) < PROBE_MIN_QUALITY
    assert stranger["decision"] == "unknown" and "below the threshold" in \
        str(stranger["reason"]), stranger


def test_a_glimpse_of_a_poor_face_stays_unknown_with_a_reason(built: Built, portraits: Path,
                                                              tmp_path: Path) -> None:
    # an enrolled person, soft, on screen for 0.3 s: one sampled frame
    clip = tmp_path / "glimpse.mp4"
    write_clip(clip, [Appearance(portraits / "person_b_1.jpg", 1.0, 1.3, 150, 80, 150, 80,
                                 height=160, blur=2.0)], seconds=2.0)
    [b] = _identify(built.lib, clip)
    assert b["frames"] == 1 and float(b["quality"]) < PROBE_MIN_QUALITY
    assert b["decision"] == "unknown"
    assert "track too weak to name" in str(b["reason"]) and \
        f"needs {TRACK_MIN_FRAMES}" in str(b["reason"]), b


def test_track_refusal_counts_usable_frames() -> None:
    vec = np.ones(4, np.float32) / 2
    good = TrackFace(0, 0.0, (0.0, 0.0, 60.0, 60.0), 0.9, 0.5, vec)
    soft = [TrackFace(i, i / 2, (0.0, 0.0, 60.0, 60.0), 0.9, 0.3, vec) for i in range(5)]
    tiny = [TrackFace(i, i / 2, (0.0, 0.0, 20.0, 20.0), 0.9, 0.3, vec) for i in range(9)]
    assert track_refusal(Track(0, 0, [good])) is None           # the photo gate passes
    assert track_refusal(Track(1, 0, soft)) is None             # enough evidence
    assert "1 of its 1 frames" in str(track_refusal(Track(2, 0, soft[:1])))
    assert "0 of its 9 frames" in str(track_refusal(Track(3, 0, tiny)))  # all too small
    assert track_refusal(Track(4, 0, [TrackFace(0, 0.0, (0, 0, 60, 60), 0.9, 0.5)])) == \
        "no face of the track was embedded"
