"""How smooth and how disentangled a generator's W is: two figures that limit every linear edit.

* Perceptual path length (StyleGAN, Karras et al. 2019): the mean squared perceptual distance between
  images at W-interpolation points t and t + eps, divided by eps², over random pairs of latents. Lower is
  smoother. The distance here is the squared L2 distance between the oracle's penultimate features, the
  one perceptual space that is the same for every generator (a generator-specific metric net would not
  compare two generators fairly). Like the paper, the 1 % extremes at each end are dropped.
* Random-move change rate: how often one attribute's oracle reading changes when a face moves a given
  distance along a random direction of W (drawn from the latents' own covariance, distance in standard
  deviations of the latents' projections onto it). It is the chance level of side effects for any edit
  of that length: an edit cannot be cleaner than the W it moves in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from latentlab.generator.interface import LatentGenerator, map_latents, render, sample_z
from latentlab.generator.synthetic.attributes import ATTRIBUTES
from latentlab.generator.synthetic.oracle import Oracle


@dataclass
class Smoothness:
    ppl: float  # perceptual path length in W, oracle-feature units
    change_rate: dict[str, float]  # attribute -> share of faces whose reading changed under a random move
    distance: float  # the random move's length, in standard deviations along its direction

    @property
    def mean_change_rate(self) -> float:
        return float(np.mean(list(self.change_rate.values())))


def unit_directions(cov: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n unit rows [n, D] drawn from N(0, cov) and normalised: random directions shaped like the latents."""
    chol = np.linalg.cholesky(cov + 1e-6 * np.eye(len(cov)))
    v = rng.standard_normal((n, len(cov))) @ chol.T
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def random_directions(w: np.ndarray, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n unit directions drawn from N(0, cov(w)), and the std of w's projections onto each [n]."""
    cov = np.cov(w, rowvar=False)
    u = unit_directions(cov, n, rng)
    return u, np.sqrt(np.einsum("nd,de,ne->n", u, cov, u))


def random_move_change_rate(gen: LatentGenerator, oracle: Oracle, n: int = 1000, distance: float = 3.0,
                            seed: int = 0, truncation_psi: float = 1.0) -> dict[str, float]:
    """Per attribute, the share of n faces whose oracle reading changes after a random move of `distance`."""
    rng = np.random.default_rng(seed)
    w = map_latents(gen, sample_z(n, seed, gen.z_dim), truncation_psi)
    u, std = random_directions(w, n, rng)
    before = oracle.predict(render(gen, w, batch_size=64))
    after = oracle.predict(render(gen, w + distance * std[:, None] * u, batch_size=64))
    return {a: float(np.mean(after[a] != before[a])) for a in ATTRIBUTES}


def perceptual_path_length(gen: LatentGenerator, oracle: Oracle, n: int = 1000, eps: float = 1e-3,
                           seed: int = 0, batch_size: int = 50) -> float:
    """Mean of d(G(lerp(w1, w2, t)), G(lerp(w1, w2, t + eps))) / eps² over n pairs, 1 %–99 % kept."""
    gen_rng = torch.Generator().manual_seed(seed)
    w1 = torch.from_numpy(map_latents(gen, sample_z(n, seed, gen.z_dim)))
    w2 = torch.from_numpy(map_latents(gen, sample_z(n, seed + 1, gen.z_dim)))
    t = torch.rand(n, 1, generator=gen_rng)
    dists = []
    with torch.inference_mode():
        for i in range(0, n, batch_size):
            a, b, ti = w1[i: i + batch_size], w2[i: i + batch_size], t[i: i + batch_size]
            ws = torch.cat([torch.lerp(a, b, ti), torch.lerp(a, b, ti + eps)]).to(gen.device)
            img = gen.synthesis(ws, noise_mode="const").float().clamp(-1, 1)
            if img.shape[-1] != 64:
                img = torch.nn.functional.interpolate(img, size=(64, 64), mode="bilinear", antialias=True)
            f = oracle.net.features(img.to(oracle.device)).cpu()
            fa, fb = f.chunk(2)
            dists.append((fa - fb).square().sum(1) / eps ** 2)
    d = torch.cat(dists).numpy()
    lo, hi = np.percentile(d, [1, 99])
    return float(d[(d >= lo) & (d <= hi)].mean())


def measure_smoothness(gen: LatentGenerator, oracle: Oracle, n: int = 1000, distance: float = 3.0,
                       seed: int = 0) -> Smoothness:
    return Smoothness(ppl=perceptual_path_length(gen, oracle, n=n, seed=seed),
                      change_rate=random_move_change_rate(gen, oracle, n=n, distance=distance, seed=seed),
                      distance=distance)
