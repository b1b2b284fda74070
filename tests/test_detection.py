"""Detection: the SCRFD decoder on a synthetic graph with known outputs, the detector
factory, the shared pyramid, and multi-scale group photos."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from typer.testing import CliRunner

from faceatlas import FaceEngine
from faceatlas.cli.main import app
from faceatlas.detection import SCRFDDetector, YuNetDetector, create_detector, pyramid
from faceatlas.detection import base as detection_base
from faceatlas.errors import ModelError
from faceatlas.image import load_image
from faceatlas.models import ModelRegistry

# --- SCRFD ---------------------------------------------------------------------------

SIDE = 128  # synthetic input: 128x128 -> grids 16x16, 8x8, 4x4 with 2 anchors each
RED = (255 - 127.5) / 128.0  # red channel of a pure red image after SCRFD normalisation

# (stride, col, row, anchor): (score or None for "0.9 x mean of input channel 0",
#                              box distances l, t, r, b and 5 landmark offsets, in strides)
PLANTED = {
    (8, 3, 2, 1): (None, [2.0, 1.5, 2.5, 3.0],
                   [[-1, -0.5], [1, -0.5], [0, 0.25], [-0.75, 1], [0.75, 1]]),
    (16, 5, 5, 0): (0.75, [1.5, 1.0, 1.25, 2.0],
                    [[-0.5, -0.25], [0.5, -0.25], [0, 0.25], [-0.25, 0.75], [0.25, 0.75]]),
    (32, 0, 3, 1): (0.55, [0.5, 0.5, 0.5, 0.5], [[0, 0]] * 5),  # below the 0.6 threshold
    (32, 3, 0, 0): (0.7, [0.1, 0.0, 0.2, 0.3], [[0, 0]] * 5),  # 9.6 px: below min_face
}


def _index(stride: int, col: int, row: int, anchor: int) -> int:
    return ((row * (SIDE // stride)) + col) * 2 + anchor


def _scrfd_graph() -> onnx.ModelProto:
    """SCRFD-layout graph (9 outputs: scores, boxes, landmarks per stride 8/16/32).

    Outputs are constants except the first planted score, which is 0.9 times the mean
    of the input's channel 0: it checks the decoder's colour order and normalisation.
    """
    nodes = [
        helper.make_node("ReduceMean", ["input.1"], ["chan_mean"], axes=[0, 2, 3], keepdims=0),
        helper.make_node("Gather", ["chan_mean", "zero"], ["c0"], axis=0),
    ]
    inits = [numpy_helper.from_array(np.array(0, np.int64), "zero")]
    outputs = {"score": [], "bbox": [], "kps": []}
    for stride in (8, 16, 32):
        n = (SIDE // stride) ** 2 * 2
        score = np.zeros((n, 1), np.float32)
        mask = np.zeros((n, 1), np.float32)
        bbox = np.zeros((n, 4), np.float32)
        kps = np.zeros((n, 10), np.float32)
        for (s, col, row, anchor), (value, dist, lms) in PLANTED.items():
            if s != stride:
                continue
            i = _index(s, col, row, anchor)
            if value is None:
                mask[i] = 0.9
            else:
                score[i] = value
            bbox[i] = dist
            kps[i] = np.asarray(lms, np.float32).reshape(-1)
        for kind, arr in (("bbox", bbox), ("kps", kps)):
            name = f"{kind}{stride}"
            inits.append(numpy_helper.from_array(arr, f"{name}_c"))
            nodes.append(helper.make_node("Identity", [f"{name}_c"], [name]))
            outputs[kind].append((name, arr.shape))
        inits += [numpy_helper.from_array(score, f"score{stride}_c"),
                  numpy_helper.from_array(mask, f"mask{stride}")]
        nodes += [helper.make_node("Mul", [f"mask{stride}", "c0"], [f"live{stride}"]),
                  helper.make_node("Add", [f"score{stride}_c", f"live{stride}"],
                                   [f"score{stride}"])]
        outputs["score"].append((f"score{stride}", score.shape))
    graph_outputs = [helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape))
                     for kind in ("score", "bbox", "kps") for name, shape in outputs[kind]]
    graph = helper.make_graph(
        nodes, "tiny_scrfd",
        [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, [1, 3, "h", "w"])],
        graph_outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def _expected(key: tuple[int, int, int, int]) -> tuple[list[float], np.ndarray]:
    stride, col, row, _ = key
    _, dist, lms = PLANTED[key]
    cx, cy = col * stride, row * stride
    left, top, right, bottom = (d * stride for d in dist)
    box = [cx - left, cy - top, left + right, top + bottom]
    return box, np.asarray(lms, np.float32) * stride + np.array([cx, cy], np.float32)


@pytest.fixture()
def scrfd_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("FACEATLAS_HOME", str(home))
    model = tmp_path / "tiny_scrfd.onnx"
    onnx.save(_scrfd_graph(), str(model))
    result = CliRunner().invoke(app, ["models", "register", "tiny-scrfd", str(model),
                                      "--task", "detection", "--family", "scrfd",
                                      "--license", "MIT", "--commercial", "--json"])
    assert result.exit_code == 0, result.output
    return home


def test_scrfd_decodes_known_outputs(scrfd_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the synthetic graph has fixed 128x128 outputs: no enlarged tiles for small faces
    monkeypatch.setattr(detection_base, "MAX_UPSCALE", 1.0)
    registry = ModelRegistry(home=scrfd_home)
    spec = registry.get("tiny-scrfd")
    assert (spec.family, spec.input.color, spec.input.mean, spec.input.std) == (
        "scrfd", "RGB", 127.5, 128.0)
    # the planted outputs are not faces: the decoder is checked without the non-face filter
    engine = FaceEngine(detector="tiny-scrfd", registry=registry, min_face=16,
                        check_faces=False)
    assert isinstance(engine.detector, SCRFDDetector)
    red = np.zeros((SIDE, SIDE, 3), np.uint8)
    red[:, :, 2] = 255  # BGR: pure red
    dets = engine.detect(red)
    assert len(dets) == 2
    for det, key, score in ((dets[0], (8, 3, 2, 1), 0.9 * RED), (dets[1], (16, 5, 5, 0), 0.75)):
        box, lms = _expected(key)
        np.testing.assert_allclose(det.box, box, atol=1e-4)
        np.testing.assert_allclose(det.landmarks, lms, atol=1e-4)
        assert det.score == pytest.approx(score, abs=1e-5)
    # Blue instead of red: channel 0 of the RGB input is now -1, the live score vanishes.
    blue = red[:, :, ::-1].copy()
    assert [d.score for d in engine.detect(blue)] == pytest.approx([0.75])
    # The min_face filter: at 8 px the planted 9.6 px face is reported too.
    assert len(engine.detect(red, min_face=8)) == 3


def test_scrfd_rejects_wrong_layout(scrfd_home: Path) -> None:
    registry = ModelRegistry(home=scrfd_home)
    det = create_detector(registry.get("tiny-scrfd"), registry, min_face=16)
    with pytest.raises(ModelError, match="not an SCRFD layout"):
        det.detect(np.zeros((SIDE * 2, SIDE * 2, 3), np.uint8))  # constant outputs, wrong grid


def test_factory_picks_family(engine: FaceEngine) -> None:
    assert isinstance(engine.detector, YuNetDetector)
    spec = engine.registry.get("yunet")
    with pytest.raises(ModelError, match="not a detector"):
        create_detector(engine.registry.get("sface"), engine.registry)
    odd = type(spec)(**{**spec.__dict__, "family": "retinaface"})
    with pytest.raises(ModelError, match="supported detector families: scrfd, yunet"):
        create_detector(odd, engine.registry)


def test_register_rejects_unknown_family(tmp_path: Path) -> None:
    model = tmp_path / "m.onnx"
    onnx.save(_scrfd_graph(), str(model))
    with pytest.raises(ModelError, match="unknown detection family"):
        ModelRegistry(home=tmp_path).register("x", model, "detection", "retinaface", "MIT", True)


# --- pyramid -------------------------------------------------------------------------


def test_pyramid_small_image_is_one_window() -> None:
    wins = pyramid(np.zeros((480, 640, 3), np.uint8), 640, 16, 640, 16.0)
    assert len(wins) == 1 and wins[0].scale == 1.0


def test_pyramid_downscales_when_min_face_allows() -> None:
    # 64 px faces stay >= 16 px at scale 0.25: nothing is lost by looking at 160x120.
    wins = pyramid(np.zeros((480, 640, 3), np.uint8), 640, 64, 640, 16.0)
    assert len(wins) == 1 and wins[0].scale == 0.25 and wins[0].image.shape == (120, 160, 3)


def test_pyramid_large_image_levels_and_tiles() -> None:
    h, w = 3000, 4000
    wins = pyramid(np.zeros((h, w, 3), np.uint8), 640, 24, 640, 16.0)
    whole, tiles = wins[0], wins[1:]
    assert whole.scale == pytest.approx(640 / 4000) and whole.keep_max == float("inf")
    assert {round(t.scale, 4) for t in tiles} == {round(16 / 24, 4)}  # one tiled level
    covered = np.zeros((h, w), bool)
    for t in tiles:
        th, tw = (round(s / t.scale) for s in t.image.shape[:2])
        covered[t.y0:t.y0 + th, t.x0:t.x0 + tw] = True
        assert max(t.image.shape[:2]) <= 641
        assert t.inner == (t.x0 > 0, t.y0 > 0, t.x0 + tw < w - 1, t.y0 + th < h - 1)
    assert covered.all()


# --- multi-scale group photo -----------------------------------------------------------


def _face_box(engine: FaceEngine, img: np.ndarray) -> tuple[float, float, float, float]:
    return engine.detect(img, min_face=16)[0].box


@pytest.fixture(scope="module")
def group(engine: FaceEngine, portraits: Path):  # type: ignore[no-untyped-def]
    """A 4000x3000 photo: one large face and eight small ones (about 40-60 px), with
    the expected box of each face in the composite's coordinates."""
    rng = np.random.default_rng(7)
    canvas = np.full((3000, 4000, 3), 0, np.uint8)
    canvas[:] = np.linspace(60, 190, 4000, dtype=np.float32).astype(np.uint8)[None, :, None]
    canvas += rng.integers(0, 20, canvas.shape, dtype=np.uint8)
    files = sorted(portraits.glob("*.jpg"))
    # (portrait index, face width in px, top-left of the pasted portrait); two small faces
    # straddle the 640-px tile grid of the finer level (tile edges fall near x = 720,
    # 1440 ... in the original image).
    # The large portrait goes first: the small ones are pasted over its background.
    layout = [(4, 500, (2500, 1300)), (0, 40, (150, 200)), (1, 44, (690, 650)),
              (2, 58, (1400, 300)), (3, 60, (2150, 1050)), (4, 42, (3500, 250)),
              (5, 56, (300, 2500)), (2, 41, (1430, 2300)), (3, 62, (3550, 2550))]
    expected = []
    for idx, face_w, (x, y) in layout:
        img = load_image(files[idx])
        bx, by, bw, bh = _face_box(engine, img)
        s = face_w / bw
        small = cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
        sh, sw = small.shape[:2]
        canvas[y:y + sh, x:x + sw] = small[: 3000 - y, : 4000 - x]
        expected.append((x + bx * s, y + by * s, bw * s, bh * s))
    return canvas, expected


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def test_group_photo_every_face_once(engine: FaceEngine, group) -> None:  # type: ignore[no-untyped-def]
    canvas, expected = group
    faces = engine.analyze(canvas)
    assert len(faces) == len(expected)
    for box in expected:
        matches = [f for f in faces if _iou(f.box, box) > 0.5]
        assert len(matches) == 1, box
    # Each found face is one of the planted faces (no stray or duplicate boxes).
    for f in faces:
        assert max(_iou(f.box, box) for box in expected) > 0.5


def test_group_photo_min_face(engine: FaceEngine, group) -> None:  # type: ignore[no-untyped-def]
    canvas, expected = group
    big_only = engine.detect(canvas, min_face=200)
    assert len(big_only) == 1 and _iou(big_only[0].box, expected[0]) > 0.5
    mid = engine.detect(canvas, min_face=51)
    assert all(d.size >= 51 for d in mid)
    assert len(mid) == sum(1 for b in expected if min(b[2], b[3]) >= 51)


def test_pyramid_enlarges_for_faces_under_the_network_limit() -> None:
    # 8 px faces need the image at twice its size: one tiled level at scale 2
    wins = pyramid(np.zeros((480, 640, 3), np.uint8), 640, 8, 640, 16.0)
    assert wins[0].scale == 1.0
    assert {t.scale for t in wins[1:]} == {2.0} and len(wins) > 2
    assert all(max(t.image.shape[:2]) <= 641 for t in wins[1:])
    # never more than MAX_UPSCALE, whatever min_face asks for
    assert max(t.scale for t in pyramid(np.zeros((100, 100, 3), np.uint8), 640, 2, 640,
                                        16.0)) == 2.0


# --- a face cut by a tile's inner edge ----------------------------------------------


def test_face_cut_by_tile_edge_is_found_whole(engine: FaceEngine, portraits: Path) -> None:
    """A tile whose inner top edge crosses a face scores the part below the edge as a
    face; the whole-face box of the neighbouring tile or the coarser level must win."""
    det = engine.detector
    h, w, min_face = 960, 1280, 10
    wins = pyramid(np.zeros((h, w, 3), np.uint8), det.max_side, min_face, det.tile,
                   det.smallest_detectable)
    edge = min(t.y0 for t in wins[1:] if t.y0 > 0)  # a tile's inner top side (y = 300)
    img = load_image(sorted(portraits.glob("*.jpg"))[3])
    bx, by, bw, bh = _face_box(engine, img)
    s = 60 / bw  # a 60 px face: kept by the tiles of the finer level (scale 1.6)
    small = cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
    sh, sw = small.shape[:2]

    def found(face_top: int) -> tuple[float, ...]:
        """Box found for the face pasted with its top at ``face_top``, in the pasted
        portrait's coordinates."""
        canvas = np.full((h, w, 3), 120, np.uint8)
        y = int(round(face_top - by * s))
        canvas[y:y + sh, 500:500 + sw] = small
        truth = (500 + bx * s, y + by * s, bw * s, bh * s)
        best = max(det.detect(canvas, min_face=min_face), key=lambda d: _iou(d.box, truth))
        x1, y1, bw2, bh2 = best.box
        return (x1 - 500, y1 - y, bw2, bh2)

    away = found(edge + 120)  # well inside one tile, away from every inner side
    for cut in (11, 17, 23):  # the edge crosses the forehead / eyes
        assert _iou(found(edge - cut), away) >= 0.8, cut
