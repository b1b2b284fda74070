"""Video: reading, tracks on composed clips, anonymisation (identity gone, consenting
people kept, metadata and audio kept) and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner
from video_helpers import Appearance, write_audio_only, write_clip

from faceatlas import FaceEngine
from faceatlas.cli.main import app
from faceatlas.errors import VideoError
from faceatlas.library import Library
from faceatlas.privacy.anonymize import (
    DEFAULT_MARGIN,
    EXTEND_FRAMES,
    Consent,
    anonymize,
    anonymize_image,
    anonymize_video,
    grow,
    plan_video,
    sensitive_engine,
    write_video,
)
from faceatlas.verification import resolve_threshold
from faceatlas.video import decode_frames, probe, track_video
from faceatlas.video.tracks import Tracker, TrackFace, fill_boxes


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory, portraits: Path) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("clips")
    a, b = portraits / "person_a_2.jpg", portraits / "person_b_1.jpg"
    two = root / "two.mp4"
    write_clip(two, [Appearance(a, 0.0, 3.0, 10, 60, 100, 60),
                     Appearance(b, 1.0, 2.5, 300, 90, 280, 90)], audio=True)
    cut = root / "cut.mp4"
    write_clip(cut, [Appearance(a, 0.0, 3.0, 40, 60, 40, 60)], cut_at=1.5)
    return {"two": two, "cut": cut}


def _identity(engine: FaceEngine, path: Path) -> np.ndarray:
    return engine.face(path).embedding.vector


def test_probe_and_decode(clips: dict[str, Path]) -> None:
    info = probe(clips["two"])
    assert (info.width, info.height, info.fps, info.audio_codec) == (480, 360, 10.0, "aac")
    frames = list(decode_frames(clips["two"]))
    assert len(frames) == 30
    assert frames[-1][1] == pytest.approx(2.9, abs=1e-6)


def test_tracks_times_and_identities(clips: dict[str, Path], engine: FaceEngine,
                                     portraits: Path) -> None:
    result = track_video(clips["two"], engine, interval=0)
    assert result.frames_decoded == 30 and result.frames_analysed == 30
    tracks = [t for t in result.tracks if len(t.faces) >= 3]
    assert len(tracks) == 2, [t.to_dict() for t in result.tracks]
    who_a = _identity(engine, portraits / "person_a_1.jpg")
    who_b = _identity(engine, portraits / "person_b_2.jpg")
    by_start = sorted(tracks, key=lambda t: t.start)
    ta, tb = by_start
    assert ta.start == pytest.approx(0.0) and ta.end == pytest.approx(2.9)
    assert tb.start == pytest.approx(1.0) and tb.end == pytest.approx(2.4)
    ea, eb = ta.embedding(), tb.embedding()
    assert ea is not None and eb is not None
    assert float(ea @ who_a) > float(ea @ who_b)
    assert float(eb @ who_b) > float(eb @ who_a)


def test_sampling_keeps_fewer_frames_and_cuts_split_tracks(clips: dict[str, Path],
                                                           engine: FaceEngine) -> None:
    sampled = track_video(clips["two"], engine, interval=0.5)
    assert 6 <= sampled.frames_analysed < 30
    cut = track_video(clips["cut"], engine, interval=0)
    shots = sorted({t.shot for t in cut.tracks})
    assert shots == [0, 1]
    assert all(t.end < 1.5 for t in cut.tracks if t.shot == 0)
    assert all(t.start >= 1.5 for t in cut.tracks if t.shot == 1)


def test_cli_lists_the_methods_it_has() -> None:
    from faceatlas.cli.anonymize import METHODS_TEXT
    from faceatlas.privacy.anonymize import METHODS

    assert ", ".join(METHODS) == METHODS_TEXT


def test_fill_boxes_interpolates_and_extends() -> None:
    tracker = Tracker()
    for frame in (2, 3, 6):  # detection dropped out at frames 4 and 5
        tracker.update([TrackFace(frame, frame / 10, (2.0 * frame, 0.0, 20.0, 20.0), 0.9)])
    [track] = tracker.finish()
    boxes = fill_boxes([track], n_frames=20, extend=2)
    assert sorted(boxes) == list(range(0, 9))
    assert boxes[4][0][0] == pytest.approx(8.0) and boxes[5][0][0] == pytest.approx(10.0)
    assert boxes[0][0] == boxes[2][0] and boxes[8][0] == boxes[6][0]


def _faces_still_recognisable(src: Path, out: Path, engine: FaceEngine,
                              who: dict[str, np.ndarray]) -> dict[str, int]:
    """Per identity, in how many frames of ``out`` the face region found in ``src`` still
    matches that identity (embedded at the source's landmarks)."""
    t = resolve_threshold(engine.recognizer.spec.name).value
    hits = dict.fromkeys(who, 0)
    for (_, _, f_src), (_, _, f_out) in zip(decode_frames(src), decode_frames(out),
                                            strict=True):
        s, o = f_src.to_ndarray(format="bgr24"), f_out.to_ndarray(format="bgr24")
        dets = engine.detector.detect(s)
        if not dets:
            continue
        for face in engine.analyze(o, dets):
            for name, vec in who.items():
                hits[name] += int(float(face.embedding.vector @ vec) >= t)
    return hits


def test_anonymized_video_keeps_format_and_loses_identities(
        clips: dict[str, Path], engine: FaceEngine, portraits: Path, tmp_path: Path) -> None:
    out = tmp_path / "anon.mp4"
    outcome = anonymize_video(clips["two"], out, engine)
    src_info, out_info = probe(clips["two"]), probe(out)
    assert (out_info.width, out_info.height, out_info.fps) == (480, 360, 10.0)
    assert len(list(decode_frames(out))) == 30
    assert out_info.duration == pytest.approx(src_info.duration, abs=0.11)
    assert out_info.audio_codec == "aac" and outcome.audio.startswith("copied")
    assert outcome.anonymised == outcome.faces >= 2
    who = {"a": _identity(engine, portraits / "person_a_1.jpg"),
           "b": _identity(engine, portraits / "person_b_2.jpg")}
    before = _faces_still_recognisable(clips["two"], clips["two"], engine, who)
    assert before["a"] >= 25 and before["b"] >= 12  # the check can fail
    assert _faces_still_recognisable(clips["two"], out, engine, who) == {"a": 0, "b": 0}


def test_plan_covers_every_face_and_holds_tracks(clips: dict[str, Path], engine: FaceEngine,
                                                tmp_path: Path) -> None:
    plan = plan_video(clips["two"], sensitive_engine())
    assert plan.frames == 30 and plan.hidden
    seen = 0
    for i, _, frame in decode_frames(clips["two"]):
        bgr = frame.to_ndarray(format="bgr24")
        h, w = bgr.shape[:2]
        areas = [grow(b, DEFAULT_MARGIN, w, h) for b in plan.boxes.get(i, [])]
        for d in engine.detector.detect(bgr):  # indexing's detector: every face it sees
            x, y, bw, bh = d.box
            seen += 1
            assert any(x1 <= x and y1 <= y and x + bw <= x2 and y + bh <= y2
                       for x1, y1, x2, y2 in areas), (i, d.box, areas)
    assert seen >= 40
    # B is on screen from frame 10 to 24: its track's boxes are held EXTEND_FRAMES beyond
    b_track = max(plan.hidden, key=lambda t: t.first_frame)
    first, last = b_track.first_frame, b_track.last_frame
    assert first >= 9 and last <= 25
    assert b_track.faces[0].box in plan.boxes[first - EXTEND_FRAMES]
    assert b_track.faces[0].box not in plan.boxes.get(first - EXTEND_FRAMES - 1, [])
    assert b_track.faces[-1].box in plan.boxes[min(last + EXTEND_FRAMES, 29)]
    out = write_video(clips["two"], tmp_path / "planned.mp4", plan)
    assert out.frames == 30 and out.anonymised == len(plan.hidden)
    assert len(list(decode_frames(tmp_path / "planned.mp4"))) == 30


def test_anonymize_keeps_irregular_timestamps(portraits: Path, engine: FaceEngine,
                                             tmp_path: Path) -> None:
    """Frames closer together than one frame period (a variable-rate source) keep their
    own timestamps; they used to collide in the encoder and the muxer refused them."""
    from fractions import Fraction

    import av
    from video_helpers import H, W, render_frame

    src, n = tmp_path / "vfr.mp4", 12
    pts = [0, 3] + [100 * i for i in range(1, n - 1)]  # ms: the first two 3 ms apart
    with av.open(str(src), "w") as out:
        vs = out.add_stream("libx264", rate=10)
        vs.width, vs.height, vs.pix_fmt = W, H, "yuv420p"
        vs.time_base = vs.codec_context.time_base = Fraction(1, 1000)
        for p in pts:
            img = render_frame(p / 1000, [Appearance(portraits / "person_a_2.jpg", 0.0, 2.0,
                                                     40, 60, 40, 60)], (200, 200, 190))
            frame = av.VideoFrame.from_ndarray(img, format="bgr24")
            frame.pts, frame.time_base = p, Fraction(1, 1000)
            out.mux(vs.encode(frame))
        out.mux(vs.encode(None))
    assert len(list(decode_frames(src))) == n
    dst = tmp_path / "vfr_anon.mp4"
    outcome = anonymize_video(src, dst, engine)
    assert outcome.frames == n and outcome.anonymised >= 1
    times = [t for _, t, _ in decode_frames(dst)]
    assert len(times) == n and times[1] - times[0] < 0.01


def test_keep_leaves_consenting_person_clear(clips: dict[str, Path], engine: FaceEngine,
                                             portraits: Path, lib: Path,
                                             tmp_path: Path) -> None:
    with Library.open(lib, create=False) as opened:
        consent = Consent.from_library(opened, engine, keep=["Person A"], only=[])
    out = tmp_path / "keep.mp4"
    outcome = anonymize_video(clips["two"], out, engine, consent)
    assert outcome.kept == ["Person A"]
    who = {"a": _identity(engine, portraits / "person_a_1.jpg"),
           "b": _identity(engine, portraits / "person_b_2.jpg")}
    hits = _faces_still_recognisable(clips["two"], out, engine, who)
    assert hits["a"] >= 25 and hits["b"] == 0

    with Library.open(lib, create=False) as opened:
        only_b = Consent.from_library(opened, engine, keep=[], only=["Person B"])
    out2 = tmp_path / "only.mp4"
    anonymize_video(clips["two"], out2, engine, only_b)
    hits = _faces_still_recognisable(clips["two"], out2, engine, who)
    assert hits["a"] >= 25 and hits["b"] == 0


def _jpeg_with_gps(src: Path, dst: Path) -> None:
    img = Image.open(src)
    exif = img.getexif()
    exif[0x010F] = "TestCam"  # Make
    exif[0x0112] = 1
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (48.0, 51.0, 24.0)
    gps[3], gps[4] = "E", (2.0, 21.0, 3.0)
    img.save(dst, exif=exif)


def test_image_keeps_metadata_but_gps(portraits: Path, engine: FaceEngine,
                                      tmp_path: Path) -> None:
    src = tmp_path / "gps.jpg"
    _jpeg_with_gps(portraits / "person_b_1.jpg", src)
    assert 0x8825 in Image.open(src).getexif()
    out = tmp_path / "out.jpg"
    result = anonymize_image(src, out, engine)
    assert result.anonymised == 1
    exif = Image.open(out).getexif()
    assert exif[0x010F] == "TestCam" and 0x8825 not in exif
    kept = tmp_path / "kept.jpg"
    anonymize_image(src, kept, engine, keep_gps=True)
    assert Image.open(kept).getexif().get_ifd(0x8825)[1] == "N"
    t = resolve_threshold(engine.recognizer.spec.name).value
    dets = engine.detector.detect(np.asarray(Image.open(src))[:, :, ::-1].copy())
    [face] = engine.analyze(str(out), dets)
    assert float(face.embedding.vector @ _identity(engine, src)) < t


def test_bad_videos_are_clear_errors(clips: dict[str, Path], tmp_path: Path,
                                     engine: FaceEngine) -> None:
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    text = tmp_path / "text.mp4"
    text.write_text("not a video at all\n" * 20)
    truncated = tmp_path / "truncated.mp4"
    data = clips["two"].read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    audio = tmp_path / "audio.mp4"
    write_audio_only(audio)
    unknown = tmp_path / "unknown.mp4"
    unknown.write_bytes(data.replace(b"avc1", b"zzz9").replace(b"avcC", b"zzzC"))
    messages = {}
    for path in (empty, text, truncated, audio, unknown):
        with pytest.raises(VideoError) as info:
            list(decode_frames(path))
        messages[path.name] = str(info.value)
    assert "empty" in messages["empty.mp4"]
    assert "no video stream" in messages["audio.mp4"]
    assert all(str(tmp_path) in m for m in messages.values())


def test_cli_folder_goes_on_after_a_bad_video(clips: dict[str, Path], portraits: Path,
                                              tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "clip.mp4").write_bytes(clips["two"].read_bytes())
    (folder / "broken.mp4").write_bytes(b"\x00" * 100)
    (folder / "a.jpg").write_bytes((portraits / "person_a_1.jpg").read_bytes())
    (folder / "notes.txt").write_text("left out")
    result = CliRunner().invoke(app, ["anonymize", str(folder), str(tmp_path / "out"),
                                      "--json"])
    assert result.exit_code == 7, result.output
    outcomes = {Path(o["source"]).name: o for o in json.loads(result.stdout)["outcomes"]}
    assert set(outcomes) == {"clip.mp4", "broken.mp4", "a.jpg"}
    assert "error" in outcomes["broken.mp4"]
    assert outcomes["clip.mp4"]["anonymised"] >= 2 and outcomes["a.jpg"]["anonymised"] == 1
    assert (tmp_path / "out" / "clip.mp4").is_file()
    with pytest.raises(Exception, match="output must differ"):
        anonymize(folder, folder, FaceEngine())
