"""latentlab's own safe weights format: safetensors + the config as JSON metadata.

Loading it never runs code: safetensors holds only tensors, the metadata only strings.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from latentlab.core.artifacts import atomic_path, check_generator_id
from latentlab.core.errors import UserError
from latentlab.generator.stylegan2 import StyleGAN2Config, StyleGAN2Generator

FORMAT = "latentlab-stylegan2"
VERSION = "1"


class CheckpointError(UserError, ValueError):
    """A weights file that cannot be loaded; the message says why and what to do."""


def save_native(gen: StyleGAN2Generator, path: str | Path, extra: dict[str, str] | None = None) -> Path:
    """Write a generator's weights and config; returns the path."""
    path = Path(path)
    meta = {"format": FORMAT, "version": VERSION, "config": json.dumps(gen.cfg.to_dict()),
            "generator_id": gen.generator_id, **(extra or {})}
    tensors = {k: v.detach().cpu().contiguous() for k, v in gen.state_dict().items()}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=meta)
    return path


def is_native(path: str | Path) -> bool:
    try:
        with safe_open(str(path), framework="pt") as f:
            return (f.metadata() or {}).get("format") == FORMAT
    except Exception:
        return False


def load_native(path: str | Path, device: torch.device | str = "cpu") -> StyleGAN2Generator:
    path = Path(path)
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:  # safetensors raises several types for corrupt files
        raise CheckpointError(f"{path} is not a readable safetensors file ({e})") from None
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path} is a safetensors file but not a latentlab generator "
                              f"(format {meta.get('format')!r}); convert it with `latentlab convert`")
    gen = StyleGAN2Generator(StyleGAN2Config.from_dict(json.loads(meta["config"])))
    missing, unexpected = gen.load_state_dict(tensors, strict=False)
    if missing or unexpected:
        raise CheckpointError(f"{path} does not match its own config: missing {missing[:5]}, unexpected {unexpected[:5]}")
    if "generator_id" in meta:  # the weights must still be those the file was written with
        check_generator_id(meta["generator_id"], gen.generator_id, str(path), made="was written with",
                           remedy="the file was changed afterwards; export or convert the generator again")
    # Run-time settings recorded by `latentlab convert` so a converted file renders like its source.
    gen.fused_modconv = meta.get("fused_modconv") == "1"
    fp16 = int(meta.get("num_fp16_res", "0") or 0)
    dev = torch.device(device)
    if fp16 and dev.type == "cuda" and gen.cfg.conv_clamp is not None and os.environ.get("LATENTLAB_FP32", "") in ("", "0"):
        gen.num_fp16_res = fp16  # NVlabs' GPU default, only safe for clamped models trained that way
    return gen.eval().requires_grad_(False).to(dev)
