"""Video in the library: indexing speed, tracks per sampling interval against hand-checked
truth, and finding a person in footage (enrol from one clip, identify/search another).

    python bench/video.py [--videos DIR] [--parts speed,tracks,find,truth] [--out FILE]

Data: ``/work/shared/datasets/videos`` (never in the repository). The truth below was
checked by eye on contact sheets of every clip (one frame per second, 0.5 s for the
street crowd, extracted with :func:`faceatlas.video.decode_frames`): the people on
screen, when, and the hard cuts. It is coarse (to about 0.5 s). Cut times were placed
with a scan of the mean grey-level change between consecutive frames (64x36 thumbnails):
every framing change seen on a sheet is either a jump of 37-59 there (a cut) or no jump
above 6 at all (a zoom).

* **speed**: indexing (:func:`faceatlas.library.videos.analyze_video`: decode, sample
  every ``VIDEO_INTERVAL`` s, detect, embed, track) of ``andrew_yang_dev.m4v`` (1274x718)
  and ``street_crowd.mp4`` (1920x1080) with 1 and 2 threads (engine and OpenCV; the
  decoder keeps FFmpeg's own threads). Baseline of the same run: decoding alone (every
  frame converted to BGR, as the sampler does for the frames it keeps).
* **tracks**: per clip and interval, the tracks found, their coverage of the true
  on-screen time (at each 0.25 s of truth, the people covered by a track, a track
  covering [start - interval/2, end + interval/2], capped at the people on screen),
  false seconds (tracks where truth has nobody), and the fragmentation (tracks / true
  person-shots). The interval is chosen on the ``*_dev`` and ``*_train`` clips and
  reported on the ``*_testin*`` clips.
* **truth**: track recall per sampling interval against the hand-checked face boxes of
  ``bench/data/video_truth.json`` (``bench/video_truth.py``): at every checked frame, the
  true faces (at least the indexing floor in size) that a track spans and lies on, and
  the people on screen (as counted by eye) covered by such a track.
* **find**: a library where Barack Obama, Trevor Noah and Lilly Singh are enrolled from
  their ``*_train`` clips (``faceatlas enroll`` on a video: its largest track); the dev
  and test clips are then identified (each track: the open-set decision of a photo face)
  and indexed, and a frame of each training clip is searched for.
* **gate**: the same enrolment; each dev/test clip's tracks (as ``identify`` finds them)
  decided with the photo gate on the track's best face (the old rule: a baseline in the
  same run, same tracks, same gallery) and with the track gate
  (:func:`faceatlas.library.recognize.track_refusal`) over a grid of its two parameters;
  tracks named correctly / wrongly / left unknown against :data:`ON_SCREEN`. Parameters
  are chosen on the ``CHOOSE`` clips, reported on the ``REPORT`` clips.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np

from faceatlas.library import Indexer, Library
from faceatlas.library.analysis import EngineSettings
from faceatlas.library.recognize import (
    enroll,
    identify_gallery,
    identify_many,
    search,
    track_refusal,
)
from faceatlas.library.videos import VIDEO_INTERVAL, analyze_video, video_tracks
from faceatlas.video import decode_frames, probe, track_video

VIDEOS = Path("/work/shared/datasets/videos")


@dataclass(frozen=True)
class Truth:
    """Segments ``(start, end, people on screen)`` and the true person-shots."""

    segments: tuple[tuple[float, float, int], ...]
    person_shots: int
    note: str


#: Checked by eye on contact sheets (see the module).
TRUTH: dict[str, Truth] = {
    "andrew_yang_dev.m4v": Truth(((0.0, 11.53, 1),), 1, "Andrew Yang, one shot"),
    "obama_dev.mp4": Truth(((0.0, 11.37, 1),), 1, "Barack Obama, one shot"),
    "obama_train.mov": Truth(((0.0, 11.26, 1),), 2,
                             "Barack Obama; a cut (wide to closer) between 1 and 2 s"),
    "trevor_noah_train.m4v": Truth(((0.0, 21.98, 1),), 1, "Trevor Noah, one shot"),
    "trevor_noah_dev.mp4": Truth(((0.0, 49.5, 1), (49.5, 55.05, 0)), 4,
                                 "Trevor Noah to 49.5 s, then a text card; hard cuts at "
                                 "20.4, 27.3, 32.8 and 49.7 s (the framing change near 8 s "
                                 "is a zoom: no frame-to-frame jump)"),
    "yang_noah_testin.m4v": Truth(((0.0, 12.6, 2), (12.6, 34.42, 1)), 3,
                                  "Yang and Noah in a two-shot to 12.6 s, then a cut to "
                                  "Yang alone"),
    "joe_biden_testing.m4v": Truth(((0.0, 0.9, 1), (0.9, 2.0, 0), (2.0, 17.78, 1)), 2,
                                   "Joe Biden; a red transition about 1-2 s"),
}
CHOOSE = ("andrew_yang_dev.m4v", "obama_dev.mp4", "obama_train.mov",
          "trevor_noah_train.m4v", "trevor_noah_dev.mp4")
REPORT = ("yang_noah_testin.m4v", "joe_biden_testing.m4v")
INTERVALS = (0.25, 0.5, 1.0, 2.0)


def set_threads(n: int) -> None:
    cv2.setNumThreads(n)


def speed(videos: Path, threads: tuple[int, ...] = (1, 2)) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for name in ("andrew_yang_dev.m4v", "street_crowd.mp4"):
        path = videos / name
        info = probe(path)
        t0 = time.perf_counter()
        n = 0
        for _, _, frame in decode_frames(path):
            frame.to_ndarray(format="bgr24")
            n += 1
        decode_s = time.perf_counter() - t0
        for k in threads:
            set_threads(k)
            engine = EngineSettings(threads=k).build()
            engine.analyze(np.zeros((64, 64, 3), np.uint8))  # load the models first
            t0 = time.perf_counter()
            res = analyze_video(engine, str(path))
            s = time.perf_counter() - t0
            assert res.error is None, res.error
            rows.append({"clip": name, "size": f"{info.width}x{info.height}", "threads": k,
                         "frames": n, "analysed": res.frames[0], "seconds": round(s, 2),
                         "video_fps": round(n / s, 1),
                         "analysed_fps": round(res.frames[0] / s, 2),
                         "realtime": round(info.duration / s, 2),
                         "decode_only_fps": round(n / decode_s, 1),
                         "tracks": len(res.faces)})
            print(rows[-1], flush=True)
    return rows


def coverage(tracks: list[tuple[float, float]], truth: Truth, interval: float,
             duration: float) -> tuple[float, float]:
    """(recall of true person-time, seconds of track where truth has nobody)."""
    half = max(interval, 1 / 30) / 2
    hit = want = 0
    false_s = 0.0
    step = 0.25
    for t in np.arange(0.0, duration, step):
        n_true = next((n for a, b, n in truth.segments if a <= t < b), 0)
        covering = sum(1 for a, b in tracks if a - half <= t <= b + half)
        want += n_true
        hit += min(covering, n_true)
        if n_true == 0 and covering:
            false_s += step
    return (hit / want if want else 1.0), false_s


def tracks_sweep(videos: Path) -> list[dict[str, object]]:
    set_threads(2)
    engine = EngineSettings(threads=2).build()
    rows: list[dict[str, object]] = []
    for name, truth in TRUTH.items():
        info = probe(videos / name)
        for interval in INTERVALS:
            t0 = time.perf_counter()
            from faceatlas.config import default_min_face

            res = track_video(videos / name, engine, interval,
                              min_face=default_min_face(info.width, info.height),
                              checked=True)
            s = time.perf_counter() - t0
            spans = [(t.start, t.end) for t in res.tracks if t.embedding() is not None]
            recall, false_s = coverage(spans, truth, interval, info.duration)
            rows.append({"clip": name, "part": "choose" if name in CHOOSE else "report",
                         "interval": interval, "analysed": res.frames_analysed,
                         "tracks": len(spans), "person_shots": truth.person_shots,
                         "shots_found": len({t.shot for t in res.tracks}),
                         "recall": round(recall, 3), "false_s": false_s,
                         "seconds": round(s, 2)})
            print(rows[-1], flush=True)
    return rows


TRUTH_FILE = Path(__file__).parent / "data" / "video_truth.json"


def _matches(track_box: tuple[float, ...], true_box: tuple[float, ...]) -> bool:
    """A track's box is on a true face: overlap, or its centre inside the true box."""
    from faceatlas.video.tracks import iou

    cx, cy = track_box[0] + track_box[2] / 2, track_box[1] + track_box[3] / 2
    x, y, w, h = true_box
    return iou(track_box, true_box) >= 0.3 or (x <= cx <= x + w and y <= cy <= y + h)


def truth_tracks(videos: Path, truth_file: Path = TRUTH_FILE) -> list[dict[str, object]]:
    """Track recall against the hand-checked boxes of ``bench/data/video_truth.json``:
    at each checked frame, a true face (at least the indexing floor in size) is found
    when a track with an embedding spans its time (± half an interval) and that track's
    face nearest in time lies on it (IoU >= 0.3 or its centre inside the true box)."""
    from faceatlas.config import default_min_face

    data = json.loads(truth_file.read_text())
    set_threads(2)
    engine = EngineSettings(threads=2).build()
    rows: list[dict[str, object]] = []
    for name in TRUTH:
        frames = data["clips"][name]["frames"]
        info = probe(videos / name)
        floor = default_min_face(info.width, info.height)
        for interval in INTERVALS:
            res = track_video(videos / name, engine, interval, min_face=floor, checked=True)
            tracks = [t for t in res.tracks if t.embedding() is not None]
            half = max(interval, 1 / 30) / 2
            want = hit = small = people = people_hit = 0
            for f in frames:
                t = f["time"]
                live = [tr for tr in tracks if tr.start - half <= t <= tr.end + half]
                near = [min(tr.faces, key=lambda x: abs(x.time - t)).box for tr in live]
                for b in f["faces"]:
                    box = tuple(b["box"])
                    if min(box[2], box[3]) < floor:
                        small += 1
                        continue
                    want += 1
                    hit += any(_matches(nb, box) for nb in near)
                n = int(f.get("people", 0))
                people += n
                people_hit += min(n, sum(1 for nb in near
                                         if any(_matches(nb, tuple(b["box"]))
                                                for b in f["faces"])))
            rows.append({"clip": name, "part": "choose" if name in CHOOSE else "report",
                         "interval": interval, "checked_frames": len(frames),
                         "true_faces": want, "found": hit,
                         "face_recall": round(hit / want, 4) if want else 1.0,
                         "below_floor": small, "people": people,
                         "people_recall": round(people_hit / people, 4) if people else 1.0,
                         "tracks": len(tracks)})
            print(rows[-1], flush=True)
    return rows


def find(videos: Path) -> dict[str, object]:
    set_threads(2)
    engine = EngineSettings(threads=2).build()
    root = Path(tempfile.mkdtemp(prefix="bench_video_"))
    out: dict[str, object] = {}
    try:
        with Library.open(root / "lib") as lib:
            enrolled = {}
            for who, clip in (("Barack Obama", "obama_train.mov"),
                              ("Trevor Noah", "trevor_noah_train.m4v"),
                              ("Lilly Singh", "lilly_singh_train.mov")):
                person, outcomes = enroll(lib, who, [videos / clip], engine)
                enrolled[who] = [o.to_dict() for o in outcomes]
            out["enrolled"] = enrolled
            targets = ("obama_dev.mp4", "trevor_noah_dev.mp4", "yang_noah_testin.m4v",
                       "andrew_yang_dev.m4v", "joe_biden_testing.m4v")
            results = identify_many(lib, engine, [str(videos / c) for c in targets])
            ident = {}
            for clip, res in zip(targets, results, strict=True):
                ident[clip] = [{"start": f.track["start"] if f.track else None,
                                "end": f.track["end"] if f.track else None,
                                "decision": f.decision,
                                "similarity": round(f.similarity or 0.0, 3),
                                "reason": f.reason} for f in res.faces]
                print(clip, ident[clip], flush=True)
            out["identify"] = ident
            Indexer(lib, workers=0, engine=engine).run([str(videos / c) for c in targets])
            found = {}
            for who, clip, at in (("Barack Obama", "obama_train.mov", 5.0),
                                  ("Trevor Noah", "trevor_noah_train.m4v", 5.0)):
                frame = next(f for _, t, f in decode_frames(videos / clip) if t >= at)
                png = root / f"{clip}.png"
                cv2.imwrite(str(png), frame.to_ndarray(format="bgr24"))
                res = search(lib, engine, png)
                found[who] = [{"path": Path(str(p["path"])).name, "kind": p["kind"],
                               "similarity": p["similarity"],
                               "ranges": [(r["start"], r["end"]) for r in
                                          p.get("ranges", [])]}  # type: ignore[union-attr]
                              for p in res.photos]
                print(who, found[who], flush=True)
            out["search"] = found
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return out


#: Enrolled people on screen per clip (from :data:`TRUTH`): (name, start, end) seconds.
ON_SCREEN: dict[str, tuple[tuple[str, float, float], ...]] = {
    "obama_dev.mp4": (("Barack Obama", 0.0, 11.37),),
    "trevor_noah_dev.mp4": (("Trevor Noah", 0.0, 49.5),),
    "yang_noah_testin.m4v": (("Trevor Noah", 0.0, 12.6),),
    "andrew_yang_dev.m4v": (),
    "joe_biden_testing.m4v": (),
}
ENROL = (("Barack Obama", "obama_train.mov"), ("Trevor Noah", "trevor_noah_train.m4v"),
         ("Lilly Singh", "lilly_singh_train.mov"))
GATE_GRID = tuple((m, q) for m in (3, 5, 10) for q in (0.1, 0.15, 0.25))


def _verdict(clip: str, decision: str, start: float, end: float) -> str:
    if decision == "unknown":
        return "unknown"
    ok = any(decision == who and start < b and end > a for who, a, b in ON_SCREEN[clip])
    return "right" if ok else "wrong"


def gate(videos: Path) -> dict[str, object]:
    """Photo gate on the best face (old) vs the track gate (grid), same tracks."""
    set_threads(2)
    engine = EngineSettings(threads=2).build()
    root = Path(tempfile.mkdtemp(prefix="bench_gate_"))
    rows: list[dict[str, object]] = []
    try:
        with Library.open(root / "lib") as lib:
            for who, clip in ENROL:
                enroll(lib, who, [videos / clip], engine)
            g = identify_gallery(lib, engine.model_id)
            for clip in ON_SCREEN:
                tracks = video_tracks(engine, videos / clip)
                faces = [f for _, f in tracks]
                settings: list[tuple[str, list[str | None] | None]] = [("old", None)]
                settings += [(f"track {m} x {q}", [track_refusal(t, m, q) for t, _ in tracks])
                             for m, q in GATE_GRID]
                for name, refusals in settings:
                    idents = g.identify_faces(faces, refusals=refusals)
                    for (t, _), ident in zip(tracks, idents, strict=True):
                        rows.append({
                            "clip": clip, "part": "choose" if clip in CHOOSE else "report",
                            "setting": name, "start": round(t.start, 2),
                            "end": round(t.end, 2), "frames": len(t.faces),
                            "best_quality": round(ident.face.quality.score, 3),
                            "best_side": round(min(ident.face.box[2:]), 1),
                            "decision": ident.decision,
                            "similarity": round(ident.similarity or 0.0, 3),
                            "verdict": _verdict(clip, ident.decision, t.start, t.end),
                            "reason": ident.reason})
                print(clip, [r for r in rows if r["clip"] == clip and r["setting"] in
                             ("old", "track 5 x 0.15")], flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    summary: dict[str, dict[str, int]] = {}
    for r in rows:
        key = f"{r['part']} | {r['setting']}"
        cell = summary.setdefault(key, {"right": 0, "wrong": 0, "unknown": 0})
        cell[str(r["verdict"])] += 1
    for key, cell in summary.items():
        print(key, cell, flush=True)
    return {"threshold": g.threshold.value, "rows": rows, "summary": summary}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", type=Path, default=VIDEOS)
    ap.add_argument("--parts", default="speed,tracks,find")
    ap.add_argument("--out", type=Path, default=Path("bench_video.json"))
    args = ap.parse_args()
    parts = set(args.parts.split(","))
    result: dict[str, object] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} {os.cpu_count()} cpu", "python": sys.version.split()[0],
        "interval_default": VIDEO_INTERVAL}
    if "speed" in parts:
        result["speed"] = speed(args.videos)
    if "tracks" in parts:
        result["tracks"] = tracks_sweep(args.videos)
    if "find" in parts:
        result["find"] = find(args.videos)
    if "gate" in parts:
        result["gate"] = gate(args.videos)
    if "truth" in parts:
        result["truth_tracks"] = truth_tracks(args.videos)
    args.out.write_text(json.dumps(result, indent=1))
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
