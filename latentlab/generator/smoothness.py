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

Both raw figures grow with how many classes a generator draws, not only with how abruptly it switches
between them: a generator that draws blush on 8 % of faces rarely changes a blush reading under any
move, one that draws it on 30 % must. So each comes with a relative figure that takes that out:
* relative path length: the path length divided by the mean squared feature distance between the
  pairs' end points. A path whose features move at constant speed on a straight line has exactly 1
  (Cauchy-Schwarz: the mean of |f'(t)|² over t is at least |f(1) - f(0)|²); above 1, the change is
  bunched into parts of the path.
* relative change rate: the change rate divided by the chance rate 1 - sum_c p_c², the probability
  that two independently drawn faces are read as different classes. 1 = a random move is as good
  as drawing a new face; 0 = it never changes the reading.
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
    pair_distance: float = float("nan")  # mean squared feature distance between the paths' end points
    chance_rate: dict[str, float] | None = None  # attribute -> 1 - sum p_c² of the readings before the move

    @property
    def mean_change_rate(self) -> float:
        return float(np.mean(list(self.change_rate.values())))

    @property
    def relative_ppl(self) -> float:
        """Path length / squared end-point distance: 1 for constant-speed straight paths, more when bunched.

        The path length drops its 1 % extremes and the end-point distance keeps every pair, so a value a
        little below 1 is possible."""
        return self.ppl / self.pair_distance if self.pair_distance > 0 else float("nan")

    @property
    def relative_change_rate(self) -> dict[str, float]:
        """Per attribute, change rate / chance rate (nan where every face is read as one class)."""
        chance = self.chance_rate or {}
        return {a: r / chance[a] if chance.get(a, 0.0) > 0 else float("nan") for a, r in self.change_rate.items()}

    @property
    def mean_relative_change_rate(self) -> float:
        values = [v for v in self.relative_change_rate.values() if np.isfinite(v)]
        return float(np.mean(values)) if values else float("nan")


def chance_change_rate(labels: np.ndarray, n_classes: int) -> float:
    """1 - sum_c p_c²: the probability that two faces drawn independently are read as different classes."""
    p = np.bincount(np.asarray(labels, dtype=np.int64), minlength=n_classes) / max(len(labels), 1)
    return float(1.0 - np.sum(p ** 2))


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


def random_move_readings(gen: LatentGenerator, oracle: Oracle, n: int = 1000, distance: float = 3.0,
                         seed: int = 0, truncation_psi: float = 1.0
                         ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The oracle's readings [n] per attribute of n faces before and after a random move of `distance`."""
    rng = np.random.default_rng(seed)
    w = map_latents(gen, sample_z(n, seed, gen.z_dim), truncation_psi)
    u, std = random_directions(w, n, rng)
    before = oracle.predict(render(gen, w, batch_size=64))
    after = oracle.predict(render(gen, w + distance * std[:, None] * u, batch_size=64))
    return before, after


def random_move_change_rate(gen: LatentGenerator, oracle: Oracle, n: int = 1000, distance: float = 3.0,
                            seed: int = 0, truncation_psi: float = 1.0) -> dict[str, float]:
    """Per attribute, the share of n faces whose oracle reading changes after a random move of `distance`."""
    return change_rates(*random_move_readings(gen, oracle, n, distance, seed, truncation_psi))


def change_rates(before: dict[str, np.ndarray], after: dict[str, np.ndarray]) -> dict[str, float]:
    """Per attribute, the share of faces whose reading differs between `before` and `after`."""
    return {a: float(np.mean(after[a] != before[a])) for a in ATTRIBUTES}


def _path_ends(gen: LatentGenerator, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The n pairs of W latents whose straight paths the path length follows."""
    w1 = torch.from_numpy(map_latents(gen, sample_z(n, seed, gen.z_dim)))
    w2 = torch.from_numpy(map_latents(gen, sample_z(n, seed + 1, gen.z_dim)))
    return w1, w2


def _features(gen: LatentGenerator, oracle: Oracle, ws: torch.Tensor) -> torch.Tensor:
    """The oracle's penultimate features [N, F] of G(ws), drawn at 64 px."""
    img = gen.synthesis(ws.to(gen.device), noise_mode="const").float().clamp(-1, 1)
    if img.shape[-1] != 64:
        img = torch.nn.functional.interpolate(img, size=(64, 64), mode="bilinear", antialias=True)
    return oracle.net.features(img.to(oracle.device)).cpu()


def perceptual_path_length(gen: LatentGenerator, oracle: Oracle, n: int = 1000, eps: float = 1e-3,
                           seed: int = 0, batch_size: int = 50) -> float:
    """Mean of d(G(lerp(w1, w2, t)), G(lerp(w1, w2, t + eps))) / eps² over n pairs, 1 %–99 % kept."""
    gen_rng = torch.Generator().manual_seed(seed)
    w1, w2 = _path_ends(gen, n, seed)
    t = torch.rand(n, 1, generator=gen_rng)
    dists = []
    with torch.inference_mode():
        for i in range(0, n, batch_size):
            a, b, ti = w1[i: i + batch_size], w2[i: i + batch_size], t[i: i + batch_size]
            fa, fb = _features(gen, oracle, torch.cat([torch.lerp(a, b, ti), torch.lerp(a, b, ti + eps)])).chunk(2)
            dists.append((fa - fb).square().sum(1) / eps ** 2)
    d = torch.cat(dists).numpy()
    lo, hi = np.percentile(d, [1, 99])
    return float(d[(d >= lo) & (d <= hi)].mean())


def path_end_distance(gen: LatentGenerator, oracle: Oracle, n: int = 1000, seed: int = 0,
                      batch_size: int = 50) -> float:
    """Mean squared feature distance between G(w1) and G(w2) over the path length's n pairs (its scale)."""
    w1, w2 = _path_ends(gen, n, seed)
    dists = []
    with torch.inference_mode():
        for i in range(0, n, batch_size):
            fa, fb = _features(gen, oracle, torch.cat([w1[i: i + batch_size], w2[i: i + batch_size]])).chunk(2)
            dists.append((fa - fb).square().sum(1))
    return float(torch.cat(dists).mean())


def measure_smoothness(gen: LatentGenerator, oracle: Oracle, n: int = 1000, distance: float = 3.0,
                       seed: int = 0) -> Smoothness:
    before, after = random_move_readings(gen, oracle, n=n, distance=distance, seed=seed)
    return Smoothness(ppl=perceptual_path_length(gen, oracle, n=n, seed=seed),
                      change_rate=change_rates(before, after),
                      distance=distance,
                      pair_distance=path_end_distance(gen, oracle, n=n, seed=seed),
                      chance_rate={a: chance_change_rate(before[a], len(ATTRIBUTES[a])) for a in ATTRIBUTES})
