"""The projector: optimise a latent until the generator redraws a target image.

Following NVlabs' StyleGAN2 projector: start at w_avg (or an encoder's guess), optimise w with
Adam under a learning-rate ramp (linear warm-up, cosine cool-down), with Gaussian noise added to
w early on (scaled by w_std, decaying to zero) to escape poor starts. In W+ the search continues
with one w per synthesis layer, starting from the W result (or from w_avg / a given start).
Optionally the generator's per-layer noise maps are optimised too, under NVlabs' penalty on their
spatial autocorrelation. With a fixed seed the result is deterministic on a given device.

The "plain recipe" baseline (`plain_recipe`) is what a first attempt looks like: unnormalised
feature L2 and plain SGD at a constant learning rate, no noise, W only.
"""

from __future__ import annotations

import math
import time
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from typing import Callable, Iterator

import numpy as np
import torch
import torch.nn.functional as F

from latentlab.core.errors import UserError
from latentlab.generator.interface import LatentGenerator, to_uint8
from latentlab.inversion.preprocess import to_tensor
from latentlab.inversion.samples import w_statistics

SPACES = ("w", "w+")
OPTIMIZERS = ("adam", "sgd")


@dataclass
class ProjectorConfig:
    """Every knob of a projection, with the defaults `latentlab invert` uses."""

    space: str = "w+"  # "w": one w for every layer; "w+": one w per synthesis layer (from a W start)
    steps: int = 300  # total optimisation steps (both phases in "w+" from a W start)
    optimizer: str = "adam"  # "adam" or "sgd" (plain, no momentum: the baseline)
    lr: float = 0.1  # peak learning rate, in latent units
    lr_rampup: float = 0.05  # fraction of a phase's steps for the linear warm-up
    lr_rampdown: float = 0.25  # fraction of a phase's steps for the cosine cool-down
    w_noise: float = 0.05  # initial noise on w, as a fraction of w_std; 0 disables it
    w_noise_ramp: float = 0.75  # fraction of the first phase over which that noise decays to zero
    wplus_init: str = "w"  # "w+" only: "w" = run a W projection first; "start" = from w_avg or the given start
    wplus_w_fraction: float = 0.5  # "w+" from "w": the share of `steps` spent in W
    noise_regularize: float = 0.0  # >0: optimise noise maps too (latentlab StyleGAN2 only); NVlabs uses 1e5
    seed: int = 0
    preview_every: int = 20  # callback gets an image every this many steps (and at the end)

    def __post_init__(self) -> None:
        if self.space not in SPACES:
            raise UserError(f"--space must be one of {', '.join(SPACES)}, got {self.space!r}")
        if self.optimizer not in OPTIMIZERS:
            raise UserError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        if self.steps < 1:
            raise UserError(f"--steps must be at least 1, got {self.steps}")
        if self.wplus_init not in ("w", "start"):
            raise UserError(f"wplus_init must be 'w' or 'start', got {self.wplus_init!r}")


@dataclass
class ProjectionStep:
    """What a callback sees: 1-based step of `steps`, per-sample loss (before the step's update), and
    at preview steps the latent after the update with its image (no latent noise added)."""

    step: int
    steps: int
    phase: str  # "w" or "w+"
    loss: np.ndarray  # [N]
    image: np.ndarray | None  # uint8 [N, R, R, 3] at preview steps, else None
    latent: np.ndarray | None = None  # [N, w_dim] or [N, num_ws, w_dim] at preview steps


@dataclass
class Projection:
    """The result: W+ codes for everything; `w` too when the answer (or its first phase) is in W."""

    ws: np.ndarray  # [N, num_ws, w_dim]
    w: np.ndarray | None  # [N, w_dim]: the W answer ("w" space, or the W phase of "w+")
    images: np.ndarray  # uint8 [N, R, R, 3], rendered from ws (with the optimised noise, if any)
    loss_history: np.ndarray  # [steps, N], loss before each step's update
    final_loss: np.ndarray  # [N], loss of the returned latent
    seconds: float
    config: ProjectorConfig
    noise_maps: list[np.ndarray] | None = None  # per-layer [H, W] when noise was optimised
    meta: dict = field(default_factory=dict)

    @property
    def space(self) -> str:
        return self.config.space


def learning_rate(cfg: ProjectorConfig, t: float) -> float:
    """NVlabs' ramp at phase progress t in [0, 1): linear warm-up, cosine cool-down (0 = no ramp)."""
    ramp = min(1.0, (1.0 - t) / cfg.lr_rampdown) if cfg.lr_rampdown > 0 else 1.0
    ramp = 0.5 - 0.5 * math.cos(ramp * math.pi)
    if cfg.lr_rampup > 0:
        ramp *= min(1.0, t / cfg.lr_rampup)
    return cfg.lr * ramp


def _noise_layers(gen: LatentGenerator) -> list[torch.nn.Module]:
    modules = gen.modules() if isinstance(gen, torch.nn.Module) else []
    return [m for m in modules if isinstance(getattr(m, "noise_const", None), torch.Tensor)]


@contextmanager
def _trainable_noise(gen: LatentGenerator, seed: int) -> Iterator[list[torch.Tensor]]:
    """Swap the generator's constant noise maps for trainable ones; restore them afterwards."""
    layers = _noise_layers(gen)
    if not layers:
        raise UserError("noise optimisation needs a latentlab StyleGAN2 generator; leave --noise-regularize at 0")
    saved = [m.noise_const for m in layers]
    g = torch.Generator().manual_seed(seed + 1)
    maps = [torch.randn(s.shape, generator=g).to(s.device).requires_grad_(True) for s in saved]
    try:
        for m, nm in zip(layers, maps):
            m.noise_const = nm
        yield maps
    finally:
        for m, s in zip(layers, saved):
            m.noise_const = s


def noise_penalty(maps: list[torch.Tensor]) -> torch.Tensor:
    """NVlabs' regulariser: squared autocorrelation of each noise map at 1-pixel shifts, at every scale."""
    total = maps[0].new_zeros(())
    for m in maps:
        x = m[None, None]
        while True:
            total = total + (x * torch.roll(x, 1, dims=3)).mean().square() + (x * torch.roll(x, 1, dims=2)).mean().square()
            if x.shape[2] <= 8:
                break
            x = F.avg_pool2d(x, 2)
    return total


def _run_phase(gen: LatentGenerator, target: torch.Tensor, loss_fn: Callable, latent: torch.Tensor, phase: str,
               steps: int, step0: int, total: int, cfg: ProjectorConfig, w_std: float, noise_maps: list | None,
               add_w_noise: bool, rng: torch.Generator, callback, bar, history: list) -> torch.Tensor:
    latent = latent.detach().clone().requires_grad_(True)
    params = [latent] + (noise_maps or [])
    opt = torch.optim.Adam(params, lr=0.0, betas=(0.9, 0.999)) if cfg.optimizer == "adam" \
        else torch.optim.SGD(params, lr=0.0)
    for i in range(steps):
        t = i / steps
        for g in opt.param_groups:
            g["lr"] = learning_rate(cfg, t)
        x = latent
        if add_w_noise and cfg.w_noise > 0:
            scale = w_std * cfg.w_noise * max(0.0, 1.0 - t / cfg.w_noise_ramp) ** 2
            x = latent + scale * torch.randn(latent.shape, generator=rng).to(latent.device)
        images = gen.synthesis(x, noise_mode="const")
        per_sample = loss_fn(images, target)
        loss = per_sample.sum()
        if noise_maps:
            loss = loss + cfg.noise_regularize * noise_penalty(noise_maps)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if noise_maps:
            with torch.no_grad():
                for m in noise_maps:
                    m -= m.mean()
                    m *= m.square().mean().rsqrt()
        values = per_sample.detach().float().cpu().numpy()
        history.append(values)
        step = step0 + i + 1
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{values.mean():.4f}", phase=phase)
        if callback is not None:
            if step % max(cfg.preview_every, 1) == 0 or step == total:
                with torch.no_grad():
                    preview = to_uint8(gen.synthesis(latent, noise_mode="const"))
                callback(ProjectionStep(step, total, phase, values, preview, latent.detach().cpu().numpy().copy()))
            else:
                callback(ProjectionStep(step, total, phase, values, None))
    return latent.detach()


def project(gen: LatentGenerator, target: np.ndarray | torch.Tensor, loss_fn: Callable,
            cfg: ProjectorConfig = ProjectorConfig(), init_w: np.ndarray | torch.Tensor | None = None,
            init_ws: np.ndarray | torch.Tensor | None = None, w_std: float | None = None,
            callback: Callable[[ProjectionStep], None] | None = None, progress: bool = False) -> Projection:
    """Find latents for target images.

    target: uint8 [R, R, 3] / [N, R, R, 3], or float [N, 3, R, R] in [-1, 1], at the generator's
    resolution. loss_fn(images, target) -> per-sample loss [N] (see losses.ReconstructionLoss).
    init_w [N, w_dim] (e.g. from the encoder) or init_ws [N, num_ws, w_dim] replace w_avg as
    the start. Samples in a batch are optimised independently (the loss is a sum over samples).
    """
    t0 = time.time()
    device = gen.device
    if isinstance(target, np.ndarray):
        target = to_tensor(target, device)
    target = target.to(device, torch.float32)
    n = target.shape[0]
    if tuple(target.shape[1:]) != (3, gen.resolution, gen.resolution):
        raise UserError(f"target images must be {gen.resolution}x{gen.resolution} RGB for this generator, "
                        f"got {tuple(target.shape[1:])}")
    if cfg.noise_regularize > 0 and n != 1:
        raise UserError("noise optimisation projects one image at a time")
    if w_std is None:
        w_std = w_statistics(gen)[1]
    w_avg = gen.w_avg.detach().float().to(device)
    rng = torch.Generator().manual_seed(cfg.seed)

    if init_ws is not None:
        start = torch.as_tensor(np.asarray(init_ws, np.float32) if not isinstance(init_ws, torch.Tensor) else init_ws)
        start = start.to(device, torch.float32)
        if cfg.space == "w":
            raise UserError("a W+ start needs --space w+")
    elif init_w is not None:
        start = torch.as_tensor(np.asarray(init_w, np.float32) if not isinstance(init_w, torch.Tensor) else init_w)
        start = start.to(device, torch.float32).reshape(n, gen.w_dim)
    else:
        start = w_avg[None].repeat(n, 1)

    if cfg.space == "w":
        phases = [("w", cfg.steps)]
    elif cfg.wplus_init == "w" and start.ndim == 2:
        steps_w = max(1, min(cfg.steps - 1, round(cfg.steps * cfg.wplus_w_fraction)))
        phases = [("w", steps_w), ("w+", cfg.steps - steps_w)]
    else:
        phases = [("w+", cfg.steps)]

    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=cfg.steps, desc=f"project ({cfg.space})", unit="step")
    history: list[np.ndarray] = []
    noise_ctx = _trainable_noise(gen, cfg.seed) if cfg.noise_regularize > 0 else nullcontext(None)
    w_result = None
    try:
        with torch.enable_grad(), noise_ctx as noise_maps:  # callers may have switched gradients off globally
            latent, done = start, 0
            for k, (phase, steps) in enumerate(phases):
                if phase == "w+" and latent.ndim == 2:
                    latent = latent[:, None, :].repeat(1, gen.num_ws, 1)
                latent = _run_phase(gen, target, loss_fn, latent, phase, steps, done, cfg.steps, cfg, w_std,
                                    noise_maps, k == 0, rng, callback, bar, history)
                done += steps
                if phase == "w":
                    w_result = latent.clone()
            with torch.no_grad():
                images = gen.synthesis(latent, noise_mode="const")
                final = loss_fn(images, target).float().cpu().numpy()
            saved_noise = [m.detach().cpu().numpy().copy() for m in noise_maps] if noise_maps else None
    finally:
        if bar is not None:
            bar.close()
    ws = latent if latent.ndim == 3 else latent[:, None, :].repeat(1, gen.num_ws, 1)
    return Projection(ws=ws.cpu().numpy(), w=None if w_result is None else w_result.cpu().numpy(),
                      images=to_uint8(images), loss_history=np.stack(history), final_loss=final,
                      seconds=time.time() - t0, config=cfg, noise_maps=saved_noise,
                      meta={"init": "ws" if init_ws is not None else "encoder/w" if init_w is not None else "w_avg"})


def plain_recipe(steps: int = 300, lr: float = 1.0, seed: int = 0) -> ProjectorConfig:
    """The baseline's settings: W only, plain SGD at a constant rate, no latent noise.

    Pair it with `losses.FeatureL2` (unnormalised feature L2) as the loss.
    """
    return ProjectorConfig(space="w", steps=steps, optimizer="sgd", lr=lr, lr_rampup=0.0, lr_rampdown=0.0,
                           w_noise=0.0, seed=seed)


def psnr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-image PSNR in dB between uint8 batches [N, H, W, 3] (or single images)."""
    a = np.asarray(a, np.float64).reshape(-1, *np.shape(a)[-3:])
    b = np.asarray(b, np.float64).reshape(-1, *np.shape(b)[-3:])
    mse = ((a - b) ** 2).mean(axis=(1, 2, 3))
    return 10 * np.log10(255.0 ** 2 / np.maximum(mse, 1e-10))


def config_dict(cfg: ProjectorConfig) -> dict:
    return asdict(cfg)


__all__ = ["ProjectorConfig", "Projection", "ProjectionStep", "project", "plain_recipe", "psnr", "learning_rate",
           "noise_penalty", "config_dict"]
