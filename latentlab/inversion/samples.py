"""What training the metric network and the encoder share: the generator's own samples as
material, small augmentations, and the optimisation loop.

A pool holds, for n latents, the anchor w, a nearby w (a small random step in W), a farther w
(a larger step in the same kind), and the three images.
Rendering dominates the cost of training, so a pool is cached on disk (keyed by generator id,
size, seed and step) and shared by `train-metric` and `train-encoder`.
"""

from __future__ import annotations

import math
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from latentlab.core.progress import progress as progress_bar
from latentlab.generator.interface import LatentGenerator, map_latents, render, sample_z

POOL_VERSION = 1


@dataclass
class SamplePool:
    """w, w_near, w_far: [n, w_dim] float32; images, images_near, images_far: uint8 [n, R, R, 3]."""

    w: np.ndarray
    w_near: np.ndarray
    w_far: np.ndarray
    images: np.ndarray
    images_near: np.ndarray
    images_far: np.ndarray

    def __len__(self) -> int:
        return len(self.w)


_W_STATS: dict[tuple[str, int, int], tuple[np.ndarray, float]] = {}


def w_statistics(gen: LatentGenerator, n: int = 10_000, seed: int = 123) -> tuple[np.ndarray, float]:
    """(w_avg from the generator, w_std = RMS distance of mapped samples from it), as NVlabs' projector.

    Cached per generator id (the id hashes the weights, so a changed generator is recomputed).
    """
    key = (gen.generator_id, n, seed)
    if key not in _W_STATS:
        w = map_latents(gen, sample_z(n, seed, gen.z_dim))
        w_avg = gen.w_avg.detach().float().cpu().numpy()
        _W_STATS[key] = (w_avg, float(np.sqrt(((w - w_avg) ** 2).sum(axis=1).mean())))
    return _W_STATS[key]


_W_WHITENING: dict[tuple[str, int, int], tuple[np.ndarray, np.ndarray]] = {}


def w_whitening(gen: LatentGenerator, n: int = 10_000, seed: int = 123) -> tuple[np.ndarray, np.ndarray]:
    """(mean [w_dim], whitener [w_dim, w_dim]) of mapped samples: ((w - mean) @ whitener.T) has unit
    covariance, so its mean square is a squared Mahalanobis distance per dimension (about 1 for a sample).

    The mapping network's W is anisotropic (a few directions carry most of the spread), so a distance
    in w_std units would let a latent drift far along the thin directions. Cached per generator id.
    """
    key = (gen.generator_id, n, seed)
    if key not in _W_WHITENING:
        w = map_latents(gen, sample_z(n, seed, gen.z_dim)).astype(np.float64)
        mean = w.mean(axis=0)
        vals, vecs = np.linalg.eigh(np.cov(w, rowvar=False))
        vals = np.maximum(vals, 1e-6 * vals.max())  # a flat direction would blow the penalty up
        _W_WHITENING[key] = (mean.astype(np.float32), ((vecs / np.sqrt(vals)) @ vecs.T).astype(np.float32))
    return _W_WHITENING[key]


def make_pool(gen: LatentGenerator, n: int, seed: int = 0, near_step: float = 0.15, far_step: float = 0.45,
              truncation_psi: float = 1.0, batch_size: int = 64, progress: bool = True) -> SamplePool:
    """Render n samples and, for each, one a small and one a larger random step away in W.

    Steps are lengths as a fraction of w_std (the typical distance between samples and w_avg):
    0.15 keeps identity while changing details, 0.45 changes it clearly but less than another
    sample (about 1.4 w_std away) would.
    """
    rng = np.random.default_rng(seed)
    w = map_latents(gen, sample_z(n, seed, gen.z_dim), truncation_psi)
    _, w_std = w_statistics(gen)

    def step(length: float) -> np.ndarray:
        d = rng.standard_normal(w.shape).astype(np.float32)
        return d * (length * w_std / np.linalg.norm(d, axis=1, keepdims=True))

    w_near, w_far = w + step(near_step), w + step(far_step)
    images = render(gen, np.concatenate([w, w_near, w_far]), batch_size=batch_size, progress=progress)
    return SamplePool(w=w, w_near=w_near, w_far=w_far, images=images[:n], images_near=images[n:2 * n],
                      images_far=images[2 * n:])


FIELDS = ("w", "w_near", "w_far", "images", "images_near", "images_far")


def pool_cache_path(workspace: Path, generator_id: str, n: int, seed: int) -> Path:
    return Path(workspace) / "cache" / f"inversion_pool_{generator_id}_n{n}_s{seed}_v{POOL_VERSION}.npz"


def cached_pool(gen: LatentGenerator, workspace: Path | None, n: int, seed: int = 0,
                progress: bool = True) -> SamplePool:
    """make_pool, reusing (or atomically writing) a cache file under <workspace>/cache/ when given."""
    if workspace is None:
        return make_pool(gen, n, seed, progress=progress)
    path = pool_cache_path(workspace, gen.generator_id, n, seed)
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as d:
                return SamplePool(**{k: d[k] for k in FIELDS})
        except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile):
            path.unlink(missing_ok=True)  # damaged cache: render again
    pool = make_pool(gen, n, seed, progress=progress)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        np.savez(f, **{k: getattr(pool, k) for k in FIELDS})
    tmp.replace(path)
    return pool


def augment(x: torch.Tensor, gen: torch.Generator, max_shift: int = 2, noise: float = 0.03,
            brightness: float = 0.05) -> torch.Tensor:
    """Small photometric and geometric changes that keep identity: [N,3,R,R] in [-1,1] -> same.

    A random translation of up to `max_shift` pixels (edge padding), a brightness/contrast wobble
    and Gaussian pixel noise.
    """
    n = x.shape[0]
    if max_shift > 0:
        padded = torch.nn.functional.pad(x, [max_shift] * 4, mode="replicate")
        r = x.shape[-1]
        shifts = torch.randint(0, 2 * max_shift + 1, (n, 2), generator=gen)
        x = torch.stack([padded[i, :, sy: sy + r, sx: sx + r] for i, (sy, sx) in enumerate(shifts.tolist())])
    scale = 1 + brightness * (2 * torch.rand(n, 1, 1, 1, generator=gen) - 1)
    offset = brightness * (2 * torch.rand(n, 1, 1, 1, generator=gen) - 1)
    return x * scale + offset + noise * torch.randn(x.shape, generator=gen)



def train_loop(opt: torch.optim.Optimizer, batch_loss: Callable[[], torch.Tensor], steps: int, lr: float,
               desc: str, progress: bool) -> float:
    """`steps` updates of `opt` on `batch_loss()` (a fresh batch each call), the learning rate
    decaying from `lr` along a half cosine; returns the smoothed loss at the end (for the record)."""
    running = math.nan
    with progress_bar(range(steps), desc=desc, unit="step", enabled=progress) as bar:
        for step in bar:
            for group in opt.param_groups:
                group["lr"] = lr * 0.5 * (1 + math.cos(math.pi * step / steps))
            loss = batch_loss()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            value = loss.item()
            running = value if math.isnan(running) else 0.95 * running + 0.05 * value
            bar.set_postfix(loss=f"{running:.4f}")
    return running
