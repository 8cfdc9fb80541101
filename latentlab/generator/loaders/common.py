"""What the checkpoint loaders share: sniffing file content, the deterministic mean latent, and
the finishing touches every loaded StyleGAN2 gets (eval mode, fused convolutions, provenance)."""

from __future__ import annotations

import math
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from latentlab.generator.interface import LatentGenerator, sample_z
from latentlab.generator.stylegan2 import StyleGAN2Generator

# A legacy (pre-zip) torch.save file starts with the pickled magic number 0x1950a86a20f9469cfc6c.
LEGACY_TORCH_MAGIC = b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19"
ZIP_MAGIC = b"PK\x03\x04"
MEAN_W_SAMPLES = 4096
MEAN_W_SEED = 0


@dataclass(frozen=True)
class GeneratorFormat:
    """A checkpoint format: its name, a test on the file's content (never its name), and its loader."""

    name: str
    detect: Callable[[Path], bool]
    load: Callable[[Path, torch.device], LatentGenerator]


@dataclass
class SourceInfo:
    """Where a loaded generator came from: shown by `inspect-generator`, stored by `convert`."""

    format: str
    path: str
    notes: list[str] = field(default_factory=list)
    details: dict[str, str] = field(default_factory=dict)


def read_head(path: Path, n: int = 64) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(n)
    except OSError:
        return b""


def zip_entries(path: Path) -> list[str] | None:
    """Names inside a zip archive, or None when the file is not a readable zip."""
    try:
        with zipfile.ZipFile(path) as z:
            return z.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return None


def mean_w_float64(gen: StyleGAN2Generator, n: int = MEAN_W_SAMPLES, seed: int = MEAN_W_SEED) -> torch.Tensor:
    """Mean of mapping(z) over `n` latents from `sample_z(n, seed)`, computed in float64.

    Float64 makes the result the same float32 vector on every machine and thread count, so the
    generator id (which hashes w_avg) does not depend on where the file was loaded.
    """
    x = torch.from_numpy(sample_z(n, seed, gen.z_dim)).to(torch.float64)
    x = x * (x.square().mean(dim=1, keepdim=True) + 1e-8).rsqrt()
    for i in range(gen.mapping_net.num_layers):
        fc = getattr(gen.mapping_net, f"fc{i}")
        w = fc.weight.detach().cpu().to(torch.float64) * fc.weight_gain
        b = fc.bias.detach().cpu().to(torch.float64) * fc.bias_gain
        x = F.leaky_relu(x @ w.t() + b, 0.2) * math.sqrt(2.0)
    return x.mean(dim=0).to(torch.float32)


def finish(gen: StyleGAN2Generator, device: torch.device, info: SourceInfo) -> StyleGAN2Generator:
    """Inference mode on `device`, with the fused modulated convolution that upstream uses in eval
    mode (the unfused form differs by ~2e-6), and the provenance attached as `source_info`."""
    gen.fused_modconv = True
    gen.source_info = info
    return gen.eval().requires_grad_(False).to(device)
