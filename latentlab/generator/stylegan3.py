"""StyleGAN3 (alias-free) generator, configs T and R, as NVlabs/stylegan3 pickles describe it.

Only inference: the layer plan (sizes, sampling rates, FIR filters, paddings) is not designed here
but read from the file, so any StyleGAN3 the NVlabs code trained is reproduced from its own
numbers. The forward pass follows the paper's published math with plain torch ops:

* mapping: the StyleGAN2 mapping network (shared with `stylegan2`, class embedding included);
* `SynthesisInput`: Fourier features at the stored frequencies and phases, rotated and
  translated by an affine of w[0] and the stored user `transform`, then a channel mix;
* `SynthesisLayer` x (num_layers + 1): modulated convolution (weights and styles pre-normalised,
  demodulated, scaled by the input-magnitude EMA), then the *filtered leaky ReLU*: bias,
  upsample by zero insertion + FIR (`up_filter`), leaky ReLU x gain, clamp, FIR (`down_filter`) +
  decimation. The last layer is the ToRGB (1x1, no demodulation, linear).
* the image is the ToRGB output times `output_scale` (0.25 upstream).

W+ layout: ws[:, 0] drives the input's transform, ws[:, i] (1 <= i <= num_layers) drives layer
L{i-1}, ws[:, num_layers + 1] the ToRGB layer. StyleGAN3 has no noise inputs; `noise_mode` is
accepted for the interface and ignored.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from latentlab.generator.stylegan2 import NOISE_MODES, FullyConnected, MappingNetwork, class_input, mapping_shapes

SQRT2 = math.sqrt(2.0)


@dataclass
class LayerPlan:
    """One synthesis layer as stored upstream: channels, spatial sizes (square), kernel, resampling."""

    name: str  # upstream's attribute name, e.g. "L3_52_128"
    in_channels: int
    out_channels: int
    in_size: int
    out_size: int
    kernel: int  # 3 (config T) or 1 (config R, and every ToRGB)
    up: int
    down: int
    up_taps: int  # 1 = no filter
    down_taps: int
    down_radial: bool  # a 2-D (radially symmetric) down filter instead of a separable one
    padding: tuple[int, int, int, int]  # x0, x1, y0, y1 around the upsampled image
    is_torgb: bool

    def output_size(self, axis: int = 0) -> int:
        """What the filtered leaky ReLU makes of in_size along x (axis 0) or y (1); must be out_size."""
        conv = self.in_size + self.kernel - 1
        pad = self.padding[2 * axis] + self.padding[2 * axis + 1]
        return (conv * self.up + pad - (self.up_taps - 1) - (self.down_taps - 1) + self.down - 1) // self.down


@dataclass
class StyleGAN3Config:
    """Everything needed to rebuild an NVlabs StyleGAN3 generator (T or R) around its tensors."""

    resolution: int = 16
    z_dim: int = 32
    w_dim: int = 32
    c_dim: int = 0
    mapping_layers: int = 2
    mapping_lr_mul: float = 0.01
    input_channels: int = 16
    input_size: int = 36
    input_sampling_rate: float = 16.0
    input_bandwidth: float = 2.0
    layers: list[LayerPlan] = field(default_factory=list)
    conv_clamp: float | None = 256.0
    output_scale: float = 0.25
    img_channels: int = 3

    def __post_init__(self) -> None:
        self.layers = [x if isinstance(x, LayerPlan) else LayerPlan(**{**x, "padding": tuple(x["padding"])})
                       for x in self.layers]
        self.validate()

    def validate(self) -> None:
        """The layer plan must chain (sizes, channels) and end in an RGB image of `resolution`."""
        if not self.layers or not self.layers[-1].is_torgb or any(x.is_torgb for x in self.layers[:-1]):
            raise ValueError("the synthesis layers must end in exactly one ToRGB layer")
        size, channels = self.input_size, self.input_channels
        for x in self.layers:
            if (x.in_size, x.in_channels) != (size, channels):
                raise ValueError(f"layer {x.name} takes {x.in_channels} channels of {x.in_size} px but gets "
                                 f"{channels} of {size} px")
            made = (x.output_size(0), x.output_size(1))
            if made != (x.out_size, x.out_size):
                raise ValueError(f"layer {x.name}'s filters and padding make {made[0]}x{made[1]} px, not its "
                                 f"{x.out_size} px")
            size, channels = x.out_size, x.out_channels
        if (size, channels) != (self.resolution, self.img_channels):
            raise ValueError(f"the last layer makes {channels} channels of {size} px, not a {self.resolution} px "
                             f"RGB image")

    @property
    def num_ws(self) -> int:
        return len(self.layers) + 1

    def state_shapes(self) -> dict[str, tuple[int, ...]]:
        """Name -> shape of every tensor of `StyleGAN3Generator(self).state_dict()`, without building it."""
        shapes = mapping_shapes(self.z_dim, self.w_dim, self.c_dim, self.mapping_layers)
        c = self.input_channels
        shapes.update({"synthesis_net.input.weight": (c, c), "synthesis_net.input.affine.weight": (4, self.w_dim),
                       "synthesis_net.input.affine.bias": (4,), "synthesis_net.input.transform": (3, 3),
                       "synthesis_net.input.freqs": (c, 2), "synthesis_net.input.phases": (c,)})
        for x in self.layers:
            p = f"synthesis_net.{x.name}"
            shapes.update({f"{p}.weight": (x.out_channels, x.in_channels, x.kernel, x.kernel),
                           f"{p}.bias": (x.out_channels,), f"{p}.magnitude_ema": (),
                           f"{p}.affine.weight": (x.in_channels, self.w_dim), f"{p}.affine.bias": (x.in_channels,)})
            if x.up_taps > 1:
                shapes[f"{p}.up_filter"] = (x.up_taps,)
            if x.down_taps > 1:
                shapes[f"{p}.down_filter"] = (x.down_taps,) * (2 if x.down_radial else 1)
        return shapes

    def to_dict(self) -> dict:
        d = asdict(self)
        d["layers"] = [{**x, "padding": list(x["padding"])} for x in d["layers"]]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> StyleGAN3Config:
        return cls(**d)


def upfirdn2d(x: torch.Tensor, f: torch.Tensor | None, up: int = 1, down: int = 1,
              padding: tuple[int, int, int, int] = (0, 0, 0, 0), gain: float = 1.0) -> torch.Tensor:
    """Upsample by zero insertion, pad (negative crops), convolve with f (separable when 1-D, 2-D
    otherwise, None = identity) times `gain`, keep every `down`-th pixel. x: [NCHW]; padding
    (x0, x1, y0, y1) in pixels of the upsampled image."""
    n, c, h, w = x.shape
    if up > 1:
        x = F.pad(x.reshape(n, c, h, 1, w, 1), [0, up - 1, 0, 0, 0, up - 1]).reshape(n, c, h * up, w * up)
    x0, x1, y0, y1 = padding
    x = F.pad(x, [max(x0, 0), max(x1, 0), max(y0, 0), max(y1, 0)])
    x = x[:, :, max(-y0, 0): x.shape[2] - max(-y1, 0), max(-x0, 0): x.shape[3] - max(-x1, 0)]
    if f is None:
        x = x * gain if gain != 1 else x
    elif f.ndim == 1:  # separable: the gain split over the two passes
        k = (f * math.sqrt(gain)).flip(0).to(x.dtype)
        x = F.conv2d(x, k.reshape(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)  # along x
        x = F.conv2d(x, k.reshape(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)  # along y
    else:
        x = F.conv2d(x, (f * gain).flip([0, 1]).to(x.dtype)[None, None].repeat(c, 1, 1, 1), groups=c)
    return x[:, :, ::down, ::down] if down > 1 else x


def filtered_lrelu(x: torch.Tensor, up_filter: torch.Tensor | None, down_filter: torch.Tensor | None,
                   bias: torch.Tensor, up: int, down: int, padding: tuple[int, int, int, int], gain: float,
                   slope: float, clamp: float | None) -> torch.Tensor:
    """Bias, upsample (gain up^2), leaky ReLU x gain, clamp, downsample: the alias-free nonlinearity."""
    x = x + bias.to(x.dtype).reshape(1, -1, 1, 1)
    x = upfirdn2d(x, up_filter, up=up, padding=padding, gain=up ** 2)
    x = F.leaky_relu(x, slope) * gain if slope != 1 else x * gain
    if clamp is not None:
        x = x.clamp(-clamp, clamp)
    return upfirdn2d(x, down_filter, down=down)


class SynthesisInput(nn.Module):
    """Fourier features [N, C, size, size], transformed per sample by an affine of w."""

    def __init__(self, cfg: StyleGAN3Config):
        super().__init__()
        c = cfg.input_channels
        self.size, self.sampling_rate, self.bandwidth = cfg.input_size, cfg.input_sampling_rate, cfg.input_bandwidth
        self.weight = nn.Parameter(torch.randn(c, c))
        self.affine = FullyConnected(cfg.w_dim, 4)
        self.register_buffer("transform", torch.eye(3))
        self.register_buffer("freqs", torch.randn(c, 2))
        self.register_buffer("phases", torch.rand(c) - 0.5)

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        n = w.shape[0]
        t = self.affine(w)  # [N, 4]: rotation (cos, sin), translation (x, y)
        t = t / t[:, :2].norm(dim=1, keepdim=True)
        rotate = torch.eye(3, device=w.device).repeat(n, 1, 1)
        rotate[:, 0, 0], rotate[:, 0, 1], rotate[:, 1, 0], rotate[:, 1, 1] = t[:, 0], -t[:, 1], t[:, 1], t[:, 0]
        translate = torch.eye(3, device=w.device).repeat(n, 1, 1)
        translate[:, 0, 2], translate[:, 1, 2] = -t[:, 2], -t[:, 3]
        m = rotate @ translate @ self.transform[None]  # [N, 3, 3]
        freqs = self.freqs[None] @ m[:, :2, :2]  # [N, C, 2]
        phases = self.phases[None] + (self.freqs[None] @ m[:, :2, 2:]).squeeze(2)  # [N, C]
        amplitude = (1 - (freqs.norm(dim=2) - self.bandwidth)
                     / (self.sampling_rate / 2 - self.bandwidth)).clamp(0, 1)  # damp out-of-band frequencies
        # sample centres, in units of the sampling period, centred on the image (affine_grid, align_corners=False)
        coords = (torch.arange(self.size, device=w.device, dtype=torch.float32) + 0.5 - self.size / 2) \
            / self.sampling_rate
        gx, gy = coords[None, :].expand(self.size, -1), coords[:, None].expand(-1, self.size)  # [H, W]
        arg = gx[None, :, :, None] * freqs[:, None, None, :, 0] + gy[None, :, :, None] * freqs[:, None, None, :, 1]
        x = torch.sin((arg + phases[:, None, None, :]) * (2 * math.pi)) * amplitude[:, None, None, :]  # [N,H,W,C]
        x = x @ (self.weight / math.sqrt(self.weight.shape[0])).t()
        return x.permute(0, 3, 1, 2)  # [NCHW]


class SynthesisLayer(nn.Module):
    """Modulated convolution followed by the filtered leaky ReLU (or, for ToRGB, a linear 1x1)."""

    def __init__(self, plan: LayerPlan, cfg: StyleGAN3Config):
        super().__init__()
        self.plan = plan
        self.conv_clamp = cfg.conv_clamp
        self.affine = FullyConnected(cfg.w_dim, plan.in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(plan.out_channels, plan.in_channels, plan.kernel, plan.kernel))
        self.bias = nn.Parameter(torch.zeros(plan.out_channels))
        self.register_buffer("magnitude_ema", torch.ones([]))
        self.register_buffer("up_filter", torch.ones(plan.up_taps) / plan.up_taps if plan.up_taps > 1 else None)
        down_shape = (plan.down_taps,) * (2 if plan.down_radial else 1)
        self.register_buffer("down_filter", torch.ones(down_shape) / plan.down_taps ** len(down_shape)
                             if plan.down_taps > 1 else None)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        p = self.plan
        styles = self.affine(w)  # [N, in]
        weight = self.weight[None]  # [1, out, in, k, k]
        if p.is_torgb:
            styles = styles / math.sqrt(p.in_channels * p.kernel ** 2)
        else:  # pre-normalise (the style scale is over the whole batch, as upstream), then demodulate
            weight = weight * weight.square().mean(dim=[2, 3, 4], keepdim=True).rsqrt()
            styles = styles * styles.square().mean().rsqrt()
        weight = weight * styles[:, None, :, None, None]  # [N, out, in, k, k]
        if not p.is_torgb:
            weight = weight * (weight.square().sum(dim=[2, 3, 4], keepdim=True) + 1e-8).rsqrt()
        weight = weight * self.magnitude_ema.rsqrt()
        n = x.shape[0]
        x = F.conv2d(x.reshape(1, n * p.in_channels, *x.shape[2:]),
                     weight.reshape(n * p.out_channels, p.in_channels, p.kernel, p.kernel),
                     padding=p.kernel - 1, groups=n)
        x = x.reshape(n, p.out_channels, *x.shape[2:])
        return filtered_lrelu(x, self.up_filter, self.down_filter, self.bias, p.up, p.down, p.padding,
                              gain=1.0 if p.is_torgb else SQRT2, slope=1.0 if p.is_torgb else 0.2,
                              clamp=self.conv_clamp)


class SynthesisNetwork(nn.Module):
    """ws [N, num_ws, w_dim] -> image [N, 3, R, R]."""

    def __init__(self, cfg: StyleGAN3Config):
        super().__init__()
        self.output_scale = cfg.output_scale
        self.input = SynthesisInput(cfg)
        self.layer_names = [x.name for x in cfg.layers]
        for plan in cfg.layers:
            self.add_module(plan.name, SynthesisLayer(plan, cfg))

    def forward(self, ws: torch.Tensor) -> torch.Tensor:
        x = self.input(ws[:, 0])
        for i, name in enumerate(self.layer_names):
            x = getattr(self, name)(x, ws[:, i + 1])
        return x * self.output_scale if self.output_scale != 1 else x


class StyleGAN3Generator(nn.Module):
    """The latentlab generator interface over a StyleGAN3 network (see generator.interface)."""

    def __init__(self, cfg: StyleGAN3Config):
        super().__init__()
        self.cfg = cfg
        self.mapping_net = MappingNetwork(cfg)
        self.synthesis_net = SynthesisNetwork(cfg)
        self.fused_modconv = True  # always the fused (grouped) form, as upstream
        self.num_fp16_res = 0  # float32 everywhere
        self.class_label = 0  # conditional models: the class drawn when mapping() gets none
        self._identity: str | None = None

    @property
    def z_dim(self) -> int:
        return self.cfg.z_dim

    @property
    def w_dim(self) -> int:
        return self.cfg.w_dim

    @property
    def c_dim(self) -> int:
        return self.cfg.c_dim

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
        """'sg3-<res>px-<16 hex>': a hash of the configuration and every weight."""
        if self._identity is None:
            from latentlab.core.identity import weights_identity
            self._identity = weights_identity(self.state_dict(), self.cfg.to_dict(), prefix="sg3")
        return self._identity

    def truncate(self, w: torch.Tensor, truncation_psi: float = 1.0, truncation_cutoff: int | None = None
                 ) -> torch.Tensor:
        """lerp(w_avg, w, psi) on w [N, w_dim] or on the first `truncation_cutoff` layers of ws."""
        if truncation_psi == 1:
            return w
        out = torch.lerp(self.w_avg.to(w.dtype), w, truncation_psi)
        if truncation_cutoff is None or w.ndim == 2:
            return out
        return torch.cat([out[:, :truncation_cutoff], w[:, truncation_cutoff:]], dim=1)

    def _map(self, z: torch.Tensor, c) -> torch.Tensor:
        z = z.to(self.device)
        label = class_input(c if c is not None else self.class_label, z.shape[0], self.c_dim, self.device) \
            if self.c_dim else None
        return self.mapping_net(z, label)

    def mapping(self, z: torch.Tensor, truncation_psi: float = 1.0, c=None) -> torch.Tensor:
        """z [N, z_dim] (and, for conditional models, class c) -> w [N, w_dim], truncated."""
        return self.truncate(self._map(z, c), truncation_psi)

    def mapping_ws(self, z: torch.Tensor, truncation_psi: float = 1.0, truncation_cutoff: int | None = None,
                   c=None) -> torch.Tensor:
        return self.truncate(self.broadcast(self._map(z, c)), truncation_psi, truncation_cutoff)

    def broadcast(self, w: torch.Tensor) -> torch.Tensor:
        """w [N, w_dim] -> ws [N, num_ws, w_dim]; W+ input is returned unchanged."""
        if w.ndim == 3:
            if w.shape[1] != self.num_ws:
                raise ValueError(f"W+ latents need {self.num_ws} layers, got {w.shape[1]}")
            return w
        return w.unsqueeze(1).repeat(1, self.num_ws, 1)

    def synthesis(self, ws: torch.Tensor, noise_mode: str = "const") -> torch.Tensor:
        """w [N, w_dim] or ws [N, num_ws, w_dim] -> images [N, 3, R, R]; StyleGAN3 has no noise."""
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode must be one of {NOISE_MODES}")
        return self.synthesis_net(self.broadcast(ws.to(self.device, torch.float32)))

    def forward(self, z: torch.Tensor, truncation_psi: float = 1.0, noise_mode: str = "const", c=None
                ) -> torch.Tensor:
        return self.synthesis(self.mapping(z, truncation_psi, c=c), noise_mode=noise_mode)


__all__ = ["LayerPlan", "StyleGAN3Config", "StyleGAN3Generator", "filtered_lrelu", "upfirdn2d"]
