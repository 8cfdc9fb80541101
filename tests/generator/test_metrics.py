import numpy as np

from latentlab.generator.metrics import kernel_distance, total_variation


def test_total_variation():
    assert total_variation([1, 0], [0, 1]) == 1.0
    assert total_variation([0.5, 0.5], [0.5, 0.5]) == 0.0
    assert abs(total_variation([0.6, 0.4], [0.5, 0.5]) - 0.1) < 1e-12


def test_kernel_distance_separates_distributions():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(400, 8)), rng.normal(size=(400, 8))
    shifted = rng.normal(size=(400, 8)) + 0.5
    same, _ = kernel_distance(a, b, n_subsets=10, subset_size=200)
    diff, _ = kernel_distance(a, shifted, n_subsets=10, subset_size=200)
    assert abs(same) < 0.05 and diff > 10 * max(abs(same), 1e-3)
