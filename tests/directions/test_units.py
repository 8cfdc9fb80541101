"""Calibrated units agree across methods on a planted direction, where spread-based units do not."""

import numpy as np
import pytest

from directions.units import LOGIT_PER_UNIT, calibrated_scale, label_gradient


def planted(rng, n=6000, k=1.5):
    """Latents with a wide, label-free axis e1; labels follow the log-odds k * x0."""
    x = rng.standard_normal((n, 6)) * np.array([1.0, 5.0, 1, 1, 1, 1])
    y = rng.random(n) < 1 / (1 + np.exp(-k * x[:, 0]))
    return x, y, k


def test_one_unit_changes_the_true_log_odds_alike_along_two_methods_vectors():
    x, y, k = planted(np.random.default_rng(0))
    exact = np.eye(6)[0]
    tilted = np.cos(0.5) * exact + np.sin(0.5) * np.eye(6)[1]  # 29 degrees off, along the wide axis
    beta = label_gradient(x, y)
    gains = []
    for v in (exact, tilted):
        scale = calibrated_scale(v, beta)
        gains.append(k * v[0] * scale)  # true log-odds gained by one unit
    assert gains == pytest.approx([LOGIT_PER_UNIT, LOGIT_PER_UNIT], rel=0.12)
    # the old unit (std of the projections) disagrees by far on the same two vectors
    old = [k * v[0] * (x @ v).std() for v in (exact, tilted)]
    assert max(old) / min(old) > 1.5


def test_a_vector_the_labels_do_not_rise_along_has_no_calibration():
    x, y, _ = planted(np.random.default_rng(1))
    assert np.isnan(calibrated_scale(-np.eye(6)[0], label_gradient(x, y)))
