"""NVlabs stylegan2-ada-pytorch (and stylegan3-repo StyleGAN2) network pickles (`.pkl`).

These pickles carry the Python source of their networks and, unpickled normally, execute it.
Here a restricted `pickle.Unpickler` resolves only an explicit allow-list of globals: plain
containers, torch's tensor/storage rebuilders (storages decoded with
`torch.load(weights_only=True)`), numeric numpy scalars, and the persistence hook
`torch_utils.persistence._reconstruct_persistent_obj`, which is replaced by a function that
keeps the object's stored `state` (parameters, buffers, attributes, init kwargs) and ignores its
`module_src`. Any other global (`os.system`, `builtins.eval`, an unpersisted `training.*` class)
stops loading with a CheckpointError naming it. The stored hyper-parameters (`_init_kwargs` and
per-layer attributes) are read back, checked, and mapped onto latentlab's StyleGAN2, whose
parameter names follow NVlabs' (`mapping.` -> `mapping_net.`, `synthesis.` -> `synthesis_net.`).
"""

from __future__ import annotations

import collections
import hashlib
import io
import os
import pickle
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from latentlab.generator.loaders.common import (LEGACY_TORCH_MAGIC, GeneratorFormat, SourceInfo, finish, load_tensors,
                                                read_head)
from latentlab.generator.native import CheckpointError
from latentlab.generator.stylegan2 import StyleGAN2Config, StyleGAN2Generator

NAME = "nvlabs"
PERSISTENCE_VERSION = 6  # every public stylegan2-ada / stylegan3 release
FP32_ENV = "LATENTLAB_FP32"  # set to 1 to keep NVlabs models in float32 on CUDA


class _Refused(pickle.UnpicklingError):
    """A global outside the allow-list; carries its dotted name."""

    def __init__(self, what: str):
        super().__init__(what)
        self.what = what


@dataclass
class PersistentObject:
    """A network object as the pickle stores it: its class name and state, never its code."""

    class_name: str
    state: dict
    version: int
    module_src_sha256: str


def _reconstruct_persistent_obj(meta: object) -> PersistentObject:
    if not isinstance(meta, dict) or meta.get("type") != "class" or not isinstance(meta.get("class_name"), str) \
            or not isinstance(meta.get("state"), dict):
        raise _Refused("a persistent object without the class/state layout of torch_utils.persistence")
    src = meta.get("module_src")
    sha = hashlib.sha256(src.encode()).hexdigest() if isinstance(src, str) else ""
    return PersistentObject(meta["class_name"], meta["state"], int(meta.get("version", -1)), sha)


class _EasyDict(dict):
    """Stand-in for dnnlib.util.EasyDict (a dict; attribute access is not needed here)."""


def _load_from_bytes(data: bytes) -> torch.storage.TypedStorage:
    if not isinstance(data, (bytes, bytearray)):
        raise _Refused("torch.storage._load_from_bytes with non-bytes data")
    storage = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    if not isinstance(storage, (torch.storage.TypedStorage, torch.UntypedStorage)):
        raise _Refused(f"a tensor storage payload holding {type(storage).__name__}")
    return storage


def _view(untyped: torch.UntypedStorage, dtype: torch.dtype, offset, size, stride) -> torch.Tensor:
    """A tensor on `untyped`, refusing views that reach past its end (torch would silently grow
    the storage with uninitialised memory)."""
    offset, size, stride = int(offset), tuple(int(s) for s in size), tuple(int(s) for s in stride)
    if offset < 0 or len(size) != len(stride) or any(s < 0 for s in size + stride):
        raise ValueError("a tensor with negative sizes, strides or offset")
    itemsize = torch.empty((), dtype=dtype).element_size()
    last = offset + sum((n - 1) * s for n, s in zip(size, stride)) if all(size) else offset - 1
    if (last + 1) * itemsize > untyped.nbytes():
        raise ValueError("a tensor that reaches past the end of its storage")
    return torch.empty((0,), dtype=dtype).set_(untyped, offset, size, stride)


def _rebuild_tensor(storage, storage_offset, size, stride, *_ignored) -> torch.Tensor:
    """Build a tensor view of a storage; requires_grad, hooks and metadata are dropped."""
    if not isinstance(storage, torch.storage.TypedStorage):
        raise _Refused(f"a tensor built on {type(storage).__name__}")
    with warnings.catch_warnings():  # TypedStorage is what these pickles hold; torch warns on any use
        warnings.simplefilter("ignore", UserWarning)
        return _view(storage.untyped(), storage.dtype, storage_offset, size, stride)


def _rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad, backward_hooks, dtype,
                       *_ignored) -> torch.Tensor:
    if not isinstance(storage, torch.UntypedStorage) or not isinstance(dtype, torch.dtype):
        raise _Refused("torch._utils._rebuild_tensor_v3 with unexpected arguments")
    return _view(storage, dtype, storage_offset, size, stride)


def _rebuild_parameter(data, *_ignored) -> torch.Tensor:
    if not isinstance(data, torch.Tensor):
        raise _Refused("torch._utils._rebuild_parameter of a non-tensor")
    return data


def _numpy_dtype(spec, align=False, copy=False) -> np.dtype:
    d = np.dtype(spec) if isinstance(spec, str) else None
    if d is None or d.kind not in "biufc":
        raise _Refused(f"numpy.dtype({spec!r})")
    return np.dtype(spec, bool(align), bool(copy))


def _numpy_scalar(dtype, data=None):
    if not isinstance(dtype, np.dtype) or dtype.kind not in "biufc" or dtype.hasobject or not isinstance(data, bytes):
        raise _Refused("a numpy scalar that is not a plain number")
    return np.frombuffer(data, dtype=dtype, count=1)[0].copy()


def _codecs_encode(text, encoding="latin1"):
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise _Refused("_codecs.encode with an unexpected encoding")
    return text.encode("latin1")


_TORCH_DTYPES = ("float16", "float32", "float64", "bfloat16", "uint8", "int8", "int16", "int32", "int64", "bool")

ALLOWED: dict[str, object] = {
    "torch_utils.persistence._reconstruct_persistent_obj": _reconstruct_persistent_obj,
    "collections.OrderedDict": collections.OrderedDict,
    "dnnlib.util.EasyDict": _EasyDict,
    "dnnlib.EasyDict": _EasyDict,
    "torch._utils._rebuild_tensor": _rebuild_tensor,
    "torch._utils._rebuild_tensor_v2": _rebuild_tensor,
    "torch._utils._rebuild_tensor_v3": _rebuild_tensor_v3,
    "torch._utils._rebuild_parameter": _rebuild_parameter,
    "torch._utils._rebuild_parameter_with_state": _rebuild_parameter,
    "torch.storage._load_from_bytes": _load_from_bytes,
    "numpy.core.multiarray.scalar": _numpy_scalar,
    "numpy._core.multiarray.scalar": _numpy_scalar,
    "numpy.dtype": _numpy_dtype,
    "torch.device": torch.device,
    "torch.Size": torch.Size,
    "builtins.set": set,
    "builtins.frozenset": frozenset,
    "builtins.complex": complex,
    "_codecs.encode": _codecs_encode,
    **{f"torch.{name}": getattr(torch, name) for name in _TORCH_DTYPES},
}


_PY2_MODULES = {"__builtin__": "builtins", "copy_reg": "copyreg"}


class RestrictedUnpickler(pickle.Unpickler):
    """Resolves only the globals in ALLOWED; everything else raises _Refused."""

    def find_class(self, module: str, name: str):
        module = _PY2_MODULES.get(module, module)  # protocol 2 pickles name Python 2 modules
        key = f"{module}.{name}"
        if key in ALLOWED:
            return ALLOWED[key]
        raise _Refused(key)

    def persistent_load(self, pid):
        raise _Refused(f"persistent id {pid!r}")


def _refusal_message(path: Path, what: str) -> str:
    if what.startswith("dnnlib.tflib"):
        return (f"{path.name} is a TensorFlow StyleGAN pickle (it needs `{what}`); convert it to PyTorch first with "
                f"stylegan2-ada-pytorch's legacy.py or rosinality's convert_weight.py on a machine you trust")
    if what.startswith("training."):
        return (f"{path.name} stores `{what}` as a plain class instead of a torch_utils.persistence object; "
                f"latentlab only reads network pickles written by NVlabs' training code")
    return (f"{path.name} was refused: it asks for `{what}`, which an NVlabs network pickle never needs, and latentlab "
            f"does not run code from checkpoint files")


def read_snapshot(path: Path) -> object:
    """Unpickle with the allow-list; never executes code carried by the file."""
    try:
        with open(path, "rb") as f:
            return RestrictedUnpickler(f).load()
    except _Refused as e:
        raise CheckpointError(_refusal_message(path, e.what)) from None
    except EOFError:
        raise CheckpointError(f"{path.name} ends early (truncated download?); download or copy it again") from None
    except (pickle.UnpicklingError, ValueError, TypeError, RuntimeError, IndexError, KeyError, AttributeError,
            MemoryError, UnicodeDecodeError, OverflowError) as e:
        raise CheckpointError(f"{path.name} is not a readable network pickle ({type(e).__name__}: "
                              f"{(str(e).splitlines() or [''])[0][:120]}); it may be damaged or truncated") from None


def detect(path: Path) -> bool:
    """Any pickle (protocol 2+) except a legacy torch.save stream: unknown pickles are read by
    the restricted unpickler too, so they are refused with a message naming what they need."""
    head = read_head(path, len(LEGACY_TORCH_MAGIC))
    return head[:1] == b"\x80" and not head.startswith(LEGACY_TORCH_MAGIC)


# -- from the stored object tree to tensors and hyper-parameters --------------------------------------------------

def _children(obj: PersistentObject) -> dict[str, PersistentObject]:
    return {k: v for k, v in (obj.state.get("_modules") or {}).items() if v is not None}


def flatten_state(obj: PersistentObject, path: Path, prefix: str = "") -> dict[str, torch.Tensor]:
    """The module tree's state_dict: parameters, persistent buffers, then children (dotted names)."""
    out: dict[str, torch.Tensor] = {}
    state = obj.state
    skip = set(state.get("_non_persistent_buffers_set") or ())
    for kind in ("_parameters", "_buffers"):
        for name, t in (state.get(kind) or {}).items():
            if t is None or (kind == "_buffers" and name in skip):
                continue
            if not isinstance(t, torch.Tensor):
                raise CheckpointError(f"{path.name}: {prefix}{name} is not a tensor; the pickle is malformed")
            out[prefix + name] = t
    for name, child in _children(obj).items():
        if not isinstance(child, PersistentObject):
            raise CheckpointError(f"{path.name}: module {prefix}{name} is a {type(child).__name__}, not a network "
                                  f"object; the pickle is malformed")
        out.update(flatten_state(child, path, f"{prefix}{name}."))
    return out


def _walk(obj: PersistentObject, prefix: str = ""):
    yield prefix.rstrip("."), obj
    for name, child in _children(obj).items():
        if isinstance(child, PersistentObject):
            yield from _walk(child, f"{prefix}{name}.")


def _attr(obj: PersistentObject, name: str, default=None):
    value = obj.state.get(name, default)
    return value.item() if isinstance(value, np.generic) else value


def generator_config(g: PersistentObject, path: Path) -> tuple[StyleGAN2Config, dict[str, str], int]:
    """Hyper-parameters of G_ema; refuses what latentlab cannot reproduce, naming it."""
    kwargs = dict(g.state.get("_init_kwargs") or {})
    syn_kwargs = dict(kwargs.get("synthesis_kwargs") or {})
    children = _children(g)
    mapping, synthesis = children.get("mapping"), children.get("synthesis")
    if g.class_name != "Generator" or mapping is None or synthesis is None:
        raise CheckpointError(f"{path.name}: G_ema is a {g.class_name} without mapping and synthesis networks, not a "
                              f"StyleGAN2 generator")
    modules = dict(_walk(synthesis))
    if "input" in _children(synthesis) or any(m.class_name == "SynthesisInput" for m in modules.values()):
        raise CheckpointError(f"{path.name} is a StyleGAN3 (alias-free) generator; latentlab reproduces StyleGAN2 "
                              f"synthesis only (no Fourier-feature SynthesisInput or filtered layers) - export it "
                              f"as TorchScript to use it")
    c_dim = int(_attr(g, "c_dim", kwargs.get("c_dim", 0)) or 0)
    if c_dim > 0 or "embed" in _children(mapping):
        raise CheckpointError(f"{path.name} is a conditional generator (c_dim={c_dim}); latentlab's generators take "
                              f"no class label, so the label embedding input is missing - export a wrapper with a "
                              f"fixed label as TorchScript to use it")
    img_channels = int(_attr(g, "img_channels", kwargs.get("img_channels", 3)))
    if img_channels != 3:
        raise CheckpointError(f"{path.name} generates {img_channels}-channel images; only RGB is supported")
    architectures = {str(_attr(m, "architecture", "skip")) for m in modules.values()
                     if m.class_name == "SynthesisBlock"}
    architectures.add(str(syn_kwargs.get("architecture", "skip")))
    if architectures != {"skip"}:
        raise CheckpointError(f"{path.name} uses the {sorted(architectures - {'skip'})} synthesis architecture; "
                              f"latentlab reproduces the 'skip' architecture (StyleGAN2 config-e/f) only")
    activations = {str(_attr(m, "activation")) for _, m in _walk(g)
                   if m.class_name in ("SynthesisLayer", "FullyConnectedLayer") and _attr(m, "activation") != "linear"}
    if activations - {"lrelu"}:
        raise CheckpointError(f"{path.name} uses {sorted(activations - {'lrelu'})} activations; only lrelu is "
                              f"supported")
    clamps = {_attr(m, "conv_clamp") for m in modules.values() if m.class_name in ("SynthesisLayer", "ToRGBLayer")}
    if len(clamps) > 1:
        raise CheckpointError(f"{path.name} uses different conv_clamp values per layer ({sorted(map(str, clamps))}); "
                              f"latentlab supports one value for all layers")
    conv_clamp = clamps.pop() if clamps else syn_kwargs.get("conv_clamp")
    fc0 = _children(mapping).get("fc0")
    if fc0 is None:
        raise CheckpointError(f"{path.name}: the mapping network has no fc0 layer")
    lr_mul = float(_attr(fc0, "bias_gain", (kwargs.get("mapping_kwargs") or {}).get("lr_multiplier", 0.01)))
    n_layers = sum(1 for k in _children(mapping) if k.startswith("fc"))
    resolution = int(_attr(g, "img_resolution", kwargs.get("img_resolution", 0)))
    if resolution < 4 or resolution & (resolution - 1):
        raise CheckpointError(f"{path.name}: img_resolution {resolution} is not a power of two")
    channels = {}
    for res in [2 ** i for i in range(2, resolution.bit_length())]:
        layer = modules.get(f"b{res}.conv1")
        if layer is None or "weight" not in (layer.state.get("_parameters") or {}):
            raise CheckpointError(f"{path.name}: the synthesis network lacks block b{res}")
        weight = layer.state["_parameters"]["weight"]
        if tuple(weight.shape[2:]) != (3, 3):
            raise CheckpointError(f"{path.name}: b{res}.conv1 has a {tuple(weight.shape[2:])} kernel; only 3x3 is "
                                  f"supported")
        channels[res] = int(weight.shape[0])
    # ada keeps num_fp16_res only in the init kwargs; the blocks' use_fp16 flags say what it did
    num_fp16_res = sum(1 for m in modules.values() if m.class_name == "SynthesisBlock" and _attr(m, "use_fp16"))
    num_ws = _attr(g, "num_ws")
    if num_ws is not None and int(num_ws) != 2 * (resolution.bit_length() - 1) - 2:
        raise CheckpointError(f"{path.name}: G_ema has num_ws={num_ws}, which a {resolution} px StyleGAN2 skip "
                              f"generator cannot have")
    lr_muls = {float(_attr(m, "bias_gain", lr_mul)) for k, m in _children(mapping).items() if k.startswith("fc")}
    if len(lr_muls) > 1:
        raise CheckpointError(f"{path.name}: the mapping layers use different learning-rate multipliers "
                              f"({sorted(lr_muls)}); latentlab supports one value")
    cfg = StyleGAN2Config(resolution=resolution, z_dim=int(_attr(g, "z_dim")), w_dim=int(_attr(g, "w_dim")),
                          mapping_layers=n_layers, mapping_lr_mul=lr_mul, channels=channels,
                          conv_clamp=None if conv_clamp is None else float(conv_clamp), convention="nvlabs")
    details = {"num_fp16_res": str(num_fp16_res),
               "channel base/max": f"{syn_kwargs.get('channel_base', '?')}/{syn_kwargs.get('channel_max', '?')}",
               "pickle version": str(g.version)}
    return cfg, details, num_fp16_res


def convert_state(g: PersistentObject, cfg: StyleGAN2Config, path: Path) -> tuple[dict[str, torch.Tensor], list[str]]:
    """G_ema's state -> latentlab names; layers built with use_noise=False get zero noise."""
    notes: list[str] = []
    renamed = {}
    for k, v in flatten_state(g, path).items():
        head, _, rest = k.partition(".")
        renamed[{"mapping": "mapping_net", "synthesis": "synthesis_net"}.get(head, head) + "." + rest] = v.detach()
    silent = []
    for res in cfg.resolutions:
        for layer in (["conv1"] if res == 4 else ["conv0", "conv1"]):
            key = f"synthesis_net.b{res}.{layer}"
            if f"{key}.noise_strength" not in renamed and f"{key}.noise_const" not in renamed:
                renamed[f"{key}.noise_strength"] = torch.zeros([])
                renamed[f"{key}.noise_const"] = torch.zeros(res, res)
                silent.append(f"b{res}.{layer}")
    if silent:
        notes.append(f"layers without noise inputs (use_noise=False): {', '.join(silent)}")
    return renamed, notes


def _fp16_on(device: torch.device, cfg: StyleGAN2Config, num_fp16_res: int) -> int:
    """NVlabs runs its top `num_fp16_res` blocks in fp16 on CUDA. That is only safe for models trained
    that way, which always clamp activations (conv_clamp); otherwise, and on CPU, stay in float32."""
    if device.type != "cuda" or num_fp16_res <= 0 or cfg.conv_clamp is None:
        return 0
    if os.environ.get(FP32_ENV, "").strip() not in ("", "0"):
        return 0
    return num_fp16_res


def load(path: Path, device: torch.device) -> StyleGAN2Generator:
    snapshot = read_snapshot(path)
    if not isinstance(snapshot, dict) or not isinstance(snapshot.get("G_ema"), PersistentObject):
        found = sorted(map(str, snapshot))[:6] if isinstance(snapshot, dict) else type(snapshot).__name__
        raise CheckpointError(f"{path.name} is a pickle but not an NVlabs network snapshot: it has no G_ema network "
                              f"(found {found})")
    g = snapshot["G_ema"]
    try:
        cfg, details, num_fp16_res = generator_config(g, path)
        tensors, notes = convert_state(g, cfg, path)
    except CheckpointError:
        raise
    except (AttributeError, TypeError, ValueError, KeyError, RuntimeError) as e:  # incl. RecursionError
        raise CheckpointError(f"{path.name}: the stored G_ema network is malformed ({type(e).__name__}: "
                              f"{(str(e).splitlines() or [''])[0][:120]})") from None
    if g.version != PERSISTENCE_VERSION:
        notes.append(f"persistence format version {g.version} (expected {PERSISTENCE_VERSION}); loaded by layout")
    gen = StyleGAN2Generator(cfg)
    load_tensors(gen, tensors, path, "NVlabs")
    gen.num_fp16_res = _fp16_on(device, cfg, num_fp16_res)
    details["precision"] = (f"float16 in the top {gen.num_fp16_res} resolutions (NVlabs' GPU default; "
                            f"{FP32_ENV}=1 for float32)" if gen.num_fp16_res else "float32")
    details["module_src sha256"] = g.module_src_sha256[:16]
    notes.append("module_src ignored (never executed)")
    return finish(gen, device, SourceInfo(NAME, str(path), notes, details))


FORMAT = GeneratorFormat(NAME, detect, load)
