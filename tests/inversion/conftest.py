"""Shared fixtures: tiny generators, drawn pictures, test-made VGG16 weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from drawings import draw_face

from latentlab.generator.native import save_native
from latentlab.generator.stylegan2 import StyleGAN2Config, StyleGAN2Generator


def make_generator(resolution: int = 16, seed: int = 0) -> StyleGAN2Generator:
    torch.manual_seed(seed)
    channels = {4: 32, 8: 32, 16: 16, 32: 16, 64: 8}
    cfg = StyleGAN2Config(resolution=resolution, z_dim=32, w_dim=32, mapping_layers=2,
                          channels={r: c for r, c in channels.items() if r <= resolution})
    g = StyleGAN2Generator(cfg).eval().requires_grad_(False)
    with torch.no_grad():
        for name, p in g.named_parameters():
            if name.endswith("noise_strength"):
                p.fill_(0.1)
    return g


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


@pytest.fixture
def gen16() -> StyleGAN2Generator:
    return make_generator(16)


@pytest.fixture
def gen16_file(tmp_path) -> Path:
    return save_native(make_generator(16), tmp_path / "tiny16.safetensors")


@pytest.fixture
def workspace(tmp_path, monkeypatch) -> Path:
    ws = tmp_path / "workspace"
    ws.mkdir()
    monkeypatch.setenv("LATENTLAB_WORKSPACE", str(ws))
    return ws


@pytest.fixture
def drawn_png(tmp_path) -> Path:
    path = tmp_path / "drawn_face.png"
    draw_face().save(path)
    return path


def vgg16_state_dict(seed: int = 0) -> dict[str, torch.Tensor]:
    """A state dict with torchvision vgg16's 'features.*' layout (random values, made here)."""
    from torchvision.models.vgg import cfgs, make_layers

    torch.manual_seed(seed)
    features = make_layers(cfgs["D"], batch_norm=False)
    return {f"features.{k}": v for k, v in features.state_dict().items()}


def rgb_noise(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
