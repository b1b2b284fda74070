"""Five-point similarity alignment."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from faceatlas.alignment import ARCFACE_TEMPLATE, align_face, estimate_similarity


def _similarity(angle_deg: float, scale: float, tx: float, ty: float) -> np.ndarray:
    a = np.radians(angle_deg)
    rot = scale * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return np.hstack([rot, [[tx], [ty]]])


@pytest.mark.parametrize("angle,scale,tx,ty", [(0, 1, 0, 0), (25, 2.5, 100, -40),
                                               (-170, 0.3, 5, 7)])
def test_recovers_exact_transform(angle: float, scale: float, tx: float, ty: float) -> None:
    m = _similarity(angle, scale, tx, ty)
    src = ARCFACE_TEMPLATE
    dst = src @ m[:, :2].T + m[:, 2]
    np.testing.assert_allclose(estimate_similarity(src, dst), m, atol=1e-9)


def test_least_squares_with_noise_matches_opencv() -> None:
    rng = np.random.default_rng(0)
    src = ARCFACE_TEMPLATE * 3 + 50
    dst = src @ _similarity(10, 0.5, 3, 4)[:, :2].T + rng.normal(0, 1.0, src.shape)
    ours = estimate_similarity(src, dst)
    ref, _ = cv2.estimateAffinePartial2D(src, dst, method=cv2.LMEDS)
    assert np.abs(ours - ref).max() < 0.5  # both near the true transform


def test_mirrored_points_give_a_rotation_not_a_reflection() -> None:
    src = ARCFACE_TEMPLATE
    dst = src * np.array([-1.0, 1.0])
    m = estimate_similarity(src, dst)
    assert np.linalg.det(m[:, :2]) > 0


def test_bad_point_sets() -> None:
    with pytest.raises(ValueError):
        estimate_similarity(np.zeros((5, 2)), np.zeros((4, 2)))


@pytest.mark.parametrize("size", [112, 224])
def test_align_puts_landmarks_on_template(size: int) -> None:
    """Draw dots at landmark positions of a turned, scaled face; after alignment the
    dots lie on the template."""
    m = _similarity(-20, 2.2, 200, 90)
    lms = ARCFACE_TEMPLATE @ m[:, :2].T + m[:, 2]
    img = np.zeros((600, 600, 3), np.uint8)
    for x, y in lms:
        cv2.circle(img, (round(x), round(y)), 4, (255, 255, 255), -1)
    crop = align_face(img, lms, size)
    assert crop.shape == (size, size, 3)
    n, labels, stats, centroids = cv2.connectedComponentsWithStats(
        (crop[:, :, 0] > 100).astype(np.uint8))
    assert n - 1 == 5
    expected = ARCFACE_TEMPLATE * size / 112
    for c in centroids[1:]:
        assert np.linalg.norm(expected - c, axis=1).min() < 1.5
