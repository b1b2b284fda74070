"""Least-squares similarity transform (rotation, uniform scale, translation) from
five landmarks to the ArcFace template, solved in closed form (Umeyama, 1991)."""

from __future__ import annotations

import cv2
import numpy as np

#: Landmark positions of the 112x112 crop every recognizer in faceatlas receives:
#: the two eyes, nose tip and two mouth corners, first point on the image's left.
ARCFACE_TEMPLATE = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
     [41.5493, 92.3655], [70.7299, 92.2041]], dtype=np.float64)


def estimate_similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """2x3 matrix of the similarity transform that best maps ``src`` onto ``dst``."""
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    if src.shape != dst.shape or src.ndim != 2 or src.shape[1] != 2 or len(src) < 2:
        raise ValueError("need matching (n, 2) point sets with n >= 2")
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s, d = src - mu_s, dst - mu_d
    var_s = (s ** 2).sum() / len(src)
    cov = d.T @ s / len(src)
    u, sig, vt = np.linalg.svd(cov)
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[1, 1] = -1.0
    rot = u @ sign @ vt
    scale = float(np.trace(np.diag(sig) @ sign) / var_s) if var_s > 0 else 1.0
    m = np.zeros((2, 3))
    m[:, :2] = scale * rot
    m[:, 2] = mu_d - scale * rot @ mu_s
    return m


def align_face(bgr: np.ndarray, landmarks: np.ndarray, size: int = 112) -> np.ndarray:
    """Warp the face with these landmarks to a ``size`` x ``size`` aligned crop."""
    template = ARCFACE_TEMPLATE * (size / 112.0)
    m = estimate_similarity(np.asarray(landmarks, np.float64).reshape(5, 2), template)
    return cv2.warpAffine(bgr, m, (size, size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
