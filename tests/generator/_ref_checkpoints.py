"""Tiny checkpoints in the exact layouts of rosinality `.pt` files and NVlabs network pickles.

Every tensor is random and away from its initial value (biases, noise strengths, w_avg, const,
blur kernels...), so a loader that maps anything to the wrong place cannot match the reference.
The NVlabs pickle is written the way `torch_utils.persistence` writes it: each network object
reduces to `_reconstruct_persistent_obj(meta)` with meta = {type, version, module_src,
class_name, state=the module's __dict__}, tensors via torch's own reducers, numpy float64
attributes, nested `dnnlib.util.EasyDict` init kwargs. The globals are made importable only
while pickling (fake modules in sys.modules), so the bytes are what the standard pickler writes.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import pickle
import sys
import types
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch

CHANNELS = {4: 24, 8: 20, 16: 12}  # different everywhere so in/out mix-ups show


def _rng(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _kernel(g: torch.Generator | None, gain: float) -> torch.Tensor:
    """The [1,3,3,1] low-pass filter (sums to `gain`), or with a generator an asymmetric random one."""
    if g is None:
        k = torch.tensor([1.0, 3.0, 3.0, 1.0])
        k2 = torch.outer(k, k)
    else:
        k2 = torch.rand(4, 4, generator=g) + 0.2
    return k2 / k2.sum() * gain


# ------------------------------------------------------------------ rosinality -----------------------------------

def rosinality_g_ema(resolution: int = 16, style_dim: int = 32, n_mlp: int = 3, channels=None, seed: int = 0,
                     odd_kernels: bool = False) -> OrderedDict:
    """A g_ema state dict with rosinality's keys and shapes (section 1.3 of the notes)."""
    channels = channels or CHANNELS
    g = _rng(seed)

    def rnd(*shape, scale=1.0, offset=0.0):
        return torch.randn(*shape, generator=g) * scale + offset

    S = style_dim
    sd = OrderedDict()
    for i in range(1, n_mlp + 1):
        sd[f"style.{i}.weight"] = rnd(S, S, scale=100.0)  # stored / lr_mul
        sd[f"style.{i}.bias"] = rnd(S, scale=20.0)

    def styled_conv(prefix, cin, cout, up):
        sd[f"{prefix}.conv.weight"] = rnd(1, cout, cin, 3, 3)
        sd[f"{prefix}.conv.modulation.weight"] = rnd(cin, S)
        sd[f"{prefix}.conv.modulation.bias"] = rnd(cin, scale=0.3, offset=1.0)
        if up:
            sd[f"{prefix}.conv.blur.kernel"] = _kernel(g if odd_kernels else None, 4.0)
        sd[f"{prefix}.noise.weight"] = rnd(1, scale=0.2, offset=0.3)
        sd[f"{prefix}.activate.bias"] = rnd(cout, scale=0.3)

    def to_rgb(prefix, cin, up):
        sd[f"{prefix}.conv.weight"] = rnd(1, 3, cin, 1, 1)
        sd[f"{prefix}.conv.modulation.weight"] = rnd(cin, S)
        sd[f"{prefix}.conv.modulation.bias"] = rnd(cin, scale=0.3, offset=1.0)
        sd[f"{prefix}.bias"] = rnd(1, 3, 1, 1, scale=0.3)
        if up:
            sd[f"{prefix}.upsample.kernel"] = _kernel(g if odd_kernels else None, 4.0)

    sd["input.input"] = rnd(1, channels[4], 4, 4)
    styled_conv("conv1", channels[4], channels[4], up=False)
    to_rgb("to_rgb1", channels[4], up=False)
    log2 = int(math.log2(resolution))
    for k in range(log2 - 2):
        res = 2 ** (k + 3)
        styled_conv(f"convs.{2 * k}", channels[res // 2], channels[res], up=True)
        styled_conv(f"convs.{2 * k + 1}", channels[res], channels[res], up=False)
        to_rgb(f"to_rgbs.{k}", channels[res], up=True)
    for i in range(2 * (log2 - 2) + 1):
        r = 2 ** ((i + 5) // 2)
        sd[f"noises.noise_{i}"] = rnd(1, 1, r, r)
    return sd


def write_rosinality(path: Path, g_ema: OrderedDict, latent_avg: torch.Tensor | None = None, train: bool = False,
                     legacy: bool = False) -> Path:
    """`convert_weight.py` style ({g_ema, latent_avg}) or `train.py` style ({g, d, g_ema, optims, args, ada_aug_p})."""
    if train:
        size = 2 ** (len({k.split(".")[1] for k in g_ema if k.startswith("to_rgbs.")}) + 2)
        g = OrderedDict((k, v + 0.5) for k, v in g_ema.items())  # the non-EMA generator differs
        ckpt = {"g": g, "d": OrderedDict([("convs.0.0.weight", torch.randn(8, 3, 1, 1))]), "g_ema": g_ema,
                "g_optim": {"state": {}, "param_groups": [{"lr": 0.002, "betas": (0.0, 0.99), "params": [0, 1]}]},
                "d_optim": {"state": {}, "param_groups": [{"lr": 0.002, "betas": (0.0, 0.99), "params": [0]}]},
                "args": argparse.Namespace(size=size, latent=g_ema["style.1.weight"].shape[0],
                                           n_mlp=len([k for k in g_ema if k.startswith("style.") and
                                                      k.endswith(".weight")]),
                                           channel_multiplier=2, path="/data/anime.lmdb", iter=800000, batch=16),
                "ada_aug_p": 0.25}
    else:
        ckpt = {"g_ema": g_ema}
    if latent_avg is not None:
        ckpt["latent_avg"] = latent_avg
    if legacy:
        torch.save(ckpt, path, _use_new_zipfile_serialization=False)
    else:
        torch.save(ckpt, path)
    return path


# ------------------------------------------------------------------ NVlabs ---------------------------------------

def nvlabs_tensors(resolution: int = 16, z_dim: int = 24, w_dim: int = 32, num_layers: int = 3, channels=None,
                   seed: int = 0, lr_mul: float = 0.01, odd_kernels: bool = False) -> OrderedDict:
    """G_ema's state_dict in NVlabs names (section 2.3 of the notes), every entry perturbed."""
    channels = channels or CHANNELS
    g = _rng(seed)

    def rnd(*shape, scale=1.0, offset=0.0):
        return torch.randn(*shape, generator=g) * scale + offset

    sd = OrderedDict()
    dims = [z_dim] + [w_dim] * num_layers
    for i in range(num_layers):
        sd[f"mapping.fc{i}.weight"] = rnd(dims[i + 1], dims[i], scale=1.0 / lr_mul)
        sd[f"mapping.fc{i}.bias"] = rnd(dims[i + 1], scale=0.2 / lr_mul)
    sd["mapping.w_avg"] = rnd(w_dim, scale=0.5, offset=0.2)

    def layer(prefix, cin, cout, res):
        sd[f"{prefix}.weight"] = rnd(cout, cin, 3, 3)
        sd[f"{prefix}.bias"] = rnd(cout, scale=0.3)
        sd[f"{prefix}.noise_strength"] = rnd([], scale=0.2, offset=0.3)
        sd[f"{prefix}.noise_const"] = rnd(res, res)
        sd[f"{prefix}.resample_filter"] = _kernel(g if odd_kernels else None, 1.0)
        sd[f"{prefix}.affine.weight"] = rnd(cin, w_dim)
        sd[f"{prefix}.affine.bias"] = rnd(cin, scale=0.3, offset=1.0)

    def torgb(prefix, cin):
        sd[f"{prefix}.weight"] = rnd(3, cin, 1, 1)
        sd[f"{prefix}.bias"] = rnd(3, scale=0.3)
        sd[f"{prefix}.affine.weight"] = rnd(cin, w_dim)
        sd[f"{prefix}.affine.bias"] = rnd(cin, scale=0.3, offset=1.0)

    for res in [2 ** i for i in range(2, int(math.log2(resolution)) + 1)]:
        p = f"synthesis.b{res}"
        if res == 4:
            sd[f"{p}.const"] = rnd(channels[4], 4, 4)
        sd[f"{p}.resample_filter"] = _kernel(g if odd_kernels else None, 1.0)
        if res > 4:
            layer(f"{p}.conv0", channels[res // 2], channels[res], res)
        layer(f"{p}.conv1", channels[res], channels[res], res)
        torgb(f"{p}.torgb", channels[res])
    return sd


_WRITING: dict[str, object] = {}


class _Persistent(torch.nn.Module):
    """Pickles like a torch_utils.persistence class: code never referenced, only meta."""

    def __reduce__(self):
        fields = list(super().__reduce__())
        fields += [None] * max(3 - len(fields), 0)
        meta = dict(type="class", version=6, module_src=_WRITING["module_src"], class_name=type(self).__name__,
                    state=fields[2])
        fields[0] = _WRITING["reconstruct"]
        fields[1] = (meta,)
        fields[2] = None
        return tuple(fields)


def _params(module, tensors: dict, prefix: str, names, buffers=()):
    for name in names:
        if f"{prefix}.{name}" in tensors:
            module.register_parameter(name, torch.nn.Parameter(tensors[f"{prefix}.{name}"].clone()))
    for name in buffers:
        if f"{prefix}.{name}" in tensors:
            module.register_buffer(name, tensors[f"{prefix}.{name}"].clone())


class FullyConnectedLayer(_Persistent):
    def __init__(self, tensors, prefix, activation, lr_multiplier):
        super().__init__()
        in_features = tensors[f"{prefix}.weight"].shape[1]
        self.activation = activation
        _params(self, tensors, prefix, ["weight", "bias"])
        self.weight_gain = lr_multiplier / np.sqrt(in_features)
        self.bias_gain = lr_multiplier


class MappingNetwork(_Persistent):
    def __init__(self, tensors, z_dim, w_dim, num_ws, num_layers, lr_multiplier, c_dim=0):
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim, self.num_ws, self.num_layers = z_dim, c_dim, w_dim, num_ws, num_layers
        self.w_avg_beta = 0.995
        if "mapping.embed.weight" in tensors:  # conditional: the class label's embedding (lr multiplier 1)
            self.embed = FullyConnectedLayer(tensors, "mapping.embed", "linear", 1)
        for i in range(num_layers):
            setattr(self, f"fc{i}", FullyConnectedLayer(tensors, f"mapping.fc{i}", "lrelu", lr_multiplier))
        _params(self, tensors, "mapping", [], ["w_avg"])


class SynthesisLayer(_Persistent):
    def __init__(self, tensors, prefix, resolution, up, conv_clamp):
        super().__init__()
        self.resolution, self.up, self.activation, self.conv_clamp = resolution, up, "lrelu", conv_clamp
        self.use_noise = f"{prefix}.noise_const" in tensors
        _params(self, tensors, prefix, [], ["resample_filter"])
        self.padding = 1
        self.act_gain = np.sqrt(2)
        self.affine = FullyConnectedLayer(tensors, f"{prefix}.affine", "linear", 1)
        _params(self, tensors, prefix, ["weight"], ["noise_const"])
        _params(self, tensors, prefix, ["noise_strength", "bias"])


class ToRGBLayer(_Persistent):
    def __init__(self, tensors, prefix, conv_clamp):
        super().__init__()
        self.conv_clamp = conv_clamp
        self.affine = FullyConnectedLayer(tensors, f"{prefix}.affine", "linear", 1)
        _params(self, tensors, prefix, ["weight", "bias"])
        self.weight_gain = 1 / np.sqrt(tensors[f"{prefix}.weight"].shape[1])


class SynthesisBlock(_Persistent):
    def __init__(self, tensors, res, in_channels, is_last, conv_clamp, use_fp16, architecture="skip"):
        super().__init__()
        p = f"synthesis.b{res}"
        self.in_channels, self.resolution, self.img_channels, self.is_last = in_channels, res, 3, is_last
        self.architecture, self.use_fp16, self.channels_last = architecture, use_fp16, False
        _params(self, tensors, p, [], ["resample_filter"])
        self.num_conv, self.num_torgb = 0, 0
        if in_channels == 0:
            _params(self, tensors, p, ["const"])
        else:
            self.conv0 = SynthesisLayer(tensors, f"{p}.conv0", res, 2, conv_clamp)
            self.num_conv += 1
        self.conv1 = SynthesisLayer(tensors, f"{p}.conv1", res, 1, conv_clamp)
        self.num_conv += 1
        self.torgb = ToRGBLayer(tensors, f"{p}.torgb", conv_clamp)
        self.num_torgb += 1


class SynthesisNetwork(_Persistent):
    def __init__(self, tensors, resolution, w_dim, conv_clamp, num_fp16_res, architecture="skip"):
        super().__init__()
        log2 = int(math.log2(resolution))
        self.w_dim, self.img_resolution, self.img_resolution_log2, self.img_channels = w_dim, resolution, log2, 3
        self.block_resolutions = [2 ** i for i in range(2, log2 + 1)]
        fp16_resolution = max(2 ** (log2 + 1 - num_fp16_res), 8)
        self.num_ws = 0
        for res in self.block_resolutions:
            in_ch = tensors[f"synthesis.b{res // 2}.conv1.weight"].shape[0] if res > 4 else 0
            block = SynthesisBlock(tensors, res, in_ch, res == resolution, conv_clamp, res >= fp16_resolution,
                                   architecture)
            self.num_ws += block.num_conv + (block.num_torgb if res == resolution else 0)
            setattr(self, f"b{res}", block)


class Generator(_Persistent):
    def __init__(self, tensors, resolution, z_dim, w_dim, num_layers, conv_clamp, num_fp16_res, easydict,
                 lr_multiplier=0.01, c_dim=0, architecture="skip"):
        super().__init__()
        self._init_args = ()
        self._init_kwargs = dict(
            z_dim=z_dim, c_dim=c_dim, w_dim=w_dim, img_resolution=resolution, img_channels=3,
            mapping_kwargs=easydict(num_layers=num_layers),
            synthesis_kwargs=easydict(channel_base=512, channel_max=24, num_fp16_res=num_fp16_res,
                                      conv_clamp=conv_clamp, architecture=architecture))
        self.z_dim, self.c_dim, self.w_dim, self.img_resolution, self.img_channels = z_dim, c_dim, w_dim, resolution, 3
        self.synthesis = SynthesisNetwork(tensors, resolution, w_dim, conv_clamp, num_fp16_res, architecture)
        self.num_ws = self.synthesis.num_ws
        self.mapping = MappingNetwork(tensors, z_dim, w_dim, self.num_ws, num_layers, lr_multiplier, c_dim)


class SynthesisInput(_Persistent):
    """StyleGAN3's Fourier-feature input (only its presence matters here)."""

    def __init__(self):
        super().__init__()
        self.register_buffer("freqs", torch.randn(8, 2))


class Discriminator(_Persistent):
    def __init__(self):
        super().__init__()
        self.c_dim, self.img_resolution = 0, 16
        self.weight = torch.nn.Parameter(torch.randn(8, 3, 1, 1))


class AugmentPipe(_Persistent):
    def __init__(self):
        super().__init__()
        self.xflip, self.rotate90 = 1, 1
        self.register_buffer("p", torch.tensor(0.3))


def conditional_nvlabs_tensors(resolution: int, z_dim: int, w_dim: int, num_layers: int, c_dim: int,
                               seed: int = 21) -> OrderedDict:
    """`nvlabs_tensors` of a conditional generator: fc0 takes z and the embedded class, plus the class
    embedding (`mapping.embed`, c_dim classes)."""
    tensors = nvlabs_tensors(resolution, z_dim + w_dim, w_dim, num_layers, seed=seed)
    g = torch.Generator().manual_seed(seed + 1)
    tensors["mapping.embed.weight"] = torch.randn(w_dim, c_dim, generator=g)
    tensors["mapping.embed.bias"] = torch.randn(w_dim, generator=g) * 0.3
    return tensors


@contextlib.contextmanager
def upstream_names(module_src: str):
    """Make `torch_utils.persistence._reconstruct_persistent_obj` and `dnnlib.util.EasyDict` importable
    (fake modules) while pickling, then remove them again."""
    names = ["torch_utils", "torch_utils.persistence", "dnnlib", "dnnlib.util"]
    saved = {n: sys.modules.get(n) for n in names}
    mods = {n: types.ModuleType(n) for n in names}

    def _reconstruct_persistent_obj(meta):  # never called here: only its name goes into the pickle
        raise AssertionError("the writer's reconstruct function must not run")

    _reconstruct_persistent_obj.__module__ = "torch_utils.persistence"
    _reconstruct_persistent_obj.__qualname__ = "_reconstruct_persistent_obj"
    easydict = type("EasyDict", (dict,), {"__module__": "dnnlib.util", "__qualname__": "EasyDict"})
    mods["torch_utils.persistence"]._reconstruct_persistent_obj = _reconstruct_persistent_obj
    mods["dnnlib.util"].EasyDict = easydict
    sys.modules.update(mods)
    _WRITING.update(reconstruct=_reconstruct_persistent_obj, module_src=module_src)
    try:
        yield easydict
    finally:
        for n, m in saved.items():
            if m is None:
                sys.modules.pop(n, None)
            else:
                sys.modules[n] = m
        _WRITING.clear()


def side_effect_source(marker: Path) -> str:
    """A module_src that leaves `marker` behind if anything ever executes it."""
    return (f"import pathlib\npathlib.Path({str(marker)!r}).write_text('module_src was executed')\n"
            "import torch\n\nclass Generator(torch.nn.Module):\n    pass\n")


def write_nvlabs(path: Path, tensors: OrderedDict, resolution: int, z_dim: int, w_dim: int, num_layers: int,
                 conv_clamp=None, num_fp16_res: int = 0, marker: Path | None = None, protocol: int = 4,
                 extra_state: dict | None = None, c_dim: int = 0, architecture: str = "skip",
                 lr_multiplier: float = 0.01, stylegan3: bool = False) -> Path:
    """A network snapshot like training_loop.py writes: {training_set_kwargs, G, D, G_ema, augment_pipe}."""
    src = side_effect_source(marker) if marker else "import torch\n"
    with upstream_names(src) as easydict:
        def make(ts):
            return Generator(ts, resolution, z_dim, w_dim, num_layers, conv_clamp, num_fp16_res, easydict,
                             lr_multiplier, c_dim, architecture)

        g_ema = make(tensors)
        g = make(OrderedDict((k, v * 1.5 + 0.1) for k, v in tensors.items()))  # training G differs from G_ema
        for k, v in (extra_state or {}).items():
            setattr(g_ema.synthesis.b4.conv1, k, v)
        if stylegan3:
            g_ema.synthesis.input = SynthesisInput()
        snapshot = dict(training_set_kwargs=dict(class_name="training.dataset.ImageFolderDataset",
                                                 path="~/datasets/anime.zip", use_labels=False, max_size=1000,
                                                 xflip=False, resolution=resolution),
                        G=g.eval().requires_grad_(False), D=Discriminator().eval().requires_grad_(False),
                        G_ema=g_ema.eval().requires_grad_(False), augment_pipe=AugmentPipe())
        with open(path, "wb") as f:
            pickle.dump(snapshot, f, protocol=protocol)
    return path


# ------------------------------------------------------------------ NVlabs StyleGAN3 ------------------------------

def stylegan3_geometry(resolution: int = 32, num_layers: int = 6, num_critical: int = 2, channel_base: int = 256,
                       channel_max: int = 16, margin_size: int = 10, conv_kernel: int = 3, radial: bool = False,
                       filter_size: int = 6, lrelu_upsampling: int = 2, first_cutoff: float = 2.0,
                       first_stopband: float = 2 ** 2.1, last_stopband_rel: float = 2 ** 0.3) -> dict:
    """The alias-free layer plan of the paper (appendix: geometric cutoffs, sampling rates, margins):
    config T is conv_kernel=3, radial=False; config R is conv_kernel=1, radial=True."""
    last_cutoff = resolution / 2
    exps = np.minimum(np.arange(num_layers + 1) / (num_layers - num_critical), 1)
    cutoffs = first_cutoff * (last_cutoff / first_cutoff) ** exps
    stopbands = first_stopband * (last_cutoff * last_stopband_rel / first_stopband) ** exps
    rates = np.exp2(np.ceil(np.log2(np.minimum(stopbands * 2, resolution))))
    half_widths = np.maximum(stopbands, rates / 2) - cutoffs
    sizes = rates + margin_size * 2
    sizes[-2:] = resolution
    channels = np.rint(np.minimum((channel_base / 2) / cutoffs, channel_max))
    channels[-1] = 3
    layers = []
    for idx in range(num_layers + 1):
        prev = max(idx - 1, 0)
        torgb = idx == num_layers
        kernel = 1 if torgb else conv_kernel
        tmp_rate = max(int(rates[prev]), int(rates[idx])) * (1 if torgb else lrelu_upsampling)
        up, down = int(round(tmp_rate / rates[prev])), int(round(tmp_rate / rates[idx]))
        up_taps = filter_size * up if up > 1 and not torgb else 1
        down_taps = filter_size * down if down > 1 and not torgb else 1
        critical = idx >= num_layers - num_critical
        in_size, out_size = int(sizes[prev]), int(sizes[idx])
        pad_total = (out_size - 1) * down + 1 - (in_size + kernel - 1) * up + up_taps + down_taps - 2
        pad_lo = (pad_total + up) // 2
        layers.append(dict(idx=idx, torgb=torgb, critical=critical, kernel=kernel, in_ch=int(channels[prev]),
                           out_ch=int(channels[idx]), in_size=in_size, out_size=out_size,
                           in_rate=int(rates[prev]), out_rate=int(rates[idx]), tmp_rate=tmp_rate,
                           in_cutoff=cutoffs[prev], out_cutoff=cutoffs[idx], in_half_width=half_widths[prev],
                           out_half_width=half_widths[idx], up=up, down=down, up_taps=up_taps,
                           down_taps=down_taps, radial=radial and not critical,
                           padding=[pad_lo, pad_total - pad_lo, pad_lo, pad_total - pad_lo],
                           name=f"L{idx}_{out_size}_{int(channels[idx])}"))
    return dict(resolution=resolution, num_layers=num_layers, num_critical=num_critical, margin_size=margin_size,
                layers=layers, input=dict(channels=int(channels[0]), size=int(sizes[0]), rate=rates[0],
                                          bandwidth=cutoffs[0]))


def stylegan3_tensors(geo: dict, z_dim: int = 24, w_dim: int = 32, num_layers: int = 2, seed: int = 0,
                      c_dim: int = 0, lr_mul: float = 0.01) -> OrderedDict:
    """G_ema's state_dict in NVlabs StyleGAN3 names, every entry random and away from its init (the
    FIR filters asymmetric, so that a flipped filter shows)."""
    g = _rng(seed)

    def rnd(*shape, scale=1.0, offset=0.0):
        return torch.randn(*shape, generator=g) * scale + offset

    def fir(taps, two_d):
        f = torch.rand(*([taps, taps] if two_d else [taps]), generator=g) + 0.1
        return f / f.sum()

    sd = OrderedDict()
    if c_dim:
        sd["mapping.embed.weight"] = rnd(w_dim, c_dim)
        sd["mapping.embed.bias"] = rnd(w_dim, scale=0.3)
    dims = [z_dim + (w_dim if c_dim else 0)] + [w_dim] * num_layers
    for i in range(num_layers):
        sd[f"mapping.fc{i}.weight"] = rnd(dims[i + 1], dims[i], scale=1.0 / lr_mul)
        sd[f"mapping.fc{i}.bias"] = rnd(dims[i + 1], scale=0.2 / lr_mul)
    sd["mapping.w_avg"] = rnd(w_dim, scale=0.5, offset=0.2)
    inp = geo["input"]
    c = inp["channels"]
    sd["synthesis.input.weight"] = rnd(c, c)
    sd["synthesis.input.affine.weight"] = rnd(4, w_dim, scale=0.3)
    sd["synthesis.input.affine.bias"] = torch.tensor([1.0, 0.0, 0.0, 0.0]) + rnd(4, scale=0.2)
    angle = 0.3
    sd["synthesis.input.transform"] = torch.tensor([[math.cos(angle), -math.sin(angle), 0.7],
                                                    [math.sin(angle), math.cos(angle), -0.4], [0.0, 0.0, 1.0]])
    freqs = rnd(c, 2)
    radii = freqs.square().sum(dim=1, keepdim=True).sqrt()
    sd["synthesis.input.freqs"] = freqs / (radii * radii.square().exp().pow(0.25)) * inp["bandwidth"]
    sd["synthesis.input.phases"] = torch.rand(c, generator=g) - 0.5
    for layer in geo["layers"]:
        p = f"synthesis.{layer['name']}"
        sd[f"{p}.weight"] = rnd(layer["out_ch"], layer["in_ch"], layer["kernel"], layer["kernel"])
        sd[f"{p}.bias"] = rnd(layer["out_ch"], scale=0.3)
        sd[f"{p}.magnitude_ema"] = rnd([], scale=0.1, offset=0.8).abs()
        sd[f"{p}.affine.weight"] = rnd(layer["in_ch"], w_dim)
        sd[f"{p}.affine.bias"] = rnd(layer["in_ch"], scale=0.3, offset=1.0)
        if layer["up_taps"] > 1:
            sd[f"{p}.up_filter"] = fir(layer["up_taps"], False)
        if layer["down_taps"] > 1:
            sd[f"{p}.down_filter"] = fir(layer["down_taps"], layer["radial"])
    return sd


class SG3:
    """Persistent classes with StyleGAN3's names and attributes (numpy arrays and scalars included)."""

    class SynthesisInput(_Persistent):
        def __init__(self, tensors, w_dim, inp):
            super().__init__()
            self.w_dim, self.channels = w_dim, inp["channels"]
            self.size = np.broadcast_to(np.asarray(inp["size"]), [2])
            self.sampling_rate, self.bandwidth = np.float64(inp["rate"]), np.float64(inp["bandwidth"])
            _params(self, tensors, "synthesis.input", ["weight"])
            self.affine = FullyConnectedLayer(tensors, "synthesis.input.affine", "linear", 1)
            _params(self, tensors, "synthesis.input", [], ["transform", "freqs", "phases"])

    class SynthesisLayer(_Persistent):
        def __init__(self, tensors, w_dim, layer, conv_clamp, use_fp16):
            super().__init__()
            p = f"synthesis.{layer['name']}"
            self.w_dim, self.is_torgb, self.is_critically_sampled = w_dim, layer["torgb"], layer["critical"]
            self.use_fp16, self.in_channels, self.out_channels = use_fp16, layer["in_ch"], layer["out_ch"]
            self.in_size = np.broadcast_to(np.asarray(layer["in_size"]), [2])
            self.out_size = np.broadcast_to(np.asarray(layer["out_size"]), [2])
            self.in_sampling_rate, self.out_sampling_rate = layer["in_rate"], layer["out_rate"]
            self.tmp_sampling_rate = layer["tmp_rate"]
            self.in_cutoff, self.out_cutoff = layer["in_cutoff"], layer["out_cutoff"]
            self.in_half_width, self.out_half_width = layer["in_half_width"], layer["out_half_width"]
            self.conv_kernel, self.conv_clamp, self.magnitude_ema_beta = layer["kernel"], conv_clamp, 0.999
            self.affine = FullyConnectedLayer(tensors, f"{p}.affine", "linear", 1)
            _params(self, tensors, p, ["weight", "bias"], ["magnitude_ema"])
            self.up_factor, self.up_taps = layer["up"], layer["up_taps"]
            self.register_buffer("up_filter", tensors.get(f"{p}.up_filter"))
            self.down_factor, self.down_taps, self.down_radial = layer["down"], layer["down_taps"], layer["radial"]
            self.register_buffer("down_filter", tensors.get(f"{p}.down_filter"))
            self.padding = [int(x) for x in layer["padding"]]

    class SynthesisNetwork(_Persistent):
        def __init__(self, tensors, geo, w_dim, conv_clamp, output_scale, num_fp16_res):
            super().__init__()
            self.w_dim, self.num_ws = w_dim, geo["num_layers"] + 2
            self.img_resolution, self.img_channels = geo["resolution"], 3
            self.num_layers, self.num_critical = geo["num_layers"], geo["num_critical"]
            self.margin_size, self.output_scale, self.num_fp16_res = geo["margin_size"], output_scale, num_fp16_res
            self.input = SG3.SynthesisInput(tensors, w_dim, geo["input"])
            self.layer_names = []
            for layer in geo["layers"]:
                use_fp16 = layer["out_rate"] * 2 ** num_fp16_res > geo["resolution"]
                setattr(self, layer["name"], SG3.SynthesisLayer(tensors, w_dim, layer, conv_clamp, use_fp16))
                self.layer_names.append(layer["name"])

    class Generator(_Persistent):
        def __init__(self, tensors, geo, z_dim, w_dim, mapping_layers, conv_clamp, easydict, c_dim=0,
                     output_scale=0.25, num_fp16_res=4, lr_multiplier=0.01):
            super().__init__()
            self._init_args = ()
            self._init_kwargs = dict(z_dim=z_dim, c_dim=c_dim, w_dim=w_dim, img_resolution=geo["resolution"],
                                     img_channels=3, mapping_kwargs=easydict(num_layers=mapping_layers),
                                     channel_base=256, channel_max=16, magnitude_ema_beta=0.999,
                                     conv_kernel=geo["layers"][0]["kernel"],
                                     use_radial_filters=any(x["radial"] for x in geo["layers"]))
            self.z_dim, self.c_dim, self.w_dim = z_dim, c_dim, w_dim
            self.img_resolution, self.img_channels = geo["resolution"], 3
            self.synthesis = SG3.SynthesisNetwork(tensors, geo, w_dim, conv_clamp, output_scale, num_fp16_res)
            self.num_ws = self.synthesis.num_ws
            self.mapping = MappingNetwork(tensors, z_dim, w_dim, self.num_ws, mapping_layers, lr_multiplier,
                                          c_dim=c_dim)


def write_stylegan3(path: Path, tensors: OrderedDict, geo: dict, z_dim: int, w_dim: int, mapping_layers: int,
                    conv_clamp=256, c_dim: int = 0, output_scale: float = 0.25, protocol: int = 4,
                    marker: Path | None = None, edit=None) -> Path:
    """A stylegan3 training snapshot {training_set_kwargs, G, D, G_ema, augment_pipe}; `edit(G_ema)` may
    change the stored object before it is written."""
    src = side_effect_source(marker) if marker else "import torch\n"
    with upstream_names(src) as easydict:
        def make(ts):
            return SG3.Generator(ts, geo, z_dim, w_dim, mapping_layers, conv_clamp, easydict, c_dim, output_scale)

        g_ema = make(tensors)
        if edit is not None:
            edit(g_ema)
        g = make(OrderedDict((k, v * 1.5 + 0.1) for k, v in tensors.items()))
        snapshot = dict(training_set_kwargs=dict(class_name="training.dataset.ImageFolderDataset",
                                                 path="~/datasets/anime.zip", use_labels=bool(c_dim),
                                                 resolution=geo["resolution"]),
                        G=g.eval().requires_grad_(False), D=Discriminator().eval().requires_grad_(False),
                        G_ema=g_ema.eval().requires_grad_(False), augment_pipe=AugmentPipe())
        with open(path, "wb") as f:
            pickle.dump(snapshot, f, protocol=protocol)
    return path
