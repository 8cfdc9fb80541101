"""latentlab's own perceptual metric: a small CNN trained on the generator's samples.

Where no ImageNet VGG16 weights are available (no internet), the projector still wants a
distance that cares about shapes and edges more than raw pixels. This network learns one with
a triplet loss: an anchor sample should be closer to a "positive" (the same latent moved a
small step in W, or the same image slightly shifted, re-lit and noised) than to any other
sample in the batch. The distance is LPIPS-shaped: per stage, features are unit-normalised
over channels, the squared difference is summed over channels and averaged over positions; the
stages are averaged, so a distance lies in [0, 4].
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..interface import LatentGenerator
from .samples import SamplePool, augment
from .weights import check_generator_id, load_into, read_network, save_network

METRIC_FORMAT = "latentlab-metric"


@dataclass
class MetricConfig:
    """Architecture: `widths[i]` channels at resolution / 2**i."""

    resolution: int = 64
    widths: tuple[int, ...] = (16, 32, 64, 64)

    def __post_init__(self) -> None:
        self.widths = tuple(int(w) for w in self.widths)


class MetricNet(nn.Module):
    """Images [N,3,R,R] in [-1,1] -> list of feature maps, one per stage; see `distance`."""

    def __init__(self, cfg: MetricConfig | None = None):
        super().__init__()
        self.cfg = cfg or MetricConfig()
        stages, cin = [], 3
        for i, width in enumerate(self.cfg.widths):
            stages.append(nn.Sequential(
                nn.Conv2d(cin, width, 3, 1 if i == 0 else 2, 1), nn.LeakyReLU(0.2),
                nn.Conv2d(width, width, 3, 1, 1), nn.LeakyReLU(0.2)))
            cin = width
        self.stages = nn.ModuleList(stages)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Unit-normalised (over channels) features of each stage, [N, C_i, H_i, W_i]."""
        if x.shape[-1] != self.cfg.resolution:
            x = F.interpolate(x, size=(self.cfg.resolution,) * 2, mode="bilinear", antialias=True, align_corners=False)
        out = []
        for stage in self.stages:
            x = stage(x)
            out.append(x * (x.square().sum(dim=1, keepdim=True) + 1e-10).rsqrt())
        return out

    def distance(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Per-sample distance [N] between two image batches (or one image and a batch)."""
        fx, fy = self.features(x), self.features(y)
        return torch.stack([(a - b).square().sum(dim=1).mean(dim=(1, 2)) for a, b in zip(fx, fy)]).mean(dim=0)


def pairwise_distance(fa: list[torch.Tensor], fb: list[torch.Tensor]) -> torch.Tensor:
    """[Na, Nb] distances from precomputed unit features (|u|=1 so |a-b|^2 = 2 - 2 a.b)."""
    terms = []
    for a, b in zip(fa, fb):
        hw = a.shape[-1] * a.shape[-2]
        terms.append(2 - 2 * torch.einsum("achw,bchw->ab", a, b) / hw)
    return torch.stack(terms).mean(dim=0)


@dataclass
class MetricTrainConfig:
    steps: int = 600
    batch: int = 32
    lr: float = 2e-3
    margin: float = 0.1  # in distance units (a distance lies in [0, 4])
    latent_positive_fraction: float = 0.5  # the rest of the positives are augmentations of the anchor
    holdout: int = 256  # pool samples kept aside to measure triplet accuracy
    seed: int = 0
    net: MetricConfig = field(default_factory=MetricConfig)


def _to_float(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 127.5 - 1


def _positives(pool_near: torch.Tensor, pool: torch.Tensor, idx: torch.Tensor, fraction: float,
               gen: torch.Generator) -> torch.Tensor:
    use_latent = torch.rand(len(idx), generator=gen) < fraction
    base = torch.where(use_latent[:, None, None, None], pool_near[idx], pool[idx])
    return augment(base, gen)


@torch.no_grad()
def triplet_accuracy(net: MetricNet, images: torch.Tensor, images_near: torch.Tensor) -> float:
    """Fraction of (anchor, its latent neighbour, another sample) triplets ordered correctly."""
    fa, fp = net.features(images), net.features(images_near)
    d = pairwise_distance(fa, fp)  # [N, N]; diagonal = positives
    pos = d.diag()[:, None]
    off = ~torch.eye(len(d), dtype=torch.bool)
    return float((pos < d)[off].float().mean())


def train_metric(pool: SamplePool, generator_id: str, cfg: MetricTrainConfig = MetricTrainConfig(),
                 init: MetricNet | None = None, progress: bool = True,
                 log: Callable[[str], None] = print) -> tuple[MetricNet, dict]:
    """Train (or continue training `init`) on a sample pool; returns the net and its statistics."""
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    images, images_near = _to_float(pool.images), _to_float(pool.images_near)
    n_train = len(images) - cfg.holdout
    if n_train < 2 * cfg.batch:
        raise ValueError(f"pool of {len(images)} samples is too small for batch {cfg.batch} and holdout {cfg.holdout}")
    net_cfg = MetricConfig(**{**asdict(cfg.net), "resolution": images.shape[-1]})
    net = init if init is not None else MetricNet(net_cfg)
    net.train()
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    held, held_near = images[n_train:], images_near[n_train:]
    acc_before = triplet_accuracy(net, held, held_near)
    steps = range(cfg.steps)
    if progress:
        from tqdm import tqdm
        steps = tqdm(steps, desc="train-metric", unit="step")
    t0, running = time.time(), math.nan
    for step in steps:
        lr = cfg.lr * 0.5 * (1 + math.cos(math.pi * step / cfg.steps))  # cosine decay
        for g in opt.param_groups:
            g["lr"] = lr
        idx = torch.randint(0, n_train, (cfg.batch,), generator=gen)
        anchors = augment(images[idx], gen)
        positives = _positives(images_near, images, idx, cfg.latent_positive_fraction, gen)
        d = pairwise_distance(net.features(anchors), net.features(positives))  # [B, B]
        pos = d.diag()[:, None]
        off = ~torch.eye(cfg.batch, dtype=torch.bool)
        violations = F.relu(pos - d + cfg.margin)[off]
        loss = violations.sum() / violations.gt(0).sum().clamp(min=1)  # mean over active triplets
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        running = float(loss) if math.isnan(running) else 0.95 * running + 0.05 * float(loss)
        if progress:
            steps.set_postfix(loss=f"{running:.4f}")
    net.eval()
    acc_after = triplet_accuracy(net, held, held_near)
    stats = {"steps": cfg.steps, "batch": cfg.batch, "pool": len(images), "holdout": cfg.holdout,
             "triplet_accuracy_before": acc_before, "triplet_accuracy": acc_after,
             "final_loss": running, "seconds": round(time.time() - t0, 1), "generator_id": generator_id}
    log(f"metric: held-out triplet accuracy {acc_before:.3f} -> {acc_after:.3f} in {stats['seconds']} s")
    return net.requires_grad_(False), stats


def save_metric(net: MetricNet, path: str | Path, generator_id: str, stats: dict | None = None) -> Path:
    cfg = asdict(net.cfg)
    cfg["widths"] = list(cfg["widths"])
    return save_network(path, net, METRIC_FORMAT, generator_id, cfg, stats)


def load_metric(path: str | Path, generator_id: str | None = None, strict: bool = False,
                device: torch.device | str = "cpu") -> MetricNet:
    """Load a metric net; a different generator id warns (strict=False) or raises (strict=True).

    A metric net still measures faces sensibly for another anime generator, hence only a warning
    by default.
    """
    path = Path(path)
    tensors, meta = read_network(path, METRIC_FORMAT, "metric")
    check_generator_id(meta, generator_id, path, "metric", strict)
    net = load_into(MetricNet(MetricConfig(**meta["config"])), tensors, path, "metric")
    net.generator_id = meta.get("generator_id")
    net.stats = meta["extra"]
    return net.eval().requires_grad_(False).to(device)
