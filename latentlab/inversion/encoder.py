"""An encoder that guesses w from an image, so that projection starts close to the answer.

Trained on the generator's own samples (image -> the w that drew it) with a mean squared error
measured in units of each w coordinate's spread, so every coordinate counts equally. Its guess
is only a starting point: the projector refines it against the actual image.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from latentlab.inversion.preprocess import to_tensor
from latentlab.inversion.samples import SamplePool, augment, train_loop
from latentlab.inversion.weights import NetworkFile

ENCODER_FORMAT = "latentlab-encoder"


@dataclass
class EncoderConfig:
    resolution: int = 64
    w_dim: int = 128
    widths: tuple[int, ...] = (32, 64, 128, 128)  # one stride-2 stage each
    hidden: int = 256

    def __post_init__(self) -> None:
        self.widths = tuple(int(w) for w in self.widths)


class Encoder(nn.Module):
    """Images [N,3,R,R] in [-1,1] -> w [N, w_dim] (w_avg + w_scale * network output)."""

    def __init__(self, cfg: EncoderConfig | None = None):
        super().__init__()
        self.cfg = cfg or EncoderConfig()
        layers, cin, res = [], 3, self.cfg.resolution
        for width in self.cfg.widths:
            layers += [nn.Conv2d(cin, width, 3, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(width, width, 3, 1, 1),
                       nn.LeakyReLU(0.2)]
            cin, res = width, res // 2
        self.body = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(cin * res * res, self.cfg.hidden), nn.LeakyReLU(0.2),
                                  nn.Linear(self.cfg.hidden, self.cfg.w_dim))
        self.register_buffer("w_avg", torch.zeros(self.cfg.w_dim))
        self.register_buffer("w_scale", torch.ones(self.cfg.w_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.cfg.resolution:
            x = F.interpolate(x, size=(self.cfg.resolution,) * 2, mode="bilinear", antialias=True, align_corners=False)
        return self.w_avg + self.w_scale * self.head(self.body(x))


@dataclass
class EncoderTrainConfig:
    steps: int = 800
    batch: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-4
    holdout: int = 256
    seed: int = 0
    widths: tuple[int, ...] = (32, 64, 128, 128)
    hidden: int = 256


@torch.no_grad()
def relative_error(enc: Encoder, images: torch.Tensor, w: torch.Tensor, w_avg: torch.Tensor) -> float:
    """|E(x) - w| / |w_avg - w| averaged: 1.0 = no better than starting from w_avg, 0 = exact."""
    device = enc.w_avg.device
    pred = torch.cat([enc(images[i: i + 256].to(device)).cpu() for i in range(0, len(images), 256)])
    return float(((pred - w).norm(dim=1) / (w_avg - w).norm(dim=1)).mean())


@torch.enable_grad()  # a caller may have switched gradients off globally
def train_encoder(pool: SamplePool, generator_id: str, w_avg: np.ndarray, cfg: EncoderTrainConfig | None = None,
                  init: Encoder | None = None, progress: bool = True, device: torch.device | str = "cpu",
                  log: Callable[[str], None] = print) -> tuple[Encoder, dict]:
    """Fit image -> w on a sample pool (anchors and both neighbours all serve as pairs)."""
    cfg = cfg if cfg is not None else EncoderTrainConfig()
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    images = torch.cat([to_tensor(pool.images), to_tensor(pool.images_near), to_tensor(pool.images_far)])
    w = torch.from_numpy(np.concatenate([pool.w, pool.w_near, pool.w_far])).float()
    n = len(pool)
    held = torch.cat([torch.arange(k * n - cfg.holdout, k * n) for k in (1, 2, 3)])
    train_mask = torch.ones(3 * n, dtype=torch.bool)
    train_mask[held] = False
    train_idx = train_mask.nonzero().squeeze(1)
    if len(train_idx) < cfg.batch:
        raise ValueError(f"pool of {n} samples is too small for batch {cfg.batch} and holdout {cfg.holdout}")
    w_avg_t = torch.as_tensor(w_avg, dtype=torch.float32)
    if init is None:
        enc = Encoder(EncoderConfig(resolution=images.shape[-1], w_dim=w.shape[1], widths=cfg.widths, hidden=cfg.hidden))
        enc.w_avg.copy_(w_avg_t)
        enc.w_scale.copy_(w[train_idx].std(dim=0).clamp(min=1e-3))
    else:
        enc = init
    enc = enc.to(device).requires_grad_(True)
    enc.train()
    opt = torch.optim.AdamW(enc.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    err_before = relative_error(enc.eval(), images[held], w[held], w_avg_t)
    enc.train()

    def batch_loss() -> torch.Tensor:  # w error in units of each coordinate's spread
        idx = train_idx[torch.randint(0, len(train_idx), (cfg.batch,), generator=gen)]
        x = augment(images[idx], gen, max_shift=1, noise=0.02, brightness=0.03).to(device)
        return ((enc(x) - w[idx].to(device)) / enc.w_scale).square().mean()

    t0 = time.time()
    running = train_loop(opt, batch_loss, cfg.steps, cfg.lr, "train-encoder", progress)
    enc.eval()
    err_after = relative_error(enc, images[held], w[held], w_avg_t)
    stats = {"steps": cfg.steps, "batch": cfg.batch, "pool": n, "holdout": cfg.holdout,
             "relative_w_error_before": err_before, "relative_w_error": err_after, "final_loss": running,
             "seconds": round(time.time() - t0, 1), "generator_id": generator_id}
    log(f"encoder: held-out |E(x)-w|/|w_avg-w| {err_before:.3f} -> {err_after:.3f} in {stats['seconds']} s")
    return enc.requires_grad_(False), stats


ENCODER_FILE = NetworkFile(ENCODER_FORMAT, "encoder", lambda config: Encoder(EncoderConfig(**config)))


def save_encoder(enc: Encoder, path: str | Path, generator_id: str, stats: dict | None = None) -> Path:
    return ENCODER_FILE.save(enc, path, generator_id, stats)


def load_encoder(path: str | Path, generator_id: str | None = None, strict: bool = True,
                 device: torch.device | str = "cpu") -> Encoder:
    """Load an encoder; a different generator id raises (strict, the default) or warns.

    An encoder's guesses are coordinates in one generator's W space, meaningless for another.
    """
    return ENCODER_FILE.load(path, generator_id, strict, device)
