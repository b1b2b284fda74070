"""What every detector shares: the interface, the image pyramid with its tiles,
input normalisation, mapping back to image coordinates and non-maximum suppression.

A detector family (YuNet, SCRFD) only says how to decode its network's outputs into
boxes, landmarks and scores (:meth:`PyramidDetector.decode`).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from ..config import DEFAULT_MIN_FACE as DEFAULT_MIN_FACE  # re-exported
from ..config import default_min_face
from ..models import ModelRegistry, ModelSpec, Runner, choose_backend, load_runner
from ..types import Detection


class Detector(Protocol):
    """Finds faces: boxes, five landmarks and a confidence score."""

    name: str

    def detect(self, bgr: np.ndarray, min_face: int | None = None) -> list[Detection]: ...


@dataclass(frozen=True)
class Decoded:
    """Raw detections of one network input, in that input's pixels."""

    boxes: np.ndarray  # (n, 4) float32 x1, y1, x2, y2
    landmarks: np.ndarray  # (n, 5, 2) float32
    scores: np.ndarray  # (n,) float32

    @staticmethod
    def empty() -> Decoded:
        return Decoded(np.zeros((0, 4), np.float32), np.zeros((0, 5, 2), np.float32),
                       np.zeros((0,), np.float32))

    @staticmethod
    def concat(parts: list[Decoded]) -> Decoded:
        if not parts:
            return Decoded.empty()
        return Decoded(np.concatenate([p.boxes for p in parts]).astype(np.float32),
                       np.concatenate([p.landmarks for p in parts]).astype(np.float32),
                       np.concatenate([p.scores for p in parts]).astype(np.float32))


@dataclass(frozen=True)
class Window:
    """One network input cut from the image: source rectangle and its scale.

    ``keep_max`` is the largest face (input pixels) this window is trusted for;
    ``inner`` marks which sides (left, top, right, bottom) are cuts through the image
    rather than its border: a face touching such a side is only partly visible here
    and is left to the neighbouring tile, which sees it whole.
    """

    x0: int
    y0: int
    scale: float
    image: np.ndarray  # resized crop, BGR uint8
    keep_max: float = float("inf")
    inner: tuple[bool, bool, bool, bool] = (False, False, False, False)

    def accept(self, d: Decoded, margin: float) -> np.ndarray:
        """Mask of the detections this window is responsible for."""
        b = d.boxes
        size = np.minimum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])
        ok = size <= self.keep_max
        h, w = self.image.shape[:2]
        left, top, right, bottom = self.inner
        if left:
            ok &= b[:, 0] > margin
        if top:
            ok &= b[:, 1] > margin
        if right:
            ok &= b[:, 2] < w - margin
        if bottom:
            ok &= b[:, 3] < h - margin
        return ok

    def near_edge(self, d: Decoded, fraction: float | None = None) -> np.ndarray:
        """Mask of the detections closer to an inner side than ``fraction`` of their
        own extent across it (default :data:`EDGE_FRACTION`): perhaps a face cut by
        the tile, seen whole by a neighbouring window (:func:`nms` prefers those)."""
        f = EDGE_FRACTION if fraction is None else fraction
        b = d.boxes
        bw, bh = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
        h, w = self.image.shape[:2]
        left, top, right, bottom = self.inner
        near = np.zeros(len(b), bool)
        if left:
            near |= b[:, 0] < f * bw
        if top:
            near |= b[:, 1] < f * bh
        if right:
            near |= b[:, 2] > w - f * bw
        if bottom:
            near |= b[:, 3] > h - f * bh
        return near

    def to_image(self, d: Decoded) -> list[Detection]:
        """Detections mapped from window pixels to the original image."""
        offset = np.array([self.x0, self.y0], np.float32)
        out = []
        for box, lm, score in zip(d.boxes, d.landmarks, d.scores, strict=True):
            x1, y1 = box[:2] / self.scale + offset
            bw, bh = (box[2:] - box[:2]) / self.scale
            out.append(Detection((float(x1), float(y1), float(bw), float(bh)),
                                 (lm / self.scale + offset).astype(np.float32), float(score)))
        return out


#: A box closer to a tile's inner side than this fraction of its own extent across
#: that side may be a face cut by the tile (its lower half scored as a whole face):
#: :func:`nms` lets any overlapping box from a window that sees it away from an edge
#: win over it. Tiles overlap by 160 input px and keep faces up to 128 px, so a face
#: near one tile's inner side lies inside the neighbouring tile, and the coarser level
#: sees every face a tile keeps.
EDGE_FRACTION = 0.25
#: Largest ratio between two consecutive pyramid levels. A tile finds faces from
#: ``smallest_detectable`` up to ``keep_max`` (8x as large); 6 leaves a margin.
MAX_LEVEL_RATIO = 6.0
#: Largest enlargement of the image, for faces smaller than the network's limit.
MAX_UPSCALE = 2.0


def pyramid(bgr: np.ndarray, max_side: int, min_face: int, tile: int,
            smallest_detectable: float) -> list[Window]:
    """Windows that together find every face from ``min_face`` pixels to the whole image.

    The first window shows the whole image with its long side at most ``max_side``,
    and smaller still when even then a ``min_face`` face stays detectable
    (``smallest_detectable`` pixels): downscaling that costs nothing. When small faces
    need a larger scale than that, finer levels are added, geometrically spaced at most
    :data:`MAX_LEVEL_RATIO` apart, each cut into ``tile`` squares overlapping by a
    quarter; a tile keeps faces up to 80 % of the overlap, so every face it keeps lies
    whole inside a tile, and larger faces are left to the coarser levels. Faces smaller
    than ``smallest_detectable`` are looked for on the image enlarged (at most
    :data:`MAX_UPSCALE` times): the network misses most faces under its own limit
    (16 px for YuNet), and enlarged they are found (bench/detection.py).
    """
    h, w = bgr.shape[:2]
    needed = min(MAX_UPSCALE, smallest_detectable / max(min_face, 1))
    scale0 = min(1.0, max_side / max(h, w), needed)
    windows = [Window(0, 0, scale0, _resize(bgr, scale0))]
    if needed <= scale0 * (1 + 1e-6):
        return windows
    n_levels = math.ceil(math.log(needed / scale0) / math.log(MAX_LEVEL_RATIO))
    overlap = tile // 4
    for i in range(n_levels):
        scale = needed * (scale0 / needed) ** (i / n_levels)
        src = min(int(tile / scale), max(h, w))
        step = max(1, int((tile - overlap) / scale))
        for y0 in _starts(h, src, step):
            for x0 in _starts(w, src, step):
                y1, x1 = min(h, y0 + src), min(w, x0 + src)
                inner = (x0 > 0, y0 > 0, x1 < w, y1 < h)
                windows.append(Window(x0, y0, scale, _resize(bgr[y0:y1, x0:x1], scale),
                                      overlap * 0.8, inner))
    return windows


def _starts(length: int, size: int, step: int) -> list[int]:
    if length <= size:
        return [0]
    starts = list(range(0, length - size, step))
    starts.append(length - size)
    return starts


def _resize(img: np.ndarray, scale: float) -> np.ndarray:
    if abs(scale - 1.0) < 1e-6:
        return img
    h, w = img.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(img, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)


def nms(dets: list[Detection], iou: float, near_edge: list[bool] | None = None
        ) -> list[Detection]:
    """Non-maximum suppression over detections from all windows, best first.

    Detections flagged ``near_edge`` (:meth:`Window.near_edge`) rank below every other
    one, whatever their score: an overlapping box seen away from any tile edge wins,
    and an edge box is kept only where nothing else covers that face.
    """
    if not dets:
        return []
    boxes = [[float(v) for v in d.box] for d in dets]
    scores = [float(d.score) for d in dets]
    edge = near_edge or [False] * len(dets)
    rank = [s + (0.0 if e else 1.0) for s, e in zip(scores, edge, strict=True)]
    keep = cv2.dnn.NMSBoxes(boxes, rank, 0.0, iou)
    order = sorted((int(i) for i in np.asarray(keep).reshape(-1)), key=lambda i: -scores[i])
    return [dets[i] for i in order]


class PyramidDetector(ABC):
    """A fully convolutional ONNX face detector run over :func:`pyramid` windows.

    The network input follows the registry's :class:`~faceatlas.models.InputSpec`
    (colour order, mean, std), zero-padded to a multiple of ``stride_multiple``.
    ``score_threshold`` is the minimum confidence kept; ``min_face`` the smallest face,
    in pixels of the original image (shorter side of the box), that is searched for
    and reported.
    """

    #: Smallest face (input pixels) the network finds reliably.
    smallest_detectable = 16.0
    #: Side of the square tiles of the finer pyramid levels (input pixels).
    tile = 640
    #: Network inputs are padded to a multiple of this.
    stride_multiple = 32

    def __init__(self, spec: ModelSpec, registry: ModelRegistry | None = None,
                 score_threshold: float = 0.6, nms_threshold: float = 0.3,
                 max_side: int = 640, min_face: int | None = None, backend: str | None = None,
                 threads: int | None = None) -> None:
        registry = registry or ModelRegistry()
        self.name = spec.name
        self.spec = spec
        self.score_threshold = score_threshold
        self.nms_threshold = nms_threshold
        self.max_side = max_side
        self.min_face = min_face
        self.runner: Runner = load_runner(registry.load(spec),
                                          choose_backend(spec.default_backend, backend), threads)
        self._input = self.runner.input_names[0]

    def detect(self, bgr: np.ndarray, min_face: int | None = None) -> list[Detection]:
        """All faces in a BGR image, best first, in the image's pixel coordinates. The
        smallest face is ``min_face``, else the detector's, else
        :func:`~faceatlas.config.default_min_face` of the image."""
        smallest = min_face or self.min_face or default_min_face(bgr.shape[1], bgr.shape[0])
        found: list[Detection] = []
        edge: list[bool] = []
        for win in pyramid(bgr, self.max_side, smallest, self.tile, self.smallest_detectable):
            decoded = self.run_window(win.image)
            keep = win.accept(decoded, margin=2.0)
            kept = Decoded(decoded.boxes[keep], decoded.landmarks[keep], decoded.scores[keep])
            found.extend(win.to_image(kept))
            edge.extend(bool(e) for e in win.near_edge(kept))
        return [d for d in nms(found, self.nms_threshold, edge) if d.size >= smallest]

    def run_window(self, img: np.ndarray, min_score: float | None = None) -> Decoded:
        """Detections in one BGR network input, in its pixels, scoring at least
        ``min_score`` (default ``score_threshold``)."""
        h, w = img.shape[:2]
        m = self.stride_multiple
        ph, pw = -(-h // m) * m, -(-w // m) * m
        # one zero-padded NCHW float32 blob, filled and normalised in place (no temporaries:
        # a 12 MP photo's preview is a 37 MB blob)
        blob = np.zeros((1, 3, ph, pw), np.float32)
        src = img[:, :, ::-1] if self.spec.input.color == "RGB" else img
        blob[0, :, :h, :w] = src.transpose(2, 0, 1)
        if self.spec.input.mean:
            blob -= np.float32(self.spec.input.mean)
        if self.spec.input.std != 1.0:
            blob /= np.float32(self.spec.input.std)
        outs = self.runner.run({self._input: blob})
        return self.decode(outs, ph, pw,
                           self.score_threshold if min_score is None else min_score)

    @abstractmethod
    def decode(self, outputs: list[np.ndarray], height: int, width: int,
               min_score: float) -> Decoded:
        """Decode the network's outputs (graph order) for an input of this size,
        keeping scores at or above ``min_score``."""
