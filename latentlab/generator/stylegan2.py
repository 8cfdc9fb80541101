"""StyleGAN2 generator: mapping network and skip-architecture synthesis network.

One implementation serves latentlab's own default model and the checkpoints users bring
(rosinality `.pt`, NVlabs `.pkl`). Parameter names and shapes follow the NVlabs layout
(`mapping.fc{i}`, `synthesis.b{res}.conv0/conv1/torgb`); `convention` selects the few places
where the two public code bases round differently, so each reproduces its original output.
Weights are stored "equalised" (N(0,1) at init) and scaled at run time.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from latentlab.generator.ops import bias_act, fir_filter, modulated_conv2d, normalize_2nd_moment, upsample2d

CONVENTIONS = ("nvlabs", "rosinality")
NOISE_MODES = ("const", "random", "none")


def mapping_shapes(z_dim: int, w_dim: int, c_dim: int, layers: int) -> dict[str, tuple[int, ...]]:
    """Name -> shape of the `mapping_net.*` tensors of a StyleGAN2 or StyleGAN3 generator (both use
    `MappingNetwork`), computed without building it."""
    shapes: dict[str, tuple[int, ...]] = {"mapping_net.w_avg": (w_dim,)}
    if c_dim:
        shapes.update({"mapping_net.embed.weight": (w_dim, c_dim), "mapping_net.embed.bias": (w_dim,)})
    dims = [z_dim + (w_dim if c_dim else 0)] + [w_dim] * layers
    for i in range(layers):
        shapes[f"mapping_net.fc{i}.weight"] = (dims[i + 1], dims[i])
        shapes[f"mapping_net.fc{i}.bias"] = (dims[i + 1],)
    return shapes


@dataclass
class StyleGAN2Config:
    """Hyper-parameters of a StyleGAN2 generator; `channels` maps resolution -> feature maps."""

    resolution: int = 64
    z_dim: int = 128
    w_dim: int = 128
    mapping_layers: int = 4
    mapping_lr_mul: float = 0.01
    channels: dict[int, int] = field(default_factory=lambda: {4: 128, 8: 128, 16: 128, 32: 64, 64: 32})
    conv_clamp: float | None = None
    convention: str = "nvlabs"
    img_channels: int = 3
    c_dim: int = 0  # > 0: a conditional generator (NVlabs), its class embedded into the mapping input

    def __post_init__(self) -> None:
        self.channels = {int(k): int(v) for k, v in self.channels.items()}
        log2 = math.log2(self.resolution)
        if self.resolution < 4 or log2 != int(log2):
            raise ValueError(f"resolution must be a power of two >= 4, got {self.resolution}")
        missing = [r for r in self.resolutions if r not in self.channels]
        if missing:
            raise ValueError(f"channels missing for resolutions {missing}")
        if self.convention not in CONVENTIONS:
            raise ValueError(f"convention must be one of {CONVENTIONS}, got {self.convention!r}")

    @property
    def resolutions(self) -> list[int]:
        return [2 ** i for i in range(2, int(math.log2(self.resolution)) + 1)]

    @property
    def num_ws(self) -> int:
        return 2 * int(math.log2(self.resolution)) - 2

    def state_shapes(self) -> dict[str, tuple[int, ...]]:
        """Name -> shape of every tensor of `StyleGAN2Generator(self).state_dict()`, without building it
        (loaders compare a file's tensors with these before allocating anything)."""
        shapes = mapping_shapes(self.z_dim, self.w_dim, self.c_dim, self.mapping_layers)

        def affine(prefix: str, in_ch: int) -> None:
            shapes[f"{prefix}.affine.weight"] = (in_ch, self.w_dim)
            shapes[f"{prefix}.affine.bias"] = (in_ch,)

        for res in self.resolutions:
            p, out_ch = f"synthesis_net.b{res}", self.channels[res]
            shapes[f"{p}.resample_filter"] = (4, 4)
            if res == 4:
                shapes[f"{p}.const"] = (out_ch, 4, 4)
            for conv, in_ch in ([("conv1", out_ch)] if res == 4 else
                                [("conv0", self.channels[res // 2]), ("conv1", out_ch)]):
                affine(f"{p}.{conv}", in_ch)
                shapes.update({f"{p}.{conv}.weight": (out_ch, in_ch, 3, 3), f"{p}.{conv}.bias": (out_ch,),
                               f"{p}.{conv}.noise_strength": (), f"{p}.{conv}.noise_const": (res, res),
                               f"{p}.{conv}.resample_filter": (4, 4)})
            affine(f"{p}.torgb", out_ch)
            shapes[f"{p}.torgb.weight"] = (self.img_channels, out_ch, 1, 1)
            shapes[f"{p}.torgb.bias"] = (self.img_channels,)
        return shapes

    def to_dict(self) -> dict:
        d = asdict(self)
        d["channels"] = {str(k): v for k, v in self.channels.items()}
        if not d["c_dim"]:  # unconditional configs keep the dict (and so the generator id) they always had
            del d["c_dim"]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "StyleGAN2Config":
        return cls(**d)


class FullyConnected(nn.Module):
    """Equalised-learning-rate linear layer (weight stored / lr_mul, scaled at run time)."""

    def __init__(self, in_features: int, out_features: int, *, activation: str = "linear", lr_mul: float = 1.0,
                 bias_init: float = 0.0, use_addmm: bool = True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_mul)
        self.bias = nn.Parameter(torch.full([out_features], float(bias_init)))
        self.activation = activation
        self.weight_gain = lr_mul / math.sqrt(in_features)
        self.bias_gain = lr_mul
        self.use_addmm = use_addmm

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight.to(x.dtype) * self.weight_gain
        b = self.bias.to(x.dtype)
        if self.bias_gain != 1:
            b = b * self.bias_gain
        if self.activation == "linear":
            return torch.addmm(b.unsqueeze(0), x, w.t()) if self.use_addmm else F.linear(x, w, b)
        return bias_act(x.matmul(w.t()), b, self.activation)


def class_input(c, n: int, c_dim: int, device: torch.device | None = None) -> torch.Tensor:
    """A conditional generator's class input as NVlabs takes it, float [n, c_dim]: from a class index
    (int, broadcast to all n), n indices (list / integer tensor [n]) or the vectors themselves."""
    if isinstance(c, torch.Tensor) and c.is_floating_point():
        if tuple(c.shape) not in ((n, c_dim), (1, c_dim), (c_dim,)):
            raise ValueError(f"class vectors must be [{n}, {c_dim}], got {tuple(c.shape)}")
        return c.reshape(-1, c_dim).expand(n, c_dim).to(device=device, dtype=torch.float32)
    idx = torch.as_tensor(c, dtype=torch.long).reshape(-1)
    if idx.numel() == 1:
        idx = idx.expand(n)
    if idx.numel() != n:
        raise ValueError(f"{n} latents need {n} class indices, got {idx.numel()}")
    if bool(((idx < 0) | (idx >= c_dim)).any()):
        from latentlab.core.errors import UserError
        raise UserError(f"class {int(idx[(idx < 0) | (idx >= c_dim)][0])} does not exist; this generator has "
                        f"classes 0 to {c_dim - 1}")
    return F.one_hot(idx, c_dim).to(device=device, dtype=torch.float32)


class MappingNetwork(nn.Module):
    """z [N, z_dim] (+ class c [N, c_dim]) -> w [N, w_dim]; keeps `w_avg`, the truncation centre."""

    def __init__(self, cfg: StyleGAN2Config):
        super().__init__()
        self.c_dim = getattr(cfg, "c_dim", 0)
        if self.c_dim:  # NVlabs: a linear embedding to w_dim features, normalised like z, concatenated
            self.embed = FullyConnected(self.c_dim, cfg.w_dim)
        dims = [cfg.z_dim + (cfg.w_dim if self.c_dim else 0)] + [cfg.w_dim] * cfg.mapping_layers
        for i in range(cfg.mapping_layers):
            self.add_module(f"fc{i}", FullyConnected(dims[i], dims[i + 1], activation="lrelu", lr_mul=cfg.mapping_lr_mul))
        self.num_layers = cfg.mapping_layers
        self.register_buffer("w_avg", torch.zeros(cfg.w_dim))

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        x = normalize_2nd_moment(z.to(torch.float32))
        if self.c_dim:
            if c is None:
                raise ValueError("a conditional mapping network needs the class input c [N, c_dim]")
            x = torch.cat([x, normalize_2nd_moment(self.embed(c.to(torch.float32)))], dim=1)
        for i in range(self.num_layers):
            x = getattr(self, f"fc{i}")(x)
        return x


class SynthesisLayer(nn.Module):
    """Modulated 3x3 conv + noise + bias + lrelu, optionally 2x upsampling."""

    def __init__(self, in_ch: int, out_ch: int, w_dim: int, resolution: int, *, up: bool, cfg: StyleGAN2Config):
        super().__init__()
        self.up = up
        self.resolution = resolution
        self.conv_clamp = cfg.conv_clamp
        self.affine = FullyConnected(w_dim, in_ch, bias_init=1.0, use_addmm=cfg.convention == "nvlabs")
        self.weight = nn.Parameter(torch.randn(out_ch, in_ch, 3, 3))
        self.bias = nn.Parameter(torch.zeros(out_ch))
        self.noise_strength = nn.Parameter(torch.zeros([]))
        self.register_buffer("noise_const", torch.randn(resolution, resolution))
        self.register_buffer("resample_filter", fir_filter())
        self.weight_scale = 1.0 / math.sqrt(in_ch * 9) if cfg.convention == "rosinality" else 1.0

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise_mode: str, fused: bool) -> torch.Tensor:
        styles = self.affine(w)  # [N, in]
        x = modulated_conv2d(x, self.weight, styles, up=self.up, padding=1, resample_filter=self.resample_filter,
                             fused=fused, weight_scale=self.weight_scale)
        if noise_mode == "random":
            x = x + torch.randn(x.shape[0], 1, self.resolution, self.resolution, device=x.device, dtype=x.dtype) \
                * self.noise_strength.to(x.dtype)
        elif noise_mode == "const":
            x = x + (self.noise_const * self.noise_strength).to(x.dtype)
        return bias_act(x, self.bias, "lrelu", clamp=self.conv_clamp)


class ToRGB(nn.Module):
    """Modulated 1x1 conv without demodulation, producing the RGB residual of one resolution."""

    def __init__(self, in_ch: int, w_dim: int, cfg: StyleGAN2Config):
        super().__init__()
        self.conv_clamp = cfg.conv_clamp
        self.convention = cfg.convention
        self.affine = FullyConnected(w_dim, in_ch, bias_init=1.0, use_addmm=cfg.convention == "nvlabs")
        self.weight = nn.Parameter(torch.randn(cfg.img_channels, in_ch, 1, 1))
        self.bias = nn.Parameter(torch.zeros(cfg.img_channels))
        self.weight_gain = 1.0 / math.sqrt(in_ch)

    def forward(self, x: torch.Tensor, w: torch.Tensor, fused: bool) -> torch.Tensor:
        styles = self.affine(w)
        if self.convention == "nvlabs":  # gain on the styles
            x = modulated_conv2d(x, self.weight, styles * self.weight_gain, demodulate=False, padding=0, fused=fused)
        else:  # rosinality: gain on the weight
            x = modulated_conv2d(x, self.weight, styles, demodulate=False, padding=0, fused=fused,
                                 weight_scale=self.weight_gain)
        return bias_act(x, self.bias, "linear", clamp=self.conv_clamp)


class SynthesisBlock(nn.Module):
    """One resolution: (const | upsampling conv0), conv1, torgb; uses 3 ws (2 at 4x4)."""

    def __init__(self, in_ch: int, out_ch: int, resolution: int, cfg: StyleGAN2Config):
        super().__init__()
        self.resolution = resolution
        if resolution == 4:
            self.const = nn.Parameter(torch.randn(out_ch, 4, 4))
        else:
            self.conv0 = SynthesisLayer(in_ch, out_ch, cfg.w_dim, resolution, up=True, cfg=cfg)
        self.conv1 = SynthesisLayer(out_ch, out_ch, cfg.w_dim, resolution, up=False, cfg=cfg)
        self.torgb = ToRGB(out_ch, cfg.w_dim, cfg)
        self.register_buffer("resample_filter", fir_filter())
        self.num_conv = 1 if resolution == 4 else 2

    def forward(self, x, img, ws: torch.Tensor, noise_mode: str, fused: bool,
                dtype: torch.dtype | None = None):
        """ws: [N, num_conv + 1, w_dim]; the last one is shared with the next block's conv0.

        `dtype=torch.float16` runs this block's features in half precision (NVlabs' fp16 blocks on
        CUDA) while the RGB image stays float32; None leaves dtypes as they come (training, fp32).
        """
        if self.resolution == 4:
            x = self.const.unsqueeze(0).repeat(ws.shape[0], 1, 1, 1).to(dtype or ws.dtype)
            x = self.conv1(x, ws[:, 0], noise_mode, fused)
        else:
            x = self.conv0(x if dtype is None else x.to(dtype), ws[:, 0], noise_mode, fused)
            x = self.conv1(x, ws[:, 1], noise_mode, fused)
        y = self.torgb(x, ws[:, self.num_conv], fused)
        if dtype is not None:
            y = y.to(torch.float32)
        img = y if img is None else upsample2d(img, self.resample_filter) + y
        return x, img


class SynthesisNetwork(nn.Module):
    """ws [N, num_ws, w_dim] -> image [N, 3, R, R], nominal range [-1, 1]."""

    def __init__(self, cfg: StyleGAN2Config):
        super().__init__()
        self.resolutions = cfg.resolutions
        for res in self.resolutions:
            in_ch = cfg.channels[res // 2] if res > 4 else 0
            self.add_module(f"b{res}", SynthesisBlock(in_ch, cfg.channels[res], res, cfg))

    def forward(self, ws: torch.Tensor, noise_mode: str = "const", fused: bool = False,
                num_fp16_res: int = 0) -> torch.Tensor:
        """`num_fp16_res` > 0 runs that many of the highest resolutions in float16 (NVlabs' rule:
        never below 8x8; fp16 blocks use the unfused form when the batch has more than one sample)."""
        fp16_from = max(2 ** (len(self.resolutions) + 2 - num_fp16_res), 8) if num_fp16_res > 0 else None
        x = img = None
        idx = 0
        for res in self.resolutions:
            block = getattr(self, f"b{res}")
            if fp16_from is not None and res >= fp16_from:
                dtype, block_fused = torch.float16, fused and ws.shape[0] == 1
            else:
                dtype, block_fused = None, fused
            x, img = block(x, img, ws[:, idx: idx + block.num_conv + 1], noise_mode, block_fused, dtype)
            idx += block.num_conv
        return img


class StyleGAN2Generator(nn.Module):
    """The latentlab generator interface over a StyleGAN2 network (see generator.interface)."""

    def __init__(self, cfg: StyleGAN2Config | None = None):
        super().__init__()
        self.cfg = cfg or StyleGAN2Config()
        self.mapping_net = MappingNetwork(self.cfg)
        self.synthesis_net = SynthesisNetwork(self.cfg)
        self.fused_modconv = False  # unfused is ~1.4x faster on CPU; fused matches upstream bit-for-bit
        # Run-time precision, not part of the identity: >0 runs that many top resolutions in fp16
        # (set by the NVlabs loader on CUDA for models trained that way; 0 = float32 everywhere).
        self.num_fp16_res = 0
        self.class_label = 0  # conditional models: the class drawn when mapping() is given none
        self._identity: str | None = None

    # -- interface ------------------------------------------------------------------------------
    @property
    def z_dim(self) -> int:
        return self.cfg.z_dim

    @property
    def c_dim(self) -> int:
        """Number of classes of a conditional generator; 0 for an unconditional one."""
        return self.cfg.c_dim

    @property
    def w_dim(self) -> int:
        return self.cfg.w_dim

    @property
    def num_ws(self) -> int:
        return self.cfg.num_ws

    @property
    def resolution(self) -> int:
        return self.cfg.resolution

    @property
    def w_avg(self) -> torch.Tensor:
        return self.mapping_net.w_avg

    @property
    def device(self) -> torch.device:
        return self.w_avg.device

    @property
    def generator_id(self) -> str:
        """Stable identity: a hash of the configuration and every weight (see generator.identity)."""
        if self._identity is None:
            from latentlab.core.identity import weights_identity
            self._identity = weights_identity(self.state_dict(), self.cfg.to_dict())
        return self._identity

    def truncate(self, w: torch.Tensor, truncation_psi: float = 1.0, truncation_cutoff: int | None = None) -> torch.Tensor:
        """Pull w ([N, w_dim] or ws [N, num_ws, w_dim]) towards w_avg by psi (1 = unchanged).

        rosinality's code truncates only when psi < 1 (psi > 1 leaves w unchanged there), and so
        does its convention here.
        """
        if truncation_psi == 1:
            return w
        if self.cfg.convention == "rosinality" and truncation_psi > 1:
            return w
        avg = self.w_avg.to(w.dtype)
        if self.cfg.convention == "rosinality":
            out = avg + truncation_psi * (w - avg)
        else:
            out = torch.lerp(avg, w, truncation_psi)
        if truncation_cutoff is None or w.ndim == 2:
            return out
        return torch.cat([out[:, :truncation_cutoff], w[:, truncation_cutoff:]], dim=1)

    def _map(self, z: torch.Tensor, c) -> torch.Tensor:
        z = z.to(self.device)
        if not self.c_dim:
            return self.mapping_net(z)
        return self.mapping_net(z, class_input(c if c is not None else self.class_label, z.shape[0], self.c_dim,
                                               self.device))

    def mapping(self, z: torch.Tensor, truncation_psi: float = 1.0, c=None) -> torch.Tensor:
        """z [N, z_dim] -> w [N, w_dim], truncated towards w_avg (same psi for every layer).

        Conditional generators (c_dim > 0) also take the class `c`: an index, N indices or float
        vectors [N, c_dim]; without it they draw `self.class_label`. Others ignore c."""
        return self.truncate(self._map(z, c), truncation_psi)

    def mapping_ws(self, z: torch.Tensor, truncation_psi: float = 1.0, truncation_cutoff: int | None = None,
                   c=None) -> torch.Tensor:
        """z -> ws [N, num_ws, w_dim], truncating only the first `truncation_cutoff` layers if given."""
        ws = self.broadcast(self._map(z, c))
        return self.truncate(ws, truncation_psi, truncation_cutoff)

    def broadcast(self, w: torch.Tensor) -> torch.Tensor:
        """w [N, w_dim] -> ws [N, num_ws, w_dim]; W+ input is returned unchanged."""
        if w.ndim == 3:
            if w.shape[1] != self.num_ws:
                raise ValueError(f"W+ latents need {self.num_ws} layers, got {w.shape[1]}")
            return w
        return w.unsqueeze(1).repeat(1, self.num_ws, 1)

    def synthesis(self, ws: torch.Tensor, noise_mode: str = "const") -> torch.Tensor:
        """w [N, w_dim] or ws [N, num_ws, w_dim] -> images [N, 3, R, R] in about [-1, 1].

        noise_mode: 'const' (stored noise, deterministic), 'random' or 'none'.
        """
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode must be one of {NOISE_MODES}")
        ws = self.broadcast(ws.to(self.device, torch.float32))
        img = self.synthesis_net(ws, noise_mode=noise_mode, fused=self.fused_modconv, num_fp16_res=self.num_fp16_res)
        if self.num_fp16_res > 0 and not bool(torch.isfinite(img).all()):
            # fp16 overflowed for these latents: redo them in float32 rather than return broken images
            warnings.warn("float16 synthesis overflowed; this batch was redone in float32", RuntimeWarning)
            img = self.synthesis_net(ws, noise_mode=noise_mode, fused=self.fused_modconv)
        return img

    def forward(self, z: torch.Tensor, truncation_psi: float = 1.0, noise_mode: str = "const", c=None) -> torch.Tensor:
        return self.synthesis(self.mapping(z, truncation_psi, c=c), noise_mode=noise_mode)
