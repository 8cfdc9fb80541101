"""Training material for the metric network and the encoder: the generator's own samples.

A pool holds, for n latents, the anchor w, a nearby w (a small step in W), and both images.
Rendering dominates the cost of training, so a pool is cached on disk (keyed by generator id,
size, seed and step) and shared by `train-metric` and `train-encoder`.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..interface import LatentGenerator, map_latents, render, sample_z

POOL_VERSION = 1


@dataclass
class SamplePool:
    """w, w_near: [n, w_dim] float32; images, images_near: uint8 [n, R, R, 3]."""

    w: np.ndarray
    w_near: np.ndarray
    images: np.ndarray
    images_near: np.ndarray

    def __len__(self) -> int:
        return len(self.w)


def w_statistics(gen: LatentGenerator, n: int = 10_000, seed: int = 123) -> tuple[np.ndarray, float]:
    """(w_avg from the generator, w_std = RMS distance of mapped samples from it), as NVlabs' projector."""
    w = map_latents(gen, sample_z(n, seed, gen.z_dim))
    w_avg = gen.w_avg.detach().float().cpu().numpy()
    return w_avg, float(np.sqrt(((w - w_avg) ** 2).sum(axis=1).mean()))


def make_pool(gen: LatentGenerator, n: int, seed: int = 0, near_step: float = 0.15, truncation_psi: float = 1.0,
              batch_size: int = 64, progress: bool = True) -> SamplePool:
    """Render n samples and, for each, a sample a small step away in W.

    near_step: the step's length as a fraction of w_std (the typical distance between samples
    and w_avg); 0.15 keeps identity while changing details.
    """
    rng = np.random.default_rng(seed)
    w = map_latents(gen, sample_z(n, seed, gen.z_dim), truncation_psi)
    _, w_std = w_statistics(gen)
    step = rng.standard_normal(w.shape).astype(np.float32)
    step *= near_step * w_std / np.linalg.norm(step, axis=1, keepdims=True)
    w_near = w + step
    images = render(gen, np.concatenate([w, w_near]), batch_size=batch_size, progress=progress)
    return SamplePool(w=w, w_near=w_near, images=images[:n], images_near=images[n:])


def pool_cache_path(workspace: Path, generator_id: str, n: int, seed: int, near_step: float) -> Path:
    return Path(workspace) / "cache" / f"inversion_pool_{generator_id}_n{n}_s{seed}_d{near_step:g}_v{POOL_VERSION}.npz"


def cached_pool(gen: LatentGenerator, workspace: Path | None, n: int, seed: int = 0, near_step: float = 0.15,
                progress: bool = True) -> SamplePool:
    """make_pool, reusing (or atomically writing) a cache file under <workspace>/cache/ when given."""
    if workspace is None:
        return make_pool(gen, n, seed, near_step, progress=progress)
    path = pool_cache_path(workspace, gen.generator_id, n, seed, near_step)
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as d:
                return SamplePool(w=d["w"], w_near=d["w_near"], images=d["images"], images_near=d["images_near"])
        except (OSError, KeyError, ValueError, zipfile.BadZipFile):
            path.unlink(missing_ok=True)  # damaged cache: render again
    pool = make_pool(gen, n, seed, near_step, progress=progress)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        np.savez(f, w=pool.w, w_near=pool.w_near, images=pool.images, images_near=pool.images_near)
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
