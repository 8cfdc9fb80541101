"""latentlab's own safe weights format: safetensors + the config as JSON metadata.

Loading it never runs code: safetensors holds only tensors, the metadata only strings. StyleGAN2
generators are written as format `latentlab-stylegan2`, StyleGAN3 ones as `latentlab-stylegan3`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import operator
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from latentlab.core.artifacts import atomic_path, check_generator_id
from latentlab.core.errors import UserError, quoted
from latentlab.generator.stylegan2 import StyleGAN2Config, StyleGAN2Generator
from latentlab.generator.stylegan3 import LayerPlan, StyleGAN3Config, StyleGAN3Generator

FORMAT = "latentlab-stylegan2"
FORMAT_STYLEGAN3 = "latentlab-stylegan3"
FORMATS = (FORMAT, FORMAT_STYLEGAN3)
VERSION = "1"


class CheckpointError(UserError, ValueError):
    """A weights file that cannot be loaded; the message says why and what to do."""


# -- validate, then build -----------------------------------------------------------------------------------------
# Sizes read from a file (z_dim, w_dim, resolution, channels, layer counts) are first held to sane bounds, then
# every tensor of the file is compared with the shapes those sizes imply (computed, not built). Only then is the
# network built and the file's own tensors put in place (`load_state_dict(assign=True)`), so loading never
# allocates a network the file's numbers merely ask for. Every loader (this format, rosinality, NVlabs) uses these.
# Messages say which of three things a file is: *damaged* (truncated, edited, inconsistent), *refused* (asks for
# something latentlab never runs, for safety) or *unsupported* (a valid model latentlab does not reproduce).

MAX_DIM = 8192  # z_dim, w_dim, c_dim, feature channels: public models use 512 (1024 at most)
MAX_RESOLUTION = 8192
MAX_LAYERS = 64  # mapping layers, StyleGAN3 synthesis layers

M = TypeVar("M", bound=torch.nn.Module)


def damaged(name: str, detail: str) -> CheckpointError:
    """A file whose content contradicts itself or the format: truncated, corrupted or edited."""
    return CheckpointError(f"{name} is damaged or was edited: {detail}; download or copy the original file again")


def check_int(name: str, key: str, value: object, low: int, high: int) -> int:
    """`value` as an int within [low, high], or a 'damaged' error naming `key`."""
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise damaged(name, f"{key} is {quoted(value)}, not a whole number")
    value = operator.index(value)
    if not low <= value <= high:
        raise damaged(name, f"{key}={value} is outside the range a generator can have ({low}..{high})")
    return value


def check_bounds(name: str, sizes: Mapping[str, object], limits: Mapping[str, tuple[int, int]]) -> dict[str, int]:
    """Each size must be an int within its (low, high) bounds; returns them as ints."""
    return {key: check_int(name, key, value, *limits[key]) for key, value in sizes.items()}


def check_dense(name: str, tensors: Mapping[str, torch.Tensor]) -> None:
    """Refuse tensors that claim more elements than their storage holds (zero or overlapping strides
    make a huge tensor out of a few bytes; building from it would allocate what the file never had)."""
    for key, t in tensors.items():
        try:
            nbytes = t.untyped_storage().nbytes()
        except (RuntimeError, NotImplementedError):
            continue
        if t.numel() * t.element_size() > nbytes:
            raise damaged(name, f"tensor {key} {tuple(t.shape)} claims more values than its storage holds "
                                f"({nbytes} bytes)")


def build_checked(factory: Callable[[], M], expected: Mapping[str, tuple[int, ...]],
                  tensors: Mapping[str, torch.Tensor], name: str, what: str) -> M:
    """Compare every entry of `tensors` with the `expected` shapes (names, shapes, floating point),
    and only then build `factory()` and put the tensors in place (float32, no copy when they are)."""
    missing = [k for k in expected if k not in tensors]
    extra = [k for k in tensors if k not in expected]
    if missing or extra:
        raise damaged(name, f"the {what} weights do not fit the generator its settings describe (missing "
                            f"{missing[:3]}, unexpected {extra[:3]})")
    for k, v in tensors.items():
        if tuple(v.shape) != tuple(expected[k]):
            raise damaged(name, f"{what} tensor {k} has shape {tuple(v.shape)} where the settings and the other "
                                f"layers need {tuple(expected[k])}")
        if not v.is_floating_point():
            raise damaged(name, f"{what} tensor {k} holds {v.dtype}, not floating-point weights")
    check_dense(name, tensors)
    net = factory()
    net.load_state_dict({k: v if v.dtype == torch.float32 else v.to(torch.float32) for k, v in tensors.items()},
                        strict=True, assign=True)
    return net


STYLEGAN2_LIMITS = {"resolution": (4, MAX_RESOLUTION), "z_dim": (1, MAX_DIM), "w_dim": (1, MAX_DIM),
                    "c_dim": (0, MAX_DIM), "mapping_layers": (1, MAX_LAYERS), "img_channels": (3, 3)}


def check_float(name: str, key: str, value: object, *, low: float = 0.0, allow_none: bool = False) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < low:
        raise damaged(name, f"{key} is {quoted(value)}, not a finite number >= {low:g}")
    return float(value)


def stylegan2_config(name: str, values: Mapping[str, object]) -> StyleGAN2Config:
    """A StyleGAN2Config from stored settings, every size bounded before anything is built."""
    if not isinstance(values, Mapping):
        raise damaged(name, f"its configuration is {quoted(values)}, not a set of named settings")
    fields = {f.name for f in dataclasses.fields(StyleGAN2Config)}
    unknown = sorted(map(str, set(values) - fields))
    if unknown:
        raise damaged(name, f"its configuration has settings no StyleGAN2 has ({unknown[:3]})")
    values = dict(values)
    values.update(check_bounds(name, {k: values[k] for k in STYLEGAN2_LIMITS if k in values}, STYLEGAN2_LIMITS))
    channels = values.get("channels", {})
    if not isinstance(channels, Mapping) or len(channels) > int(math.log2(MAX_RESOLUTION)):
        raise damaged(name, f"channels is {quoted(channels)}, not one count per resolution")
    try:
        keys = {int(k): k for k in channels}
    except (TypeError, ValueError):
        raise damaged(name, f"channels has resolutions that are not numbers ({quoted(list(channels))})") from None
    values["channels"] = {r: check_int(name, f"channels at {r} px", channels[k], 1, MAX_DIM) for r, k in keys.items()}
    if "mapping_lr_mul" in values:
        values["mapping_lr_mul"] = check_float(name, "mapping_lr_mul", values["mapping_lr_mul"], low=1e-8)
    if "conv_clamp" in values:
        values["conv_clamp"] = check_float(name, "conv_clamp", values["conv_clamp"], allow_none=True)
    try:
        return StyleGAN2Config(**values)
    except (TypeError, ValueError) as e:
        raise damaged(name, str(e)) from None


def build_stylegan2(cfg: StyleGAN2Config, tensors: Mapping[str, torch.Tensor], name: str,
                    what: str) -> StyleGAN2Generator:
    """A StyleGAN2 generator holding `tensors`, after checking them against `cfg` (see build_checked)."""
    return build_checked(lambda: StyleGAN2Generator(cfg), cfg.state_shapes(), tensors, name, what)


def first_line(e: BaseException, limit: int = 120) -> str:
    return f"{type(e).__name__}: {(str(e).splitlines() or [''])[0][:limit]}"



STYLEGAN3_LIMITS = {"resolution": (4, MAX_RESOLUTION), "z_dim": (1, MAX_DIM), "w_dim": (1, MAX_DIM),
                    "c_dim": (0, MAX_DIM), "mapping_layers": (1, MAX_LAYERS), "img_channels": (3, 3),
                    "input_channels": (1, MAX_DIM), "input_size": (1, 2 * MAX_RESOLUTION)}
LAYER_LIMITS = {"in_channels": (1, MAX_DIM), "out_channels": (1, MAX_DIM), "in_size": (1, 2 * MAX_RESOLUTION),
                "out_size": (1, 2 * MAX_RESOLUTION), "kernel": (1, 9), "up": (1, 16), "down": (1, 16),
                "up_taps": (1, 256), "down_taps": (1, 256)}
LAYER_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


def stylegan3_config(name: str, values: Mapping[str, object]) -> StyleGAN3Config:
    """A StyleGAN3Config from stored settings: every size bounded, the layer plan checked to chain
    into a `resolution` px RGB image, before anything is built."""
    if not isinstance(values, Mapping):
        raise damaged(name, f"its configuration is {quoted(values)}, not a set of named settings")
    fields = {f.name for f in dataclasses.fields(StyleGAN3Config)}
    unknown = sorted(map(str, set(values) - fields))
    if unknown:
        raise damaged(name, f"its configuration has settings no StyleGAN3 has ({unknown[:3]})")
    values = dict(values)
    values.update(check_bounds(name, {k: values[k] for k in STYLEGAN3_LIMITS if k in values}, STYLEGAN3_LIMITS))
    for key in ("mapping_lr_mul", "input_sampling_rate", "input_bandwidth", "output_scale"):
        if key in values:
            values[key] = check_float(name, key, values[key], low=1e-8 if key != "output_scale" else 0.0)
    if "conv_clamp" in values:
        values["conv_clamp"] = check_float(name, "conv_clamp", values["conv_clamp"], allow_none=True)
    layers = values.get("layers", [])
    if not isinstance(layers, list) or not 1 <= len(layers) <= MAX_LAYERS + 1:
        raise damaged(name, f"it has {quoted(layers)} as synthesis layers, not a list of 1..{MAX_LAYERS + 1}")
    plans = []
    layer_fields = {f.name for f in dataclasses.fields(LayerPlan)}
    for i, layer in enumerate(layers):
        if not isinstance(layer, Mapping) or set(layer) != layer_fields:
            raise damaged(name, f"synthesis layer {i} is {quoted(layer)}, not a layer description")
        layer = dict(layer)
        if not isinstance(layer["name"], str) or not LAYER_NAME.fullmatch(layer["name"]):
            raise damaged(name, f"synthesis layer {i} is named {quoted(layer['name'])}")
        layer.update(check_bounds(name, {k: layer[k] for k in LAYER_LIMITS},
                                  {k: LAYER_LIMITS[k] for k in LAYER_LIMITS}))
        pad = layer["padding"]
        if not isinstance(pad, (list, tuple)) or len(pad) != 4:
            raise damaged(name, f"layer {layer['name']} has padding {quoted(pad)}, not 4 numbers")
        layer["padding"] = tuple(check_int(name, f"{layer['name']} padding", p, -4 * MAX_RESOLUTION,
                                           4 * MAX_RESOLUTION) for p in pad)
        for flag in ("down_radial", "is_torgb"):
            if not isinstance(layer[flag], bool):
                raise damaged(name, f"layer {layer['name']}'s {flag} is {quoted(layer[flag])}, not true/false")
        plans.append(LayerPlan(**layer))
    if len({p.name for p in plans}) != len(plans):
        raise damaged(name, "two synthesis layers have the same name")
    values["layers"] = plans
    try:
        return StyleGAN3Config(**values)
    except (TypeError, ValueError) as e:
        raise damaged(name, str(e)) from None


def build_stylegan3(cfg: StyleGAN3Config, tensors: Mapping[str, torch.Tensor], name: str,
                    what: str) -> StyleGAN3Generator:
    return build_checked(lambda: StyleGAN3Generator(cfg), cfg.state_shapes(), tensors, name, what)


def is_convertible(gen: object) -> bool:
    """Whether `save_native` can write this generator (latentlab's StyleGAN2 or StyleGAN3)."""
    return isinstance(gen, (StyleGAN2Generator, StyleGAN3Generator))


def save_native(gen: StyleGAN2Generator | StyleGAN3Generator, path: str | Path,
                extra: dict[str, str] | None = None) -> Path:
    """Write a generator's weights and config; returns the path."""
    path = Path(path)
    fmt = FORMAT_STYLEGAN3 if isinstance(gen, StyleGAN3Generator) else FORMAT
    meta = {"format": fmt, "version": VERSION, "config": json.dumps(gen.cfg.to_dict()),
            "generator_id": gen.generator_id, **(extra or {})}
    tensors = {k: v.detach().cpu().contiguous() for k, v in gen.state_dict().items()}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=meta)
    return path


def _header_head(path: str | Path, limit: int = 1 << 16) -> bytes:
    """The start of a safetensors JSON header (empty when the file does not start like one)."""
    try:
        with open(path, "rb") as f:
            head = f.read(9)
            if len(head) < 9 or head[8:9] != b"{":
                return b""
            return b"{" + f.read(min(int.from_bytes(head[:8], "little"), limit))
    except OSError:
        return b""


def is_native(path: str | Path) -> bool:
    """A latentlab generator file; also a damaged one whose header still names the format, so that
    it gets a 'damaged' message instead of 'unknown format'."""
    try:
        with safe_open(str(path), framework="pt") as f:
            return (f.metadata() or {}).get("format") in FORMATS
    except Exception:
        head = _header_head(path)
        return any(f'"format":"{fmt}"'.encode() in head for fmt in FORMATS)


def _damaged(path: Path, detail: str) -> CheckpointError:
    return CheckpointError(f"{path.name} is damaged or was edited: {detail}; export or convert the generator again")


def _read(path: Path) -> tuple[dict[str, str], dict[str, torch.Tensor]]:
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            meta = f.metadata() or {}
            if meta.get("format") not in FORMATS:
                raise CheckpointError(f"{path.name} is a safetensors file but not a latentlab generator "
                                      f"(format {quoted(meta.get('format'))}); convert it with `latentlab convert`")
            return meta, {k: f.get_tensor(k) for k in f.keys()}
    except CheckpointError:
        raise
    except Exception as e:  # safetensors raises several types for corrupt files
        raise _damaged(path, f"it is not a readable safetensors file ({type(e).__name__}: "
                             f"{(str(e).splitlines() or [''])[0][:120]})") from None


def _config(path: Path, meta: dict[str, str]) -> StyleGAN2Config | StyleGAN3Config:
    if "config" not in meta:
        raise _damaged(path, "its metadata has no generator configuration (`config`)")
    try:
        values = json.loads(meta["config"])
    except ValueError:
        raise _damaged(path, f"its configuration is not JSON ({quoted(meta['config'])})") from None
    if meta["format"] == FORMAT_STYLEGAN3:
        return stylegan3_config(path.name, values)
    return stylegan2_config(path.name, values)


def load_native(path: str | Path, device: torch.device | str = "cpu") -> StyleGAN2Generator | StyleGAN3Generator:
    """Read and check everything (settings within bounds, every tensor against the settings) before
    the generator is built; any problem is one CheckpointError line."""
    path = Path(path)
    meta, tensors = _read(path)
    cfg = _config(path, meta)
    if isinstance(cfg, StyleGAN3Config):
        gen = build_stylegan3(cfg, tensors, path.name, "stored")
    else:
        gen = build_stylegan2(cfg, tensors, path.name, "stored")
    if "generator_id" in meta:  # the weights must still be those the file was written with
        check_generator_id(meta["generator_id"], gen.generator_id, str(path), made="was written with",
                           remedy="the file was changed afterwards; export or convert the generator again")
    # Run-time settings recorded by `latentlab convert` so a converted file renders like its source.
    gen.fused_modconv = meta.get("fused_modconv") == "1"
    fp16 = meta.get("num_fp16_res", "0") or "0"
    if not fp16.isdigit() or int(fp16) > 64:
        raise _damaged(path, f"num_fp16_res is {quoted(fp16)}, not a small whole number")
    dev = torch.device(device)
    if int(fp16) and dev.type == "cuda" and isinstance(gen, StyleGAN2Generator) and gen.cfg.conv_clamp is not None \
            and os.environ.get("LATENTLAB_FP32", "") in ("", "0"):
        gen.num_fp16_res = int(fp16)  # NVlabs' GPU default, only safe for clamped models trained that way
    return gen.eval().requires_grad_(False).to(dev)
