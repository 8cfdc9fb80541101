"""The projector: optimise a latent until the generator redraws a target image.

Following NVlabs' StyleGAN2 projector: start at w_avg (or an encoder's guess), optimise w with
Adam under a learning-rate ramp (linear warm-up, cosine cool-down), with Gaussian noise added to
w early on (scaled by w_std, decaying to zero) to escape poor starts. In W+ the search continues
with one w per synthesis layer, starting from the W result (or from w_avg / a given start).
Optionally the generator's per-layer noise maps are optimised too, under NVlabs' penalty on their
spatial autocorrelation. With a fixed seed the result is deterministic on a given device.

`Projector` wires the pieces once (generator, loss, optional encoder, config); calling it runs
the steps in order: prepare the target -> pick the start -> optimise in W -> optionally in W+ ->
the result. `project` is the same as a function, for callers that bring their own start.

The "plain recipe" baseline (`plain_recipe`) is what a first attempt looks like: unnormalised
feature L2 and plain SGD at a constant learning rate, no noise, W only.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from latentlab.core.errors import UserError
from latentlab.core.progress import progress as progress_bar
from latentlab.generator.interface import LatentGenerator, to_uint8
from latentlab.inversion.preprocess import to_tensor
from latentlab.inversion.samples import w_statistics, w_whitening

SPACES = ("w", "w+")
OPTIMIZERS = ("adam", "sgd")

Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (images, target) [N,3,R,R] -> per-sample [N]


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
    prior: float = 0.0  # >0: add this weight x the latent's squared Mahalanobis distance from sampled W, per dim
    seed: int = 0
    preview_every: int = 20  # callback gets an image every this many steps (and at the end)

    def __post_init__(self) -> None:
        if self.space not in SPACES:
            raise UserError(f"the projection space must be one of {', '.join(SPACES)}, got {self.space!r}")
        if self.optimizer not in OPTIMIZERS:
            raise UserError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        if self.steps < 1:
            raise UserError(f"a projection needs at least 1 step, got {self.steps}")
        if not (0.0 <= self.prior < 1e6):
            raise UserError(f"the latent prior's weight must be in [0, 1e6), got {self.prior}")
        if self.wplus_init not in ("w", "start"):
            raise UserError(f"wplus_init must be 'w' or 'start', got {self.wplus_init!r}")

    def phases(self, start_is_ws: bool) -> list[tuple[str, int]]:
        """(space, steps) of each phase: W alone, W then W+, or W+ alone (from a W+ start or `start`)."""
        if self.space == "w":
            return [("w", self.steps)]
        if self.wplus_init == "w" and not start_is_ws:
            steps_w = max(1, min(self.steps - 1, round(self.steps * self.wplus_w_fraction)))
            return [("w", steps_w), ("w+", self.steps - steps_w)]
        return [("w+", self.steps)]


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


@dataclass
class _Run:
    """What the phases of one call share: the target, the randomness, the record, who is told."""

    target: torch.Tensor  # [N, 3, R, R] in [-1, 1]
    init: str  # where the start came from: "ws", "encoder/w" (given), "encoder" or "w_avg"
    w_std: float  # RMS distance of samples from w_avg: the unit of the latent noise
    rng: torch.Generator  # latent noise
    noise_maps: list[torch.Tensor] | None  # trainable per-layer noise, or None
    callback: Callable[[ProjectionStep], None] | None
    bar: Any  # a progress bar (silent when switched off)
    started: float = field(default_factory=time.time)
    history: list[np.ndarray] = field(default_factory=list)  # per-sample loss of every step so far


class Projector:
    """A generator, a reconstruction loss and (optionally) an encoder, wired once for projecting images.

    `loss(images, target)` gives a per-sample loss [N] (see losses.ReconstructionLoss). With an
    encoder, its guess of w is the start; otherwise w_avg. `w_std` (the latent noise's unit)
    defaults to the generator's measured spread (samples.w_statistics).
    """

    def __init__(self, generator: LatentGenerator, loss: Loss, encoder: torch.nn.Module | None = None,
                 config: ProjectorConfig | None = None, w_std: float | None = None):
        self.generator = generator
        self.loss = loss
        self.encoder = encoder
        self.config = config if config is not None else ProjectorConfig()
        self.w_std = w_std
        self._whitening: tuple[torch.Tensor, torch.Tensor] | None = None

    def __call__(self, images: np.ndarray | torch.Tensor, start: np.ndarray | torch.Tensor | None = None,
                 callback: Callable[[ProjectionStep], None] | None = None, progress: bool = False) -> Projection:
        """Find latents for target images, each sample of a batch independently (the loss is a sum).

        images: uint8 [R, R, 3] / [N, R, R, 3], or float [N, 3, R, R] in [-1, 1], at the generator's
        resolution. start: w [N, w_dim] or ws [N, num_ws, w_dim] instead of the encoder / w_avg.
        """
        started, cfg = time.time(), self.config
        target = self.prepare_target(images)
        latent, init = self.initial_latent(target, start)
        noise = _trainable_noise(self.generator, cfg.seed) if cfg.noise_regularize > 0 else nullcontext(None)
        bar = progress_bar(total=cfg.steps, desc=f"project ({cfg.space})", unit="step", enabled=progress)
        # callers may have switched gradients off globally
        with bar, torch.enable_grad(), noise as noise_maps:
            run = _Run(target, init, self._w_std(), torch.Generator().manual_seed(cfg.seed), noise_maps, callback,
                       bar, started)
            w_result = None
            for phase, steps in cfg.phases(start_is_ws=latent.ndim == 3):
                if phase == "w+" and latent.ndim == 2:
                    latent = latent[:, None, :].repeat(1, self.generator.num_ws, 1)  # [N, num_ws, w_dim]
                latent = self.optimise(run, latent, phase, steps)
                if phase == "w":
                    w_result = latent.clone()
            return self.result(run, latent, w_result)

    # -- the steps, in order ------------------------------------------------------------------------

    def prepare_target(self, images: np.ndarray | torch.Tensor) -> torch.Tensor:
        """uint8 images or float [N, 3, R, R] -> float [N, 3, R, R] in [-1, 1] on the generator's device."""
        gen = self.generator
        target = to_tensor(images, gen.device) if isinstance(images, np.ndarray) else images
        target = target.to(gen.device, torch.float32)
        if tuple(target.shape[1:]) != (3, gen.resolution, gen.resolution):
            raise UserError(f"target images must be {gen.resolution}x{gen.resolution} RGB for this generator, "
                            f"got {tuple(target.shape[1:])}")
        if self.config.noise_regularize > 0 and target.shape[0] != 1:
            raise UserError("noise optimisation projects one image at a time")
        return target

    def initial_latent(self, target: torch.Tensor, start: np.ndarray | torch.Tensor | None) -> tuple[torch.Tensor, str]:
        """(w [N, w_dim] or ws [N, num_ws, w_dim], where it came from): the given start, else the
        encoder's guess, else w_avg."""
        gen, n = self.generator, target.shape[0]
        if start is not None:
            start = torch.as_tensor(np.asarray(start, np.float32) if not isinstance(start, torch.Tensor) else start)
            start = start.to(gen.device, torch.float32)
            if start.ndim == 3:
                if self.config.space == "w":
                    raise UserError("a W+ start needs --space w+")
                return start, "ws"
            return start.reshape(n, gen.w_dim), "encoder/w"
        if self.encoder is not None:
            with torch.no_grad():
                return self.encoder(target).float().reshape(n, gen.w_dim), "encoder"
        return gen.w_avg.detach().float().to(gen.device)[None].repeat(n, 1), "w_avg"

    def optimise(self, run: _Run, latent: torch.Tensor, phase: str, steps: int) -> torch.Tensor:
        """One phase: `steps` updates of `latent` (and the noise maps) under the learning-rate ramp.

        Latent noise is added only in the first phase (the one that starts with no steps recorded).
        """
        cfg = self.config
        step0, add_w_noise = len(run.history), not run.history and cfg.w_noise > 0
        latent = latent.detach().clone().requires_grad_(True)
        opt = self._optimizer([latent] + (run.noise_maps or []))
        for i in range(steps):
            t = i / steps
            for group in opt.param_groups:
                group["lr"] = learning_rate(cfg, t)
            x = latent + self._latent_noise(run, latent, t) if add_w_noise else latent
            per_sample = self.loss(self.generator.synthesis(x, noise_mode="const"), run.target)  # [N]
            total = per_sample.sum()
            if run.noise_maps:
                total = total + cfg.noise_regularize * noise_penalty(run.noise_maps)
            if cfg.prior > 0:
                total = total + cfg.prior * self.prior_penalty(latent).sum()
            opt.zero_grad(set_to_none=True)
            total.backward()
            opt.step()
            if run.noise_maps:
                _renormalise(run.noise_maps)
            self._report(run, step0 + i + 1, phase, per_sample.detach().float().cpu().numpy(), latent)
        return latent.detach()

    def result(self, run: _Run, latent: torch.Tensor, w_result: torch.Tensor | None) -> Projection:
        """Render the answer (with the optimised noise, if any) and package it."""
        gen = self.generator
        with torch.no_grad():
            images = gen.synthesis(latent, noise_mode="const")
            final = self.loss(images, run.target).float().cpu().numpy()
        ws = latent if latent.ndim == 3 else latent[:, None, :].repeat(1, gen.num_ws, 1)
        noise_maps = [m.detach().cpu().numpy().copy() for m in run.noise_maps] if run.noise_maps else None
        return Projection(ws=ws.cpu().numpy(), w=None if w_result is None else w_result.cpu().numpy(),
                          images=to_uint8(images), loss_history=np.stack(run.history), final_loss=final,
                          seconds=time.time() - run.started, config=self.config, noise_maps=noise_maps,
                          meta={"init": run.init})

    # -- pieces of a step ---------------------------------------------------------------------------

    def prior_penalty(self, latent: torch.Tensor) -> torch.Tensor:
        """Per-sample [N] squared Mahalanobis distance of w (each layer's, averaged in W+) from the mean of
        sampled W, per dimension: about 1 for a sampled face, about 14 for a pivot left free on another
        style (docs/inversion.md)."""
        if self._whitening is None:
            mean, whitener = w_whitening(self.generator)
            self._whitening = (torch.from_numpy(mean).to(latent.device), torch.from_numpy(whitener).to(latent.device))
        mean, whitener = self._whitening
        d2 = ((latent - mean) @ whitener.T).square().mean(dim=-1)
        return d2.mean(dim=-1) if d2.ndim == 2 else d2

    def _w_std(self) -> float:
        return self.w_std if self.w_std is not None else w_statistics(self.generator)[1]

    def _optimizer(self, params: list[torch.Tensor]) -> torch.optim.Optimizer:
        if self.config.optimizer == "adam":
            return torch.optim.Adam(params, lr=0.0, betas=(0.9, 0.999))
        return torch.optim.SGD(params, lr=0.0)

    def _latent_noise(self, run: _Run, latent: torch.Tensor, t: float) -> torch.Tensor:
        """Gaussian noise on w, w_noise * w_std at the start, decaying quadratically to 0 at w_noise_ramp."""
        cfg = self.config
        scale = run.w_std * cfg.w_noise * max(0.0, 1.0 - t / cfg.w_noise_ramp) ** 2
        return scale * torch.randn(latent.shape, generator=run.rng).to(latent.device)

    def _report(self, run: _Run, step: int, phase: str, loss: np.ndarray, latent: torch.Tensor) -> None:
        """Record the step's loss, move the bar, and tell the callback (with a preview every few steps)."""
        cfg = self.config
        run.history.append(loss)
        run.bar.update(1)
        run.bar.set_postfix(loss=f"{loss.mean():.4f}", phase=phase)
        if run.callback is None:
            return
        if step % max(cfg.preview_every, 1) == 0 or step == cfg.steps:
            with torch.no_grad():
                preview = to_uint8(self.generator.synthesis(latent, noise_mode="const"))
            run.callback(ProjectionStep(step, cfg.steps, phase, loss, preview, latent.detach().cpu().numpy().copy()))
        else:
            run.callback(ProjectionStep(step, cfg.steps, phase, loss, None))


@torch.no_grad()
def _renormalise(maps: list[torch.Tensor]) -> None:
    """Keep each noise map at zero mean and unit variance (NVlabs), in place."""
    for m in maps:
        m -= m.mean()
        m *= m.square().mean().rsqrt()


def project(gen: LatentGenerator, target: np.ndarray | torch.Tensor, loss_fn: Loss,
            cfg: ProjectorConfig | None = None, init_w: np.ndarray | torch.Tensor | None = None,
            init_ws: np.ndarray | torch.Tensor | None = None, w_std: float | None = None,
            callback: Callable[[ProjectionStep], None] | None = None, progress: bool = False) -> Projection:
    """Find latents for target images: `Projector(gen, loss_fn, config=cfg, w_std=w_std)(target, ...)`.

    init_w [N, w_dim] (e.g. from the encoder) or init_ws [N, num_ws, w_dim] replace w_avg as the
    start (init_ws wins when both are given).
    """
    start = init_ws if init_ws is not None else init_w
    if init_ws is None and init_w is not None:
        start = (init_w if isinstance(init_w, torch.Tensor) else torch.as_tensor(np.asarray(init_w, np.float32)))
        start = start.reshape(-1, gen.w_dim)  # a W start, whatever its shape
    return Projector(gen, loss_fn, config=cfg, w_std=w_std)(target, start, callback, progress)


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


__all__ = ["Projection", "ProjectionStep", "Projector", "ProjectorConfig", "config_dict", "learning_rate",
           "noise_penalty", "plain_recipe", "project", "psnr"]
