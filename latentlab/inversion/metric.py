"""latentlab's own perceptual metric: a small CNN trained on the generator's samples.

Where no ImageNet VGG16 weights are available (no internet), the projector still wants a
distance that cares about shapes and edges more than raw pixels. This network learns one with
a triplet loss: an anchor sample should be closer to a "positive" (the same latent moved a
small step in W, or the same image slightly shifted, re-lit and noised) than to a "negative":
the same latent moved a larger step, or any other sample in the batch, by a factor (the hinge is
on log distances, margin log 2: negatives at least twice as far). So the distance learns to grow
with the distance in W and to shrug off small shifts and lighting changes, which is what guides
the projector on real pictures. The distance is LPIPS-shaped: per stage, features are unit-normalised
over channels, the squared difference is summed over channels and averaged over positions; the
stages are averaged, so a distance lies in [0, 4].
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from latentlab.inversion.losses import paired_distance, unit_features
from latentlab.inversion.preprocess import to_tensor
from latentlab.inversion.samples import SamplePool, augment, train_loop
from latentlab.inversion.weights import NetworkFile

METRIC_FORMAT = "latentlab-metric"


@dataclass
class MetricConfig:
    """Architecture: `widths[i]` channels at resolution / 2**i (one conv at full size, two below)."""

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
            if i == 0:  # one conv at full resolution keeps training cheap on CPU
                stages.append(nn.Sequential(nn.Conv2d(cin, width, 3, 1, 1), nn.LeakyReLU(0.2)))
            else:
                stages.append(nn.Sequential(
                    nn.Conv2d(cin, width, 3, 2, 1), nn.LeakyReLU(0.2),
                    nn.Conv2d(width, width, 3, 1, 1), nn.LeakyReLU(0.2)))
            cin = width
        self.stages = nn.ModuleList(stages)

    def raw_features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Each stage's output [N, C_i, H_i, W_i], unnormalised (the plain recipe's features)."""
        if x.shape[-1] != self.cfg.resolution:
            x = F.interpolate(x, size=(self.cfg.resolution,) * 2, mode="bilinear", antialias=True, align_corners=False)
        out = []
        for stage in self.stages:
            x = stage(x)
            out.append(x)
        return out

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Unit-normalised (over channels) features of each stage, [N, C_i, H_i, W_i]."""
        return unit_features(self.raw_features(x))

    def distance(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Per-sample distance [N] between two image batches (or one image and a batch)."""
        return paired_distance(self.features(x), self.features(y))


def pairwise_distance(fa: list[torch.Tensor], fb: list[torch.Tensor]) -> torch.Tensor:
    """[Na, Nb] distances from precomputed unit features (|u|=1 so |a-b|^2 = 2 - 2 a.b)."""
    terms = []
    for a, b in zip(fa, fb):
        hw = a.shape[-1] * a.shape[-2]
        terms.append(2 - 2 * torch.einsum("achw,bchw->ab", a, b) / hw)
    return torch.stack(terms).mean(dim=0)


@dataclass
class MetricTrainConfig:
    steps: int = 300
    batch: int = 32
    lr: float = 2e-3
    margin: float = math.log(2.0)  # log-distance margin: negatives at least twice as far as positives
    latent_positive_fraction: float = 0.5  # the rest of the positives are augmentations of the anchor
    holdout: int = 256  # pool samples kept aside to measure triplet accuracy
    seed: int = 0
    net: MetricConfig = field(default_factory=MetricConfig)


def _positives(pool_near: torch.Tensor, pool: torch.Tensor, idx: torch.Tensor, fraction: float,
               gen: torch.Generator) -> torch.Tensor:
    use_latent = torch.rand(len(idx), generator=gen) < fraction
    base = torch.where(use_latent[:, None, None, None], pool_near[idx], pool[idx])
    return augment(base, gen)


@torch.no_grad()
def triplet_accuracy(net: MetricNet, images: torch.Tensor, images_near: torch.Tensor,
                     images_far: torch.Tensor) -> tuple[float, float]:
    """(graded, others): the fraction of anchors closer to their small-step neighbour than to their
    larger-step one, and the fraction of (anchor, neighbour, other sample) triplets ordered right."""
    device = next(net.parameters()).device
    fa, fp = net.features(images.to(device)), net.features(images_near.to(device))
    d = pairwise_distance(fa, fp)  # [N, N]; diagonal = positives
    pos = d.diag()
    off = ~torch.eye(len(d), dtype=torch.bool, device=d.device)
    far = net.distance(images.to(device), images_far.to(device))
    return float((pos < far).float().mean()), float((pos[:, None] < d)[off].float().mean())


def hinge_terms(fa: list[torch.Tensor], fp: list[torch.Tensor], ff: list[torch.Tensor], margin: float) -> torch.Tensor:
    """Triplet hinges on log distances: each anchor's positive should be `exp(margin)` times closer
    than its far neighbour and than every other row's positive. Scale-free, so the margin means
    the same for any feature scale; returns every hinge (zeros included)."""
    d = pairwise_distance(fa, fp).clamp_min(1e-8).log()  # [B, B]; diagonal = positives
    pos = d.diag()
    off = ~torch.eye(len(d), dtype=torch.bool, device=d.device)
    far = paired_distance(fa, ff).clamp_min(1e-8).log()
    return torch.cat([F.relu(pos[:, None] - d + margin)[off], F.relu(pos - far + margin)])


@torch.no_grad()
def triplet_loss(net: MetricNet, anchors: torch.Tensor, positives: torch.Tensor, negatives: torch.Tensor,
                 margin: float) -> float:
    """Mean hinge over every triplet of a fixed (held-out) set: the training objective."""
    device = next(net.parameters()).device
    f = [net.features(x.to(device)) for x in (anchors, positives, negatives)]
    return float(hinge_terms(*f, margin).mean())


@torch.enable_grad()  # a caller may have switched gradients off globally
def train_metric(pool: SamplePool, generator_id: str, cfg: MetricTrainConfig | None = None,
                 init: MetricNet | None = None, progress: bool = True, device: torch.device | str = "cpu",
                 log: Callable[[str], None] = print) -> tuple[MetricNet, dict]:
    """Train (or continue training `init`) on a sample pool; returns the net and its statistics."""
    cfg = cfg if cfg is not None else MetricTrainConfig()
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    images, images_near, images_far = to_tensor(pool.images), to_tensor(pool.images_near), to_tensor(pool.images_far)
    n_train = len(images) - cfg.holdout
    if n_train < 2 * cfg.batch:
        raise ValueError(f"pool of {len(images)} samples is too small for batch {cfg.batch} and holdout {cfg.holdout}")
    net_cfg = MetricConfig(**{**asdict(cfg.net), "resolution": images.shape[-1]})
    net = (init if init is not None else MetricNet(net_cfg)).to(device).requires_grad_(True)
    net.train()
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    held = images[n_train:], images_near[n_train:], images_far[n_train:]
    eval_gen = torch.Generator().manual_seed(cfg.seed + 1)  # one fixed augmented held-out set
    held_idx = torch.arange(cfg.holdout)
    held_aug = (augment(held[0], eval_gen), _positives(held[1], held[0], held_idx, cfg.latent_positive_fraction, eval_gen),
                augment(held[2], eval_gen))
    acc_before = triplet_accuracy(net, *held)
    loss_before = triplet_loss(net, *held_aug, cfg.margin)

    def batch_loss() -> torch.Tensor:  # mean over the triplets that violate the margin
        idx = torch.randint(0, n_train, (cfg.batch,), generator=gen)
        anchors = augment(images[idx], gen).to(device)
        positives = _positives(images_near, images, idx, cfg.latent_positive_fraction, gen).to(device)
        negatives = augment(images_far[idx], gen).to(device)
        violations = hinge_terms(net.features(anchors), net.features(positives), net.features(negatives), cfg.margin)
        return violations.sum() / violations.gt(0).sum().clamp(min=1)

    t0 = time.time()
    running = train_loop(opt, batch_loss, cfg.steps, cfg.lr, "train-metric", progress)
    net.eval()
    acc_after = triplet_accuracy(net, *held)
    loss_after = triplet_loss(net, *held_aug, cfg.margin)
    stats = {"steps": cfg.steps, "batch": cfg.batch, "pool": len(images), "holdout": cfg.holdout,
             "graded_accuracy_before": acc_before[0], "graded_accuracy": acc_after[0],
             "others_accuracy_before": acc_before[1], "others_accuracy": acc_after[1],
             "heldout_loss_before": loss_before, "heldout_loss": loss_after,
             "final_loss": running, "seconds": round(time.time() - t0, 1), "generator_id": generator_id}
    log(f"metric: held-out accuracy, small step closer than large step {acc_before[0]:.3f} -> {acc_after[0]:.3f}, "
        f"than other samples {acc_before[1]:.3f} -> {acc_after[1]:.3f}; triplet loss {loss_before:.4f} -> "
        f"{loss_after:.4f}; {stats['seconds']} s")
    return net.requires_grad_(False), stats


METRIC_FILE = NetworkFile(METRIC_FORMAT, "metric", lambda config: MetricNet(MetricConfig(**config)))


def save_metric(net: MetricNet, path: str | Path, generator_id: str, stats: dict | None = None) -> Path:
    return METRIC_FILE.save(net, path, generator_id, stats)


def load_metric(path: str | Path, generator_id: str | None = None, strict: bool = False,
                device: torch.device | str = "cpu") -> MetricNet:
    """Load a metric net; a different generator id warns (strict=False) or raises (strict=True).

    A metric net still measures faces sensibly for another anime generator, hence only a warning
    by default.
    """
    return METRIC_FILE.load(path, generator_id, strict, device)
