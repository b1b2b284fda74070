"""Person templates: quality-gated, several modes for several looks, best-mode scores."""

from __future__ import annotations

import numpy as np
import pytest

from faceatlas.cluster.templates import (
    MAX_MODES,
    TEMPLATE_MIN_QUALITY,
    Gallery,
    PersonTemplate,
    aggregate_modes,
)


def _unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v, axis=-1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def axes() -> np.ndarray:
    return np.linalg.qr(np.random.default_rng(1).normal(size=(128, 12)))[0].T


def _look(axes: np.ndarray, centre: int, n: int, seed: int) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(scale=0.02, size=(n, 128))
    return _unit(axes[centre] + noise)


def test_two_looks_give_two_modes_and_scores_take_the_best(axes: np.ndarray) -> None:
    young, old = _look(axes, 0, 6, 1), _look(axes, 1, 3, 2)
    t = PersonTemplate.from_vectors(np.vstack([young, old]), np.full(9, 0.9), 7, "m",
                                    list(range(10, 19)))
    assert t.modes.shape == (2, 128) and list(t.weights) == [6, 3] and t.faces == 9
    assert np.allclose(np.linalg.norm(t.modes, axis=1), 1, atol=1e-5)
    single = _unit(np.vstack([young, old]).mean(axis=0))
    # each look is matched by its own mode; one mean of both misses the rarer look
    assert t.similarity(axes[0])[0] > 0.99 and t.similarity(axes[1])[0] > 0.99
    assert float(single @ axes[1]) < 0.5
    assert t.face_ids == tuple(range(10, 19)) and not t.low_quality


def test_low_quality_faces_do_not_build_templates(axes: np.ndarray) -> None:
    good, poor = _look(axes, 0, 3, 3), _look(axes, 2, 3, 4)
    q = np.r_[np.full(3, 0.9), np.full(3, TEMPLATE_MIN_QUALITY - 0.1)]
    t = PersonTemplate.from_vectors(np.vstack([good, poor]), q, face_ids=[1, 2, 3, 4, 5, 6])
    assert len(t.modes) == 1 and t.face_ids == (1, 2, 3)
    assert t.similarity(axes[2])[0] < 0.2
    only_poor = PersonTemplate.from_vectors(poor, np.full(3, 0.1))
    assert only_poor.low_quality and only_poor.faces == 3  # the best stand in, flagged


def test_modes_are_capped_and_weighted_by_quality(axes: np.ndarray) -> None:
    vecs = _unit(axes[:12] + 0.0)
    modes, counts = aggregate_modes(vecs, np.ones(12))
    assert len(modes) == MAX_MODES and list(counts) == [1] * MAX_MODES
    pair = np.vstack([axes[0], axes[0] * 0.9 + axes[1] * 0.5])
    heavy, _ = aggregate_modes(_unit(pair), np.array([1.0, 0.01]))
    light, _ = aggregate_modes(_unit(pair), np.array([0.01, 1.0]))
    assert float(heavy[0] @ axes[0]) > float(light[0] @ axes[0])


def test_gallery_scores_people_by_their_best_mode(axes: np.ndarray) -> None:
    a = PersonTemplate.from_vectors(np.vstack([_look(axes, 0, 2, 5), _look(axes, 1, 2, 6)]))
    b = PersonTemplate.from_vectors(_look(axes, 2, 2, 7))
    gallery = Gallery.of({5: b, 3: a})
    assert gallery.people == (3, 5) and gallery.size == 3
    scores = gallery.person_scores(np.vstack([axes[1], axes[2]]))
    assert scores.shape == (2, 2)
    assert scores[0, 0] > 0.95 and scores[1, 1] > 0.95 and abs(scores[0, 1]) < 0.2
    assert gallery.ranked(axes[1], 1)[0][0] == 3
    assert list(gallery.twins(0, 0.5)) == [True, False]
    empty = Gallery.of({})
    assert empty.size == 0 and empty.person_scores(axes[:1]).shape == (1, 0)
