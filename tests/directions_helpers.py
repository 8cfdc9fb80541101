"""Synthetic data with known answers, shared by the direction tests (imported by name: no conftest import)."""

import numpy as np

from latentlab.generator.stylegan2 import StyleGAN2Config

TINY = StyleGAN2Config(resolution=16, z_dim=32, w_dim=32, mapping_layers=2, channels={4: 32, 8: 32, 16: 16})


def gaussian_classes(means: np.ndarray, n_per_class: int, seed: int = 0, labels=None):
    """Samples [C*n, D] from N(mean_c, Σ) with a fixed random anisotropic Σ; returns (x, labels, Σ)."""
    rng = np.random.default_rng(seed)
    d = means.shape[1]
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    sd = np.linspace(0.3, 2.0, d)
    cov = (q * sd**2) @ q.T
    chol = np.linalg.cholesky(cov)
    labels = labels or [f"c{i}" for i in range(len(means))]
    x = np.concatenate([m + rng.standard_normal((n_per_class, d)) @ chol.T for m in means])
    y = [labels[i] for i in range(len(means)) for _ in range(n_per_class)]
    perm = rng.permutation(len(x))
    return x[perm], [y[i] for i in perm], cov


def cosine(a, b) -> float:
    return float(np.dot(a, b) / np.linalg.norm(a) / np.linalg.norm(b))


SCHEMA = {"name": "tiny", "attributes": [
    {"name": "blush", "kind": "binary", "options": ["no", "yes"]},
    {"name": "age", "kind": "ordinal", "options": ["child", "teen", "adult"]},
    {"name": "hair", "kind": "categorical", "options": ["black", "red", "blue"]},
]}


def truth_of(w: np.ndarray) -> list[dict[str, str]]:
    """Attributes that are linear functions of w, so fitted directions can be checked against them."""
    t1, t2 = np.quantile(w[:, 1] + w[:, 2], [1 / 3, 2 / 3])
    out = []
    for v in w:
        out.append({"blush": "yes" if v[0] > 0 else "no",
                    "age": ["child", "teen", "adult"][int(np.searchsorted([t1, t2], v[1] + v[2]))],
                    "hair": ["black", "red", "blue"][int(np.argmax(v[3:6]))]})
    return out
