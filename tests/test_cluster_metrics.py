"""Clustering metrics on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from faceatlas.evaluation.clustering import (
    bcubed_prf,
    pairwise_prf,
    score_clustering,
    singletons_for_noise,
)


def test_pairwise_hand_computed() -> None:
    # truth pairs: 3 + 1 = 4; predicted pairs: 1 + 3 = 4; pairs in both: 1 + 1 = 2
    s = pairwise_prf(np.array([0, 0, 0, 1, 1]), np.array([0, 0, 1, 1, 1]))
    assert s.precision == pytest.approx(0.5)
    assert s.recall == pytest.approx(0.5)
    assert s.f1 == pytest.approx(0.5)


def test_bcubed_hand_computed() -> None:
    # per-item precision 1, 1, 1/3, 2/3, 2/3; recall 2/3, 2/3, 1/3, 1, 1
    s = bcubed_prf(np.array([0, 0, 0, 1, 1]), np.array([0, 0, 1, 1, 1]))
    assert s.precision == pytest.approx(11 / 15)
    assert s.recall == pytest.approx(11 / 15)
    assert s.f1 == pytest.approx(11 / 15)


def test_asymmetric_case() -> None:
    # everything in one cluster: perfect recall, precision = share of same-identity pairs
    truth = np.array([0, 0, 1, 2])
    pred = np.zeros(4, dtype=int)
    pw = pairwise_prf(truth, pred)
    assert pw.precision == pytest.approx(1 / 6)
    assert pw.recall == 1.0
    bc = bcubed_prf(truth, pred)
    assert bc.precision == pytest.approx((2 / 4 + 2 / 4 + 1 / 4 + 1 / 4) / 4)
    assert bc.recall == 1.0


def test_perfect_and_label_names_do_not_matter() -> None:
    truth = np.array([3, 3, 7, 7, 7, 9])
    pred = np.array([10, 10, 4, 4, 4, 0])
    s = score_clustering(truth, pred)
    assert s.pairwise.f1 == 1.0 and s.bcubed.f1 == 1.0
    assert s.n_clusters == 3 and s.n_true == 3


def test_noise_counts_as_singletons() -> None:
    truth = np.array([0, 0, 0])
    pred = np.array([-1, -1, 0])
    assert list(singletons_for_noise(pred)) == [1, 2, 0]
    pw = pairwise_prf(truth, pred)
    assert (pw.precision, pw.recall, pw.f1) == (1.0, 0.0, 0.0)
    bc = bcubed_prf(truth, pred)
    assert bc.precision == 1.0 and bc.recall == pytest.approx(1 / 3)
    s = score_clustering(truth, pred)
    assert s.n_unassigned == 2 and s.n_clusters == 3


def test_shape_mismatch_rejected() -> None:
    with pytest.raises(ValueError):
        pairwise_prf(np.array([0, 1]), np.array([0]))
