"""Distances between generated and target images, used as the projector's loss.

Every distance maps two batches [N,3,R,R] in [-1,1] to a per-sample value [N]. The projector's
loss is `perceptual_weight * perceptual + pixel_weight * pixel` (`ReconstructionLoss`), with
these documented defaults (chosen so that both terms move the latent at 64x64; see
docs/inversion.md):

| backend  | perceptual term                                   | perceptual_weight | pixel_weight |
|----------|---------------------------------------------------|-------------------|--------------|
| `metric` | latentlab's metric net (LPIPS-shaped, in [0, 4])  | 1.0               | 1.0          |
| `vgg16`  | VGG16 relu1_2..relu4_3, unit-normalised features  | 1.0               | 1.0          |
| `pixel`  | none                                              | 0.0               | 1.0          |

The pixel term is the mean squared error in the [-1, 1] range (so 0.0126 is 25 dB PSNR).
`FeatureL2` is the "plain recipe" distance: unnormalised feature L2 on one feature stage.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from latentlab.core.errors import UserError

LOSSES = ("metric", "vgg16", "pixel")
DEFAULT_WEIGHTS = {"metric": (1.0, 1.0), "vgg16": (1.0, 1.0), "pixel": (0.0, 1.0)}  # (perceptual, pixel)

VGG16_RELU_TAPS = (3, 8, 15, 22)  # relu1_2, relu2_2, relu3_3, relu4_3 in torchvision's vgg16().features
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def pixel_distance(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean squared error per sample [N], images in [-1, 1]."""
    return (x - y).square().mean(dim=(1, 2, 3))


# -- VGG16 -------------------------------------------------------------------------------------------

# torchvision's VGG16_Weights.IMAGENET1K_V1 file (tests check it against torchvision): written out so that
# finding the cache does not import torchvision.models, 1.8 s of every `latentlab invert`
VGG16_FILE = "vgg16-397923af.pth"


def vgg16_default_path() -> Path:
    """Where torchvision's weights API caches VGG16 (ImageNet): <torch hub dir>/checkpoints/vgg16-397923af.pth."""
    return Path(torch.hub.get_dir()) / "checkpoints" / VGG16_FILE


def _missing_vgg_message(path: Path, explicit: bool) -> str:
    from torchvision.models import VGG16_Weights

    if explicit:
        return (f"VGG16 weights file {path} does not exist; pass the path of torchvision's vgg16-397923af.pth "
                f"to --vgg-weights, or use --loss metric")
    return (f"VGG16 ImageNet weights are not installed and this machine cannot download them: put "
            f"{VGG16_Weights.IMAGENET1K_V1.url} at {path} (or pass --vgg-weights PATH), or use --loss metric")


class VGG16Features(nn.Module):
    """torchvision's VGG16 convolutional layers up to relu4_3; outputs the relu taps, unnormalised."""

    def __init__(self, taps: tuple[int, ...] = VGG16_RELU_TAPS, min_size: int = 64):
        super().__init__()
        from torchvision.models.vgg import cfgs, make_layers

        self.features = make_layers(cfgs["D"], batch_norm=False)[: max(taps) + 1]
        for m in self.features:
            if isinstance(m, nn.ReLU):
                m.inplace = False
        self.taps = taps
        self.min_size = min_size
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        if x.shape[-1] < self.min_size:
            x = F.interpolate(x, size=(self.min_size,) * 2, mode="bilinear", align_corners=False)
        x = ((x + 1) / 2 - self.mean) / self.std
        out = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in self.taps:
                out.append(x)
        return out


def load_vgg16_features(weights: str | Path | None = None, device: torch.device | str = "cpu") -> VGG16Features:
    """VGG16 ImageNet features through torchvision's weights API (its cache), or from an explicit file.

    No download is attempted: a missing file raises a `UserError` naming the exact path to use.
    Files are read with `weights_only=True`, so they can hold tensors only.
    """
    explicit = weights is not None
    path = Path(weights) if explicit else vgg16_default_path()
    if not path.is_file():
        raise UserError(_missing_vgg_message(path, explicit))
    try:
        if explicit:
            state = torch.load(path, map_location="cpu", weights_only=True)
        else:
            from torchvision.models import VGG16_Weights

            state = VGG16_Weights.IMAGENET1K_V1.get_state_dict(progress=False, map_location="cpu", weights_only=True)
    except Exception as e:  # unpickling errors come in many types
        raise UserError(f"{path} is not a readable VGG16 weights file ({str(e)[:200]}); "
                        f"replace it with torchvision's vgg16-397923af.pth") from None
    net = VGG16Features()
    if not isinstance(state, dict):
        raise UserError(f"{path} does not hold a VGG16 state dict; replace it with torchvision's vgg16-397923af.pth")
    wanted = net.features.state_dict().keys()
    sub = {k[len("features."):]: v for k, v in state.items() if k.startswith("features.") and k[len("features."):] in wanted}
    missing = [k for k in wanted if k not in sub]
    if missing:
        raise UserError(f"{path} is not a VGG16 state dict (missing features.{missing[0]}); "
                        f"replace it with torchvision's vgg16-397923af.pth")
    try:
        net.features.load_state_dict(sub, strict=True)
    except RuntimeError as e:
        raise UserError(f"{path} does not match VGG16's layer shapes ({str(e)[:160]})") from None
    return net.eval().requires_grad_(False).to(device)


# -- distances ---------------------------------------------------------------------------------------

def unit_features(features: list[torch.Tensor]) -> list[torch.Tensor]:
    """Each feature map [N, C, H, W] scaled to unit length over its channels at every position."""
    return [f * (f.square().sum(dim=1, keepdim=True) + 1e-10).rsqrt() for f in features]


def paired_distance(fa: list[torch.Tensor], fb: list[torch.Tensor]) -> torch.Tensor:
    """LPIPS-shaped distance [N] between matching rows of unit features: per stage the squared
    difference summed over channels and averaged over positions, then averaged over stages (in [0, 4])."""
    return torch.stack([(a - b).square().sum(dim=1).mean(dim=(1, 2)) for a, b in zip(fa, fb)]).mean(dim=0)


class VGG16Distance(nn.Module):
    """LPIPS-shaped distance on VGG16 features (without LPIPS's learned channel weights), in [0, 4]."""

    def __init__(self, features: VGG16Features):
        super().__init__()
        self.net = features

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        return unit_features(self.net(x))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return paired_distance(self.features(x), self.features(y))


class MetricDistance(nn.Module):
    """latentlab's trained metric net (generator.inversion.metric), in [0, 4]."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        return self.net.features(x)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.net.distance(x, y)


def distance_to(perceptual: nn.Module, y: torch.Tensor):
    """`x -> perceptual(x, y)` for a fixed target y [1, 3, R, R]: its features computed once when the
    distance exposes `features` (an optimisation compares many x with one y), else plain calls."""
    if not hasattr(perceptual, "features"):
        return lambda x: perceptual(x, y)
    with torch.no_grad():
        fy = [f.detach() for f in perceptual.features(y)]
    return lambda x: paired_distance(perceptual.features(x), fy)


class FeatureL2(nn.Module):
    """The plain recipe's distance: mean squared difference of one unnormalised feature stage.

    `extractor(x)` returns a list of raw feature maps; `tap` picks one (VGG16: relu3_3 = index 2).
    """

    def __init__(self, extractor, tap: int = 2):
        super().__init__()
        self.extractor = extractor
        self.tap = tap

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return (self.extractor(x)[self.tap] - self.extractor(y)[self.tap]).square().mean(dim=(1, 2, 3))


class ReconstructionLoss(nn.Module):
    """perceptual_weight * perceptual(x, y) + pixel_weight * pixel_distance(x, y), per sample [N]."""

    def __init__(self, perceptual: nn.Module | None, perceptual_weight: float = 1.0, pixel_weight: float = 1.0,
                 name: str = "custom"):
        super().__init__()
        self.perceptual = perceptual
        self.perceptual_weight = perceptual_weight if perceptual is not None else 0.0
        self.pixel_weight = pixel_weight
        self.name = name

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        loss = self.pixel_weight * pixel_distance(x, y) if self.pixel_weight else x.new_zeros(x.shape[0])
        if self.perceptual is not None and self.perceptual_weight:
            loss = loss + self.perceptual_weight * self.perceptual(x, y)
        return loss

    def describe(self) -> dict:
        return {"loss": self.name, "perceptual_weight": self.perceptual_weight, "pixel_weight": self.pixel_weight}


def build_loss(name: str, *, metric_net: nn.Module | None = None, vgg_weights: str | Path | None = None,
               perceptual_weight: float | None = None, pixel_weight: float | None = None,
               device: torch.device | str = "cpu") -> ReconstructionLoss:
    """The projector's loss for a backend name in LOSSES (weights default to DEFAULT_WEIGHTS)."""
    if name not in LOSSES:
        raise UserError(f"unknown loss {name!r}; choose one of {', '.join(LOSSES)}")
    pw, xw = DEFAULT_WEIGHTS[name]
    pw = pw if perceptual_weight is None else perceptual_weight
    xw = xw if pixel_weight is None else pixel_weight
    if name == "pixel":
        return ReconstructionLoss(None, 0.0, xw, name)
    if name == "vgg16":
        return ReconstructionLoss(VGG16Distance(load_vgg16_features(vgg_weights, device)), pw, xw, name)
    if metric_net is None:
        raise UserError("the metric loss needs a trained metric network; train one with `latentlab train-metric`")
    return ReconstructionLoss(MetricDistance(metric_net.to(device)), pw, xw, name)
