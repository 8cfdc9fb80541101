"""rosinality/stylegan2-pytorch checkpoints (`.pt` written by `torch.save`).

Only `g_ema` is used. Nothing in the file is executed: it is read with
`torch.load(weights_only=True)`, allowing just `argparse.Namespace` (the `args` of training
checkpoints). rosinality stores no hyper-parameters besides those `args`, so they are read from
the tensor shapes; the mapping learning-rate multiplier is not stored anywhere and is assumed
to be rosinality's default 0.01. Files without `latent_avg` (training checkpoints) get a
deterministic truncation centre: the mean of mapping(z) over 4096 latents from
`sample_z(4096, seed=0)` (upstream's `mean_latent(4096)` draws fresh random z instead).

Key map (rosinality -> latentlab/NVlabs), block k = 0.. at resolution 2^(k+3):
`style.{i+1}` -> `mapping_net.fc{i}`, `input.input[0]` -> `b4.const`, `conv1` -> `b4.conv1`,
`to_rgb1` -> `b4.torgb`, `convs.{2k}` -> `b{res}.conv0`, `convs.{2k+1}` -> `b{res}.conv1`,
`to_rgbs.{k}` -> `b{res}.torgb`, `X.conv.modulation` -> `X.affine`, `X.conv.weight[0]` -> `X.weight`,
`X.activate.bias` -> `X.bias`, `X.noise.weight` -> `X.noise_strength`, `noises.noise_j[0, 0]` ->
`noise_const` (j = 0 for b4.conv1, 2k+1 for conv0, 2k+2 for conv1), blur/upsample kernels / 4 ->
`resample_filter` (rosinality folds the up-sampling gain 4 into its kernels).
"""

from __future__ import annotations

import argparse
import pickle
import re
import zipfile
from pathlib import Path

import torch

from latentlab.generator.loaders.common import (LEGACY_TORCH_MAGIC, MEAN_W_SAMPLES, MEAN_W_SEED, ZIP_MAGIC,
                                                GeneratorFormat, SourceInfo, finish, mean_w_float64, read_head,
                                                zip_entries)
from latentlab.generator.native import (MAX_LAYERS, MAX_RESOLUTION, CheckpointError, build_stylegan2, damaged,
                                        first_line, stylegan2_config)
from latentlab.generator.ops import fir_filter
from latentlab.generator.stylegan2 import StyleGAN2Config, StyleGAN2Generator

NAME = "rosinality"
MAPPING_LR_MUL = 0.01  # rosinality's Generator default (lr_mlp); train.py never changes it


def _looks_like_torch_save(path: Path) -> bool:
    """A torch.save container: a zip (not TorchScript) or the legacy pickle stream. Damaged zips
    are claimed too, so that they get a clear 'truncated' message instead of 'unknown format'."""
    head = read_head(path, len(LEGACY_TORCH_MAGIC))
    if head.startswith(LEGACY_TORCH_MAGIC):
        return True
    if not head.startswith(ZIP_MAGIC):
        return False
    names = zip_entries(path)
    if names is None:
        return True
    return any(n.endswith("data.pkl") for n in names) and not any(n.endswith("constants.pkl") for n in names)


def detect(path: Path) -> bool:
    return _looks_like_torch_save(path)


def _torch_load(path: Path) -> object:
    is_zip = read_head(path, 4) == ZIP_MAGIC
    if is_zip and zip_entries(path) is None:
        raise CheckpointError(f"{path.name} is a damaged or truncated PyTorch file (its zip directory is "
                              f"unreadable); download or copy it again")
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            return torch.load(path, map_location="cpu", weights_only=True, mmap=is_zip)
    except (pickle.UnpicklingError, RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError) as e:
        if "Weights only load failed" in str(e):
            found = re.search(r"GLOBAL ([\w.]+)", str(e))
            what = f"`{found.group(1)}`" if found else "objects other than tensors"
            raise CheckpointError(f"{path.name} was refused: it needs {what} to load, which a rosinality checkpoint "
                                  f"never contains, and latentlab does not run code from checkpoint files") from None
        raise CheckpointError(f"{path.name} is a damaged or truncated PyTorch file ({type(e).__name__}: "
                              f"{(str(e).splitlines() or [''])[0][:120]}); download or copy it again") from None


def _not_a_rosinality_file(path: Path, ckpt: object) -> CheckpointError:
    if isinstance(ckpt, dict) and "G_ema" in ckpt and "train_config" in ckpt:
        return CheckpointError(f"{path.name} is a latentlab training checkpoint; export its generator with "
                               f"`latentlab export-generator --checkpoint {path} --out my_generator.safetensors`")
    keys = sorted(map(str, ckpt))[:8] if isinstance(ckpt, dict) else type(ckpt).__name__
    return CheckpointError(f"{path.name} is a PyTorch file but not a rosinality StyleGAN2 checkpoint: it has no "
                           f"`g_ema` generator (found {keys})")


def _count(sd: dict, pattern: str) -> int:
    rx = re.compile(pattern)
    return len({m.group(1) for k in sd if (m := rx.fullmatch(k))})


def config_from_state(sd: dict[str, torch.Tensor], path: Path) -> StyleGAN2Config:
    """Hyper-parameters from tensor shapes (rosinality stores none)."""
    need = ["style.1.weight", "input.input", "conv1.conv.weight", "to_rgb1.conv.weight"]
    missing = [k for k in need if k not in sd]
    if missing:
        raise CheckpointError(f"{path.name}: `g_ema` lacks {missing}, so it is not a rosinality StyleGAN2 generator")
    n_mlp = _count(sd, r"style\.(\d+)\.weight")
    n_blocks = _count(sd, r"to_rgbs\.(\d+)\.conv\.weight")
    if n_blocks + 2 > MAX_RESOLUTION.bit_length() - 1 or n_mlp > MAX_LAYERS:
        raise damaged(path.name, f"`g_ema` has {n_blocks} to_rgbs and {n_mlp} mapping layers, more than any "
                                 f"StyleGAN2 (at most {MAX_RESOLUTION} px, {MAX_LAYERS} layers)")
    rgb = sd["to_rgb1.conv.weight"]
    if rgb.ndim != 5 or rgb.shape[1] != 3:
        raise CheckpointError(f"{path.name}: to_rgb1 produces {rgb.shape[1] if rgb.ndim == 5 else '?'} channels; "
                              f"latentlab reproduces RGB skip generators only (SWAGAN and other variants are "
                              f"not supported)")
    channels = {4: int(sd["conv1.conv.weight"].shape[1])}
    for k in range(n_blocks):
        key = f"convs.{2 * k}.conv.weight"
        if key not in sd:
            raise CheckpointError(f"{path.name}: `g_ema` lacks {key}; the file is incomplete")
        channels[2 ** (k + 3)] = int(sd[key].shape[1])
    style = sd["style.1.weight"]
    return stylegan2_config(path.name, dict(resolution=2 ** (n_blocks + 2), z_dim=int(style.shape[1]),
                                            w_dim=int(style.shape[0]), mapping_layers=n_mlp,
                                            mapping_lr_mul=MAPPING_LR_MUL, channels=channels, conv_clamp=None,
                                            convention="rosinality"))


def convert_state(sd: dict[str, torch.Tensor], cfg: StyleGAN2Config, path: Path) -> dict[str, torch.Tensor]:
    """rosinality `g_ema` tensors -> latentlab (NVlabs-layout) tensors; refuses leftovers."""
    used: set[str] = set()

    def get(key: str) -> torch.Tensor:
        if key not in sd:
            raise CheckpointError(f"{path.name}: `g_ema` lacks {key}; the file is incomplete or not a rosinality "
                                  f"StyleGAN2")
        used.add(key)
        return sd[key].detach()

    def kernel(key: str) -> torch.Tensor:
        if key not in sd:  # the kernels are deterministic buffers; absent ones mean the default
            return fir_filter()
        k = get(key)
        if tuple(k.shape) != (4, 4):
            raise CheckpointError(f"{path.name}: {key} is a {tuple(k.shape)} filter; only 4-tap blur kernels are "
                                  f"supported")
        return k.to(torch.float32) / 4  # rosinality folds the up-sampling gain 4 into the kernel

    out: dict[str, torch.Tensor] = {}
    for i in range(cfg.mapping_layers):
        out[f"mapping_net.fc{i}.weight"] = get(f"style.{i + 1}.weight")
        out[f"mapping_net.fc{i}.bias"] = get(f"style.{i + 1}.bias")

    def styled_conv(dst: str, src: str, noise_index: int, up: bool) -> None:
        w = get(f"{src}.conv.weight")
        if w.ndim != 5 or w.shape[0] != 1:
            raise CheckpointError(f"{path.name}: {src}.conv.weight has shape {tuple(w.shape)}, expected [1, out, in, "
                                  f"k, k]")
        out[f"{dst}.weight"] = w[0]
        out[f"{dst}.affine.weight"] = get(f"{src}.conv.modulation.weight")
        out[f"{dst}.affine.bias"] = get(f"{src}.conv.modulation.bias")
        out[f"{dst}.bias"] = get(f"{src}.activate.bias")
        out[f"{dst}.noise_strength"] = get(f"{src}.noise.weight").reshape(())
        out[f"{dst}.noise_const"] = get(f"noises.noise_{noise_index}").reshape(
            sd[f"noises.noise_{noise_index}"].shape[-2:])
        out[f"{dst}.resample_filter"] = kernel(f"{src}.conv.blur.kernel") if up else fir_filter()

    def to_rgb(dst: str, src: str) -> None:
        w = get(f"{src}.conv.weight")
        out[f"{dst}.weight"] = w[0]
        out[f"{dst}.affine.weight"] = get(f"{src}.conv.modulation.weight")
        out[f"{dst}.affine.bias"] = get(f"{src}.conv.modulation.bias")
        out[f"{dst}.bias"] = get(f"{src}.bias").reshape(-1)

    s = "synthesis_net"
    const = get("input.input")
    out[f"{s}.b4.const"] = const[0] if const.ndim == 4 else const
    out[f"{s}.b4.resample_filter"] = fir_filter()
    styled_conv(f"{s}.b4.conv1", "conv1", 0, up=False)
    to_rgb(f"{s}.b4.torgb", "to_rgb1")
    for k, res in enumerate(cfg.resolutions[1:]):
        styled_conv(f"{s}.b{res}.conv0", f"convs.{2 * k}", 2 * k + 1, up=True)
        styled_conv(f"{s}.b{res}.conv1", f"convs.{2 * k + 1}", 2 * k + 2, up=False)
        to_rgb(f"{s}.b{res}.torgb", f"to_rgbs.{k}")
        out[f"{s}.b{res}.resample_filter"] = kernel(f"to_rgbs.{k}.upsample.kernel")
    leftover = sorted(set(sd) - used)
    if leftover:
        raise CheckpointError(f"{path.name}: `g_ema` has parameters a StyleGAN2 generator does not ({leftover[:4]}); "
                              f"modified rosinality models are not supported, export them as TorchScript instead")
    return out


def _check_args(args: object, cfg: StyleGAN2Config, path: Path) -> None:
    """Training checkpoints carry an argparse.Namespace; it must agree with the tensor shapes."""
    if not isinstance(args, argparse.Namespace):
        return
    for name, value in (("size", cfg.resolution), ("latent", cfg.w_dim), ("n_mlp", cfg.mapping_layers)):
        stored = getattr(args, name, None)
        if stored is not None and int(stored) != value:
            raise CheckpointError(f"{path.name}: its args say {name}={stored} but the weights have {value}; the file "
                                  f"is inconsistent")


def load(path: Path, device: torch.device) -> StyleGAN2Generator:
    ckpt = _torch_load(path)
    if not isinstance(ckpt, dict) or "g_ema" not in ckpt:
        raise _not_a_rosinality_file(path, ckpt)
    sd = ckpt["g_ema"]
    if not isinstance(sd, dict) or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise CheckpointError(f"{path.name}: `g_ema` is not a state dict of tensors")
    if sd and all(k.startswith("module.") for k in sd):  # saved from DataParallel
        sd = {k[len("module."):]: v for k, v in sd.items()}
    try:
        cfg = config_from_state(sd, path)
        _check_args(ckpt.get("args"), cfg, path)
        tensors = convert_state(sd, cfg, path)
    except CheckpointError:
        raise
    except (AttributeError, TypeError, ValueError, KeyError, RuntimeError) as e:
        raise damaged(path.name, f"`g_ema` is malformed ({first_line(e)})") from None

    notes = [f"mapping lr multiplier {MAPPING_LR_MUL} assumed (rosinality does not store it)"]
    latent_avg = ckpt.get("latent_avg")
    if isinstance(latent_avg, torch.Tensor):
        if latent_avg.numel() != cfg.w_dim:
            raise CheckpointError(f"{path.name}: latent_avg has {latent_avg.numel()} values, expected {cfg.w_dim}")
        tensors["mapping_net.w_avg"] = latent_avg.detach().reshape(cfg.w_dim)
        w_avg_source = "latent_avg stored in the file"
    else:
        tensors["mapping_net.w_avg"] = torch.zeros(cfg.w_dim)
        w_avg_source = (f"mean of mapping(z) over {MEAN_W_SAMPLES} latents from sample_z(seed={MEAN_W_SEED}), "
                        f"float64 (the file has no latent_avg)")
    gen = build_stylegan2(cfg, tensors, path.name, "rosinality")
    if not isinstance(latent_avg, torch.Tensor):
        gen.mapping_net.w_avg.copy_(mean_w_float64(gen))
    details = {"w_avg": w_avg_source}
    args = ckpt.get("args")
    if isinstance(args, argparse.Namespace):
        details["args"] = ", ".join(f"{k}={getattr(args, k)}" for k in ("size", "latent", "n_mlp",
                                                                         "channel_multiplier") if hasattr(args, k))
    return finish(gen, device, SourceInfo(NAME, str(path), notes, details))


FORMAT = GeneratorFormat(NAME, detect, load)
