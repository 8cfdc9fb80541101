"""Distribution metrics for judging a generator against the renderer (pure numpy)."""

from __future__ import annotations

import numpy as np


def total_variation(p: np.ndarray, q: np.ndarray) -> float:
    """TV distance between two discrete distributions: half the L1 distance, in [0, 1]."""
    p = np.asarray(p, float) / np.sum(p)
    q = np.asarray(q, float) / np.sum(q)
    return float(0.5 * np.abs(p - q).sum())


def class_frequencies(labels: np.ndarray, n_classes: int) -> np.ndarray:
    return np.bincount(np.asarray(labels, int), minlength=n_classes) / max(len(labels), 1)


def kernel_distance(x: np.ndarray, y: np.ndarray, n_subsets: int = 50, subset_size: int = 1000,
                    seed: int = 0) -> tuple[float, float]:
    """Kernel Inception Distance-style unbiased MMD^2 with a cubic polynomial kernel.

    Features [N, D] of two sets; returns (mean, std) over random subsets. Same kernel as KID:
    k(a, b) = (a.b / D + 1)^3. Values near 0 mean the two feature distributions match.
    """
    rng = np.random.default_rng(seed)
    d = x.shape[1]
    m = min(subset_size, len(x), len(y))
    vals = []
    for _ in range(n_subsets):
        a = x[rng.choice(len(x), m, replace=False)]
        b = y[rng.choice(len(y), m, replace=False)]
        kxx = (a @ a.T / d + 1) ** 3
        kyy = (b @ b.T / d + 1) ** 3
        kxy = (a @ b.T / d + 1) ** 3
        mmd = ((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
               - 2 * kxy.mean())
        vals.append(mmd)
    return float(np.mean(vals)), float(np.std(vals))
