"""Categorical paths on planted 3-class Gaussians: source to target, never through the third class."""

import numpy as np

from directions.paths import Whitening, log_posteriors, third_class_share, two_class_path


def planted(rng, n=3000):
    """Three classes in a correlated 2-D discriminant space; class 2 sits beside the 0 -> 1 route."""
    cov = np.array([[1.0, 0.6], [0.6, 2.0]])
    means = np.array([[-3.0, 0.0], [3.0, 0.0], [0.0, 4.5]])
    y = rng.integers(0, 3, n)
    x = means[y] + rng.multivariate_normal(np.zeros(2), cov, n)
    return x, y, means, cov


def straight_path(z0, end, n):
    t = np.linspace(0, 1, n)[:, None]
    return (1 - t) * z0 + t * end


def test_no_frame_of_any_path_is_read_as_the_third_class():
    rng = np.random.default_rng(0)
    x, y, means_raw, cov = planted(rng)
    white = Whitening.from_covariance(cov)
    z, means = white.forward(x), white.forward(means_raw)
    log_priors = np.log(np.full(3, 1 / 3))
    sources = np.flatnonzero(log_posteriors(z, means, log_priors).argmax(1) == 0)[:300]
    straight, ours = [], []
    for i in sources:
        path = two_class_path(z[i], 0, 1, means, log_priors, n_frames=60)
        ours.append(third_class_share(path, 0, 1, means, log_priors))
        straight.append(third_class_share(straight_path(z[i], means[1], 60), 0, 1, means, log_priors))
        assert np.allclose(path[0], z[i]) and np.allclose(path[-1], means[1])
    assert max(ours) == 0.0
    assert np.mean(np.array(straight) > 0) > 0.05  # the straight route does cross class 2 for some faces


def test_the_target_posterior_rises_along_the_path():
    rng = np.random.default_rng(1)
    x, y, means_raw, cov = planted(rng, 500)
    white = Whitening.from_covariance(cov)
    z, means = white.forward(x), white.forward(means_raw)
    log_priors = np.log(np.full(3, 1 / 3))
    i = int(np.flatnonzero(y == 0)[0])
    p_target = np.exp(log_posteriors(two_class_path(z[i], 0, 1, means, log_priors, 40), means, log_priors)[:, 1])
    assert p_target[0] < 0.5 < p_target[-1]
    assert np.all(np.diff(p_target) > -1e-9)


def test_whitening_round_trips():
    white = Whitening.from_covariance(np.array([[2.0, 0.3], [0.3, 1.0]]))
    x = np.random.default_rng(2).standard_normal((10, 2))
    assert np.allclose(white.inverse(white.forward(x)), x)
