"""StyleSpace: the per-layer style vectors of a StyleGAN2, i.e. the outputs of each layer's affine.

Wu, Lischinski & Shechtman (CVPR 2021) measured S more disentangled than W and W+: single style
channels carry single attributes. latentlab uses S to find, from labels, which W+ layers an attribute
lives in (`directions.layers`). Each W+ index feeds one or two affines (a conv and/or a ToRGB); for
64 px: index 0 -> b4.conv1, 1 -> b4.torgb + b8.conv0, 2 -> b8.conv1, 3 -> b8.torgb + b16.conv0, ...

Works for every generator latentlab builds as a StyleGAN2 (native, rosinality `.pt`, NVlabs `.pkl`);
TorchScript files are opaque programs whose affines cannot be reached, and StyleGAN3's layers (one
affine per layer, no W+ index shared with a ToRGB) are not mapped here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from latentlab.core.errors import UserError
from latentlab.generator.interface import LatentGenerator
from latentlab.generator.stylegan3 import StyleGAN3Generator


@dataclass
class StyleLayer:
    """One affine: which W+ index feeds it, its module path, and its channel count."""

    ws_index: int
    name: str  # e.g. "b8.conv0"
    channels: int


def _affines(gen: LatentGenerator) -> list[tuple[StyleLayer, torch.nn.Module]]:
    if isinstance(gen, StyleGAN3Generator):
        raise UserError("StyleSpace tools need a StyleGAN2 generator; StyleGAN3 layers are not supported")
    synthesis = getattr(gen, "synthesis_net", None)
    if synthesis is None or not hasattr(synthesis, "resolutions"):
        raise UserError("this generator exposes no per-layer styles (TorchScript files are opaque); "
                        "layer-aware edits need a StyleGAN2 generator (latentlab, rosinality .pt or NVlabs .pkl)")
    out, idx = [], 0
    for res in synthesis.resolutions:
        block = getattr(synthesis, f"b{res}")
        convs = ["conv1"] if res == 4 else ["conv0", "conv1"]
        for k, conv in enumerate(convs):
            affine = getattr(block, conv).affine
            out.append((StyleLayer(idx + k, f"b{res}.{conv}", affine.weight.shape[0]), affine))
        affine = block.torgb.affine
        out.append((StyleLayer(idx + block.num_conv, f"b{res}.torgb", affine.weight.shape[0]), affine))
        idx += block.num_conv
    return out


def style_layers(gen: LatentGenerator) -> list[StyleLayer]:
    """The generator's affines in synthesis order."""
    return [layer for layer, _ in _affines(gen)]


def styles(gen: LatentGenerator, w: np.ndarray, batch_size: int = 256) -> list[np.ndarray]:
    """W codes [N, w_dim] -> one style array [N, channels] per affine (order of `style_layers`)."""
    affines = _affines(gen)
    w_t = torch.as_tensor(np.asarray(w, np.float32))
    parts: list[list[np.ndarray]] = [[] for _ in affines]
    with torch.inference_mode():
        for i in range(0, len(w_t), batch_size):
            chunk = w_t[i: i + batch_size].to(gen.device)
            for j, (_, affine) in enumerate(affines):
                parts[j].append(affine(chunk).float().cpu().numpy())
    return [np.concatenate(p) if p else np.zeros((0, layer.channels), np.float32)
            for p, (layer, _) in zip(parts, affines)]
