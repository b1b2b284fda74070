"""Face tracks: one person in one shot, followed across frames.

:class:`Tracker` links the faces of each analysed frame to the open tracks by an
optimal assignment (Hungarian, :func:`scipy.optimize.linear_sum_assignment`) on a cost
that mixes box overlap (IoU) and, where both sides have an embedding, cosine similarity.
A pair is only linkable when the boxes overlap (IoU at least ``min_iou``) or the faces
look alike (similarity at least ``min_sim``) and the box has not jumped further than
``max_jump`` box widths. Tracks end at a shot cut and after ``max_gap`` seconds unseen.

:func:`fill_boxes` turns tracks into a box for every frame they span, interpolating the
frames where detection dropped out and extending each track a few frames either side:
what anonymisation blurs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class TrackFace:
    """One face of a track in one frame."""

    frame: int
    time: float
    box: Box
    score: float
    quality: float = 0.0
    embedding: np.ndarray | None = None


@dataclass
class Track:
    """One face followed through one shot."""

    id: int
    shot: int
    faces: list[TrackFace] = field(default_factory=list)

    @property
    def start(self) -> float:
        return self.faces[0].time

    @property
    def end(self) -> float:
        return self.faces[-1].time

    @property
    def first_frame(self) -> int:
        return self.faces[0].frame

    @property
    def last_frame(self) -> int:
        return self.faces[-1].frame

    def best(self, n: int = 3) -> list[TrackFace]:
        """The ``n`` faces of best quality (those with an embedding first)."""
        return sorted(self.faces, key=lambda f: (f.embedding is None, -f.quality))[:n]

    def embedding(self) -> np.ndarray | None:
        """Quality-weighted mean of the track's embeddings, unit norm (None: none)."""
        with_vec = [f for f in self.faces if f.embedding is not None]
        if not with_vec:
            return None
        w = np.array([max(f.quality, 1e-3) for f in with_vec], np.float32)
        v = (np.stack([f.embedding for f in with_vec if f.embedding is not None])
             * w[:, None]).sum(axis=0)
        norm = float(np.linalg.norm(v))
        return (v / norm).astype(np.float32) if norm > 0 else None

    def to_dict(self) -> dict[str, object]:
        return {"track": self.id, "shot": self.shot, "start": round(self.start, 3),
                "end": round(self.end, 3), "faces": len(self.faces),
                "best_quality": round(max(f.quality for f in self.faces), 4)}


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two ``(x, y, w, h)`` boxes."""
    ax2, ay2, bx2, by2 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    iw = max(0.0, min(ax2, bx2) - max(a[0], b[0]))
    ih = max(0.0, min(ay2, by2) - max(a[1], b[1]))
    inter = iw * ih
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


class Tracker:
    """Online tracker: call :meth:`update` frame by frame, then :meth:`finish`."""

    def __init__(self, min_iou: float = 0.2, min_sim: float = 0.45, max_gap: float = 1.0,
                 max_jump: float = 1.5) -> None:
        self.min_iou = min_iou
        self.min_sim = min_sim
        self.max_gap = max_gap
        self.max_jump = max_jump
        self._open: list[Track] = []
        self._done: list[Track] = []
        self._next = 0
        self._shot = 0

    def update(self, faces: list[TrackFace], shot: int = 0) -> list[int]:
        """Add one frame's faces (all with the same frame and time); returns the track id
        each face joined, in order."""
        if shot != self._shot:
            self._done.extend(self._open)
            self._open = []
            self._shot = shot
        if faces:
            now = faces[0].time
            alive = [t for t in self._open if now - t.end <= self.max_gap]
            self._done.extend(t for t in self._open if now - t.end > self.max_gap)
            self._open = alive
        ids = [-1] * len(faces)
        if self._open and faces:
            cost = np.full((len(self._open), len(faces)), 1e6)
            for i, track in enumerate(self._open):
                last = track.faces[-1]
                ref = track.embedding()
                for j, face in enumerate(faces):
                    c = self._cost(last, ref, face)
                    if c is not None:
                        cost[i, j] = c
            rows, cols = linear_sum_assignment(cost)
            for i, j in zip(rows, cols, strict=True):
                if cost[i, j] < 1e6:
                    self._open[i].faces.append(faces[j])
                    ids[j] = self._open[i].id
        for j, face in enumerate(faces):
            if ids[j] < 0:
                track = Track(self._next, shot, [face])
                self._next += 1
                self._open.append(track)
                ids[j] = track.id
        return ids

    def _cost(self, last: TrackFace, ref: np.ndarray | None, face: TrackFace) -> float | None:
        overlap = iou(last.box, face.box)
        cx = (last.box[0] + last.box[2] / 2) - (face.box[0] + face.box[2] / 2)
        cy = (last.box[1] + last.box[3] / 2) - (face.box[1] + face.box[3] / 2)
        jump = float(np.hypot(cx, cy)) / max(last.box[2], face.box[2], 1.0)
        sim = float(ref @ face.embedding) if ref is not None and face.embedding is not None \
            else None
        if sim is not None and sim < self.min_sim - 0.2 and overlap < 0.5:
            return None  # clearly another person walking through
        if overlap >= self.min_iou or (sim is not None and sim >= self.min_sim
                                       and jump <= self.max_jump):
            return (1.0 - overlap) + (0.0 if sim is None else (1.0 - sim))
        return None

    def finish(self) -> list[Track]:
        """Every track, ordered by start."""
        done = self._done + self._open
        self._open, self._done = [], []
        return sorted(done, key=lambda t: (t.first_frame, t.id))


def fill_boxes(tracks: list[Track], n_frames: int, extend: int = 3
               ) -> dict[int, list[Box]]:
    """Boxes per frame index: each track's detected boxes, linear interpolation over the
    frames inside the track where the face was not detected, and the first/last box held
    ``extend`` frames before and after the track."""
    out: dict[int, list[Box]] = {}
    for track in tracks:
        frames = np.array([f.frame for f in track.faces])
        boxes = np.array([f.box for f in track.faces], np.float64)
        lo = max(0, int(frames[0]) - extend)
        hi = min(n_frames - 1, int(frames[-1]) + extend) if n_frames > 0 else \
            int(frames[-1]) + extend
        span = np.arange(lo, hi + 1)
        inner = np.clip(span, frames[0], frames[-1])
        cols = [np.interp(inner, frames, boxes[:, k]) for k in range(4)]
        for i, fi in enumerate(span):
            out.setdefault(int(fi), []).append(
                (float(cols[0][i]), float(cols[1][i]), float(cols[2][i]), float(cols[3][i])))
    return out
