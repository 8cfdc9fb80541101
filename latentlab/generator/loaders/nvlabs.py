"""NVlabs network pickles (`.pkl`): stylegan2-ada-pytorch and NVlabs/stylegan3 (its StyleGAN2
configs, and StyleGAN3 configs T and R, built as `generator.stylegan3`); conditional ones too.

These pickles carry the Python source of their networks and, unpickled normally, execute it.
Here a restricted `pickle.Unpickler` resolves only an explicit allow-list of globals: plain
containers, torch's tensor/storage rebuilders (storage payloads decoded here, every declared size
checked against the bytes present), numeric numpy scalars and arrays, and the persistence hook
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
import math
import os
import pickle
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from latentlab.core.errors import quoted
from latentlab.generator.interface import LatentGenerator
from latentlab.generator.loaders.common import LEGACY_TORCH_MAGIC, GeneratorFormat, SourceInfo, finish, read_head
from latentlab.generator.native import (MAX_DIM, MAX_LAYERS, MAX_RESOLUTION, CheckpointError, build_stylegan2,
                                        build_stylegan3, check_bounds, check_float, check_int, damaged, first_line,
                                        stylegan2_config)
from latentlab.generator.native import stylegan3_config as checked_stylegan3_config
from latentlab.generator.stylegan2 import StyleGAN2Config
from latentlab.generator.stylegan3 import StyleGAN3Config

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


class _Damaged(pickle.UnpicklingError):
    """Content that contradicts the format (a declared size larger than the data, ...)."""


_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C  # torch's legacy serialization: magic, 1001, sys_info, object, keys, data
_STORAGE_DTYPES = {f"torch.{name}": dtype for name, dtype in (
    ("FloatStorage", torch.float32), ("DoubleStorage", torch.float64), ("HalfStorage", torch.float16),
    ("BFloat16Storage", torch.bfloat16), ("ByteStorage", torch.uint8), ("CharStorage", torch.int8),
    ("ShortStorage", torch.int16), ("IntStorage", torch.int32), ("LongStorage", torch.int64),
    ("BoolStorage", torch.bool), ("UntypedStorage", torch.uint8))}


class _StoragePayloadUnpickler(pickle.Unpickler):
    """The pickles inside a legacy torch storage payload: only storage type tags and storage ids."""

    def __init__(self, f: io.BytesIO, size: int):
        super().__init__(f)
        self.size = size
        self.declared: dict[str, tuple[torch.dtype, int]] = {}

    def find_class(self, module: str, name: str):
        key = f"{module}.{name}"
        if key in _STORAGE_DTYPES:
            return _STORAGE_DTYPES[key]
        raise _Refused(key)

    def persistent_load(self, pid):
        if not isinstance(pid, tuple) or len(pid) not in (5, 6) or pid[0] != "storage":
            raise _Refused(f"persistent id {quoted(pid)} in a tensor storage payload")
        _, dtype, key, location, numel = pid[:5]
        if not isinstance(dtype, torch.dtype) or not isinstance(key, str) or not isinstance(location, str) \
                or isinstance(numel, bool) or not isinstance(numel, int) or (len(pid) == 6 and pid[5] is not None):
            raise _Damaged("a tensor storage id without the (type, key, location, size) layout")
        if not 0 <= numel * torch.empty((), dtype=dtype).element_size() <= self.size:
            raise _Damaged(f"a tensor storage declares {numel} values in a payload of {self.size} bytes")
        self.declared[key] = (dtype, numel)
        return key


def _load_from_bytes(data: bytes) -> torch.storage.TypedStorage:
    """One tensor storage as `torch.save(storage, _use_new_zipfile_serialization=False)` writes it,
    read here without torch.load: every declared size is checked against the bytes present before
    anything is allocated, and the inner pickles may name storage types only."""
    if not isinstance(data, (bytes, bytearray)):
        raise _Refused("torch.storage._load_from_bytes with non-bytes data")
    f = io.BytesIO(data)
    u = _StoragePayloadUnpickler(f, len(data))
    if u.load() != _LEGACY_MAGIC or u.load() != 1001:
        raise _Damaged("a tensor storage payload that is not in torch's legacy format")
    sys_info = u.load()
    if not isinstance(sys_info, dict) or sys_info.get("little_endian") is not True:
        raise _Damaged("a tensor storage payload from a big-endian machine or without system info")
    key, keys = u.load(), u.load()
    if not isinstance(key, str) or key not in u.declared or keys != [key]:
        raise _Damaged("a tensor storage payload that does not hold exactly one storage")
    dtype, numel = u.declared[key]
    stored = int.from_bytes(f.read(8), "little")
    nbytes = numel * torch.empty((), dtype=dtype).element_size()
    start = f.tell()
    if stored != numel or start + nbytes > len(data):
        raise _Damaged(f"a tensor storage declares {numel} values but holds {len(data) - start} bytes")
    raw = bytearray(memoryview(data)[start: start + nbytes])  # the one copy: the tensor's own memory
    untyped = torch.frombuffer(raw, dtype=torch.uint8).untyped_storage() if nbytes else torch.UntypedStorage(0)
    with warnings.catch_warnings():  # TypedStorage is what these pickles hold; torch warns on any use
        warnings.simplefilter("ignore", UserWarning)
        return torch.storage.TypedStorage(wrap_storage=untyped, dtype=dtype, _internal=True)


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


class _NdarrayTag:
    """What the global `numpy.ndarray` resolves to: a marker for `_reconstruct`; calling it is refused,
    so a pickle cannot allocate an array of a size it merely declares."""

    def __call__(self, *args, **kwargs):
        raise _Refused("numpy.ndarray")


_NDARRAY = _NdarrayTag()


class NumpyArray:
    """A numpy array as numpy pickles it: `_reconstruct(ndarray, (0,), b'b')`, then a BUILD with
    (version, shape, dtype, fortran_order, raw bytes). Only numeric dtypes, and only when the bytes
    present are exactly what the shape needs; the array is then a read-only view of those bytes."""

    def __init__(self, array: np.ndarray | None = None):
        self.array = array

    def __setstate__(self, state) -> None:
        if not isinstance(state, tuple) or len(state) != 5:
            raise _Refused("a numpy array with an unexpected pickled state")
        _, shape, dtype, fortran, raw = state
        self.array = _numeric_array(raw, dtype, shape, "F" if fortran else "C")


def _numeric_array(raw, dtype, shape, order: str) -> np.ndarray:
    if not isinstance(dtype, np.dtype) or dtype.kind not in "biufc" or dtype.hasobject or dtype.fields is not None:
        raise _Refused(f"a numpy array of dtype {quoted(dtype)}")
    if not isinstance(raw, (bytes, bytearray)):
        raise _Refused("a numpy array whose data is not raw bytes")
    if not isinstance(shape, tuple) or len(shape) > 8 or not all(isinstance(n, int) and n >= 0 for n in shape):
        raise _Damaged(f"a numpy array of shape {quoted(shape)}")
    if math.prod(shape) * dtype.itemsize != len(raw):
        raise _Damaged(f"a numpy array of shape {shape} with {len(raw)} bytes of data")
    return np.frombuffer(raw, dtype=dtype).reshape(shape, order=order)


def _numpy_reconstruct(subtype, shape, typecode) -> NumpyArray:
    if subtype is not _NDARRAY or shape != (0,):
        raise _Refused("numpy's _reconstruct of something other than a plain ndarray")
    return NumpyArray()


def _numpy_frombuffer(buf, dtype, shape, order="C") -> NumpyArray:
    """numpy's protocol-5 form of an array: `_frombuffer(bytes, dtype, shape, order)`."""
    if order not in ("C", "F"):
        raise _Damaged(f"a numpy array in memory order {quoted(order)}")
    return NumpyArray(_numeric_array(bytes(buf) if isinstance(buf, pickle.PickleBuffer) else buf, dtype,
                                     tuple(shape) if isinstance(shape, (tuple, list)) else shape, order))


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
    "numpy.ndarray": _NDARRAY,
    "numpy.core.multiarray._reconstruct": _numpy_reconstruct,
    "numpy._core.multiarray._reconstruct": _numpy_reconstruct,
    "numpy.core.numeric._frombuffer": _numpy_frombuffer,
    "numpy._core.numeric._frombuffer": _numpy_frombuffer,
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
    except _Damaged as e:
        raise damaged(path.name, str(e)) from None
    except EOFError:
        raise CheckpointError(f"{path.name} ends early (truncated download?); download or copy it again") from None
    except (MemoryError, OverflowError):
        raise damaged(path.name, "it declares a piece of data larger than the memory or the file") from None
    except (pickle.UnpicklingError, ValueError, TypeError, RuntimeError, IndexError, KeyError, AttributeError,
            UnicodeDecodeError) as e:
        if "truncated" in str(e):
            raise CheckpointError(f"{path.name} ends early (truncated download?); download or copy it "
                                  f"again") from None
        raise damaged(path.name, f"it is not a readable network pickle ({first_line(e)})") from None


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
                raise damaged(path.name, f"{prefix}{name} is not a tensor")
            out[prefix + name] = t
    for name, child in _children(obj).items():
        if not isinstance(child, PersistentObject):
            raise damaged(path.name, f"module {prefix}{name} is a {type(child).__name__}, not a network object")
        out.update(flatten_state(child, path, f"{prefix}{name}."))
    return out


def _walk(obj: PersistentObject, prefix: str = ""):
    yield prefix.rstrip("."), obj
    for name, child in _children(obj).items():
        if isinstance(child, PersistentObject):
            yield from _walk(child, f"{prefix}{name}.")


def _attr(obj: PersistentObject, name: str, default=None):
    """A stored attribute: numpy scalars as Python numbers, pickled numpy arrays as (read-only) arrays."""
    value = obj.state.get(name, default)
    if isinstance(value, NumpyArray):
        return value.array
    return value.item() if isinstance(value, np.generic) else value


def generator_config(g: PersistentObject, path: Path) -> tuple[StyleGAN2Config, dict[str, str], int]:
    """Hyper-parameters of G_ema; refuses what latentlab cannot reproduce, naming it."""
    kwargs = dict(g.state.get("_init_kwargs") or {})
    syn_kwargs = dict(kwargs.get("synthesis_kwargs") or {})
    children = _children(g)
    mapping, synthesis = children["mapping"], children["synthesis"]
    modules = dict(_walk(synthesis))
    c_dim = _conditional(g, mapping, kwargs, path)
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
    lr_mul = check_float(path.name, "lr_multiplier", _attr(fc0, "bias_gain", (kwargs.get("mapping_kwargs") or {})
                                                            .get("lr_multiplier", 0.01)), low=1e-8)
    n_layers = sum(1 for k in _children(mapping) if k.startswith("fc"))
    sizes = check_bounds(path.name, {"img_resolution": _attr(g, "img_resolution", kwargs.get("img_resolution")),
                                     "z_dim": _attr(g, "z_dim", kwargs.get("z_dim")),
                                     "w_dim": _attr(g, "w_dim", kwargs.get("w_dim"))},
                         {"img_resolution": (4, MAX_RESOLUTION), "z_dim": (1, MAX_DIM), "w_dim": (1, MAX_DIM)})
    resolution = sizes["img_resolution"]
    if resolution & (resolution - 1):
        raise damaged(path.name, f"img_resolution {resolution} is not a power of two")
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
    cfg = stylegan2_config(path.name, dict(resolution=resolution, z_dim=sizes["z_dim"], w_dim=sizes["w_dim"],
                                           mapping_layers=n_layers, mapping_lr_mul=lr_mul, channels=channels,
                                           conv_clamp=conv_clamp, convention="nvlabs", c_dim=c_dim))
    details = {"num_fp16_res": str(num_fp16_res),
               "channel base/max": f"{syn_kwargs.get('channel_base', '?')}/{syn_kwargs.get('channel_max', '?')}",
               "pickle version": str(g.version)}
    return cfg, details, num_fp16_res


def convert_state(g: PersistentObject, cfg: StyleGAN2Config, path: Path) -> tuple[dict[str, torch.Tensor], list[str]]:
    """G_ema's state -> latentlab names; layers built with use_noise=False get zero noise."""
    notes: list[str] = []
    renamed = _renamed(g, path)
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


def _conditional(g: PersistentObject, mapping: PersistentObject, kwargs: dict, path: Path) -> int:
    """c_dim, checked against the presence of the class embedding (its shape is checked with the rest)."""
    c_dim = check_int(path.name, "c_dim", _attr(g, "c_dim", kwargs.get("c_dim", 0)) or 0, 0, MAX_DIM)
    if bool(c_dim) != ("embed" in _children(mapping)):
        raise damaged(path.name, f"c_dim={c_dim} but the mapping network {'lacks' if c_dim else 'has'} a class "
                                 f"embedding")
    return c_dim


def _renamed(g: PersistentObject, path: Path) -> dict[str, torch.Tensor]:
    """G_ema's state with latentlab's top-level names (`mapping_net.`, `synthesis_net.`)."""
    out = {}
    for k, v in flatten_state(g, path).items():
        head, _, rest = k.partition(".")
        out[{"mapping": "mapping_net", "synthesis": "synthesis_net"}.get(head, head) + "." + rest] = v.detach()
    return out


def is_stylegan3(g: PersistentObject) -> bool:
    synthesis = _children(g).get("synthesis")
    return synthesis is not None and (_children(synthesis).get("input") is not None
                                      or any(m.class_name == "SynthesisInput" for _, m in _walk(synthesis)))


def _square(obj: PersistentObject, name: str, path: Path, where: str) -> int:
    """A stored [width, height] (numpy array) or int size; StyleGAN3 images are square."""
    value = _attr(obj, name)
    if isinstance(value, np.ndarray):
        if value.shape != (2,) or value.dtype.kind not in "iu" or value[0] != value[1]:
            raise CheckpointError(f"{path.name}: {where}.{name} is {quoted(value.tolist())}; only square StyleGAN3 "
                                  f"layers are supported")
        value = int(value[0])
    return check_int(path.name, f"{where}.{name}", value, 1, 2 * MAX_RESOLUTION)


def stylegan3_config(g: PersistentObject, path: Path) -> tuple[StyleGAN3Config, dict[str, str]]:
    """A StyleGAN3 G_ema's stored layer plan (sizes, rates, filters' lengths, paddings) as a config."""
    kwargs = dict(g.state.get("_init_kwargs") or {})
    children = _children(g)
    mapping, synthesis = children["mapping"], children["synthesis"]
    layers_by_name = _children(synthesis)
    inp = layers_by_name.get("input")
    names = _attr(synthesis, "layer_names")
    if inp is None or not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names) \
            or any(not isinstance(layers_by_name.get(n), PersistentObject) for n in names):
        raise damaged(path.name, "the StyleGAN3 synthesis network lacks its input or the layers its layer_names "
                                 "list")
    if len(names) > MAX_LAYERS + 1:
        raise damaged(path.name, f"the synthesis network lists {len(names)} layers (at most {MAX_LAYERS + 1})")
    plans, clamps = [], set()
    for i, n in enumerate(names):
        layer = layers_by_name[n]
        down = layer.state.get("_buffers", {}).get("down_filter")
        padding = _attr(layer, "padding")
        if not isinstance(padding, (list, tuple)):
            raise damaged(path.name, f"layer {n} has padding {quoted(padding)}")
        plans.append(dict(name=n, in_channels=_attr(layer, "in_channels"), out_channels=_attr(layer, "out_channels"),
                          in_size=_square(layer, "in_size", path, n), out_size=_square(layer, "out_size", path, n),
                          kernel=_attr(layer, "conv_kernel"), up=_attr(layer, "up_factor"),
                          down=_attr(layer, "down_factor"), up_taps=_attr(layer, "up_taps"),
                          down_taps=_attr(layer, "down_taps"),
                          down_radial=isinstance(down, torch.Tensor) and down.ndim == 2,
                          padding=[p.item() if isinstance(p, np.generic) else p for p in padding],
                          is_torgb=bool(_attr(layer, "is_torgb", i == len(names) - 1))))
        clamps.add(_attr(layer, "conv_clamp"))
    if len(clamps) > 1:
        raise CheckpointError(f"{path.name} uses different conv_clamp values per layer ({sorted(map(str, clamps))}); "
                              f"latentlab supports one value for all layers")
    fc0 = _children(mapping).get("fc0")
    if fc0 is None:
        raise damaged(path.name, "the mapping network has no fc0 layer")
    num_ws = _attr(g, "num_ws")
    if num_ws is not None and num_ws != len(names) + 1:
        raise damaged(path.name, f"G_ema has num_ws={quoted(num_ws)} for {len(names)} synthesis layers")
    values = dict(resolution=_attr(g, "img_resolution", kwargs.get("img_resolution")),
                  z_dim=_attr(g, "z_dim", kwargs.get("z_dim")), w_dim=_attr(g, "w_dim", kwargs.get("w_dim")),
                  c_dim=_conditional(g, mapping, kwargs, path),
                  mapping_layers=sum(1 for k in _children(mapping) if k.startswith("fc")),
                  mapping_lr_mul=_attr(fc0, "bias_gain", 0.01), input_channels=_attr(inp, "channels"),
                  input_size=_square(inp, "size", path, "input"), input_sampling_rate=_attr(inp, "sampling_rate"),
                  input_bandwidth=_attr(inp, "bandwidth"), layers=plans, conv_clamp=clamps.pop(),
                  output_scale=_attr(synthesis, "output_scale", 1.0),
                  img_channels=_attr(g, "img_channels", kwargs.get("img_channels", 3)))
    cfg = checked_stylegan3_config(path.name, values)
    kind = "R (1x1 convolutions, radial down filters)" if plans[0]["kernel"] == 1 else "T (3x3 convolutions)"
    fp16 = sum(1 for n in names if _attr(layers_by_name[n], "use_fp16"))
    details = {"architecture": f"StyleGAN3-{kind}", "synthesis layers": f"{len(names) - 1} + ToRGB",
               "fp16 layers in the file": f"{fp16} (run in float32 here)", "pickle version": str(g.version)}
    return cfg, details


def load(path: Path, device: torch.device) -> LatentGenerator:
    snapshot = read_snapshot(path)
    if not isinstance(snapshot, dict) or not isinstance(snapshot.get("G_ema"), PersistentObject):
        found = sorted(map(str, snapshot))[:6] if isinstance(snapshot, dict) else type(snapshot).__name__
        raise CheckpointError(f"{path.name} is a pickle but not an NVlabs network snapshot: it has no G_ema network "
                              f"(found {found})")
    g = snapshot["G_ema"]
    del snapshot  # G, D and the augmentation pipeline: their memory goes now
    children = _children(g)
    if g.class_name != "Generator" or children.get("mapping") is None or children.get("synthesis") is None:
        raise CheckpointError(f"{path.name}: G_ema is a {g.class_name} without mapping and synthesis networks, not a "
                              f"StyleGAN generator")
    try:
        if is_stylegan3(g):
            cfg3, details = stylegan3_config(g, path)
            tensors, notes = _renamed(g, path), []
        else:
            cfg, details, num_fp16_res = generator_config(g, path)
            tensors, notes = convert_state(g, cfg, path)
    except CheckpointError:
        raise
    except (AttributeError, TypeError, ValueError, KeyError, RuntimeError) as e:  # incl. RecursionError
        raise damaged(path.name, f"the stored G_ema network is malformed ({first_line(e)})") from None
    if g.version != PERSISTENCE_VERSION:
        notes.append(f"persistence format version {g.version} (expected {PERSISTENCE_VERSION}); loaded by layout")
    details["module_src sha256"] = g.module_src_sha256[:16]
    notes.append("module_src ignored (never executed)")
    if is_stylegan3(g):
        gen3 = build_stylegan3(cfg3, tensors, path.name, "NVlabs StyleGAN3")
        return finish(gen3, device, SourceInfo(NAME, str(path), notes, details))
    gen = build_stylegan2(cfg, tensors, path.name, "NVlabs")
    gen.num_fp16_res = _fp16_on(device, cfg, num_fp16_res)
    details["precision"] = (f"float16 in the top {gen.num_fp16_res} resolutions (NVlabs' GPU default; "
                            f"{FP32_ENV}=1 for float32)" if gen.num_fp16_res else "float32")
    return finish(gen, device, SourceInfo(NAME, str(path), notes, details))


FORMAT = GeneratorFormat(NAME, detect, load)
